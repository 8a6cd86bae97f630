"""Calendar years a figure refers to, and the document's publication date."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from shared.text import CHINESE_DIGITS, ORDINAL_NUMERALS

from .numbers import fold_width, parse_chinese

# '2025年', and '2025上半年', '2025一季度' where a period of the year follows without 年.
_YEAR = (
    rf"(?P<year>(?:19|20)\d{{2}}|[一二〇零][{CHINESE_DIGITS}]{{3}})"
    r"(?:年|(?=上半年|下半年|(?:前|第)?[一二三四]季度|全年))"
)
YEAR_MENTION = re.compile(_YEAR + r"(?P<tail>度|份)?")
# A year that opens a span ('2021年以来', '2016年6月以来', '2021-2023') is not the figure's year.
_SPAN_AFTER = re.compile(
    r"^(?:度|份)?(?:\d{1,2}月(?:份)?(?:\d{1,2}日)?)?(?:以来|来|起|至今|至|到|开始|始|—|-|~)"
)
# '2023年1月至10月', '2023年1—10月': a stretch of that year, whose figures are the year's.
_MONTH_SPAN_AFTER = re.compile(
    r"^(?:\d{1,2}|[一二三四五六七八九十]{1,2})月(?:份)?(?:至|到|—|-|~|－)(?:\d{1,2}|[一二三四五六七八九十]{1,2})月"
)
_MONTH_AFTER = re.compile(
    rf"^(?:\d{{1,2}}|[{ORDINAL_NUMERALS}]{{1,2}})月|^第(?:\d{{1,3}}|[{ORDINAL_NUMERALS}]{{1,3}})期"
)
# '比2022年提高', '较2022年增长', '与2022年相比': the year a change is measured from, not the figure's.
_BASELINE_BEFORE = ("比", "较", "与", "同")
_AS_OF_BEFORE = ("截至", "截止", "截止到", "到", "至")
# Cumulative or multi-year totals carry no single year.
CUMULATIVE = re.compile(
    r"累计|已有|已累计|现有|截至|截止|至今|历年|多年来|近年来|近几年|先后|(?:19|20)\d{2}年[^，。；]{0,8}以来"
    rf"|(?<![\d年])[{CHINESE_DIGITS}十\d]{{1,2}}年来"
)
# Plans for coming years are not this report's results.
FUTURE_SECTION = re.compile(r"下一步|今后|明年|接下来|下阶段|未来[一二三四五两几]?年")
RELATIVE_YEAR = re.compile(r"(?P<word>今年|去年|前年|明年|上年|本年)(?!以来|来)")
_RELATIVE_OFFSET = {"今年": 0, "本年": 0, "去年": -1, "上年": -1, "前年": -2, "明年": 1}

_DATE_PATTERNS = (
    re.compile(r"(?P<y>(?:19|20)\d{2})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日"),
    re.compile(r"(?P<y>(?:19|20)\d{2})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})"),
)


@dataclass(frozen=True, slots=True)
class YearMention:
    """A calendar year written in a sentence."""

    year: int
    start: int
    end: int
    opens_span: bool  # '2021年以来': no single year
    with_month: bool  # '2022年5月', '2024年第12期': the date of one event or issue, not a topic year
    baseline: bool = False  # '比2022年提高': the year a change is measured from
    as_of: bool = False  # '截至2022年底': the date a total is counted at, which a since-clause does not undo


def _year_value(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    value = parse_chinese(text)
    return int(value) if value is not None else None


def _closes_span(folded: str, start: int) -> bool:
    """'2019-2023年', '2021至2023年': the year ends a span; '截至2023年底' dates a figure instead."""
    before = folded[max(0, start - 2) : start]
    if before[-1:] not in ("-", "—", "~", "至") or before in ("截至", "直至"):
        return False
    # '2019至2023年' closes a span; '由2022年的88.6分提升至2023年的91.2分' names where a change ends.
    return bool(re.search(r"(?:19|20)\d{2}年?(?:底|末)?$", folded[max(0, start - 8) : start - 1]))


# '自2018年创建以来', '从2019年起': the start of a span, however far its 以来 stands from the year.
_SINCE_BEFORE = ("自", "从", "自从")
_SINCE_AFTER = re.compile(r"[^。；;！？]{0,30}?(?:以来|起|至今|开始)")


def _opens_since(folded: str, m: re.Match[str]) -> bool:
    return folded[: m.start()].endswith(_SINCE_BEFORE) and bool(_SINCE_AFTER.match(folded, m.end()))


@lru_cache(maxsize=256)  # the passes ask for a sentence's years once per figure
def find_years(compact: str) -> tuple[YearMention, ...]:
    """Calendar years in a sentence, with whether they open a span or carry a month."""
    folded = fold_width(compact)
    mentions = []
    for m in YEAR_MENTION.finditer(folded):
        if m.start() > 0 and (folded[m.start() - 1].isdigit() or folded[m.start() - 1] in "第"):
            continue
        year = _year_value(m.group("year"))
        if year is None or not 1900 <= year <= 2100:
            continue
        after = folded[m.end() :]
        mentions.append(
            YearMention(
                year,
                m.start(),
                m.end(),
                (bool(_SPAN_AFTER.match(after)) and not _MONTH_SPAN_AFTER.match(after))
                or _closes_span(folded, m.start())
                or _opens_since(folded, m),
                bool(_MONTH_AFTER.match(after)) and not _MONTH_SPAN_AFTER.match(after),
                folded[m.start() - 1 : m.start()] in _BASELINE_BEFORE if m.start() > 0 else False,
                folded[: m.start()].endswith(_AS_OF_BEFORE),
            )
        )
    return tuple(mentions)


def find_publication_date(text: str, *, head_chars: int = 600) -> date | None:
    """The first full date near the top of the page (the byline date), if any."""
    head = fold_width(text[:head_chars])
    # The first date written, whichever way it is written ('2023-11-08' before '1959年10月1日' below it).
    found = sorted((m.start(), m) for pattern in _DATE_PATTERNS for m in pattern.finditer(head))
    for _, m in found:
        try:
            return date(int(m.group("y")), int(m.group("m")), int(m.group("d")))
        except ValueError:
            continue
    return None


def relative_year(compact: str, published: date | None) -> int | None:
    """Resolve 今年/去年 in a sentence against the publication date."""
    if published is None:
        return None
    m = RELATIVE_YEAR.search(compact)
    return published.year + _RELATIVE_OFFSET[m.group("word")] if m else None
