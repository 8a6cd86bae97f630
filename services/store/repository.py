"""Writes and reads of the store; keyword-only functions that take a session."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

import psycopg
from packaging.version import InvalidVersion, Version
from psycopg import sql
from sqlalchemy import Connection, delete, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col

from services.store.figures import StreamedFigures
from services.store.regions import Region
from services.store.search import index_passages
from services.store.tables import (
    DeadLetterRow,
    Document,
    IndicatorRow,
    IngestLogEntry,
    MetricRow,
    PassageRow,
    RegionRow,
)
from shared.contracts import DeadLetter, DocumentExtracted, Metric
from shared.figure_columns import FIGURE_FIELDS

StoreOutcome = Literal["stored", "updated", "unchanged", "stale"]


def judge_version(stored: str | None, incoming: str, *, reprocess: bool = False) -> StoreOutcome:
    """What storing `incoming` means given the extractor version already stored (None: none yet).

    A document reprocessed (`wenming reprocess`) replaces the figures of the same version too, which
    a redelivery or the same file dropped again does not.
    """
    if stored is None:
        return "stored"
    if stored == incoming:
        return "updated" if reprocess else "unchanged"
    try:
        newer = Version(incoming) > Version(stored)
    except InvalidVersion:
        newer = True  # versions we cannot order: the latest message wins
    return "updated" if newer else "stale"


def store_documents(
    connection: Connection,
    *,
    documents: Sequence[DocumentExtracted],
    now: datetime,
    streamed: Mapping[str, StreamedFigures] | None = None,
) -> list[StoreOutcome]:
    """Upsert documents and replace their metrics and passages, in the caller's transaction; safe to repeat.

    `streamed` gives, by document id, the figures of documents whose `metrics` are still a reference.

    One statement per table for the whole group, rows streamed with COPY: per-row INSERTs cost a
    round trip and the ORM's bookkeeping each, which made a 15 MB report take half a minute. A
    message from an older extractor (a redelivery, or a replica not yet upgraded) never replaces
    the figures of a newer one; a document given twice is judged against the first.
    """
    # The row locks make concurrent stores of one document take turns; taken in id order, so that two
    # replicas storing overlapping groups cannot deadlock. A first store of the same document by two
    # replicas is serialised by the upsert's conflict handling instead.
    ids = sorted({document.doc_id for document in documents})
    locked = connection.execute(
        select(col(Document.id), col(Document.extractor_version))
        .where(col(Document.id).in_(ids))
        .order_by(col(Document.id))
        .with_for_update()
    )
    stored: dict[str, str | None] = {doc_id: version for doc_id, version in locked}
    outcomes: list[StoreOutcome] = []
    written: dict[str, DocumentExtracted] = {}
    for document in documents:
        outcome = judge_version(
            stored.get(document.doc_id), document.extractor_version, reprocess=document.reprocess
        )
        if outcome in ("stored", "updated"):
            stored[document.doc_id] = document.extractor_version
            written[document.doc_id] = document
        outcomes.append(outcome)
    if written:
        replaced = [written[doc_id] for doc_id in sorted(written)]
        _upsert_documents(connection, documents=replaced, now=now)
        for table in (PassageRow, MetricRow):
            connection.execute(delete(table).where(col(table.document_id).in_(list(written))))
        _copy_rows(connection, PassageRow, _PASSAGE_COLUMNS, _passage_rows(replaced))
        streamed = streamed or {}
        _copy_rows(connection, MetricRow, _METRIC_COLUMNS, _metric_rows(replaced, streamed))
        for doc_id in streamed.keys() & written.keys():  # counted only as they were sent
            connection.execute(
                update(Document).where(col(Document.id) == doc_id).values(metric_count=streamed[doc_id].count)
            )
    connection.execute(
        insert(IngestLogEntry),
        [
            {
                "doc_id": document.doc_id,
                "file_name": document.file_name,
                "status": outcome,
                "stage": "store",
                "reason": None,
                "logged_at": now,
            }
            for document, outcome in zip(documents, outcomes, strict=True)
        ],
    )
    return outcomes


_PASSAGE_COLUMNS = ("document_id", "ordinal", "start_offset", "text", "search_terms")
_METRIC_COLUMNS = (
    "document_id",
    "ordinal",
    *FIGURE_FIELDS,
    "surface",
    "start_offset",
    "end_offset",
    "sentence",
)


def _passage_rows(documents: Iterable[DocumentExtracted]) -> Iterator[tuple[Any, ...]]:
    # Made one at a time as COPY sends them: a long report's passages and their terms are never all
    # in memory at once.
    for document in documents:
        for ordinal, passage in enumerate(index_passages(document.text)):
            yield document.doc_id, ordinal, passage.start, passage.text, passage.terms


_figure_fields = operator.attrgetter(*FIGURE_FIELDS)


def _metric_rows(
    documents: Iterable[DocumentExtracted], streamed: Mapping[str, StreamedFigures]
) -> Iterator[tuple[Any, ...]]:
    for document in documents:
        metrics: Iterable[Metric] = streamed.get(document.doc_id, document.metrics)
        for ordinal, m in enumerate(metrics):
            yield (document.doc_id, ordinal, *_figure_fields(m), m.surface, m.start, m.end, m.sentence)


def _copy_rows(
    connection: Connection,
    table: type[PassageRow] | type[MetricRow],
    columns: Sequence[str],
    rows: Iterable[tuple[Any, ...]],
) -> None:
    """Stream rows into `table` with COPY, on the transaction's own connection."""
    driver = connection.connection.driver_connection
    assert isinstance(driver, psycopg.Connection), "the store runs on psycopg 3"
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(str(table.__tablename__)), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    try:
        # psycopg's own writer waits for the server every megabyte: rows are made only as fast as
        # Postgres takes them in (indexing a passage costs it more than making it costs us), so a
        # long report's passages are never queued up in memory.
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    except psycopg.Error as exc:
        # As SQLAlchemy wraps the errors of every other statement, for the store to tell bad data
        # from a database away.
        raise DBAPIError.instance(statement.as_string(driver), None, exc, psycopg.Error) from exc


def _upsert_documents(
    connection: Connection, *, documents: Sequence[DocumentExtracted], now: datetime
) -> None:
    rows = [_document_row(document, now=now) for document in documents]
    statement = insert(Document)
    kept = {"id", "stored_at"}
    statement = statement.on_conflict_do_update(
        index_elements=["id"],
        set_={key: statement.excluded[key] for key in rows[0] if key not in kept},
    )
    # The rows as parameters, not in the statement: compiled once per process, not once per batch.
    connection.execute(statement, rows)


def _document_row(document: DocumentExtracted, *, now: datetime) -> dict[str, Any]:
    meta = document.metadata
    return {
        "id": document.doc_id,
        "file_name": document.file_name,
        "title": meta.title,
        "published_on": meta.published_on,
        "source": meta.source,
        "author": meta.author,
        "places": list(meta.places),
        "script": document.script,
        "encoding": document.encoding,
        "format": document.format,
        "size_bytes": document.size_bytes,
        "original_text": document.original_text,
        "simplified_text": document.text,
        "extractor_version": document.extractor_version,
        "metric_count": len(document.metrics),
        "ingested_at": document.ingested_at,
        "stored_at": now,
        "updated_at": now,
        "file_facts": document.file_facts.model_dump(mode="json") if document.file_facts else None,
    }


def log_failure(session: Session, *, letter: DeadLetter) -> None:
    """Record a file or message that could not be used, with the reason: in the ingest log, and as a
    dead letter that `wenming dlq` lists and replays (its payload's references already put back)."""
    # Postgres keeps no NUL in text or JSON: a letter refused for one would hold up every letter after it.
    letter = letter.model_validate(without_nul(letter.model_dump()))
    session.add(
        DeadLetterRow(
            stage=letter.stage,
            stream=letter.stream,
            doc_id=letter.doc_id,
            file_name=letter.file_name,
            reason=letter.reason,
            error_type=letter.error_type,
            trace=letter.trace,
            failed_at=letter.failed_at,
            payload=letter.payload,
        )
    )
    session.add(
        IngestLogEntry(
            doc_id=letter.doc_id,
            file_name=letter.file_name,
            status="failed",
            stage=letter.stage,
            reason=letter.reason,
            logged_at=letter.failed_at,
            error_type=letter.error_type,
            trace=letter.trace,
        )
    )


def without_nul(value: Any) -> Any:
    """`value` with the NUL characters taken out of every string in it, keys included."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {without_nul(key): without_nul(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [without_nul(item) for item in value]
    return value


def sync_indicators(session: Session, *, catalog: Iterable[dict[str, Any]]) -> None:
    """Insert or update every catalog entry (codes are stable and never removed; names may be edited)."""
    for entry in catalog:
        row = {
            "code": entry["code"],
            "name_zh": entry.get("name_zh", ""),
            "name_en": entry.get("name_en", ""),
            "group_name": entry.get("group", ""),
            "unit_kind": entry.get("unit_kind", ""),
        }
        statement = insert(IndicatorRow).values(**row)
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["code"], set_={k: statement.excluded[k] for k in row if k != "code"}
            )
        )


# Rows per statement: Postgres takes at most 65,535 parameters in one.
_REGION_BATCH = 2_000


def sync_regions(session: Session, *, regions: Sequence[Region]) -> None:
    """Insert or update every administrative division; none is removed, since old figures may cite it."""
    columns = ("name", "level", "parent_code", "province", "prefecture")
    stored = RegionRow.__table__.c  # type: ignore[attr-defined]
    for start in range(0, len(regions), _REGION_BATCH):
        statement = insert(RegionRow).values(
            [
                {"code": r.code, **{c: getattr(r, c) for c in columns}}
                for r in regions[start : start + _REGION_BATCH]
            ]
        )
        # Unchanged rows are left alone, so a restart rewrites nothing.
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["code"],
                set_={c: statement.excluded[c] for c in columns},
                where=tuple_(*(stored[c] for c in columns)).is_distinct_from(
                    tuple_(*(statement.excluded[c] for c in columns))
                ),
            )
        )
