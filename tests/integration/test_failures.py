"""Errors are classified: bad data is dead-lettered and acknowledged; lost work is reclaimed."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis
from faststream import TestApp
from faststream.redis import RedisBroker

from services.normalize.app import create_app
from shared.contracts import DocumentIngested, DocumentNormalized
from shared.settings import Settings
from shared.stage import TransformStage, create_transform_app
from shared.streaming.groups import ensure_consumer_groups
from shared.streams import Topology, isolated_attempts_key
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


async def _taken_by_consumers_that_died(settings: Settings, document: DocumentIngested, times: int) -> bytes:
    """Publish `document`; `times` replicas in turn take it and die without acknowledging it."""
    topology = Topology(settings.stream_prefix)
    client = aioredis.from_url(settings.require_redis_url())
    await ensure_consumer_groups(settings.require_redis_url(), topology.consumer_groups())
    async with RedisBroker(settings.redis_url) as broker:
        await broker.publish(document, stream=topology.ingested)
    [(_, [(entry_id, _)])] = await client.xreadgroup(
        "normalize", "victim-0", {topology.ingested: ">"}, count=1
    )
    for n in range(1, times):
        await client.xclaim(
            topology.ingested, "normalize", f"victim-{n}", min_idle_time=0, message_ids=[entry_id]
        )
    await client.aclose()
    return bytes(entry_id)


async def test_deliveries_to_consumers_that_died_do_not_count_against_an_entry(settings: Settings) -> None:
    # Six processes died with the entry in a batch: any of its entries may have been the cause, or none.
    topology = Topology(settings.stream_prefix)
    await _taken_by_consumers_that_died(settings, _document("某市志願者。"), times=6)
    client = aioredis.from_url(settings.require_redis_url())
    async with TestApp(create_app(settings)):
        outputs = await eventually(
            lambda: read_stream(client, topology.normalized),
            bool,
            timeout=settings.reclaim_idle_ms / 1000 * 5,
        )
        await eventually(lambda: client.xpending(topology.ingested, "normalize"), lambda p: p["pending"] == 0)
    assert outputs[0]["text"] == "某市志愿者。"
    assert await client.xlen(topology.dead_letter) == 0
    assert not await client.exists(isolated_attempts_key(topology.ingested, "normalize"))
    await client.aclose()


async def test_an_entry_that_ended_the_process_each_time_it_was_handled_alone_is_dead_lettered(
    settings: Settings,
) -> None:
    topology = Topology(settings.stream_prefix)
    entry_id = await _taken_by_consumers_that_died(settings, _document("某市志願者。"), times=1)
    client = aioredis.from_url(settings.require_redis_url())
    # Three attempts on it alone never finished, the last with an exception.
    attempts = isolated_attempts_key(topology.ingested, "normalize")
    await client.hset(attempts, entry_id.decode(), 3)
    details = {"error_type": "MemoryError", "trace": '  File "cleaning.py", line 1, in clean\nMemoryError\n'}
    await client.hset(attempts, f"{entry_id.decode()}:error", json.dumps(details))

    async with TestApp(create_app(settings)):
        letters = await eventually(
            lambda: read_stream(client, topology.dead_letter),
            bool,
            timeout=settings.reclaim_idle_ms / 1000 * 5,
        )
        await eventually(lambda: client.xpending(topology.ingested, "normalize"), lambda p: p["pending"] == 0)
    assert await client.xlen(topology.normalized) == 0
    assert not await client.exists(attempts)
    await client.aclose()
    assert (
        letters[0]["reason"]
        == "normalize crashed 3 times handling this message alone (last with MemoryError)"
    )
    assert letters[0]["error_type"] == "MemoryError" and "in clean" in letters[0]["trace"]


def _read_or_fail(document: DocumentIngested, _resource: None) -> DocumentNormalized:
    """Logic that fails on 错, takes forever on 慢, and passes anything else through."""
    if "错" in document.original_text:
        raise ValueError("no reading for 错")
    while "慢" in document.original_text:  # interruptible: pure Python
        pass
    return DocumentNormalized(
        **document.model_dump(exclude={"original_text_ref", "file_facts"}),
        text=document.original_text,
        offsets=tuple(range(len(document.original_text))),
        script="simplified",
    )


FAILING = TransformStage(
    name="normalize",
    source=lambda topology: topology.ingested,
    target=lambda topology: topology.normalized,
    model=DocumentIngested,
    build_resource=lambda _settings: None,
    transform=_read_or_fail,
)


async def test_logic_that_fails_or_takes_too_long_on_a_document_dead_letters_it_alone(
    settings: Settings,
) -> None:
    settings = settings.model_copy(update={"processing_timeout_s": 0.5})
    topology = Topology(settings.stream_prefix)
    client = aioredis.from_url(settings.require_redis_url())
    async with RedisBroker(settings.redis_url) as broker:
        for n, text in enumerate(["好的。", "有错。", "很慢。", "也好。"]):
            await broker.publish(
                _document(text).model_copy(update={"doc_id": f"{n:064x}"}), stream=topology.ingested
            )
    async with TestApp(create_transform_app(settings, FAILING)):
        await eventually(lambda: client.xlen(topology.normalized), lambda n: n == 2)
        letters = await eventually(lambda: read_stream(client, topology.dead_letter), lambda e: len(e) == 2)
        await eventually(lambda: client.xpending(topology.ingested, "normalize"), lambda p: p["pending"] == 0)
    await client.aclose()
    failed, slow = sorted(letters, key=lambda letter: letter["doc_id"])
    assert failed["reason"] == "normalize failed: ValueError: no reading for 错"
    assert failed["error_type"] == "ValueError" and "in _read_or_fail" in failed["trace"]
    assert slow["reason"] == "normalize took longer than 0.5s on this document and gave up"
    assert slow["error_type"] == "TooSlow" and "in _read_or_fail" in slow["trace"]
