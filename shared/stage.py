"""The one wiring of every consuming stage: batches in through its groups, reclaim of stale work, results out.

What differs between stages is data, given as a `ConsumingStage`: the streams it reads and what it
does with a part of a batch from each, the heavy resource it builds once, how often an entry may be
delivered before it is given up, and which errors are the servers' rather than the documents'.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
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
from shared.logic_thread import LogicStuck, LogicThread
from shared.references import document_bytes, referenced_keys, smallest_first
from shared.servers import StageApp, wait_for_redis
from shared.settings import Settings
from shared.streaming.dead_letters import dead_letter
from shared.streaming.groups import (
    batch_subscription,
    ensure_consumer_groups,
    keep_trimmed,
    reclaim_subscription,
    register_consumer,
    retire_consumer,
)
from shared.streaming.isolation import IsolatedAttempts, PastAttempts
from shared.streaming.liveness import Heartbeat, beating, keep_claimed
from shared.streaming.publishing import build_broker, publish_all
from shared.streams import Topology
from shared.transform import transform_batch

InT = TypeVar("InT", bound=BaseModel)
ResourceT = TypeVar("ResourceT")
log = logging.getLogger(__name__)

# Three, not one: a process killed by something else (a redeploy, the OOM killer making room) while
# it handled the entry must not condemn it.
CRASH_CAP = 3


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
    # Attempts on an entry alone that may end the process before the entry is dead-lettered as the
    # cause; None: never given up.
    crash_cap: int | None = CRASH_CAP
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
            if isinstance(exc, LogicStuck):  # its thread is lost: only a new process has one again
                log.critical("%s: %s; restarting", stage.name, exc)
                app.exit()
            elif stage.is_transient(exc):  # a server, not the documents: not at full speed
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
        # Taken back from a consumer that died or failed: handled alone, so that what ends the
        # process again is this entry's doing.
        (entry_id,) = message.raw_message["message_ids"]
        if stage.crash_cap is None:
            await run([raw], pipe, redis, [entry_id], resource)
            return
        context: StageContext = app.context.get("stage_context")
        attempts = IsolatedAttempts(redis, stream, stage.name)
        past = await attempts.past(entry_id)
        if past.unfinished >= stage.crash_cap:
            letter = _crash_letter(stage.name, past, raw)
            await publish_all(broker, pipe, [(context.topology.dead_letter, letter)])
            await context.contents.acknowledge(stream, stage.name, [(entry_id, referenced_keys(raw))])
            await attempts.forget([entry_id])
            return
        await attempts.begin(entry_id)
        try:
            await run([raw], pipe, redis, [entry_id], resource)
        except asyncio.CancelledError:  # told to stop: not the entry's doing
            with contextlib.suppress(Exception):
                await attempts.withdraw(entry_id)
            raise
        except Exception as exc:
            if stage.is_transient(exc):
                await attempts.withdraw(entry_id)
            else:
                await attempts.raised(entry_id, exc)
            raise
        await attempts.forget([entry_id])


def _crash_letter(stage: str, past: PastAttempts, raw: Any) -> Any:
    """The dead letter of an entry that ended its stage's process each time it was handled alone."""
    how = f"last with {past.error_type}" if past.error_type else "killed each time, with no exception"
    reason = f"{stage} crashed {past.unfinished} times handling this message alone ({how})"
    letter = dead_letter(stage, reason, raw)
    return letter.model_copy(update={"error_type": past.error_type, "trace": past.trace})


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

    def consuming(self, settings: Settings) -> ConsumingStage[ResourceT]:
        """The stage as the one wiring takes it: no server but Redis, every failure of the logic bad data."""
        logic = LogicThread(limit_s=settings.processing_timeout_s, name=self.name)

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
                logic=logic,
                contents=context.contents,
                inline_bytes=context.settings.inline_text_bytes,
            )

        return ConsumingStage(
            name=self.name, inputs=(StageInput(self.source, handle),), open_resource=open_resource
        )


def create_transform_app(settings: Settings, stage: TransformStage[Any, Any]) -> FastStream:
    """Wire a transforming stage: batches in through its group, reclaim of stale work, results out."""
    return create_stage_app(settings, stage.consuming(settings))
