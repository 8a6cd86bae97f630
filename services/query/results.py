"""A query's result as a table, and its forms: a rich table on a terminal, CSV, JSON or an Excel workbook.

Nothing here touches the database, so each form is tested on rows made by hand.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from services.query.highlights import Span

Row = dict[str, Any]
EMPHASIS_STYLE = "bold red"
EMPHASIS_RGB = "C00000"


@dataclass(frozen=True)
class Column:
    """One column: `key` in the rows; `terminal` False keeps it to the files (offsets, ids), `files`
    False to the terminal (a bar drawn in characters)."""

    key: str
    header: str = ""
    terminal: bool = True
    files: bool = True
    numeric: bool = False
    grouped: bool = True  # digits in groups of three (1,300,000); not for years
    # Row key holding the spans of this column's text to emphasise (a figure in its sentence, a search hit).
    emphasis: str | None = None

    @property
    def title(self) -> str:
        return self.header or self.key


@dataclass(frozen=True)
class ResultTable:
    """Rows with the columns to show them in.

    `caption` is printed under the table on a terminal; `notes` go to standard error in every form,
    so that a CSV or JSON file holds only the rows.
    """

    title: str
    columns: tuple[Column, ...]
    rows: list[Row]
    caption: str = ""
    notes: tuple[str, ...] = field(default=())

    def file_keys(self) -> list[str]:
        """The columns files carry, in order."""
        return [c.key for c in self.columns if c.files]


def plain(value: Any) -> Any:
    """A value as files carry it: whole floats as integers, dates as ISO text, Decimal as float."""
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def format_number(value: float | int) -> str:
    """1300000 -> 1,300,000; 85.2 -> 85.2."""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.4f}".rstrip("0").rstrip(".")
    return f"{int(value):,}"


_EIGHTHS = " ▏▎▍▌▋▊▉"


def bar(value: float | None, largest: float, width: int = 12) -> str:
    """A horizontal bar of block characters, `width` long for `largest`."""
    if value is None or largest <= 0 or value <= 0:
        return ""
    eighths = round(value / largest * width * 8)
    return "█" * (eighths // 8) + _EIGHTHS[eighths % 8].strip()


def counted(n: int, noun: str) -> str:
    """'1 figure', '3 figures'."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def cell_text(value: Any, *, grouped: bool = True) -> str:
    """A value as a terminal shows it."""
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return format_number(value) if grouped else str(value)
    if isinstance(value, list):
        return ", ".join(cell_text(v) for v in value)
    return str(value)


def _spans(row: dict[str, Any], column: Column) -> list[Span]:
    return list(row.get(column.emphasis) or []) if column.emphasis else []


def write_csv(table: ResultTable, stream: IO[str]) -> None:
    """CSV with a header row; lists joined with '; '."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(table.file_keys())
    for row in table.rows:
        cells: list[Any] = []
        for key in table.file_keys():
            value = plain(row.get(key))
            cells.append("; ".join(map(str, value)) if isinstance(value, list) else value)
        writer.writerow(cells)


def write_json(table: ResultTable, stream: IO[str]) -> None:
    """A JSON array, one object per row, keys as in CSV."""
    records = [{key: plain(row.get(key)) for key in table.file_keys()} for row in table.rows]
    json.dump(records, stream, ensure_ascii=False, indent=1)
    stream.write("\n")


def _display_width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def write_xlsx(table: ResultTable, path: Path) -> None:
    """An Excel workbook: one sheet, a frozen bold header with filters, figures emphasised in sentences."""
    from openpyxl import Workbook
    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # a new workbook has one sheet
    sheet.title = "".join(ch for ch in table.title if ch not in "[]:*?/\\")[:31] or "result"
    sheet.append(table.file_keys())
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    emphasis = InlineFont(b=True, color=EMPHASIS_RGB)
    for row in table.rows:
        values: list[Any] = []
        for column in table.columns:
            if not column.files:
                continue
            value = plain(row.get(column.key))
            if isinstance(value, list):
                value = "; ".join(map(str, value))
            if isinstance(value, str) and (spans := _spans(row, column)):
                value = _rich_text(value, spans, emphasis, CellRichText, TextBlock)
            elif isinstance(value, str) and column.key == "published_on":
                value = date.fromisoformat(value)
            values.append(value)
        sheet.append(values)
    for index, column in enumerate([c for c in table.columns if c.files], start=1):
        longest = max(
            [_display_width(column.key)] + [_display_width(cell_text(r.get(column.key))) for r in table.rows]
        )
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = min(longest + 2, 60)
        if longest > 60:
            for cell in sheet[letter][1:]:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    workbook.save(path)


def _rich_text(text: str, spans: Sequence[Span], font: Any, rich_text: Any, block: Any) -> Any:
    parts: list[Any] = []
    position = 0
    for start, end in spans:
        if start > position:
            parts.append(text[position:start])
        parts.append(block(font, text[start:end]))
        position = end
    if position < len(text):
        parts.append(text[position:])
    return rich_text(parts)


def emphasised(text: str, spans: Sequence[Span]) -> Text:
    """Rich text with the spans in the emphasis style."""
    shown = Text(text)
    for start, end in spans:
        shown.stylize(EMPHASIS_STYLE, start, end)
    return shown


def render(table: ResultTable, console: Console) -> None:
    """The terminal form: a rich table of the terminal columns, with the caption under it."""
    shown = Table(
        title=table.title,
        caption=table.caption or None,
        title_justify="left",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    columns = [c for c in table.columns if c.terminal]
    for column in columns:
        shown.add_column(
            column.title,
            justify="right" if column.numeric else "left",
            overflow="fold",
            no_wrap=column.numeric,
        )
    for row in table.rows:
        shown.add_row(
            *(emphasised(cell_text(row.get(c.key), grouped=c.grouped), _spans(row, c)) for c in columns)
        )
    console.print(shown)
