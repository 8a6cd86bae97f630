"""The time pass: the year each figure refers to, read top to bottom with the years in force."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from shared.text import ORDINAL_NUMERALS

from .dates import CUMULATIVE, FUTURE_SECTION, YearMention, find_years, relative_year
from .figures import Figure
from .page import Page, Spotted
from .sentences import TABLE_CELL, Sentence, clause_bounds, heading_level, is_table_row

# An enumerated item ('❷…', '（一）…', '3.…'): a year it states holds for the whole item.
_BULLET = re.compile(
    rf"^\s*(?:[❶-❿①-⑳⑴-⒇]|[（(][{ORDINAL_NUMERALS}\d]{{1,3}}[）)]"
    rf"|[{ORDINAL_NUMERALS}]{{1,3}}、|[{ORDINAL_NUMERALS}]是|\d{{1,2}}[、．)）]|\d{{1,2}}\.(?!\d))"
)
# A year said relatively ('去年我们…'), not the base of a comparison ('比上年', '较去年同期').
_OWN_RELATIVE_YEAR = re.compile(r"(?<![比较与同])(?:今年|去年|前年|明年|本年)(?!以来|来|同期)")
_AS_OF_LEAD = re.compile(r"(?:截至|截止到?|到)$")
_PERIOD_END = re.compile(r"^(?:底|末|止)")
_YEARLY_AVERAGE_CHANGE = re.compile(r"年均(?:增长|增速|增幅|提高|提升|递增|下降|减少)")
_PLACE_LEAD = re.compile(r"^[\u4e00-\u9fff]{1,8}(?:省|市|县|区|州|盟|旗)$")
_ITEM_MARKS = re.compile(rf"[❶-❿①-⑳\d{ORDINAL_NUMERALS}、.．)）]")


@dataclass
class _YearsInForce:
    """The years in force while reading one section top to bottom."""

    document: int | None = None  # the title's year, for the page's first article
    heading: int | None = None
    headings: list[tuple[int, int | None]] = field(default_factory=list)  # (numbering depth, year) above
    table: list[int | None] | None = None  # the year of each column of the table being read
    paragraph: int | None = None
    paragraph_index: int = -1
    bullet: bool = False  # the paragraph is an enumerated item
    sentence: int | None = None  # a year heading a full sentence holds across its '；' clauses
    carried: int | None = None  # the year carried into the current piece from the pieces before it
    open_clause: bool = False  # the previous piece ended in '；': the same full sentence goes on
    future: bool = False


def title_year(page: Page) -> int | None:
    """The year the page's title is about ('2023年度…工作总结'), if it states one."""
    years = [y for y in find_years(page.facts.title or "") if not y.opens_span and not y.with_month]
    return years[0].year if years else None


def figure_years(
    page: Page, spotted: list[Spotted], *, resolve_relative: bool = False
) -> list[list[int | None]]:
    """For each spotted sentence, the year of each of its figures."""
    by_sentence = {s.sentence_index: s for s in spotted}
    published = page.facts.published_on
    document_year = title_year(page)
    result: list[list[int | None]] = []
    state = _YearsInForce()
    section = -2
    for index, sentence in enumerate(page.sentences):
        if page.section_of[index] != section:
            section = page.section_of[index]
            # The page title's year speaks for its first article, and for the parts of one document that
            # carry no headline of their own.
            own_headline = section > 0 and bool(page.sections[section].headline)
            state = _YearsInForce(document=document_year if section >= 0 and not own_headline else None)
        _advance(state, sentence)
        spot = by_sentence.get(index)
        if spot is not None:
            result.append(
                [_year_of(sentence, figure, state, published, resolve_relative) for figure in spot.figures]
            )
    return result


def _stated_years(compact: str) -> list[YearMention]:
    return [y for y in find_years(compact) if not y.opens_span and not y.with_month and not y.baseline]


def _advance(state: _YearsInForce, sentence: Sentence) -> None:
    para = sentence.paragraph
    if para.index != state.paragraph_index:
        state.paragraph_index = para.index
        state.paragraph = None
        state.bullet = bool(_BULLET.match(sentence.compact))
    if FUTURE_SECTION.search(sentence.compact):
        state.future = True
    if not state.open_clause:
        state.sentence = None
    state.carried = state.sentence
    state.open_clause = sentence.compact.endswith(("；", ";"))
    years = _stated_years(sentence.compact)
    if is_table_row(sentence.compact):
        cells = TABLE_CELL.split(sentence.compact)
        columns = [next((y.year for y in find_years(cell)), None) for cell in cells]
        if any(year is not None for year in columns):
            state.table = columns  # the header row: each column's year
        return
    state.table = None
    if para.is_heading:
        # A heading's year holds under it, through the lower-numbered headings that state none.
        level = heading_level(sentence.compact)
        state.headings = [(lv, y) for lv, y in state.headings if level and lv < level]
        state.headings.append((level, years[0].year if years else None))
        state.heading = next((y for _, y in reversed(state.headings) if y is not None), None)
        return
    for year in years:
        # '截至2023年底，…' opens its sentence as '2023年，…' does.
        lead = _AS_OF_LEAD.sub("", sentence.compact[: year.start])
        at_head = len(_ITEM_MARKS.sub("", lead)) == 0
        follows = _PERIOD_END.sub("", sentence.compact[year.end : year.end + 3])[:1]
        if at_head or follows in "，,":
            state.paragraph = year.year
        clause_lead = re.split(r"[，,：:]", lead)[-1]
        # '原平市2025年新增…；定襄县…': a year after the place that opens the clause heads it too.
        placed = bool(_PLACE_LEAD.match(clause_lead))
        if (at_head or follows in "，," or not clause_lead or placed) and (
            state.sentence is None or state.sentence == state.carried
        ):
            # '…方面，2023年全市新增…；全年…': the year opening a clause holds for the later pieces.
            state.sentence = year.year


def _owned_by_another(compact: str, year: YearMention, figure: Figure) -> bool:
    """'由2023年的78%提升至91%': a year joined by 的 to a figure before this one is that figure's."""
    between = compact[year.end : figure.start]
    return between.startswith("的") and any(ch.isdigit() for ch in between)


def _year_of(
    sentence: Sentence, figure: Figure, state: _YearsInForce, published: date | None, resolve_relative: bool
) -> int | None:
    compact = sentence.compact
    if state.table is not None and is_table_row(compact):
        column = len(TABLE_CELL.findall(compact, 0, figure.start))
        if column < len(state.table) and state.table[column] is not None:
            return state.table[column]
    mentions = [
        y for y in find_years(compact) if not y.baseline and not _owned_by_another(compact, y, figure)
    ]
    clause_start, clause_end = clause_bounds(compact, figure.number_start)
    if _YEARLY_AVERAGE_CHANGE.search(compact, clause_start, figure.start):
        return None  # '年均增长9.6%': an average over years, no one year's ('年均浓度' is one year's mean)
    # A year after the figure speaks for it only inside its clause ('…3.5亿元，力争2025年…' does not).
    before = [y for y in mentions if y.start < figure.start] or [y for y in mentions if y.start < clause_end]
    if before:
        chosen = before[-1]
        own = compact[clause_start : figure.start]
        if chosen.start < clause_start and _OWN_RELATIVE_YEAR.search(own):
            # '2024年为90.8%，今年力争提高2个百分点': its own clause says which year, relatively; the same
            # one only when the page's date says so.
            return chosen.year if relative_year(own, published) == chosen.year else None
        if chosen.opens_span:
            # '截至2022年底，…自2017年以来累计…': the total is counted at the end of 2022.
            as_of = [y for y in before if y.as_of and not y.opens_span]
            return as_of[-1].year if as_of else None
        return chosen.year
    if state.carried is not None:
        return state.carried
    if state.paragraph is not None and state.bullet:
        return state.paragraph
    if resolve_relative:
        resolved = relative_year(compact, published)
        if resolved is not None:
            return resolved
    if CUMULATIVE.search(compact) or state.future:
        return None
    if _OWN_RELATIVE_YEAR.search(compact):
        return None  # '去年…', '今年将…': a year of its own, said relatively: not the title's or a heading's
    return state.heading or state.document
