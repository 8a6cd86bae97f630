"""The operator's verdict from one reading of the streams."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.lag import ConsumerInfo, StageLag, judge, overall, render_table, with_trend

ACTIVE = [ConsumerInfo("host-1", 0, 0.5)]
ASLEEP = [ConsumerInfo("host-1", 3, 600.0)]


@pytest.mark.parametrize(
    ("lag", "pending", "consumers", "oldest", "health"),
    [
        (0, 0, ACTIVE, None, "idle"),
        (0, 0, [], None, "no consumers"),
        (5, 0, [], None, "no consumers"),
        (5, 2, ACTIVE, 1.0, "working"),
        (0, 2, ACTIVE, 300.0, "stuck"),
        (4, 3, ASLEEP, 10.0, "stuck"),
    ],
)
def test_judge(
    lag: int, pending: int, consumers: list[ConsumerInfo], oldest: float | None, health: str
) -> None:
    assert (
        judge(lag=lag, pending=pending, consumers=consumers, oldest_pending_age_s=oldest, stuck_after_s=60)
        == health
    )


def _row(stage: str, health: str) -> StageLag:
    return StageLag(stage, f"p:{stage}", stage, 3, 1, 0, None, None, ACTIVE, health)  # type: ignore[arg-type]


def test_the_worst_stage_decides() -> None:
    assert overall([_row("normalize", "idle"), _row("store", "idle")]) == "healthy, idle"
    assert overall([_row("normalize", "working"), _row("store", "idle")]) == "healthy, working"
    assert overall([_row("normalize", "working"), _row("store", "stuck")]) == "STUCK"


def test_table_has_a_line_per_stage_and_a_verdict() -> None:
    table = render_table([_row("normalize", "working"), _row("store", "stuck")], dead_letters=2)
    lines = table.splitlines()
    assert lines[0].split()[:4] == ["stage", "stream", "length", "lag"]
    assert lines[1].startswith("normalize") and lines[2].startswith("store")
    assert "pipeline: STUCK" in lines[-1] and "dead letters so far: 2" in lines[-1]


def test_a_working_stage_whose_lag_grows_is_falling_behind() -> None:
    earlier = [_row("normalize", "working"), _row("store", "working")]
    later = [replace(earlier[0], lag=9), replace(earlier[1], lag=0)]
    trend = with_trend(earlier, later)
    assert [r.health for r in trend] == ["falling behind", "working"]
    assert overall(trend).startswith("FALLING BEHIND")


def test_inbox_backlog_is_shown_when_known() -> None:
    assert "inbox: 7 waiting" in render_table([_row("store", "idle")], dead_letters=0, inbox_waiting=7)
