"""Redis and Postgres servers a test starts itself, on free ports, and stops by their own PIDs."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

NOBODY = 65534
# initdb and postgres refuse to run as root: as root, the server runs as this uid instead.
_AS_NOBODY = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_ports(count: int) -> int:
    """The first of `count` consecutive ports free on 127.0.0.1 (as `wenming up` gives its stages)."""
    for _ in range(100):
        base = free_port()
        if base + count > 65536:
            continue
        sockets = []
        try:
            for port in range(base, base + count):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise AssertionError(f"no {count} consecutive free ports found")


def postgres_binaries() -> Path | None:
    """The folder of initdb and postgres, if this machine has them."""
    initdb = shutil.which("initdb")
    if initdb is None:
        return None
    return Path(os.path.realpath(initdb)).parent


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Stop a server this test started, by its PID."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def start_redis(port: int, folder: Path, *, appendonly: bool = False) -> subprocess.Popen[bytes]:
    """redis-server on 127.0.0.1:port; with `appendonly`, its data kept in `folder` across a SHUTDOWN
    and a new start there (fsync every second, as in production)."""
    aof = ["--appendonly", "yes", "--appendfsync", "everysec"] if appendonly else ["--appendonly", "no"]
    options = ["--bind", "127.0.0.1", "--save", "", *aof, "--dir", str(folder)]
    return subprocess.Popen(
        ["redis-server", "--port", str(port), *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@contextmanager
def redis_server(port: int, folder: Path, *, appendonly: bool = False) -> Iterator[subprocess.Popen[bytes]]:
    """start_redis(), stopped on leaving."""
    process = start_redis(port, folder, appendonly=appendonly)
    try:
        yield process
    finally:
        stop(process)


@contextmanager
def postgres_cluster() -> Iterator[Path]:
    """A fresh Postgres data folder (initdb, trust, superuser `postgres`), owned by whoever runs it."""
    binaries = postgres_binaries()
    assert binaries is not None
    base = Path(tempfile.mkdtemp(prefix="wenming-pg-"))
    try:
        if os.geteuid() == 0:
            os.chown(base, NOBODY, NOBODY)
        command = [str(binaries / "initdb"), "-D", str(base / "data"), "-U", "postgres", "--auth=trust"]
        subprocess.run(
            [*(_AS_NOBODY if os.geteuid() == 0 else []), *command],
            check=True,
            capture_output=True,
            cwd=base,
        )
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def start_postgres(cluster: Path, port: int) -> subprocess.Popen[bytes]:
    """postgres on 127.0.0.1:port for a cluster made by postgres_cluster()."""
    binaries = postgres_binaries()
    assert binaries is not None
    command = [str(binaries / "postgres"), "-D", str(cluster / "data"), "-p", str(port), "-k", str(cluster)]
    command += ["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]
    return subprocess.Popen(
        [*(_AS_NOBODY if os.geteuid() == 0 else []), *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=cluster,
    )


@contextmanager
def postgres_server(cluster: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """start_postgres(), fast-shut down on leaving."""
    process = start_postgres(cluster, port)
    try:
        yield process
    finally:
        stop(process, signal.SIGINT)  # SIGINT: Postgres's fast shutdown


def wait_for_text(log_file: Path, text: str, *, timeout: float = 60.0) -> str:
    """The log's content once it holds `text`; fails with the log at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        content = log_file.read_text(encoding="utf-8", errors="replace") if log_file.exists() else ""
        if text in content:
            return content
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} not logged within {timeout}s; the log:\n{content}")
        time.sleep(0.1)
