"""Faults as an operator meets them, on a pipeline of the suite's own, checked against a manifest.

Each scenario runs `wenming up` on the suite's Redis (append-only file) and Postgres, drops a burst
of unique reports, breaks something mid-burst, and then checks every document and figure in
Postgres against the corpus: 0 lost, 0 duplicated, no dead letter. The times it takes to recover
are printed in the summary of the run.

The reduced form (200 files; a stage killed, Postgres stopped and started) runs by default. The
full form runs with WENMING_FAULT_FULL=1: 1,000 files per scenario; kill -9 of each stage in turn,
extract crash-looping (SIGKILL every 6-10 s, twelve times, WENMING_RECLAIM_IDLE_MS=5000), Redis
SHUTDOWN and restart, and a 30 s Postgres outage.
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fault.rig import Expected, Pipeline, Servers, corpus, drop

pytestmark = [pytest.mark.fault, pytest.mark.integration]
FULL = os.environ.get("WENMING_FAULT_FULL") == "1"
full_only = pytest.mark.skipif(not FULL, reason="the full fault suite runs with WENMING_FAULT_FULL=1")


@dataclass(frozen=True)
class Burst:
    """Files dropped together: documents stored before them, and once they are all stored."""

    before: int
    after: int

    @property
    def size(self) -> int:
        return self.after - self.before

    def under_way(self, stored: int, *, at_most: float) -> bool:
        return self.before < stored < self.before + self.size * at_most


Fault = Callable[[Pipeline, Burst, list[str]], None]


def _until(condition: Callable[[], bool], timeout: float, what: str, every: float = 0.1) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout:.0f}s: {what}")
        time.sleep(every)
    return time.monotonic() - started


def _mid_burst(pipeline: Pipeline, stage: str, burst: Burst) -> None:
    """Wait until the stage has done some of the burst and, if it can be caught so, holds more of it."""
    if stage == "ingest":
        _until(lambda: burst.under_way(pipeline.progress("ingest"), at_most=0.8), 120, "ingest under way")
        return

    def holding() -> bool:
        pid = pipeline.stage_pid(stage)
        return pid is not None and pipeline.held_by(stage, _consumer(pid)) > 0

    _until(lambda: burst.under_way(pipeline.stored(), at_most=0.5), 120, "the burst under way")
    with contextlib.suppress(AssertionError):  # a fast stage holds a batch for milliseconds
        _until(holding, 20, f"{stage} holding entries", every=0.01)


def _consumer(pid: int) -> str:
    """The consumer name a stage's process takes by default."""
    return f"{socket.gethostname()}-{pid}"


def kill_mid_burst(stage: str) -> Fault:
    """kill -9 of the stage while it works; `wenming up` restarts it."""

    def fault(pipeline: Pipeline, burst: Burst, record: list[str]) -> None:
        _mid_burst(pipeline, stage, burst)
        before = pipeline.progress(stage)
        pid = pipeline.stage_pid(stage)
        held = pipeline.held_by(stage, _consumer(pid)) if pid is not None and stage != "ingest" else 0
        pid = pipeline.kill(stage)
        consumer = _consumer(pid)
        restarted = _until(lambda: pipeline.stage_pid(stage) not in (None, pid), 60, f"{stage} restarted")
        resumed = _until(
            lambda: pipeline.progress(stage) > before or pipeline.stored() == burst.after,
            120,
            f"{stage} progresses",
        )
        taken = (
            _until(lambda: pipeline.held_by(stage, consumer) == 0, 120, f"{stage}'s entries taken back")
            if stage != "ingest"
            else 0.0
        )
        record.append(
            f"kill -9 {stage} (holding {held} entries): restarted {restarted:.1f}s, progress again "
            f"{resumed:.1f}s, its entries taken back {taken:.1f}s after the kill"
        )

    return fault


def crash_loop(stage: str, kills: int) -> Fault:
    """SIGKILL the stage every 6-10 s, `kills` times, whatever it is doing."""

    def fault(pipeline: Pipeline, burst: Burst, record: list[str]) -> None:
        _until(lambda: pipeline.stage_pid(stage) is not None, 60, f"{stage} running")
        rng = random.Random(8)
        done = 0
        while done < kills:
            time.sleep(rng.uniform(6, 10))
            if pipeline.stage_pid(stage) is not None:
                pipeline.kill(stage)
                done += 1
        record.append(f"crash loop: {stage} killed {done} times, every 6-10 s")

    return fault


def redis_restart(down_s: float) -> Fault:
    """SHUTDOWN of Redis mid-burst (its append-only file flushed), started again `down_s` later."""

    def fault(pipeline: Pipeline, burst: Burst, record: list[str]) -> None:
        _until(lambda: burst.under_way(pipeline.stored(), at_most=0.7), 120, "storing under way")
        pipeline.servers.shutdown_redis()
        time.sleep(down_s)
        pipeline.servers.start_redis()
        before = pipeline.stored()
        resumed = _until(
            lambda: pipeline.stored() > before or pipeline.stored() == burst.after, 60, "storing resumes"
        )
        record.append(f"Redis down {down_s:.0f}s: storing again {resumed:.1f}s after it was back")

    return fault


def postgres_outage(down_s: float) -> Fault:
    """Postgres stopped mid-burst and started again `down_s` later; `wenming lag` asked meanwhile."""

    def fault(pipeline: Pipeline, burst: Burst, record: list[str]) -> None:
        _until(lambda: burst.under_way(pipeline.stored(), at_most=0.5), 120, "storing under way")
        stored = pipeline.stored()  # and no more until Postgres is back
        pipeline.servers.stop_postgres()
        stopped_at = time.monotonic()
        verdicts: list[tuple[int, str]] = []
        while time.monotonic() - stopped_at < down_s:
            code, report, _took = pipeline.lag()
            verdicts.append((code, report["verdict"] if report else "?"))
            time.sleep(2)
        pipeline.servers.start_postgres()
        resumed = _until(lambda: pipeline.stored() > stored, 60, "storing resumes")
        drained = resumed + _until(lambda: pipeline.stored() == burst.after, 120, "all stored")
        waiting = burst.after - stored
        record.append(
            f"Postgres down {down_s:.0f}s: `wenming lag` said {sorted(set(verdicts))} meanwhile; storing "
            f"again {resumed:.1f}s and the {waiting} waiting stored {drained:.1f}s after it was back"
        )
        assert (1, "failing") in verdicts, verdicts
        assert drained < 10, (resumed, drained, waiting)

    return fault


def _run(
    servers: Servers,
    folder: Path,
    name: str,
    bursts: list[tuple[list[Expected], list[Fault]]],
    record: list[str],
    *,
    env: dict[str, str] | None = None,
    per_second: float | None = None,
    timeout: float = 300,
) -> None:
    """`wenming up`; each burst dropped, at `per_second`, its faults done meanwhile, then all stored."""
    files = [f for burst_files, _ in bursts for f in burst_files]
    pipeline = Pipeline(servers, folder, name, env=env or {})
    try:
        pipeline.wait_running()
        started = time.monotonic()
        for burst_files, faults in bursts:
            before = max(0, pipeline.stored())
            burst = Burst(before, before + len(burst_files))
            dropping = threading.Thread(
                target=drop, args=(pipeline.inbox, burst_files), kwargs={"per_second": per_second}
            )
            dropping.start()
            for fault in faults:
                fault(pipeline, burst, record)
            dropping.join()
            _until(lambda: pipeline.stored() == burst.after, timeout, f"all {burst.after} stored")  # noqa: B023
        drained = time.monotonic() - started
        _until(lambda: all(pipeline.backlog(s) == 0 for s in ("normalize", "extract", "store")), 60, "acked")
        latencies = []
        for _ in range(5):
            code, report, took = pipeline.lag()
            latencies.append(took)
        assert report is not None
        assert code == 0 and report["verdict"] == "healthy", [
            (stage["stage"], stage["health"], stage["last_error"]) for stage in report["stages"]
        ]
        manifest = pipeline.check(files)
    finally:
        output = pipeline.stop()
    record.append(f"{name}: {len(files)} files dropped and stored in {drained:.1f}s")
    record.append(f"{name}: {manifest.summary()}")
    record.append(
        f"{name}: `wenming lag --json` took {statistics.median(latencies):.2f}s (median), "
        f"{max(latencies):.2f}s at most"
    )
    assert manifest.clean, manifest
    assert "Traceback" not in output, output
    assert max(latencies) < 1.5, latencies  # 0.5 s when the machine is not loaded


def test_reduced_a_stage_killed_and_postgres_stopped(
    servers: Servers, tmp_path: Path, record: list[str]
) -> None:
    files = corpus(200, seed=1)
    bursts = [(files[:100], [kill_mid_burst("extract")]), (files[100:], [postgres_outage(10)])]
    _run(servers, tmp_path, "reduced", bursts, record, per_second=20)


@full_only
def test_kill_each_stage_mid_burst(servers: Servers, tmp_path: Path, record: list[str]) -> None:
    files = corpus(1000, seed=2)
    stages = ("ingest", "normalize", "extract", "store")
    bursts = [(files[n * 250 : (n + 1) * 250], [kill_mid_burst(stage)]) for n, stage in enumerate(stages)]
    _run(servers, tmp_path, "kills", bursts, record, per_second=25)


@full_only
def test_a_crash_looping_stage_loses_nothing(servers: Servers, tmp_path: Path, record: list[str]) -> None:
    files = corpus(1000, seed=3)
    env = {"WENMING_RECLAIM_IDLE_MS": "5000"}
    _run(
        servers, tmp_path, "crashloop", [(files, [crash_loop("extract", 12)])], record, env=env, per_second=12
    )


@full_only
def test_redis_shutdown_and_restart(servers: Servers, tmp_path: Path, record: list[str]) -> None:
    files = corpus(1000, seed=4)
    _run(servers, tmp_path, "redis", [(files, [redis_restart(5)])], record, per_second=40)


@full_only
def test_postgres_stopped_for_30_seconds(servers: Servers, tmp_path: Path, record: list[str]) -> None:
    files = corpus(1000, seed=5)
    _run(servers, tmp_path, "postgres", [(files, [postgres_outage(30)])], record, per_second=50)
