"""The shape every transforming stage shares: one stream in, pure logic per document, one stream out."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Generic, TypeVar

import anyio
import redis.asyncio as aioredis
from faststream import Context, FastStream
from faststream.redis.annotations import Pipeline, Redis, RedisBatchStreamMessage, RedisStreamMessage
from pydantic import BaseModel

from shared.broker import (
    Heartbeat,
    batch_subscription,
    beating,
    build_broker,
    ensure_consumer_groups,
    gave_up,
    keep_claimed,
    keep_trimmed,
    reclaim_subscription,
    register_consumer,
    retire_consumer,
    transform_batch,
)
from shared.content_store import ContentStore
from shared.references import document_bytes, referenced_keys, smallest_first
from shared.servers import StageApp, wait_for_redis
from shared.settings import Settings
from shared.streams import Topology

InT = TypeVar("InT", bound=BaseModel)
ResourceT = TypeVar("ResourceT")


class TransformStage(Generic[InT, ResourceT]):
    """What a stage is: its name, streams, input contract, heavy resource and pure transform."""

    def __init__(
        self,
        *,
        name: str,
        source: Callable[[Topology], str],
        target: Callable[[Topology], str],
        model: type[InT],
        build_resource: Callable[[Settings], ResourceT],
        transform: Callable[[InT, ResourceT], BaseModel],
    ) -> None:
        self.name = name
        self.source = source
        self.target = target
        self.model = model
        self.build_resource = build_resource
        self.transform = transform


def create_transform_app(settings: Settings, stage: TransformStage[Any, Any]) -> FastStream:
    """Wire a transforming stage: batches in through its group, reclaim of stale work, results out."""
    broker = build_broker(settings)
    topology = Topology(settings.stream_prefix)
    source, target = stage.source(topology), stage.target(topology)
    redis_url = settings.require_redis_url()
    # The logic is CPU-bound and not thread-safe: one document at a time, off the event loop.
    one_at_a_time = anyio.CapacityLimiter(1)
    refresh_s = settings.reclaim_idle_ms / 1000 / 3

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        await wait_for_redis(redis_url, stopping=app.stopping)
        await ensure_consumer_groups(redis_url, topology.consumer_groups())
        app.context.set_global("resource", await anyio.to_thread.run_sync(stage.build_resource, settings))
        # Joined once ready, so that a start that fails leaves no consumer behind.
        await register_consumer(redis_url, [(source, stage.name)], settings.consumer_name)
        client = aioredis.from_url(redis_url)
        app.context.set_global("contents", ContentStore(client, ttl_s=settings.reference_ttl_s))
        try:
            async with (
                keep_trimmed(redis_url, [source]),
                beating(
                    redis_url,
                    prefix=settings.stream_prefix,
                    stage=stage.name,
                    consumer=settings.consumer_name,
                ) as heartbeat,
            ):
                app.context.set_global("heartbeat", heartbeat)
                yield
        finally:
            await client.aclose()
            await retire_consumer(redis_url, [(source, stage.name)], settings.consumer_name)

    app = StageApp(broker, lifespan=lifespan)

    async def run(raw: list[Any], pipe: Any, redis: Any, entry_ids: list[bytes], resource: Any) -> None:
        def transform(document: BaseModel) -> BaseModel:
            return stage.transform(document, resource)

        heartbeat: Heartbeat = app.context.get("heartbeat")
        contents: ContentStore = app.context.get("contents")
        try:
            async with keep_claimed(redis, source, stage.name, settings.consumer_name, entry_ids, refresh_s):
                # Bounded by bytes, smallest first, each part acknowledged as soon as it is handed on.
                sizes = [document_bytes(item) for item in raw]
                for part in smallest_first(sizes, settings.batch_bytes):
                    await transform_batch(
                        broker,
                        pipe,
                        [raw[i] for i in part],
                        stage.model,
                        transform,
                        stage=stage.name,
                        topology=topology,
                        target=target,
                        limiter=one_at_a_time,
                        contents=contents,
                        inline_bytes=settings.inline_text_bytes,
                    )
                    done = [(entry_ids[i], referenced_keys(raw[i])) for i in part]
                    await contents.acknowledge(source, stage.name, done)
        except Exception as exc:  # left pending and retried; `wenming lag` shows why meanwhile
            heartbeat.record_error(exc)
            raise
        heartbeat.clear_error()

    @broker.subscriber(stream=batch_subscription(settings, source, stage.name))
    async def on_batch(
        raw: list[Any],
        pipe: Pipeline,
        redis: Redis,
        message: RedisBatchStreamMessage,
        resource: Any = Context(),
    ) -> None:
        await run(raw, pipe, redis, message.raw_message["message_ids"], resource)

    @broker.subscriber(stream=reclaim_subscription(settings, source, stage.name))
    async def on_reclaimed(
        raw: Any, pipe: Pipeline, redis: Redis, message: RedisStreamMessage, resource: Any = Context()
    ) -> None:
        entry_ids = message.raw_message["message_ids"]
        if await gave_up(broker, pipe, message, raw, stage=stage.name, topology=topology):
            contents: ContentStore = app.context.get("contents")
            await contents.acknowledge(source, stage.name, [(entry_ids[0], referenced_keys(raw))])
        else:
            await run([raw], pipe, redis, entry_ids, resource)

    return app
