"""Errors are classified: bad data is dead-lettered and acknowledged; lost work is reclaimed."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis
from faststream import TestApp
from faststream.redis import RedisBroker

from services.normalize.app import create_app
from shared.contracts import DocumentIngested
from shared.settings import Settings
from shared.streaming.groups import ensure_consumer_groups
from shared.streams import Topology
from tests.support.polling import eventually
from tests.support.streams import read_stream

pytestmark = pytest.mark.integration


def _document(text: str) -> DocumentIngested:
    return DocumentIngested(
        doc_id="f" * 64,
        file_name="report.txt",
        original_text=text,
        encoding="utf-8",
        format="txt",
        size_bytes=len(text.encode()),
        ingested_at=datetime.now(UTC),
    )


async def test_invalid_messages_are_dead_lettered_and_the_rest_go_on(settings: Settings) -> None:
    topology = Topology(settings.stream_prefix)
    client = aioredis.from_url(settings.require_redis_url())
    broker = RedisBroker(settings.redis_url)
    async with broker:
        await broker.publish({"doc_id": "1" * 64, "file_name": "half.txt"}, stream=topology.ingested)
        await broker.publish(_document("全市志愿者四十二萬名。"), stream=topology.ingested)
    async with TestApp(create_app(settings)):
        await eventually(lambda: client.xlen(topology.normalized), lambda n: n == 1)
        letters = await eventually(lambda: read_stream(client, topology.dead_letter), lambda e: len(e) == 1)
        info = await eventually(
            lambda: client.xpending(topology.ingested, "normalize"), lambda p: p["pending"] == 0
        )
    await client.aclose()
    assert letters[0]["file_name"] == "half.txt" and letters[0]["stage"] == "normalize"
    assert "not a valid DocumentIngested" in letters[0]["reason"]
    assert info["pending"] == 0


async def test_work_left_pending_by_a_dead_replica_is_reclaimed(settings: Settings) -> None:
    topology = Topology(settings.stream_prefix)
    client = aioredis.from_url(settings.require_redis_url())
    await ensure_consumer_groups(settings.require_redis_url(), topology.consumer_groups())
    broker = RedisBroker(settings.redis_url)
    async with broker:
        await broker.publish(_document("城市文明程度指数測評。"), stream=topology.ingested)
    # A replica reads the entry and dies before acknowledging it.
    await client.xreadgroup("normalize", "replica-that-died", {topology.ingested: ">"}, count=10)
    assert (await client.xpending(topology.ingested, "normalize"))["pending"] == 1

    async with TestApp(create_app(settings)):
        outputs = await eventually(
            lambda: read_stream(client, topology.normalized),
            lambda e: len(e) == 1,
            timeout=settings.reclaim_idle_ms / 1000 * 5,
        )
        await eventually(lambda: client.xpending(topology.ingested, "normalize"), lambda p: p["pending"] == 0)
    await client.aclose()
    assert outputs[0]["text"] == "城市文明程度指数测评。"


async def test_a_message_that_keeps_killing_its_consumer_is_dead_lettered(settings: Settings) -> None:
    topology = Topology(settings.stream_prefix)
    client = aioredis.from_url(settings.require_redis_url())
    await ensure_consumer_groups(settings.require_redis_url(), topology.consumer_groups())
    broker = RedisBroker(settings.redis_url)
    async with broker:
        await broker.publish(_document("某市志願者。"), stream=topology.ingested)
    # Five replicas in turn took the entry and died without acknowledging it.
    entry_id = (await client.xreadgroup("normalize", "victim-0", {topology.ingested: ">"}, count=1))[0][1][0][
        0
    ]
    for n in range(1, 6):
        await client.xclaim(
            topology.ingested, "normalize", f"victim-{n}", min_idle_time=0, message_ids=[entry_id]
        )

    async with TestApp(create_app(settings)):
        letters = await eventually(
            lambda: read_stream(client, topology.dead_letter),
            bool,
            timeout=settings.reclaim_idle_ms / 1000 * 5,
        )
        await eventually(lambda: client.xpending(topology.ingested, "normalize"), lambda p: p["pending"] == 0)
    assert await client.xlen(topology.normalized) == 0
    await client.aclose()
    assert re.match(r"normalize failed [6-9] times on this message", letters[0]["reason"])
