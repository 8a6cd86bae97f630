"""Reading what is in a stream, for assertions: inspection, not consumption."""

from __future__ import annotations

import json
from typing import Any

import redis
import redis.asyncio as aioredis
from faststream.redis.parser.binary import BinaryMessageFormatV1


async def read_stream(
    client: aioredis.Redis, stream: str, *, count: int | None = None
) -> list[dict[str, Any]]:
    """The message bodies now in a stream, oldest first (for inspection, not consumption)."""
    bodies = []
    for _, fields in await client.xrange(stream, count=count) or []:
        data = (fields or {}).get(b"__data__", b"null")
        body, _headers = BinaryMessageFormatV1.parse(data.encode() if isinstance(data, str) else data)
        bodies.append(json.loads(body))
    return bodies


def read_stream_sync(client: redis.Redis, stream: str) -> list[dict[str, Any]]:
    """read_stream for a test without an event loop."""
    bodies = []
    for _, fields in client.xrange(stream) or []:
        data = (fields or {}).get(b"__data__", b"null")
        body, _headers = BinaryMessageFormatV1.parse(data.encode() if isinstance(data, str) else data)
        bodies.append(json.loads(body))
    return bodies
