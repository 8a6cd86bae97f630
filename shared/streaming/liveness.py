"""Liveness: heartbeats that tell a live replica from a killed one, and work in hand kept claimed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import redis.asyncio as aioredis

log = logging.getLogger(__name__)


@asynccontextmanager
async def every(
    interval_s: float,
    action: Callable[[], Awaitable[None]],
    *,
    at_start: bool = False,
    wake: asyncio.Event | None = None,
) -> AsyncIterator[None]:
    """Run `action` every `interval_s` while the context lasts, and at once whenever `wake` is set.

    Stopped by an event, never by cancelling: redis-py may swallow a cancellation that lands
    mid-command, and a loop that outlives its context would hang the handler that awaits it.
    """
    stop = asyncio.Event()

    async def loop() -> None:
        if at_start:
            await action()
        while not stop.is_set():
            waiters = [asyncio.create_task(event.wait()) for event in (stop, wake) if event is not None]
            await asyncio.wait(waiters, timeout=interval_s, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
            if stop.is_set():
                return
            if wake is not None:
                wake.clear()
            await action()

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait({task}, timeout=interval_s + 10)


class Heartbeat:
    """Tells `wenming lag` (and the other replicas) that this replica is alive, and how it fares.

    Redis keeps a consumer listed after its process is killed, so the consumer list alone cannot
    tell a live stage from a dead one; a key that expires unless renewed can. Each replica's key
    is also named in its stage's registry set, so that readers find them without scanning Redis.
    The beat carries when the replica last acknowledged work, since when it has worked on what it
    holds, and the error of its last attempts while they fail.
    """

    # Short: a killed replica's work is taken back as soon as its heartbeat has expired.
    TTL_S = 8
    EVERY_S = 2.0

    def __init__(self, client: aioredis.Redis, *, prefix: str, stage: str, consumer: str) -> None:
        self._client = client
        self.key = heartbeat_key(prefix, stage, consumer)
        self.registry = heartbeat_registry(prefix, stage)
        self.consumer = consumer
        self.last_error: str | None = None
        self.failing_since: float | None = None
        self.started_at = time.time()
        self.acked_at: float | None = None
        self.busy_since: float | None = None
        # Set when the stage starts or stops failing: said at once, not at the next beat.
        self.news = asyncio.Event()

    def record_error(self, error: BaseException) -> None:
        first_line = (str(error).splitlines() or [""])[0][:300]
        self.last_error = f"{datetime.now(UTC):%H:%M:%S} {type(error).__name__}: {first_line}"
        if self.failing_since is None:
            self.failing_since = time.time()
            self.news.set()

    def clear_error(self) -> None:
        if self.last_error is not None:
            self.news.set()
        self.last_error = None
        self.failing_since = None

    def working(self) -> None:
        """A document (or a part of a batch) is being started: progress, though nothing is done yet."""
        self.busy_since = time.time()

    def acknowledged(self) -> None:
        """Work was handed on and acknowledged."""
        self.acked_at = time.time()
        self.busy_since = None

    def state(self) -> dict[str, object]:
        return {
            "last_error": self.last_error,
            "failing_since": self.failing_since,
            "started_at": self.started_at,
            "acked_at": self.acked_at,
            "busy_since": self.busy_since,
        }

    async def beat(self) -> None:
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                pipe.set(self.key, json.dumps(self.state()), ex=self.TTL_S)
                pipe.sadd(self.registry, self.consumer)
                await pipe.execute()
        except (aioredis.RedisError, OSError):
            log.debug("heartbeat not written", exc_info=True)


def heartbeat_key(prefix: str, stage: str, consumer: str) -> str:
    return f"{prefix}:heartbeat:{stage}:{consumer}"


def heartbeat_registry(prefix: str, stage: str) -> str:
    """The set of a stage's consumers that have sent heartbeats (pruned once they are gone)."""
    return f"{prefix}:heartbeats:{stage}"


@asynccontextmanager
async def beating(redis_url: str, *, prefix: str, stage: str, consumer: str) -> AsyncIterator[Heartbeat]:
    """A heartbeat for as long as the context lasts; removed on a clean stop."""
    client = aioredis.from_url(redis_url)
    heartbeat = Heartbeat(client, prefix=prefix, stage=stage, consumer=consumer)
    try:
        async with every(Heartbeat.EVERY_S, heartbeat.beat, at_start=True, wake=heartbeat.news):
            yield heartbeat
    finally:
        with contextlib.suppress(aioredis.RedisError, OSError):
            await client.delete(heartbeat.key)
            await client.srem(heartbeat.registry, consumer)
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
