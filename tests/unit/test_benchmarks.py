"""benchmarks/run_all.py parses its arguments and prints its table; no figure is timed or asserted here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUN_ALL = ROOT / "benchmarks" / "run_all.py"


def test_run_all_explains_itself() -> None:
    done = subprocess.run(
        [sys.executable, str(RUN_ALL), "--help"], capture_output=True, text=True, check=True
    )
    assert "--documents" in done.stdout and "--megabytes" in done.stdout


def test_run_all_wants_servers() -> None:
    env = {"PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, str(RUN_ALL), "--documents", "20", "--megabytes", "1"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 2 and "--redis-url" in done.stderr


def test_the_table_says_which_targets_are_met() -> None:
    from benchmarks import run_all

    rows = run_all.idle_rows({"extract": 150.0}, {"extract": 100.0, "store": 250.0})
    assert [(r.figure, r.verdict) for r in rows] == [
        ("idle RSS, extract", "yes"),
        ("idle RSS, store", "**no**"),
    ]
    assert "| idle RSS, store | 262 MB (250 MiB) | ≤ 200 MB | **no** |" in run_all.table(rows)
