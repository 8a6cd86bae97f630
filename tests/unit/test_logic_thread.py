"""The logic's thread: one call at a time, each bounded in time, interrupted past its bound."""

from __future__ import annotations

import threading
import time

import pytest

from shared.logic_thread import LogicStuck, LogicThread, TooSlow
from shared.streaming.dead_letters import dead_letter


def _spin(seconds: float) -> str:
    end = time.monotonic() + seconds
    while time.monotonic() < end:  # pure Python: it meets the interruption at its next instruction
        pass
    return "done"


async def test_a_call_returns_its_result_on_the_logic_thread() -> None:
    logic = LogicThread(limit_s=5)
    assert await logic.run(lambda a, b: (a + b, threading.current_thread().name), 2, 3) == (5, "logic")


async def test_an_exception_of_the_logic_reaches_the_caller_with_its_trace() -> None:
    logic = LogicThread(limit_s=5)

    def fails(text: str) -> None:
        raise ValueError(f"cannot read {text}")

    with pytest.raises(ValueError, match="cannot read 文明") as caught:
        await logic.run(fails, "文明")
    letter = dead_letter("extract", "extract failed", {"doc_id": "d1"}, error=caught.value)
    assert letter.error_type == "ValueError" and letter.doc_id == "d1"
    assert letter.trace is not None and "in fails" in letter.trace and "cannot read" in letter.trace


async def test_a_call_past_its_bound_is_interrupted_and_the_next_one_runs() -> None:
    logic = LogicThread(limit_s=0.3)
    started = time.monotonic()
    with pytest.raises(TooSlow):
        await logic.run(_spin, 30)
    assert time.monotonic() - started < 5
    assert await logic.run(_spin, 0.01) == "done"


async def test_logic_that_will_not_stop_leaves_the_thread_stuck() -> None:
    logic = LogicThread(limit_s=0.2, grace_s=0.2)
    with pytest.raises(LogicStuck):
        await logic.run(time.sleep, 2)  # in C: the interruption waits for it to return
    with pytest.raises(LogicStuck):
        await logic.run(_spin, 0)
