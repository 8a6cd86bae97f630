"""The broker every stage publishes through, and handing many messages on in one round trip."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from faststream.redis import RedisBroker
from pydantic import BaseModel
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from shared.content_store import ContentStore
from shared.contracts import DeadLetter
from shared.metrics import StageMetrics
from shared.references import Detached
from shared.servers import redis_is_away
from shared.settings import Settings
from shared.streams import dead_letter_counter

log = logging.getLogger(__name__)


class _QuietWhileRedisAway(logging.Filter):
    """Drops faststream's traceback per failed read while Redis is away (every 5 s of an outage).

    The stage's own retries say it once, as `waiting for Redis at ...` and `Redis is back at ...`.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is None or record.getMessage() != "Message fetch error":
            return True
        return not redis_is_away(error)


log.addFilter(_QuietWhileRedisAway())


def build_broker(settings: Settings, metrics: StageMetrics | None = None) -> RedisBroker:
    """A broker on the configured Redis, counting into the stage's metrics; connects when the app starts."""
    return RedisBroker(
        settings.require_redis_url(),
        # Received, handled (acked or nacked) and published messages, and the time each took.
        middlewares=(metrics.middleware,) if metrics is not None else (),
        logger=log,
        # Per-message "Received/Processed" lines go to DEBUG: at INFO they drown what matters.
        log_level=logging.DEBUG,
    )


async def publish_all(
    broker: RedisBroker,
    pipe: Pipeline,
    messages: Iterable[tuple[str, BaseModel]],
    *,
    metrics: StageMetrics | None,
) -> None:
    """Publish many messages in one round trip, dead letters counted; raises if Redis refused any."""
    count, letters = await queue_all(broker, pipe, messages)
    if count:
        await pipe.execute()
    if metrics is not None:  # once Redis holds them: a publish retried after an outage counts once
        metrics.dead_lettered(letters)


async def queue_all(
    broker: RedisBroker, pipe: Pipeline, messages: Iterable[tuple[str, BaseModel]]
) -> tuple[int, list[DeadLetter]]:
    """Queue the messages' XADDs in `pipe` (and a count per dead letter): how many, and the dead letters."""
    count = 0
    letters: list[DeadLetter] = []
    for stream, message in messages:
        await broker.publish(message, stream=stream, pipeline=pipe)
        if isinstance(message, DeadLetter):  # the stream is trimmed once stored: count them apart
            await pipe.incr(dead_letter_counter(stream))
            letters.append(message)
        count += 1
    return count, letters


@dataclass(frozen=True)
class Outgoing:
    """What a stage hands on for a part of a batch: (stream, message) pairs, each message with the
    contents it refers to, and the content keys its input referred to (kept already)."""

    messages: list[tuple[str, Detached[Any]]] = field(default_factory=list)
    held: frozenset[str] = frozenset()

    @staticmethod
    def letters(stream: str, letters: Iterable[DeadLetter]) -> Outgoing:
        return Outgoing([(stream, Detached(letter, {})) for letter in letters])


async def publish_kept(
    broker: RedisBroker, client: Redis, contents: ContentStore, messages: Sequence[tuple[str, Detached[Any]]]
) -> list[str]:
    """Publish messages from outside a stage (a replay, a reprocess) as a stage hands them on: the
    contents they refer to kept and counted in the same MULTI as their XADDs. The new entries' ids."""
    async with client.pipeline(transaction=True) as pipe:
        contents.keep(pipe, (detached for _, detached in messages), held=())
        positions = []
        for stream, detached in messages:
            positions.append(len(pipe.command_stack))
            await broker.publish(detached.message, stream=stream, pipeline=pipe)
        results = await pipe.execute()
    return [_text(results[position]) for position in positions]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
