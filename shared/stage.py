"""The one wiring of every consuming stage: batches in through its groups, reclaim of stale work, results out.

What differs between stages is data, given as a `ConsumingStage`: the streams it reads and what it
does with a part of a batch from each, the heavy resource it builds once, the servers besides Redis
whose failures are waited out rather than blamed on the documents, and how often an entry may end
the process before it is given up. How the entries are handled is shared/handling.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import anyio
import redis.asyncio as aioredis
from faststream.middlewares import AckPolicy
from faststream.redis import RedisBroker
from faststream.redis.annotations import RedisBatchStreamMessage
from pydantic import BaseModel

from shared.content_store import ContentStore
from shared.handling import Handle, InputWork, Retrying, StageContext, StopRequested, TakingBack
from shared.logic_thread import LogicStuck, LogicThread
from shared.metrics import StageMetrics
from shared.servers import Server, StageApp, Watch, redis_server, wait_for_redis
from shared.settings import Settings
from shared.streaming.groups import (
    batch_subscription,
    ensure_consumer_groups,
    keep_tidy,
    register_consumer,
    retire_consumer,
)
from shared.streaming.liveness import beating
from shared.streaming.publishing import Outgoing, build_broker
from shared.streaming.reclaim import Reclaimer
from shared.streams import Topology
from shared.transform import transform_batch

InT = TypeVar("InT", bound=BaseModel)
ResourceT = TypeVar("ResourceT")
log = logging.getLogger(__name__)

# Three, not one: a process killed by something else (a redeploy, the OOM killer making room) while
# it handled the entry must not condemn it.
CRASH_CAP = 3
# As faststream's graceful_timeout for the batch in hand.
STOP_GRACE_S = 15.0


@dataclass(frozen=True)
class StageInput(Generic[ResourceT]):
    """A stream the stage reads, through its group, and what it does with a part of a batch from it."""

    stream: Callable[[Topology], str]
    handle: Handle[ResourceT]


def _no_servers(_settings: Settings) -> Sequence[Server]:
    return ()


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
    # Servers besides Redis whose failures (their `is_away`) are retried in place, not blamed on a document.
    servers: Callable[[Settings], Sequence[Server]] = _no_servers
    # Attempts on an entry alone that may end the process before the entry is dead-lettered as the
    # cause; None: never given up.
    crash_cap: int | None = CRASH_CAP


def create_stage_app(settings: Settings, stage: ConsumingStage[Any]) -> StageApp:
    """Wire a consuming stage: per input, batches through its group, and entries taken back first."""
    topology = Topology(settings.stream_prefix)
    inputs = [(spec.stream(topology), spec) for spec in stage.inputs]
    metrics = StageMetrics(stage.name, inputs=[stream for stream, _ in inputs])
    broker = build_broker(settings, metrics)
    redis_url = settings.require_redis_url()
    consumer = settings.consumer_name
    groups = [(stream, stage.name) for stream, _ in inputs]
    # One watch per server for the whole process: each outage is logged once, not once per task.
    watches = [Watch(redis_server(redis_url)), *(Watch(server) for server in stage.servers(settings))]
    works: dict[str, InputWork] = {}
    reclaimers: dict[str, Reclaimer] = {}
    inherited: dict[str, list[Any]] = {}
    tasks: list[asyncio.Task[None]] = []

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        await wait_for_redis(redis_url, stopping=app.stopping)
        # Every server before joining the groups: a stage stopped while it waits leaves no consumer behind.
        resource = await stage.open_resource(settings, app.stopping)
        async with AsyncExitStack() as cleanup:
            cleanup.callback(stage.close_resource, resource)
            await ensure_consumer_groups(redis_url, topology.consumer_groups())
            client = aioredis.from_url(redis_url)
            cleanup.push_async_callback(client.aclose)
            await register_consumer(redis_url, groups, consumer)
            cleanup.push_async_callback(retire_consumer, redis_url, groups, consumer)
            heartbeat = await cleanup.enter_async_context(
                beating(redis_url, prefix=settings.stream_prefix, stage=stage.name, consumer=consumer)
            )
            await cleanup.enter_async_context(
                keep_tidy(
                    redis_url, groups, prefix=settings.stream_prefix, gone_after_ms=settings.reclaim_idle_ms
                )
            )
            retrying = Retrying(watches, stopping=app.stopping, heartbeat=heartbeat)
            contents = ContentStore(client, ttl_s=settings.reference_ttl_s)
            context = StageContext(
                stage.name, settings, topology, broker, contents, retrying, heartbeat.working, metrics
            )
            for stream, spec in inputs:
                works[stream] = InputWork(
                    stage=stage.name,
                    crash_cap=stage.crash_cap,
                    stream=stream,
                    handle=spec.handle,
                    context=context,
                    resource=resource,
                    heartbeat=heartbeat,
                    client=client,
                    stopping=app.stopping,
                    on_stuck=stuck,
                )
                reclaimers[stream] = Reclaimer(
                    client,
                    stream=stream,
                    group=stage.name,
                    consumer=consumer,
                    prefix=settings.stream_prefix,
                    idle_ms=settings.reclaim_idle_ms,
                    count=settings.batch_size,
                    message_format=broker.config.message_format,
                )
                # Before the subscribers read: what is pending under our name now was left by a
                # process of the same name that died.
                inherited[stream] = await reclaimers[stream].inherited()
            yield

    app = StageApp(broker, lifespan=lifespan, metrics=metrics)

    def stuck(error: LogicStuck) -> None:
        log.critical("%s: %s; stopping, to be restarted with a thread of its own", stage.name, error)
        app.exit()

    @app.after_startup
    async def start_reclaiming() -> None:
        for stream, work in works.items():
            taking_back = TakingBack(work, reclaimers[stream], stopping=app.stopping)
            tasks.append(asyncio.create_task(taking_back.run(inherited.pop(stream))))

    @app.on_shutdown
    async def stop_reclaiming() -> None:
        app.stopping.set()  # also ends retries in progress: their entries stay pending
        # The entry in hand may finish, within the time faststream gives a batch; the rest stay pending.
        if tasks:
            _, unfinished = await asyncio.wait(tasks, timeout=STOP_GRACE_S)
            for task in unfinished:
                task.cancel()

    for stream, _ in inputs:
        _subscribe(broker, settings, stage.name, stream, works)
    return app


def _subscribe(
    broker: RedisBroker, settings: Settings, stage: str, stream: str, works: dict[str, InputWork]
) -> None:
    """Read new entries of `stream` in batches through the stage's group."""

    # Acknowledged by the wiring itself, with retries: faststream's own XACK would only repeat it.
    @broker.subscriber(stream=batch_subscription(settings, stream, stage), ack_policy=AckPolicy.MANUAL)
    async def on_batch(raw: list[Any], message: RedisBatchStreamMessage) -> None:
        all_done = False
        # Stopping: the entries stay pending.
        with contextlib.suppress(StopRequested, LogicStuck):
            all_done = await works[stream].batch(raw, message.raw_message["message_ids"])
        if not all_done:  # no XACK (a Redis stream message's nack sends none): for the metrics only
            await message.nack()


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

        async def handle(raw: list[Any], resource: ResourceT, context: StageContext) -> Outgoing:
            def transform(document: InT) -> BaseModel:
                return self.transform(document, resource)

            return await transform_batch(
                raw,
                self.model,
                transform,
                stage=self.name,
                topology=context.topology,
                target=self.target(context.topology),
                logic=logic,
                contents=context.contents,
                inline_bytes=context.settings.inline_text_bytes,
                working=context.working,
            )

        return ConsumingStage(
            name=self.name, inputs=(StageInput(self.source, handle),), open_resource=open_resource
        )


def create_transform_app(settings: Settings, stage: TransformStage[Any, Any]) -> StageApp:
    """Wire a transforming stage: batches in through its group, reclaim of stale work, results out."""
    return create_stage_app(settings, stage.consuming(settings))
