"""Message contracts between the stages.

Every contract is frozen and carries an explicit schema version. An additive change
is a new optional field; a breaking change is a new version on a new stream.

A large document travels by reference: each field named in a contract's `BY_REFERENCE` may be
left empty, with `<field>_ref` naming where its value is kept instead (see shared/texts.py).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.offsets import OffsetMap, OffsetRun

UnitKind = Literal[
    "person",
    "household",
    "person_times",
    "times",
    "count",
    "money_cny",
    "percent",
    "percentage_point",
    "area_m2",
    "length_m",
    "volume_m3",
    "mass_t",
    "hours",
    "days",
    "years",
    "multiple",
    "score",
]
Qualifier = Literal["over", "approx", "under", "exact"]
Change = Literal["increase", "decrease"]
PlaceLevel = Literal["province", "prefecture", "county", "district"]
# Why a figure has its place: named in its sentence, its section's or page's title, the page as a whole,
# the file's sidecar or folder, or nothing at all.
PlaceBasis = Literal["sentence", "section", "title", "document", "file", "none"]
Script = Literal["traditional", "simplified"]


class Contract(BaseModel):
    """Base of every message: immutable, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ContentRef(Contract):
    """Where the value of a field too large to travel in a message is kept: a Redis key, its JSON's size."""

    key: str
    size_bytes: int


class Section(Contract):
    """One article of a page: offsets are into the normalized text."""

    start: int
    end: int
    headline: str | None = None
    byline: str | None = None


class Metric(Contract):
    """One figure found in a document, traceable to its sentence."""

    value: float
    unit_kind: UnitKind
    measure_word: str = ""
    qualifier: Qualifier = "exact"
    indicator: str | None = None
    subject: str | None = None
    city: str | None = None
    year: int | None = None
    change: Change | None = Field(default=None, description="set when the figure is the size of a change")
    value_max: float | None = Field(default=None, description="the upper end when the figure is a range")
    place_code: str | None = Field(default=None, description="6-digit administrative division code")
    place_level: PlaceLevel | None = None
    place_basis: PlaceBasis = "none"
    surface: str
    start: int = Field(description="offset into the decoded original text")
    end: int
    sentence: str


class DocumentMetadata(Contract):
    """What a document says about itself."""

    title: str | None = None
    published_on: date | None = None
    source: str | None = None
    author: str | None = None
    places: tuple[str, ...] = ()


class FileFacts(Contract):
    """What came with a file, not in it: a `<file>.meta.json` sidecar, or a folder named after a place."""

    place: str | None = None
    source: str | None = None
    published_on: date | None = None


def _check_references(document: Contract, fields: dict[str, Any]) -> None:
    """A field that goes by reference is empty in the message."""
    for name, empty in fields.items():
        if getattr(document, f"{name}_ref") is not None and getattr(document, name) != empty:
            raise ValueError(f"{name} is both in the message and referenced")


class DocumentIngested(Contract):
    """A file from the inbox, decoded to text. doc_id is the SHA-256 of the file's bytes."""

    BY_REFERENCE: ClassVar[dict[str, Any]] = {"original_text": ""}

    schema_version: Literal[1] = 1
    doc_id: str
    file_name: str
    original_text: str = Field(description="empty when original_text_ref is set")
    encoding: str
    format: str
    size_bytes: int
    ingested_at: datetime
    dropped_at: datetime | None = Field(
        default=None,
        description="when ingest first saw the file as it was taken (its last change): the start of "
        "drop-to-stored latency; None in messages from before it was carried, or not from the inbox",
    )
    file_facts: FileFacts | None = None
    reprocess: bool = Field(
        default=False,
        description="published by `wenming reprocess`: the store replaces the document's figures even "
        "when its extractor version is the one already stored",
    )
    original_text_ref: ContentRef | None = None

    @model_validator(mode="after")
    def _one_place_per_field(self) -> DocumentIngested:
        _check_references(self, self.BY_REFERENCE)
        return self


class DocumentNormalized(Contract):
    """Clean Simplified text with a map back to the original."""

    BY_REFERENCE: ClassVar[dict[str, Any]] = {"original_text": "", "text": "", "offset_runs": None}

    schema_version: Literal[1] = 1
    doc_id: str
    file_name: str
    original_text: str = Field(description="empty when original_text_ref is set")
    text: str = Field(description="empty when text_ref is set")
    offsets: tuple[int, ...] = Field(
        description="offsets[i] is the index in original_text of text[i]; empty when offset_runs is set"
    )
    script: Script
    encoding: str
    format: str
    size_bytes: int
    sections: tuple[Section, ...] = ()
    ingested_at: datetime
    dropped_at: datetime | None = Field(
        default=None,
        description="when ingest first saw the file as it was taken (its last change): the start of "
        "drop-to-stored latency; None in messages from before it was carried, or not from the inbox",
    )
    file_facts: FileFacts | None = None
    reprocess: bool = Field(
        default=False,
        description="published by `wenming reprocess`: the store replaces the document's figures even "
        "when its extractor version is the one already stored",
    )
    original_text_ref: ContentRef | None = None
    text_ref: ContentRef | None = None
    offset_runs: tuple[OffsetRun, ...] | None = Field(
        default=None,
        description="the same map as (start, shift) runs: text[i] for start <= i < the next start "
        "is original_text[i + shift]",
    )
    offset_runs_ref: ContentRef | None = None

    @model_validator(mode="after")
    def _one_place_per_field(self) -> DocumentNormalized:
        _check_references(self, self.BY_REFERENCE)
        if self.offset_runs is not None and self.offsets:
            raise ValueError("offsets given both per character and as runs")
        return self

    def offset_map(self) -> OffsetMap:
        """Where each character of `text` is in `original_text` (the text must be resolved)."""
        if self.text_ref is not None or self.offset_runs_ref is not None:
            raise ValueError("the text or its offsets are still a reference: resolve them first")
        if self.offset_runs is None:  # a message from before offset_runs
            return OffsetMap.from_offsets(self.offsets)
        return OffsetMap(self.offset_runs, len(self.text))


class DocumentExtracted(Contract):
    """A document with its metadata and every figure found in it."""

    BY_REFERENCE: ClassVar[dict[str, Any]] = {"original_text": "", "text": "", "metrics": ()}

    schema_version: Literal[1] = 1
    doc_id: str
    file_name: str
    original_text: str = Field(description="empty when original_text_ref is set")
    text: str = Field(description="empty when text_ref is set")
    script: Script
    encoding: str
    format: str
    size_bytes: int
    metadata: DocumentMetadata
    metrics: tuple[Metric, ...] = Field(description="empty when metrics_ref is set")
    extractor_version: str
    ingested_at: datetime
    dropped_at: datetime | None = Field(
        default=None,
        description="when ingest first saw the file as it was taken (its last change): the start of "
        "drop-to-stored latency; None in messages from before it was carried, or not from the inbox",
    )
    file_facts: FileFacts | None = Field(
        default=None, description="what came with the file, kept with the document for reprocessing"
    )
    reprocess: bool = Field(
        default=False,
        description="published by `wenming reprocess`: the store replaces the document's figures even "
        "when its extractor version is the one already stored",
    )
    original_text_ref: ContentRef | None = None
    text_ref: ContentRef | None = None
    metrics_ref: ContentRef | None = None

    @model_validator(mode="after")
    def _one_place_per_field(self) -> DocumentExtracted:
        _check_references(self, self.BY_REFERENCE)
        return self


class DeadLetter(Contract):
    """Input a stage could not use, with the reason; acknowledged, never retried by the stage.

    With its `payload`, `wenming dlq replay` publishes the message again once the cause is fixed.
    """

    schema_version: Literal[1] = 1
    stage: str
    doc_id: str | None = None
    file_name: str | None = None
    reason: str
    failed_at: datetime
    error_type: str | None = Field(
        default=None, description="the exception's type, when the stage raised one"
    )
    trace: str | None = Field(default=None, description="the last frames of its traceback, innermost last")
    stream: str | None = Field(
        default=None, description="the stream the failing message was read from; None for ingest's files"
    )
    payload: dict[str, Any] | None = Field(
        default=None,
        description="the message as it was read, to publish again once the cause is fixed; its large "
        "fields may be references (`<field>_ref`), which the store puts back before it keeps the letter",
    )
