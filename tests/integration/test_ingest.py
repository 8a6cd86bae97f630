"""The ingest stage against real Redis: complete files in, messages out, files filed away."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from faststream import TestApp

from services.ingest.app import create_app
from shared.settings import Settings
from shared.streaming.liveness import heartbeat_key
from shared.streams import Topology
from tests.support.polling import eventually
from tests.support.streams import read_stream

pytestmark = pytest.mark.integration


async def test_good_files_are_published_and_moved_to_done(settings: Settings, seeds_dir: Path) -> None:
    topology = Topology(settings.stream_prefix)
    settings.inbox.mkdir(parents=True)
    seed = next(iter(sorted(seeds_dir.glob("000_*.txt"))))
    (settings.inbox / seed.name).write_bytes(seed.read_bytes())
    client = aioredis.from_url(settings.require_redis_url())
    async with TestApp(create_app(settings)):
        entries = await eventually(lambda: read_stream(client, topology.ingested), lambda e: len(e) == 1)
        await eventually(lambda: _exists(settings.inbox / "done" / seed.name), bool)
    await client.aclose()
    assert entries[0]["file_name"] == seed.name
    assert len(str(entries[0]["doc_id"])) == 64
    assert not (settings.inbox / seed.name).exists()


async def test_bad_files_go_to_failed_with_a_reason(settings: Settings) -> None:
    topology = Topology(settings.stream_prefix)
    settings.inbox.mkdir(parents=True)
    (settings.inbox / "empty.txt").write_bytes(b"")
    outside = settings.inbox.parent / "secret.txt"
    outside.write_text("外部文件，不应读取。", encoding="utf-8")
    (settings.inbox / "link.txt").symlink_to(outside)
    client = aioredis.from_url(settings.require_redis_url())
    async with TestApp(create_app(settings)):
        letters = await eventually(lambda: read_stream(client, topology.dead_letter), lambda e: len(e) == 2)
    await client.aclose()
    reasons = {letter["file_name"]: letter["reason"] for letter in letters}
    assert "empty" in str(reasons["empty.txt"])
    assert "outside the inbox" in str(reasons["link.txt"])
    failed = settings.inbox / "failed"
    assert (failed / "empty.txt").exists()
    assert "outside the inbox" in (failed / "link.txt.error.txt").read_text(encoding="utf-8")
    assert outside.exists()


async def test_hidden_temporary_and_growing_files_are_left_alone(settings: Settings, seeds_dir: Path) -> None:
    # Writes come ten times faster than the minimum age: a stall of the writer cannot look like an end.
    settings = settings.model_copy(update={"file_min_age_s": 1.0})
    topology = Topology(settings.stream_prefix)
    settings.inbox.mkdir(parents=True)
    text = next(iter(sorted(seeds_dir.glob("001_*.txt")))).read_bytes()
    for name in (".hidden.txt", "download.part", "copy.tmp", "~lock.txt"):
        (settings.inbox / name).write_bytes(text)
    growing = settings.inbox / "growing.txt"
    client = aioredis.from_url(settings.require_redis_url())
    async with TestApp(create_app(settings)):
        with growing.open("wb") as sink:  # still being written: never taken half-way
            for start in range(0, len(text), len(text) // 8):
                sink.write(text[start : start + len(text) // 8])
                sink.flush()
                os.fsync(sink.fileno())
                await asyncio.sleep(settings.file_min_age_s / 10)
                assert await client.xlen(topology.ingested) == 0
        entries = await eventually(lambda: read_stream(client, topology.ingested), lambda e: len(e) == 1)
        await asyncio.sleep(settings.rescan_interval_s * 2)
        assert await client.xlen(topology.ingested) == 1
    await client.aclose()
    assert entries[0]["file_name"] == "growing.txt"
    assert entries[0]["size_bytes"] == len(text)
    assert sorted(p.name for p in settings.inbox.iterdir() if p.is_file()) == sorted(
        [".hidden.txt", "copy.tmp", "download.part", "~lock.txt"]
    )


async def _exists(path: Path) -> bool:
    return path.exists()


async def test_two_replicas_on_one_inbox_publish_each_file_once(settings: Settings) -> None:
    topology = Topology(settings.stream_prefix)
    settings.inbox.mkdir(parents=True)
    for n in range(60):
        (settings.inbox / f"{n:02d}.txt").write_text(
            f"第{n}篇：全市建成新时代文明实践站{n}个。", encoding="utf-8"
        )
    client = aioredis.from_url(settings.require_redis_url())
    replicas = [settings.model_copy(update={"consumer_name": f"ingest-{n}"}) for n in range(2)]
    async with TestApp(create_app(replicas[0])), TestApp(create_app(replicas[1])):
        await eventually(lambda: _exists_count(settings.inbox / "done"), lambda n: n == 60, timeout=30)
        await asyncio.sleep(settings.rescan_interval_s * 2)
        entries = await read_stream(client, topology.ingested)
        letters = await read_stream(client, topology.dead_letter)
    await client.aclose()
    assert sorted(e["file_name"] for e in entries) == sorted(f"{n:02d}.txt" for n in range(60))
    assert letters == []


async def test_claims_left_by_a_killed_replica_or_a_failed_publish_do_not_hold_files_back(
    settings: Settings,
) -> None:
    topology = Topology(settings.stream_prefix)
    settings = settings.model_copy(update={"consumer_name": "ingest-now"})
    settings.inbox.mkdir(parents=True)
    client = aioredis.from_url(settings.require_redis_url())
    for name, claimant in (
        ("killed.txt", "ingest-killed"),
        ("ours.txt", "ingest-now"),
        ("busy.txt", "ingest-busy"),
    ):
        (settings.inbox / name).write_text(f"{name}：全市建成新时代文明实践站8个。", encoding="utf-8")
        await client.set(f"{settings.stream_prefix}:ingest-claim:{name}", claimant, ex=60)
    # A replica that still beats is working on its file: left to it.
    await client.set(heartbeat_key(settings.stream_prefix, "ingest", "ingest-busy"), "{}", ex=60)
    async with TestApp(create_app(settings)):
        entries = await eventually(lambda: read_stream(client, topology.ingested), lambda e: len(e) == 2)
        await asyncio.sleep(settings.rescan_interval_s * 2)
        assert len(await read_stream(client, topology.ingested)) == 2
    await client.aclose()
    assert sorted(e["file_name"] for e in entries) == ["killed.txt", "ours.txt"]
    assert (settings.inbox / "busy.txt").exists()


async def _exists_count(folder: Path) -> int:
    return len(list(folder.iterdir())) if folder.exists() else 0
