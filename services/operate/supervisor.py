"""`wenming up`: the four stages as child processes on one machine, with servers if none are given."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from services.operate.embedded import EmbeddedPostgres, EmbeddedRedis, die_with_parent
from services.operate.instance import INSTANCE_FILE
from shared.streams import STAGES

if TYPE_CHECKING:  # `wenming env` imports this module and needs no settings
    from shared.settings import Settings

log = logging.getLogger("wenming.up")
_RESTART_BACKOFF_S = 2.0
_STOP_WAIT_S = 15.0
# Store first: it applies the migrations the others never wait for.
_START_ORDER = ("store", *[s for s in STAGES if s != "store"])


@dataclass
class _Stage:
    """A running stage, and the pipe on which it says it is ready (None once read or closed)."""

    process: subprocess.Popen[bytes]
    ready_pipe: int | None
    started_at: float


def run_pipeline(settings: Settings, *, data_dir: Path, verbose: bool = False) -> int:
    """Run until Ctrl-C or SIGTERM; children that die are restarted. Prints a few lines for a person."""
    # Imported here: `wenming env` and `wenming lag` read the instance file from this module.
    from services.store.schema import create_database_if_missing

    data_dir = data_dir.absolute()
    data_dir.mkdir(parents=True, exist_ok=True)
    # Two pipelines on one data folder would share an embedded server's files and one inbox.
    lock = (data_dir / "lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log.error("a pipeline already runs from %s; stop it first, or use another --data-dir", data_dir)
        return 1
    metrics_env = _metrics_ports(settings)  # before any server starts: a port taken is said at once
    if metrics_env is None:
        return 1
    servers: list[EmbeddedRedis | EmbeddedPostgres] = []
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    stages: dict[str, _Stage] = {}
    try:
        try:
            redis_url, database_url = _servers(settings, data_dir, servers)
            # So that `eval "$(wenming env)"; psql "$WENMING_DATABASE_URL"` works from the first moment.
            create_database_if_missing(database_url)
        except Exception as exc:  # a server that does not start or answer: one line, the trace with -v
            log.error("%s", (str(exc).splitlines() or [type(exc).__name__])[0], exc_info=verbose)
            return 1
        inbox = settings.inbox.absolute()
        inbox.mkdir(parents=True, exist_ok=True)
        instance_file = data_dir / INSTANCE_FILE
        instance_file.unlink(missing_ok=True)  # one left by a pipeline that was killed may be readable by all
        # Readable by its owner only: the URLs may hold passwords.
        with os.fdopen(os.open(instance_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as sink:
            json.dump(
                {
                    "pid": os.getpid(),
                    "redis_url": redis_url,
                    "database_url": database_url,
                    "inbox": str(inbox),
                    "stream_prefix": settings.stream_prefix,
                },
                sink,
            )
        _say(f"inbox:     {_shown(inbox)} (drop .txt .html .docx .pdf files here)")
        env = {
            **os.environ,
            "WENMING_REDIS_URL": redis_url,
            "WENMING_DATABASE_URL": database_url,
            "WENMING_INBOX": str(inbox),
        }
        if settings.metrics_port:
            host = metrics_env["ingest"]["WENMING_METRICS_HOST"]
            ports = ", ".join(
                f"{env['WENMING_METRICS_PORT']} ({stage})" for stage, env in metrics_env.items()
            )
            _say(f"metrics:   /metrics and /health on {host}, ports {ports}")
        ready: set[str] = set()
        while not stopping:
            for name in _START_ORDER:
                stage = stages.get(name)
                if stage is not None and stage.process.poll() is None:
                    continue
                if stage is not None:
                    log.warning("%s exited with status %s; restarting it", name, stage.process.returncode)
                    _close(stage)
                    if time.monotonic() - stage.started_at < _RESTART_BACKOFF_S:
                        time.sleep(_RESTART_BACKOFF_S)
                stages[name] = _start_stage(name, {**env, **metrics_env[name]}, verbose=verbose)
            for name in _wait_for_ready(stages, timeout_s=0.5):
                _say(f"{name:<10} ready")
                first_time, ready = name not in ready, ready | {name}
                if first_time and ready == set(STAGES):
                    _say("running: `wenming lag` shows progress, `wenming env` the URLs; Ctrl-C stops")
        return 0
    finally:
        if stages:
            _say("stopping the stages")
        _stop_stages(stages)
        if servers:
            _say("stopping the embedded servers")
        for embedded in reversed(servers):
            embedded.stop()
        (data_dir / INSTANCE_FILE).unlink(missing_ok=True)
        if stopping:
            _say("stopped")


def _servers(
    settings: Settings, data_dir: Path, servers: list[EmbeddedRedis | EmbeddedPostgres]
) -> tuple[str, str]:
    """The configured Redis and Postgres, or embedded ones started in `data_dir` (added to `servers`)."""
    redis_url = settings.redis_url
    if redis_url:
        settings.require_redis_url()  # an unusable URL is told once here, not by four stages restarting
        _say(f"Redis:     {without_password(redis_url)} (WENMING_REDIS_URL)")
    else:
        redis = EmbeddedRedis(data_dir / "redis")
        servers.append(redis)
        redis_url = redis.start()
        _say(f"Redis:     {redis_url}, embedded, data in {_shown(redis.data_dir)}")
    database_url = settings.database_url
    if database_url:
        _say(f"Postgres:  {without_password(database_url)} (WENMING_DATABASE_URL)")
    else:
        postgres = EmbeddedPostgres(data_dir / "postgres")
        servers.append(postgres)
        database_url = postgres.start()
        _say(f"Postgres:  {database_url}, embedded, data in {_shown(postgres.data_dir)}")
    return redis_url, database_url


def _metrics_ports(settings: Settings) -> dict[str, dict[str, str]] | None:
    """Each stage's /metrics port, as its settings: the base and the next three, in pipeline order.

    None, said in one line, when one of them is taken: the stage would fail on it at every restart.
    """
    from services.operate.endpoint import port_is_free, stage_ports

    host = settings.metrics_host if "metrics_host" in settings.model_fields_set else "127.0.0.1"
    if not settings.metrics_port:
        return {stage: {"WENMING_METRICS_PORT": "0"} for stage in STAGES}
    ports = stage_ports(settings.metrics_port)
    if max(ports.values()) > 65535:
        log.error("WENMING_METRICS_PORT=%d: the stages take it and the next three", settings.metrics_port)
        return None
    for stage, port in ports.items():
        if not port_is_free(host, port):
            log.error(
                "port %d (%s's /metrics) is in use; set WENMING_METRICS_PORT to a base with four free ports "
                "(0: none)",
                port,
                stage,
            )
            return None
    return {
        stage: {"WENMING_METRICS_PORT": str(port), "WENMING_METRICS_HOST": host}
        for stage, port in ports.items()
    }


def _start_stage(name: str, env: dict[str, str], *, verbose: bool) -> _Stage:
    """Start `wenming serve NAME` with a pipe on which it says when it is ready."""
    ready_read, ready_write = os.pipe()
    try:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "services.operate.cli",
                "serve",
                name,
                "--ready-fd",
                str(ready_write),
                *(["-v"] if verbose else []),
            ],
            env=env,
            pass_fds=(ready_write,),
            start_new_session=True,  # Ctrl-C reaches only the supervisor, which stops them all in order
            preexec_fn=die_with_parent,
        )
    except BaseException:
        os.close(ready_read)
        raise
    finally:
        os.close(ready_write)
    return _Stage(process, ready_read, time.monotonic())


def _wait_for_ready(stages: dict[str, _Stage], *, timeout_s: float) -> list[str]:
    """Wait up to `timeout_s` for stages to say they are ready; the names of those that did."""
    waiting = {s.ready_pipe: name for name, s in stages.items() if s.ready_pipe is not None}
    readable, _, _ = select.select(list(waiting), [], [], timeout_s)
    ready = []
    for pipe in readable:
        name = waiting[pipe]
        if os.read(pipe, 64).startswith(b"ready"):
            ready.append(name)
        _close(stages[name])  # read once: ready, or closed by a stage that died first
    return ready


def _close(stage: _Stage) -> None:
    if stage.ready_pipe is not None:
        os.close(stage.ready_pipe)
        stage.ready_pipe = None


def _stop_stages(stages: dict[str, _Stage]) -> None:
    """SIGTERM to every stage, so each finishes its batch and leaves its consumer groups; then wait."""
    for stage in stages.values():
        _close(stage)
        if stage.process.poll() is None:
            stage.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + _STOP_WAIT_S
    for name, stage in stages.items():
        try:
            stage.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop within %.0f s; killed", name, _STOP_WAIT_S)
            stage.process.kill()
            stage.process.wait()


def _say(line: str) -> None:
    print(line, flush=True)


def _shown(path: Path) -> str:
    """A path as the person typed it: relative when under the current folder."""
    try:
        return str(path.relative_to(Path.cwd())) or "."
    except ValueError:
        return str(path)


def without_password(url: str) -> str:
    """A URL fit to print: its password, if any, replaced by stars."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + host))
