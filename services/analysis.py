"""Run normalize and extract in one process, without Redis or Postgres (for `wenming extract`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.extract.extractor import Extractor
from services.ingest.readers import DEFAULT_MAX_BYTES, read_document
from services.normalize.normalizer import ScriptConverter, normalize_text
from services.normalize.sections import split_sections
from shared.contracts import DocumentMetadata, Metric


@dataclass(frozen=True)
class Analysis:
    file_name: str
    original: str
    text: str
    metadata: DocumentMetadata
    metrics: list[Metric]


class Analyzer:
    """Normalize and extract files in-process; build once, reuse for many files."""

    def __init__(self, *, max_bytes: int = DEFAULT_MAX_BYTES, resolve_relative_years: bool = False) -> None:
        self._converter = ScriptConverter()
        self._extractor = Extractor(resolve_relative_years=resolve_relative_years)
        self._max_bytes = max_bytes

    def analyse_bytes(self, raw: bytes, file_name: str) -> Analysis:
        """Decode, normalize and extract one file's bytes; raises UnreadableDocument."""
        decoded = read_document(raw, file_name, max_bytes=self._max_bytes)
        normalized = normalize_text(decoded.text, self._converter)
        sections = split_sections(normalized.text)
        metadata, metrics = self._extractor.extract(
            normalized.text, original=decoded.text, offsets=normalized.offsets, sections=sections
        )
        return Analysis(file_name, decoded.text, normalized.text, metadata, metrics)

    def analyse_file(self, path: Path) -> Analysis:
        return self.analyse_bytes(path.read_bytes(), path.name)
