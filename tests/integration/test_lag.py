"""`wenming lag` numbers against real Redis 7 and the embedded Redis 6.2 (which has no lag field)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from faststream.redis import RedisBroker

from services.operate.embedded import EmbeddedRedis
from services.operate.lag import dead_letter_count, dead_letters_since_last_check, read_lag, verdict
from shared.streaming.dead_letters import dead_letter
from shared.streaming.groups import ensure_consumer_groups, remove_gone_consumers, trim_consumed
from shared.streaming.liveness import heartbeat_key, heartbeat_registry
from shared.streaming.publishing import publish_all
from shared.streams import Topology

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def redis_62(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis62"))
    yield server.start()
    server.stop()


@pytest.fixture(params=["configured", "embedded-6.2"])
async def client(
    request: pytest.FixtureRequest, redis_url: str, redis_62: str
) -> AsyncIterator[aioredis.Redis]:
    connection = aioredis.from_url(redis_url if request.param == "configured" else redis_62)
    yield connection
    await connection.aclose()


async def test_lag_pending_and_consumers_per_stage(client: aioredis.Redis, stream_prefix: str) -> None:
    topology = Topology(stream_prefix)
    await ensure_consumer_groups(_url(client), topology.consumer_groups())
    for n in range(5):
        await client.xadd(topology.ingested, {"n": str(n)})
    delivered = await client.xreadgroup("normalize", "worker-1", {topology.ingested: ">"}, count=2)
    await client.set(
        heartbeat_key(stream_prefix, "normalize", "worker-1"), json.dumps({"last_error": None}), ex=30
    )
    await client.xack(topology.ingested, "normalize", delivered[0][1][0][0])

    rows = {row.stream: row for row in await read_lag(client, topology)}
    normalize = rows[topology.ingested]
    assert (normalize.length, normalize.lag, normalize.pending) == (5, 3, 1)
    assert [c.name for c in normalize.consumers] == ["worker-1"]
    assert normalize.oldest_pending_age_s is not None and normalize.oldest_pending_deliveries == 1
    assert normalize.health == "working"
    assert rows[topology.normalized].lag == 0 and rows[topology.normalized].health == "no consumers"

    # A consumer whose process died stays listed by Redis, but without a heartbeat it is gone.
    await client.delete(heartbeat_key(stream_prefix, "normalize", "worker-1"))
    rows = {row.stream: row for row in await read_lag(client, topology)}
    assert rows[topology.ingested].health == "no consumers"
    assert [c.alive for c in rows[topology.ingested].consumers] == [False]

    # Trimming keeps everything the group still needs: the pending entry and the undelivered ones.
    await trim_consumed(client, topology.ingested)
    rows = {row.stream: row for row in await read_lag(client, topology)}
    assert (rows[topology.ingested].length, rows[topology.ingested].lag, rows[topology.ingested].pending) == (
        4,
        3,
        1,
    )


async def test_a_stream_with_entries_and_no_consumer_is_reported(
    client: aioredis.Redis, stream_prefix: str
) -> None:
    topology = Topology(stream_prefix)
    await client.xadd(topology.normalized, {"n": "1"})
    rows = {row.stream: row for row in await read_lag(client, topology)}
    assert rows[topology.normalized].health == "no consumers"
    assert rows[topology.normalized].lag == 1


async def test_dead_letters_stay_counted_after_the_store_has_taken_them(
    client: aioredis.Redis, stream_prefix: str
) -> None:
    topology = Topology(stream_prefix)
    await ensure_consumer_groups(_url(client), topology.consumer_groups())
    letters = [
        (topology.dead_letter, dead_letter("ingest", "empty file", file_name=f"{n}.txt")) for n in range(3)
    ]
    async with RedisBroker(_url(client)) as broker, client.pipeline(transaction=False) as pipe:
        await publish_all(broker, pipe, letters, metrics=None)
    # The store records them and acknowledges; trimming then empties the stream.
    [(_, entries)] = await client.xreadgroup("store", "store-1", {topology.dead_letter: ">"})
    await client.xack(topology.dead_letter, "store", *[entry_id for entry_id, _ in entries])
    await trim_consumed(client, topology.dead_letter)

    assert await client.xlen(topology.dead_letter) == 0
    assert await dead_letter_count(client, topology) == 3


def _url(client: aioredis.Redis) -> str:
    kwargs = client.connection_pool.connection_kwargs
    return f"redis://{kwargs['host']}:{kwargs['port']}/{kwargs.get('db', 0)}"


def test_embedded_server_is_the_old_version(redis_62: str, tmp_path: Path) -> None:
    import redis

    assert redis.Redis.from_url(redis_62).info()["redis_version"].startswith("6.")


async def _beat(client: aioredis.Redis, prefix: str, stage: str, consumer: str, **state: object) -> None:
    """A heartbeat as a live replica sends it."""
    await client.set(heartbeat_key(prefix, stage, consumer), json.dumps(state), ex=30)
    await client.sadd(heartbeat_registry(prefix, stage), consumer)


async def test_a_stage_whose_attempts_fail_or_that_acknowledges_nothing_is_failing(
    client: aioredis.Redis, stream_prefix: str
) -> None:
    topology = Topology(stream_prefix)
    await ensure_consumer_groups(_url(client), topology.consumer_groups())
    await client.xadd(topology.extracted, {"n": "1"})
    await client.xreadgroup("store", "store-1", {topology.extracted: ">"})
    now = time.time()
    error = "12:00:01 OperationalError: connection refused"
    await _beat(client, stream_prefix, "store", "store-1", last_error=error, acked_at=now)
    await _beat(client, stream_prefix, "extract", "extract-1", acked_at=now - 500, started_at=now - 900)
    await client.xadd(topology.normalized, {"n": "1"})

    rows = {row.stream: row for row in await read_lag(client, topology, stalled_after_s=120)}
    store, extract = rows[topology.extracted], rows[topology.normalized]
    assert store.health == "failing" and store.last_error == f"store-1: {error}"
    assert extract.health == "failing" and extract.last_error is not None
    assert extract.last_error.startswith("acknowledged nothing for 5")
    # A replica that has just started beats before Redis lists it: shown by name, alive.
    assert [(c.name, c.alive, c.idle_s) for c in extract.consumers] == [("extract-1", True, None)]


async def test_dead_letters_since_the_last_check_degrade_the_verdict_once(
    client: aioredis.Redis, stream_prefix: str
) -> None:
    topology = Topology(stream_prefix)
    assert await dead_letters_since_last_check(client, topology, 0) == 0
    await client.incrby(topology.dead_letters_added, 2)
    count = await dead_letter_count(client, topology)
    assert await dead_letters_since_last_check(client, topology, count) == 2
    rows = await read_lag(client, topology)
    assert verdict(rows, 2) == "stopped"  # no stage runs here; with stages running, "degraded"
    assert verdict([], 2) == "degraded"
    assert await dead_letters_since_last_check(client, topology, count) == 0  # seen now


async def test_consumers_gone_longer_than_the_reclaim_time_with_nothing_pending_are_removed(
    client: aioredis.Redis, stream_prefix: str
) -> None:
    topology = Topology(stream_prefix)
    await ensure_consumer_groups(_url(client), topology.consumer_groups())
    for n in range(2):
        await client.xadd(topology.ingested, {"n": str(n)})
    await client.xgroup_createconsumer(topology.ingested, "normalize", "killed-idle")
    await client.xreadgroup("normalize", "killed-holding", {topology.ingested: ">"}, count=1)
    await client.xgroup_createconsumer(topology.ingested, "normalize", "alive-idle")
    await _beat(client, stream_prefix, "normalize", "alive-idle")
    await asyncio.sleep(1.1)

    removed = await remove_gone_consumers(
        client, topology.ingested, "normalize", prefix=stream_prefix, gone_after_ms=1_000
    )
    left = {_name(c) for c in await client.xinfo_consumers(topology.ingested, "normalize")}
    assert removed == ["killed-idle"]
    assert left == {"killed-holding", "alive-idle"}  # still holds an entry; still beats


async def test_reading_every_stage_takes_two_round_trips(client: aioredis.Redis, stream_prefix: str) -> None:
    topology = Topology(stream_prefix)
    await ensure_consumer_groups(_url(client), topology.consumer_groups())
    async with client.pipeline(transaction=False) as pipe:
        for n in range(5_000):
            pipe.xadd(topology.ingested, {"n": str(n)})
        await pipe.execute()
    await client.xreadgroup("normalize", "worker-1", {topology.ingested: ">"}, count=64)
    for n in range(8):
        await _beat(client, stream_prefix, "normalize", f"worker-{n}", acked_at=time.time())

    started = time.perf_counter()
    rows = await read_lag(client, topology)
    took_s = time.perf_counter() - started
    normalize = next(r for r in rows if r.stage == "normalize")
    assert (normalize.lag, normalize.pending, len(normalize.consumers)) == (5_000 - 64, 64, 8)
    assert took_s < 0.1, took_s


def _name(consumer: dict[str, object]) -> str:
    name = consumer["name"]
    return name.decode() if isinstance(name, bytes) else str(name)
