"""Watch the inbox: file events plus a periodic rescan, then hand each complete file on."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import anyio
from watchfiles import awatch

from services.ingest.documents import document_id, ingested_document
from services.ingest.folders import InboxFolders, Replaced, UnsafeFolder
from services.ingest.inbox import DONE_DIR, FAILED_DIR, StabilityTracker, is_ignored
from services.ingest.readers import UnreadableDocument, read_document
from shared.contracts import DeadLetter, DocumentIngested

log = logging.getLogger(__name__)

Outcome = DocumentIngested | DeadLetter
Publish = Callable[[list[Outcome]], Awaitable[None]]
Claim = Callable[[str], Awaitable[bool]]
Release = Callable[[str], Awaitable[None]]


async def _always(_: str) -> bool:
    return True


async def _nothing(_: str) -> None:
    return None


@dataclass(frozen=True)
class _Taken:
    name: str
    seen: os.stat_result  # the file read, so that a file put in its place is not moved instead
    outcome: Outcome


class InboxWatcher:
    """Turns complete inbox files into DocumentIngested (or DeadLetter) messages, then files them away."""

    def __init__(
        self,
        inbox: Path,
        publish: Publish,
        *,
        min_age: float,
        rescan_interval: float,
        max_bytes: int,
        batch_size: int = 32,
        claim: Claim = _always,
        release: Release = _nothing,
    ) -> None:
        self.inbox = inbox
        self._publish = publish
        # Replicas sharing one inbox must not both take a file: a claim decides who does.
        self._claim = claim
        self._release = release
        self._tracker = StabilityTracker(min_age)
        self._stranded: dict[str, tuple[int, int]] = {}  # handed on, but could not be moved out
        # Told of each scan's failure or success (the stage's heartbeat shows the last error).
        self.on_scan: tuple[Callable[[BaseException], None], Callable[[], None]] = (
            lambda _e: None,
            lambda: None,
        )
        self._rescan_interval = rescan_interval
        self._max_bytes = max_bytes
        self._batch_size = batch_size
        self._changed = asyncio.Event()
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        """Scan on every file event and at least every rescan interval, until stopped."""
        self.prepare()
        events = asyncio.create_task(self._listen())
        failing: str | None = None  # logged once when it starts and once when it ends, not every scan
        try:
            while not self._stopping.is_set():
                try:
                    await self.scan_once()
                except Exception as exc:  # Redis away or a disk error: keep the files, try again next scan
                    if f"{exc!r}" != failing:
                        log.error("inbox scan failed, the files stay in the inbox and are retried: %s", exc)
                        failing = f"{exc!r}"
                    self.on_scan[0](exc)
                else:
                    if failing is not None:
                        log.info("inbox scans work again")
                        failing = None
                    self.on_scan[1]()
                # Files that are still settling need a prompt second look; otherwise wait for an event.
                timeout = (
                    min(self._rescan_interval, max(0.2, self._tracker.min_age / 2))
                    if self._tracker.waiting
                    else self._rescan_interval
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout)
                self._changed.clear()
        finally:
            events.cancel()

    def prepare(self) -> None:
        """Create the inbox and its done/ and failed/ folders."""
        self.inbox.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(UnsafeFolder):  # the stage still starts; each scan says what is wrong
            InboxFolders(self.inbox).close()

    def stop(self) -> None:
        self._stopping.set()

    async def _listen(self) -> None:
        # Events are only a hint: network and container mounts lose them, so the rescan stays.
        try:
            async for _ in awatch(self.inbox, stop_event=self._stopping, recursive=False):
                self._changed.set()
        except Exception:
            log.warning("file events unavailable for %s; relying on the periodic rescan", self.inbox)

    async def scan_once(self) -> int:
        """Take every complete file now in the inbox; returns how many were handed on.

        Raises UnsafeFolder, taking nothing, while done/ or failed/ cannot be written safely.
        """
        with InboxFolders(self.inbox) as folders:
            return await self._take_ready(folders)

    async def _take_ready(self, folders: InboxFolders) -> int:
        handed_on = 0
        ready = self._ready_files()
        while ready:
            batch: list[_Taken] = []
            while ready and len(batch) < self._batch_size:
                name = ready.pop(0)
                if not await self._claim(name):
                    continue
                taken = await anyio.to_thread.run_sync(self._take, folders, name)
                if taken is None:  # another replica filed it away between listing and claim
                    await self._release(name)
                    continue
                batch.append(taken)
            try:
                await self._publish([taken.outcome for taken in batch])
                for taken in batch:  # only once Redis holds the message may the file leave the inbox
                    await anyio.to_thread.run_sync(self._file_away, folders, taken)
            finally:
                for taken in batch:
                    await self._release(taken.name)
            handed_on += len(batch)
        return handed_on

    def _ready_files(self) -> list[str]:
        now = time.monotonic()
        present: set[str] = set()
        ready: list[str] = []
        with os.scandir(self.inbox) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                # done/ and failed/ are never documents, even when something else stands in their place.
                if entry.name in (DONE_DIR, FAILED_DIR) or is_ignored(entry.name):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    continue
                present.add(entry.name)
                try:
                    stat = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if self._stranded.get(entry.name) == (stat.st_size, stat.st_mtime_ns):
                    continue
                self._stranded.pop(entry.name, None)
                if self._tracker.is_stable(entry.name, size=stat.st_size, mtime_ns=stat.st_mtime_ns, now=now):
                    ready.append(entry.name)
        self._tracker.retain_only(present)
        return ready

    def _take(self, folders: InboxFolders, name: str) -> _Taken | None:
        """Read and decode one file; None if it vanished (another replica or the user took it)."""
        file_name = _display_name(name)
        try:
            seen = folders.look(name)
        except FileNotFoundError:
            return None
        try:
            raw = folders.read(name, seen, self._max_bytes)
        except FileNotFoundError:
            return None
        except UnreadableDocument as exc:
            return _Taken(name, seen, _failure(None, file_name, str(exc)))
        doc_id = document_id(raw)
        try:
            decoded = read_document(raw, file_name, max_bytes=self._max_bytes)
        except UnreadableDocument as exc:
            return _Taken(name, seen, _failure(doc_id, file_name, str(exc)))
        except Exception as exc:  # a parser bug must cost this one file, not stall the inbox behind it
            log.exception("unexpected error reading %s", file_name)
            return _Taken(
                name, seen, _failure(doc_id, file_name, f"could not be read: {type(exc).__name__}: {exc}")
            )
        return _Taken(name, seen, ingested_document(raw, file_name, decoded))

    def _file_away(self, folders: InboxFolders, taken: _Taken) -> None:
        """Move a handed-on file to done/ or failed/; a file that cannot move is never handed on again."""
        name = taken.name
        try:
            if isinstance(taken.outcome, DocumentIngested):
                folders.move_to_done(name, taken.seen)
                log.info("ingested %s (%s)", taken.outcome.file_name, taken.outcome.doc_id[:12])
            else:
                folders.move_to_failed(name, taken.seen, taken.outcome.reason)
                log.warning("failed %s: %s", taken.outcome.file_name, taken.outcome.reason)
        except Replaced:
            log.info("%s changed while it was read; the new file is taken at a later scan", name)
        except OSError as exc:
            # Its message is already in Redis: publishing it again every scan would repeat the work.
            log.error(
                "%s was handed on but cannot leave the inbox (%s); it stays until it changes", name, exc
            )
            with contextlib.suppress(OSError):
                stat = folders.look(name)
                self._stranded[name] = (stat.st_size, stat.st_mtime_ns)
        self._tracker.forget(name)


def _failure(doc_id: str | None, file_name: str, reason: str) -> DeadLetter:
    return DeadLetter(
        stage="ingest", doc_id=doc_id, file_name=file_name, reason=reason, failed_at=datetime.now(UTC)
    )


def _display_name(name: str) -> str:
    """File names that are not valid UTF-8 are kept readable rather than rejected."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
