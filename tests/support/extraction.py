"""Running the extractor on a sentence of text, for table-driven rule tests."""

from __future__ import annotations

from services.extract.extractor import Extractor
from shared.contracts import Metric


def extract(extractor: Extractor, text: str) -> list[Metric]:
    """Figures of `text`, taken as both original and normalized text."""
    _, metrics = extractor.extract(text, original=text, offsets=range(len(text)))
    return metrics
