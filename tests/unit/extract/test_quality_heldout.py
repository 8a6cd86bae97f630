"""Extraction quality on reports written for the project (tests/data/heldout), as a check that the
rules generalise beyond the seeds. The rules were tuned while looking at `docs/`; `fresh/` was
written and annotated afterwards and no rule has been written from it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.reference import UNSEEN_TARGETS, score_documents

HELDOUT = Path(__file__).resolve().parents[2] / "data" / "heldout"

# A little below what the extractor reaches on docs/; none below the project's targets.
TUNED_THRESHOLDS = {
    "precision": 0.97,
    "recall": 0.97,
    "qualifier_acc": 0.98,
    "city_acc": 0.97,
    "year_acc": 0.97,
    "indicator_acc": 0.93,
}

# Round 2 (heldout/round2): eight reports in other genres (work summary with a table, TV transcript, Q&A,
# bulletin, portal page, county-level city cut off mid-sentence, Traditional reprint, provincial roundup).
# First, before any rule was written from them: precision 0.985, recall 0.990, qualifier 1.0, city 0.846,
# year 0.901, indicator 0.901. The rules written from them (tested with each pass in tests/unit/extract/)
# then brought every measure to 1.0; these thresholds sit a little below that, none below the project's
# targets.
ROUND2_THRESHOLDS = {
    "precision": 0.98,
    "recall": 0.98,
    "qualifier_acc": 0.98,
    "city_acc": 0.97,
    "year_acc": 0.97,
    "indicator_acc": 0.95,
}
ROUND2 = HELDOUT / "round2"


@pytest.fixture(scope="module")
def tuned() -> dict[str, Any]:
    return score_documents(HELDOUT / "docs", HELDOUT / "gold.jsonl")


@pytest.fixture(scope="module")
def fresh() -> dict[str, Any]:
    return score_documents(HELDOUT / "fresh", HELDOUT / "fresh" / "gold.jsonl")


def test_heldout_set_is_complete() -> None:
    docs = sorted(p.name for p in (HELDOUT / "docs").glob("*.txt"))
    annotated = {json.loads(line)["doc"] for line in (HELDOUT / "gold.jsonl").read_text("utf-8").splitlines()}
    assert len(docs) == 8 and set(docs) == annotated


@pytest.mark.parametrize(("measure", "threshold"), sorted(TUNED_THRESHOLDS.items()))
def test_heldout_quality(tuned: dict[str, Any], measure: str, threshold: float) -> None:
    assert tuned[measure] is not None and tuned[measure] >= threshold, tuned


@pytest.mark.parametrize(("measure", "threshold"), sorted(UNSEEN_TARGETS.items()))
def test_fresh_documents_meet_the_targets(fresh: dict[str, Any], measure: str, threshold: float) -> None:
    assert fresh[measure] is not None and fresh[measure] >= threshold, fresh


@pytest.fixture(scope="module")
def round2() -> dict[str, Any]:
    return score_documents(ROUND2, ROUND2 / "gold.jsonl")


@pytest.fixture(scope="module", params=["fresh", "blind"])
def round2_fresh(request: pytest.FixtureRequest) -> dict[str, Any]:
    folder = ROUND2 / str(request.param)
    return score_documents(folder, folder / "gold.jsonl")


def test_round2_set_is_complete() -> None:
    docs = sorted(p.name for p in ROUND2.glob("*.txt"))
    annotated = {json.loads(line)["doc"] for line in (ROUND2 / "gold.jsonl").read_text("utf-8").splitlines()}
    assert len(docs) == 8 and set(docs) == annotated


@pytest.mark.parametrize(("measure", "threshold"), sorted(ROUND2_THRESHOLDS.items()))
def test_round2_quality(round2: dict[str, Any], measure: str, threshold: float) -> None:
    assert round2[measure] is not None and round2[measure] >= threshold, round2


# round2/fresh (three short pages: Q&A with '一是…' items, a Traditional reprint, a two-article page cut off
# mid-sentence) was written and annotated after the first round-2 rules, to measure them. First score:
# precision 1.0, recall 0.982, qualifier 1.0, city 0.964, year 0.875, indicator 0.929. It then drove a few
# more general rules (sentence-level chrome, '一是' bullets, coordinated runs, '提升至2023年'), so it is no
# longer unseen; it is held to the project's targets. round2/blind (a sectioned news page with '■' items
# and a quoted speaker, a '数说' page of data cards) came last, after those rules. First score: precision 1.0,
# recall 0.969, qualifier 1.0, city 0.935, year 0.871, indicator 0.968; it too then drove general rules.
@pytest.mark.parametrize(("measure", "threshold"), sorted(UNSEEN_TARGETS.items()))
def test_round2_fresh_documents_meet_the_targets(
    round2_fresh: dict[str, Any], measure: str, threshold: float
) -> None:
    assert round2_fresh[measure] is not None and round2_fresh[measure] >= threshold, round2_fresh
