"""Entries published before a stage starts must still be consumed (faststream alone would skip them)."""

from __future__ import annotations

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

pytestmark = pytest.mark.integration


def _document(n: int) -> DocumentIngested:
    return DocumentIngested(
        doc_id=f"{n:064x}",
        file_name=f"doc{n}.txt",
        original_text=f"文明城市創建第{n}篇報道，志願者{n}萬名。",
        encoding="utf-8",
        format="txt",
        size_bytes=40,
        ingested_at=datetime.now(UTC),
    )


async def test_entries_published_before_the_stage_starts_are_processed(settings: Settings) -> None:
    topology = Topology(settings.stream_prefix)
    broker = RedisBroker(settings.redis_url)
    async with broker:
        for n in range(3):
            await broker.publish(_document(n), stream=topology.ingested)

    async with TestApp(create_app(settings)):
        client = aioredis.from_url(settings.require_redis_url())
        normalized = await eventually(lambda: client.xlen(topology.normalized), lambda n: n == 3, timeout=20)
        await client.aclose()
    assert normalized == 3


async def test_groups_are_created_at_the_start_of_existing_streams(settings: Settings) -> None:
    topology = Topology(settings.stream_prefix)
    client = aioredis.from_url(settings.require_redis_url())
    await client.xadd(topology.ingested, {"x": "1"})
    await ensure_consumer_groups(settings.require_redis_url(), topology.consumer_groups())
    await ensure_consumer_groups(settings.require_redis_url(), topology.consumer_groups())  # idempotent
    groups = {g["name"].decode(): g for g in await client.xinfo_groups(topology.ingested)}
    await client.aclose()
    assert groups["normalize"]["last-delivered-id"] == b"0-0"
