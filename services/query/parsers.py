"""The `wenming query` and `wenming report` command lines. Only argparse here: the commands load the
database driver, rich and the chart library when they run, so that `wenming --help` stays quick."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_query_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    formatter_class: type[argparse.HelpFormatter] = argparse.ArgumentDefaultsHelpFormatter,
) -> None:
    """Register `wenming query {figures,compare,search,doc}` and `wenming report` on the `wenming` parser."""
    query = commands.add_parser(
        "query",
        formatter_class=formatter_class,
        help="figures, places compared, full-text search and documents, without SQL",
        description="Read the store (WENMING_DATABASE_URL, as `wenming env` gives it). Names may be "
        "short (保定 finds 保定市); indicators are codes or Chinese names; Traditional script is read as "
        "Simplified.",
    )
    kinds = query.add_subparsers(dest="query", required=True, help="what to look up")

    figures = kinds.add_parser(
        "figures",
        formatter_class=formatter_class,
        help="every figure of a place, indicator or year, in its sentence",
    )
    figures.add_argument("--city", action="append", help="place, short or full (保定, 保定市); repeatable")
    figures.add_argument("--indicator", help="code or name (volunteer.registered, 注册志愿者, volunteer)")
    figures.add_argument("--year", type=int, help="only figures the text says are for this year")
    _add_outputs(figures)

    compare = kinds.add_parser(
        "compare",
        formatter_class=formatter_class,
        help="places side by side on one indicator, the figure to cite",
    )
    compare.add_argument("--indicator", required=True, help="code or name (practice.stations, 实践站)")
    compare.add_argument("--city", action="append", help="only these places; repeatable")
    compare.add_argument("--year", type=int, help="only this stated year")
    _add_outputs(compare)

    search = kinds.add_parser(
        "search",
        formatter_class=formatter_class,
        help="full-text search of every document, Simplified or Traditional",
    )
    search.add_argument("text", nargs="+", help="words to find (垃圾分类, 垃圾分類); several: all of them")
    search.add_argument("--limit", type=int, default=100, help="passages shown at most")
    _add_outputs(search)

    doc = kinds.add_parser(
        "doc", formatter_class=formatter_class, help="a document's figures, each highlighted in its sentence"
    )
    doc.add_argument("document", help="a file (found by its content), a file name or part, or an id prefix")
    _add_outputs(doc)
    query.set_defaults(handler=_query)

    report = commands.add_parser(
        "report",
        formatter_class=formatter_class,
        help="an HTML page with charts: one indicator across places and years, or an overview",
        description="Writes one self-contained HTML page (it opens with no network).",
    )
    report.add_argument("--indicator", help="code or name; without it: the overview (coverage heat map)")
    report.add_argument("--out", type=Path, default=Path("report.html"), help="file to write")
    report.set_defaults(handler=_report)


def _add_outputs(parser: argparse.ArgumentParser) -> None:
    outputs = parser.add_mutually_exclusive_group()
    outputs.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    outputs.add_argument("--json", action="store_true", help="print a JSON array instead of a table")
    outputs.add_argument("--xlsx", type=Path, metavar="FILE", help="write an Excel workbook")


def _query(args: argparse.Namespace) -> int:
    from services.query.commands import run_query

    return run_query(args)


def _report(args: argparse.Namespace) -> int:
    from services.query.commands import run_report

    return run_report(args)
