"""Extracted documents as the store receives them, built for tests from a text and its figures."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from shared.contracts import DocumentExtracted, DocumentMetadata, Metric


def extracted_document(
    doc_id: str,
    text: str,
    metrics: Sequence[Metric],
    *,
    file_name: str,
    extractor_version: str,
    metadata: DocumentMetadata | None = None,
    ingested_at: datetime | None = None,
) -> DocumentExtracted:
    """A plain UTF-8 text document whose original and normalized texts are `text`."""
    return DocumentExtracted(
        doc_id=doc_id,
        file_name=file_name,
        original_text=text,
        text=text,
        script="simplified",
        encoding="utf-8",
        format="txt",
        size_bytes=len(text.encode()),
        metadata=metadata or DocumentMetadata(),
        metrics=tuple(metrics),
        extractor_version=extractor_version,
        ingested_at=ingested_at or datetime.now(UTC),
    )
