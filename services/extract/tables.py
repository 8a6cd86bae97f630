"""Figures in tables rendered as text: cells split by tabs, runs of spaces or '|', with the unit of a bare
number given by a unit column ('单位'), the column's header ('完成值（万名）') or the row's label
('注册志愿者（万人）')."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from .figures import Figure, find_figures
from .sentences import Sentence

_CELL_GAP = re.compile(r"\t+|[ \u3000]{2,}|\s*[|｜]\s*")
_LOOSE_CELL_GAP = re.compile(r"\s+|\s*[|｜]\s*")
_PROSE_MARKS = re.compile(r"[，,。；;：:、]")
_UNIT_HEADER = re.compile(r"^(?:计量)?单位$")
_NOT_A_VALUE_HEADER = re.compile(r"序号|编号|^序$|排名|名次|代码")
_BARE_NUMBER = re.compile(r"^(?P<sign>[+＋\-－−])?(?P<number>\d+(?:,\d{3})*(?:\.\d+)?)$")
_SIGNED = re.compile(r"^(?P<sign>[+＋\-－−])(?=\d)")
_UNIT_IN_BRACKETS = re.compile(r"[（(](?P<unit>[^（()）]{1,6})[)）]\s*$")
_MIN_CELLS = 3
_RULE = re.compile(r"^:?-{2,}:?$")
# A column named by its year ('2023年', '2023年度', '2023'): a header cell, not a value.
_YEAR_LABEL = re.compile(r"^(?:19|20)\d{2}(?:年度?)?$")


@dataclass(frozen=True)
class Cell:
    start: int  # offset into the page text
    text: str


@dataclass
class TableReading:
    """What is known of the table being read: its header cells and which column holds the unit."""

    header: list[str] = field(default_factory=list)
    unit_column: int | None = None


@dataclass(frozen=True)
class TableFigures:
    figures: list[Figure]
    signs: dict[int, str]  # figure index → '+' or '-' written before it in its cell
    # figure index → what its column counts and in what unit (('注册志愿者', '万人')), for a cell whose
    # column header names the measure ('注册志愿者（万人）'): the row itself does not say it.
    labels: dict[int, tuple[str, str]] = field(default_factory=dict)


def cells_of(text: str, start: int, end: int) -> list[Cell]:
    """The cells of one line of the page text."""
    cells = []
    position = start
    line = text[start:end]
    # Normalizing may have closed tabs into single spaces; a line without clause punctuation splits there too.
    gap = _CELL_GAP if _PROSE_MARKS.search(line) else _LOOSE_CELL_GAP
    for piece in gap.split(line):
        offset = text.find(piece, position, end) if piece else position
        if piece.strip():
            cells.append(Cell(offset + len(piece) - len(piece.lstrip()), piece.strip()))
        position = offset + len(piece)
    return cells


def read_table_row(text: str, sentence: Sentence, reading: TableReading) -> TableFigures | None:
    """The figures of a table row, or None when the sentence is not a row of a table with cells."""
    para = sentence.paragraph
    if sentence.start != para.start or sentence.end < para.end - 1:
        return None  # a row is a whole line
    cells = cells_of(text, para.start, para.end)
    if len(cells) < _MIN_CELLS:
        return None
    if all(_RULE.match(c.text) for c in cells):
        return TableFigures([], {})  # '|---|---|': the rule under a header
    if not any(_has_digit(c.text) and not _YEAR_LABEL.match(c.text) for c in cells):
        reading.header = [c.text for c in cells]  # a header row: remember its columns
        reading.unit_column = next((i for i, h in enumerate(reading.header) if _UNIT_HEADER.match(h)), None)
        return TableFigures([], {})
    position = {text_pos: i for i, text_pos in enumerate(sentence.index)}
    row_unit = _bracketed_unit(cells[0].text) or (_bracketed_unit(cells[1].text) if len(cells) > 1 else None)
    figures: list[Figure] = []
    signs: dict[int, str] = {}
    labels: dict[int, tuple[str, str]] = {}
    for column, cell in enumerate(cells):
        header = reading.header[column] if column < len(reading.header) else ""
        if column == reading.unit_column or _NOT_A_VALUE_HEADER.search(header):
            continue
        bare = _BARE_NUMBER.match(cell.text)
        unit = None
        label: tuple[str, str] | None = None
        if bare:
            if reading.unit_column is not None and reading.unit_column < len(cells):
                unit = cells[reading.unit_column].text
            elif header_unit := _bracketed_unit(header):
                unit, label = header_unit, (_UNIT_IN_BRACKETS.sub("", header), header_unit)
            else:
                unit = row_unit
        if bare and not unit:
            return None  # a number with no unit anywhere: a line of words ('● 城市书房 130 家'), not a row
        found = _cell_figures(cell, bare, unit)
        for figure, sign in found:
            start = position.get(cell.start + figure.start)
            last = position.get(cell.start + figure.end - 1)
            if start is None or last is None:
                continue
            shift = start - figure.start
            if sign:
                signs[len(figures)] = sign
            if label:
                labels[len(figures)] = label
            figures.append(
                replace(
                    figure,
                    start=start,
                    end=last + 1,
                    number_start=figure.number_start + shift,
                    number_end=min(figure.number_end + shift, last + 1),
                    unit_end=min(figure.unit_end + shift, last + 1),
                )
            )
    if not signs and not any(_BARE_NUMBER.match(c.text) for c in cells):
        return None  # nothing a cell adds: read the row as a sentence, with its words around the figures
    return TableFigures(figures, signs, labels)


def _cell_figures(cell: Cell, bare: re.Match[str] | None, unit: str | None) -> list[tuple[Figure, str]]:
    """Figures of one cell, spans relative to the cell, each with the sign written before it."""
    if bare is not None:
        if not unit:
            return []
        number = bare.group("number")
        parsed = find_figures(number + unit)
        if not parsed or parsed[0].start != 0:
            return []
        offset = bare.start("number")
        figure = replace(
            parsed[0],
            start=offset,
            end=offset + len(number),
            number_start=offset,
            number_end=offset + len(number),
        )
        return [(replace(figure, unit_end=figure.end), _sign(bare.group("sign")))]
    signed = _SIGNED.match(cell.text)
    body = cell.text[signed.end() :] if signed else cell.text
    offset = signed.end() if signed else 0
    found = []
    for figure in find_figures(body):
        moved = replace(
            figure,
            start=figure.start + offset,
            end=figure.end + offset,
            number_start=figure.number_start + offset,
            number_end=figure.number_end + offset,
            unit_end=figure.unit_end + offset,
        )
        found.append((moved, _sign(signed.group("sign")) if signed and figure.start == 0 else ""))
    return found


def _sign(sign: str | None) -> str:
    return "" if not sign else ("+" if sign in "+＋" else "-")


def _bracketed_unit(label: str) -> str | None:
    m = _UNIT_IN_BRACKETS.search(label)
    return m.group("unit") if m else None


def _has_digit(text: str) -> bool:
    return any(ch.isdigit() for ch in text)
