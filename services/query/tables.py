"""Rows read from the store, shaped into the tables `wenming query` prints or writes.

Pure: the rows come in as dicts, so every table is tested without a database.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from services.query.highlights import excerpt, figure_span, term_spans
from services.query.results import Column, ResultTable, Row, bar, counted

SENTENCE = Column("sentence", emphasis="figure_spans")
YEAR = Column("year", numeric=True, grouped=False)
# The figure's place in its sentence, for files: code-point offsets, sentence[figure_start:figure_end].
FIGURE_OFFSETS = (Column("figure_start", terminal=False), Column("figure_end", terminal=False))


def with_figure_spans(rows: list[Row], to_simplified: Callable[[str], str]) -> list[Row]:
    """The rows with `figure_start`/`figure_end` and the span to emphasise in their sentence.

    Rows in text order: the n-th figure with a given surface in a sentence is its n-th occurrence.
    """
    seen: Counter[tuple[str, str, str]] = Counter()
    marked: list[Row] = []
    for row in rows:
        sentence, surface = row.get("sentence") or "", row.get("surface") or ""
        key = (row.get("document_id") or "", sentence, surface)
        span = figure_span(sentence, surface, occurrence=seen[key], to_simplified=to_simplified)
        seen[key] += 1
        start, end = span if span else (None, None)
        marked.append(
            {**row, "figure_start": start, "figure_end": end, "figure_spans": [span] if span else []}
        )
    return marked


def figures_table(rows: list[Row], *, title: str, notes: tuple[str, ...] = ()) -> ResultTable:
    """Every figure with its place, indicator and sentence (from metric_facts)."""
    columns = (
        Column("city"),
        Column("province", terminal=False),
        YEAR,
        Column("indicator"),
        Column("indicator_name_zh", terminal=False),
        Column("value", numeric=True),
        Column("value_max", terminal=False),
        Column("unit_kind", "unit"),
        Column("qualifier"),
        Column("change", terminal=False),
        Column("unit_kind_matches", terminal=False),
        Column("surface", terminal=False),
        SENTENCE,
        *FIGURE_OFFSETS,
        Column("file_name", "file"),
        Column("published_on", terminal=False),
        Column("document_id", terminal=False),
        Column("id", "metric_id", terminal=False),
    )
    empty = () if rows else ("No figures match.",)
    return ResultTable(title, columns, rows, caption=counted(len(rows), "figure"), notes=notes + empty)


def comparison_table(rows: list[Row], *, title: str) -> ResultTable:
    """Places side by side on one indicator (from city_indicator_year), largest figure first."""
    largest = max((r["value"] for r in rows if r.get("value") is not None), default=0.0)
    shaped = [{**row, "bar": bar(row.get("value"), largest), "agreeing": _agreement(row)} for row in rows]
    columns = (
        Column("city"),
        Column("province", terminal=False),
        Column("place_level", terminal=False),
        YEAR,
        Column("value", numeric=True),
        Column("bar", "", files=False),
        Column("value_max", terminal=False),
        Column("change", terminal=False),
        Column("unit_kind", "unit", terminal=False),
        Column("qualifier"),
        Column("surface", terminal=False),
        Column("agreeing", "agree", files=False),
        Column("documents", terminal=False),
        Column("documents_agreeing", terminal=False),
        Column("documents_disagreeing", terminal=False),
        Column("sentence", terminal=False),
        Column("file_name", "file"),
        Column("published_on", terminal=False),
        Column("document_id", terminal=False),
        Column("metric_id", terminal=False),
        Column("place_code", terminal=False),
    )
    unit = rows[0]["unit_kind"] if rows else ""
    caption = (
        f"{counted(len(rows), 'row')}, one per place and stated year; values in {unit}; agree: documents "
        "giving the cited figure, of those with one"
        if rows
        else ""
    )
    empty = () if rows else ("No place has a comparable figure for it.",)
    return ResultTable(title, columns, shaped, caption=caption, notes=empty)


def _agreement(row: Row) -> str:
    """'2 of 3': documents agreeing with the cited figure, of those with one for the place and year."""
    if row.get("documents") is None:
        return ""
    return f"{row['documents_agreeing']} of {row['documents']}"


def search_table(rows: list[Row], *, query: str, terms: list[str], limit: int) -> ResultTable:
    """Passages that match, each as an excerpt around its first hit."""
    shaped: list[Row] = []
    for row in rows:
        text, spans = excerpt(row["text"], terms)
        shaped.append(
            {**row, "excerpt": text, "excerpt_spans": spans, "hits": len(term_spans(row["text"], terms))}
        )
    columns = (
        Column("file_name", "file"),
        Column("published_on", "published"),
        Column("place"),
        Column("excerpt", emphasis="excerpt_spans"),
        Column("hits", numeric=True, terminal=False),
        Column("title", terminal=False),
        Column("passage", terminal=False),
        Column("document_id", terminal=False),
    )
    notes: tuple[str, ...] = ()
    if not rows:
        notes = (f"No passage matches {query}.",)
    elif len(rows) == limit:
        notes = (f"Showing the first {limit} passages; --limit shows more.",)
    documents = len({r["document_id"] for r in rows})
    caption = f"{counted(len(rows), 'passage')} in {counted(documents, 'document')}"
    return ResultTable(f"Passages matching {query}", columns, shaped, caption=caption, notes=notes)


def document_table(document: dict[str, Any], rows: list[Row]) -> ResultTable:
    """A document's figures in text order, each in its sentence (rows from with_figure_spans)."""
    columns = (
        Column("ordinal", "#", numeric=True),
        Column("surface", terminal=False),
        Column("value", numeric=True),
        Column("value_max", terminal=False),
        Column("change", terminal=False),
        Column("unit_kind", "unit"),
        Column("qualifier", terminal=False),
        Column("indicator"),
        Column("indicator_name_zh", terminal=False),
        Column("city"),
        Column("place_basis", terminal=False),
        YEAR,
        SENTENCE,
        *FIGURE_OFFSETS,
        Column("start_offset", terminal=False),
        Column("end_offset", terminal=False),
        Column("id", "metric_id", terminal=False),
    )
    numbered = [{**row, "ordinal": n} for n, row in enumerate(rows, start=1)]
    about = [
        f"published {document['published_on']}" if document.get("published_on") else "no publication date",
        "places " + "、".join(document.get("places") or []) if document.get("places") else "no place",
        counted(len(rows), "figure"),
        f"id {document['document_id'][:12]}",
    ]
    title = f"{document.get('title') or '(no title)'} — {document['file_name']}"
    empty = () if rows else ("The document has no figures.",)
    return ResultTable(title, columns, numbered, caption=" · ".join(about), notes=empty)
