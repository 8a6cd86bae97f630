"""Find every metric figure in a normalized document."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import jieba
import jieba.posseg

from services.normalize.sections import split_sections
from shared.contracts import DocumentMetadata, Metric, Section

from .catalog import DEFAULT_CATALOG, IndicatorMatcher, load_catalog
from .dates import CUMULATIVE, FUTURE_SECTION, find_years, relative_year
from .figures import Figure, find_figures
from .metadata import PageFacts, read_page_facts
from .places import (
    Gazetteer,
    Place,
    PlaceResolver,
    collapse_chains,
    distribute_places,
    main_place,
    most_specific,
)
from .sentences import (
    TABLE_CELL,
    Paragraph,
    Sentence,
    clause_bounds,
    heading_level,
    is_table_row,
    split_paragraphs,
    split_sentences,
)
from .subjects import distribute_subjects, subject_of

EXTRACTOR_VERSION = "0.1.0"

# Page furniture: contact lines and copyright; figures there are not campaign results.
_CHROME = re.compile(
    r"(?:电话|传真|QQ群?|微信号?)\s*[:：]?\s*\d{3,}|邮箱\s*[:：]|E-?mail|版权所有|Copyright|ICP|备案号|免责声明|"
    r"原文链接|https?://|www\.|责编|责任编辑"
)
# Counters under an article ('阅读 3521', '评论(12条)'); only on a short line, where no sentence is.
_COUNTER = re.compile(
    r"(?:反对|举报|收藏|点赞|评论|阅读|浏览|点击|分享|转发|回复|相关新闻)\s*(?:次数|量|数)?\s*[:：(（]?\s*\d"
)
_COUNTER_MAX_LEN = 40
# A byline also closes on a date ('发布时间：2024-04-18'): that line is the page's own, handled elsewhere.
_LINK_DATELINE = re.compile(r"时间|日期|来源|发布|作者|记者")
# A link to another story ('· 某市注册志愿者突破200万人 2024-03-29'): a headline line closing on its date.
_LINK_LINE = re.compile(
    r"^\s*[·•●○◆◇■□▪▶>»\-－*]?\s*[^。！？!?；;]{4,60}?[\s　(（\[]*"
    r"(?:(?:19|20)\d{2}[-/.]\d{1,2}[-/.]\d{1,2}|(?:19|20)\d{2}年\d{1,2}月\d{1,2}日)[)）\]]?\s*$"
)
_CHROME_MAX_LEN = 200
_NOUN_FLAGS = ("n", "an", "j")  # a verbal noun (启动) alone does not name a subject
# An enumerated item ('❷…', '（一）…', '3.…'): a year it states holds for the whole item.
_BULLET = re.compile(
    r"^\s*(?:[❶-❿①-⑳⑴-⒇]|[（(][一二三四五六七八九十\d]{1,3}[）)]"
    r"|[一二三四五六七八九十]{1,3}、|[一二三四五六七八九十]是|\d{1,2}[、．)）]|\d{1,2}\.(?!\d))"
)
# A county or city at the head of a sentence is that sentence's own place ('3月2日,成都市武侯区举办…').
# A bullet sign ('▲禹州市…'), a date, a time word, a short opening clause ('从各地情况看，', '另外，')
# or a connective may come first.
_LEAD_BODY = (
    r"[“”\"「」]?(?:【|\[|〔|本报讯|本报|新华社)?(?:[（(][^）)]{1,30}[）)])?"
    r"[▲△●○■□◆◇★☆•·▶►※→]*(?:[❶-❿①-⑳\d一二三四五六七八九十]+[、.．)）]?)?"
    r"(?:(?:19|20)\d{2}年)?(?:\d{1,2}月)?(?:\d{1,2}日)?"
    r"(?:(?:近年来|今年以来|今年|去年|以来|近日|日前|目前|另外|此外|同时|与此同时|其中|而|以及)[,，、]?"
    r"|[^\d，,。；;：:“”‘’《》、]{1,8}[，,]){0,3}"
    r"(?:记者)?(?:在|由|据|从|以)?"
)
_TOPIC_LEAD = re.compile(rf"^{_LEAD_BODY}$")
# '全市…', '今年一季度，全市…': a sentence or clause about the whole city, district or province.
_WHOLE_LEAD = re.compile(rf"^{_LEAD_BODY}(?P<scope>全市|全省|全区|全县)")
# A clause of a sentence opened by a place of its own ('…380万元，抚州市…5.2亿元').
_CLAUSE_LEAD = re.compile(r"^(?:其中|另外|此外|同时|而|在|以)?$")


@dataclass
class _ReadingState:
    """The years and place in force while reading a section top to bottom."""

    document: int | None = None
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
    place: Place | None = None  # a place opening the paragraph holds for the rest of it
    local: Place | None = None  # the last place a sentence of this paragraph was led by
    quote_end: int = -1  # where the quotation being read closes
    quote_place: Place | None = None  # the place of its speaker ('“…”临泽县文明办负责人说')


class Extractor:
    """Holds the heavy resources (tokenizer, catalog, gazetteer); build once per process."""

    def __init__(
        self,
        *,
        catalog_path: Path = DEFAULT_CATALOG,
        gazetteer: Gazetteer | None = None,
        resolve_relative_years: bool = False,
    ) -> None:
        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        self._matcher = IndicatorMatcher(load_catalog(catalog_path))
        self._gazetteer = gazetteer or Gazetteer.from_jionlp()
        # The annotation guideline gives a year only where the text states it; 今年 is left unresolved.
        self._resolve_relative_years = resolve_relative_years

    def extract(
        self,
        text: str,
        *,
        original: str,
        offsets: Sequence[int],
        sections: Sequence[Section] = (),
    ) -> tuple[DocumentMetadata, list[Metric]]:
        """Return the document's metadata and its figures, offsets mapped into `original`."""
        sections = list(sections) or split_sections(text)
        facts = read_page_facts(text)
        paragraphs = split_paragraphs(text)
        sentences = split_sentences(text, paragraphs)
        resolver = PlaceResolver(self._gazetteer, text, _word_bounds_of)
        streets = _streets_of(resolver)

        title_place = self._title_place(text, facts.title, resolver)
        # A page titled by a province that speaks of '全省' is the province's own report.
        provincial = title_place is not None and title_place.level == "province" and "全省" in text
        section_places = [
            self._section_place(s, paragraphs, resolver, title_place, len(sections), provincial)
            for s in sections
        ]
        document_place = (
            title_place
            if title_place and (title_place.level != "province" or provincial)
            else main_place(resolver.mentions)
        )

        title_years = [y for y in find_years(facts.title or "") if not y.opens_span and not y.with_month]
        metrics: list[Metric] = []
        section_index = -1
        state = _ReadingState()
        for sentence in sentences:
            while section_index + 1 < len(sections) and sentence.start >= sections[section_index + 1].start:
                section_index += 1
                # The page title's year speaks for its first (often only) article.
                state = _ReadingState(
                    document=title_years[0].year if title_years and section_index == 0 else None
                )
            section_place = section_places[section_index] if section_index >= 0 else document_place
            self._advance_state(state, sentence)
            fallback = state.place or section_place
            if state.place is not None and _names_elsewhere(sentence, resolver, state.place):
                fallback = section_place  # the paragraph's place does not hold where others are named
            place = self._sentence_place(sentence, resolver, fallback, section_place)
            # '今年一季度，全市…' after a district's sentence; '在东台，全市…' is 东台's own whole.
            place = _whole_place(sentence.compact, place, section_place) or place
            if sentence.compact.startswith(_OPEN_QUOTE) and sentence.start >= state.quote_end:
                state.quote_end, state.quote_place = _speaker_of(sentence, resolver, text)
            if place is fallback and sentence.start < state.quote_end and state.quote_place is not None:
                place = state.quote_place
            if place is fallback:
                place = _street_place(sentence.compact, streets, fallback) or place
            if place is fallback and state.local is not None and _refers_back(sentence.compact, state.local):
                place = state.local
            if place is not fallback:
                state.local = place
            if sentence.position == 0 and place is not section_place:
                state.place = place
            if _is_chrome(text, sentence):
                continue
            figures = find_figures(sentence.compact)
            if not figures:
                continue
            shared_places = {
                **_clause_places(sentence, figures, resolver, place, section_place),
                **_distributed_places(sentence, figures, resolver),
            }
            metrics.extend(
                self._metrics_of(
                    sentence, figures, text, original, offsets, place, state, facts, shared_places
                )
            )
        ordered = [document_place, *section_places] if len(sections) == 1 else [title_place, *section_places]
        places = tuple(dict.fromkeys(p.display for p in ordered if p is not None))
        metadata = DocumentMetadata(
            title=facts.title,
            published_on=facts.published_on,
            source=facts.source,
            author=facts.author or next((s.byline for s in sections if s.byline), None),
            places=places or ((document_place.display,) if document_place else ()),
        )
        return metadata, metrics

    # -- places -------------------------------------------------------------------------------------------

    @staticmethod
    def _title_place(text: str, title: str | None, resolver: PlaceResolver) -> Place | None:
        if not title:
            return None
        start = text.find(title)
        if start < 0:
            return None
        return most_specific(p for _, p in resolver.in_span(start, start + len(title)))

    @staticmethod
    def _section_place(
        section: Section,
        paragraphs: list[Paragraph],
        resolver: PlaceResolver,
        title_place: Place | None,
        n_sections: int,
        provincial: bool = False,
    ) -> Place | None:
        if section.headline:
            head_end = section.start
            for para in paragraphs:
                if para.end <= section.start:
                    continue
                if para.start >= section.end or not (para.is_heading or _is_subtitle(para, resolver)):
                    break
                head_end = para.end
            place = most_specific(p for _, p in resolver.in_span(section.start, head_end))
            if place is not None:
                return place
        if n_sections == 1 and title_place is not None and (title_place.level != "province" or provincial):
            return title_place
        return main_place(resolver.in_span(section.start, section.end)) or title_place

    @staticmethod
    def _sentence_place(
        sentence: Sentence, resolver: PlaceResolver, fallback: Place | None, section_place: Place | None
    ) -> Place | None:
        named = collapse_chains(resolver.in_span(sentence.start, sentence.end))
        for mention, place in named:
            if place.level == "province":
                continue
            lead = "".join(ch for ch in resolver.text[sentence.start : mention.start] if not ch.isspace())
            if not _TOPIC_LEAD.match(lead):
                break
            if section_place is not None and place == section_place:
                return section_place  # the section's own place, named again: no longer the paragraph's part
            if fallback is not None and fallback.is_within(place):
                # The section's own place or its parent: the figure stays the section's.
                return fallback
            if section_place is not None and place.is_within(section_place):
                clause_end = _clause_end(resolver.text, mention.end)
                others = {
                    p for m, p in named if p.level != "province" and p != place and m.start < clause_end
                }
                if others - {section_place} or _LIST_AFTER.match(resolver.text, mention.end):
                    # 'A区…、B县…等10个项目': a list across the city's districts speaks for the city.
                    return section_place
            return place
        return fallback

    # -- years --------------------------------------------------------------------------------------------

    @staticmethod
    def _advance_state(state: _ReadingState, sentence: Sentence) -> None:
        para = sentence.paragraph
        if para.index != state.paragraph_index:
            state.paragraph_index = para.index
            state.paragraph = None
            state.place = None
            state.local = None
            state.bullet = bool(_BULLET.match(sentence.compact))
        if FUTURE_SECTION.search(sentence.compact):
            state.future = True
        if not state.open_clause:
            state.sentence = None
        state.carried = state.sentence
        state.open_clause = sentence.compact.endswith(("；", ";"))
        years = [
            y
            for y in find_years(sentence.compact)
            if not y.opens_span and not y.with_month and not y.baseline
        ]
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
            lead = sentence.compact[: year.start]
            at_head = len(re.sub(r"[❶-❿①-⑳\d一二三四五六七八九十、.．)）]", "", lead)) == 0
            follows = sentence.compact[year.end : year.end + 1]
            if at_head or follows in "，,":
                state.paragraph = year.year
            clause_lead = re.split(r"[，,：:]", lead)[-1]
            if (at_head or follows in "，," or not clause_lead) and (
                state.sentence is None or state.sentence == state.carried
            ):
                # '…方面，2023年全市新增…；全年…': the year opening a clause holds for the later pieces.
                state.sentence = year.year

    def _year_of(
        self, sentence: Sentence, figure: Figure, state: _ReadingState, published: date | None
    ) -> int | None:
        if state.table is not None and is_table_row(sentence.compact):
            column = len(TABLE_CELL.findall(sentence.compact, 0, figure.start))
            if column < len(state.table) and state.table[column] is not None:
                return state.table[column]
        mentions = [y for y in find_years(sentence.compact) if not y.baseline]
        _, clause_end = clause_bounds(sentence.compact, figure.number_start)
        # A year after the figure speaks for it only inside its clause ('…3.5亿元，力争2025年…' does not).
        before = [y for y in mentions if y.start < figure.start] or [
            y for y in mentions if y.start < clause_end
        ]
        if before:
            chosen = before[-1]
            return None if chosen.opens_span else chosen.year
        if state.carried is not None:
            return state.carried
        if state.paragraph is not None and state.bullet:
            return state.paragraph
        if self._resolve_relative_years:
            resolved = relative_year(sentence.compact, published)
            if resolved is not None:
                return resolved
        if CUMULATIVE.search(sentence.compact) or state.future:
            return None
        return state.heading or state.document

    # -- figures ------------------------------------------------------------------------------------------

    @staticmethod
    def _distributed_subjects(
        compact: str, figures: list[Figure], clauses: list[tuple[int, int]]
    ) -> dict[int, str]:
        """Subjects of coordinated values shared out by 分别, keyed by figure index."""
        subjects: dict[int, str] = {}
        groups: dict[tuple[int, int], list[int]] = {}
        for index, clause in enumerate(clauses):
            groups.setdefault(clause, []).append(index)
        for clause, indexes in groups.items():
            spread = distribute_subjects(compact, [figures[i] for i in indexes], clause)
            if spread:
                subjects.update(zip(indexes, spread, strict=True))
        return subjects

    def _metrics_of(
        self,
        sentence: Sentence,
        figures: list[Figure],
        text: str,
        original: str,
        offsets: Sequence[int],
        place: Place | None,
        state: _ReadingState,
        facts: PageFacts,
        shared_places: dict[int, Place],
    ) -> list[Metric]:
        compact = sentence.compact
        clauses = [clause_bounds(compact, f.number_start) for f in figures]
        elliptical = [_lacks_noun(compact, f, c, figures) for f, c in zip(figures, clauses, strict=True)]
        matches = self._matcher.match_sentence(compact, figures, clauses, elliptical)
        sentence_text = text[sentence.start : sentence.end].strip()
        metrics = []
        shared = self._distributed_subjects(compact, figures, clauses)
        previous_end = 0
        for index, (figure, clause, match) in enumerate(zip(figures, clauses, matches, strict=True)):
            t_start, t_end = sentence.text_span(figure.start, figure.end)
            o_start, o_end = offsets[t_start], offsets[t_end - 1] + 1
            metrics.append(
                Metric(
                    value=round(figure.value, 6),
                    unit_kind=figure.unit_kind,
                    measure_word=figure.measure_word,
                    qualifier=figure.qualifier,
                    indicator=match.code if match else None,
                    subject=shared.get(index)
                    or subject_of(
                        compact, figure, clause, match.trigger if match else None, after_previous=previous_end
                    ),
                    city=_display(shared_places.get(index, place)),
                    year=self._year_of(sentence, figure, state, facts.published_on),
                    surface=original[o_start:o_end],
                    start=o_start,
                    end=o_end,
                    sentence=sentence_text,
                )
            )
            previous_end = figure.end
        return metrics


# '区里还投入…', '该县…': a sentence opening on the district or county just named goes on about it.
_BACK_REFERENCE = re.compile(r"^(?:该|本|全)?(?P<level>区|县)(?:里|内|委|政府|文明办|财政)")


def _refers_back(compact: str, local: Place) -> bool:
    m = _BACK_REFERENCE.match(compact)
    return m is not None and local.level == "county" and local.name.endswith(m.group("level"))


# A street or township written after its district ('濂溪区十里街道'): later named alone, it is still there.
_STREET_AFTER = re.compile(r"[\u4e00-\u9fff]{2,6}?(?:街道|镇|乡)")


def _streets_of(resolver: PlaceResolver) -> dict[str, Place]:
    """Streets and townships the page places under a district or county, by name."""
    streets: dict[str, Place] = {}
    for mention, place in collapse_chains(resolver.mentions):
        m = _STREET_AFTER.match(resolver.text, mention.end)
        if place.level == "county" and m:
            streets.setdefault(m.group(), place)
    return streets


def _street_place(compact: str, streets: dict[str, Place], fallback: Place | None) -> Place | None:
    """The district of a street that leads the sentence ('在十里街道，改造后的小区…')."""
    for name, place in streets.items():
        pos = compact.find(name)
        if pos >= 0 and _TOPIC_LEAD.match(compact[:pos]) and (fallback is None or place.is_within(fallback)):
            return place
    return None


# A place that opens a list ('濂溪区、九江经开区、市城管局等5个单位') is one of several, not the topic.
_LIST_AFTER = re.compile(r"\s*(?:、|和|与|及)")


_CLAUSE_MARK = re.compile(r"[，,。；;！？!?：:\n]")


def _clause_end(text: str, pos: int) -> int:
    """The end of the clause of `text` that goes on at `pos`."""
    m = _CLAUSE_MARK.search(text, pos)
    return m.start() if m else len(text)


def _names_elsewhere(sentence: Sentence, resolver: PlaceResolver, place: Place) -> bool:
    """Whether the sentence names a city or county other than `place`, its parents and its parts."""
    for _, named in resolver.in_span(sentence.start, sentence.end):
        if named.level != "province" and not named.is_within(place) and not place.is_within(named):
            return True
    return False


_OPEN_QUOTE = ("“", "「", '"')
_CLOSE_QUOTE = re.compile(r"[”」\"]")
_SPEAKER = re.compile(r"[^。！？!?“”]{0,24}?(?:说|表示|介绍|告诉|称|坦言|感慨)")


def _speaker_of(sentence: Sentence, resolver: PlaceResolver, text: str) -> tuple[int, Place | None]:
    """Where the quotation opening `sentence` closes, and the place of the speaker named right after it."""
    para_end = sentence.paragraph.end
    close = _CLOSE_QUOTE.search(text, sentence.start + 1, para_end)
    if close is None:
        return -1, None
    after = close.end()
    while after < para_end and text[after].isspace():
        after += 1
    if not _SPEAKER.match(text, after):
        return close.start(), None
    for mention, place in collapse_chains(resolver.in_span(after, para_end)):
        if mention.start == after and place.level != "province":
            return close.start(), place
    return close.start(), None


def _whole_place(compact: str, place: Place | None, section_place: Place | None) -> Place | None:
    """The place '全市/全区/全县/全省' opening `compact` speaks for, seen from `place` and the section's."""
    m = _WHOLE_LEAD.match(compact)
    if m is None:
        return None
    scope = m.group("scope")
    for candidate in (place, section_place):
        if candidate is None:
            continue
        for level in (candidate, *reversed(candidate.parents)):
            if section_place is not None and not level.is_within(section_place):
                break  # '在全省率先…' in a city's report compares the city; it is still the city's figure
            if scope == "全省" and level.level == "province":
                return level
            if scope == "全市" and (level.level == "prefecture" or level.name.endswith("市")):
                return level
            if scope in ("全区", "全县") and level.level == "county" and level.name.endswith(scope[1]):
                return level
    return None


def _clause_places(
    sentence: Sentence,
    figures: list[Figure],
    resolver: PlaceResolver,
    place: Place | None,
    section_place: Place | None,
) -> dict[int, Place]:
    """Figure index → place for clauses after the first that open on a place of their own."""
    compact = sentence.compact
    position = {text_pos: i for i, text_pos in enumerate(sentence.index)}
    opening: dict[int, Place] = {}  # clause start → its place
    for mention, named in collapse_chains(resolver.in_span(sentence.start, sentence.end)):
        start = position.get(mention.start)
        if start is None or named.level == "province":
            continue
        clause_start, _ = clause_bounds(compact, start)
        if (
            clause_start > 0
            and clause_start not in opening
            and _CLAUSE_LEAD.match(compact[clause_start:start])
        ):
            if section_place is not None and (
                section_place.is_within(named) or _LIST_AFTER.match(resolver.text, mention.end)
            ):
                named = section_place  # its own place's parent, or a list of places: the section's figure
            opening[clause_start] = named
    for figure in figures:
        clause_start, _ = clause_bounds(compact, figure.number_start)
        if clause_start > 0 and _WHOLE_LEAD.match(compact[clause_start:]) and clause_start not in opening:
            whole = _whole_place(compact[clause_start:], place, section_place)
            if whole is not None:
                opening[clause_start] = whole
    result: dict[int, Place] = {}
    for index, figure in enumerate(figures):
        starts = [c for c in opening if c <= figure.number_start]
        if starts:
            chosen = opening[max(starts)]
            if chosen != place:
                result[index] = chosen
    return result


def _display(place: Place | None) -> str | None:
    return place.display if place else None


def _distributed_places(
    sentence: Sentence, figures: list[Figure], resolver: PlaceResolver
) -> dict[int, Place]:
    """Figure index → place for values shared out over a list of places by 分别."""
    compact = sentence.compact
    if "分别" not in compact:
        return {}
    position = {text_pos: i for i, text_pos in enumerate(sentence.index)}
    named = []
    for mention, place in collapse_chains(resolver.in_span(sentence.start, sentence.end)):
        start, last = position.get(mention.start), position.get(mention.end - 1)
        if start is not None and last is not None:
            named.append((start, last + 1, place))
    return distribute_places(
        compact, [f.number_start for f in figures], named, lambda pos: clause_bounds(compact, pos)[0]
    )


def _is_chrome(text: str, sentence: Sentence) -> bool:
    """Whether the sentence is page furniture: a counter, a link to another story, a contact line."""
    para = sentence.paragraph
    body = text[para.start : para.end]
    if len(body) <= _COUNTER_MAX_LEN and _COUNTER.search(body):
        return True
    if _LINK_LINE.match(body) and not _LINK_DATELINE.search(body):
        return True
    # A short contact or copyright paragraph; a report sentence ending on '监督电话：…' keeps its figures.
    return len(body) <= _CHROME_MAX_LEN and bool(_CHROME.search(text, sentence.start, sentence.end))


def _lacks_noun(compact: str, figure: Figure, clause: tuple[int, int], figures: list[Figure]) -> bool:
    """An elliptical clause ('今年先期启动25个') borrows its subject from the clause before."""
    # The clause's other figures ('…4300个和3800个') are values, not the counted noun.
    kept = [
        ch
        for i, ch in enumerate(compact[clause[0] : clause[1]], start=clause[0])
        if not any(f.start <= i < f.end for f in figures)
    ]
    rest = re.sub(r"[\d.%，,。；;、]", "", "".join(kept))
    if not rest:
        return True
    # Names of people and places ('其中奎文区、潍城区分别新增4300个') say who, not what is counted.
    return not any(
        pair.flag.startswith(_NOUN_FLAGS) for pair in jieba.posseg.lcut(rest) if pair.flag not in ("nr", "ns")
    )


def _word_bounds_of(text: str) -> set[int]:
    """Word boundaries of `text` by jieba."""
    bounds = {0, len(text)}
    for _, start, end in jieba.tokenize(text):
        bounds.add(start)
        bounds.add(end)
    return bounds


def _is_subtitle(para: Paragraph, resolver: PlaceResolver) -> bool:
    """A '——' subtitle or '◎' byline line directly under a headline."""
    return resolver.text[para.start : para.end].lstrip().startswith(("——", "◎", "--"))


__all__ = ["EXTRACTOR_VERSION", "Extractor"]
