"""Links planted at every path ingest writes leave their targets untouched, as root and as a normal user.

Each case plants links in the inbox (in done/, in failed/, done/ or failed/ themselves, the
document itself, its sidecar, a place folder and its counterparts in done/ and failed/) towards
files and folders outside it, drops a document, runs one scan of the real watcher and checks:
nothing outside the inbox changed (content, mtime, nothing created at a dangling link's target),
the document and its sidecar ended where they should, and the reason or refusal is clear.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from services.ingest.folders import InboxFolders, Replaced
from services.ingest.watcher import InboxWatcher, Outcome
from tests.support.inbox_scan import scan_inbox

REPO = Path(__file__).resolve().parents[2]
NOBODY = 65534
REPORT = "全市注册志愿者42万名，建成新时代文明实践站438个。".encode()
BINARY = bytes(range(256)) * 4
PLACED = '{"place": "襄阳市"}'.encode()  # a sidecar
BAD_SIDECAR = "{place: 襄阳市".encode()  # not JSON
LONG_AGO_NS = 1_000_000_000 * 10**9  # 2001: any write to a target would move its mtime to now
FIFO = None  # a dropped "document" that is a named pipe

Snapshot = dict[str, tuple[str, bytes | None, int]]


@dataclass(frozen=True)
class Case:
    links: dict[str, str]  # link path under the root -> target under the root
    document: str  # the name dropped in the inbox (a file, or one of the links)
    ends_at: str  # where the document must be afterwards, relative to the inbox
    reason: str | None = None  # in its dead letter and error file; None when it is ingested
    refused: str | None = None  # the scan takes nothing and says this
    drops: dict[str, bytes | None] = field(default_factory=dict)  # files to drop under the inbox
    sidecar_ends_at: str | None = None  # where the document's sidecar must be afterwards
    sidecar_reason: str | None = None  # in the sidecar's dead letter and error file, when it is not used
    place: str | None = None  # in the ingested document's file facts


def _bad(**kwargs: Any) -> Case:
    return Case(document="evil.bin", drops={"evil.bin": BINARY}, **kwargs)


def _good(**kwargs: Any) -> Case:
    return Case(document="report.txt", drops={"report.txt": REPORT}, **kwargs)


CASES = {
    # The error file written beside a failed document.
    "error file links to a file": _bad(
        links={"inbox/failed/evil.bin.error.txt": "outside/victim.txt"},
        ends_at="failed/evil-2.bin",
        reason="binary",
    ),
    "error file is a dangling link": _bad(
        links={"inbox/failed/evil.bin.error.txt": "outside/missing.txt"},
        ends_at="failed/evil-2.bin",
        reason="binary",
    ),
    "error file links to a folder": _bad(
        links={"inbox/failed/evil.bin.error.txt": "outside/folder"},
        ends_at="failed/evil-2.bin",
        reason="binary",
    ),
    # The document's destination in failed/ and done/.
    "failed/ destination links to a file": _bad(
        links={"inbox/failed/evil.bin": "outside/victim.txt"}, ends_at="failed/evil-2.bin", reason="binary"
    ),
    "failed/ destination is a dangling link": _bad(
        links={"inbox/failed/evil.bin": "outside/missing.txt"}, ends_at="failed/evil-2.bin", reason="binary"
    ),
    "failed/ destination links to a folder": _bad(
        links={"inbox/failed/evil.bin": "outside/folder"}, ends_at="failed/evil-2.bin", reason="binary"
    ),
    "done/ destination links to a file": _good(
        links={"inbox/done/report.txt": "outside/victim.txt"}, ends_at="done/report-2.txt"
    ),
    "done/ destination is a dangling link": _good(
        links={"inbox/done/report.txt": "outside/missing.txt"}, ends_at="done/report-2.txt"
    ),
    "done/ destination links to a folder": _good(
        links={"inbox/done/report.txt": "outside/folder"}, ends_at="done/report-2.txt"
    ),
    # The folders themselves: nothing is taken, the document waits in the inbox.
    "done/ links to a folder": _good(
        links={"inbox/done": "outside/folder"}, ends_at="report.txt", refused="done is a symbolic link"
    ),
    "done/ is a dangling link": _good(
        links={"inbox/done": "outside/missing"}, ends_at="report.txt", refused="done is a symbolic link"
    ),
    "failed/ links to a folder": _bad(
        links={"inbox/failed": "outside/folder"}, ends_at="evil.bin", refused="failed is a symbolic link"
    ),
    "failed/ is a dangling link": _bad(
        links={"inbox/failed": "outside/missing"}, ends_at="evil.bin", refused="failed is a symbolic link"
    ),
    # The document itself: the link is filed away, never what it points at.
    "document links to a file outside": Case(
        links={"inbox/link.txt": "outside/victim.txt"},
        document="link.txt",
        ends_at="failed/link.txt",
        reason="outside the inbox: not followed",
    ),
    "document links to a folder outside": Case(
        links={"inbox/folder-link": "outside/folder"},
        document="folder-link",
        ends_at="failed/folder-link",
        reason="outside the inbox: not followed",
    ),
    "document is a dangling link": Case(
        links={"inbox/dangling.txt": "outside/missing.txt"},
        document="dangling.txt",
        ends_at="failed/dangling.txt",
        reason="outside the inbox: not followed",
    ),
    "document links within the inbox": Case(
        links={"inbox/inner.txt": "inbox/.kept/report.txt"},
        drops={".kept/report.txt": REPORT},  # a hidden folder: not scanned
        document="inner.txt",
        ends_at="failed/inner.txt",
        reason="links are not followed",
    ),
    "document is a named pipe": Case(
        links={},
        drops={"pipe.txt": FIFO},
        document="pipe.txt",
        ends_at="failed/pipe.txt",
        reason="not a regular",
    ),
    # The sidecar: a link is moved to failed/ itself, never read; the document goes on without it.
    "sidecar links to a file outside": _good(
        links={"inbox/report.txt.meta.json": "outside/victim.json"},
        ends_at="done/report.txt",
        sidecar_ends_at="failed/report.txt.meta.json",
        sidecar_reason="outside the inbox: not followed",
    ),
    "sidecar is a dangling link": _good(
        links={"inbox/report.txt.meta.json": "outside/missing.json"},
        ends_at="done/report.txt",
        sidecar_ends_at="failed/report.txt.meta.json",
        sidecar_reason="outside the inbox: not followed",
    ),
    "sidecar destination in done/ links to a file": Case(
        links={"inbox/done/report.txt.meta.json": "outside/victim.txt"},
        drops={"report.txt": REPORT, "report.txt.meta.json": PLACED},
        document="report.txt",
        ends_at="done/report-2.txt",
        sidecar_ends_at="done/report-2.txt.meta.json",
        place="襄阳市",
    ),
    "bad sidecar's error file links to a file": Case(
        links={"inbox/failed/report.txt.meta.json.error.txt": "outside/victim.txt"},
        drops={"report.txt": REPORT, "report.txt.meta.json": BAD_SIDECAR},
        document="report.txt",
        ends_at="done/report.txt",
        sidecar_ends_at="failed/report-2.txt.meta.json",
        sidecar_reason="not UTF-8 JSON",
    ),
    # A place folder and its counterparts in done/ and failed/.
    "place folder is a link": Case(
        links={"inbox/老河口市": "outside/folder"},
        document="老河口市",
        ends_at="failed/老河口市",
        reason="outside the inbox: not followed",
    ),
    "place folder's done/ links to a folder": Case(
        links={"inbox/done/老河口市": "outside/folder"},
        drops={"老河口市/report.txt": REPORT},
        document="老河口市/report.txt",
        ends_at="老河口市/report.txt",
        refused="done/老河口市 is a symbolic link (to {outside}/folder), not a folder: ingest writes "
        "only into a real folder it opened itself; the files of {inbox}/老河口市 wait there",
    ),
    "place folder's failed/ is a dangling link": Case(
        links={"inbox/failed/老河口市": "outside/missing"},
        drops={"老河口市/evil.bin": BINARY},
        document="老河口市/evil.bin",
        ends_at="老河口市/evil.bin",
        refused="failed/老河口市 is a symbolic link",
    ),
    "place folder's destination links to a file": Case(
        links={"inbox/done/老河口市/report.txt": "outside/victim.txt"},
        drops={"老河口市/report.txt": REPORT},
        document="老河口市/report.txt",
        ends_at="done/老河口市/report-2.txt",
        place="老河口市",
    ),
}


def _plant(root: Path, case: Case) -> None:
    outside = root / "outside"
    (outside / "folder").mkdir(parents=True)
    (outside / "folder" / "keep.txt").write_bytes(REPORT)
    (outside / "victim.txt").write_bytes(REPORT)  # a good report: read through a link, it would be ingested
    (outside / "victim.json").write_bytes('{"place": "老河口市"}'.encode())  # a good sidecar, likewise
    for name in ("inbox/done", "inbox/failed"):
        if name not in case.links:
            (root / name).mkdir(parents=True)
    for link, target in case.links.items():
        (root / link).parent.mkdir(parents=True, exist_ok=True)
        (root / link).symlink_to(root / target)
    for name, content in case.drops.items():
        (root / "inbox" / name).parent.mkdir(parents=True, exist_ok=True)
        if content is FIFO:
            os.mkfifo(root / "inbox" / name)
        else:
            (root / "inbox" / name).write_bytes(content)
    for path in outside.rglob("*"):
        os.utime(path, ns=(LONG_AGO_NS, LONG_AGO_NS))
    os.utime(outside, ns=(LONG_AGO_NS, LONG_AGO_NS))


def _snapshot(folder: Path) -> Snapshot:
    """Every entry under `folder`: its kind, content and mtime."""
    entries = {}
    for path in [folder, *folder.rglob("*")]:
        st = path.lstat()
        content = path.read_bytes() if stat.S_ISREG(st.st_mode) else None
        entries[str(path.relative_to(folder))] = (stat.filemode(st.st_mode), content, st.st_mtime_ns)
    return entries


@dataclass(frozen=True)
class Scanned:
    root: Path  # holds inbox/ and outside/
    before: Snapshot  # outside/ before the scan
    result: dict[str, Any]  # see tests.support.inbox_scan


def _scan_as_nobody(inboxes: list[Path]) -> list[dict[str, Any]]:
    # setpriv rather than subprocess's user=: it execs before the capabilities go, so an interpreter
    # under a private home (pyenv in /root) still starts; the scans run with none (checked below).
    drop = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    done = subprocess.run(
        [*drop, sys.executable, "-m", "tests.support.inbox_scan", *map(str, inboxes)],
        cwd=REPO,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    results: list[dict[str, Any]] = json.loads(done.stdout)
    assert all(r["uid"] == NOBODY and r.get("capabilities") in (None, 0) for r in results)
    return results


@pytest.fixture(scope="module")
def scanned_as_nobody() -> Iterator[dict[str, Scanned]]:
    """Every case planted, handed to uid 65534 and scanned by it, in one process to keep this quick."""
    if os.geteuid() != 0:
        pytest.skip("dropping to an unprivileged uid needs root; the current-user variant ran as non-root")
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed: cannot drop to an unprivileged uid")
    # pytest's tmp_path is private to root: the unprivileged user gets a folder of its own in /tmp.
    base = Path(tempfile.mkdtemp(prefix="wenming-links-"))
    try:
        roots = {case_id: base / f"{n:02d}" for n, case_id in enumerate(CASES)}
        for case_id, root in roots.items():
            _plant(root, CASES[case_id])
        # Targets included: were a link followed, nothing but ingest's own care would stop the write.
        for path in [base, *base.rglob("*")]:
            os.chown(path, NOBODY, NOBODY, follow_symlinks=False)
        before = {case_id: _snapshot(root / "outside") for case_id, root in roots.items()}
        results = _scan_as_nobody([root / "inbox" for root in roots.values()])
        yield {
            case_id: Scanned(root, before[case_id], result)
            for (case_id, root), result in zip(roots.items(), results, strict=True)
        }
    finally:
        shutil.rmtree(base)


@pytest.mark.parametrize("case_id", CASES)
@pytest.mark.parametrize("user", ["current user", "unprivileged user"])
def test_planted_links_leave_their_targets_untouched(
    user: str, case_id: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    case = CASES[case_id]
    if user == "current user":
        _plant(tmp_path, case)
        before = _snapshot(tmp_path / "outside")
        scanned = Scanned(tmp_path, before, asyncio.run(scan_inbox(tmp_path / "inbox")))
    else:
        scanned = request.getfixturevalue("scanned_as_nobody")[case_id]
    root, result, inbox = scanned.root, scanned.result, scanned.root / "inbox"

    assert "crashed" not in result
    assert _snapshot(root / "outside") == scanned.before
    sidecar = f"{case.document}.meta.json"
    for link, target in case.links.items():  # planted links are left as they were, or moved whole
        moved = {f"inbox/{case.document}": case.ends_at, f"inbox/{sidecar}": case.sidecar_ends_at}
        where = inbox / moved[link] if link in moved else root / link
        assert where.is_symlink() and os.readlink(where) == str(root / target)
    assert os.path.lexists(inbox / case.ends_at)
    if case.refused:
        refused = case.refused.format(inbox=inbox, outside=root / "outside")
        assert refused in result["refused"] and "\n" not in result["refused"]
        assert result["published"] == []
        return
    assert result["refused"] is None
    outcome, *sidecar_letters = result["published"]
    assert outcome["file_name"] == case.document
    if case.reason is None:
        assert outcome["kind"] == "ingested" and outcome["place"] == case.place
        assert (inbox / case.ends_at).read_bytes() == REPORT
    else:
        assert outcome["kind"] == "failed" and case.reason in outcome["reason"]
        _assert_error_file(inbox / case.ends_at, outcome["reason"])
    assert not os.path.lexists(inbox / case.document)
    if case.sidecar_ends_at is not None:
        assert os.path.lexists(inbox / case.sidecar_ends_at) and not os.path.lexists(inbox / sidecar)
    if case.sidecar_reason is None:
        assert sidecar_letters == []
    else:
        [letter] = sidecar_letters
        assert letter["kind"] == "failed" and letter["file_name"] == sidecar
        assert case.sidecar_reason in letter["reason"] and "is read without it" in letter["reason"]
        assert case.sidecar_ends_at is not None
        _assert_error_file(inbox / case.sidecar_ends_at, letter["reason"])


def _assert_error_file(beside: Path, reason: str) -> None:
    error_file = beside.with_name(beside.name + ".error.txt")
    assert not error_file.is_symlink()
    assert error_file.read_text(encoding="utf-8") == reason + "\n"


def test_a_file_swapped_for_a_link_after_it_was_seen_is_neither_read_nor_moved(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_bytes(REPORT)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.txt").write_bytes(REPORT)
    with InboxFolders(inbox) as folders:
        seen = folders.look("a.txt")
        (inbox / "a.txt").unlink()
        (inbox / "a.txt").symlink_to(victim)
        with pytest.raises(FileNotFoundError):
            folders.read("a.txt", seen, max_bytes=1_000_000)
        with pytest.raises(Replaced):
            folders.move_to_done("a.txt", seen)
    assert (inbox / "a.txt").is_symlink() and not list((inbox / "done").iterdir())


def test_names_that_would_leave_their_folder_are_refused(tmp_path: Path) -> None:
    (tmp_path / "inbox").mkdir()
    with (
        InboxFolders(tmp_path / "inbox") as folders,
        pytest.raises(ValueError, match="not a plain file name"),
    ):
        folders.look("../outside.txt")


async def test_an_unsafe_folder_is_reported_once_and_files_wait_until_it_is_fixed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "done").symlink_to(elsewhere)
    (inbox / "report.txt").write_bytes(REPORT)
    published: list[Outcome] = []

    async def publish(outcomes: list[Outcome]) -> None:
        published.extend(outcomes)

    watcher = InboxWatcher(inbox, publish, min_age=0, rescan_interval=0.05, max_bytes=1_000_000)
    caplog.set_level(logging.INFO, logger="services.ingest.watcher")
    running = asyncio.create_task(watcher.run())
    await asyncio.sleep(0.5)  # several scans
    refusals = [r for r in caplog.records if "symbolic link" in r.getMessage()]
    assert len(refusals) == 1 and refusals[0].levelno == logging.ERROR
    assert (inbox / "report.txt").exists() and not published and not list(elsewhere.iterdir())

    (inbox / "done").unlink()  # the operator removes the link: the next scan recreates done/ and goes on
    for _ in range(100):
        if (inbox / "done" / "report.txt").exists():
            break
        await asyncio.sleep(0.05)
    watcher.stop()
    await running
    assert (inbox / "done" / "report.txt").read_bytes() == REPORT and len(published) == 1
    assert any(r.getMessage() == "inbox scans work again" for r in caplog.records)
