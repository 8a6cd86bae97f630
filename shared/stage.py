"""The one wiring of every consuming stage: batches in through its groups, reclaim of stale work, results out.

What differs between stages is data, given as a `ConsumingStage`: the streams it reads and what it
does with a part of a batch from each, the heavy resource it builds once, how often an entry may be
delivered before it is given up, and which errors are the servers' rather than the documents'.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import anyio
import redis.asyncio as aioredis
from faststream import Context, FastStream
from faststream.redis import RedisBroker
from faststream.redis.annotations import Pipeline, Redis, RedisBatchStreamMessage, RedisStreamMessage
from pydantic import BaseModel

from shared.content_store import ContentStore
from shared.references import document_bytes, referenced_keys, smallest_first
from shared.servers import StageApp, wait_for_redis
from shared.settings import Settings
from shared.streaming.dead_letters import MAX_DELIVERIES, gave_up
from shared.streaming.groups import (
    batch_subscription,
    ensure_consumer_groups,
    keep_trimmed,
    reclaim_subscription,
    register_consumer,
    retire_consumer,
)
from shared.streaming.liveness import Heartbeat, beating, keep_claimed
from shared.streaming.publishing import build_broker
from shared.streams import Topology
from shared.transform import transform_batch

InT = TypeVar("InT", bound=BaseModel)
ResourceT = TypeVar("ResourceT")


@dataclass(frozen=True)
class StageContext:
    """What a handler hands its results on with."""

    stage: str
    settings: Settings
    topology: Topology
    broker: RedisBroker
    contents: ContentStore


# A part of a batch (raw messages), the pipeline to publish in, the stage's resource, its context.
Handle = Callable[[list[Any], Any, ResourceT, StageContext], Awaitable[None]]


@dataclass(frozen=True)
class StageInput(Generic[ResourceT]):
    """A stream the stage reads, through its group, and what it does with a part of a batch from it."""

    stream: Callable[[Topology], str]
    handle: Handle[ResourceT]


def _never(_error: BaseException) -> bool:
    return False


def _nothing(_resource: object) -> None:
    return None


@dataclass(frozen=True)
class ConsumingStage(Generic[ResourceT]):
    """What a consuming stage is; `create_stage_app` wires it."""

    name: str
    inputs: tuple[StageInput[ResourceT], ...]
    # Built once per process in the lifespan, waiting for the servers it needs (told to stop: the event).
    open_resource: Callable[[Settings, asyncio.Event], Awaitable[ResourceT]]
    close_resource: Callable[[ResourceT], None] = _nothing
    # Deliveries after which a reclaimed entry is dead-lettered; None: never given up.
    delivery_cap: int | None = MAX_DELIVERIES
    # Errors of a server rather than of the documents: the batch waits a moment before it is retried.
    is_transient: Callable[[BaseException], bool] = _never
    transient_backoff_s: float = 2.0


def create_stage_app(settings: Settings, stage: ConsumingStage[Any]) -> FastStream:
    """Wire a consuming stage: per input, batches through its group and reclaim of stale work."""
    broker = build_broker(settings)
    topology = Topology(settings.stream_prefix)
    redis_url = settings.require_redis_url()
    consumer = settings.consumer_name
    inputs = [(spec.stream(topology), spec) for spec in stage.inputs]
    groups = [(stream, stage.name) for stream, _ in inputs]

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        await wait_for_redis(redis_url, stopping=app.stopping)
        # Every server before joining the groups: a stage stopped while it waits leaves no consumer behind.
        resource = await stage.open_resource(settings, app.stopping)
        async with AsyncExitStack() as cleanup:
            cleanup.callback(stage.close_resource, resource)
            await ensure_consumer_groups(redis_url, topology.consumer_groups())
            app.context.set_global("resource", resource)
            client = aioredis.from_url(redis_url)
            cleanup.push_async_callback(client.aclose)
            contents = ContentStore(client, ttl_s=settings.reference_ttl_s)
            context = StageContext(stage.name, settings, topology, broker, contents)
            app.context.set_global("stage_context", context)
            await register_consumer(redis_url, groups, consumer)
            cleanup.push_async_callback(retire_consumer, redis_url, groups, consumer)
            heartbeat = await cleanup.enter_async_context(
                beating(redis_url, prefix=settings.stream_prefix, stage=stage.name, consumer=consumer)
            )
            await cleanup.enter_async_context(keep_trimmed(redis_url, [stream for stream, _ in groups]))
            app.context.set_global("heartbeat", heartbeat)
            yield

    app = StageApp(broker, lifespan=lifespan)
    for stream, spec in inputs:
        _subscribe(app, broker, settings, stage, stream, spec.handle)
    return app


def _subscribe(
    app: FastStream,
    broker: RedisBroker,
    settings: Settings,
    stage: ConsumingStage[Any],
    stream: str,
    handle: Handle[Any],
) -> None:
    """Read `stream` in batches through the stage's group, and take back entries left pending too long."""
    refresh_s = settings.reclaim_idle_ms / 1000 / 3

    async def run(raw: list[Any], pipe: Any, redis: Any, ids: list[bytes], resource: Any) -> None:
        heartbeat: Heartbeat = app.context.get("heartbeat")
        context: StageContext = app.context.get("stage_context")
        try:
            async with keep_claimed(redis, stream, stage.name, settings.consumer_name, ids, refresh_s):
                # Bounded by bytes, smallest first; each part acknowledged (texts released) once handed on.
                sizes = [document_bytes(item) for item in raw]
                for part in smallest_first(sizes, settings.batch_bytes):
                    await handle([raw[i] for i in part], pipe, resource, context)
                    done = [(ids[i], referenced_keys(raw[i])) for i in part]
                    await context.contents.acknowledge(stream, stage.name, done)
        except Exception as exc:  # left pending and retried; `wenming lag` shows why meanwhile
            heartbeat.record_error(exc)
            if stage.is_transient(exc):  # a server, not the documents: not at full speed
                await asyncio.sleep(stage.transient_backoff_s)
            raise
        heartbeat.clear_error()

    @broker.subscriber(stream=batch_subscription(settings, stream, stage.name))
    async def on_batch(
        raw: list[Any],
        pipe: Pipeline,
        redis: Redis,
        message: RedisBatchStreamMessage,
        resource: Any = Context(),
    ) -> None:
        await run(raw, pipe, redis, message.raw_message["message_ids"], resource)

    @broker.subscriber(stream=reclaim_subscription(settings, stream, stage.name))
    async def on_reclaimed(
        raw: Any, pipe: Pipeline, redis: Redis, message: RedisStreamMessage, resource: Any = Context()
    ) -> None:
        entry_ids = message.raw_message["message_ids"]
        context: StageContext = app.context.get("stage_context")
        cap = stage.delivery_cap
        if cap is not None and await gave_up(
            broker, pipe, message, raw, stage=stage.name, topology=context.topology, cap=cap
        ):
            await context.contents.acknowledge(stream, stage.name, [(entry_ids[0], referenced_keys(raw))])
        else:
            await run([raw], pipe, redis, entry_ids, resource)


class TransformStage(Generic[InT, ResourceT]):
    """A stage of pure logic: one stream in, a transform per document with a heavy resource, one out."""

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

    def consuming(self) -> ConsumingStage[ResourceT]:
        """The stage as the one wiring takes it: no server but Redis, every failure of the logic bad data."""
        # The logic is CPU-bound and not thread-safe: one document at a time, off the event loop.
        one_at_a_time = anyio.CapacityLimiter(1)

        async def open_resource(settings: Settings, _stopping: asyncio.Event) -> ResourceT:
            return await anyio.to_thread.run_sync(self.build_resource, settings)

        async def handle(raw: list[Any], pipe: Any, resource: ResourceT, context: StageContext) -> None:
            def transform(document: InT) -> BaseModel:
                return self.transform(document, resource)

            await transform_batch(
                context.broker,
                pipe,
                raw,
                self.model,
                transform,
                stage=self.name,
                topology=context.topology,
                target=self.target(context.topology),
                limiter=one_at_a_time,
                contents=context.contents,
                inline_bytes=context.settings.inline_text_bytes,
            )

        return ConsumingStage(
            name=self.name, inputs=(StageInput(self.source, handle),), open_resource=open_resource
        )


def create_transform_app(settings: Settings, stage: TransformStage[Any, Any]) -> FastStream:
    """Wire a transforming stage: batches in through its group, reclaim of stale work, results out."""
    return create_stage_app(settings, stage.consuming())
