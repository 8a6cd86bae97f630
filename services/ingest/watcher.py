"""Watch the inbox: file events plus a periodic rescan, then hand each complete file on.

A document is in the inbox or in one of its first-level folders; its `<name>.meta.json` sidecar,
if any, is read with it, travels in its message and follows it to done/ or failed/.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
from watchfiles import awatch

from services.ingest.documents import document_id, ingested_document
from services.ingest.file_facts import SIDECAR_MAX_BYTES, SIDECAR_SUFFIX, parse_sidecar, with_folder_place
from services.ingest.folders import InboxFolders, Replaced, UnsafeFolder
from services.ingest.inbox import InboxFile, StabilityTracker, display_name, is_ignored, is_scanned
from services.ingest.readers import UnreadableDocument, read_document
from shared.contracts import DeadLetter, DocumentIngested, FileFacts

log = logging.getLogger(__name__)

Outcome = DocumentIngested | DeadLetter
# Past a file's due time, so that the look after the wait finds it settled, not a hair short.
_SETTLE_S = 0.02
Publish = Callable[[list[Outcome]], Awaitable[None]]
Claim = Callable[[str], Awaitable[bool]]
Release = Callable[[str], Awaitable[None]]


async def _always(_: str) -> bool:
    return True


async def _nothing(_: str) -> None:
    return None


@dataclass(frozen=True)
class _Sidecar:
    file: InboxFile
    seen: os.stat_result
    problem: DeadLetter | None  # why its facts were not used; None when they were


@dataclass(frozen=True)
class _Taken:
    file: InboxFile
    seen: os.stat_result  # the file read, so that a file put in its place is not moved instead
    outcome: Outcome
    sidecar: _Sidecar | None = None

    @property
    def outcomes(self) -> list[Outcome]:
        problem = self.sidecar.problem if self.sidecar else None
        return [self.outcome] if problem is None else [self.outcome, problem]


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
        # Apart, so that a sidecar whose document never comes does not keep the scans on their quick pace.
        self._sidecars = StabilityTracker(min_age)
        self._stranded: dict[str, tuple[int, int]] = {}  # handed on, but could not be moved out
        self._folders: frozenset[str] = frozenset()  # the first-level folders of the last scan
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
        self._rewatch = asyncio.Event()  # ends the current file watch: stopping, or folders changed

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
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), self._next_look())
                self._changed.clear()
        finally:
            events.cancel()

    def _next_look(self) -> float:
        """Seconds until the next scan unless an event comes first.

        As soon as the first file still settling has settled (a change to it is an event, and brings
        the look forward); soon, for files settled but not taken (claimed by another replica, or
        waiting for their sidecar); otherwise at the rescan interval.
        """
        now = time.monotonic()
        dues = [due for due in (self._tracker.next_due(now), self._sidecars.next_due(now)) if due is not None]
        if dues:
            return min(self._rescan_interval, min(dues) + _SETTLE_S)
        if self._tracker.waiting:
            return min(self._rescan_interval, max(0.2, self._tracker.min_age / 2))
        return self._rescan_interval

    def prepare(self) -> None:
        """Create the inbox and its done/ and failed/ folders."""
        self.inbox.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(UnsafeFolder):  # the stage still starts; each scan says what is wrong
            InboxFolders(self.inbox).close()

    def stop(self) -> None:
        self._stopping.set()
        self._rewatch.set()
        self._changed.set()  # so that run() ends now, not after the wait for the next scan

    async def _listen(self) -> None:
        # Events are only a hint: network and container mounts lose them, so the rescan stays.
        # The inbox and each first-level folder are watched one level deep, never recursively: a link
        # planted as a folder must not send the watcher across the disk. New folders restart the watch.
        warned = False
        while not self._stopping.is_set():
            self._rewatch.clear()
            paths = [self.inbox, *(self.inbox / folder for folder in sorted(self._folders))]
            try:
                async for _ in awatch(*paths, stop_event=self._rewatch, recursive=False):
                    self._changed.set()
            except Exception:
                if not warned:
                    log.warning("file events unavailable for %s; relying on the periodic rescan", self.inbox)
                    warned = True
                await self._rewatch.wait()  # a folder may have gone: try again once the folders change

    async def scan_once(self) -> int:
        """Take every complete file now in the inbox; returns how many were handed on.

        Raises UnsafeFolder, taking nothing, while done/ or failed/ cannot be written safely, or after
        taking the rest when a place folder's counterpart in them cannot be.
        """
        with InboxFolders(self.inbox) as folders:
            return await self._take_ready(folders)

    async def _take_ready(self, folders: InboxFolders) -> int:
        handed_on = 0
        ready = self._ready_files(folders)
        unsafe: dict[str, None] = {}  # place folders whose done/ or failed/ cannot be written, in order
        while ready:
            batch: list[_Taken] = []
            while ready and len(batch) < self._batch_size:
                file = ready.pop(0)
                try:
                    folders.prepare_destinations(file.folder)
                except UnsafeFolder as exc:  # its files wait; the others go on
                    unsafe[str(exc)] = None
                    continue
                if not await self._claim(file.path):
                    continue
                taken = await anyio.to_thread.run_sync(self._take, folders, file)
                if taken is None:  # another replica filed it away between listing and claim
                    await self._release(file.path)
                    continue
                batch.append(taken)
            try:
                await self._publish([outcome for taken in batch for outcome in taken.outcomes])
                for taken in batch:  # only once Redis holds the message may the file leave the inbox
                    await anyio.to_thread.run_sync(self._file_away, folders, taken)
            finally:
                for taken in batch:
                    await self._release(taken.file.path)
            handed_on += len(batch)
        if unsafe:
            raise UnsafeFolder("; ".join(unsafe))
        return handed_on

    def _listing(self, folders: InboxFolders) -> dict[InboxFile, os.stat_result]:
        """Every file that may be a document or a sidecar: in the inbox, and in its first-level folders."""
        found: dict[InboxFile, os.stat_result] = {}
        subfolders: list[str] = []
        for name, seen in folders.entries():
            # done/ and failed/ are never documents, even when something else stands in their place.
            if not is_scanned(name):
                continue
            if stat.S_ISDIR(seen.st_mode):
                subfolders.append(name)
            else:
                found[InboxFile("", name)] = seen
        if frozenset(subfolders) != self._folders:
            self._folders = frozenset(subfolders)
            self._rewatch.set()
        for folder in subfolders:
            try:
                entries = folders.entries(folder)
            except FileNotFoundError:  # removed, or swapped for a link, since it was listed
                continue
            for name, seen in entries:
                if not is_ignored(name) and not stat.S_ISDIR(seen.st_mode):  # deeper folders are left alone
                    found[InboxFile(folder, name)] = seen
        return found

    def _ready_files(self, folders: InboxFolders) -> list[InboxFile]:
        """Documents whose size and mtime, and their sidecar's if they have one, have settled."""
        now = time.monotonic()
        documents: dict[InboxFile, os.stat_result] = {}
        sidecars: dict[InboxFile, os.stat_result] = {}
        for file, seen in self._listing(folders).items():
            (sidecars if file.name.endswith(SIDECAR_SUFFIX) else documents)[file] = seen
        settled = {
            file
            for file, seen in sidecars.items()
            if self._sidecars.is_stable(file.path, size=seen.st_size, mtime_ns=seen.st_mtime_ns, now=now)
        }
        ready: list[InboxFile] = []
        for file, seen in documents.items():
            if self._stranded.get(file.path) == (seen.st_size, seen.st_mtime_ns):
                continue
            self._stranded.pop(file.path, None)
            stable = self._tracker.is_stable(file.path, size=seen.st_size, mtime_ns=seen.st_mtime_ns, now=now)
            sidecar = file.beside(file.name + SIDECAR_SUFFIX)
            if stable and (sidecar not in sidecars or sidecar in settled):
                ready.append(file)
        self._tracker.retain_only({file.path for file in documents})
        self._sidecars.retain_only({file.path for file in sidecars})
        return ready

    def _take(self, folders: InboxFolders, file: InboxFile) -> _Taken | None:
        """Read and decode one file, with its sidecar; None if either vanished or changed since it was
        listed (another replica or the user took it, or it is still being written)."""
        try:
            seen = folders.look(file.name, folder=file.folder)
            outcome = self._read(folders, file, seen)
            sidecar, facts = self._read_sidecar(folders, file, outcome.doc_id)
        except FileNotFoundError:
            return None
        if isinstance(outcome, DocumentIngested):
            facts = with_folder_place(facts, file.folder)
            outcome = outcome.model_copy(update={"file_facts": facts, "dropped_at": self._dropped_at(file)})
        return _Taken(file, seen, outcome, sidecar)

    def _dropped_at(self, file: InboxFile) -> datetime | None:
        """When the file was first seen as it was taken: its arrival, within a file event or a rescan."""
        since = self._tracker.unchanged_since(file.path)
        if since is None:
            return None
        return datetime.now(UTC) - timedelta(seconds=max(0.0, time.monotonic() - since))

    def _read(self, folders: InboxFolders, file: InboxFile, seen: os.stat_result) -> Outcome:
        """The document's message, or why it cannot be read; FileNotFoundError if it is gone."""
        file_name = display_name(file.path)
        try:
            raw = folders.read(file.name, seen, self._max_bytes, folder=file.folder)
        except UnreadableDocument as exc:
            return _failure(None, file_name, str(exc))
        doc_id = document_id(raw)
        try:
            decoded = read_document(raw, file_name, max_bytes=self._max_bytes)
        except UnreadableDocument as exc:
            return _failure(doc_id, file_name, str(exc))
        except Exception as exc:  # a parser bug must cost this one file, not stall the inbox behind it
            log.exception("unexpected error reading %s", file_name)
            return _failure(doc_id, file_name, f"could not be read: {type(exc).__name__}: {exc}")
        return ingested_document(raw, file_name, decoded)

    def _read_sidecar(
        self, folders: InboxFolders, file: InboxFile, doc_id: str | None
    ) -> tuple[_Sidecar | None, FileFacts | None]:
        """The document's sidecar and its facts, or why they cannot be used; (None, None) if it has none.

        FileNotFoundError if the sidecar changed since it was seen: both wait for a later scan.
        """
        sidecar = file.beside(file.name + SIDECAR_SUFFIX)
        try:
            seen = folders.look(sidecar.name, folder=sidecar.folder)
        except FileNotFoundError:  # none, or removed since the listing: the document goes alone
            return None, None
        if stat.S_ISDIR(seen.st_mode):  # a folder by that name is not a sidecar, and is left alone
            return None, None
        try:
            facts = parse_sidecar(folders.read(sidecar.name, seen, SIDECAR_MAX_BYTES, folder=sidecar.folder))
        except (UnreadableDocument, ValueError) as exc:  # a link, a pipe, too big, not JSON, bad fields
            reason = f"{exc}; {display_name(file.path)} is read without it"
            return _Sidecar(sidecar, seen, _failure(doc_id, display_name(sidecar.path), reason)), None
        return _Sidecar(sidecar, seen, None), facts

    def _file_away(self, folders: InboxFolders, taken: _Taken) -> None:
        """Move a handed-on file, then its sidecar, to done/ or failed/; a file that cannot move is never
        handed on again."""
        file, has_sidecar = taken.file, taken.sidecar is not None
        try:
            if isinstance(taken.outcome, DocumentIngested):
                landed = folders.move_to_done(file.name, taken.seen, folder=file.folder, sidecar=has_sidecar)
                log.info("ingested %s (%s)", taken.outcome.file_name, taken.outcome.doc_id[:12])
            else:
                landed = folders.move_to_failed(
                    file.name, taken.seen, taken.outcome.reason, folder=file.folder, sidecar=has_sidecar
                )
                log.warning("failed %s: %s", taken.outcome.file_name, taken.outcome.reason)
        except Replaced:
            log.info("%s changed while it was read; the new file is taken at a later scan", file.path)
            return
        except OSError as exc:
            # Its message is already in Redis: publishing it again every scan would repeat the work.
            log.error(
                "%s was handed on but cannot leave the inbox (%s); it stays until it changes", file.path, exc
            )
            with contextlib.suppress(OSError):
                seen = folders.look(file.name, folder=file.folder)
                self._stranded[file.path] = (seen.st_size, seen.st_mtime_ns)
            return
        finally:
            self._tracker.forget(file.path)
        if taken.sidecar is not None:
            failed = isinstance(taken.outcome, DeadLetter)
            self._file_sidecar_away(folders, taken.sidecar, beside=landed, failed=failed)

    def _file_sidecar_away(
        self, folders: InboxFolders, sidecar: _Sidecar, *, beside: str, failed: bool
    ) -> None:
        """A used sidecar goes where its document went, as `<its new name>.meta.json`; one that could not
        be used goes to failed/ beside an error file, wherever its document went."""
        file, problem = sidecar.file, sidecar.problem
        if problem is not None:
            log.warning("sidecar %s not used: %s", problem.file_name, problem.reason)
        try:
            folders.move_sidecar(
                file.name,
                sidecar.seen,
                beside=beside,
                folder=file.folder,
                failed=failed or problem is not None,
                reason=problem.reason if problem else None,
            )
        except Replaced:
            log.info("%s changed after it was read; it stays in the inbox", file.path)
        except OSError as exc:
            log.error("%s cannot leave the inbox (%s); it stays there, unused", file.path, exc)
        self._sidecars.forget(file.path)


def _failure(doc_id: str | None, file_name: str, reason: str) -> DeadLetter:
    return DeadLetter(
        stage="ingest", doc_id=doc_id, file_name=file_name, reason=reason, failed_at=datetime.now(UTC)
    )
