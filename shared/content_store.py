"""Where the large fields of messages are kept: Redis hashes counted by the stream entries that refer to them.

A content is a hash {data, refs}. `refs` counts the entries that refer to it and are not yet
acknowledged: publishing such an entry adds one, in the same MULTI as its XADD; acknowledging it
takes one away, in the same script as its XACK, and the content is deleted when none is left.
So a stage that crashes between publishing and acknowledging (and publishes again once its entry
is reclaimed) leaves a count that still matches the entries waiting, and no content disappears
while an entry could still be delivered. The expiry, renewed at every hand-off, only catches what
an invalid message or a lost Redis write could leave behind.

This assumes one consumer group per stream, as in shared/streams.py: a second group reading a stream
would need a count per group.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from shared.contracts import ContentRef
from shared.references import (
    ContractT,
    Detached,
    Held,
    MissingContent,
    field_value,
    referenced_fields,
    references,
)

_ACKNOWLEDGE_AND_RELEASE = """
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  for i = 2, #KEYS do
    if redis.call('HINCRBY', KEYS[i], 'refs', -1) <= 0 then redis.call('DEL', KEYS[i]) end
  end
  return 1
end
return 0
"""


class ContentStore:
    """Keeps, fetches and releases the contents that messages refer to; one per process."""

    def __init__(self, client: aioredis.Redis, *, ttl_s: int) -> None:
        self._client = client
        self._ttl_s = ttl_s
        self._acknowledge = client.register_script(_ACKNOWLEDGE_AND_RELEASE)

    def keep(self, pipe: Pipeline, outgoing: Iterable[Detached[Any]], *, held: Collection[str]) -> None:
        """Queue in `pipe`, ahead of the entries' XADDs: store new contents, count one reference each.

        `held` are keys this stage has just read: they are kept already (our unacknowledged input
        refers to them), so only their count goes up.
        """
        written: set[str] = set()
        for detached in outgoing:
            for ref in references(detached.message):
                if ref.key not in held and ref.key not in written and ref.key in detached.contents:
                    pipe.hset(ref.key, "data", detached.contents[ref.key])
                    written.add(ref.key)
                pipe.hincrby(ref.key, "refs", 1)
                pipe.expire(ref.key, self._ttl_s)

    async def fetch(self, keys: Iterable[str]) -> dict[str, bytes]:
        """The contents still kept, by key; a key that is gone is left out."""
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        async with self._client.pipeline(transaction=False) as pipe:
            for key in wanted:
                pipe.hget(key, "data")
            values = await pipe.execute()
        return {key: value for key, value in zip(wanted, values, strict=True) if value is not None}

    async def resolve(
        self, message: ContractT, *, leave: Collection[str] = ()
    ) -> tuple[ContractT, list[Held]]:
        """The message with its referenced fields (but those named in `leave`) put back, and what they
        were; MissingContent if one is gone.

        One field at a time, each JSON dropped once read: a large document's texts and figures are
        never all in memory twice over.
        """
        held: list[Held] = []
        for name in referenced_fields(message):
            if name in leave:
                continue
            ref = getattr(message, f"{name}_ref")
            value = field_value(message, name, await self._client.hget(ref.key, "data"))
            held.append(Held(value, ref))
            message = message.model_copy(update={name: value, f"{name}_ref": None})
        return message, held

    async def fetch_one(self, ref: ContentRef) -> bytes:
        """The JSON kept under `ref`; MissingContent if it is gone."""
        data = await self._client.hget(ref.key, "data")
        if data is None:
            raise MissingContent(f"a field of this document ({ref.key}) is no longer kept")
        return data if isinstance(data, bytes) else data.encode()

    async def acknowledge(
        self, stream: str, group: str, entries: Sequence[tuple[bytes | str, Sequence[str]]]
    ) -> None:
        """Acknowledge each (entry id, keys it refers to) and release those keys, atomically per entry."""
        if not entries:
            return
        async with self._client.pipeline(transaction=False) as pipe:
            await self.queue_acknowledge(pipe, stream, group, entries)
            await pipe.execute()

    async def queue_acknowledge(
        self, pipe: Pipeline, stream: str, group: str, entries: Sequence[tuple[bytes | str, Sequence[str]]]
    ) -> None:
        """Queue in `pipe` the acknowledgement of each (entry id, keys it refers to), releasing the keys.

        Entries that refer to nothing (small documents) take one plain XACK together; the script,
        which makes Redis check that its scripts are loaded, only for those that do.
        """
        plain = [entry_id for entry_id, keys in entries if not keys]
        if plain:
            pipe.xack(stream, group, *plain)
        for entry_id, keys in entries:
            if keys:
                await self._acknowledge(keys=[stream, *keys], args=[group, entry_id], client=pipe)
