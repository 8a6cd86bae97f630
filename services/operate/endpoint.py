"""/metrics and /health of one stage process, on WENMING_METRICS_PORT.

/metrics serves the stage's own registry (faststream's middleware and the wiring's counters,
shared/metrics.py) and the pipeline's gauges, read from Redis by the code `wenming lag` uses
(services/operate/lag.py): per stage lag, pending, the oldest pending entry's age and live consumers,
and, from ingest, the files waiting in its inbox. /health answers 200, or 503 with a one-line reason
when the stage cannot reach Redis (or Postgres, for the store) or this replica has made no progress
while work waits for it, so that an orchestrator restarts it.

The server runs on a thread of its own (prometheus_client's WSGI exposition on the standard
library's server), and each reading runs on an event loop of that thread, with a client and a
timeout of its own: a scrape never waits on the stage's work, and a stage whose event loop hangs is
still answered for, since its heartbeat stops. Readings are kept for a moment, so that scrapes and
probes arriving together cost Redis one reading.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any, TypeVar
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import redis.asyncio as aioredis
from prometheus_client import make_wsgi_app
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from services.operate.health import check_stage
from services.operate.lag import InboxState, StageLag, judge, quiet_since, read_heartbeats, read_lag
from services.operate.lag_view import inbox_state
from shared.metric_names import pipeline_metric
from shared.servers import StageApp
from shared.settings import Settings
from shared.streams import STAGES, Topology

T = TypeVar("T")

# A reading of Redis (or a check of the servers) that takes longer than this counts as failed.
READ_TIMEOUT_S = 4.0
# How long a reading serves the scrapes and probes that follow it.
READING_KEPT_S = 2.0


class EndpointError(RuntimeError):
    """The endpoint cannot be served (its port is taken): said in one line."""


def stage_ports(base: int) -> dict[str, int]:
    """Under `wenming up` the stages take the base port and the next three, in pipeline order."""
    return {stage: base + n for n, stage in enumerate(STAGES)}


def port_is_free(host: str, port: int) -> bool:
    """Whether a server could listen on host:port now (as the endpoint binds, reusing TIME_WAIT)."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


@dataclass(frozen=True)
class StageGauges:
    """The gauges of one stage, over its input streams (the store reads two)."""

    lag: int
    pending: int
    oldest_pending_age_s: float
    live_consumers: int


def stage_gauges(rows: Iterable[StageLag]) -> dict[str, StageGauges]:
    """`wenming lag`'s rows as one set of gauges per stage, in pipeline order."""
    by_stage: dict[str, list[StageLag]] = {}
    for row in rows:
        by_stage.setdefault(row.stage, []).append(row)
    return {
        stage: StageGauges(
            lag=sum(r.lag for r in found),
            pending=sum(r.pending for r in found),
            oldest_pending_age_s=max(r.oldest_pending_age_s or 0.0 for r in found),
            # One replica reads every input of its stage: count names, not rows.
            live_consumers=len({c.name for r in found for c in r.consumers if c.alive}),
        )
        for stage, found in by_stage.items()
    }


@dataclass(frozen=True)
class Reading:
    """What Redis (and the inbox, for ingest) said at one moment."""

    rows: list[StageLag]
    inbox: InboxState | None
    beat: dict[str, Any] | None  # this replica's last heartbeat; None when Redis has none
    at: float  # time.time() when read


def replica_health(stage: str, consumer: str, reading: Reading, *, stalled_after_s: float) -> str | None:
    """Why this replica is unhealthy, in one line; None when it is healthy.

    Progress as `wenming lag` judges it, for this replica: work that waits for it (its group's
    undelivered entries and those it holds; for ingest, the files in the inbox) while it has
    acknowledged nothing, nor started on anything, for `stalled_after_s`.
    """
    if reading.beat is None:
        return f"this replica ({consumer}) sends no heartbeat: its event loop is stuck or Redis refuses it"
    if stage == "ingest":
        if reading.inbox is None:
            return "the inbox cannot be listed"
        waiting, quiet_s = reading.inbox.waiting, reading.inbox.oldest_wait_s
        what = "files"
    else:
        own = [r for r in reading.rows if r.stage == stage]
        held = sum(c.pending for r in own for c in r.consumers if c.name == consumer)
        waiting = sum(r.lag for r in own) + held
        quiet_s = quiet_since({consumer: reading.beat}, reading.at)
        what = "entries"
    health, reason = judge(
        waiting=waiting, live_consumers=1, error=None, quiet_s=quiet_s, stalled_after_s=stalled_after_s
    )
    if health == "failing":
        return f"{reason} ({what} waiting for it; WENMING_STALLED_AFTER_S={stalled_after_s:g})"
    return None


class _Kept:
    """The last result of a reading, for READING_KEPT_S; one reading at a time."""

    def __init__(self, read: Callable[[], Any]) -> None:
        self._read = read
        self._lock = threading.Lock()
        self._value: Any = None
        self._at = float("-inf")

    def get(self) -> Any:
        with self._lock:
            if time.monotonic() - self._at > READING_KEPT_S:
                self._value = self._read()
                self._at = time.monotonic()
            return self._value


def _run(coroutine: Callable[[], Awaitable[T]]) -> T:
    """A coroutine on an event loop of this (server) thread, within READ_TIMEOUT_S."""

    async def bounded() -> T:
        return await asyncio.wait_for(coroutine(), READ_TIMEOUT_S)

    return asyncio.run(bounded())


class StageEndpoint:
    """The stage's /metrics and /health, served from a thread until closed."""

    def __init__(self, app: StageApp, settings: Settings, stage: str) -> None:
        self.settings = settings
        self.stage = stage
        self.started = False  # the stage has joined its groups and works
        self.stopping = False
        self._topology = Topology(settings.stream_prefix)
        self._reading = _Kept(self._read_or_why)
        self._health = _Kept(self._judge)
        self._registry = app.metrics.registry
        self._registry.register(_PipelineGauges(self))
        self._metrics_app = make_wsgi_app(self._registry)
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

        async def started() -> None:
            self.started = True

        async def stopping() -> None:
            self.stopping = True

        app.after_startup(started)
        app.on_shutdown(stopping)

    def serve(self, host: str, port: int) -> None:
        """Listen on host:port, from a thread of its own; EndpointError if it cannot."""
        try:
            family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
            server_class = type("_Server", (_ThreadingServer,), {"address_family": family})
            self._server = make_server(host, port, self._wsgi, server_class, handler_class=_QuietHandler)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise EndpointError(
                    f"port {port} for /metrics and /health is in use; set WENMING_METRICS_PORT to a free "
                    "one (0: none)"
                ) from None
            raise EndpointError(f"cannot serve /metrics on {host}:{port}: {exc.strerror or exc}") from None
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics", daemon=True)
        self._thread.start()

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def health(self) -> str | None:
        """Why the stage is unhealthy, in one line; None when healthy."""
        if self.stopping:
            return "stopping"
        reason: str | None = self._health.get()
        return reason

    def reading(self) -> Reading | str:
        """The latest reading of Redis, or why there is none."""
        reading: Reading | str = self._reading.get()
        return reading

    def _judge(self) -> str | None:
        try:
            problems = _run(lambda: check_stage(self.settings, self.stage))
        except TimeoutError:
            problems = [f"Redis or Postgres did not answer within {READ_TIMEOUT_S:g}s"]
        except Exception as exc:  # whatever it is, the orchestrator hears of it in one line
            problems = [f"the check failed: {type(exc).__name__}: {exc}"]
        if problems:
            return _one_line(problems[0])
        if not self.started:
            return "starting"
        reading = self.reading()
        if isinstance(reading, str):
            return reading
        return replica_health(
            self.stage, self.settings.consumer_name, reading, stalled_after_s=self.settings.stalled_after_s
        )

    def _read_or_why(self) -> Reading | str:
        try:
            return _run(self._read)
        except TimeoutError:
            return f"Redis did not answer within {READ_TIMEOUT_S:g}s"
        except (aioredis.RedisError, OSError) as exc:
            return _one_line(f"cannot read the pipeline's state from Redis: {exc}")
        except Exception as exc:  # a scrape still gets the counters, and /health the reason
            return _one_line(f"reading the pipeline's state failed: {type(exc).__name__}: {exc}")

    async def _read(self) -> Reading:
        settings = self.settings
        client = aioredis.from_url(
            settings.require_redis_url(), socket_connect_timeout=READ_TIMEOUT_S, socket_timeout=READ_TIMEOUT_S
        )
        try:
            # Only ingest's inbox is its own: another stage's WENMING_INBOX may name nothing on its machine.
            inbox = inbox_state(settings.inbox) if self.stage == "ingest" else None
            stalled_after_s = settings.stalled_after_s
            rows = await read_lag(client, self._topology, stalled_after_s=stalled_after_s, inbox=inbox)
            beats = await read_heartbeats(client, self._topology.prefix)
        finally:
            await client.aclose()
        beat = beats.get(self.stage, {}).get(settings.consumer_name)
        return Reading(rows, inbox, beat, time.time())

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            body: Iterable[bytes] = self._metrics_app(environ, start_response)
            return body
        if path == "/health":
            reason = self.health()
            status = "200 OK" if reason is None else "503 Service Unavailable"
            line = f"{self.stage}: healthy" if reason is None else f"{self.stage}: unhealthy: {reason}"
            start_response(status, [("Content-Type", "text/plain; charset=utf-8")])
            return [(line + "\n").encode("utf-8")]
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"/metrics or /health\n"]


class _PipelineGauges:
    """The pipeline's gauges from the endpoint's latest reading of Redis; none while Redis does not answer."""

    def __init__(self, endpoint: StageEndpoint) -> None:
        self._endpoint = endpoint

    def describe(self) -> Iterator[Metric]:
        # Names only: registering must not read Redis.
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        families = self._families()
        reading = self._endpoint.reading()
        if isinstance(reading, Reading):
            lag, pending, oldest, live, backlog = families
            for stage, gauges in stage_gauges(reading.rows).items():
                lag.add_metric([stage], gauges.lag)
                pending.add_metric([stage], gauges.pending)
                oldest.add_metric([stage], gauges.oldest_pending_age_s)
                live.add_metric([stage], gauges.live_consumers)
            if reading.inbox is not None:
                backlog.add_metric([], reading.inbox.waiting)
        yield from families

    @staticmethod
    def _families() -> list[GaugeMetricFamily]:
        names = (
            "wenming_stream_lag",
            "wenming_stream_pending",
            "wenming_oldest_pending_age_seconds",
            "wenming_live_consumers",
            "wenming_inbox_backlog",
        )
        return [
            GaugeMetricFamily(m.name, m.help, labels=m.labels) for m in (pipeline_metric(n) for n in names)
        ]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a scrape in progress does not hold up the process's exit


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # a line per scrape says nothing
        return


def _one_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0][:300]


def serve_endpoint(app: StageApp, settings: Settings, stage: str) -> StageEndpoint | None:
    """Serve the stage's /metrics and /health on WENMING_METRICS_PORT; None when it is 0."""
    if not settings.metrics_port:
        return None
    endpoint = StageEndpoint(app, settings, stage)
    endpoint.serve(settings.metrics_host, settings.metrics_port)
    return endpoint
