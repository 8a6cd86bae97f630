"""The extract stage's contract translation: a normalized document in, its figures out."""

from __future__ import annotations

from services.extract.extractor import EXTRACTOR_VERSION, Extractor
from shared.contracts import DocumentExtracted, DocumentNormalized


def extract_document(document: DocumentNormalized, extractor: Extractor) -> DocumentExtracted:
    """The document's metadata and every figure in it, with offsets into its original text."""
    metadata, metrics = extractor.extract(
        document.text,
        original=document.original_text,
        offsets=document.offset_map(),
        sections=document.sections,
        file_facts=document.file_facts,
    )
    return DocumentExtracted(
        doc_id=document.doc_id,
        file_name=document.file_name,
        original_text=document.original_text,
        text=document.text,
        script=document.script,
        encoding=document.encoding,
        format=document.format,
        size_bytes=document.size_bytes,
        metadata=metadata,
        metrics=tuple(metrics),
        extractor_version=EXTRACTOR_VERSION,
        ingested_at=document.ingested_at,
        dropped_at=document.dropped_at,
        file_facts=document.file_facts,
        reprocess=document.reprocess,
    )
