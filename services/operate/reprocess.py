"""`wenming reprocess`: stored documents through the pipeline again, from their stored text.

Each document goes to normalize's input as ingest would have published it (the file's name, its
decoded text, encoding, format, size, when it was ingested and what came with it), marked as a
reprocess so that the store replaces its figures even from the same extractor version; nothing is
extracted in this process. Then it waits for the store: each document is done once the ingest log
has a new line for it (updated, unchanged, stale, or failed at any stage).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

import sqlalchemy as sa
from packaging.version import InvalidVersion, Version
from sqlalchemy.engine import Engine

from services.ingest.file_facts import with_folder_place
from services.operate.dlq import DlqError, publisher
from services.operate.dlq_text import reprocess_summary
from shared.contracts import DocumentIngested, FileFacts
from shared.settings import Settings

# Each document is published in a MULTI of its own (its large fields kept, its entry added), read from
# the database just before: one text in memory at a time. Progress is said every this many documents.
PROGRESS_EVERY = 16
POLL_S = 0.5
MIN_ID_CHARS = 6
QUIET_WARNING_S = 30.0
LOG_EVERY_S = 5.0


@dataclass(frozen=True)
class Selection:
    """Which stored documents to reprocess: all, since a date, by id (or id prefix), or by version."""

    every: bool = False
    since: datetime | None = None
    doc_ids: tuple[str, ...] = ()
    older_than: str | None = None


def select_documents(engine: Engine, selection: Selection) -> list[str]:
    """The ids of the documents selected, in the order they were ingested."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT id, extractor_version FROM documents ORDER BY ingested_at, id")
        ).all()
    if selection.every:
        return [doc_id for doc_id, _ in rows]
    if selection.older_than is not None:
        return [doc_id for doc_id, version in rows if is_older(version, selection.older_than)]
    if selection.since is not None:
        query = "SELECT id FROM documents WHERE ingested_at >= :t ORDER BY ingested_at, id"
        with engine.connect() as conn:
            return list(conn.execute(sa.text(query), {"t": selection.since}).scalars())
    return [
        _one_document([doc_id for doc_id, _ in rows], wanted) for wanted in dict.fromkeys(selection.doc_ids)
    ]


def is_version(text: str) -> bool:
    """Whether `text` is a version that extractor versions can be ordered against (0.3.0)."""
    try:
        Version(text)
    except InvalidVersion:
        return False
    return True


def is_older(version: str, than: str) -> bool:
    """Whether a stored extractor version is older than the version `than`; a stored one that cannot
    be ordered counts as older."""
    try:
        stored = Version(version)
    except InvalidVersion:
        return True
    return stored < Version(than)


def _one_document(ids: Sequence[str], wanted: str) -> str:
    if len(wanted) < MIN_ID_CHARS:
        raise DlqError(f"{wanted}: give at least {MIN_ID_CHARS} characters of a document id")
    matches = [doc_id for doc_id in ids if doc_id.startswith(wanted.lower())]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise DlqError(f"no stored document {wanted}")
    raise DlqError(f"{wanted} names {len(matches)} documents: give more of its id")


def stored_document(engine: Engine, doc_id: str) -> DocumentIngested:
    """The document as ingest published it, from what the store kept, marked as a reprocess."""
    query = (
        "SELECT file_name, original_text, encoding, format, size_bytes, ingested_at, file_facts "
        "FROM documents WHERE id = :id"
    )
    with engine.connect() as conn:
        row = conn.execute(sa.text(query), {"id": doc_id}).one()
    return DocumentIngested(
        doc_id=doc_id,
        file_name=row.file_name,
        original_text=row.original_text,
        encoding=row.encoding,
        format=row.format,
        size_bytes=row.size_bytes,
        ingested_at=row.ingested_at,
        # Its drop is long past: a latency from it would be its age.
        dropped_at=None,
        file_facts=_file_facts(row.file_name, row.file_facts),
        reprocess=True,
    )


def _file_facts(file_name: str, stored: dict[str, object] | None) -> FileFacts | None:
    """What came with the file; for a document stored before file facts were kept, the place its
    folder gives it, as ingest would have found it."""
    if stored:
        return FileFacts.model_validate(stored)
    folder, _, _ = file_name.rpartition("/")
    return with_folder_place(None, folder)


def stored_before_file_facts(engine: Engine, doc_ids: Sequence[str]) -> int:
    """How many of the documents were stored before file facts were kept (migration 0007)."""
    # The store writes JSON null when nothing came with a file: SQL NULL is only in older rows.
    query = "SELECT count(*) FROM documents WHERE id = ANY(:ids) AND file_facts IS NULL"
    with engine.connect() as conn:
        return int(conn.execute(sa.text(query), {"ids": list(doc_ids)}).scalar_one())


def last_log_id(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT coalesce(max(id), 0) FROM ingest_log")).scalar_one())


def outcomes_since(engine: Engine, log_id: int, doc_ids: Sequence[str]) -> dict[str, str]:
    """By document, the first outcome logged after `log_id`: what became of its reprocessing."""
    query = (
        "SELECT DISTINCT ON (doc_id) doc_id, status FROM ingest_log "
        "WHERE id > :after AND doc_id = ANY(:ids) ORDER BY doc_id, id"
    )
    with engine.connect() as conn:
        return dict(conn.execute(sa.text(query), {"after": log_id, "ids": list(doc_ids)}).tuples().all())


@dataclass
class Tally:
    """How far a reprocess got: documents published, and stored since."""

    published: int = 0
    stored: int = 0


class NothingStored(Exception):
    """The store stored nothing for as long as the command was told to wait."""


async def reprocess(
    settings: Settings,
    engine: Engine,
    doc_ids: Sequence[str],
    *,
    wait: bool,
    timeout_s: float,
    tally: Tally | None = None,
    progress: TextIO = sys.stderr,
) -> int:
    """Publish the documents to normalize and, unless told not to, wait until the store has them, or
    until it has stored nothing for `timeout_s`; `tally` says how far it got if it is interrupted."""
    tally = tally if tally is not None else Tally()
    started = time.monotonic()
    before = last_log_id(engine)
    if older := stored_before_file_facts(engine, doc_ids):
        _say(
            progress,
            f"{older} of the {len(doc_ids)} documents were stored before file facts were kept: their "
            "folder's place is given them again, but a sidecar's facts, if they had one, cannot be recovered",
            end="\n",
        )
    async with publisher(settings) as sending:
        stream = sending.topology.ingested
        for start in range(0, len(doc_ids), PROGRESS_EVERY):
            for doc_id in doc_ids[start : start + PROGRESS_EVERY]:
                await sending.publish(stream, await asyncio.to_thread(stored_document, engine, doc_id))
                tally.published += 1
            _say(progress, f"published {min(start + PROGRESS_EVERY, len(doc_ids))}/{len(doc_ids)}")
    _say(progress, f"published {len(doc_ids)} documents to {stream}", end="\n")
    if not wait:
        print(f"published {len(doc_ids)} documents; `wenming lag` shows the pipeline's progress")
        return 0
    try:
        outcomes = await _wait_for_store(engine, before, doc_ids, progress, tally, timeout_s)
    except NothingStored:
        unfinished(tally, f"nothing stored for {timeout_s:g}s", progress)
        return 1
    counts = {status: list(outcomes.values()).count(status) for status in set(outcomes.values())}
    # What the store reports as "stored" for a document deleted meanwhile counts as updated.
    counts["updated"] = counts.get("updated", 0) + counts.pop("stored", 0)
    print(reprocess_summary(len(doc_ids), counts, time.monotonic() - started))
    return 1 if counts.get("failed") else 0


def unfinished(tally: Tally, why: str, progress: TextIO = sys.stderr) -> None:
    """The last line of a reprocess that stopped waiting before the store had every document."""
    _say(progress, "", end="")
    print(
        f"{why}: {tally.published} published, {tally.stored} stored so far; the pipeline will still "
        "process the rest when it runs (`wenming lag` shows its progress)"
    )


async def _wait_for_store(
    engine: Engine, before: int, doc_ids: Sequence[str], progress: TextIO, tally: Tally, timeout_s: float
) -> dict[str, str]:
    outcomes: dict[str, str] = {}
    last_change = last_line = time.monotonic()
    warned = False
    while len(outcomes) < len(doc_ids):
        await asyncio.sleep(POLL_S)
        found = await asyncio.to_thread(outcomes_since, engine, before, doc_ids)
        changed = len(found) > len(outcomes)
        if changed:
            last_change, warned = time.monotonic(), False
        outcomes = found
        tally.stored = len(outcomes)
        if time.monotonic() - last_change > timeout_s:
            raise NothingStored
        # Redrawn on a terminal; elsewhere (a log) a line when it moved, at most every few seconds.
        if progress.isatty() or (changed and time.monotonic() - last_line >= LOG_EVERY_S):
            last_line = time.monotonic()
            _say(progress, f"stored {len(outcomes)}/{len(doc_ids)}", end="" if progress.isatty() else "\n")
        if not warned and time.monotonic() - last_change > QUIET_WARNING_S:
            _say(
                progress,
                f"nothing stored for {QUIET_WARNING_S:g}s: is the pipeline running? (`wenming lag`)",
                end="\n",
            )
            warned = True
    _say(progress, "", end="")
    return outcomes


def _say(stream: TextIO, line: str, *, end: str = "") -> None:
    """Progress on one line that redraws on a terminal; elsewhere, only the lines that end."""
    if stream.isatty():
        stream.write("\r\033[K" + line + end)
        stream.flush()
    elif end:
        print(line, file=stream, flush=True)
