"""normalize stage: Traditional→Simplified and clean text, with a map back to the original."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from faststream import Context, FastStream
from faststream.redis.annotations import Pipeline, Redis, RedisStreamMessage

from services.normalize.normalizer import ScriptConverter, normalize_text
from services.normalize.sections import split_sections
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
from shared.contracts import DocumentIngested, DocumentNormalized
from shared.settings import Settings
from shared.streams import Topology

STAGE = "normalize"


def normalize_document(document: DocumentIngested, converter: ScriptConverter) -> DocumentNormalized:
    """Translate an ingested document into its normalized form."""
    normalized = normalize_text(document.original_text, converter)
    return DocumentNormalized(
        doc_id=document.doc_id,
        file_name=document.file_name,
        original_text=document.original_text,
        text=normalized.text,
        offsets=normalized.offsets,
        script=normalized.script,
        encoding=document.encoding,
        format=document.format,
        size_bytes=document.size_bytes,
        sections=tuple(split_sections(normalized.text)),
        ingested_at=document.ingested_at,
    )


def create_app(settings: Settings) -> FastStream:
    """Wire the normalize stage: ingested stream in, normalized stream out."""
    broker = build_broker(settings)
    topology = Topology(settings.stream_prefix)
    trims = TrimSchedule()
    source = topology.ingested

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        await ensure_consumer_groups(settings.require_redis_url(), topology.consumer_groups())
        app.context.set_global("converter", ScriptConverter())
        yield
        await retire_consumer(settings.require_redis_url(), [(source, STAGE)], settings.consumer_name)

    app = FastStream(broker, lifespan=lifespan)

    async def run(raw: list[Any], pipe: Any, converter: ScriptConverter) -> None:
        await transform_batch(
            broker,
            pipe,
            raw,
            DocumentIngested,
            lambda d: normalize_document(d, converter),
            stage=STAGE,
            topology=topology,
            target=topology.normalized,
        )

    @broker.subscriber(stream=batch_subscription(settings, source, STAGE))
    async def on_ingested(
        raw: list[Any], pipe: Pipeline, redis: Redis, converter: ScriptConverter = Context()
    ) -> None:
        await run(raw, pipe, converter)
        await trims.trim(redis, source)

    @broker.subscriber(stream=reclaim_subscription(settings, source, STAGE))
    async def on_reclaimed(
        raw: Any, pipe: Pipeline, message: RedisStreamMessage, converter: ScriptConverter = Context()
    ) -> None:
        if not await gave_up(broker, pipe, message, raw, stage=STAGE, topology=topology):
            await run([raw], pipe, converter)

    return app
