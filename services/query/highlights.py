"""Where a figure or a search term stands in a sentence or passage, for showing it emphasised.

Sentences are stored in Simplified script with full-width digits folded, while a figure's surface
is the original text (42萬名, １３０万): the surface is brought to the sentence's form before it
is looked for, and the figure's digits alone are the last resort.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

Span = tuple[int, int]

_DIGITS = re.compile(r"[0-9][0-9.,]*")
# The runs zh_query() (migration 0001) turns into phrases: Han characters, or letters and digits.
_QUERY_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+|[A-Za-z0-9]+")


def _same(text: str) -> str:
    return text


def _nth(text: str, needle: str, occurrence: int) -> int:
    """Offset of the `occurrence`-th `needle` in `text` (the first when there are fewer), or -1."""
    found, start = -1, 0
    for _ in range(occurrence + 1):
        at = text.find(needle, start)
        if at < 0:
            break
        found, start = at, at + 1
    return found


def figure_span(
    sentence: str,
    surface: str,
    *,
    occurrence: int = 0,
    to_simplified: Callable[[str], str] = _same,
) -> Span | None:
    """The figure's place in its sentence; `occurrence` picks among repeats of the same surface."""
    folded = unicodedata.normalize("NFKC", surface)
    forms = dict.fromkeys([surface, folded, to_simplified(folded), re.sub(r"\s+", "", to_simplified(folded))])
    digits = _DIGITS.search(folded)
    if digits:
        forms[digits.group()] = None
    for form in forms:
        if form and (at := _nth(sentence, form, occurrence)) >= 0:
            return at, at + len(form)
    return None


def query_terms(query: str) -> list[str]:
    """The runs of a search query that zh_query() looks for, lower-cased as it does."""
    return [run.lower() for run in _QUERY_RUN.findall(query)]


def term_spans(text: str, terms: list[str]) -> list[Span]:
    """Every occurrence of every term in `text`, in order, overlaps merged."""
    lowered = text.lower()
    spans = sorted(
        (m.start(), m.end()) for term in terms if term for m in re.finditer(re.escape(term), lowered)
    )
    merged: list[Span] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def excerpt(text: str, terms: list[str], *, width: int = 80) -> tuple[str, list[Span]]:
    """About `width` characters of `text` around its first hit, on one line, with the hits in it."""
    flat = re.sub(r"\s+", " ", text).strip()
    hits = term_spans(flat, terms)
    centre = hits[0][0] if hits else 0
    start = max(0, min(centre - width // 3, len(flat) - width))
    end = min(len(flat), start + width)
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(flat) else ""
    shift = len(prefix) - start
    spans = [(max(s, start) + shift, min(e, end) + shift) for s, e in hits if e > start and s < end]
    return prefix + flat[start:end] + suffix, spans
