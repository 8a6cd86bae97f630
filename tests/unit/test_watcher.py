"""The inbox watcher with a stand-in publisher: ordering, isolation and failure handling."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import services.ingest.folders as folders_module
import services.ingest.watcher as watcher_module
from services.ingest.watcher import InboxWatcher, Outcome
from shared.contracts import DeadLetter, DocumentIngested

REPORT = "全市注册志愿者42万名，建成新时代文明实践站438个。".encode()


class Recorder:
    """Collects what would be published; can be told to fail like an unreachable Redis."""

    def __init__(self) -> None:
        self.published: list[Outcome] = []
        self.fail = False

    async def __call__(self, outcomes: list[Outcome]) -> None:
        if self.fail:
            raise ConnectionError("Redis is away")
        self.published.extend(outcomes)


def _watcher(inbox: Path, publish: Recorder, **kwargs: object) -> InboxWatcher:
    watcher = InboxWatcher(inbox, publish, min_age=0, rescan_interval=0.1, max_bytes=1_000_000, **kwargs)  # type: ignore[arg-type]
    watcher.prepare()
    return watcher


async def test_files_stay_in_the_inbox_until_they_are_published(tmp_path: Path) -> None:
    publish = Recorder()
    watcher = _watcher(tmp_path, publish)
    (tmp_path / "a.txt").write_bytes(REPORT)
    publish.fail = True
    with pytest.raises(ConnectionError):
        await watcher.scan_once()
    assert (tmp_path / "a.txt").exists() and not publish.published

    publish.fail = False
    assert await watcher.scan_once() == 1
    assert (tmp_path / "done" / "a.txt").exists()
    assert isinstance(publish.published[0], DocumentIngested)


async def test_an_unexpected_reader_error_fails_that_file_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_read = watcher_module.read_document

    def flaky_read(raw: bytes, file_name: str, **kwargs: object) -> object:
        if file_name == "b.pdf":
            raise RecursionError("maximum recursion depth exceeded")
        return real_read(raw, file_name, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(watcher_module, "read_document", flaky_read)
    publish = Recorder()
    watcher = _watcher(tmp_path, publish)
    for name in ("a.txt", "b.pdf", "c.txt"):
        (tmp_path / name).write_bytes(REPORT)

    assert await watcher.scan_once() == 3
    failures = [o for o in publish.published if isinstance(o, DeadLetter)]
    assert [f.file_name for f in failures] == ["b.pdf"]
    assert "RecursionError" in failures[0].reason
    assert "RecursionError" in (tmp_path / "failed" / "b.pdf.error.txt").read_text(encoding="utf-8")
    assert sorted(p.name for p in (tmp_path / "done").iterdir()) == ["a.txt", "c.txt"]


async def test_a_file_that_cannot_be_moved_is_not_published_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(folders_module, "rename_noreplace", refuse)
    publish = Recorder()
    watcher = _watcher(tmp_path, publish)
    (tmp_path / "a.txt").write_bytes(REPORT)

    assert await watcher.scan_once() == 1
    assert await watcher.scan_once() == 0
    assert len(publish.published) == 1 and (tmp_path / "a.txt").exists()

    (tmp_path / "a.txt").write_bytes(REPORT + "新增内容。".encode())  # changed by the user: a new document
    assert await watcher.scan_once() == 1


async def test_replicas_sharing_an_inbox_take_each_file_once(tmp_path: Path) -> None:
    claims: set[str] = set()

    async def claim(name: str) -> bool:
        if name in claims:
            return False
        claims.add(name)
        return True

    async def release(name: str) -> None:
        claims.discard(name)

    publish = Recorder()
    replicas = [_watcher(tmp_path, publish, claim=claim, release=release) for _ in range(3)]
    for n in range(40):
        (tmp_path / f"{n:02d}.txt").write_bytes(REPORT + str(n).encode())

    await asyncio.gather(*(replica.scan_once() for replica in replicas for _ in range(2)))
    names = sorted(o.file_name for o in publish.published)
    assert names == sorted(f"{n:02d}.txt" for n in range(40))
    assert all(isinstance(o, DocumentIngested) for o in publish.published)
    assert len(list((tmp_path / "done").iterdir())) == 40
