"""Extraction quality on the hand-annotated seed reports, scored by the shared scorer."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from services.analysis import Analyzer

THRESHOLDS = {
    "precision": 0.95,
    "recall": 0.95,
    "qualifier_acc": 0.97,
    "city_acc": 0.95,
    "year_acc": 0.90,
    "indicator_acc": 0.85,
}


def _shared_dir() -> Path | None:
    candidates = [Path(__file__).resolve().parents[3] / "shared"]
    if os.environ.get("WENMING_SHARED_DIR"):
        candidates.insert(0, Path(os.environ["WENMING_SHARED_DIR"]))
    return next((c for c in candidates if (c / "data" / "gold" / "seeds.jsonl").is_file()), None)


SHARED = _shared_dir()
pytestmark = pytest.mark.skipif(
    SHARED is None, reason="shared reference folder (seeds, gold, scorer) not found"
)


def _scorer(shared: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("score_extract", shared / "tools" / "score_extract.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    assert SHARED is not None
    scorer = _scorer(SHARED)
    docs = SHARED / "data" / "seeds"
    gold = scorer.load_jsonl(SHARED / "data" / "gold" / "seeds.jsonl")
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


@pytest.mark.parametrize(("measure", "threshold"), sorted(THRESHOLDS.items()))
def test_seed_quality(result: dict[str, Any], measure: str, threshold: float) -> None:
    assert result[measure] is not None and result[measure] >= threshold, result
