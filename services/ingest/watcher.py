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
from services.ingest.inbox import DONE_DIR, FAILED_DIR, StabilityTracker, free_destination, is_ignored
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
    path: Path
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
        self.done = inbox / DONE_DIR
        self.failed = inbox / FAILED_DIR
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
        try:
            while not self._stopping.is_set():
                try:
                    await self.scan_once()
                except Exception as exc:  # Redis away or a disk error: keep the files, try again next scan
                    log.error("inbox scan failed, the files stay in the inbox and are retried: %s", exc)
                    self.on_scan[0](exc)
                else:
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
        for folder in (self.inbox, self.done, self.failed):
            folder.mkdir(parents=True, exist_ok=True)

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
        """Take every complete file now in the inbox; returns how many were handed on."""
        handed_on = 0
        ready = self._ready_files()
        while ready:
            batch: list[_Taken] = []
            while ready and len(batch) < self._batch_size:
                path = ready.pop(0)
                if not await self._claim(path.name):
                    continue
                taken = await anyio.to_thread.run_sync(self._take, path)
                if taken is None:  # another replica filed it away between listing and claim
                    await self._release(path.name)
                    continue
                batch.append(taken)
            try:
                await self._publish([taken.outcome for taken in batch])
                for taken in batch:  # only once Redis holds the message may the file leave the inbox
                    await anyio.to_thread.run_sync(self._file_away, taken)
            finally:
                for taken in batch:
                    await self._release(taken.path.name)
            handed_on += len(batch)
        return handed_on

    def _ready_files(self) -> list[Path]:
        now = time.monotonic()
        present: set[str] = set()
        ready: list[Path] = []
        with os.scandir(self.inbox) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if is_ignored(entry.name) or entry.is_dir(follow_symlinks=False):
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
                    ready.append(Path(entry.path))
        self._tracker.retain_only(present)
        return ready

    def _take(self, path: Path) -> _Taken | None:
        """Read and decode one file; None if it vanished (another replica or the user took it)."""
        file_name = _display_name(path.name)
        try:
            raw = self._read_bytes(path)
        except FileNotFoundError:
            return None
        except UnreadableDocument as exc:
            return _Taken(path, _failure(None, file_name, str(exc)))
        doc_id = document_id(raw)
        try:
            decoded = read_document(raw, file_name, max_bytes=self._max_bytes)
        except UnreadableDocument as exc:
            return _Taken(path, _failure(doc_id, file_name, str(exc)))
        except Exception as exc:  # a parser bug must cost this one file, not stall the inbox behind it
            log.exception("unexpected error reading %s", file_name)
            return _Taken(
                path, _failure(doc_id, file_name, f"could not be read: {type(exc).__name__}: {exc}")
            )
        return _Taken(path, ingested_document(raw, file_name, decoded))

    def _read_bytes(self, path: Path) -> bytes:
        if path.is_symlink():
            target = path.resolve()
            if not target.is_relative_to(self.inbox.resolve()):
                raise UnreadableDocument(f"symbolic link to {target}, outside the inbox: not followed")
        if not os.path.lexists(path):
            raise FileNotFoundError(path)
        if not path.is_file():
            raise UnreadableDocument("not a regular file (a folder, device or broken link)")
        size = path.stat().st_size
        if size > self._max_bytes:
            raise UnreadableDocument(f"file is {size} bytes, over the {self._max_bytes}-byte limit")
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise UnreadableDocument(f"cannot read: {exc.strerror or exc}") from exc

    def _file_away(self, taken: _Taken) -> None:
        """Move a handed-on file to done/ or failed/; a file that cannot move is never handed on again."""
        name = taken.path.name
        try:
            if isinstance(taken.outcome, DocumentIngested):
                taken.path.rename(free_destination(self.done, name))
                log.info("ingested %s (%s)", taken.outcome.file_name, taken.outcome.doc_id[:12])
            else:
                destination = free_destination(self.failed, name)
                taken.path.rename(destination)
                error_file = destination.with_name(destination.name + ".error.txt")
                error_file.write_text(taken.outcome.reason + "\n", encoding="utf-8")
                log.warning("failed %s: %s", taken.outcome.file_name, taken.outcome.reason)
        except OSError as exc:
            # Its message is already in Redis: publishing it again every scan would repeat the work.
            log.error(
                "%s was handed on but cannot leave the inbox (%s); it stays until it changes", name, exc
            )
            with contextlib.suppress(OSError):
                stat = taken.path.stat(follow_symlinks=False)
                self._stranded[name] = (stat.st_size, stat.st_mtime_ns)
        self._tracker.forget(name)


def _failure(doc_id: str | None, file_name: str, reason: str) -> DeadLetter:
    return DeadLetter(
        stage="ingest", doc_id=doc_id, file_name=file_name, reason=reason, failed_at=datetime.now(UTC)
    )


def _display_name(name: str) -> str:
    """File names that are not valid UTF-8 are kept readable rather than rejected."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
