"""Fault tests print what they measured (recovery times, lag latency) at the end of the run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fault.rig import Servers, own_servers

_FIGURES: list[str] = []


@pytest.fixture
def record() -> Iterator[list[str]]:
    """Lines of figures, printed in the summary of the run."""
    lines: list[str] = []
    yield lines
    _FIGURES.extend(lines)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _FIGURES:
        terminalreporter.section("fault tests: figures")
        for line in _FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """Redis (append-only) and Postgres of the suite's own, on free ports."""
    import os
    import shutil

    from tests.support.servers import postgres_binaries

    if shutil.which("redis-server") is None or postgres_binaries() is None:
        pytest.skip("the fault tests start redis-server and postgres: install them")
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        pytest.skip("Postgres refuses to run as root and setpriv is missing to drop to another uid")
    folder: Path = tmp_path_factory.mktemp("fault-redis")
    with own_servers(folder) as started:
        yield started
