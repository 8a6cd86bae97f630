"""What comes with a file rather than in it (services/ingest/file_facts.py): a `<file>.meta.json` sidecar,
or an inbox folder named after a place."""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

import pytest

from services.ingest.file_facts import is_sidecar, parse_sidecar, read_file_facts, sidecar_of
from shared.contracts import FileFacts


def _report(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "report.txt"
    path.write_text("今年新建口袋公园20个。", encoding="utf-8")
    return path


def _write_sidecar(path: Path, facts: object) -> Path:
    sidecar = sidecar_of(path)
    sidecar.write_text(json.dumps(facts, ensure_ascii=False), encoding="utf-8")
    return sidecar


def test_a_sidecar_lies_beside_its_file() -> None:
    assert sidecar_of(Path("inbox/report.txt")) == Path("inbox/report.txt.meta.json")
    assert is_sidecar(Path("inbox/report.txt.meta.json")) and not is_sidecar(Path("inbox/report.txt"))


def test_sidecar_facts(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    path = _report(inbox)
    _write_sidecar(path, {"place": "老河口市", "source": "老河口市文明办", "published_on": "2024-03-01"})
    assert read_file_facts(path, inbox=inbox) == FileFacts(
        place="老河口市", source="老河口市文明办", published_on=date(2024, 3, 1)
    )


def test_a_folder_named_after_a_place_gives_the_place(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    path = _report(inbox / "老河口市")
    assert read_file_facts(path, inbox=inbox) == FileFacts(place="老河口市")


@pytest.mark.parametrize("folder", ["", "reports", "2024年报告"])
def test_the_inbox_itself_or_a_folder_not_named_in_chinese_gives_nothing(tmp_path: Path, folder: str) -> None:
    inbox = tmp_path / "inbox"
    path = _report(inbox / folder if folder else inbox)
    assert read_file_facts(path, inbox=inbox) is None


def test_without_an_inbox_the_files_own_folder_counts(tmp_path: Path) -> None:
    path = _report(tmp_path / "深圳市福田区")
    assert read_file_facts(path) == FileFacts(place="深圳市福田区")


def test_the_sidecars_place_wins_over_the_folders(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    path = _report(inbox / "襄阳市")
    _write_sidecar(path, {"place": "老河口市"})
    assert read_file_facts(path, inbox=inbox) == FileFacts(place="老河口市")


def test_a_sidecar_without_a_place_keeps_the_folders(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    path = _report(inbox / "老河口市")
    _write_sidecar(path, {"source": "老河口市文明办"})
    assert read_file_facts(path, inbox=inbox) == FileFacts(place="老河口市", source="老河口市文明办")


def test_a_bad_sidecar_is_logged_and_left_out(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    inbox = tmp_path / "inbox"
    path = _report(inbox / "老河口市")
    sidecar_of(path).write_text("{place: 老河口市", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="services.ingest.file_facts"):
        facts = read_file_facts(path, inbox=inbox)
    assert facts == FileFacts(place="老河口市")
    assert "report.txt.meta.json" in caplog.text and "not UTF-8 JSON" in caplog.text


def test_a_symlinked_sidecar_is_not_followed(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    path = _report(inbox)
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps({"place": "老河口市"}, ensure_ascii=False), encoding="utf-8")
    sidecar_of(path).symlink_to(elsewhere)
    assert read_file_facts(path, inbox=inbox) is None


def test_parse_sidecar_reads_a_timestamp_as_its_date_and_ignores_unknown_keys() -> None:
    raw = json.dumps({"place": "老河口市", "published_on": "2024-03-01T08:30:00", "tags": ["x"]}).encode()
    assert parse_sidecar(raw) == FileFacts(place="老河口市", published_on=date(2024, 3, 1))


def test_parse_sidecar_accepts_a_byte_order_mark() -> None:
    raw = "\ufeff" + json.dumps({"place": "老河口市"}, ensure_ascii=False)
    assert parse_sidecar(raw.encode("utf-8")) == FileFacts(place="老河口市")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", "not UTF-8 JSON"),
        ("{}".encode("utf-16"), "not UTF-8 JSON"),
        (b'["\xe8\x80\x81"]', "must hold a JSON object"),
        (b'{"published_on": "next tuesday"}', "field not understood"),
        (b'{"place": 42}', "field not understood"),
    ],
)
def test_parse_sidecar_says_why_it_refuses(raw: bytes, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_sidecar(raw)
