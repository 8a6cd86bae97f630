"""Consumer groups: created at the stream's start, joined and left by each replica, read in
batches, and their streams trimmed of what every group has acknowledged."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from faststream.redis import StreamSub
from redis.exceptions import ResponseError

from shared.settings import Settings
from shared.streaming.liveness import every, heartbeat_key, heartbeat_registry

log = logging.getLogger(__name__)


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


@asynccontextmanager
async def keep_tidy(
    redis_url: str,
    groups: Sequence[tuple[str, str]],
    *,
    prefix: str,
    gone_after_ms: int,
    interval_s: float = 5.0,
) -> AsyncIterator[None]:
    """In the background, for as long as the context lasts: trim what every group has acknowledged,
    and remove consumers gone for longer than `gone_after_ms` with nothing pending."""
    client = aioredis.from_url(redis_url)

    async def tidy() -> None:
        for stream, group in groups:
            try:
                await trim_consumed(client, stream)
                await remove_gone_consumers(client, stream, group, prefix=prefix, gone_after_ms=gone_after_ms)
            except (aioredis.RedisError, OSError):  # retried next time
                log.debug("tidying %s failed", stream, exc_info=True)

    try:
        async with every(interval_s, tidy):
            yield
    finally:
        await client.aclose()


async def remove_gone_consumers(
    client: aioredis.Redis, stream: str, group: str, *, prefix: str, gone_after_ms: int
) -> list[str]:
    """Delete the consumers that send no heartbeat, hold nothing and have been idle that long.

    Redis lists a killed consumer forever; left there, `wenming lag` would list every replica
    that ever ran. One that still holds entries stays until another replica has taken them back.
    """
    removed = []
    for consumer in await client.xinfo_consumers(stream, group):
        name = _decode(consumer["name"])
        if int(consumer["pending"]) or int(consumer["idle"]) < gone_after_ms:
            continue
        if await client.exists(heartbeat_key(prefix, group, name)):
            continue
        await client.xgroup_delconsumer(stream, group, name)
        await client.srem(heartbeat_registry(prefix, group), name)
        removed.append(name)
    if removed:
        log.info(
            "%s: removed consumers gone for over %ds: %s", group, gone_after_ms // 1000, ", ".join(removed)
        )
    return removed


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
