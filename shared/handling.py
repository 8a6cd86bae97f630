"""How a stage handles what one input stream delivers: new batches, and entries taken back, alone.

- A batch is handled in parts bounded by bytes, each handed on and acknowledged before the next:
  what a part hands on and the acknowledgement of its entries go in one MULTI, both or neither.
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
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import redis.asyncio as aioredis
from faststream.redis import RedisBroker

from shared.content_store import ContentStore
from shared.contracts import DeadLetter
from shared.logic_thread import LogicStuck
from shared.metrics import StageMetrics
from shared.references import Detached, document_bytes, referenced_keys, smallest_first
from shared.servers import Watch, retry_while_away
from shared.settings import Settings
from shared.streaming.dead_letters import dead_letter
from shared.streaming.isolation import IsolatedAttempts, PastAttempts
from shared.streaming.liveness import Heartbeat, keep_claimed
from shared.streaming.publishing import Outgoing, queue_all
from shared.streaming.reclaim import Entry, Reclaimer
from shared.streams import Topology

log = logging.getLogger(__name__)
T = TypeVar("T")
ResourceT = TypeVar("ResourceT")
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


@dataclass(frozen=True)
class StageContext:
    """What a handler hands its results on with."""

    stage: str
    settings: Settings
    topology: Topology
    broker: RedisBroker
    contents: ContentStore
    retrying: Retrying  # for a step worth retrying alone, such as publishing what took long to compute
    working: Callable[[], None]  # told as each document starts: progress, for `wenming lag`
    metrics: StageMetrics


# A part of a batch (raw messages), the stage's resource, its context → what the part hands on.
Handle = Callable[[list[Any], ResourceT, StageContext], Awaitable[Outgoing]]


class InputWork:
    """One input stream of a stage: its batches, the entries it takes back, and their retries."""

    def __init__(
        self,
        *,
        stage: str,
        crash_cap: int | None,
        stream: str,
        handle: Handle[Any],
        context: StageContext,
        resource: Any,
        heartbeat: Heartbeat,
        client: aioredis.Redis,
        stopping: asyncio.Event,
        on_stuck: Callable[[LogicStuck], None],
    ) -> None:
        self.stage, self.crash_cap, self.stream, self._handle = stage, crash_cap, stream, handle
        self._context, self._resource, self._heartbeat = context, resource, heartbeat
        self._client = client
        self.retrying = context.retrying
        self.metrics = context.metrics
        self._stopping = stopping
        self._on_stuck = on_stuck
        settings = context.settings
        self._consumer = settings.consumer_name
        self._refresh_s = settings.reclaim_idle_ms / 1000 / 3
        self._batch_bytes = settings.batch_bytes
        self._attempts = IsolatedAttempts(client, stream, stage) if crash_cap is not None else None
        # Set while no entry taken back is waiting: only then may a new batch go.
        self.reclaimed_done = asyncio.Event()

    async def batch(self, raw: list[Any], ids: list[bytes]) -> bool:
        """New entries read together, after any entries taken back; False if some were left pending."""
        self.metrics.received(self.stream, len(raw), taken_back=False)
        all_done = True
        async with self.kept_in_hand(ids):
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
                        self.stage,
                        len(part),
                        self.stream,
                    )
                    for i in part:
                        all_done &= await self.alone_or_leave(raw[i], ids[i])
        return all_done

    def kept_in_hand(self, ids: list[bytes]) -> AbstractAsyncContextManager[None]:
        """Entries this replica works on, kept fresh so that no other takes them from under it."""
        return keep_claimed(self._client, self.stream, self.stage, self._consumer, ids, self._refresh_s)

    async def alone_or_leave(self, raw: Any, entry_id: bytes) -> bool:
        """Handle one entry alone; if that fails, it stays pending, to be taken back later (False)."""
        try:
            await self.alone(raw, entry_id)
        except (StopRequested, LogicStuck):
            raise
        except Exception as exc:
            self._heartbeat.record_error(exc)
            self.metrics.failed(self.stream)
            log.exception("%s: entry %s of %s failed alone", self.stage, _text(entry_id), self.stream)
            return False
        return True

    async def alone(self, raw: Any, entry_id: bytes) -> None:
        """One entry handled on its own, counted in Redis so that what ends the process is known."""
        attempts = self._attempts
        if attempts is None:
            await self._handle_and_acknowledge([raw], [entry_id])
            return
        past = await self.retrying(lambda: attempts.past(entry_id))
        if self.crash_cap is not None and past.unfinished >= self.crash_cap:
            await self._give_up(raw, entry_id, past)
            return
        await self.retrying(lambda: attempts.begin(entry_id))
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
        await self.retrying(lambda: attempts.forget([entry_id]))

    async def _give_up(self, raw: Any, entry_id: bytes, past: PastAttempts) -> None:
        stage, context = self.stage, self._context
        how = f"last with {past.error_type}" if past.error_type else "killed each time, with no exception"
        reason = f"{stage} crashed {past.unfinished} times handling this message alone ({how})"
        letter = dead_letter(stage, reason, raw).model_copy(
            update={"error_type": past.error_type, "trace": past.trace, "stream": self.stream}
        )
        log.error("%s: entry %s of %s dead-lettered: %s", stage, _text(entry_id), self.stream, reason)

        outgoing = Outgoing.letters(context.topology.dead_letter, [letter])
        await self.retrying(lambda: self._hand_on(outgoing, [raw], [entry_id]))
        if self._attempts is not None:
            attempts = self._attempts
            await self.retrying(lambda: attempts.forget([entry_id]))

    async def _handle_and_acknowledge(self, raw: list[Any], ids: list[bytes]) -> None:
        self._heartbeat.working()
        try:
            outgoing = await self.retrying(lambda: self._handle(raw, self._resource, self._context))
        except LogicStuck as exc:
            self._heartbeat.record_error(exc)
            self._on_stuck(exc)
            raise
        outgoing = _from_stream(outgoing, self.stream)
        # Retried alone while Redis is away: the handling, which may have taken long, is not done again.
        await self.retrying(lambda: self._hand_on(outgoing, raw, ids))
        self._heartbeat.acknowledged()
        self._heartbeat.clear_error()

    async def _hand_on(self, outgoing: Outgoing, raw: list[Any], ids: list[bytes]) -> None:
        """Publish what a part hands on and acknowledge its entries in one MULTI: one round trip, and
        never one without the other. The contents it refers to are counted before its input's are
        released, so that a text passed on is never deleted in between."""
        context = self._context
        done = [(entry_id, referenced_keys(item)) for entry_id, item in zip(ids, raw, strict=True)]
        async with self._client.pipeline(transaction=True) as pipe:
            context.contents.keep(pipe, (detached for _, detached in outgoing.messages), held=outgoing.held)
            messages = ((stream, detached.message) for stream, detached in outgoing.messages)
            _, letters = await queue_all(context.broker, pipe, messages)
            await context.contents.queue_acknowledge(pipe, self.stream, self.stage, done)
            await pipe.execute()
        # Once Redis holds them: a hand-on retried after an outage counts once.
        self.metrics.dead_lettered(letters)
        self.metrics.acknowledged(self.stream, len(ids))


class TakingBack:
    """Takes back the entries other consumers abandoned and has each handled alone, until the stage stops.

    Claims in batches; while it holds any, new batches of the input wait (InputWork.reclaimed_done).
    """

    def __init__(self, work: InputWork, reclaimer: Reclaimer, *, stopping: asyncio.Event) -> None:
        self._work = work
        self._reclaimer = reclaimer
        self._stopping = stopping
        self._error: str | None = None  # logged once, not at every poll

    async def run(self, inherited: list[Entry]) -> None:
        work = self._work
        try:
            entries = inherited or await self._claim()
            while not self._stopping.is_set():
                if entries:
                    work.metrics.received(work.stream, len(entries), taken_back=True)
                    work.reclaimed_done.clear()
                    async with work.kept_in_hand([entry.entry_id for entry in entries]):
                        for entry in entries:
                            if self._stopping.is_set():
                                break
                            await work.alone_or_leave(entry.body, entry.entry_id)
                else:
                    work.reclaimed_done.set()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), RECLAIM_POLL_S)
                    if self._stopping.is_set():
                        break
                entries = await self._claim()
        except (StopRequested, LogicStuck):  # the stage is stopping
            pass
        finally:
            work.reclaimed_done.set()  # a batch waiting for them must not wait forever

    async def _claim(self) -> list[Entry]:
        """The next entries to take back; none this time if Redis refuses (say, a group deleted)."""
        try:
            entries = await self._work.retrying(self._reclaimer.claim)
        except StopRequested:
            raise
        except Exception as exc:  # taking back must outlive any one failure, or nobody would
            if str(exc) != self._error:
                log.exception("%s: taking back entries of %s failed", self._work.stage, self._work.stream)
            self._error = str(exc)
            return []
        self._error = None
        return entries


def _from_stream(outgoing: Outgoing, stream: str) -> Outgoing:
    """Dead letters carrying their message name the stream it was read from, where a replay sends it."""

    def stamped(detached: Detached[Any]) -> Detached[Any]:
        letter = detached.message
        if isinstance(letter, DeadLetter) and letter.payload is not None and letter.stream is None:
            return Detached(letter.model_copy(update={"stream": stream}), detached.contents)
        return detached

    return replace(outgoing, messages=[(target, stamped(detached)) for target, detached in outgoing.messages])


def _text(entry_id: bytes | str) -> str:
    return entry_id.decode() if isinstance(entry_id, bytes) else entry_id
