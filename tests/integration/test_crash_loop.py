"""A poison message is told from a crashing process: only what kills the stage on its own is given up.

The stage runs as a process of its own whose logic kills it (SIGKILL) on a marked document; the
test restarts it each time it dies, as `wenming up` or Kubernetes would.
"""

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
from faststream.redis import RedisBroker

from shared.contracts import DocumentIngested
from shared.streaming.groups import ensure_consumer_groups
from shared.streams import Topology, isolated_attempts_key
from tests.support.poison_stage import POISON
from tests.support.servers import stop
from tests.support.streams import read_stream_sync

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _document(n: int, text: str) -> DocumentIngested:
    return DocumentIngested(
        doc_id=f"{n:064x}",
        file_name=f"doc{n}.txt",
        original_text=text,
        encoding="utf-8",
        format="txt",
        size_bytes=len(text.encode()),
        ingested_at=datetime.now(UTC),
    )


async def _publish(redis_url: str, stream: str, documents: list[DocumentIngested]) -> None:
    async with RedisBroker(redis_url) as broker:
        for document in documents:
            await broker.publish(document, stream=stream)


def test_a_poison_message_is_dead_lettered_and_the_batch_it_killed_is_not(
    redis_url: str, stream_prefix: str, tmp_path: Path
) -> None:
    topology = Topology(stream_prefix)
    asyncio.run(ensure_consumer_groups(redis_url, topology.consumer_groups()))
    client = redis.Redis.from_url(redis_url)
    good = [_document(n, f"第{n}篇：志願者{n}萬名。") for n in range(10)]
    poison = _document(99, f"志願者{POISON}萬名。")
    # One batch, the poison in its middle.
    asyncio.run(_publish(redis_url, topology.ingested, [*good[:5], poison, *good[5:]]))
    env = {
        **os.environ,
        "WENMING_REDIS_URL": redis_url,
        "WENMING_STREAM_PREFIX": stream_prefix,
        "WENMING_RECLAIM_IDLE_MS": "1000",
    }
    kills = 0
    deadline = time.monotonic() + 120
    log_file = tmp_path / "normalize.log"
    while not client.xlen(topology.dead_letter) and time.monotonic() < deadline:
        with log_file.open("ab") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "tests.support.poison_stage"],
                cwd=ROOT,
                env=env,
                stdout=sink,
                stderr=sink,
            )
        while (
            process.poll() is None and not client.xlen(topology.dead_letter) and time.monotonic() < deadline
        ):
            time.sleep(0.2)
        if process.returncode is not None:
            kills += 1
    try:
        deadline = time.monotonic() + 30
        while client.xpending(topology.ingested, "normalize")["pending"] and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        stop(process)
    normalized = read_stream_sync(client, topology.normalized)
    letters = read_stream_sync(client, topology.dead_letter)
    pending = client.xpending(topology.ingested, "normalize")["pending"]
    attempts_left = client.exists(isolated_attempts_key(topology.ingested, "normalize"))
    client.close()
    log = log_file.read_text(encoding="utf-8", errors="replace")
    assert sorted(body["doc_id"] for body in normalized) == sorted(d.doc_id for d in good), log
    assert [letter["doc_id"] for letter in letters] == [poison.doc_id], log
    assert letters[0]["reason"] == (
        "normalize crashed 3 times handling this message alone (killed each time, with no exception)"
    )
    # Killed once with the whole batch in hand, then three times with the poison alone.
    assert kills == 4, log
    assert pending == 0 and not attempts_left
