"""Find every metric figure in a normalized document."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
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
from .sentences import Paragraph, Sentence, clause_bounds, split_paragraphs, split_sentences
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
_CHROME_MAX_LEN = 200
_NOUN_FLAGS = ("n", "an", "j")  # a verbal noun (启动) alone does not name a subject
# An enumerated item ('❷…', '（一）…', '3.…'): a year it states holds for the whole item.
_BULLET = re.compile(
    r"^\s*(?:[❶-❿①-⑳⑴-⒇]|[（(][一二三四五六七八九十\d]{1,3}[）)]"
    r"|[一二三四五六七八九十]{1,3}、|\d{1,2}[、．)）]|\d{1,2}\.(?!\d))"
)
# A county or city at the head of a sentence is that sentence's own place ('3月2日,成都市武侯区举办…').
_TOPIC_LEAD = re.compile(
    r"^(?:【|\[|〔|本报|新华社)?(?:[❶-❿①-⑳\d一二三四五六七八九十]+[、.．)）]?)?"
    r"(?:(?:19|20)\d{2}年)?(?:\d{1,2}月)?(?:\d{1,2}日)?(?:近年来|今年以来|今年|去年|以来|近日|日前|目前)?[,，、]?"
    r"(?:记者)?(?:在|由|据|从)?$"
)


@dataclass
class _ReadingState:
    """The years and place in force while reading a section top to bottom."""

    document: int | None = None
    heading: int | None = None
    paragraph: int | None = None
    paragraph_index: int = -1
    bullet: bool = False  # the paragraph is an enumerated item
    sentence: int | None = None  # a year heading a full sentence holds across its '；' clauses
    carried: int | None = None  # the year carried into the current piece from the pieces before it
    open_clause: bool = False  # the previous piece ended in '；': the same full sentence goes on
    future: bool = False
    place: Place | None = None  # a place opening the paragraph holds for the rest of it
    local: Place | None = None  # the last place a sentence of this paragraph was led by


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
        section_places = [
            self._section_place(s, paragraphs, resolver, title_place, len(sections)) for s in sections
        ]
        document_place = (
            title_place if title_place and title_place.level != "province" else main_place(resolver.mentions)
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
            place = self._sentence_place(sentence, resolver, fallback)
            if place is fallback:
                place = _street_place(sentence.compact, streets, fallback) or place
            if place is fallback and state.local is not None and _refers_back(sentence.compact, state.local):
                place = state.local
            if place is not fallback:
                state.local = place
            if sentence.position == 0 and place is not section_place:
                state.place = place
            if _is_chrome(text, sentence.paragraph):
                continue
            figures = find_figures(sentence.compact)
            if not figures:
                continue
            shared_places = _distributed_places(sentence, figures, resolver)
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
        if n_sections == 1 and title_place is not None and title_place.level != "province":
            return title_place
        return main_place(resolver.in_span(section.start, section.end)) or title_place

    @staticmethod
    def _sentence_place(
        sentence: Sentence, resolver: PlaceResolver, section_place: Place | None
    ) -> Place | None:
        named = collapse_chains(resolver.in_span(sentence.start, sentence.end))
        for mention, place in named:
            if place.level == "province":
                continue
            lead = "".join(ch for ch in resolver.text[sentence.start : mention.start] if not ch.isspace())
            if not _TOPIC_LEAD.match(lead):
                break
            if section_place is not None and section_place.is_within(place):
                # The section's own place or its parent: the figure stays the section's.
                return section_place
            if section_place is not None and place.is_within(section_place):
                others = {p for _, p in named if p.level != "province" and p != place}
                if others - {section_place}:
                    # 'A区…、B县…等10个项目': a list across the city's districts speaks for the city.
                    return section_place
            return place
        return section_place

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
        years = [y for y in find_years(sentence.compact) if not y.opens_span and not y.with_month]
        if para.is_heading:
            state.heading = years[0].year if years else None
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
        mentions = find_years(sentence.compact)
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


def _is_chrome(text: str, para: Paragraph) -> bool:
    body = text[para.start : para.end]
    if len(body) <= _COUNTER_MAX_LEN and _COUNTER.search(body):
        return True
    return len(body) <= _CHROME_MAX_LEN and bool(_CHROME.search(body))


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
