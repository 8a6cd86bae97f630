"""Split a page holding several articles into sections."""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.contracts import Section

_HEADLINE_MAX = 40
_LINE_END = "。！？!?；;，,…"
_BYLINE = re.compile(
    r"^(?:◎\s*(?P<mark>.+)"
    r"|(?:本报记者|记者|通讯员|文\s*/|文／|作者[:：])\s*(?P<named>[\u4e00-\u9fff ·、]{2,30}))$"
)
_WIRE_LEAD = re.compile(
    r"^(?:本报讯|新华社|本报|中新网|人民网|央广网)[^（(]{0,12}[（(](?P<names>[^）)]{1,30})[）)]"
)
_WIRE_PLAIN = re.compile(r"^(?:本报讯|新华社\S{0,6}电|本报\S{0,6}讯)")
# A page's own date and source line ('2024年03月18日08:36 | 来源：内蒙古日报') heads no article.
_SOURCE_LINE = re.compile(
    r"(?:来源|稿源|发布时间|发布日期|发稿时间)\s*[:：]|^(?:19|20)\d{2}\s*[-年./]\s*\d{1,2}\s*[-月./]\s*\d{1,2}"
)
_SUBTITLE = re.compile(r"^(?:——|--|－－)")
_BREAK = re.compile(r"^[\s\-—_=*＊◎·•~～#＝]{3,}$")
# '浙江义乌市：小商品里的文明' — a headline led by a place and a colon opens that place's article.
_PLACE_HEADLINE = re.compile(r"^[\u4e00-\u9fff]{1,12}(?:省|市|区|县|州|盟|旗)[\u4e00-\u9fff]{0,8}[：:]\S")
_CAPTION_CREDIT = re.compile(r"[\u4e00-\u9fff]{2,4}\s*摄\s*[）)]?\s*$")


@dataclass(frozen=True)
class _Line:
    start: int
    end: int
    text: str


def _lines(text: str) -> list[_Line]:
    lines = []
    pos = 0
    for raw in text.split("\n"):
        if raw.strip():
            lines.append(_Line(pos, pos + len(raw), raw.strip()))
        pos += len(raw) + 1
    return lines


def _is_headline(line: str) -> bool:
    return (
        0 < len(line) <= _HEADLINE_MAX
        and line[-1] not in _LINE_END
        and not any(ch in line for ch in "，,。；;")
        and not _BYLINE.match(line)
        and not _BREAK.match(line)
        and not _SOURCE_LINE.search(line)
    )


def _byline_of(line: str) -> str | None:
    m = _BYLINE.match(line)
    if m:
        return (m.group("mark") or m.group("named") or "").strip() or None
    m = _WIRE_LEAD.match(line)
    if m:
        return m.group("names").strip()
    return None


def _opens_article(lines: list[_Line], i: int) -> tuple[int, str | None, str | None] | None:
    """If a headline at line i starts an article, return (body line index, headline, byline)."""
    if not _is_headline(lines[i].text):
        return None
    headline = lines[i].text
    j = i + 1
    if j < len(lines) and _SUBTITLE.match(lines[j].text):
        headline = f"{headline} {lines[j].text}"
        j += 1
    if j >= len(lines):
        return None
    byline = _byline_of(lines[j].text)
    if byline is not None and _BYLINE.match(lines[j].text):
        return j + 1, headline, byline
    if byline is not None or _WIRE_PLAIN.match(lines[j].text):
        return j, headline, byline
    if _PLACE_HEADLINE.match(lines[i].text) and not _is_headline(lines[j].text):
        return j, headline, None
    return None


def split_sections(text: str) -> list[Section]:
    """Return the articles of a page, each with its headline and byline."""
    lines = _lines(text)
    starts: list[tuple[int, str | None, str | None]] = []  # (text offset, headline, byline)
    current: tuple[str | None, str | None] = (None, None)
    i = 0
    while i < len(lines):
        line = lines[i]
        if _BREAK.match(line.text):
            nxt = lines[i + 1] if i + 1 < len(lines) else None
            if nxt is not None:
                headline = nxt.text if _is_headline(nxt.text) else None
                current = (headline, None)
                starts.append((nxt.start, headline, None))
            i += 1
            continue
        opened = _opens_article(lines, i)
        if opened is not None:
            body, headline, byline = opened
            current = (headline, byline)
            starts.append((line.start, headline, byline))
            i = max(body, i + 1)
            continue
        if _CAPTION_CREDIT.search(line.text) and len(line.text) > _HEADLINE_MAX:
            # A photo caption tells of its own place and event; what follows resumes the article.
            starts.append((line.start, None, None))
            if i + 1 < len(lines) and _opens_article(lines, i + 1) is None:
                starts.append((lines[i + 1].start, *current))
        i += 1
    if not starts or starts[0][0] > (lines[0].start if lines else 0):
        starts.insert(0, (0, None, None))
    else:
        starts[0] = (0, starts[0][1], starts[0][2])
    sections = []
    for k, (start, headline, byline) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(text)
        if end > start:
            sections.append(Section(start=start, end=end, headline=headline, byline=byline))
    return sections or [Section(start=0, end=len(text))]
