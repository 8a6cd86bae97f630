"""Paragraphs, sentences and clauses of a normalized text, each traceable to its offsets."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_SENTENCE_END = "。！？!?；;"
_LINE_END = '。！？!?；;：:…”"）)】]'
_CLAUSE_BREAKS = "，,：:"
_CJK = re.compile(r"[\u4e00-\u9fff“‘《（(]")
_CJK_CHAR = re.compile(r"[\u4e00-\u9fff]")
_HEADING_MAX = 40
# The numbering of a heading in a work report: '一、', '（一）', '1.', '1、', '（1）'.
_NUMBERED_HEADING = re.compile(
    r"^(?P<l1>[一二三四五六七八九十]{1,3}、)|^(?P<l2>[（(][一二三四五六七八九十]{1,3}[）)])"
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


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of text: lines broken mid-sentence are rejoined."""

    index: int
    start: int
    end: int
    is_heading: bool


@dataclass
class Sentence:
    """A sentence with whitespace removed (`compact`); `index[i]` is the text offset of compact[i]."""

    start: int
    end: int
    paragraph: Paragraph
    compact: str
    index: list[int] = field(repr=False)
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
        chars: list[str] = []
        index: list[int] = []
        position = 0
        sent_start = None
        for pos in range(para.start, para.end):
            ch = text[pos]
            if ch.isspace():
                continue
            if sent_start is None:
                sent_start = pos
            chars.append(ch)
            index.append(pos)
            if ch in _SENTENCE_END or (ch in ".．" and _dot_ends_sentence(text, pos, para.end, chars)):
                sentences.append(Sentence(sent_start, pos + 1, para, "".join(chars), index, position))
                position += 1
                chars, index, sent_start = [], [], None
        if chars and sent_start is not None:
            sentences.append(Sentence(sent_start, index[-1] + 1, para, "".join(chars), index, position))
    return sentences


_ENUMERATOR = re.compile(r"^(?:\d{1,2}|[一二三四五六七八九十]{1,3})[.．]$")


def _dot_ends_sentence(text: str, pos: int, end: int, chars: list[str]) -> bool:
    """A '.' before a Chinese character ends a sentence ('达到95%.全市…'), but not in '1.全面推进'."""
    following = pos + 1
    while following < end and text[following].isspace():
        following += 1
    if following >= end or not _CJK_CHAR.match(text[following]):
        return False
    return not _ENUMERATOR.match("".join(chars))


def clause_bounds(compact: str, pos: int) -> tuple[int, int]:
    """Return the [start, end) of the clause (between ，：) holding compact position `pos`."""
    start = pos
    while start > 0 and not _is_clause_break(compact, start - 1):
        start -= 1
    end = pos
    while end < len(compact) and not _is_clause_break(compact, end):
        end += 1
    return start, end


def segment_bounds(compact: str, pos: int, lo: int, hi: int) -> tuple[int, int]:
    """Return the [start, end) of the enumeration item (between 、) holding `pos`, inside [lo, hi)."""
    start = pos
    while start > lo and compact[start - 1] != "、":
        start -= 1
    end = pos
    while end < hi and compact[end] != "、":
        end += 1
    return start, end


def _is_clause_break(compact: str, i: int) -> bool:
    ch = compact[i]
    if ch in _SENTENCE_END:
        return True
    if ch not in _CLAUSE_BREAKS:
        return False
    # '1,234' is a thousands separator, '10:58' a clock time.
    return not (0 < i < len(compact) - 1 and compact[i - 1].isdigit() and compact[i + 1].isdigit())
