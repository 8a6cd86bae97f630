"""Terms for Chinese full-text search.

Postgres ships no Chinese parser, and word segmentation on only one side fails: jieba cuts
实践站 into 实践 + 站, so a query for 实践站 would miss. Overlapping character bigrams
need no dictionary: the store indexes them, and the SQL function zh_query() (migration 0001)
turns any query into the same bigrams as a phrase, so every substring of two or more
characters is found, in Simplified script.
"""

from __future__ import annotations

import re

_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+|[A-Za-z0-9]+")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def search_terms(text: str) -> str:
    """Space-separated index terms: bigrams of each run of Han characters, other words whole."""
    terms: list[str] = []
    for run in _RUN.findall(text):
        if _HAN.match(run) and len(run) > 1:
            terms.extend(run[i : i + 2] for i in range(len(run) - 1))
        else:
            terms.append(run.lower())
    return " ".join(terms)
