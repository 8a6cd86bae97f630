"""The team's reference material beside the checkout (../shared): seeds, gold and the scorer."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from types import ModuleType
from typing import Any

SHARED_DIR = Path(os.environ.get("WENMING_SHARED_DIR") or Path(__file__).resolve().parents[3] / "shared")
SEEDS_DIR = SHARED_DIR / "data" / "seeds"
SEED_GOLD = SHARED_DIR / "data" / "gold" / "seeds.jsonl"
SCORER = SHARED_DIR / "tools" / "score_extract.py"
SEEDS = sorted(SEEDS_DIR.glob("*.txt")) if SEEDS_DIR.is_dir() else []

# The project's quality targets, on the seeds and on documents never seen.
TARGETS = {
    "precision": 0.95,
    "recall": 0.95,
    "qualifier_acc": 0.97,
    "city_acc": 0.95,
    "year_acc": 0.90,
    "indicator_acc": 0.85,
}


def load_scorer() -> ModuleType:
    """The shared scorer, imported from its file rather than copied."""
    spec = importlib.util.spec_from_file_location("score_extract", SCORER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def score_documents(docs: Path, gold_path: Path) -> dict[str, Any]:
    """Extract every .txt in `docs` as `wenming extract` does and score it against `gold_path`."""
    from services.analysis import Analyzer

    scorer = load_scorer()
    gold = scorer.load_jsonl(gold_path)
    scorer.gold_offsets(gold, docs)
    analyzer = Analyzer()
    predictions: list[dict[str, Any]] = []
    for path in sorted(docs.glob("*.txt")):
        analysis = analyzer.analyse_file(path)
        for metric in analysis.metrics:
            assert analysis.original[metric.start : metric.end] == metric.surface
            predictions.append({"file": path.name, **json.loads(metric.model_dump_json())})
    summary, _errors = scorer.score(gold, predictions)
    return dict(summary)
