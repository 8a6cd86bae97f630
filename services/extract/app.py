"""extract stage: find every figure in a normalized document."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from faststream import Context, FastStream
from faststream.redis.annotations import Pipeline, Redis, RedisStreamMessage

from services.extract.extractor import EXTRACTOR_VERSION, Extractor
from shared.broker import (
    TrimSchedule,
    batch_subscription,
    build_broker,
    ensure_consumer_groups,
    gave_up,
    reclaim_subscription,
    retire_consumer,
    transform_batch,
)
from shared.contracts import DocumentExtracted, DocumentNormalized
from shared.settings import Settings
from shared.streams import Topology

STAGE = "extract"


def extract_document(document: DocumentNormalized, extractor: Extractor) -> DocumentExtracted:
    """Translate a normalized document into its metadata and figures."""
    metadata, metrics = extractor.extract(
        document.text,
        original=document.original_text,
        offsets=document.offsets,
        sections=document.sections,
    )
    return DocumentExtracted(
        doc_id=document.doc_id,
        file_name=document.file_name,
        original_text=document.original_text,
        text=document.text,
        script=document.script,
        encoding=document.encoding,
        format=document.format,
        size_bytes=document.size_bytes,
        metadata=metadata,
        metrics=tuple(metrics),
        extractor_version=EXTRACTOR_VERSION,
        ingested_at=document.ingested_at,
    )


def create_app(settings: Settings) -> FastStream:
    """Wire the extract stage: normalized stream in, extracted stream out."""
    broker = build_broker(settings)
    topology = Topology(settings.stream_prefix)
    trims = TrimSchedule()
    source = topology.normalized

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        await ensure_consumer_groups(settings.require_redis_url(), topology.consumer_groups())
        app.context.set_global("extractor", Extractor(resolve_relative_years=settings.resolve_relative_years))
        yield
        await retire_consumer(settings.require_redis_url(), [(source, STAGE)], settings.consumer_name)

    app = FastStream(broker, lifespan=lifespan)

    async def run(raw: list[Any], pipe: Any, extractor: Extractor) -> None:
        await transform_batch(
            broker,
            pipe,
            raw,
            DocumentNormalized,
            lambda d: extract_document(d, extractor),
            stage=STAGE,
            topology=topology,
            target=topology.extracted,
        )

    @broker.subscriber(stream=batch_subscription(settings, source, STAGE))
    async def on_normalized(
        raw: list[Any], pipe: Pipeline, redis: Redis, extractor: Extractor = Context()
    ) -> None:
        await run(raw, pipe, extractor)
        await trims.trim(redis, source)

    @broker.subscriber(stream=reclaim_subscription(settings, source, STAGE))
    async def on_reclaimed(
        raw: Any, pipe: Pipeline, message: RedisStreamMessage, extractor: Extractor = Context()
    ) -> None:
        if not await gave_up(broker, pipe, message, raw, stage=STAGE, topology=topology):
            await run([raw], pipe, extractor)

    return app
