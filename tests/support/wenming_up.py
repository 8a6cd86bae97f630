"""`wenming up` as a person runs it from a terminal, stopped with Ctrl-C; `wenming serve` of one stage."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shared.streams import STAGES
from tests.support.servers import free_ports, stop

WENMING = [sys.executable, "-m", "services.operate.cli"]


class RunningPipeline:
    """`wenming up` in a process group of its own, as a shell starts it, its output collected."""

    def __init__(self, *args: str, cwd: Path, env: dict[str, str]) -> None:
        # Ports of its own for the stages' /metrics, unless the test gives them: never another run's.
        self.metrics_port = int(env.get("WENMING_METRICS_PORT") or free_ports(len(STAGES)))
        self.process = subprocess.Popen(
            [*WENMING, "up", *args],
            cwd=cwd,
            env={**env, "WENMING_METRICS_PORT": str(self.metrics_port)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    async def started_lines(self) -> list[str]:
        """What it has printed so far, up to the line saying that it runs (empty until then)."""
        for n, line in enumerate(self.lines):
            if line.startswith("running:"):
                return self.lines[: n + 1]
        if self.process.poll() is not None:
            raise AssertionError("wenming up exited:\n" + "\n".join(self.lines))
        return []

    def interrupt(self) -> int:
        """Ctrl-C from the terminal: SIGINT to the whole process group; its exit status."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
        code = self.process.wait(timeout=60)
        self._reader.join(timeout=10)
        return code

    @property
    def output(self) -> str:
        return "\n".join(self.lines)


@contextmanager
def stage_process(stage: str, env: dict[str, str], log_file: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`wenming serve <stage>`, its output in `log_file`; stopped (SIGTERM, by PID) on leaving."""
    with log_file.open("wb") as sink:
        process = subprocess.Popen(
            [*WENMING, "serve", stage],
            # A port of its own for /metrics, unless the test gives one: stages share this machine.
            env={**os.environ, "WENMING_METRICS_PORT": str(free_ports(1)), **env},
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        stop(process)
