"""Inbox rules: what is taken, when, and where it goes."""

from __future__ import annotations

import os

import pytest

from services.ingest.inbox import StabilityTracker, check_plain_name, destination_names, is_ignored


@pytest.mark.parametrize(
    ("name", "ignored"),
    [
        ("report.txt", False),
        ("报告.docx", False),
        ("page.html", False),
        (".DS_Store", True),
        (".report.txt.swp", True),
        ("report.txt.part", True),
        ("upload.tmp", True),
        ("~$report.docx", True),
        ("report.pdf.crdownload", True),
        ("x.txt.error.txt", True),
    ],
)
def test_hidden_and_temporary_files_are_ignored(name: str, ignored: bool) -> None:
    assert is_ignored(name) is ignored


def test_a_file_is_taken_only_after_it_stops_changing() -> None:
    tracker = StabilityTracker(min_age=1.0)
    assert not tracker.is_stable("a.txt", size=10, mtime_ns=1, now=0.0)
    assert not tracker.is_stable("a.txt", size=10, mtime_ns=1, now=0.5)
    assert not tracker.is_stable("a.txt", size=20, mtime_ns=2, now=0.9)  # grew: the clock restarts
    assert not tracker.is_stable("a.txt", size=20, mtime_ns=2, now=1.5)
    assert tracker.is_stable("a.txt", size=20, mtime_ns=2, now=2.0)


def test_the_next_look_is_due_when_the_first_settling_file_has_settled() -> None:
    tracker = StabilityTracker(min_age=1.0)
    assert tracker.next_due(now=0.0) is None
    tracker.is_stable("a.txt", size=10, mtime_ns=1, now=0.0)
    tracker.is_stable("b.txt", size=10, mtime_ns=1, now=0.3)
    assert tracker.next_due(now=0.4) == pytest.approx(0.6)
    tracker.is_stable("a.txt", size=20, mtime_ns=2, now=0.5)  # grew: it settles later than b.txt
    assert tracker.next_due(now=0.5) == pytest.approx(0.8)
    # Settled and not taken (claimed elsewhere, say): not due again, so no scan in a tight loop.
    assert tracker.is_stable("b.txt", size=10, mtime_ns=1, now=1.3)
    assert tracker.next_due(now=1.3) == pytest.approx(0.2)
    assert tracker.next_due(now=1.6) is None
    assert tracker.waiting


def test_no_minimum_age_takes_files_at_once() -> None:
    assert StabilityTracker(min_age=0).is_stable("a.txt", size=1, mtime_ns=1, now=0.0)


def test_files_that_left_are_forgotten() -> None:
    tracker = StabilityTracker(min_age=1.0)
    tracker.is_stable("a.txt", size=1, mtime_ns=1, now=0.0)
    tracker.is_stable("b.txt", size=1, mtime_ns=1, now=0.0)
    tracker.retain_only({"b.txt"})
    tracker.forget("b.txt")
    assert not tracker.waiting


def test_destinations_number_their_way_past_taken_names() -> None:
    names = destination_names("a.txt")
    assert [next(names) for _ in range(3)] == ["a.txt", "a-2.txt", "a-3.txt"]


def test_very_long_names_are_shortened_to_leave_room_for_suffixes() -> None:
    name = "报" * 80 + ".txt"  # 244 bytes in UTF-8
    names = destination_names(name)
    first, second = next(names), next(names)
    assert first.endswith(".txt") and second.endswith("-2.txt")
    assert len(os.fsencode(second + ".error.txt")) <= 255


@pytest.mark.parametrize("name", ["", ".", "..", "../x.txt", "sub/x.txt", "/etc/passwd", "x\0.txt"])
def test_names_written_cannot_leave_their_folder(name: str) -> None:
    with pytest.raises(ValueError, match="not a plain file name"):
        check_plain_name(name)
    with pytest.raises(ValueError):
        next(destination_names(name))
