"""How a stage handles what one input stream delivers: new batches, and entries taken back, alone.

- A batch is handled in parts bounded by bytes, each handed on and acknowledged before the next.
- A failure that a server explains (Redis or Postgres away) is retried in place, with capped
  backoff and jitter, the entries kept in hand: not left for the reclaim timer. So are the
  acknowledgements, which a reconnect lets through.
- A part that fails for any other reason is handled again entry by entry, so that one bad entry
  does not hold back the others.
- An entry handled alone (taken back, or from such a part) counts its unfinished attempts
  (shared/streaming/isolation.py): after `crash_cap` of them it is dead-lettered as the cause.
- Entries taken back go before new batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, TypeVar

import redis.asyncio as aioredis

from shared.logic_thread import LogicStuck
from shared.references import document_bytes, referenced_keys, smallest_first
from shared.servers import Watch, retry_while_away
from shared.streaming.dead_letters import dead_letter
from shared.streaming.isolation import IsolatedAttempts, PastAttempts
from shared.streaming.liveness import Heartbeat, keep_claimed
from shared.streaming.publishing import publish_all
from shared.streaming.reclaim import Entry, Reclaimer

if TYPE_CHECKING:
    from shared.stage import ConsumingStage, Handle, StageContext

log = logging.getLogger(__name__)
T = TypeVar("T")
# How often a replica looks for entries to take back when it found none.
RECLAIM_POLL_S = 1.0


class StopRequested(Exception):
    """The stage was told to stop while it waited for a server: its entries stay pending."""


class Retrying:
    """Retries in place while a server is away; a stage's tasks share it, and its servers' watches."""

    def __init__(self, watches: Sequence[Watch], *, stopping: asyncio.Event, heartbeat: Heartbeat) -> None:
        self._watches = watches
        self._stopping = stopping
        self._heartbeat = heartbeat

    async def __call__(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """`attempt`'s result, retried with capped backoff and jitter; `wenming lag` shows why meanwhile."""
        failures: list[BaseException] = []

        def failed(error: BaseException) -> None:
            failures.append(error)
            self._heartbeat.record_error(error)

        result = await retry_while_away(
            attempt,
            self._watches,
            stopping=self._stopping,
            stopped=lambda watch: StopRequested(f"stopped while waiting for {watch.server.name}"),
            on_failure=failed,
        )
        if failures:  # the server is back: the stage is no longer failing
            self._heartbeat.clear_error()
        return result


class InputWork:
    """One input stream of a stage: its batches, the entries it takes back, and their retries."""

    def __init__(
        self,
        *,
        stage: ConsumingStage[Any],
        stream: str,
        handle: Handle[Any],
        context: StageContext,
        resource: Any,
        heartbeat: Heartbeat,
        client: aioredis.Redis,
        stopping: asyncio.Event,
        on_stuck: Callable[[LogicStuck], None],
    ) -> None:
        self.stage, self.stream, self._handle = stage, stream, handle
        self._context, self._resource, self._heartbeat = context, resource, heartbeat
        self._client = client
        self._retrying = context.retrying
        self._stopping = stopping
        self._on_stuck = on_stuck
        settings = context.settings
        self._consumer = settings.consumer_name
        self._refresh_s = settings.reclaim_idle_ms / 1000 / 3
        self._batch_bytes = settings.batch_bytes
        self._attempts = IsolatedAttempts(client, stream, stage.name) if stage.crash_cap is not None else None
        # Set while no entry taken back is waiting: only then may a new batch go.
        self.reclaimed_done = asyncio.Event()

    async def batch(self, raw: list[Any], ids: list[bytes]) -> None:
        """New entries read together, after any entries taken back."""
        async with self._kept_in_hand(ids):
            await self.reclaimed_done.wait()
            # Bounded by bytes, smallest first; each part acknowledged (texts released) once handed on.
            for part in smallest_first([document_bytes(item) for item in raw], self._batch_bytes):
                try:
                    await self._handle_and_acknowledge([raw[i] for i in part], [ids[i] for i in part])
                except (StopRequested, LogicStuck):
                    raise
                except Exception as exc:
                    self._heartbeat.record_error(exc)
                    log.exception(
                        "%s: %d entries of %s failed together; handling each alone",
                        self.stage.name,
                        len(part),
                        self.stream,
                    )
                    for i in part:
                        await self._alone_or_leave(raw[i], ids[i])

    async def reclaim(self, reclaimer: Reclaimer, inherited: list[Entry]) -> None:
        """Take back abandoned entries and handle each alone, until the stage stops."""
        try:
            entries = inherited or await self._retrying(reclaimer.claim)
            while not self._stopping.is_set():
                if entries:
                    self.reclaimed_done.clear()
                    async with self._kept_in_hand([entry.entry_id for entry in entries]):
                        for entry in entries:
                            if self._stopping.is_set():
                                break
                            await self._alone_or_leave(entry.body, entry.entry_id)
                else:
                    self.reclaimed_done.set()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), RECLAIM_POLL_S)
                    if self._stopping.is_set():
                        break
                entries = await self._retrying(reclaimer.claim)
        except (StopRequested, LogicStuck):  # the stage is stopping
            pass
        finally:
            self.reclaimed_done.set()  # a batch waiting for them must not wait forever

    def _kept_in_hand(self, ids: list[bytes]) -> AbstractAsyncContextManager[None]:
        """Entries this replica works on, kept fresh so that no other takes them from under it."""
        return keep_claimed(self._client, self.stream, self.stage.name, self._consumer, ids, self._refresh_s)

    async def _alone_or_leave(self, raw: Any, entry_id: bytes) -> None:
        """Handle one entry alone; if that fails, it stays pending, to be taken back later."""
        try:
            await self.alone(raw, entry_id)
        except (StopRequested, LogicStuck):
            raise
        except Exception as exc:
            self._heartbeat.record_error(exc)
            log.exception("%s: entry %s of %s failed alone", self.stage.name, _text(entry_id), self.stream)

    async def alone(self, raw: Any, entry_id: bytes) -> None:
        """One entry handled on its own, counted in Redis so that what ends the process is known."""
        attempts = self._attempts
        if attempts is None:
            await self._handle_and_acknowledge([raw], [entry_id])
            return
        past = await self._retrying(lambda: attempts.past(entry_id))
        if self.stage.crash_cap is not None and past.unfinished >= self.stage.crash_cap:
            await self._give_up(raw, entry_id, past)
            return
        await self._retrying(lambda: attempts.begin(entry_id))
        try:
            await self._handle_and_acknowledge([raw], [entry_id])
        except (StopRequested, asyncio.CancelledError):  # told to stop: not the entry's doing
            with contextlib.suppress(Exception):
                await attempts.withdraw(entry_id)
            raise
        except Exception as exc:  # kept for the dead letter, should it come to that
            with contextlib.suppress(Exception):
                await attempts.raised(entry_id, exc)
            raise
        await self._retrying(lambda: attempts.forget([entry_id]))

    async def _give_up(self, raw: Any, entry_id: bytes, past: PastAttempts) -> None:
        stage, context = self.stage.name, self._context
        how = f"last with {past.error_type}" if past.error_type else "killed each time, with no exception"
        reason = f"{stage} crashed {past.unfinished} times handling this message alone ({how})"
        letter = dead_letter(stage, reason, raw).model_copy(
            update={"error_type": past.error_type, "trace": past.trace}
        )
        log.error("%s: entry %s of %s dead-lettered: %s", stage, _text(entry_id), self.stream, reason)

        async def publish() -> None:
            async with self._client.pipeline() as pipe:
                await publish_all(context.broker, pipe, [(context.topology.dead_letter, letter)])

        await self._retrying(publish)
        await self._acknowledge([raw], [entry_id])
        if self._attempts is not None:
            attempts = self._attempts
            await self._retrying(lambda: attempts.forget([entry_id]))

    async def _handle_and_acknowledge(self, raw: list[Any], ids: list[bytes]) -> None:
        async def handle() -> None:
            async with self._client.pipeline() as pipe:
                await self._handle(raw, pipe, self._resource, self._context)

        self._heartbeat.working()
        try:
            await self._retrying(handle)
        except LogicStuck as exc:
            self._heartbeat.record_error(exc)
            self._on_stuck(exc)
            raise
        await self._acknowledge(raw, ids)
        self._heartbeat.acknowledged()
        self._heartbeat.clear_error()

    async def _acknowledge(self, raw: list[Any], ids: list[bytes]) -> None:
        done = [(entry_id, referenced_keys(item)) for entry_id, item in zip(ids, raw, strict=True)]
        await self._retrying(lambda: self._context.contents.acknowledge(self.stream, self.stage.name, done))


def _text(entry_id: bytes | str) -> str:
    return entry_id.decode() if isinstance(entry_id, bytes) else entry_id
