"""`wenming dlq` and `wenming reprocess` without servers: what they read from a person, what they
print, which versions they take, and how a dead letter's message keeps its large fields."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from services.operate.cli import build_parser
from services.operate.dlq_text import (
    letter_details,
    letter_table,
    letters_csv,
    letters_json,
    parse_moment,
    payload_summary,
    replay_obstacle,
    reprocess_summary,
    width,
)
from services.operate.reprocess import is_older
from services.store.repository import judge_version
from shared.contracts import DeadLetter
from shared.references import payload_references, referenced_keys, references, with_contents

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
ROW = {
    "id": 7,
    "failed_at": NOW,
    "stage": "store",
    "doc_id": "ab" * 32,
    "file_name": "淮北市/report.txt",
    "reason": "store rejected: " + "x" * 100,
    "error_type": None,
    "failures": 2,
    "replayed": 1,
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", NOW - timedelta(days=30)),
        ("12h", NOW - timedelta(hours=12)),
        (" 90m ", NOW - timedelta(minutes=90)),
        ("2026-11-30", datetime(2026, 11, 30, tzinfo=UTC)),
        ("2026-11-30T08:00", datetime(2026, 11, 30, 8, tzinfo=UTC)),
        ("2026-11-30T08:00+08:00", datetime(2026, 11, 30, 0, tzinfo=UTC)),
    ],
)
def test_a_moment_is_an_age_or_a_date(text: str, expected: datetime) -> None:
    assert parse_moment(text, now=NOW) == expected


@pytest.mark.parametrize("text", ["30", "thirty days", "30w", "2026-13-01", ""])
def test_anything_else_is_refused_with_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueError, match=r"neither an age \(30d, 12h, 90m\) nor a date"):
        parse_moment(text, now=NOW)


def test_the_list_table_shortens_ids_and_reasons_and_aligns_cjk() -> None:
    lines = letter_table([ROW, {**ROW, "id": 12, "file_name": "b.txt"}]).splitlines()
    assert lines[0].split() == [
        "id",
        "failed",
        "at",
        "stage",
        "doc",
        "file",
        "reason",
        "error",
        "failures",
        "replayed",
    ]
    assert "abababababab " in lines[1] and "ab" * 7 not in lines[1]
    assert "store rejected: xxx" in lines[1] and "…" in lines[1] and "x" * 100 not in lines[1]
    # The file name with wide characters and the plain one end at the same column of the terminal.
    starts = [width(line[: line.index("store rejected")]) for line in lines[1:]]
    assert starts[0] == starts[1]


def test_csv_and_json_give_every_column_in_full() -> None:
    [row] = list(csv.DictReader(io.StringIO(letters_csv([ROW]))))
    assert row["doc_id"] == "ab" * 32 and row["reason"] == ROW["reason"] and row["failures"] == "2"
    assert row["failed_at"] == "2026-12-06T12:00:00+00:00"
    [item] = json.loads(letters_json([ROW]))
    assert item == {**ROW, "failed_at": "2026-12-06T12:00:00+00:00"}
    assert json.loads(letters_json([])) == []


def test_show_tells_everything_with_the_message_in_brief() -> None:
    payload = {
        "doc_id": "ab" * 32,
        "file_name": "report.txt",
        "original_text": "全市注册志愿者42万名。" * 20,
        "metrics": [{"value": 1}] * 5,
        "text_ref": {"key": "p:contents:ab:cd", "size_bytes": 123},
        "extractor_version": "0.2.0",
        "file_facts": None,
    }
    letter = {
        **ROW,
        "stream": "wenming:documents.extracted.v1",
        "error_type": "ValueError",
        "trace": 'File "x.py", line 3, in f\nValueError: poisoned',
        "last_replayed_at": NOW,
        "payload": payload,
    }
    replay = {
        "replayed_at": NOW,
        "replayed_by": "ana@host",
        "stream": "s",
        "entry_id": "1-0",
        "moved_to": None,
    }
    text = letter_details(letter, [replay])
    assert "error type: ValueError" in text and "2 of this document at store" in text
    assert "by ana@host: s entry 1-0" in text
    assert "original_text: 240 characters" in text and "metrics: 5 items" in text
    assert "text_ref: by reference, p:contents:ab:cd (123 bytes), not kept" in text
    assert 'extractor_version: "0.2.0"' in text and "file_facts" not in text
    assert text.endswith("  ValueError: poisoned")
    assert payload_summary(None) == ["(none kept: an ingest letter, or one from before messages were kept)"]


def test_what_can_never_be_replayed_is_told_from_the_letter() -> None:
    inputs = {"wenming:documents.extracted.v1"}
    letter = {**ROW, "stream": "wenming:documents.extracted.v1", "payload": {"doc_id": "ab"}}
    assert replay_obstacle(letter, inputs) is None
    gone = {**letter, "payload": {"doc_id": "ab", "text": "", "text_ref": {"key": "k", "size_bytes": 9}}}
    assert replay_obstacle(gone, inputs) == (
        "its text was gone from Redis when it was dead-lettered: drop the file again"
    )
    elsewhere = {**letter, "stream": "other:documents.extracted.v1"}
    assert replay_obstacle(elsewhere, inputs) == (
        "it was read from other:documents.extracted.v1, not the input of a stage under this stream prefix"
    )
    ingest = {**ROW, "stage": "ingest", "stream": None, "payload": None}
    assert replay_obstacle(ingest, inputs) is None
    assert replay_obstacle({**ingest, "file_name": None}, inputs) == "it names no file"
    in_full = {**gone, "trace": None, "last_replayed_at": None}
    shown = letter_details(in_full, [], obstacle="its text was gone")
    assert "\nreplay:     not possible: its text was gone; `wenming dlq purge 7` removes it\n" in shown


def test_the_reprocess_summary_counts_each_outcome() -> None:
    line = reprocess_summary(5, {"updated": 3, "failed": 2}, 12.34)
    assert line == "reprocessed 5 documents in 12.3s: 3 updated, 0 unchanged, 0 stale, 2 failed"


@pytest.mark.parametrize(
    ("version", "than", "older"),
    [("0.2.0", "0.3.0", True), ("0.3.0", "0.3.0", False), ("0.10.0", "0.9.0", False), ("dev", "0.3.0", True)],
)
def test_older_extractor_versions(version: str, than: str, older: bool) -> None:
    assert is_older(version, than) is older


def test_a_version_to_compare_with_must_be_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Refused before the database is opened: this would otherwise select every stored document.
    monkeypatch.setenv("WENMING_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    args = build_parser().parse_args(["reprocess", "--extractor-older-than", "banana"])
    assert args.handler(args) == 2
    assert capsys.readouterr().err == (
        "wenming reprocess: --extractor-older-than banana: not a version (such as 0.3.0)\n"
    )


def test_a_reprocess_replaces_the_same_version_and_never_an_older() -> None:
    assert judge_version("0.2.0", "0.2.0") == "unchanged"
    assert judge_version("0.2.0", "0.2.0", reprocess=True) == "updated"
    assert judge_version("0.3.0", "0.2.0", reprocess=True) == "stale"
    assert judge_version(None, "0.2.0", reprocess=True) == "stored"


def test_a_dead_letter_counts_the_references_of_its_message_and_releases_them() -> None:
    ref = {"key": "p:contents:ab:cd", "size_bytes": 12}
    payload = {"doc_id": "ab", "original_text": "", "original_text_ref": ref, "other_ref": "not one"}
    letter = DeadLetter(stage="extract", reason="r", failed_at=NOW, payload=payload)
    assert [r.key for r in references(letter)] == ["p:contents:ab:cd"]
    raw = json.loads(letter.model_dump_json())
    assert referenced_keys(raw) == ["p:contents:ab:cd"]
    assert payload_references(None) == [] and payload_references({"x_ref": {"key": 1}}) == []


def test_the_store_puts_the_referenced_fields_back_into_the_payload() -> None:
    payload = {
        "original_text": "",
        "original_text_ref": {"key": "k1", "size_bytes": 9},
        "offset_runs": None,
        "offset_runs_ref": {"key": "k2", "size_bytes": 9},
    }
    inlined = with_contents(payload, {"k1": json.dumps("全文").encode()})
    assert inlined["original_text"] == "全文" and "original_text_ref" not in inlined
    assert inlined["offset_runs_ref"] == {"key": "k2", "size_bytes": 9}  # gone: left as it was


@pytest.mark.parametrize(
    "command",
    [
        "dlq list",
        "dlq list --stage store --since 7d --json",
        "dlq show 3",
        "dlq replay 3 4",
        "dlq replay --all --stage extract",
        "dlq purge --older-than 30d",
        "dlq purge 3 4",
        "reprocess --all",
        "reprocess --doc 3f2a9c 77aa01 --no-wait",
        "reprocess --extractor-older-than 0.3.0",
        "reprocess --since 2026-11-01",
        "reprocess --all --timeout 60",
    ],
)
def test_the_commands_parse(command: str) -> None:
    assert build_parser().parse_args(command.split()).handler


@pytest.mark.parametrize(
    "command",
    [
        "dlq replay",
        "dlq replay 3 --all",
        "dlq purge",
        "dlq purge 3 --older-than 30d",
        "reprocess",
        "reprocess --all --doc 3f2a9c",
        "dlq show x",
    ],
)
def test_incomplete_or_contradictory_commands_are_refused(command: str) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(command.split())
    assert exited.value.code == 2


def test_without_a_database_each_command_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("WENMING_DATABASE_URL", raising=False)
    for command in (
        "dlq list",
        "dlq show 1",
        "dlq replay --all",
        "dlq purge --older-than 1d",
        "reprocess --all",
    ):
        args = build_parser().parse_args(command.split())
        assert args.handler(args) == 1
        err = capsys.readouterr().err
        name = "reprocess" if command.startswith("reprocess") else " ".join(command.split()[:2])
        assert err.startswith(f"wenming {name}: WENMING_DATABASE_URL is not set; in the folder where")
        assert err.endswith('`eval "$(wenming env)"` sets it\n') and err.count("\n") == 1
