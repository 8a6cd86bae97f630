"""Find every metric figure in a normalized document: a pipeline of passes, each in its own module."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from shared.contracts import Change, DocumentMetadata, FileFacts, Metric, Section

from .catalog import DEFAULT_CATALOG, Match, load_catalog
from .gazetteer import Gazetteer
from .indicators import IndicatorMatcher
from .lexicon import Lexicon
from .meaning import figure_changes
from .page import Spotted, read_page, spot_figures
from .page_scope import PlaceCall, page_scope
from .places import PlaceResolver
from .placing import attribute_places
from .subjects import name_subjects
from .timing import figure_years

EXTRACTOR_VERSION = "0.3.0"


class Extractor:
    """Holds the heavy resources (tokenizer, catalog, gazetteer); build once per process."""

    def __init__(
        self,
        *,
        catalog_path: Path = DEFAULT_CATALOG,
        gazetteer: Gazetteer | None = None,
        resolve_relative_years: bool = False,
    ) -> None:
        self._lexicon = Lexicon()
        self._matcher = IndicatorMatcher(load_catalog(catalog_path), self._lexicon)
        self._gazetteer = gazetteer or Gazetteer.from_jionlp()
        self._lexicon.add_names(self._gazetteer.full_names())
        # The annotation guideline gives a year only where the text states it; 今年 is left unresolved.
        self._resolve_relative_years = resolve_relative_years

    def extract(
        self,
        text: str,
        *,
        original: str,
        offsets: Sequence[int],
        sections: Sequence[Section] = (),
        file_facts: FileFacts | None = None,
    ) -> tuple[DocumentMetadata, list[Metric]]:
        """Return the document's metadata and its figures, offsets mapped into `original`."""
        # text → sections, paragraphs, sentences, the page's title and dates
        page = read_page(text, sections)
        # → the place names of the text (one automaton pass), which the later passes resolve
        resolver = PlaceResolver(self._gazetteer, text, self._lexicon.word_bounds)
        # → the figures of each sentence: value, unit, qualifier, range
        spotted = spot_figures(page, resolver.inside_written_name)
        # → whether each figure is the size of a change
        changes = figure_changes(spotted)
        # → the place each figure belongs to, and why
        file_place = self._gazetteer.lookup(file_facts.place) if file_facts and file_facts.place else None
        scope = page_scope(page, resolver, file_place)
        places = attribute_places(page, spotted, resolver, scope)
        # → the year each figure refers to
        years = figure_years(page, spotted, resolve_relative=self._resolve_relative_years)
        # → the catalog indicator each figure measures, and what it counts
        indicators = [
            self._matcher.match_spotted(spot, row) for spot, row in zip(spotted, changes, strict=True)
        ]
        subjects = [
            name_subjects(spot, [m.trigger if m else None for m in row], self._lexicon)
            for spot, row in zip(spotted, indicators, strict=True)
        ]

        # One string per sentence, shared by its figures: a long report has tens of thousands.
        sentence_texts = [page.text[spot.sentence.start : spot.sentence.end].strip() for spot in spotted]
        metrics = [
            _metric(
                sentence_texts[n],
                spot,
                i,
                original,
                offsets,
                places[n][i],
                years[n][i],
                changes[n][i],
                indicators[n][i],
                subjects[n][i],
            )
            for n, spot in enumerate(spotted)
            for i in range(len(spot.figures))
        ]
        facts = page.facts
        metadata = DocumentMetadata(
            title=facts.title,
            published_on=facts.published_on or (file_facts.published_on if file_facts else None),
            source=facts.source or (file_facts.source if file_facts else None),
            author=facts.author or next((s.byline for s in page.sections if s.byline), None),
            places=scope.listed(),
        )
        return metadata, metrics


def _metric(
    sentence_text: str,
    spot: Spotted,
    index: int,
    original: str,
    offsets: Sequence[int],
    call: PlaceCall,
    year: int | None,
    change: Change | None,
    match: Match | None,
    subject: str | None,
) -> Metric:
    figure = spot.figures[index]
    t_start, t_end = spot.sentence.text_span(figure.start, figure.end)
    o_start, o_end = offsets[t_start], offsets[t_end - 1] + 1
    place = call.place
    return Metric(
        value=round(figure.value, 6),
        value_max=round(figure.value_max, 6) if figure.value_max is not None else None,
        unit_kind=figure.unit_kind,
        measure_word=figure.measure_word,
        qualifier=figure.qualifier,
        change=change,
        indicator=match.code if match else None,
        subject=subject,
        city=place.display if place else None,
        place_code=place.code or None if place else None,
        place_level=place.kind if place else None,
        place_basis=call.basis if place else "none",
        year=year,
        surface=original[o_start:o_end],
        start=o_start,
        end=o_end,
        sentence=sentence_text,
    )


__all__ = ["EXTRACTOR_VERSION", "Extractor"]
