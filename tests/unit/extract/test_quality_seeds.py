"""Extraction quality on the hand-annotated seed reports, scored by the shared scorer."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.reference import SEED_GOLD, SEEDS_DIR, TARGETS, score_documents


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    return score_documents(SEEDS_DIR, SEED_GOLD)


@pytest.mark.parametrize(("measure", "threshold"), sorted(TARGETS.items()))
def test_seed_quality(result: dict[str, Any], measure: str, threshold: float) -> None:
    assert result[measure] is not None and result[measure] >= threshold, result
