"""The inbox watcher with what comes with a file: `<file>.meta.json` sidecars and folders named after places.

Links planted at sidecars and place folders are in test_inbox_links.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import date
from pathlib import Path

import pytest

import services.ingest.watcher as watcher_module
from services.ingest.watcher import InboxWatcher, Outcome
from shared.contracts import DeadLetter, DocumentIngested, FileFacts

REPORT = "全市注册志愿者42万名，建成新时代文明实践站438个。".encode()
FACTS = {"place": "老河口市", "source": "老河口市文明办", "published_on": "2024-03-01"}


class Recorder:
    def __init__(self) -> None:
        self.published: list[Outcome] = []

    async def __call__(self, outcomes: list[Outcome]) -> None:
        self.published.extend(outcomes)

    @property
    def ingested(self) -> dict[str, DocumentIngested]:
        return {o.file_name: o for o in self.published if isinstance(o, DocumentIngested)}

    @property
    def failed(self) -> dict[str | None, DeadLetter]:
        return {o.file_name: o for o in self.published if isinstance(o, DeadLetter)}


def _watcher(inbox: Path, publish: Recorder, **kwargs: object) -> InboxWatcher:
    options: dict[str, object] = {"min_age": 0, "rescan_interval": 0.1, "max_bytes": 1_000_000, **kwargs}
    watcher = InboxWatcher(inbox, publish, **options)  # type: ignore[arg-type]
    watcher.prepare()
    return watcher


def _drop(path: Path, content: bytes | dict[str, str] = REPORT) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, dict):
        content = json.dumps(content, ensure_ascii=False).encode()
    path.write_bytes(content)
    return path


def _names(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


async def test_a_sidecar_travels_in_its_documents_message_and_follows_it(tmp_path: Path) -> None:
    publish = Recorder()
    watcher = _watcher(tmp_path, publish)
    _drop(tmp_path / "report.txt.meta.json", FACTS)
    _drop(tmp_path / "report.txt")
    _drop(tmp_path / "done" / "report.txt", b"an earlier report of the same name")

    assert await watcher.scan_once() == 1
    [message] = publish.published
    assert isinstance(message, DocumentIngested) and message.file_name == "report.txt"
    assert message.file_facts == FileFacts(
        place="老河口市", source="老河口市文明办", published_on=date(2024, 3, 1)
    )
    # The document took the next free name, and its sidecar the name that matches it.
    assert _names(tmp_path / "done") == ["report-2.txt", "report-2.txt.meta.json", "report.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["done", "failed"]


async def test_a_sidecar_name_taken_in_done_moves_the_pair_on(tmp_path: Path) -> None:
    publish = Recorder()
    watcher = _watcher(tmp_path, publish)
    _drop(tmp_path / "report.txt.meta.json", FACTS)
    _drop(tmp_path / "report.txt")
    _drop(tmp_path / "done" / "report.txt.meta.json", b"{}")  # an orphan filed by hand

    assert await watcher.scan_once() == 1
    assert _names(tmp_path / "done") == ["report-2.txt", "report-2.txt.meta.json", "report.txt.meta.json"]


async def test_a_sidecar_is_never_a_document_and_waits_alone_without_quickening_the_scans(
    tmp_path: Path,
) -> None:
    publish = Recorder()
    watcher = _watcher(tmp_path, publish, min_age=1.0)
    _drop(tmp_path / "orphan.txt.meta.json", FACTS)
    for _ in range(3):
        assert await watcher.scan_once() == 0
    assert publish.published == [] and (tmp_path / "orphan.txt.meta.json").exists()
    assert not watcher._tracker.waiting  # an orphan sidecar does not keep the scans on their quick pace


async def test_a_document_waits_for_its_sidecar_to_settle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [0.0]
    monkeypatch.setattr(watcher_module.time, "monotonic", lambda: clock[0])
    publish = Recorder()
    watcher = _watcher(tmp_path, publish, min_age=1.0)
    _drop(tmp_path / "report.txt")
    assert await watcher.scan_once() == 0

    clock[0] = 0.5  # the sidecar comes half a second after its document
    _drop(tmp_path / "report.txt.meta.json", FACTS)
    assert await watcher.scan_once() == 0
    clock[0] = 1.2  # the document has settled, its sidecar not yet
    assert await watcher.scan_once() == 0
    clock[0] = 1.6
    assert await watcher.scan_once() == 1
    [message] = publish.ingested.values()
    assert message.file_facts is not None and message.file_facts.place == "老河口市"


async def test_a_sidecar_that_comes_after_its_document_was_taken_is_left_alone(tmp_path: Path) -> None:
    publish = Recorder()
    watcher = _watcher(tmp_path, publish)
    _drop(tmp_path / "report.txt")
    assert await watcher.scan_once() == 1
    _drop(tmp_path / "report.txt.meta.json", FACTS)
    assert await watcher.scan_once() == 0
    assert (tmp_path / "report.txt.meta.json").exists() and not (tmp_path / "failed" / "report.txt").exists()
    [message] = publish.published
    assert isinstance(message, DocumentIngested) and message.file_facts is None


@pytest.mark.parametrize(
    ("sidecar", "reason"),
    [
        (b"{place: 1}", "not UTF-8 JSON"),
        (json.dumps({"published_on": "next tuesday"}).encode(), "field not understood"),
        (b" " * (64 * 1024 + 1), "over the 65536-byte limit"),
    ],
)
async def test_a_bad_sidecar_does_not_fail_its_document(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, sidecar: bytes, reason: str
) -> None:
    publish = Recorder()
    watcher = _watcher(tmp_path, publish)
    _drop(tmp_path / "老河口市" / "report.txt")
    _drop(tmp_path / "老河口市" / "report.txt.meta.json", sidecar)
    caplog.set_level(logging.WARNING, logger="services.ingest.watcher")

    assert await watcher.scan_once() == 1
    assert await watcher.scan_once() == 0
    # The document goes on with what its folder says, and the sidecar's problem is recorded once.
    message = publish.ingested["老河口市/report.txt"]
    assert message.file_facts == FileFacts(place="老河口市")
    letter = publish.failed["老河口市/report.txt.meta.json"]
    assert letter.stage == "ingest" and letter.doc_id == message.doc_id
    assert reason in letter.reason and "老河口市/report.txt is read without it" in letter.reason
    assert _names(tmp_path / "done") == ["老河口市/report.txt"]
    assert _names(tmp_path / "failed") == [
        "老河口市/report.txt.meta.json",
        "老河口市/report.txt.meta.json.error.txt",
    ]
    error_file = tmp_path / "failed" / "老河口市" / "report.txt.meta.json.error.txt"
    assert error_file.read_text(encoding="utf-8") == letter.reason + "\n"
    assert len([r for r in caplog.records if "not used" in r.getMessage()]) == 1


async def test_a_failed_document_takes_its_sidecar_along(tmp_path: Path) -> None:
    publish = Recorder()
    watcher = _watcher(tmp_path, publish)
    _drop(tmp_path / "empty.txt", b"")
    _drop(tmp_path / "empty.txt.meta.json", FACTS)

    assert await watcher.scan_once() == 1
    assert list(publish.failed) == ["empty.txt"]  # the sidecar itself was fine: no letter of its own
    assert _names(tmp_path / "failed") == ["empty.txt", "empty.txt.error.txt", "empty.txt.meta.json"]


async def test_files_in_a_place_folder_get_its_place_and_keep_their_folder(tmp_path: Path) -> None:
    publish = Recorder()
    watcher = _watcher(tmp_path, publish)
    _drop(tmp_path / "老河口市" / "a.txt")
    _drop(tmp_path / "老河口市" / "b.txt", REPORT + b"\n")
    _drop(tmp_path / "老河口市" / "b.txt.meta.json", {"place": "襄阳市", "source": "襄阳日报"})
    _drop(tmp_path / "老河口市" / "empty.txt", b"")
    _drop(tmp_path / "reports" / "c.txt", REPORT + b"\n\n")  # a folder not named like a place

    assert await watcher.scan_once() == 4
    ingested = publish.ingested
    assert ingested["老河口市/a.txt"].file_facts == FileFacts(place="老河口市")
    assert ingested["老河口市/b.txt"].file_facts == FileFacts(place="襄阳市", source="襄阳日报")
    assert ingested["reports/c.txt"].file_facts is None
    assert list(publish.failed) == ["老河口市/empty.txt"]
    assert _names(tmp_path / "done") == [
        "reports/c.txt",
        "老河口市/a.txt",
        "老河口市/b.txt",
        "老河口市/b.txt.meta.json",
    ]
    assert _names(tmp_path / "failed") == ["老河口市/empty.txt", "老河口市/empty.txt.error.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["done", "failed", "reports", "老河口市"]


async def test_hidden_deeper_and_filed_away_folders_are_not_scanned(tmp_path: Path) -> None:
    publish = Recorder()
    watcher = _watcher(tmp_path, publish)
    left_alone = [
        ".hidden/a.txt",
        "upload.part/a.txt",
        "老河口市/2024/a.txt",
        "done/襄阳市/a.txt",
        "failed/襄阳市/a.txt",
    ]
    for name in left_alone:
        _drop(tmp_path / name)
    assert await watcher.scan_once() == 0
    assert publish.published == [] and all((tmp_path / name).exists() for name in left_alone)


async def test_replicas_claim_files_by_their_path_under_the_inbox(tmp_path: Path) -> None:
    claims: set[str] = set()
    claimed: list[str] = []

    async def claim(path: str) -> bool:
        if path in claims:
            return False
        claims.add(path)
        claimed.append(path)
        return True

    async def release(path: str) -> None:
        claims.discard(path)

    publish = Recorder()
    replicas = [_watcher(tmp_path, publish, claim=claim, release=release) for _ in range(3)]
    expected = []
    for n in range(10):  # the same names in the inbox and in two place folders
        for folder in ("", "老河口市", "襄阳市"):
            _drop(tmp_path / folder / f"{n}.txt", REPORT + f"{folder}{n}".encode())
            _drop(tmp_path / folder / f"{n}.txt.meta.json", {"source": f"{folder}{n}"})
            expected.append(f"{folder}/{n}.txt".lstrip("/"))

    await asyncio.gather(*(replica.scan_once() for replica in replicas for _ in range(2)))
    assert sorted(publish.ingested) == sorted(expected) and len(publish.published) == len(expected)
    assert all(m.file_facts and m.file_facts.source for m in publish.ingested.values())
    assert set(claimed) == set(expected)  # a sidecar is never claimed: it goes with its document
    assert len(_names(tmp_path / "done")) == 2 * len(expected)


async def test_a_file_dropped_in_a_new_place_folder_is_seen_without_waiting_for_the_rescan(
    tmp_path: Path,
) -> None:
    publish = Recorder()
    watcher = _watcher(tmp_path, publish, rescan_interval=60)
    running = asyncio.create_task(watcher.run())
    try:
        await asyncio.sleep(0.5)  # the first scan, then the watch on the inbox
        (tmp_path / "老河口市").mkdir()
        await asyncio.sleep(0.5)  # the folder's event: a scan, then the watch on it too
        _drop(tmp_path / "老河口市" / "a.txt")
        for _ in range(100):
            if publish.published:
                break
            await asyncio.sleep(0.05)
    finally:
        watcher.stop()
        await running
    assert list(publish.ingested) == ["老河口市/a.txt"]
