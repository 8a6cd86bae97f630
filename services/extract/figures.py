"""Find the quantity mentions in a sentence: numeral, qualifiers and measure word, in base units."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from shared.contracts import Qualifier, UnitKind
from shared.text import CHINESE_DIGITS

from .numbers import CHINESE_NUMERAL_CHARS, SCALE, fold_width, parse_arabic, parse_chinese
from .units import (
    CHAIN_UNITS,
    INFIX_QUALIFIERS,
    LATIN_UNITS,
    PERSON_NOUNS,
    PREFIX_BLOCKERS,
    PREFIX_QUALIFIERS_BY_LAST_CHAR,
    SINGLE_DIGIT_COUNTS,
    SINGLE_DIGIT_KINDS,
    SUFFIX_QUALIFIERS,
    UNIT_BLOCKERS,
    UNITS_BY_FIRST_CHAR,
    Unit,
    in_numeral_idiom,
)


@dataclass(frozen=True, slots=True)
class Figure:
    """One quantity in a compact sentence; spans are compact offsets."""

    start: int  # surface start (prefix qualifier included)
    end: int  # surface end (suffix qualifier included)
    number_start: int
    number_end: int  # end of numeral, infix qualifier and multiplier
    unit_end: int  # end of the measure word (== number_end when there is none)
    value: float
    unit_kind: UnitKind
    measure_word: str
    qualifier: Qualifier
    chinese: bool
    value_max: float | None = None  # the upper end of a range ('3万—5万元'), which is one figure


_ARABIC = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_MULTIPLIER = r"千万|百万|万亿|万|亿|千(?![米克瓦伏])|百(?!分)"
_CN = f"[{CHINESE_NUMERAL_CHARS}]+(?:点[{CHINESE_DIGITS}]+)?"
_NUMERAL = re.compile(
    rf"(?P<pct>百分之)(?P<pctnum>{_ARABIC}|{_CN})"
    rf"|(?P<ar>{_ARABIC})(?P<arinfix>余|多)?(?P<armult>{_MULTIPLIER})?(?P<arinfix2>余|多)?"
    rf"|(?P<cn>{_CN})(?P<cninfix>余|多)?(?P<cnmult>[万亿])?(?P<cninfix2>余)?"
)
_SECONDS_AFTER = re.compile(r"\d{1,2}秒")
_YEAR_LIKE = re.compile(r"^(1[89]|20)\d{2}$")
# Characters glued to a numeral that make it part of a code, version, date or address.
_GLUE_BEFORE = set("0123456789.-/:#@_~·%") | set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_GLUE_AFTER = set("-/:#@_~·") | set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_ORDINAL_BEFORE = (
    "第",
    "首",
    "初",
    "每",
    "周",
    "星期",
    "礼拜",
    "No",
    "NO",
    "编号",
    "号码",
    "代码",
    "电话",
    "热线",
)
_BIG_MULTIPLIERS = ("万", "亿")
_TIME_BEFORE = ("目前", "此前", "之前", "当前", "提前", "日前", "年前", "月前", "以前")
# A bare sum of money with its 元 dropped ('投资5000万').
_MONEY_CONTEXT = (
    "投资",
    "资金",
    "经费",
    "补贴",
    "补助",
    "奖金",
    "投入",
    "资助",
    "拨付",
    "筹集",
    "募集",
    "捐款",
)
# Measure words of a place in a ranking ('后3位', '后5名').
_RANK_WORDS = ("位", "名")
# '分别提高1.4个和2.2个百分点': the first value's '个' is short for '个百分点'.
_POINT_ELLIPSIS = re.compile(rf"(?:和|与|及|、|或)(?:\d+(?:\.\d+)?|[{CHINESE_DIGITS}十点]+)个百分点")
# Chinese numerals written in a name ('“百万市民学礼仪”', '《二十四孝》') are not quantities.
_OPEN_QUOTES, _CLOSE_QUOTES = "“‘《「『", "”’》」』"
_QUOTE_CHAR = re.compile(f"[{_OPEN_QUOTES}{_CLOSE_QUOTES}]")


_PERCENT_POINT = Unit("个", "percentage_point", canonical="个百分点")


def _inside_quotes(compact: str, pos: int) -> bool:
    depth = 0
    for ch in _QUOTE_CHAR.findall(compact, 0, pos):  # only the quote marks, not every character
        if ch in _OPEN_QUOTES:
            depth += 1
        elif ch in _CLOSE_QUOTES and depth:
            depth -= 1
    return depth > 0


# A rate word may stand between a qualifier and its number ('不低于人均30元', '超过每户2000元').
_RATE_WORDS = ("人均", "户均", "年均", "平均", "每人", "每户")


def _prefix_qualifier(compact: str, pos: int) -> tuple[Qualifier, int]:
    qualifier, start = _adjacent_qualifier(compact, pos)
    if qualifier == "exact":
        for rate in _RATE_WORDS:
            if compact.startswith(rate, pos - len(rate)):
                found, rate_start = _adjacent_qualifier(compact, pos - len(rate))
                if found != "exact":
                    return found, rate_start
    return qualifier, start


def _adjacent_qualifier(compact: str, pos: int) -> tuple[Qualifier, int]:
    for word, qualifier in PREFIX_QUALIFIERS_BY_LAST_CHAR.get(compact[pos - 1 : pos] if pos else "", ()):
        start = pos - len(word)
        if start >= 0 and compact[start:pos] == word:
            if start > 0 and compact[start - 1] in PREFIX_BLOCKERS.get(word, ()):
                continue
            return qualifier, start
    return "exact", pos


def _measure_word(compact: str, pos: int, chinese: bool, chained: bool) -> Unit | None:
    for unit in UNITS_BY_FIRST_CHAR.get(compact[pos : pos + 1], ()):
        if not compact.startswith(unit.word, pos):
            continue
        if unit.arabic_only and chinese:
            return None
        after = compact[pos + len(unit.word) : pos + len(unit.word) + 2]
        if any(after.startswith(block) for block in UNIT_BLOCKERS.get(unit.word, ())):
            continue
        if unit.word == "分" and _SECONDS_AFTER.match(compact, pos + 1):
            return None  # '4分12秒': minutes and seconds of a duration, not a score
        return unit
    if chained:
        for word, unit in CHAIN_UNITS.items():
            if compact.startswith(word, pos):
                return unit
    return None


# Joins the two bounds of a range: '3至5名', '20—30名', '3-5个', '1~2万元'.
_RANGE_JOIN = re.compile(r"至|到|—{1,2}|－|-|~|～")


def _range_tail(folded: str, pos: int, chinese: bool) -> tuple[str, Unit] | None:
    """The multiplier and measure word of a range's upper bound, when `pos` ends its lower bound."""
    join = _RANGE_JOIN.match(folded, pos)
    if join is None:
        return None
    upper = _NUMERAL.match(folded, join.end())
    if upper is None or bool(upper.group("cn")) != chinese or upper.group("pct"):
        return None
    multiplier = upper.group("armult") or upper.group("cnmult") or ""
    unit = _measure_word(folded, upper.end(), chinese, False)
    return (multiplier, unit) if unit is not None else None


def _with_range_unit(
    value: float,
    unit: Unit | None,
    number_end: int,
    multiplier: str,
    infix_word: str | None,
    range_tail: tuple[str, Unit] | None,
) -> tuple[float, Unit | None, int]:
    """Value, unit and unit end of a numeral; the lower bound of '3至5名' borrows its upper bound's unit."""
    if unit is None and range_tail is not None and not infix_word:
        tail_multiplier, unit = range_tail
        if not multiplier and tail_multiplier:
            value *= SCALE[tail_multiplier]
        return value, unit, number_end  # the borrowed measure word is not part of this surface
    return value, unit, number_end + (len(unit.word) if unit else 0)


def _full_stop_before(before: str) -> bool:
    """A '.' after a word, not after a digit or letter, ends a sentence ('达标.30个站点…')."""
    return before[-1] in ".．" and len(before) >= 2 and not before[-2].isascii()


def _bare_kind(compact: str, number_start: int, unit_pos: int) -> UnitKind | None:
    """Kind of a bare 万/亿 count with no measure word, from the nouns named around it."""
    left = compact[max(0, number_start - 12) : number_start]
    for sep in "，,。；;":
        left = left.rsplit(sep, 1)[-1]
    if "人次" in left:
        return "person_times"
    if any(word in left for word in _MONEY_CONTEXT):
        return "money_cny"
    # The noun the amount counts may follow it ('300多万常住人口', '500万资金').
    right = re.split(r"[，,。；;、：:（(]", compact[unit_pos : unit_pos + 6], maxsplit=1)[0]
    if any(noun in right for noun in PERSON_NOUNS) or any(noun in left for noun in PERSON_NOUNS):
        return "person"
    if any(word in right for word in _MONEY_CONTEXT):
        return "money_cny"
    return None


def find_figures(compact: str) -> list[Figure]:
    """Return every quantity in a compact sentence, in order; dates, ordinals and codes are skipped."""
    folded = fold_width(compact)
    figures: list[Figure] = []
    for m in _NUMERAL.finditer(folded):
        figure = _figure_from_match(compact, folded, m)
        if figure is not None:
            figures.append(figure)
    return _join_ranges(folded, figures)


def _join_ranges(folded: str, figures: list[Figure]) -> list[Figure]:
    """'3万—5万元', '20至30人': the two bounds of a range are one figure with a low and a high end."""
    joined: list[Figure] = []
    for figure in figures:
        lower = joined[-1] if joined else None
        if (
            lower is not None
            and lower.value_max is None
            and lower.unit_kind == figure.unit_kind
            and _RANGE_JOIN.fullmatch(folded, lower.end, figure.start) is not None
            and figure.value > lower.value
            and (lower.qualifier == "exact" or figure.qualifier == "exact")
        ):
            qualifier = lower.qualifier if lower.qualifier != "exact" else figure.qualifier
            joined[-1] = replace(
                lower,
                end=figure.end,
                number_end=figure.number_end,
                unit_end=figure.unit_end,
                measure_word=figure.measure_word or lower.measure_word,
                qualifier=qualifier,
                value_max=figure.value,
            )
        else:
            joined.append(figure)
    return joined


def _figure_from_match(compact: str, folded: str, m: re.Match[str]) -> Figure | None:
    start, number_end = m.start(), m.end()
    before = folded[:start]
    after_char = folded[number_end : number_end + 1]
    range_tail = _range_tail(folded, number_end, bool(m.group("cn")))
    upper_bound = before[-1:] in ("-", "~") and before[-2:-1].isdigit()  # '20-30名': the 30
    glued = bool(before) and before[-1] in _GLUE_BEFORE and not upper_bound and not _full_stop_before(before)
    if glued or (
        after_char in _GLUE_AFTER
        and range_tail is None
        and not any(folded.startswith(u.word, number_end) for u in LATIN_UNITS)
    ):
        return None
    if before.endswith(_ORDINAL_BEFORE):
        return None
    if before.endswith("前") and not before.endswith(_TIME_BEFORE):
        return None  # '前3名', '前10位': a ranking
    if before.endswith("后") and not before.endswith("先后") and folded.startswith(_RANK_WORDS, number_end):
        return None  # '排名后3位': a ranking from the bottom ('先后3次' is a count)
    chinese = bool(m.group("cn")) or bool(m.group("pct") and not m.group("pctnum")[0].isdigit())
    infix: Qualifier = "exact"

    if m.group("pct"):
        value = parse_arabic(m.group("pctnum")) if m.group("pctnum")[0].isdigit() else None
        if value is None:
            value = parse_chinese(m.group("pctnum"))
        if value is None:
            return None
        unit: Unit | None = Unit("%", "percent")
        unit_end = number_end
        numeral_text = m.group("pctnum")
        multiplier = ""
    elif m.group("ar"):
        numeral_text = m.group("ar")
        multiplier = m.group("armult") or ""
        infix_word = m.group("arinfix") or m.group("arinfix2")
        value = parse_arabic(numeral_text)
        if value is None or len(numeral_text.split(".")[0].replace(",", "")) > 12:
            return None  # a long digit run is an ID or account number, not a quantity
        value *= SCALE.get(multiplier, 1.0) if multiplier else 1.0
        if infix_word:
            infix = INFIX_QUALIFIERS[infix_word]
        chained = before.endswith("+") or "+" in folded[number_end : number_end + 4]
        unit = _measure_word(folded, number_end, False, chained)
        value, unit, unit_end = _with_range_unit(value, unit, number_end, multiplier, infix_word, range_tail)
    else:
        numeral_text = m.group("cn")
        multiplier = m.group("cnmult") or ""
        infix_word = m.group("cninfix") or m.group("cninfix2")
        if numeral_text[-1] == "点":
            return None
        parsed = parse_chinese(numeral_text)
        if parsed is None:
            return None
        value = parsed * (SCALE[multiplier] if multiplier else 1.0)
        if infix_word:
            infix = INFIX_QUALIFIERS[infix_word]
        unit = _measure_word(folded, number_end, True, False)
        value, unit, unit_end = _with_range_unit(value, unit, number_end, multiplier, infix_word, range_tail)

    qualifier, surface_start = _prefix_qualifier(folded, start)
    if (
        qualifier == "exact"
        and chinese
        and numeral_text in ("百", "千", "万")
        and before.endswith("上")
        and not before.endswith("千上")
    ):
        qualifier, surface_start = "over", start - 1  # '上万人': ten thousand and more; not '成千上万'
    if qualifier == "exact":
        qualifier = infix
    suffix_end = unit_end
    for word, suffix_qualifier in SUFFIX_QUALIFIERS:
        if folded.startswith(word, unit_end):
            if qualifier == "exact":
                qualifier = suffix_qualifier
            suffix_end = unit_end + len(word)
            break

    if unit is not None and unit.word == "个" and _POINT_ELLIPSIS.match(folded, unit_end):
        unit = _PERCENT_POINT  # the '个' of '1.4个和2.2个百分点' stands for the whole measure word

    if chinese and not _chinese_is_quantity(folded, m, numeral_text, multiplier, unit, qualifier):
        return None

    if unit is None:
        if not (multiplier in _BIG_MULTIPLIERS or numeral_text.endswith(_BIG_MULTIPLIERS)):
            return None
        if chinese and qualifier == "exact":
            return None
        kind = _bare_kind(folded, surface_start, unit_end)
        if kind is None:
            return None
        return Figure(
            surface_start, suffix_end, start, number_end, number_end, value, kind, "", qualifier, chinese
        )

    if unit.kind == "hours" and value == 24 and qualifier == "exact" and "时长" not in before[-6:]:
        return None  # '24小时不间断服务', '每天工作24小时': round the clock, a description, not a figure
    if unit.kind == "years" and not chinese and _YEAR_LIKE.match(numeral_text) and not infix_word:
        return None  # a calendar year, not a span
    if unit.kind == "years" and chinese and infix == "exact" and qualifier == "exact":
        return None  # '太平兴国七年', '连续八年' read as reign years or set phrases
    return Figure(
        surface_start,
        suffix_end,
        start,
        number_end,
        unit_end,
        value * unit.scale,
        unit.kind,
        unit.measure_word,
        qualifier,
        chinese,
    )


def _chinese_is_quantity(
    folded: str, m: re.Match[str], numeral: str, multiplier: str, unit: Unit | None, qualifier: Qualifier
) -> bool:
    """Chinese numerals are quantities only when sized (十/百/千/万) and measured or qualified."""
    if _inside_quotes(folded, m.start()):
        return False
    if m.group("pct"):
        return True  # '百分之百', '百分之九十五': the words say it is a share
    sized = any(ch in "十百千万亿" for ch in numeral) or bool(multiplier)
    if not sized and unit is not None and (unit.kind == "multiple" or unit.word == "成"):
        return True  # '增长一倍', '近两倍', '九成': a ratio is a quantity even when written with one digit
    if not sized:
        # '开展两次', '建成六个': one digit with its measure word counts, but not 一 (an article: 一个, 一支),
        # nor the numerals of idioms and slogans ('四面八方', '两个维护', '五位一体').
        return (
            len(numeral) == 1
            and numeral in SINGLE_DIGIT_COUNTS
            and unit is not None
            and unit.kind in SINGLE_DIGIT_KINDS
            and not in_numeral_idiom(folded, m.start())
        )
    single_unit = len(numeral) == 1 and not multiplier
    if single_unit and qualifier == "exact":
        # '千家万户', '百姓', '十分' are words; '十场', '十个' count like '两场'.
        return numeral == "十" and unit is not None and unit.kind in SINGLE_DIGIT_KINDS
    return unit is not None or qualifier != "exact"
