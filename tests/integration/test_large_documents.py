"""A large document goes by reference, reaches Postgres whole, and lets small ones dropped with it pass."""

from __future__ import annotations

import asyncio
import shutil
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis.asyncio as aioredis
import sqlalchemy as sa
from faststream import TestApp
from faststream.redis import RedisBroker

from services.analysis import Analyzer
from services.extract.app import create_app as create_extract
from services.ingest.app import create_app as create_ingest
from services.normalize.app import create_app as create_normalize
from services.normalize.normalizer import ScriptConverter, normalize_text
from services.store.app import create_app as create_store
from services.store.schema import sqlalchemy_url
from shared.content_store import ContentStore
from shared.contracts import ContentRef, DocumentIngested
from shared.references import by_reference
from shared.settings import Settings
from shared.streaming.groups import ensure_consumer_groups
from shared.streaming.publishing import publish_all
from shared.streams import Topology
from tests.support.polling import eventually
from tests.support.streams import read_stream

pytestmark = pytest.mark.integration

# A group that never reads keeps every entry in its stream, for inspection afterwards.
WATCH = "test-watch"


def _ingested(text: str, *, doc_id: str = "b" * 64, ref: ContentRef | None = None) -> DocumentIngested:
    return DocumentIngested(
        doc_id=doc_id,
        file_name="large.txt",
        original_text="" if ref else text,
        original_text_ref=ref,
        encoding="utf-8",
        format="txt",
        size_bytes=len(text.encode()),
        ingested_at=datetime.now(UTC),
    )


async def _content_keys(client: aioredis.Redis, topology: Topology) -> list[bytes]:
    return [key async for key in client.scan_iter(match=f"{topology.contents}:*")]


async def test_a_content_lives_until_the_last_entry_referring_to_it_is_acknowledged(
    redis_url: str, stream_prefix: str
) -> None:
    topology = Topology(stream_prefix)
    client = aioredis.from_url(redis_url)
    contents = ContentStore(client, ttl_s=600)
    await ensure_consumer_groups(redis_url, topology.consumer_groups())
    detached = by_reference(
        _ingested("全市注册志愿者42万名。" * 200), inline_bytes=1024, key_prefix=topology.contents
    )
    (key,) = detached.contents
    broker = RedisBroker(redis_url)
    async with broker:
        # Published twice: a stage that dies before acknowledging publishes again once its input is reclaimed.
        for _ in range(2):
            async with client.pipeline(transaction=True) as pipe:
                contents.keep(pipe, [detached], held=())
                await publish_all(broker, pipe, [(topology.ingested, detached.message)], metrics=None)
    assert await client.hget(key, "refs") == b"2"
    assert 0 < await client.ttl(key) <= 600

    [[_, entries]] = await client.xreadgroup("normalize", "reader", {topology.ingested: ">"})
    first, second = (entry_id for entry_id, _ in entries)
    await contents.acknowledge(topology.ingested, "normalize", [(first, [key])])
    # A second acknowledgement of the same entry (a redelivered batch) releases nothing more.
    await contents.acknowledge(topology.ingested, "normalize", [(first, [key])])
    assert await client.hget(key, "refs") == b"1"
    assert (await contents.fetch([key]))[key] == detached.contents[key]

    await contents.acknowledge(topology.ingested, "normalize", [(second, [key])])
    assert not await client.exists(key)
    assert await contents.fetch([key]) == {}
    await client.aclose()


async def test_a_reference_to_a_content_no_longer_kept_is_dead_lettered(settings: Settings) -> None:
    topology = Topology(settings.stream_prefix)
    client = aioredis.from_url(settings.require_redis_url())
    gone = ContentRef(key=f"{topology.contents}:{'b' * 64}:gone", size_bytes=300_000)
    broker = RedisBroker(settings.redis_url)
    async with broker:
        await broker.publish(_ingested("文明城市。" * 20_000, ref=gone), stream=topology.ingested)
    async with TestApp(create_normalize(settings)):
        letters = await eventually(lambda: read_stream(client, topology.dead_letter), lambda e: len(e) == 1)
        await eventually(lambda: client.xpending(topology.ingested, "normalize"), lambda p: p["pending"] == 0)
    await client.aclose()
    assert letters[0]["doc_id"] == "b" * 64 and letters[0]["stage"] == "normalize"
    assert "no longer kept" in letters[0]["reason"] and gone.key in letters[0]["reason"]


def _large_report(seeds_dir: Path) -> str:
    """About 200 KB: every seed (one of them Traditional) four times over."""
    seeds = [path.read_text(encoding="utf-8") for path in sorted(seeds_dir.glob("*.txt"))]
    return "\n\n".join(seeds * 4)


async def test_a_large_document_goes_by_reference_whole_and_small_ones_pass_it(
    settings: Settings, seeds_dir: Path
) -> None:
    settings = settings.model_copy(update={"inline_text_bytes": 32 * 1024, "batch_bytes": 64 * 1024})
    topology = Topology(settings.stream_prefix)
    client = aioredis.from_url(settings.require_redis_url())
    engine = sa.create_engine(sqlalchemy_url(settings.require_database_url()))
    large = _large_report(seeds_dir)
    smalls = sorted(seeds_dir.glob("*.txt"), key=lambda path: path.stat().st_size)[:2]
    assert len(large.encode()) > 2 * settings.batch_bytes
    # Original and normalized text together stay inline.
    assert all(2 * path.stat().st_size < settings.inline_text_bytes for path in smalls)
    await ensure_consumer_groups(settings.require_redis_url(), topology.consumer_groups())
    for stream in (topology.ingested, topology.normalized, topology.extracted):
        await client.xgroup_create(stream, WATCH, id="0", mkstream=True)

    def stored() -> dict[str, datetime]:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT file_name, stored_at FROM documents")).all()
        return {name: at for name, at in rows}

    async with AsyncExitStack() as stack:
        for create in (create_store, create_extract, create_normalize, create_ingest):
            await stack.enter_async_context(TestApp(create(settings)))
        # Dropped together: written aside, then renamed into the inbox one after the other.
        (settings.inbox / "large.part").write_text(large, encoding="utf-8")
        for path in smalls:
            shutil.copy(path, settings.inbox / f"{path.name}.part")
        (settings.inbox / "large.part").rename(settings.inbox / "large.txt")
        for path in smalls:
            (settings.inbox / f"{path.name}.part").rename(settings.inbox / path.name)
        times = await eventually(lambda: asyncio.to_thread(stored), lambda s: len(s) == 3, timeout=120)
        # Every content is released once the store has acknowledged the last entry referring to it.
        await eventually(lambda: _content_keys(client, topology), lambda keys: keys == [], timeout=30)

    entries = {
        stream: await read_stream(client, stream)
        for stream in (topology.ingested, topology.normalized, topology.extracted)
    }
    large_entries = {
        stream: [
            (entry_id, sum(len(k) + len(v) for k, v in fields.items()))
            for entry_id, fields in await client.xrange(stream)
            if b'"file_name":"large.txt"' in fields[b"__data__"]
        ]
        for stream in entries
    }
    await client.aclose()

    # The large document's messages carry references and stay small; the small ones carry their texts.
    for stream, bodies in entries.items():
        (large_body,) = [body for body in bodies if body["file_name"] == "large.txt"]
        assert large_body["original_text"] == "" and large_body["original_text_ref"] is not None, stream
        small_bodies = [body for body in bodies if body is not large_body]
        assert len(small_bodies) == 2
        assert all(body["original_text"] and body["original_text_ref"] is None for body in small_bodies)
        [(_, entry_bytes)] = large_entries[stream]
        assert entry_bytes < 16_000, (stream, entry_bytes)  # a few kilobytes (its sections), not megabytes
    normalized_body = next(b for b in entries[topology.normalized] if b["file_name"] == "large.txt")
    assert normalized_body["offsets"] == [] and normalized_body["offset_runs_ref"] is not None
    extracted_body = next(b for b in entries[topology.extracted] if b["file_name"] == "large.txt")
    assert extracted_body["metrics"] == [] and extracted_body["metrics_ref"] is not None

    # It arrives whole: its texts, and the same figures as in one process, traceable to the original.
    expected = Analyzer().analyse_bytes(large.encode(), "large.txt")
    with engine.connect() as conn:
        original, simplified, count = conn.execute(
            sa.text(
                "SELECT original_text, simplified_text, metric_count FROM documents "
                "WHERE file_name = 'large.txt'"
            )
        ).one()
        figures = conn.execute(
            sa.text(
                "SELECT m.start_offset, m.end_offset, m.surface FROM metrics m "
                "JOIN documents d ON d.id = m.document_id "
                "WHERE d.file_name = 'large.txt' ORDER BY m.ordinal"
            )
        ).all()
    engine.dispose()
    assert original == large
    assert simplified == normalize_text(large, ScriptConverter()).text
    assert count == len(expected.metrics) == len(figures) > 100
    assert [(m.start, m.end, m.surface) for m in expected.metrics] == [tuple(row) for row in figures]
    assert all(original[start:end] == surface for start, end, surface in figures)

    # The small documents were in Postgres before the large one had even left extract.
    [(large_extracted_id, _)] = large_entries[topology.extracted]
    extracted_at = datetime.fromtimestamp(int(large_extracted_id.split(b"-")[0]) / 1000, UTC)
    assert all(times[path.name] < extracted_at for path in smalls), (times, extracted_at)
