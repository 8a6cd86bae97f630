"""Recovery in seconds: work of a killed replica taken back in batches and first, Redis restarts
ridden out in place, each outage logged once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis
from faststream import TestApp
from faststream.redis import RedisBroker

from services.normalize.app import create_app
from shared.contracts import DocumentIngested
from shared.settings import Settings
from shared.streaming.groups import ensure_consumer_groups
from shared.streams import Topology
from tests.support.polling import eventually
from tests.support.servers import free_port, redis_server, stop, wait_for_text
from tests.support.streams import read_stream, read_stream_sync

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _document(n: int) -> DocumentIngested:
    text = f"第{n}篇：全市志願者{n}萬名。"
    return DocumentIngested(
        doc_id=f"{n:064x}",
        file_name=f"doc{n}.txt",
        original_text=text,
        encoding="utf-8",
        format="txt",
        size_bytes=len(text.encode()),
        ingested_at=datetime.now(UTC),
    )


async def test_work_of_a_killed_replica_is_taken_back_in_batches_before_new_work(settings: Settings) -> None:
    # Far longer than the test: what is taken back is taken because its holder stopped beating.
    settings = settings.model_copy(update={"reclaim_idle_ms": 600_000})
    topology = Topology(settings.stream_prefix)
    client = aioredis.from_url(settings.require_redis_url())
    await ensure_consumer_groups(settings.require_redis_url(), topology.consumer_groups())
    async with RedisBroker(settings.redis_url) as broker:
        for n in range(40):
            await broker.publish(_document(n), stream=topology.ingested)
        # A replica read them all and was killed: no heartbeat, its entries untouched for a minute.
        [(_, entries)] = await client.xreadgroup("normalize", "killed-replica", {topology.ingested: ">"})
        ids = [entry_id for entry_id, _ in entries]
        await client.xclaim(
            topology.ingested, "normalize", "killed-replica", 0, ids, idle=60_000, justid=True
        )
        for n in range(40, 80):  # new work, published after
            await broker.publish(_document(n), stream=topology.ingested)

    started = time.monotonic()
    async with TestApp(create_app(settings)):
        outputs = await eventually(lambda: read_stream(client, topology.normalized), lambda e: len(e) == 80)
        await eventually(lambda: client.xpending(topology.ingested, "normalize"), lambda p: p["pending"] == 0)
    took_s = time.monotonic() - started
    await client.aclose()
    order = [int(body["doc_id"], 16) for body in outputs]
    assert sorted(order[:40]) == list(range(40))  # taken back first
    assert sorted(order[40:]) == list(range(40, 80))
    assert took_s < 20


def test_a_redis_restart_is_ridden_out_in_place_and_logged_once(stream_prefix: str, tmp_path: Path) -> None:
    port = free_port()
    redis_url = f"redis://127.0.0.1:{port}/0"
    documents = [_document(n) for n in range(300)]
    env = {
        **os.environ,
        "WENMING_REDIS_URL": redis_url,
        "WENMING_STREAM_PREFIX": stream_prefix,
        "WENMING_BATCH_SIZE": "16",
        "WENMING_METRICS_PORT": str(free_port()),
    }
    log_file = tmp_path / "normalize.log"
    topology = Topology(stream_prefix)
    with redis_server(port, tmp_path, appendonly=True) as server:
        _until(lambda: _answers(redis_url))
        asyncio.run(_publish(redis_url, topology.ingested, documents))
        with log_file.open("wb") as sink:
            stage = subprocess.Popen(
                [sys.executable, "-m", "services.operate.cli", "serve", "normalize"],
                cwd=ROOT,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        try:
            client = redis.Redis.from_url(redis_url)
            _until(lambda: client.xlen(topology.normalized) > 0)
            client.shutdown()  # AOF: the streams survive; the stage sees its connections drop
            client.close()
            server.wait(10)
            time.sleep(3)
            with redis_server(port, tmp_path, appendonly=True):
                restarted = time.monotonic()
                client = redis.Redis.from_url(redis_url)
                _until(lambda: _answers(redis_url))
                _until(
                    lambda: (
                        client.xpending(topology.ingested, "normalize")["pending"] == 0
                        and len({b["doc_id"] for b in read_stream_sync(client, topology.normalized)}) == 300
                    ),
                    timeout=30,
                )
                recovered_s = time.monotonic() - restarted
                client.close()
                wait_for_text(log_file, f"Redis is back at 127.0.0.1:{port}")
                stop(stage)
        finally:
            stop(stage)
    log = log_file.read_text(encoding="utf-8")
    print(f"all 300 normalized {recovered_s:.1f}s after Redis restarted")
    assert recovered_s < 12, log  # faststream retries a failed read after 5 s; no reclaim timer
    assert stage.returncode == 0, log
    assert "Traceback" not in log and "Message fetch error" not in log, log
    assert 1 <= log.count(f"waiting for Redis at 127.0.0.1:{port}") <= 3, log  # a line per reason, at most


async def _publish(redis_url: str, stream: str, documents: list[DocumentIngested]) -> None:
    async with RedisBroker(redis_url) as broker:
        for document in documents:
            await broker.publish(document, stream=stream)


def _answers(redis_url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(redis_url, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def _until(condition: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.1)
