"""Passages and terms for Chinese full-text search.

Postgres ships no Chinese parser, and word segmentation on only one side fails: jieba cuts
实践站 into 实践 + 站, so a query for 实践站 would miss. Overlapping character bigrams
need no dictionary: the store indexes them, and the SQL function zh_query() (migration 0001)
turns any query into the same bigrams as a phrase, so every run of two or more characters is
found, in Simplified script. Text is indexed in passages because a tsvector holds at most 1 MB
and positions up to 16,383: a whole long report would not fit, and a passage is also what an
analyst wants to read next to a hit.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterator
from dataclasses import dataclass

_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+|[A-Za-z0-9]+")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
PASSAGE_CHARS = 2_000
# Long lines are cut into overlapping windows so that no phrase of up to this length is split.
WINDOW_OVERLAP = 32


@dataclass(frozen=True)
class Passage:
    start: int  # offset into the text it came from
    text: str


def search_terms(text: str) -> str:
    """Space-separated index terms: bigrams of each run of Han characters, other words whole."""
    terms: list[str] = []
    for run in _RUN.findall(text):
        if len(run) > 1 and _HAN.match(run):
            terms.extend(map(operator.add, run, run[1:]))  # each character with the next
        else:
            terms.append(run.lower())
    return " ".join(terms)


def split_passages(text: str, max_chars: int = PASSAGE_CHARS) -> list[Passage]:
    """Whole lines packed into passages of at most `max_chars`; longer lines in overlapping windows."""
    passages: list[Passage] = []
    start, length = 0, 0
    position = 0
    for line in text.splitlines(keepends=True):
        if len(line) > max_chars:
            if length:
                passages.append(Passage(start, text[start : start + length]))
            step = max_chars - WINDOW_OVERLAP
            for offset in range(0, len(line) - WINDOW_OVERLAP, step):
                passages.append(Passage(position + offset, line[offset : offset + max_chars]))
            start, length = position + len(line), 0
        elif length + len(line) > max_chars:
            passages.append(Passage(start, text[start : start + length]))
            start, length = position, len(line)
        else:
            length += len(line)
        position += len(line)
    if text[start : start + length].strip():
        passages.append(Passage(start, text[start : start + length]))
    return [p for p in passages if p.text.strip()]


@dataclass(frozen=True)
class IndexedPassage:
    start: int
    text: str
    terms: str


def index_passages(text: str) -> Iterator[IndexedPassage]:
    """The passages of a document's text, each with its index terms, made as they are asked for."""
    for passage in split_passages(text):
        yield IndexedPassage(passage.start, passage.text, search_terms(passage.text))
