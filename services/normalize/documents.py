"""The normalize stage's contract translation: an ingested document in, a normalized one out."""

from __future__ import annotations

from services.normalize.normalizer import ScriptConverter, normalize_text
from services.normalize.sections import split_sections
from shared.contracts import DocumentIngested, DocumentNormalized


def normalize_document(document: DocumentIngested, converter: ScriptConverter) -> DocumentNormalized:
    """Clean Simplified text with its offset map and sections, everything else carried over."""
    normalized = normalize_text(document.original_text, converter)
    return DocumentNormalized(
        doc_id=document.doc_id,
        file_name=document.file_name,
        original_text=document.original_text,
        text=normalized.text,
        offsets=(),
        offset_runs=normalized.offsets.runs(),
        script=normalized.script,
        encoding=document.encoding,
        format=document.format,
        size_bytes=document.size_bytes,
        sections=tuple(split_sections(normalized.text)),
        ingested_at=document.ingested_at,
        dropped_at=document.dropped_at,
        file_facts=document.file_facts,
        reprocess=document.reprocess,
    )
