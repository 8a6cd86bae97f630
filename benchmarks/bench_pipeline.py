"""Throughput of a stage over real Redis: messages per second through normalize, batch vs one at a time.

Usage: python benchmarks/bench_pipeline.py [--messages 5000] [--redis-url redis://127.0.0.1:6379/0]
Without --redis-url (or WENMING_REDIS_URL) it starts the embedded Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import redis.asyncio as aioredis
from faststream import TestApp

from services.normalize.app import create_app
from shared.contracts import DocumentIngested
from shared.settings import Settings
from shared.streaming.publishing import publish_all
from shared.streams import Topology

SENTENCE = "全市注册志愿者42萬名，建成新時代文明實踐站438個，群眾滿意率達到98.5%。"


async def measure(redis_url: str, messages: int, batch_size: int) -> float:
    """Seconds for the normalize stage to turn `messages` queued documents into output."""
    settings = Settings(
        redis_url=redis_url, stream_prefix=f"bench-{uuid.uuid4().hex[:8]}", batch_size=batch_size
    )
    topology = Topology(settings.stream_prefix)
    client = aioredis.from_url(redis_url)
    app = create_app(settings)
    broker = app.broker
    now = datetime.now(UTC)
    documents = [
        DocumentIngested(
            doc_id=f"{n:064x}",
            file_name=f"{n}.txt",
            original_text=SENTENCE,
            encoding="utf-8",
            format="txt",
            size_bytes=len(SENTENCE.encode()),
            ingested_at=now,
        )
        for n in range(messages)
    ]
    async with TestApp(app):
        started = time.perf_counter()
        for start in range(0, messages, 500):
            async with client.pipeline(transaction=False) as pipe:
                await publish_all(
                    broker,
                    pipe,
                    [(topology.ingested, d) for d in documents[start : start + 500]],
                    metrics=None,
                )
        while await client.xlen(topology.normalized) < messages:
            await asyncio.sleep(0.02)
        elapsed = time.perf_counter() - started
    for stream in (topology.ingested, topology.normalized, topology.extracted, topology.dead_letter):
        await client.delete(stream)
    await client.aclose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--redis-url", default=os.environ.get("WENMING_REDIS_URL"))
    args = parser.parse_args()
    server = None
    redis_url = args.redis_url
    if not redis_url:
        from services.operate.embedded import EmbeddedRedis

        server = EmbeddedRedis(Path(tempfile.mkdtemp(prefix="bench-redis-")))
        redis_url = server.start()
    try:
        print(f"normalize stage, {args.messages} short documents, Redis at {redis_url}")
        for batch_size in (1, 16, 64, 256):
            seconds = asyncio.run(measure(redis_url, args.messages, batch_size))
            print(
                f"  batch size {batch_size:>4}: {args.messages / seconds:8.0f} messages/s ({seconds:.2f} s)"
            )
    finally:
        if server:
            server.stop()


if __name__ == "__main__":
    main()
