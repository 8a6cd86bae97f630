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
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Certificates:
    """A throwaway CA and the server certificate it signed, as PEM files."""

    ca: Path
    server_certificate: Path
    server_key: Path


def make_certificates(folder: Path, *, host: str = "127.0.0.1") -> Certificates:
    """A new CA, and a certificate it signed for `host` (and localhost), with the openssl command line."""
    folder.mkdir(parents=True, exist_ok=True)
    ca, ca_key = folder / "ca.crt", folder / "ca.key"
    certificate, key, request = folder / "server.crt", folder / "server.key", folder / "server.csr"
    extensions = folder / "server.ext"
    extensions.write_text(f"subjectAltName=IP:{host},DNS:localhost\n", encoding="utf-8")
    new_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    signed_by_ca = ["-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-days", "1", "-extfile", extensions]
    for command in (
        ["req", "-x509", "-days", "1", *new_key, "-keyout", ca_key, "-out", ca, "-subj", "/CN=wenming CA"],
        ["req", *new_key, "-keyout", key, "-out", request, "-subj", f"/CN={host}"],
        ["x509", "-req", "-in", request, *signed_by_ca, "-out", certificate],
    ):
        subprocess.run(["openssl", *map(str, command)], check=True, capture_output=True)
    return Certificates(ca, certificate, key)


def start_redis(
    port: int,
    folder: Path,
    *,
    appendonly: bool = False,
    password: str | None = None,
    tls: Certificates | None = None,
) -> subprocess.Popen[bytes]:
    """redis-server on 127.0.0.1:port; with `appendonly`, its data kept in `folder` across a SHUTDOWN
    and a new start there (fsync every second, as in production). With `password`, it asks for it;
    with `tls`, it speaks only TLS on that port (no client certificate asked)."""
    aof = ["--appendonly", "yes", "--appendfsync", "everysec"] if appendonly else ["--appendonly", "no"]
    options = ["--bind", "127.0.0.1", "--save", "", *aof, "--dir", str(folder)]
    if password is not None:
        options += ["--requirepass", password]
    listen = ["--port", str(port)]
    if tls is not None:
        listen = ["--port", "0", "--tls-port", str(port), "--tls-auth-clients", "no"]
        listen += ["--tls-cert-file", str(tls.server_certificate), "--tls-key-file", str(tls.server_key)]
        listen += ["--tls-ca-cert-file", str(tls.ca)]
    return subprocess.Popen(
        ["redis-server", *listen, *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@contextmanager
def redis_server(
    port: int,
    folder: Path,
    *,
    appendonly: bool = False,
    password: str | None = None,
    tls: Certificates | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """start_redis(), stopped on leaving."""
    process = start_redis(port, folder, appendonly=appendonly, password=password, tls=tls)
    try:
        yield process
    finally:
        stop(process)


def wait_for_port(port: int, process: subprocess.Popen[bytes], *, timeout: float = 20.0) -> None:
    """Return once a server started as `process` accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, f"the server exited with status {process.returncode}"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, f"nothing listens on port {port} after {timeout}s"
            time.sleep(0.05)


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
