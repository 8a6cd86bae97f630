"""Taking back entries that another consumer of the group left pending: it died, or stalled.

Three kinds, claimed in batches, oldest first:
- inherited: pending under this consumer's own name when it starts (a replica restarted under the
  same name, as a Kubernetes pod's process is): nobody works on them;
- orphaned: pending under a consumer that no longer sends heartbeats (killed); taken as soon as
  its heartbeat has expired, not after the reclaim time;
- idle: pending untouched for longer than the reclaim time, whoever holds them (a live replica
  keeps its work in hand fresh, so these are stalled).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from faststream.redis.parser.message import MessageFormat

from shared.streaming.liveness import Heartbeat, heartbeat_key

_DATA_KEY = b"__data__"  # where faststream keeps a message's body in a stream entry


@dataclass(frozen=True)
class Entry:
    """A stream entry taken back, its body decoded as faststream would hand it to a subscriber."""

    entry_id: bytes
    body: Any


class Reclaimer:
    """Claims the group's abandoned entries for `consumer`, a batch at a time."""

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        stream: str,
        group: str,
        consumer: str,
        prefix: str,
        idle_ms: int,
        count: int,
        message_format: type[MessageFormat],
    ) -> None:
        self._client = client
        self._stream, self._group, self._consumer = stream, group, consumer
        self._prefix = prefix
        self._idle_ms = idle_ms
        self._count = count
        self._format = message_format
        self._cursor: bytes | str = "0-0"

    async def inherited(self) -> list[Entry]:
        """Entries pending under this consumer's own name: call before it reads anything itself."""
        return await self._claim_from(self._consumer, min_idle_ms=0)

    async def claim(self) -> list[Entry]:
        """A batch of orphaned or idle entries, now this consumer's; empty when there are none."""
        pending = await self._client.xpending(self._stream, self._group)
        for holder in pending.get("consumers") or []:
            name = _text(holder["name"])
            if name == self._consumer or not int(holder["pending"]):
                continue
            if not await self._client.exists(heartbeat_key(self._prefix, self._group, name)):
                # Untouched for as long as a heartbeat lives: its holder cannot be mid-refresh.
                orphans = await self._claim_from(name, min_idle_ms=Heartbeat.TTL_S * 1000)
                if orphans:
                    return orphans
        cursor, claimed, *_deleted = await self._client.xautoclaim(
            self._stream,
            self._group,
            self._consumer,
            min_idle_time=self._idle_ms,
            start_id=self._cursor,
            count=self._count,
        )
        self._cursor = cursor  # "0-0" again once the whole list was scanned
        return self._entries(claimed)

    async def _claim_from(self, holder: str, *, min_idle_ms: int) -> list[Entry]:
        rows = await self._client.xpending_range(
            self._stream, self._group, min="-", max="+", count=self._count, consumername=holder
        )
        ids: list[Any] = [
            row["message_id"] for row in rows if int(row["time_since_delivered"]) >= min_idle_ms
        ]
        if not ids:
            return []
        claimed = await self._client.xclaim(
            self._stream, self._group, self._consumer, min_idle_time=min_idle_ms, message_ids=ids
        )
        return self._entries(claimed)

    def _entries(self, claimed: Sequence[Any]) -> list[Entry]:
        # Entries deleted from the stream come back without fields (or not at all): nothing to do.
        return [Entry(entry_id, self._decode(fields)) for entry_id, fields in claimed if fields]

    def _decode(self, fields: Mapping[bytes, bytes]) -> Any:
        data = fields.get(_DATA_KEY)
        if data is None:  # not published through faststream: the fields are the message
            return {_text(key): _text(value) for key, value in fields.items()}
        body, _headers = self._format.parse(data)
        try:
            return json.loads(body)
        except ValueError:
            return body


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
