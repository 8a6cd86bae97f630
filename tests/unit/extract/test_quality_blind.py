"""Extraction quality on the blind sets of the extraction issue (tests/data/blind), written and annotated
by people who never saw the extractor, before it ever ran on them.

First contact, before any rule was written from them (2026-11-30):
- dev (18 documents, 365 figures): precision 0.997, recall 0.978, qualifier 1.0, city 0.937, year 0.896,
  indicator 0.905, change 0.980, value_max 1.0.
- probes (51 short pages, one capability each, 197 figures): precision 0.980, recall 0.995, qualifier 1.0,
  city 0.973, year 0.918, indicator 0.944, change 1.0, value_max 1.0.
General rules were then written from dev, then from the probes: both are tuned now, and their thresholds
below only keep what was reached. `final` and `fresh2` are held out: no rule has been written from them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.reference import UNSEEN_TARGETS, score_documents

BLIND = Path(__file__).resolve().parents[2] / "data" / "blind"

# What the tuned sets reach today, a little below; none below the targets for unseen text.
TUNED = {
    "dev": {
        "precision": 0.99,
        "recall": 0.99,
        "qualifier_acc": 0.99,
        "city_acc": 0.99,
        "year_acc": 0.97,
        "indicator_acc": 0.94,
        "change_acc": 0.99,
        "value_max_acc": 0.99,
    },
    "probes": {
        "precision": 0.99,
        "recall": 0.99,
        "qualifier_acc": 0.99,
        "city_acc": 0.99,
        "year_acc": 0.99,
        "indicator_acc": 0.97,
        "change_acc": 0.99,
        "value_max_acc": 0.99,
    },
}


@pytest.fixture(scope="module", params=sorted(TUNED))
def tuned_set(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    name = str(request.param)
    return name, score_documents(BLIND / name, BLIND / name / "gold.jsonl")


@pytest.mark.parametrize("name", sorted(TUNED))
def test_every_document_of_a_blind_set_is_annotated(name: str) -> None:
    folder = BLIND / name
    docs = {p.name for p in folder.glob("*.txt")}
    annotated = {json.loads(line)["doc"] for line in (folder / "gold.jsonl").read_text("utf-8").splitlines()}
    assert docs and docs == annotated


@pytest.mark.parametrize("measure", sorted(TUNED["dev"]))
def test_tuned_blind_sets_keep_their_quality(tuned_set: tuple[str, dict[str, Any]], measure: str) -> None:
    name, result = tuned_set
    threshold = TUNED[name][measure]
    assert threshold >= UNSEEN_TARGETS.get(measure, 0.0)
    assert result[measure] is not None and result[measure] >= threshold, (name, result)
