"""Extraction quality on the blind sets of the extraction issue (tests/data/blind), written and annotated
by people who never saw the extractor, before it ever ran on them.

First contact, before any rule was written from them (2026-11-30):
- dev (18 documents, 365 figures): precision 0.997, recall 0.978, qualifier 1.0, city 0.937, year 0.896,
  indicator 0.905, change 0.980, value_max 1.0.
- probes (51 short pages, one capability each, 197 figures): precision 0.980, recall 0.995, qualifier 1.0,
  city 0.973, year 0.918, indicator 0.944, change 1.0, value_max 1.0.
- final (17 documents, 400 figures), scored once the rules of dev and the probes were in: precision 0.995,
  recall 0.940, qualifier 1.0, city 0.865, year 0.883, indicator 0.912, change 1.0, value_max 1.0.
- fresh2 (16 documents, 271 figures), at the same time: precision 0.981, recall 0.956, qualifier 0.996,
  city 0.988, year 0.969, indicator 0.965, change 1.0, value_max 1.0.
- fresh3 (16 documents, 298 required figures; 2026-12-01, written by a helper session that never saw the
  extractor), scored before any rule was written from it: precision 1.0, recall 0.993, qualifier 1.0,
  city 0.939, year 0.919 (0.929 once three lines were brought to the seeds' convention for running totals),
  indicator 0.966, change 0.997, value_max 1.0.
- fresh4 (16 documents, 322 required figures; 2026-12-01, by another helper session that never saw the
  extractor, written to be hard on place and year: speakers of several districts, 我县, short names of
  banners, a reporter's notes, a street's story), scored after the rules from fresh3: precision 0.985,
  recall 0.991, qualifier 1.0, city 0.817, year 0.897 (0.916 once six lines were brought to the seeds'
  convention for running totals), indicator 0.950, change 1.0, value_max 1.0. Rules were then written from
  it too: it is tuned now.
- fresh5 (16 documents, 305 required figures; 2026-12-01, by a third helper session that never saw the
  extractor: half plain summaries and news, half hard cases), scored once, after the rules from fresh3 and
  fresh4: precision 0.994, recall 1.0, qualifier 1.0, city 0.970, year 0.961, indicator 0.961, change
  1.0. No rule has been written from it. (Catalog triggers written from fresh3 and fresh4 later lifted its
  indicator to 0.977.)
General rules were written from dev, the probes, final, fresh3 and fresh4: those five are tuned, and their
thresholds below only keep what was reached. fresh2 and fresh5 are held out: no rule has been written from
them, and they are held to the targets for unseen text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.reference import UNSEEN_TARGETS, score_documents

BLIND = Path(__file__).resolve().parents[2] / "data" / "blind"

# What the tuned sets reach today, a little below; none below the targets for unseen text.
HELD_OUT = ("fresh2", "fresh5")
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
    "final": {
        "precision": 0.99,
        "recall": 0.99,
        "qualifier_acc": 0.99,
        "city_acc": 0.97,
        "year_acc": 0.98,
        "indicator_acc": 0.93,
        "change_acc": 0.99,
        "value_max_acc": 0.99,
    },
    "fresh4": {
        "precision": 0.98,
        "recall": 0.99,
        "qualifier_acc": 0.99,
        "city_acc": 0.94,
        "year_acc": 0.98,
        "indicator_acc": 0.94,
        "change_acc": 0.99,
        "value_max_acc": 0.99,
    },
    "fresh3": {
        "precision": 0.99,
        "recall": 0.99,
        "qualifier_acc": 0.99,
        "city_acc": 0.98,
        "year_acc": 0.98,
        "indicator_acc": 0.96,
        "change_acc": 0.99,
        "value_max_acc": 0.99,
    },
}


@pytest.fixture(scope="module", params=sorted(TUNED))
def tuned_set(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    name = str(request.param)
    return name, score_documents(BLIND / name, BLIND / name / "gold.jsonl")


@pytest.mark.parametrize("name", sorted(TUNED) + list(HELD_OUT))
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


@pytest.fixture(scope="module", params=HELD_OUT)
def held_out_set(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    name = str(request.param)
    return name, score_documents(BLIND / name, BLIND / name / "gold.jsonl")


@pytest.mark.parametrize("measure", sorted(UNSEEN_TARGETS))
def test_held_out_blind_sets_meet_the_targets_for_unseen_text(
    held_out_set: tuple[str, dict[str, Any]], measure: str
) -> None:
    name, result = held_out_set
    assert result[measure] is not None and result[measure] >= UNSEEN_TARGETS[measure], (name, result)
