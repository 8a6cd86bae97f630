"""Large documents leave their messages by reference and come back whole; small ones travel inline."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from shared.contracts import (
    ContentRef,
    DocumentExtracted,
    DocumentIngested,
    DocumentMetadata,
    DocumentNormalized,
    Metric,
)
from shared.offsets import OffsetMap
from shared.references import (
    Held,
    MissingContent,
    by_reference,
    document_bytes,
    referenced_keys,
    references,
    resolved,
    smallest_first,
)

DOC_ID = "a" * 64
NOW = datetime(2024, 5, 1, tzinfo=UTC)
PARAGRAPH = "　　全市注册志愿者42万名，建成新时代文明实践站438个，群众满意率达到98.5%。\n"


def ingested(text: str) -> DocumentIngested:
    return DocumentIngested(
        doc_id=DOC_ID,
        file_name="report.txt",
        original_text=text,
        encoding="utf-8",
        format="txt",
        size_bytes=len(text.encode()),
        ingested_at=NOW,
    )


def normalized(original: str) -> DocumentNormalized:
    text = original.replace("　", "")
    offsets = [i for i, ch in enumerate(original) if ch != "　"]
    return DocumentNormalized(
        doc_id=DOC_ID,
        file_name="report.txt",
        original_text=original,
        text=text,
        offsets=(),
        offset_runs=OffsetMap.from_offsets(offsets).runs(),
        script="simplified",
        encoding="utf-8",
        format="txt",
        size_bytes=len(original.encode()),
        ingested_at=NOW,
    )


def extracted(original: str, figures: int) -> DocumentExtracted:
    metric = Metric(value=420000, unit_kind="person", surface="42万名", start=9, end=13, sentence=PARAGRAPH)
    return DocumentExtracted(
        doc_id=DOC_ID,
        file_name="report.txt",
        original_text=original,
        text=original.replace("　", ""),
        script="simplified",
        encoding="utf-8",
        format="txt",
        size_bytes=len(original.encode()),
        metadata=DocumentMetadata(title="文明创建", places=("鞍山市",)),
        metrics=(metric,) * figures,
        extractor_version="1.0",
        ingested_at=NOW,
    )


SMALL = PARAGRAPH * 10
LARGE = PARAGRAPH * 400  # about 40 KB
LIMIT = 16 * 1024
PREFIX = "test:contents"


@pytest.mark.parametrize("message", [ingested(SMALL), normalized(SMALL), extracted(SMALL, 5)])
def test_a_small_document_travels_inline(message: BaseModel) -> None:
    detached = by_reference(message, inline_bytes=LIMIT, key_prefix=PREFIX)
    assert detached.message is message and detached.contents == {}
    assert references(message) == []


@pytest.mark.parametrize(
    ("message", "fields"),
    [
        (ingested(LARGE), {"original_text"}),
        (normalized(LARGE), {"original_text", "text", "offset_runs"}),
        (extracted(LARGE, 1_000), {"original_text", "text", "metrics"}),
    ],
)
def test_a_large_document_goes_by_reference_and_comes_back_whole(
    message: BaseModel, fields: set[str]
) -> None:
    detached = by_reference(message, inline_bytes=LIMIT, key_prefix=PREFIX)
    published = type(message).model_validate_json(detached.message.model_dump_json())
    assert {name for name in fields if getattr(published, f"{name}_ref") is not None} == fields
    assert len(published.model_dump_json()) < 2_000
    assert all(ref.key.startswith(f"{PREFIX}:{DOC_ID}:") for ref in references(published))
    assert {ref.key for ref in references(published)} == set(detached.contents)
    assert resolved(published, detached.contents) == message


def test_the_same_text_is_one_key_whichever_stage_refers_to_it() -> None:
    first = by_reference(ingested(LARGE), inline_bytes=LIMIT, key_prefix=PREFIX).message
    second = by_reference(normalized(LARGE), inline_bytes=LIMIT, key_prefix=PREFIX).message
    assert first.original_text_ref == second.original_text_ref
    assert second.text_ref is not None and second.text_ref != second.original_text_ref


def test_a_text_passed_on_unchanged_keeps_its_key_and_is_not_written_again() -> None:
    first = by_reference(normalized(LARGE), inline_bytes=LIMIT, key_prefix=PREFIX)
    arrived = resolved(first.message, first.contents)
    assert first.message.original_text_ref is not None and first.message.text_ref is not None
    held = [
        Held(arrived.original_text, first.message.original_text_ref),
        Held(arrived.text, first.message.text_ref),
    ]
    passed_on = extracted(LARGE, 1_000).model_copy(
        update={"original_text": arrived.original_text, "text": arrived.text}
    )
    reused = by_reference(passed_on, inline_bytes=LIMIT, key_prefix=PREFIX, held=held)
    computed = by_reference(passed_on, inline_bytes=LIMIT, key_prefix=PREFIX)
    assert reused.message == computed.message  # the same keys as serialising the texts again gives
    assert reused.message.metrics_ref is not None
    assert set(reused.contents) == {reused.message.metrics_ref.key}  # only the new field is written
    # An equal text that is not the object fetched is serialised: identity, not equality, is trusted.
    copied = passed_on.model_copy(update={"text": "".join(list(arrived.text))})
    again = by_reference(copied, inline_bytes=LIMIT, key_prefix=PREFIX, held=held)
    assert again.message == computed.message and len(again.contents) == 2


def test_a_content_no_longer_kept_is_named() -> None:
    detached = by_reference(normalized(LARGE), inline_bytes=LIMIT, key_prefix=PREFIX)
    missing = next(iter(detached.contents))
    kept = {key: data for key, data in detached.contents.items() if key != missing}
    with pytest.raises(MissingContent, match=missing):
        resolved(detached.message, kept)


def test_offsets_of_a_referenced_text_need_it_resolved_first() -> None:
    message = by_reference(normalized(LARGE), inline_bytes=LIMIT, key_prefix=PREFIX).message
    with pytest.raises(ValueError, match="resolve"):
        message.offset_map()


def test_a_field_is_either_in_the_message_or_referenced() -> None:
    ref = ContentRef(key=f"{PREFIX}:{DOC_ID}:00", size_bytes=10)
    with pytest.raises(ValidationError, match="both"):
        DocumentIngested.model_validate({**ingested(SMALL).model_dump(), "original_text_ref": ref})
    with pytest.raises(ValidationError, match="both"):
        DocumentNormalized.model_validate({**normalized(SMALL).model_dump(), "offsets": (0, 1)})


def test_a_message_with_a_per_character_map_is_still_read() -> None:
    current = normalized(SMALL)
    before_runs = current.model_dump() | {"offsets": tuple(current.offset_map()), "offset_runs": None}
    del before_runs["original_text_ref"], before_runs["text_ref"], before_runs["offset_runs_ref"]
    old = DocumentNormalized.model_validate(before_runs)
    assert old.offset_map() == current.offset_map()
    assert list(old.offset_map()) == list(old.offsets)


def test_keys_and_sizes_are_read_from_raw_messages_valid_or_not() -> None:
    detached = by_reference(extracted(LARGE, 1_000), inline_bytes=LIMIT, key_prefix=PREFIX)
    raw = detached.message.model_dump(mode="json")
    assert sorted(referenced_keys(raw)) == sorted(detached.contents)
    assert referenced_keys({"text_ref": {"size_bytes": 3}, "original_text_ref": "x"}) == []
    assert referenced_keys(["not", "a", "message"]) == []
    assert document_bytes(raw) >= sum(len(data) for data in detached.contents.values())
    assert document_bytes(ingested(SMALL).model_dump(mode="json")) >= len(SMALL.encode())


@given(
    st.lists(st.integers(min_value=0, max_value=100), max_size=40), st.integers(min_value=1, max_value=120)
)
def test_sub_batches_hold_each_document_once_within_the_bound(sizes: list[int], bound: int) -> None:
    groups = smallest_first(sizes, bound)
    assert sorted(i for group in groups for i in group) == list(range(len(sizes)))
    assert all(len(group) == 1 or sum(sizes[i] for i in group) <= bound for group in groups)
    ordered = [sizes[i] for group in groups for i in group]
    assert ordered == sorted(ordered)


def test_small_documents_read_with_a_large_one_go_first() -> None:
    sizes = [15_000_000, 20_000, 8_000, 20_000]
    assert smallest_first(sizes, 1024 * 1024) == [[2, 1, 3], [0]]
    assert smallest_first(sizes, 30_000) == [[2, 1], [3], [0]]
