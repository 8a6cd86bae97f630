"""Contracts, stream names and settings shared by every stage."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from shared.contracts import DeadLetter, DocumentIngested, Metric
from shared.settings import Settings, SettingsError
from shared.streaming.dead_letters import parse_contracts
from shared.streaming.groups import _id_key, _next_id
from shared.streams import STAGE_INPUTS, Topology


def test_contracts_are_frozen_versioned_and_strict() -> None:
    letter = DeadLetter(stage="ingest", reason="empty file", failed_at=datetime.now(UTC))
    assert letter.schema_version == 1
    with pytest.raises(ValidationError):
        letter.reason = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        DeadLetter(stage="ingest", reason="x", failed_at=datetime.now(UTC), colour="red")  # type: ignore[call-arg]


def test_metric_unit_kinds_are_the_catalog_vocabulary() -> None:
    with pytest.raises(ValidationError):
        Metric(value=1, unit_kind="furlongs", surface="1", start=0, end=1, sentence="1")  # type: ignore[arg-type]


def test_invalid_messages_are_separated_with_a_reason() -> None:
    good = {
        "doc_id": "a" * 64,
        "file_name": "a.txt",
        "original_text": "文明",
        "encoding": "utf-8",
        "format": "txt",
        "size_bytes": 6,
        "ingested_at": "2024-01-05T10:58:00Z",
    }
    valid, invalid = parse_contracts(DocumentIngested, [good, {"doc_id": "b"}, "not even an object"])
    assert [d.doc_id for d in valid] == ["a" * 64]
    assert len(invalid) == 2 and all("not a valid DocumentIngested" in reason for _, reason in invalid)


def test_stream_names_are_prefixed_and_each_stage_has_its_group() -> None:
    topology = Topology("run-1")
    assert topology.ingested == "run-1:documents.ingested.v1"
    pairs = topology.consumer_groups()
    assert ("run-1:documents.extracted.v1", "store") in pairs
    assert {group for _, group in pairs} == set(STAGE_INPUTS)


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WENMING_REDIS_URL", "redis://example:6379/0")
    monkeypatch.setenv("WENMING_BATCH_SIZE", "128")
    monkeypatch.setenv("WENMING_DATABASE_URL", "")
    settings = Settings()
    assert settings.require_redis_url() == "redis://example:6379/0"
    assert settings.batch_size == 128
    with pytest.raises(SettingsError, match="WENMING_DATABASE_URL"):
        settings.require_database_url()


def test_settings_refuse_nonsense(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WENMING_BATCH_SIZE", "0")
    with pytest.raises(ValidationError):
        Settings()


def test_consumer_names_differ_per_process() -> None:
    assert Settings().consumer_name.endswith(f"-{__import__('os').getpid()}")


def test_stream_ids_order_numerically() -> None:
    assert _id_key("10-0") > _id_key("9-5")
    assert _next_id("1700000000000-7") == "1700000000000-8"
