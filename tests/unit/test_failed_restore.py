"""A failed file put back into the inbox for a replay: the right one, never through a link, never over
another file."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from services.ingest.failed import NotRestorable, restore_failed
from services.ingest.inbox import display_name

REASON = "file is 300 bytes, over the 200-byte limit"
REPORT = "全市注册志愿者42万名。".encode()


def _failed(inbox: Path, name: str, content: bytes = REPORT, reason: str = REASON, folder: str = "") -> Path:
    place = inbox / "failed" / folder
    place.mkdir(parents=True, exist_ok=True)
    (place / name).write_bytes(content)
    (place / f"{name}.error.txt").write_text(reason + "\n", encoding="utf-8")
    return place / name


def _id(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def test_the_file_and_its_sidecar_go_back_and_the_error_file_goes(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    _failed(inbox, "report.txt")
    (inbox / "failed" / "report.txt.meta.json").write_text('{"place": "淮北市"}', encoding="utf-8")
    restored = restore_failed(inbox, "report.txt", REASON, _id(REPORT))
    assert restored.path == "report.txt" and restored.sidecar
    assert (inbox / "report.txt").read_bytes() == REPORT
    assert (inbox / "report.txt.meta.json").is_file()
    assert sorted(p.name for p in (inbox / "failed").iterdir()) == []


def test_of_files_failed_under_the_same_name_the_one_of_the_letter_goes_back(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    _failed(inbox, "report.txt", reason="not UTF-8")
    _failed(inbox, "report-2.txt", content=b"other bytes")
    _failed(inbox, "report-3.txt")
    restore_failed(inbox, "report.txt", REASON, _id(REPORT))
    assert (inbox / "report.txt").read_bytes() == REPORT
    left = sorted(p.name for p in (inbox / "failed").iterdir())
    assert left == ["report-2.txt", "report-2.txt.error.txt", "report.txt", "report.txt.error.txt"]


def test_a_file_in_a_place_folder_goes_back_to_that_folder(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "老河口市").mkdir(parents=True)
    _failed(inbox, "r.txt", folder="老河口市")
    restore_failed(inbox, "老河口市/r.txt", REASON, None)
    assert (inbox / "老河口市" / "r.txt").read_bytes() == REPORT


def test_a_file_whose_name_is_not_utf8_goes_back_under_the_name_its_letter_shows(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    gbk_name = os.fsdecode("报告.txt".encode("gbk"))
    _failed(inbox, gbk_name)
    _failed(inbox, os.fsdecode("报表.txt".encode("gbk")), content=b"other bytes")
    shown = display_name(gbk_name)
    assert shown == "\ufffd\ufffd\ufffd\ufffd.txt"  # as ingest's letter names it
    restored = restore_failed(inbox, shown, REASON, _id(REPORT))
    assert restored.path == shown and (inbox / shown).read_bytes() == REPORT
    assert sorted(os.listdir(os.fsencode(inbox / "failed"))) == [
        "报表.txt".encode("gbk"),
        "报表.txt.error.txt".encode("gbk"),
    ]


def test_a_link_in_failed_is_never_followed_nor_moved_back(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    outside = tmp_path / "secret.txt"
    outside.write_bytes(REPORT)
    _failed(inbox, "report.txt")
    (inbox / "failed" / "report.txt").unlink()
    (inbox / "failed" / "report.txt").symlink_to(outside)
    with pytest.raises(NotRestorable, match=r"report.txt is a symbolic link: not moved back"):
        restore_failed(inbox, "report.txt", REASON, None)
    assert (inbox / "failed" / "report.txt").is_symlink() and outside.read_bytes() == REPORT
    assert not (inbox / "report.txt").exists()


def test_failed_itself_a_link_is_refused(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    elsewhere = tmp_path / "elsewhere"
    _failed(elsewhere.parent / "x", "report.txt")
    inbox.mkdir()
    (inbox / "failed").symlink_to(tmp_path / "x" / "failed")
    with pytest.raises(NotRestorable, match="symbolic link"):
        restore_failed(inbox, "report.txt", REASON, None)
    assert (tmp_path / "x" / "failed" / "report.txt").is_file()


def test_a_folder_that_is_not_an_inbox_is_said_to_be_and_left_as_it_was(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with pytest.raises(NotRestorable, match=rf"^{elsewhere} is not an inbox \(no failed/ folder\)$"):
        restore_failed(elsewhere, "老河口市/r.txt", REASON, None)
    assert list(elsewhere.iterdir()) == []
    with pytest.raises(NotRestorable, match=r"is not an inbox \(no failed/ folder\)$"):
        restore_failed(tmp_path / "missing", "r.txt", REASON, None)
    assert not (tmp_path / "missing").exists()


def test_a_place_folder_gone_from_the_inbox_is_named(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    _failed(inbox, "r.txt", folder="老河口市")
    with pytest.raises(NotRestorable, match=rf"^no {inbox}/老河口市 folder: make it again, then replay$"):
        restore_failed(inbox, "老河口市/r.txt", REASON, None)
    assert (inbox / "failed" / "老河口市" / "r.txt").is_file()
    assert sorted(p.name for p in inbox.iterdir()) == ["failed"]
    with pytest.raises(NotRestorable, match=r"no .*/inbox/failed/保定市 folder \(moved or removed since\)$"):
        restore_failed(inbox, "保定市/r.txt", REASON, None)
    assert sorted(p.name for p in (inbox / "failed").iterdir()) == ["老河口市"]


def test_nothing_is_replaced_in_the_inbox(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    _failed(inbox, "report.txt")
    (inbox / "report.txt").write_bytes(b"a new file by that name")
    with pytest.raises(NotRestorable, match=r"inbox/report.txt exists: not replaced"):
        restore_failed(inbox, "report.txt", REASON, None)
    assert (inbox / "report.txt").read_bytes() == b"a new file by that name"
    assert (inbox / "failed" / "report.txt.error.txt").is_file()


def test_a_sidecar_never_goes_back_without_its_document(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    _failed(inbox, "report.txt")
    (inbox / "failed" / "report.txt.meta.json").write_text('{"place": "淮北市"}', encoding="utf-8")
    (inbox / "report.txt").write_bytes(b"another document by that name")
    with pytest.raises(NotRestorable, match=r"inbox/report.txt exists: not replaced"):
        restore_failed(inbox, "report.txt", REASON, None)
    # Not in the inbox, where it would give its place to the other document.
    assert not (inbox / "report.txt.meta.json").exists()
    assert sorted(p.name for p in (inbox / "failed").iterdir()) == [
        "report.txt",
        "report.txt.error.txt",
        "report.txt.meta.json",
    ]


def test_a_document_whose_name_is_taken_meanwhile_takes_its_sidecar_back_to_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = tmp_path / "inbox"
    _failed(inbox, "report.txt")
    (inbox / "failed" / "report.txt.meta.json").write_text('{"place": "淮北市"}', encoding="utf-8")
    (inbox / "report.txt").write_bytes(b"dropped between the check and the move")
    # The check finds both names free, as it would just before the other file arrived.
    monkeypatch.setattr("services.ingest.failed._exists", lambda folder, name: False)
    with pytest.raises(NotRestorable, match=r"inbox/report.txt exists: not replaced"):
        restore_failed(inbox, "report.txt", REASON, None)
    assert not (inbox / "report.txt.meta.json").exists()
    assert (inbox / "failed" / "report.txt.meta.json").is_file()


def test_a_sidecar_whose_name_is_taken_leaves_its_document_in_failed(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    _failed(inbox, "report.txt")
    (inbox / "failed" / "report.txt.meta.json").write_text('{"place": "淮北市"}', encoding="utf-8")
    (inbox / "report.txt.meta.json").write_text('{"place": "保定市"}', encoding="utf-8")
    with pytest.raises(NotRestorable, match=r"inbox/report.txt.meta.json exists: not replaced"):
        restore_failed(inbox, "report.txt", REASON, None)
    assert not (inbox / "report.txt").exists() and (inbox / "failed" / "report.txt").is_file()


@pytest.mark.parametrize(
    ("file_name", "reason", "doc_id", "says"),
    [
        ("gone.txt", REASON, None, "no gone.txt in failed"),
        ("report.txt", "another reason", None, "failed for this reason"),
        ("report.txt", REASON, "0" * 64, "failed for this reason"),
        ("report.txt.meta.json", REASON, None, "is a sidecar"),
        ("../report.txt", REASON, None, "not a plain file name"),
    ],
)
def test_a_file_that_is_not_the_letters_is_left_where_it_is(
    tmp_path: Path, file_name: str, reason: str, doc_id: str | None, says: str
) -> None:
    inbox = tmp_path / "inbox"
    _failed(inbox, "report.txt")
    with pytest.raises(NotRestorable, match=says):
        restore_failed(inbox, file_name, reason, doc_id)
    assert (inbox / "failed" / "report.txt").read_bytes() == REPORT
