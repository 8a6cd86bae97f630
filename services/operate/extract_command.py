"""`wenming extract`: the figures of report files, printed as a table, JSON lines or CSV, with no server."""

from __future__ import annotations

import argparse
import csv
import json
import shlex
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from shared.figure_columns import FIGURE_FIELDS

if TYPE_CHECKING:  # `_analyzer` imports it when a file is read: the extractor takes seconds to load
    from services.analysis import Analyzer

METRIC_COLUMNS = ("file", *FIGURE_FIELDS, "surface", "start", "end", "sentence")


def add_extract_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    formatter_class: type[argparse.HelpFormatter],
) -> None:
    """Register `wenming extract` on the `wenming` parser."""
    summary = "print the figures in files, without Redis or Postgres"
    extract = commands.add_parser(
        "extract", help=summary, description=summary, formatter_class=formatter_class
    )
    extract.add_argument(
        "files", nargs="+", type=Path, metavar="FILE", help="report files: .txt, .html, .docx or .pdf"
    )
    extract.add_argument(
        "--format",
        choices=("table", "jsonl", "csv"),
        default="table",
        help="a table to read, or JSON lines or CSV for other programs",
    )
    extract.add_argument(
        "--resolve-relative-years",
        action="store_true",
        help="give 今年/去年 figures the year they mean, from the publication date (default: stated only)",
    )
    extract.set_defaults(handler=_cmd_extract)


def _cmd_extract(args: argparse.Namespace) -> int:
    from services.ingest.file_facts import read_file_facts
    from services.ingest.readers import UnreadableDocument

    analyzer: Analyzer | None = None
    status = 0
    read_any = False
    rows: list[dict[str, object]] = []
    progress = _Progress(len(args.files), sys.stderr)
    for path in args.files:
        progress.step(path.name)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            progress.note(f"wenming extract: {path}: {_unreadable(path, exc)}")
            status = 1
            continue
        if analyzer is None:  # built on the first readable file: loading the extractor takes seconds
            analyzer = _analyzer(args.resolve_relative_years)
        try:
            # What came with the file counts as it would in the inbox: its sidecar, its folder's place.
            analysis = analyzer.analyse_bytes(raw, path.name, read_file_facts(path))
        except UnreadableDocument as exc:
            progress.note(f"wenming extract: {path}: {exc}")
            status = 1
            continue
        read_any = True
        for metric in analysis.metrics:
            row: dict[str, object] = {"file": path.name, **metric.model_dump()}
            if args.format == "jsonl":
                print(json.dumps(row, ensure_ascii=False))
            else:
                rows.append(row)
    progress.close()
    if args.format == "csv" and read_any:
        writer = csv.DictWriter(sys.stdout, fieldnames=METRIC_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    elif args.format == "table" and rows:
        _print_table(rows)
    elif args.format == "table" and read_any:
        print("wenming extract: no figures found", file=sys.stderr)
    return status


def _analyzer(resolve_relative_years: bool) -> Analyzer:
    # Imported here: the extractor and the format libraries take seconds to load.
    from services.analysis import Analyzer

    return Analyzer(resolve_relative_years=resolve_relative_years)


def _unreadable(path: Path, error: OSError) -> str:
    """Why a file could not be opened, in words."""
    if isinstance(error, FileNotFoundError):
        return "no such file"
    if isinstance(error, IsADirectoryError):
        return f"is a folder; give the files in it, e.g. {shlex.quote(str(path))}/*.txt"
    if isinstance(error, PermissionError):
        return "not allowed to read it"
    return error.strerror or str(error)


class _Progress:
    """A one-line bar on stderr while several files are read, drawn only on a terminal."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.stream = stream
        self.shown = total > 1 and stream.isatty()
        self.done = 0

    def step(self, name: str) -> None:
        self.done += 1
        if not self.shown:
            return
        width = 24
        filled = width * (self.done - 1) // self.total
        line = f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} {name}"
        columns = shutil.get_terminal_size().columns
        self.stream.write("\r\033[K" + line[: columns - 1])
        self.stream.flush()

    def note(self, line: str) -> None:
        """A message that stays, printed above the bar."""
        if self.shown:
            self.stream.write("\r\033[K")
        print(line, file=self.stream, flush=True)

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()


def _print_table(rows: list[dict[str, object]]) -> None:
    columns = (
        "file",
        "surface",
        "value",
        "value_max",
        "unit_kind",
        "qualifier",
        "change",
        "indicator",
        "city",
        "place_level",
        "place_basis",
        "year",
        "subject",
    )
    cells = [[("" if r.get(c) is None else str(r.get(c))) for c in columns] for r in rows]
    widths = [max([_width(c)] + [_width(row[i]) for row in cells]) for i, c in enumerate(columns)]
    for line in [list(columns), *cells]:
        print("  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(line, widths, strict=True)))


def _width(text: str) -> int:
    """Terminal width: CJK characters take two columns."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
