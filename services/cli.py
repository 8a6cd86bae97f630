"""The `wenming` command."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from services.ingest.readers import UnreadableDocument

METRIC_COLUMNS = (
    "file", "value", "unit_kind", "measure_word", "qualifier", "indicator", "subject",
    "city", "year", "surface", "start", "end", "sentence",
)


def _cmd_extract(args: argparse.Namespace) -> int:
    from services.analysis import Analyzer

    analyzer = Analyzer()
    status = 0
    rows: list[dict[str, object]] = []
    for path in args.files:
        try:
            analysis = analyzer.analyse_file(path)
        except (UnreadableDocument, OSError) as exc:
            print(f"wenming extract: {path}: {exc}", file=sys.stderr)
            status = 1
            continue
        for metric in analysis.metrics:
            row: dict[str, object] = {"file": path.name, **metric.model_dump()}
            if args.format == "jsonl":
                print(json.dumps(row, ensure_ascii=False))
            else:
                rows.append(row)
    if args.format == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=METRIC_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    elif args.format == "table":
        _print_table(rows)
    return status


def _print_table(rows: list[dict[str, object]]) -> None:
    columns = ("file", "surface", "value", "unit_kind", "qualifier", "indicator", "city", "year", "subject")
    cells = [[("" if r.get(c) is None else str(r.get(c))) for c in columns] for r in rows]
    widths = [max([_width(c)] + [_width(row[i]) for row in cells]) for i, c in enumerate(columns)]
    for line in [list(columns), *cells]:
        print("  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(line, widths, strict=True)))


def _width(text: str) -> int:
    """Terminal width: CJK characters take two columns."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wenming", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    extract = commands.add_parser("extract", help="print the figures in files, without Redis or Postgres")
    extract.add_argument("files", nargs="+", type=Path)
    extract.add_argument("--format", choices=("jsonl", "table", "csv"), default="table")
    extract.set_defaults(handler=_cmd_extract)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    sys.exit(args.handler(args))
