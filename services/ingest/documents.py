"""The ingest stage's contract translation: a file's bytes and decoded text become a document."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from services.ingest.readers import DecodedDocument
from shared.contracts import DocumentIngested, FileFacts


def document_id(raw: bytes) -> str:
    """A document is its bytes: the same file dropped twice, under any name, is one document."""
    return hashlib.sha256(raw).hexdigest()


def ingested_document(
    raw: bytes, file_name: str, decoded: DecodedDocument, *, file_facts: FileFacts | None = None
) -> DocumentIngested:
    """The message that carries a decoded file, and what came with it, into the pipeline."""
    return DocumentIngested(
        doc_id=document_id(raw),
        file_name=file_name,
        original_text=decoded.text,
        encoding=decoded.encoding,
        format=decoded.format,
        size_bytes=len(raw),
        ingested_at=datetime.now(UTC),
        file_facts=file_facts,
    )
