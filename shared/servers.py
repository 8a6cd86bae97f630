"""Waiting for the servers a stage needs when it starts: capped exponential backoff with jitter.

A stage started before Redis or Postgres (a reboot, `docker compose up`, a restart of the
database) waits for them instead of exiting, and says so once when the wait starts, once when the
reason changes and once when the server is back: not a traceback per retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import redis.asyncio as aioredis
from faststream import FastStream
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from shared.metrics import StageMetrics
from shared.server_urls import first_line, redis_failure, server_address

log = logging.getLogger(__name__)
T = TypeVar("T")

FIRST_DELAY_S = 0.25
# A server that comes back is noticed within this long; retries this far apart cost it nothing.
MAX_DELAY_S = 5.0
_CONNECT_TIMEOUT_S = 5.0


class StageApp(FastStream):
    """A FastStream app whose stop (SIGINT, SIGTERM) also ends a wait for servers in its lifespan.

    FastStream acts on its stop signal only once the lifespan has started, and the lifespan is
    where a stage waits: without this, a stage waiting for Postgres could not be stopped.
    It carries the stage's metrics, for whoever serves them.
    """

    def __init__(self, *args: Any, metrics: StageMetrics, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stopping = asyncio.Event()
        self.metrics = metrics

    def exit(self) -> None:
        self.stopping.set()
        super().exit()


class StoppedWhileWaiting(SystemExit):
    """Told to stop before its servers came: the process ends quietly, with status 0."""


@dataclass(frozen=True)
class Server:
    """A server as the logs name it, which failures mean it is not there (yet), and how to say why."""

    name: str
    address: str  # host:port, never the credentials
    is_away: Callable[[BaseException], bool]
    explain: Callable[[BaseException], str] = first_line


class Watch:
    """One server as this process sees it: away (since when, why) or up.

    Shared by every task that uses the server, so that a stage logs each change once, however
    many batches, acknowledgements and heartbeats wait for it meanwhile.
    """

    def __init__(self, server: Server, *, max_delay_s: float = MAX_DELAY_S) -> None:
        self.server = server
        self.max_delay_s = max_delay_s
        self.away_since: float | None = None
        self.reason: str | None = None

    def failed(self, error: BaseException) -> None:
        """Note a failure that says the server is away: logged when it starts or its reason changes."""
        if self.away_since is None:
            self.away_since = time.monotonic()
        reason = self.server.explain(error)
        if reason != self.reason:
            self.reason = reason
            log.warning(
                "waiting for %s at %s (%s); retrying, at most %gs apart",
                self.server.name,
                self.server.address,
                self.reason,
                self.max_delay_s,
            )

    def answered(self) -> None:
        """Note that the server answered: logged once, if it had been away."""
        if self.away_since is not None:
            away_s = time.monotonic() - self.away_since
            log.info("%s is back at %s after %.1fs", self.server.name, self.server.address, away_s)
        self.away_since = None
        self.reason = None


async def retry_while_away(
    attempt: Callable[[], Awaitable[T]],
    watches: Sequence[Watch],
    *,
    stopping: asyncio.Event,
    stopped: Callable[[Watch], BaseException],
    on_failure: Callable[[BaseException], None] | None = None,
    first_delay_s: float = FIRST_DELAY_S,
) -> T:
    """The result of `attempt`, retried while one of the watched servers is away.

    Capped exponential backoff with jitter; a failure no watched server explains is raised at once,
    and so is `stopped(watch)` once `stopping` is set while waiting.
    """
    delay = first_delay_s
    waited_for: list[Watch] = []
    while True:
        try:
            result = await attempt()
        except Exception as exc:
            watch = next((w for w in watches if w.server.is_away(exc)), None)
            if watch is None:
                raise
            watch.failed(exc)
            if watch not in waited_for:
                waited_for.append(watch)
            if on_failure is not None:
                on_failure(exc)
            # Jitter, so that replicas started together do not knock in step.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), random.uniform(delay / 2, delay))
            if stopping.is_set():
                raise stopped(watch) from exc
            delay = min(delay * 2, watch.max_delay_s)
            continue
        for watch in waited_for:
            watch.answered()
        return result


async def wait_until_up(
    server: Server,
    attempt: Callable[[], Awaitable[T]],
    *,
    stopping: asyncio.Event,
    first_delay_s: float = FIRST_DELAY_S,
    max_delay_s: float = MAX_DELAY_S,
) -> T:
    """The result of `attempt`, retried while `server` is away; other failures are raised at once."""
    if stopping.is_set():
        raise _stopped_while_waiting(Watch(server))
    return await retry_while_away(
        attempt,
        [Watch(server, max_delay_s=max_delay_s)],
        stopping=stopping,
        stopped=_stopped_while_waiting,
        first_delay_s=first_delay_s,
    )


def _stopped_while_waiting(watch: Watch) -> StoppedWhileWaiting:
    log.info("stopped while waiting for %s at %s", watch.server.name, watch.server.address)
    return StoppedWhileWaiting(0)


def redis_is_away(error: BaseException) -> bool:
    # Refused, reset, timed out, still loading its data, or refusing our password: all logged, all waited for.
    return isinstance(error, RedisConnectionError | RedisTimeoutError | OSError)


def redis_server(redis_url: str) -> Server:
    def explain(error: BaseException) -> str:
        return redis_failure(error, redis_url=redis_url)

    return Server("Redis", server_address(redis_url, 6379), redis_is_away, explain)


async def wait_for_redis(redis_url: str, *, stopping: asyncio.Event) -> None:
    """Return once Redis answers a PING."""

    async def ping() -> None:
        client = aioredis.from_url(
            redis_url, socket_connect_timeout=_CONNECT_TIMEOUT_S, socket_timeout=_CONNECT_TIMEOUT_S
        )
        try:
            await client.ping()
        finally:
            await client.aclose()

    await wait_until_up(redis_server(redis_url), ping, stopping=stopping)
