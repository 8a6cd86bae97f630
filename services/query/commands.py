"""`wenming query` and `wenming report`: the store's figures for people who do not write SQL.

Wiring only: arguments in, names resolved, rows read (services.query.reads), shaped
(services.query.tables, services.report.pages) and written out.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from services.query import reads
from services.query.highlights import query_terms
from services.query.names import Indicator, match_indicators, match_places
from services.query.results import ResultTable, render, write_csv, write_json, write_xlsx
from services.query.tables import (
    comparison_table,
    document_table,
    figures_table,
    search_table,
    with_figure_spans,
)

Simplify = Callable[[str], str]


class QueryError(Exception):
    """A request the store cannot answer as asked; the message says why and what would work."""


@contextmanager
def _reading() -> Iterator[Connection]:
    """A read-only connection to the store named by WENMING_DATABASE_URL, its views checked."""
    from shared.settings import Settings

    url = Settings().database_url
    if not url:
        raise QueryError(
            "WENMING_DATABASE_URL is not set; in the folder where `wenming up` runs, "
            "`eval $(wenming env)` sets it"
        )
    engine = reads.reader_engine(url)
    try:
        with engine.connect() as conn:
            if missing := reads.missing_views(conn):
                raise QueryError(
                    f"the database has no {', '.join(missing)}: its schema is older than this command; "
                    "starting the store (`wenming up`) migrates it"
                )
            yield conn
    except sa.exc.OperationalError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise QueryError(f"cannot read the database: {reason}") from exc
    finally:
        engine.dispose()


def _simplifier() -> Simplify:
    from services.normalize.normalizer import ScriptConverter

    return ScriptConverter().to_simplified


def _places(conn: Connection, names: list[str], simplify: Simplify, notes: list[str]) -> list[str]:
    places = reads.read_places(conn)
    found: list[str] = []
    for name in names:
        matched = match_places(simplify(name), places)
        if not matched:
            raise QueryError(f"no place with figures is called {name}; places: {'、'.join(places)}")
        if matched != [name]:
            notes.append(f"{name}: {'、'.join(matched)}")
        found.extend(matched)
    return found


def _indicators(conn: Connection, name: str, simplify: Simplify) -> list[Indicator]:
    matched = match_indicators(simplify(name), reads.read_indicators(conn))
    if not matched:
        raise QueryError(
            f"no indicator is called {name}; `wenming report` lists those with figures, "
            "and the indicators table holds the catalog"
        )
    return matched


def _one_indicator(conn: Connection, name: str, simplify: Simplify, notes: list[str]) -> Indicator:
    matched = _indicators(conn, name, simplify)
    if len(matched) > 1:
        listed = "\n".join(f"  {i.code}  {i.name_zh}" for i in matched)
        raise QueryError(f"{name} could be {len(matched)} indicators; give one of these:\n{listed}")
    if matched[0].code != name:
        notes.append(f"{name}: {matched[0].code} {matched[0].name_zh}")
    return matched[0]


def _figures(conn: Connection, args: argparse.Namespace, simplify: Simplify) -> ResultTable:
    notes: list[str] = []
    cities = _places(conn, args.city, simplify, notes) if args.city else None
    indicators = None
    if args.indicator:
        matched = _indicators(conn, args.indicator, simplify)
        indicators = [i.code for i in matched]
        if indicators != [args.indicator]:
            notes.append(f"{args.indicator}: {', '.join(indicators)}")
    rows = reads.read_figures(conn, cities=cities, indicators=indicators, year=args.year)
    if args.year is not None:
        unstated = reads.read_figures(conn, cities=cities, indicators=indicators, unstated_year=True)
        if unstated:
            notes.append(
                f"{len(unstated)} more matching figures state no year; without --year they are shown too."
            )
    # A group or part of a name stands for its indicators in the title, as it was given.
    named = indicators if indicators is None or len(indicators) == 1 else [args.indicator]
    about = [*(cities or []), *(named or []), *([str(args.year)] if args.year else [])]
    title = "Figures" + (f": {' · '.join(about)}" if about else "")
    return figures_table(with_figure_spans(rows, simplify), title=title, notes=tuple(notes))


def _compare(conn: Connection, args: argparse.Namespace, simplify: Simplify) -> ResultTable:
    notes: list[str] = []
    indicator = _one_indicator(conn, args.indicator, simplify, notes)
    cities = _places(conn, args.city, simplify, notes) if args.city else None
    rows = reads.read_comparison(conn, indicator=indicator.code, year=args.year, cities=cities)
    table = comparison_table(rows, title=f"{indicator.name_zh} ({indicator.code}) by place")
    return ResultTable(
        table.title, table.columns, table.rows, caption=table.caption, notes=(*notes, *table.notes)
    )


def _search(conn: Connection, args: argparse.Namespace, simplify: Simplify) -> ResultTable:
    query = simplify(" ".join(args.text))
    terms = query_terms(query)
    if not terms:
        raise QueryError("nothing to search for: give Chinese characters, letters or digits")
    rows = reads.read_search(conn, query=query, limit=args.limit)
    table = search_table(rows, query=query, terms=terms, limit=args.limit)
    notes = list(table.notes)
    if query != " ".join(args.text):
        notes.insert(0, f"searching the Simplified form: {query}")
    if any(len(t) == 1 and not t.isascii() for t in terms):
        notes.append("a single character is found only where it stands alone; search two or more")
    return ResultTable(table.title, table.columns, table.rows, caption=table.caption, notes=tuple(notes))


def _document(conn: Connection, args: argparse.Namespace, simplify: Simplify) -> ResultTable:
    given = Path(args.document)
    notes: list[str] = []
    found: list[reads.Row] = []
    if given.is_file():
        content_id = hashlib.sha256(given.read_bytes()).hexdigest()
        found = reads.find_documents(conn, key=given.name, content_id=content_id)
        if not found:
            notes.append(f"the content of {given} is not stored; looking for a document named {given.name}")
    if not found:
        found = reads.find_documents(conn, key=given.name if given.name else args.document)
    if not found:
        raise QueryError(
            f"no stored document is {args.document} (a file, a file name or part, or an id prefix)"
        )
    if len(found) > 1:
        listed = "\n".join(f"  {d['document_id'][:12]}  {d['file_name']}" for d in found[:20])
        raise QueryError(
            f"{args.document} could be {len(found)} documents; give a longer name or an id:\n{listed}"
        )
    document = found[0]
    rows = reads.read_document_figures(conn, document_id=document["document_id"])
    table = document_table(document, with_figure_spans(rows, simplify))
    return ResultTable(
        table.title, table.columns, table.rows, caption=table.caption, notes=(*notes, *table.notes)
    )


_QUERIES: dict[str, Callable[[Connection, argparse.Namespace, Simplify], ResultTable]] = {
    "figures": _figures,
    "compare": _compare,
    "search": _search,
    "doc": _document,
}


def _write(table: ResultTable, args: argparse.Namespace) -> None:
    if args.csv:
        write_csv(table, sys.stdout)
    elif args.json:
        write_json(table, sys.stdout)
    elif args.xlsx:
        write_xlsx(table, args.xlsx)
        print(f"wrote {args.xlsx} ({len(table.rows)} rows)", file=sys.stderr)
    elif table.rows:  # an empty result is told by the notes alone
        from rich.console import Console

        render(table, Console())


def run_query(args: argparse.Namespace) -> int:
    try:
        with _reading() as conn:
            table = _QUERIES[args.query](conn, args, _simplifier())
    except QueryError as exc:
        print(f"wenming query {args.query}: {exc}", file=sys.stderr)
        return 1
    for note in table.notes:
        print(note, file=sys.stderr)
    _write(table, args)
    return 0


def run_report(args: argparse.Namespace) -> int:
    from services.report.pages import IndicatorReport, Overview, indicator_page, overview_page

    simplify = _simplifier()
    notes: list[str] = []
    try:
        with _reading() as conn:
            footer = (
                f"Made by <code>wenming report</code> on {datetime.now():%Y-%m-%d %H:%M} "
                f"from the database {html.escape(conn.engine.url.database or '')}."
            )
            if args.indicator:
                indicator = _one_indicator(conn, args.indicator, simplify, notes)
                [coverage] = reads.read_indicator_coverage(conn, indicator=indicator.code)
                report = IndicatorReport(
                    coverage=coverage,
                    cells=reads.read_comparison(conn, indicator=indicator.code),
                    figures=with_figure_spans(
                        reads.read_figures(conn, indicators=[indicator.code]), simplify
                    ),
                )
                page = indicator_page(report, footer=footer)
            else:
                overview = Overview(
                    cells=reads.read_coverage_cells(conn),
                    indicators=reads.read_indicator_coverage(conn),
                    documents=reads.read_document_summary(conn),
                )
                page = overview_page(overview, footer=footer)
    except QueryError as exc:
        print(f"wenming report: {exc}", file=sys.stderr)
        return 1
    for note in notes:
        print(note, file=sys.stderr)
    args.out.write_text(page, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0
