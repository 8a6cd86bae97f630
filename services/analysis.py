"""Decode, normalize and extract in one process, without Redis or Postgres (for `wenming extract`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.extract.documents import extract_document
from services.extract.extractor import Extractor
from services.ingest.documents import ingested_document
from services.ingest.file_facts import read_file_facts
from services.ingest.readers import DEFAULT_MAX_BYTES, read_document
from services.normalize.documents import normalize_document
from services.normalize.normalizer import ScriptConverter
from shared.contracts import DocumentExtracted, DocumentMetadata, FileFacts, Metric


@dataclass(frozen=True)
class Analysis:
    file_name: str
    original: str
    text: str
    metadata: DocumentMetadata
    metrics: list[Metric]


class Analyzer:
    """The stages' own translations, chained in-process; build once, reuse for many files."""

    def __init__(self, *, max_bytes: int = DEFAULT_MAX_BYTES, resolve_relative_years: bool = False) -> None:
        self._converter = ScriptConverter()
        self._extractor = Extractor(resolve_relative_years=resolve_relative_years)
        self._max_bytes = max_bytes

    def analyse_bytes(self, raw: bytes, file_name: str, file_facts: FileFacts | None = None) -> Analysis:
        """Decode, normalize and extract one file's bytes; raises UnreadableDocument."""
        extracted = self.extract_bytes(raw, file_name, file_facts)
        return Analysis(
            file_name, extracted.original_text, extracted.text, extracted.metadata, list(extracted.metrics)
        )

    def extract_bytes(
        self, raw: bytes, file_name: str, file_facts: FileFacts | None = None
    ) -> DocumentExtracted:
        """One file's bytes as the extract stage hands them to the store; raises UnreadableDocument."""
        decoded = read_document(raw, file_name, max_bytes=self._max_bytes)
        ingested = ingested_document(raw, file_name, decoded, file_facts=file_facts)
        return extract_document(normalize_document(ingested, self._converter), self._extractor)

    def analyse_file(self, path: Path) -> Analysis:
        """Analyse a file with what its sidecar or folder says of it."""
        return self.analyse_bytes(path.read_bytes(), path.name, read_file_facts(path))
