"""ingest stage: watch the inbox and publish each complete file as a document."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from faststream import FastStream

from services.ingest.watcher import InboxWatcher, Outcome
from shared.broker import build_broker, ensure_consumer_groups, publish_all
from shared.contracts import DocumentIngested
from shared.settings import Settings
from shared.streams import Topology

CLAIM_TTL_S = 300


def create_app(settings: Settings) -> FastStream:
    """Wire the ingest stage: inbox folder in, ingested (or dead-letter) stream out."""
    broker = build_broker(settings)
    topology = Topology(settings.stream_prefix)
    redis_url = settings.require_redis_url()

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        await ensure_consumer_groups(redis_url, topology.consumer_groups())
        client = aioredis.from_url(redis_url)

        async def publish(outcomes: list[Outcome]) -> None:
            async with client.pipeline(transaction=False) as pipe:
                await publish_all(
                    broker,
                    pipe,
                    [
                        (topology.ingested if isinstance(o, DocumentIngested) else topology.dead_letter, o)
                        for o in outcomes
                    ],
                )

        watcher = InboxWatcher(
            settings.inbox.absolute(),
            publish,
            min_age=settings.file_min_age_s,
            rescan_interval=settings.rescan_interval_s,
            max_bytes=settings.max_file_bytes,
        )
        watcher.prepare()  # the inbox exists as soon as the stage reports started
        app.context.set_global("watcher", watcher)
        yield
        await client.aclose()

    app = FastStream(broker, lifespan=lifespan)
    tasks: list[asyncio.Task[None]] = []

    @app.after_startup
    async def start_watching() -> None:
        tasks.append(asyncio.create_task(app.context.get("watcher").run()))

    @app.on_shutdown
    async def stop_watching() -> None:
        app.context.get("watcher").stop()
        await asyncio.gather(*tasks, return_exceptions=True)

    return app
