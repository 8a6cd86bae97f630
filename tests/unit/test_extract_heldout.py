"""Extraction quality on the held-out reports (tests/data/heldout), which no rule was written from.

Scored exactly as the seeds are (tests/unit/test_extract_quality.py), by the shared scorer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from services.analysis import Analyzer
from tests.unit.test_extract_quality import SHARED, _scorer

HELDOUT = Path(__file__).resolve().parents[1] / "data" / "heldout"

# A little below what the extractor reaches on the held-out set; none below the project's targets
# (precision/recall 0.95, qualifier 0.97, city 0.95, year 0.90, indicator 0.85).
THRESHOLDS = {
    "precision": 0.97,
    "recall": 0.97,
    "qualifier_acc": 0.98,
    "city_acc": 0.97,
    "year_acc": 0.97,
    "indicator_acc": 0.93,
}

pytestmark = pytest.mark.skipif(SHARED is None, reason="shared scorer (tools/score_extract.py) not found")


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    assert SHARED is not None
    scorer = _scorer(SHARED)
    docs = HELDOUT / "docs"
    gold = scorer.load_jsonl(HELDOUT / "gold.jsonl")
    scorer.gold_offsets(gold, docs)
    analyzer = Analyzer()
    pred: list[dict[str, Any]] = []
    for path in sorted(docs.glob("*.txt")):
        analysis = analyzer.analyse_file(path)
        for metric in analysis.metrics:
            assert analysis.original[metric.start : metric.end] == metric.surface
            pred.append({"file": path.name, **json.loads(metric.model_dump_json())})
    summary, _ = scorer.score(gold, pred)
    return dict(summary)


def test_heldout_set_is_complete() -> None:
    docs = sorted(p.name for p in (HELDOUT / "docs").glob("*.txt"))
    annotated = {json.loads(line)["doc"] for line in (HELDOUT / "gold.jsonl").read_text("utf-8").splitlines()}
    assert len(docs) == 8 and set(docs) == annotated


@pytest.mark.parametrize(("measure", "threshold"), sorted(THRESHOLDS.items()))
def test_heldout_quality(result: dict[str, Any], measure: str, threshold: float) -> None:
    assert result[measure] is not None and result[measure] >= threshold, result
