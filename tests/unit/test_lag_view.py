"""The operator's verdict from one reading of the streams and heartbeats, and of the inbox."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from services.lag import (
    ConsumerInfo,
    StageLag,
    is_healthy,
    judge,
    overall,
    render_table,
    with_trend,
    worst,
)
from services.lag_cli import inbox_state

ACTIVE = [ConsumerInfo("host-1", 0, 0.5)]


@pytest.mark.parametrize(
    ("lag", "pending", "live", "stalled", "health"),
    [
        (0, 0, 1, None, "idle"),
        (0, 0, 0, None, "no consumers"),
        (5, 0, 0, None, "no consumers"),
        (5, 2, 1, 1.0, "working"),
        (0, 2, 1, 300.0, "stuck"),
        (0, 2, 2, 59.0, "working"),
    ],
)
def test_judge(lag: int, pending: int, live: int, stalled: float | None, health: str) -> None:
    assert judge(lag=lag, pending=pending, live_consumers=live, stalled_s=stalled, stuck_after_s=60) == health


def _row(stage: str, health: str, **changes: object) -> StageLag:
    row = StageLag(stage, f"p:{stage}", stage, 3, 1, 0, None, None, ACTIVE, health)  # type: ignore[arg-type]
    return replace(row, **changes)  # type: ignore[arg-type]


def test_the_worst_stage_decides() -> None:
    assert overall([_row("normalize", "idle"), _row("store", "idle")]) == "healthy, idle"
    assert overall([_row("normalize", "working"), _row("store", "idle")]) == "healthy, working"
    assert overall([_row("normalize", "working"), _row("store", "stuck")]) == "STUCK"
    assert worst([_row("normalize", "no consumers"), _row("store", "working")]) == "no consumers"
    assert worst([]) == "idle"
    assert is_healthy([_row("normalize", "working")]) and not is_healthy([_row("store", "no consumers")])


def test_table_has_a_line_per_stage_errors_and_a_verdict() -> None:
    gone = [ConsumerInfo("host-2", 3, 900.0, alive=False)]
    rows = [
        _row("ingest", "idle", stream=None, group=None),
        _row("normalize", "working"),
        _row("store", "stuck", consumers=gone, last_error="host-2: OperationalError: connection refused"),
    ]
    lines = render_table(rows, dead_letters=2).splitlines()
    assert lines[0].split()[:4] == ["stage", "stream", "length", "lag"]
    assert lines[1].startswith("ingest") and "inbox folder" in lines[1]
    assert lines[3].startswith("store") and "host-2 (gone)" in lines[3]
    assert "last error in store: host-2: OperationalError" in render_table(rows, dead_letters=2)
    assert "pipeline: STUCK" in lines[-1] and "dead letters so far: 2" in lines[-1]


def test_a_working_stage_whose_lag_grows_is_falling_behind() -> None:
    earlier = [_row("normalize", "working"), _row("store", "working")]
    later = [replace(earlier[0], lag=9), replace(earlier[1], lag=0)]
    trend = with_trend(earlier, later)
    assert [r.health for r in trend] == ["falling behind", "working"]
    assert overall(trend).startswith("FALLING BEHIND")


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
