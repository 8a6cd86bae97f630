"""Paragraphs, sentences and clauses of a normalized text, each traceable to its offsets."""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left
from dataclasses import dataclass, field
from functools import lru_cache

from shared.text import ORDINAL_NUMERALS

_SENTENCE_END = "。！？!?；;"
_LINE_END = '。！？!?；;：:…”"）)】]'
_CLAUSE_BREAKS = "，,：:"
_CJK = re.compile(r"[\u4e00-\u9fff“‘《（(]")
_CJK_CHAR = re.compile(r"[\u4e00-\u9fff]")
_SPACE_RUN = re.compile(r"\s+")
_SENTENCE_MARK = re.compile(f"[{re.escape(_SENTENCE_END)}.．]")
# A clause ends at 。！？；，：, but not at the comma of '1,234' or the colon of '10:58'; and at a dash
# ('…仍有差距——江津区…'), but not one joining the ends of a range ('2021——2025年').
_CLAUSE_BREAK = re.compile(rf"[{re.escape(_SENTENCE_END)}]|(?<!\d)[，,：:]|[，,：:](?!\d)|(?<!\d)——|——(?!\d)")
_HEADING_MAX = 40
# The numbering of a heading in a work report: '一、', '（一）', '1.', '1、', '（1）'.
_NUMBERED_HEADING = re.compile(
    rf"^(?P<l1>[{ORDINAL_NUMERALS}]{{1,3}}、)|^(?P<l2>[（(][{ORDINAL_NUMERALS}]{{1,3}}[）)])"
    r"|^(?P<l3>\d{1,2}(?:\.(?!\d)|、|．))|^(?P<l4>[（(]\d{1,2}[）)])"
)
# Signs that open the items of a list ('● 城市书房 130家', '▲某区…').
LIST_MARKS = tuple("●○■□◆◇▲△★☆•·▪▶►※-－*")
# A row of a table rendered as text: cells split by '|'.
TABLE_CELL = re.compile(r"[|｜]")


def heading_level(line: str) -> int:
    """The depth of a numbered heading (1 for '一、', 2 for '（一）', …), 0 when it is not numbered."""
    m = _NUMBERED_HEADING.match(line.strip())
    if m is None:
        return 0
    return next(int(name[1]) for name, value in m.groupdict().items() if value)


def is_table_row(line: str) -> bool:
    """Whether a line is a table row rendered as text ('指标 | 2022年 | 2023年')."""
    return len(TABLE_CELL.findall(line)) >= 2


@dataclass(frozen=True, slots=True)
class Paragraph:
    """A paragraph of text: lines broken mid-sentence are rejoined."""

    index: int
    start: int
    end: int
    is_heading: bool


@dataclass(slots=True)
class Sentence:
    """A sentence with whitespace removed (`compact`); `index[i]` is the text offset of compact[i]."""

    start: int
    end: int
    paragraph: Paragraph
    compact: str
    # Offsets as 32-bit machine integers: a list of Python ints costs nine times more, which long reports
    # feel (a document is far shorter than 2**31 characters).
    index: array[int] = field(repr=False)
    position: int = 0  # the sentence's rank inside its paragraph

    def text_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a compact span [start, end) to a span of the normalized text."""
        return self.index[start], self.index[end - 1] + 1


def _is_heading_line(line: str) -> bool:
    stripped = line.strip()
    return (
        0 < len(stripped) <= _HEADING_MAX
        and stripped[-1] not in _LINE_END
        and not any(ch in stripped for ch in "，,。；;")
        and not is_table_row(stripped)
        and not stripped.startswith(LIST_MARKS)  # '● 注册志愿者 156.3万名': a list item, not a heading
    )


def _joins_next(line: str, following: str) -> bool:
    """A line cut mid-sentence: long or clause-bearing, no closing punctuation, next line goes on in CJK."""
    stripped, nxt = line.strip(), following.strip()
    if not stripped or not nxt or stripped[-1] in _LINE_END:
        return False
    if _NUMBERED_HEADING.match(stripped) and len(stripped) <= _HEADING_MAX:
        return False  # '二、存在的问题': a numbered heading stands on its own line
    if not (len(stripped) >= 30 or any(ch in stripped for ch in "，,、")):
        return False
    return bool(_CJK.match(nxt)) and not nxt.startswith(("◎", "——"))


def split_paragraphs(text: str) -> list[Paragraph]:
    """Split into paragraphs at line breaks, rejoining lines broken mid-sentence."""
    lines: list[tuple[int, int]] = []
    pos = 0
    for raw in text.split("\n"):
        lines.append((pos, pos + len(raw)))
        pos += len(raw) + 1
    paragraphs: list[Paragraph] = []
    i = 0
    while i < len(lines):
        start, end = lines[i]
        if not text[start:end].strip():
            i += 1
            continue
        j = i
        while True:
            k = j + 1
            while k < len(lines) and not text[lines[k][0] : lines[k][1]].strip():
                k += 1
            if k < len(lines) and _joins_next(
                text[lines[j][0] : lines[j][1]], text[lines[k][0] : lines[k][1]]
            ):
                j = k
                continue
            break
        end = lines[j][1]
        heading = j == i and _is_heading_line(text[start:end])
        paragraphs.append(Paragraph(len(paragraphs), start, end, heading))
        i = j + 1
    return paragraphs


def split_sentences(text: str, paragraphs: list[Paragraph]) -> list[Sentence]:
    """Split each paragraph into sentences at 。！？；, compacting away whitespace."""
    sentences: list[Sentence] = []
    for para in paragraphs:
        compact, index = _compacted(text, para.start, para.end)
        begin = 0
        for position, end in enumerate(_sentence_ends(text, compact, index, para.end)):
            sentences.append(
                Sentence(
                    index[begin], index[end - 1] + 1, para, compact[begin:end], index[begin:end], position
                )
            )
            begin = end
    return sentences


def _compacted(text: str, start: int, end: int) -> tuple[str, array[int]]:
    """text[start:end] without its whitespace, and the text offset of each character kept; built run by
    run between spaces (a paragraph has few), not character by character."""
    pieces: list[str] = []
    index: array[int] = array("i")
    kept_from = start
    for space in _SPACE_RUN.finditer(text, start, end):
        if space.start() > kept_from:
            pieces.append(text[kept_from : space.start()])
            index.extend(range(kept_from, space.start()))
        kept_from = space.end()
    if kept_from < end:
        pieces.append(text[kept_from:end])
        index.extend(range(kept_from, end))
    return "".join(pieces), index


def _sentence_ends(text: str, compact: str, index: array[int], para_end: int) -> list[int]:
    """Compact offsets where the paragraph's sentences end (the last one at the paragraph's end)."""
    ends: list[int] = []
    for m in _SENTENCE_MARK.finditer(compact):
        i = m.start()
        if compact[i] in ".．" and not _dot_ends_sentence(
            text, index[i], para_end, compact[ends[-1] if ends else 0 : i + 1]
        ):
            continue
        ends.append(i + 1)
    if compact and (not ends or ends[-1] < len(compact)):
        ends.append(len(compact))
    return ends


_ENUMERATOR = re.compile(rf"^(?:\d{{1,2}}|[{ORDINAL_NUMERALS}]{{1,3}})[.．]$")


def _dot_ends_sentence(text: str, pos: int, end: int, sentence: str) -> bool:
    """A '.' before a Chinese character or after a word ends a sentence ('达到95%.全市…', '1560个.2022年…'),
    but not in a decimal ('3.5万') or an item number ('1.全面推进')."""
    following = pos + 1
    while following < end and text[following].isspace():
        following += 1
    if following >= end:
        return False
    after, before = text[following], text[pos - 1] if pos > 0 else ""
    if _CJK_CHAR.match(after):
        return not _ENUMERATOR.match(sentence)
    return after.isdigit() and bool(_CJK_CHAR.match(before))


def clause_bounds(compact: str, pos: int) -> tuple[int, int]:
    """Return the [start, end) of the clause (between ，：) holding compact position `pos`."""
    starts, ends = _clause_breaks(compact)
    k = bisect_left(starts, pos)
    return (ends[k - 1] if k else 0), (starts[k] if k < len(starts) else len(compact))


@lru_cache(maxsize=256)  # every figure of a sentence asks for its clause
def _clause_breaks(compact: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Where each clause break of `compact` starts and ends."""
    breaks = [m.span() for m in _CLAUSE_BREAK.finditer(compact)]
    return tuple(start for start, _ in breaks), tuple(end for _, end in breaks)


def segment_bounds(compact: str, pos: int, lo: int, hi: int) -> tuple[int, int]:
    """Return the [start, end) of the enumeration item (between 、) holding `pos`, inside [lo, hi)."""
    start = pos
    while start > lo and compact[start - 1] != "、":
        start -= 1
    end = pos
    while end < hi and compact[end] != "、":
        end += 1
    return start, end


def forget_clauses() -> None:
    """Drop the clause breaks remembered of the sentences of the page before."""
    _clause_breaks.cache_clear()
