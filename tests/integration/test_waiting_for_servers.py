"""Stages started before their servers wait for them, say so once, and start when the servers come.

Each test starts a stage as `wenming serve <stage>` would, pointed at a free port, and only then
starts the server there itself (redis-server, or initdb + postgres as an unprivileged user).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from services.store.schema import sqlalchemy_url
from tests.support.endpoint import health, wait_for_health
from tests.support.servers import (
    free_port,
    postgres_binaries,
    postgres_cluster,
    postgres_server,
    redis_server,
    stop,
    wait_for_text,
)
from tests.support.wenming_up import stage_process

pytestmark = pytest.mark.integration

# The store used to exit 2.5 s after starting with Postgres down: a live stage well past that waits.
OUTLIVES_OLD_EXIT_S = 4.0


def _stays_up_waiting(process: subprocess.Popen[bytes], log_file: Path, waiting: str) -> None:
    started = time.monotonic()
    wait_for_text(log_file, waiting)
    time.sleep(max(0.0, OUTLIVES_OLD_EXIT_S - (time.monotonic() - started)))
    log = log_file.read_text(encoding="utf-8")
    assert process.poll() is None, log
    assert log.count(waiting) == 1 and "Traceback" not in log, log


def _heartbeat(redis_url: str, prefix: str, stage: str) -> bool:
    client = redis.Redis.from_url(redis_url)
    try:
        return any(client.scan_iter(match=f"{prefix}:heartbeat:{stage}:*"))
    finally:
        client.close()


def _until(condition: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.2)


@pytest.mark.parametrize("stage", ["ingest", "normalize", "store"])
def test_a_stage_started_before_redis_waits_for_it(
    stage: str, database_url: str, stream_prefix: str, tmp_path: Path
) -> None:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    port, metrics_port = free_port(), free_port()
    redis_url = f"redis://127.0.0.1:{port}/0"
    env = {
        "WENMING_REDIS_URL": redis_url,
        "WENMING_DATABASE_URL": database_url,
        "WENMING_STREAM_PREFIX": stream_prefix,
        "WENMING_INBOX": str(tmp_path / "inbox"),
        "WENMING_METRICS_PORT": str(metrics_port),
    }
    log_file = tmp_path / f"{stage}.log"
    with stage_process(stage, env, log_file) as process:
        _stays_up_waiting(process, log_file, f"waiting for Redis at 127.0.0.1:{port}")
        # Four stages share one terminal under `wenming up`: the line names its stage.
        assert f"{stage}: WARNING shared.servers: waiting for Redis" in log_file.read_text(encoding="utf-8")
        # An orchestrator asking meanwhile is told why, in one line.
        status, line = health(metrics_port)
        assert status == 503 and line.count("\n") == 1
        assert line.startswith(f"{stage}: unhealthy: Redis at 127.0.0.1:{port}: ")

        with redis_server(port, tmp_path):
            wait_for_text(log_file, f"Redis is back at 127.0.0.1:{port}")
            _until(lambda: _heartbeat(redis_url, stream_prefix, stage))  # started: it beats
            wait_for_health(metrics_port, lambda status: status == 200, timeout=30)
            stop(process)
    assert process.returncode == 0, log_file.read_text(encoding="utf-8")


def test_the_store_started_before_postgres_waits_for_it(
    redis_url: str, stream_prefix: str, tmp_path: Path
) -> None:
    if postgres_binaries() is None:
        pytest.skip("initdb and postgres are not installed")
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        pytest.skip("Postgres refuses to run as root and setpriv is missing to drop to another uid")
    port, metrics_port = free_port(), free_port()
    database_url = f"postgresql://postgres@127.0.0.1:{port}/wenming"
    env = {
        "WENMING_REDIS_URL": redis_url,
        "WENMING_DATABASE_URL": database_url,
        "WENMING_STREAM_PREFIX": stream_prefix,
        "WENMING_METRICS_PORT": str(metrics_port),
    }
    log_file = tmp_path / "store.log"
    with postgres_cluster() as cluster, stage_process("store", env, log_file) as process:
        _stays_up_waiting(process, log_file, f"waiting for Postgres at 127.0.0.1:{port}")
        status, line = health(metrics_port)
        assert status == 503 and line.startswith("store: unhealthy: Postgres: ") and line.count("\n") == 1

        with postgres_server(cluster, port):
            wait_for_text(log_file, f"Postgres is back at 127.0.0.1:{port}")
            _until(lambda: _heartbeat(redis_url, stream_prefix, "store"))
            wait_for_health(metrics_port, lambda status: status == 200, timeout=30)
            engine = sa.create_engine(sqlalchemy_url(database_url))
            with engine.connect() as conn:  # created and migrated once Postgres came
                assert conn.execute(sa.text("SELECT to_regclass('ingest_log') IS NOT NULL")).scalar_one()
            engine.dispose()
            stop(process)
    assert process.returncode == 0, log_file.read_text(encoding="utf-8")


def test_a_stage_waiting_for_its_servers_stops_when_told(stream_prefix: str, tmp_path: Path) -> None:
    port = free_port()
    env = {
        "WENMING_REDIS_URL": f"redis://127.0.0.1:{port}/0",
        "WENMING_STREAM_PREFIX": stream_prefix,
        "WENMING_METRICS_PORT": str(free_port()),
    }
    log_file = tmp_path / "normalize.log"
    with stage_process("normalize", env, log_file) as process:
        wait_for_text(log_file, f"waiting for Redis at 127.0.0.1:{port}")
        stopped_at = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(10)
    assert process.returncode == 0 and time.monotonic() - stopped_at < 3
    assert "stopped while waiting for Redis" in log_file.read_text(encoding="utf-8")
