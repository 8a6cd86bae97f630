"""The operator's verdict from one reading of the streams and heartbeats, and of the inbox."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from services.operate.lag import ConsumerInfo, StageLag, is_healthy, judge, render_table, verdict, with_trend
from services.operate.lag_view import inbox_state

ACTIVE = [ConsumerInfo("host-1", 0, 0.5)]


@pytest.mark.parametrize(
    ("waiting", "live", "error", "quiet", "health"),
    [
        (0, 1, None, None, "idle"),
        (0, 0, None, None, "no consumers"),
        (5, 0, None, None, "no consumers"),
        (5, 1, None, 1.0, "working"),
        (5, 2, None, 119.0, "working"),
        (5, 1, None, 300.0, "failing"),  # work waits and nothing was acknowledged for 5 minutes
        (0, 1, None, 300.0, "idle"),  # nothing to do: quiet is fine
        (5, 1, "12:00:01 OperationalError: connection refused", 1.0, "failing"),
    ],
)
def test_judge(waiting: int, live: int, error: str | None, quiet: float | None, health: str) -> None:
    word, reason = judge(
        waiting=waiting, live_consumers=live, error=error, quiet_s=quiet, stalled_after_s=120
    )
    assert word == health
    assert (reason is not None) == (health == "failing")


def test_a_stage_quiet_too_long_says_so() -> None:
    assert judge(waiting=64, live_consumers=1, error=None, quiet_s=301, stalled_after_s=120) == (
        "failing",
        "acknowledged nothing for 301s while 64 waited",
    )


def _row(stage: str, health: str, **changes: object) -> StageLag:
    row = StageLag(stage, f"p:{stage}", stage, 3, 1, 0, None, None, ACTIVE, health)  # type: ignore[arg-type]
    return replace(row, **changes)  # type: ignore[arg-type]


def test_the_worst_stage_decides_and_new_dead_letters_degrade() -> None:
    assert verdict([_row("normalize", "idle"), _row("store", "working")]) == "healthy"
    assert verdict([_row("normalize", "idle")], new_dead_letters=2) == "degraded"
    assert verdict([_row("normalize", "falling behind")], new_dead_letters=2) == "falling behind"
    assert verdict([_row("normalize", "no consumers"), _row("store", "working")]) == "stopped"
    assert verdict([_row("normalize", "no consumers"), _row("store", "failing")]) == "failing"
    assert verdict([]) == "healthy"
    assert is_healthy([_row("normalize", "working")])
    assert not is_healthy([_row("store", "no consumers")])
    assert not is_healthy([_row("normalize", "idle")], new_dead_letters=1)


def test_table_has_a_line_per_stage_each_error_once_and_a_verdict() -> None:
    gone = [ConsumerInfo("host-2", 3, 900.0, alive=False), ConsumerInfo("host-3", 0, None)]
    error = "host-3: 12:00:01 OperationalError: connection refused"
    rows = [
        _row("ingest", "idle", stream=None, group=None),
        _row("normalize", "working"),
        _row("store", "failing", consumers=gone, last_error=error),
        _row("store", "failing", stream="p:dead-letters", consumers=gone, last_error=error),
    ]
    text = render_table(rows, dead_letters=2, new_dead_letters=1)
    lines = text.splitlines()
    assert lines[0].split()[:4] == ["stage", "stream", "length", "lag"]
    assert lines[1].startswith("ingest") and "inbox folder" in lines[1]
    assert lines[3].startswith("store") and "host-2 (gone), host-3" in lines[3]
    assert text.count("OperationalError") == 1  # the store reads two streams; its error is one
    assert "store failing: host-3: 12:00:01 OperationalError" in text
    assert "pipeline: FAILING" in lines[-1] and "dead letters so far: 2 (1 new)" in lines[-1]


def test_a_working_stage_whose_lag_grows_is_falling_behind() -> None:
    earlier = [_row("normalize", "working"), _row("store", "working")]
    later = [replace(earlier[0], lag=9), replace(earlier[1], lag=0)]
    trend = with_trend(earlier, later)
    assert [r.health for r in trend] == ["falling behind", "working"]
    assert verdict(trend) == "falling behind"


def test_the_inbox_backlog_counts_documents_as_ingest_takes_them(tmp_path: Path) -> None:
    for name in ("a.txt", "老河口市/b.txt", "老河口市/b.txt.meta.json", "orphan.txt.meta.json", ".hidden"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    for name in ("done/c.txt", "failed/d.txt", ".kept/e.txt", "老河口市/2024/f.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    state = inbox_state(tmp_path)
    assert state is not None and state.waiting == 2  # a.txt and 老河口市/b.txt, whose sidecar goes with it
    assert inbox_state(tmp_path / "missing") is None
