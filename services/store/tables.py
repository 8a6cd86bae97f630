"""What the store keeps in Postgres. Tables are not contracts: they stay in this stage."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Index, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel


class Document(SQLModel, table=True):
    """One row per distinct file content; id is the SHA-256 of the file's bytes."""

    __tablename__ = "documents"

    id: str = Field(primary_key=True, max_length=64)
    file_name: str = Field(sa_type=Text)
    title: str | None = Field(default=None, sa_type=Text)
    published_on: date | None = None
    source: str | None = Field(default=None, sa_type=Text)
    author: str | None = Field(default=None, sa_type=Text)
    places: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(Text), nullable=False))
    script: str = Field(sa_type=Text)
    encoding: str = Field(sa_type=Text)
    format: str = Field(sa_type=Text)
    size_bytes: int = Field(sa_type=BigInteger)
    original_text: str = Field(sa_type=Text)
    simplified_text: str = Field(sa_type=Text)
    extractor_version: str = Field(sa_type=Text)
    metric_count: int
    ingested_at: datetime = Field(sa_type=DateTime(timezone=True))
    stored_at: datetime = Field(sa_type=DateTime(timezone=True))
    updated_at: datetime = Field(sa_type=DateTime(timezone=True))
    # None on documents stored before it was kept, and on files that came with nothing.
    file_facts: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))


class MetricRow(SQLModel, table=True):
    """One figure, traceable to its sentence and to its offsets in the original text."""

    __tablename__ = "metrics"
    __table_args__ = (
        UniqueConstraint("document_id", "ordinal"),
        Index("ix_metrics_indicator_city_year", "indicator", "city", "year"),
        Index("ix_metrics_city_year", "city", "year"),
        Index("ix_metrics_indicator_place_year", "indicator", "place_code", "year"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    document_id: str = Field(
        sa_column=Column(Text, ForeignKey("documents.id", ondelete="CASCADE"), nullable=False)
    )
    ordinal: int
    value: float
    value_max: float | None = None
    unit_kind: str = Field(sa_type=Text)
    measure_word: str = Field(sa_type=Text)
    qualifier: str = Field(sa_type=Text)
    indicator: str | None = Field(default=None, sa_type=Text)
    subject: str | None = Field(default=None, sa_type=Text)
    city: str | None = Field(default=None, sa_type=Text)
    place_code: str | None = Field(default=None, sa_type=Text)
    place_level: str | None = Field(default=None, sa_type=Text)
    # None on rows stored before the extractor recorded why a figure has its place.
    place_basis: str | None = Field(default=None, sa_type=Text)
    year: int | None = None
    change: str | None = Field(default=None, sa_type=Text)
    surface: str = Field(sa_type=Text)
    start_offset: int
    end_offset: int
    sentence: str = Field(sa_type=Text)


class PassageRow(SQLModel, table=True):
    """A run of whole lines of a document's Simplified text, indexed for Chinese full-text search."""

    __tablename__ = "passages"
    __table_args__ = (UniqueConstraint("document_id", "ordinal"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    document_id: str = Field(
        sa_column=Column(Text, ForeignKey("documents.id", ondelete="CASCADE"), nullable=False)
    )
    ordinal: int
    start_offset: int = Field(description="offset into documents.simplified_text")
    text: str = Field(sa_type=Text)
    search_terms: str = Field(sa_type=Text)


class IndicatorRow(SQLModel, table=True):
    """The indicator catalog, so queries can show names beside codes."""

    __tablename__ = "indicators"

    code: str = Field(primary_key=True, sa_type=Text)
    name_zh: str = Field(sa_type=Text)
    name_en: str = Field(sa_type=Text)
    group_name: str = Field(sa_type=Text)
    unit_kind: str = Field(sa_type=Text)


class RegionRow(SQLModel, table=True):
    """An administrative division (jionlp's china_location data), which metrics join by place_code."""

    __tablename__ = "regions"

    code: str = Field(primary_key=True, sa_type=Text)
    name: str = Field(sa_type=Text)
    level: str = Field(sa_type=Text)
    parent_code: str | None = Field(default=None, sa_type=Text)
    province: str = Field(sa_type=Text)
    prefecture: str | None = Field(default=None, sa_type=Text)


class IngestLogEntry(SQLModel, table=True):
    """What became of every file dropped: stored, unchanged or failed, and why."""

    __tablename__ = "ingest_log"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    doc_id: str | None = Field(default=None, sa_type=Text, index=True)
    file_name: str | None = Field(default=None, sa_type=Text)
    status: str = Field(sa_type=Text)
    stage: str = Field(sa_type=Text)
    reason: str | None = Field(default=None, sa_type=Text)
    logged_at: datetime = Field(sa_type=DateTime(timezone=True))
    error_type: str | None = Field(default=None, sa_type=Text)
    trace: str | None = Field(default=None, sa_type=Text)


class DeadLetterRow(SQLModel, table=True):
    """A message or file a stage could not use, with what it takes to publish it again."""

    __tablename__ = "dead_letters"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    stage: str = Field(sa_type=Text)
    stream: str | None = Field(default=None, sa_type=Text)
    doc_id: str | None = Field(default=None, sa_type=Text, index=True)
    file_name: str | None = Field(default=None, sa_type=Text)
    reason: str = Field(sa_type=Text)
    error_type: str | None = Field(default=None, sa_type=Text)
    trace: str | None = Field(default=None, sa_type=Text)
    failed_at: datetime = Field(sa_type=DateTime(timezone=True), index=True)
    payload: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    replayed: int = Field(default=0)
    last_replayed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class DeadLetterReplay(SQLModel, table=True):
    """One replay of a dead letter: when, by whom, and where it went."""

    __tablename__ = "dead_letter_replays"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    # Kept when the letter is purged: the log outlives it, with what it was about.
    dead_letter_id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, ForeignKey("dead_letters.id", ondelete="SET NULL"), nullable=True),
    )
    stage: str = Field(sa_type=Text)
    doc_id: str | None = Field(default=None, sa_type=Text)
    replayed_at: datetime = Field(sa_type=DateTime(timezone=True))
    replayed_by: str = Field(sa_type=Text)
    stream: str | None = Field(default=None, sa_type=Text)
    entry_id: str | None = Field(default=None, sa_type=Text)
    moved_to: str | None = Field(default=None, sa_type=Text)
