"""The broker every stage publishes through, and handing many messages on in one round trip."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from faststream.redis import RedisBroker
from pydantic import BaseModel
from redis.asyncio.client import Pipeline

from shared.contracts import DeadLetter
from shared.settings import Settings
from shared.streams import dead_letter_counter

log = logging.getLogger(__name__)


def build_broker(settings: Settings) -> RedisBroker:
    """A broker on the configured Redis; connects when the app starts."""
    # Per-message "Received/Processed" lines go to DEBUG: at INFO they drown what matters.
    return RedisBroker(settings.require_redis_url(), logger=log, log_level=logging.DEBUG)


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
