"""Telling a poison message from a crashing process: attempts on an entry alone, counted in Redis.

An entry taken back after its consumer died is handled alone. Before each such attempt a count
goes up in Redis; it comes down again when the attempt ends through no fault of the entry (the
stage told to stop, a server away), and acknowledging the entry forgets it. A count that keeps
rising therefore says that this entry, alone, has ended its stage's process that many times.
Deliveries in a batch whose process was killed count for nothing: any of its entries may have
been the cause, or none.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Iterable
from dataclasses import dataclass

import redis.asyncio as aioredis

from shared.streaming.dead_letters import short_trace
from shared.streams import isolated_attempts_key


@dataclass(frozen=True)
class PastAttempts:
    """What the attempts on an entry alone have left behind."""

    unfinished: int  # attempts that ended the process (or raised) before the entry was done
    error_type: str | None = None  # the last such attempt's exception, if it raised one
    trace: str | None = None


class IsolatedAttempts:
    """The count of unfinished attempts on each entry of one stream, handled alone by one group."""

    def __init__(self, client: aioredis.Redis, stream: str, group: str) -> None:
        self._client = client
        self.key = isolated_attempts_key(stream, group)

    async def past(self, entry_id: bytes | str) -> PastAttempts:
        count, error = await self._client.hmget(self.key, [_text(entry_id), _error_field(entry_id)])
        if count is None:
            return PastAttempts(0)
        details = json.loads(error) if error else {}
        return PastAttempts(int(count), details.get("error_type"), details.get("trace"))

    async def begin(self, entry_id: bytes | str) -> None:
        """Counted before the work starts: a process killed during it leaves the count up."""
        await self._client.hincrby(self.key, _text(entry_id), 1)

    async def raised(self, entry_id: bytes | str, error: BaseException) -> None:
        """The attempt ended in an exception that is not the servers': kept, for the dead letter."""
        trace = short_trace(error) if error.__traceback__ else "".join(traceback.format_exception_only(error))
        details = {"error_type": type(error).__name__, "trace": trace}
        await self._client.hset(self.key, _error_field(entry_id), json.dumps(details))

    async def withdraw(self, entry_id: bytes | str) -> None:
        """The attempt ended through no fault of the entry: it does not count."""
        await self._client.hincrby(self.key, _text(entry_id), -1)

    async def forget(self, entry_ids: Iterable[bytes | str]) -> None:
        """The entries are done with (acknowledged or dead-lettered)."""
        fields = [field for entry_id in entry_ids for field in (_text(entry_id), _error_field(entry_id))]
        if fields:
            await self._client.hdel(self.key, *fields)


def _text(entry_id: bytes | str) -> str:
    return entry_id.decode() if isinstance(entry_id, bytes) else entry_id


def _error_field(entry_id: bytes | str) -> str:
    return f"{_text(entry_id)}:error"
