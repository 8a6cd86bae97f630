"""Running the extractor on a sentence of text, for table-driven rule tests."""

from __future__ import annotations

from services.extract.extractor import Extractor
from shared.contracts import DocumentMetadata, FileFacts, Metric


def extract(extractor: Extractor, text: str) -> list[Metric]:
    """Figures of `text`, taken as both original and normalized text."""
    _, metrics = extract_with_metadata(extractor, text)
    return metrics


def extract_with_metadata(
    extractor: Extractor, text: str, *, file_facts: FileFacts | None = None
) -> tuple[DocumentMetadata, list[Metric]]:
    """Metadata and figures of `text`, taken as both original and normalized text."""
    return extractor.extract(text, original=text, offsets=range(len(text)), file_facts=file_facts)


def by_surface(metrics: list[Metric]) -> dict[str, Metric]:
    """Figures keyed by their surface in the text."""
    return {m.surface: m for m in metrics}


def by_value(metrics: list[Metric]) -> dict[float, Metric]:
    """Figures keyed by their value in base units."""
    return {m.value: m for m in metrics}
