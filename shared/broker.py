"""Broker setup shared by every stage: the broker, consumer groups, subscriptions, publishing."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import anyio
import redis.asyncio as aioredis
from faststream.redis import RedisBroker, RedisStreamMessage, StreamSub
from pydantic import BaseModel, ValidationError
from redis.asyncio.client import Pipeline
from redis.exceptions import ResponseError

from shared.content_store import ContentStore
from shared.contracts import DeadLetter
from shared.references import Detached, MissingContent, by_reference, references, resolved
from shared.settings import Settings
from shared.streams import Topology, dead_letter_counter

log = logging.getLogger(__name__)

ContractT = TypeVar("ContractT", bound=BaseModel)
MAX_DELIVERIES = 5


def build_broker(settings: Settings) -> RedisBroker:
    """A broker on the configured Redis; connects when the app starts."""
    # Per-message "Received/Processed" lines go to DEBUG: at INFO they drown what matters.
    return RedisBroker(settings.require_redis_url(), logger=log, log_level=logging.DEBUG)


async def ensure_consumer_groups(redis_url: str, pairs: Iterable[tuple[str, str]]) -> None:
    """Create each group at the stream's start before anyone consumes.

    faststream creates a missing group at `$`, which silently skips every entry
    published before the subscriber first started.
    """
    client = aioredis.from_url(redis_url)
    try:
        for stream, group in pairs:
            try:
                await client.xgroup_create(name=stream, groupname=group, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
    finally:
        await client.aclose()


async def register_consumer(redis_url: str, pairs: Iterable[tuple[str, str]], consumer: str) -> None:
    """Join the groups at start: Redis lists a consumer only once it has read, so an idle stage
    would otherwise look like one with nobody reading."""
    client = aioredis.from_url(redis_url)
    try:
        for stream, group in pairs:
            await client.xgroup_createconsumer(stream, group, consumer)
    finally:
        await client.aclose()


async def retire_consumer(redis_url: str, pairs: Iterable[tuple[str, str]], consumer: str) -> None:
    """On a clean stop, leave the group if nothing is pending, so `wenming lag` lists live replicas only."""
    client = aioredis.from_url(redis_url)
    try:
        for stream, group in pairs:
            mine = await client.xpending_range(
                stream, group, min="-", max="+", count=1, consumername=consumer
            )
            if not mine:
                await client.xgroup_delconsumer(stream, group, consumer)
    except ResponseError:
        log.debug("consumer %s not retired", consumer, exc_info=True)
    finally:
        await client.aclose()


def batch_subscription(settings: Settings, stream: str, group: str) -> StreamSub:
    """Read new entries in batches through the stage's group, as this replica."""
    return StreamSub(
        stream,
        group=group,
        consumer=settings.consumer_name,
        batch=True,
        max_records=settings.batch_size,
        polling_interval=500,
    )


def reclaim_subscription(settings: Settings, stream: str, group: str) -> StreamSub:
    """Claim entries left pending too long by a replica that died or failed transiently."""
    return StreamSub(
        stream,
        group=group,
        consumer=settings.consumer_name,
        min_idle_time=settings.reclaim_idle_ms,
        polling_interval=max(1_000, settings.reclaim_idle_ms // 4),
    )


async def gave_up(
    broker: RedisBroker,
    pipe: Pipeline,
    message: RedisStreamMessage,
    raw: Any,
    *,
    stage: str,
    topology: Topology,
) -> bool:
    """Dead-letter an entry that keeps failing, so one poison message cannot loop forever."""
    deliveries = await message.get_delivery_count()
    if deliveries <= MAX_DELIVERIES:
        return False
    reason = f"{stage} failed {deliveries - 1} times on this message; the {stage} logs say why"
    await publish_all(broker, pipe, [(topology.dead_letter, dead_letter(stage, reason, raw))])
    return True


def parse_contracts(
    model: type[ContractT], raw_messages: Sequence[Any]
) -> tuple[list[ContractT], list[tuple[Any, str]]]:
    """Split raw messages into valid contracts and (message, reason) pairs for the dead-letter stream."""
    valid: list[ContractT] = []
    invalid: list[tuple[Any, str]] = []
    for raw in raw_messages:
        try:
            valid.append(model.model_validate(raw))
        except ValidationError as exc:
            invalid.append((raw, f"not a valid {model.__name__}: {exc.errors()[0]['msg']}"))
    return valid, invalid


async def publish_all(broker: RedisBroker, pipe: Pipeline, messages: Iterable[tuple[str, BaseModel]]) -> None:
    """Publish many messages in one round trip, dead letters counted; raises if Redis refused any."""
    count = 0
    for stream, message in messages:
        await broker.publish(message, stream=stream, pipeline=pipe)
        if isinstance(message, DeadLetter):  # the stream is trimmed once stored: count them apart
            await pipe.incr(dead_letter_counter(stream))
        count += 1
    if count:
        await pipe.execute()


@asynccontextmanager
async def every(
    interval_s: float, action: Callable[[], Awaitable[None]], *, at_start: bool = False
) -> AsyncIterator[None]:
    """Run `action` every `interval_s` while the context lasts.

    Stopped by an event, never by cancelling: redis-py may swallow a cancellation that lands
    mid-command, and a loop that outlives its context would hang the handler that awaits it.
    """
    stop = asyncio.Event()

    async def loop() -> None:
        if at_start:
            await action()
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)
                return
            await action()

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait({task}, timeout=interval_s + 10)


@asynccontextmanager
async def keep_trimmed(
    redis_url: str, streams: Sequence[str], interval_s: float = 5.0
) -> AsyncIterator[None]:
    """Trim what every group has acknowledged, in the background, for as long as the context lasts."""
    client = aioredis.from_url(redis_url)

    async def trim_all() -> None:
        for stream in streams:
            try:
                await trim_consumed(client, stream)
            except (aioredis.RedisError, OSError):  # retried next time
                log.debug("trimming %s failed", stream, exc_info=True)

    try:
        async with every(interval_s, trim_all):
            yield
    finally:
        await client.aclose()


async def trim_consumed(client: aioredis.Redis, stream: str) -> None:
    """Drop entries every group has acknowledged, so Redis memory follows the backlog, not history."""
    groups = await client.xinfo_groups(stream)
    if not groups:
        return
    floor: str | None = None
    for group in groups:
        pending = await client.xpending(stream, group["name"])
        oldest_pending = pending.get("min")
        candidate = (
            _decode(oldest_pending) if oldest_pending else _next_id(_decode(group["last-delivered-id"]))
        )
        if floor is None or _id_key(candidate) < _id_key(floor):
            floor = candidate
    if floor is not None:
        await client.xtrim(stream, minid=floor, approximate=False)


def _decode(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def _next_id(entry_id: str) -> str:
    ms, seq = _id_key(entry_id)
    return f"{ms}-{seq + 1}"


async def transform_batch(
    broker: RedisBroker,
    pipe: Pipeline,
    raw_messages: Sequence[Any],
    model: type[ContractT],
    transform: Callable[[ContractT], BaseModel],
    *,
    stage: str,
    topology: Topology,
    target: str,
    limiter: anyio.CapacityLimiter,
    contents: ContentStore,
    inline_bytes: int,
) -> None:
    """Validate a batch, transform each document with pure logic, and publish the results in one go.

    Referenced texts are fetched before the transform and results over `inline_bytes` published by
    reference. Bad data (an invalid message, a text no longer kept, a document the logic rejects)
    becomes a dead letter and is acknowledged with the batch; a Redis error leaves the whole batch
    pending, to be reclaimed.
    """
    parsed, invalid = parse_contracts(model, raw_messages)
    outgoing: list[tuple[str, BaseModel]] = [
        (topology.dead_letter, dead_letter(stage, reason, raw)) for raw, reason in invalid
    ]
    fetched = await contents.fetch(ref.key for document in parsed for ref in references(document))
    valid: list[ContractT] = []
    for document in parsed:
        try:
            valid.append(resolved(document, fetched))
        except MissingContent as exc:
            letter = dead_letter(stage, str(exc), doc_id=document_id(document), file_name=file_name(document))
            outgoing.append((topology.dead_letter, letter))
    held = set(fetched)
    fetched.clear()  # the JSON of a large document's texts is not kept through the transform
    key_prefix = topology.contents

    def transform_all() -> list[tuple[str, Detached[Any]]]:
        results: list[tuple[str, Detached[Any]]] = []
        for document in valid:
            try:
                result = transform(document)
            except Exception as exc:  # the logic is pure: a failure is about this document, not the system
                log.exception("%s failed on %s", stage, getattr(document, "file_name", "?"))
                reason = f"{stage} failed: {type(exc).__name__}: {exc}"
                named = {"doc_id": document_id(document), "file_name": file_name(document)}
                results.append((topology.dead_letter, Detached(dead_letter(stage, reason, **named), {})))
                continue
            results.append((target, by_reference(result, inline_bytes=inline_bytes, key_prefix=key_prefix)))
        return results

    # One hop to a worker thread per batch: the event loop stays free for reads, acks and shutdown.
    results = await anyio.to_thread.run_sync(transform_all, limiter=limiter)
    contents.keep(pipe, (detached for _, detached in results), held=held)
    outgoing.extend((stream, detached.message) for stream, detached in results)
    await publish_all(broker, pipe, outgoing)


def document_id(document: BaseModel) -> str | None:
    return _str_or_none(getattr(document, "doc_id", None))


def file_name(document: BaseModel) -> str | None:
    return _str_or_none(getattr(document, "file_name", None))


def dead_letter(
    stage: str, reason: str, raw: Any = None, *, doc_id: str | None = None, file_name: str | None = None
) -> DeadLetter:
    """A dead letter naming what failed, as far as the message lets us tell."""
    if isinstance(raw, dict):
        doc_id = doc_id or _str_or_none(raw.get("doc_id"))
        file_name = file_name or _str_or_none(raw.get("file_name"))
    return DeadLetter(
        stage=stage, doc_id=doc_id, file_name=file_name, reason=reason, failed_at=datetime.now(UTC)
    )


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


class Heartbeat:
    """Tells `wenming lag` that this replica is alive, and the last error it met, if any.

    Redis keeps a consumer listed after its process is killed, so the consumer list alone
    cannot tell a live stage from a dead one; a key that expires unless renewed can.
    """

    TTL_S = 15
    EVERY_S = 5.0

    def __init__(self, client: aioredis.Redis, *, prefix: str, stage: str, consumer: str) -> None:
        self._client = client
        self.key = heartbeat_key(prefix, stage, consumer)
        self.last_error: str | None = None

    def record_error(self, error: BaseException) -> None:
        first_line = (str(error).splitlines() or [""])[0][:300]
        self.last_error = f"{datetime.now(UTC):%H:%M:%S} {type(error).__name__}: {first_line}"

    def clear_error(self) -> None:
        self.last_error = None

    async def beat(self) -> None:
        try:
            await self._client.set(self.key, json.dumps({"last_error": self.last_error}), ex=self.TTL_S)
        except (aioredis.RedisError, OSError):
            log.debug("heartbeat not written", exc_info=True)


def heartbeat_key(prefix: str, stage: str, consumer: str) -> str:
    return f"{prefix}:heartbeat:{stage}:{consumer}"


@asynccontextmanager
async def beating(redis_url: str, *, prefix: str, stage: str, consumer: str) -> AsyncIterator[Heartbeat]:
    """A heartbeat for as long as the context lasts; removed on a clean stop."""
    client = aioredis.from_url(redis_url)
    heartbeat = Heartbeat(client, prefix=prefix, stage=stage, consumer=consumer)
    try:
        async with every(Heartbeat.EVERY_S, heartbeat.beat, at_start=True):
            yield heartbeat
    finally:
        with contextlib.suppress(aioredis.RedisError, OSError):
            await client.delete(heartbeat.key)
        await client.aclose()


@asynccontextmanager
async def keep_claimed(
    client: aioredis.Redis,
    stream: str,
    group: str,
    consumer: str,
    entry_ids: Sequence[bytes | str],
    every_s: float,
) -> AsyncIterator[None]:
    """While a batch is being worked on, keep its entries fresh, so no replica reclaims live work.

    XCLAIM with JUSTID to ourselves resets an entry's idle time without counting a delivery.
    """

    async def refresh() -> None:
        with contextlib.suppress(aioredis.RedisError, OSError):
            await client.xclaim(stream, group, consumer, 0, list(entry_ids), justid=True)

    async with every(every_s, refresh):
        yield
