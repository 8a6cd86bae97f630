"""`wenming up` run as a person runs it from a terminal, and stopped with Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from shared.streams import STAGES
from tests.support.servers import free_ports

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
