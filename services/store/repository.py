"""Writes and reads of the store; keyword-only functions that take a session."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Literal

from packaging.version import InvalidVersion, Version
from sqlalchemy import delete, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col

from services.store.regions import Region
from services.store.search import IndexedPassage
from services.store.tables import Document, IndicatorRow, IngestLogEntry, MetricRow, PassageRow, RegionRow
from shared.contracts import DeadLetter, DocumentExtracted

StoreOutcome = Literal["stored", "updated", "unchanged", "stale"]
# Rows sent per INSERT: a long report's figures are built and sent a slice at a time.
_ROWS_PER_INSERT = 2_000


def judge_version(stored: str | None, incoming: str) -> StoreOutcome:
    """What storing `incoming` means given the extractor version already stored (None: none yet)."""
    if stored is None:
        return "stored"
    if stored == incoming:
        return "unchanged"
    try:
        newer = Version(incoming) > Version(stored)
    except InvalidVersion:
        newer = True  # versions we cannot order: the latest message wins
    return "updated" if newer else "stale"


def store_document(
    session: Session, *, document: DocumentExtracted, passages: Sequence[IndexedPassage], now: datetime
) -> StoreOutcome:
    """Upsert a document and replace its metrics and passages, in the caller's transaction; safe to repeat.

    A message from an older extractor (a redelivery, or a replica not yet upgraded) never
    replaces the figures of a newer one.
    """
    # The row lock makes concurrent stores of one document take turns; a first store of the same
    # document by two replicas is serialised by the upsert's conflict handling instead.
    stored = session.execute(
        select(col(Document.extractor_version)).where(col(Document.id) == document.doc_id).with_for_update()
    ).scalar_one_or_none()
    outcome = judge_version(stored, document.extractor_version)
    if outcome in ("stored", "updated"):
        _upsert_document(session, document=document, now=now)
        _replace_rows(
            session,
            PassageRow,
            document.doc_id,
            (
                {
                    "document_id": document.doc_id,
                    "ordinal": n,
                    "start_offset": p.start,
                    "text": p.text,
                    "search_terms": p.terms,
                }
                for n, p in enumerate(passages)
            ),
        )
        _replace_rows(
            session,
            MetricRow,
            document.doc_id,
            (
                {
                    "document_id": document.doc_id,
                    "ordinal": ordinal,
                    "value": metric.value,
                    "value_max": metric.value_max,
                    "unit_kind": metric.unit_kind,
                    "measure_word": metric.measure_word,
                    "qualifier": metric.qualifier,
                    "change": metric.change,
                    "indicator": metric.indicator,
                    "subject": metric.subject,
                    "city": metric.city,
                    "place_code": metric.place_code,
                    "place_level": metric.place_level,
                    "place_basis": metric.place_basis,
                    "year": metric.year,
                    "surface": metric.surface,
                    "start_offset": metric.start,
                    "end_offset": metric.end,
                    "sentence": metric.sentence,
                }
                for ordinal, metric in enumerate(document.metrics)
            ),
        )
    session.add(
        IngestLogEntry(
            doc_id=document.doc_id,
            file_name=document.file_name,
            status=outcome,
            stage="store",
            reason=None,
            logged_at=now,
        )
    )
    return outcome


def _replace_rows(
    session: Session,
    table: type[PassageRow] | type[MetricRow],
    document_id: str,
    rows: Iterable[dict[str, Any]],
) -> None:
    """A document's rows of `table`, all replaced: a re-extraction may find fewer or other figures.

    Inserted as plain rows, not ORM objects: a 15 MB report has tens of thousands of figures, and
    the ORM's per-object bookkeeping (and fetching back every id) made that take seconds per 10,000.
    """
    session.execute(delete(table).where(col(table.document_id) == document_id))
    rows = iter(rows)
    while chunk := list(itertools.islice(rows, _ROWS_PER_INSERT)):
        session.execute(insert(table), chunk)


def _upsert_document(session: Session, *, document: DocumentExtracted, now: datetime) -> None:
    meta = document.metadata
    values: dict[str, Any] = {
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
    }
    statement = insert(Document).values(**values)
    kept = {"id", "stored_at"}
    statement = statement.on_conflict_do_update(
        index_elements=["id"],
        set_={key: statement.excluded[key] for key in values if key not in kept},
    )
    session.execute(statement)


def log_failure(session: Session, *, letter: DeadLetter) -> None:
    """Record a file or message that could not be used, with the reason."""
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
