"""Redis with a password and TLS: the whole pipeline over rediss://, and a refused password or an
unverifiable certificate said in one line while the stage keeps waiting, as for a Redis that is down.

The module starts Redis servers of its own on free ports, stopped by their PIDs: one that speaks only
TLS, with a certificate from a throwaway CA, and one in plain TCP; both ask for a password that holds
characters a URL must encode.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import redis
import sqlalchemy as sa

from services.store.schema import sqlalchemy_url
from shared.streams import STAGES, Topology
from tests.support.polling import eventually
from tests.support.servers import (
    Certificates,
    free_port,
    make_certificates,
    redis_server,
    wait_for_port,
    wait_for_text,
)
from tests.support.wenming_up import WENMING, RunningPipeline, stage_process

pytestmark = pytest.mark.integration

README = Path(__file__).resolve().parents[2] / "README.md"
# Each character after the random part must be URL-encoded to pass through a URL unchanged.
PASSWORD = secrets.token_urlsafe(12) + "/@:%#?"


def url(
    port: int, *, scheme: str = "redis", user: str = "", password: str | None = PASSWORD, query: str = ""
) -> str:
    """A Redis URL as the README tells users to write it: the password URL-encoded."""
    credentials = f"{quote(user, safe='')}:{quote(password, safe='')}@" if password is not None else ""
    return f"{scheme}://{credentials}127.0.0.1:{port}/0{query}"


@dataclass(frozen=True)
class OwnRedis:
    port: int
    certificates: Certificates

    def tls_url(self, **parts: Any) -> str:
        """rediss:// with the CA given as users give it, in the URL's ssl_ca_certs."""
        return url(self.port, scheme="rediss", query=f"?ssl_ca_certs={self.certificates.ca}", **parts)

    def admin(self) -> redis.Redis:
        return redis.Redis.from_url(self.tls_url())


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    if shutil.which("redis-server") is None or shutil.which("openssl") is None:
        pytest.skip(
            "these tests start redis-server with TLS and make certificates with openssl: install both"
        )
    path = Path(tempfile.mkdtemp(prefix="wenming-tls-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def tls_redis(folder: Path) -> Iterator[OwnRedis]:
    """A redis-server speaking only TLS on its port, asking for PASSWORD."""
    certificates = make_certificates(folder / "certificates")
    port = free_port()
    (folder / "tls").mkdir()
    with redis_server(port, folder / "tls", password=PASSWORD, tls=certificates) as process:
        try:
            wait_for_port(port, process)
        except AssertionError as exc:
            pytest.fail(f"redis-server did not start with TLS ({exc}): is it built with TLS?")
        yield OwnRedis(port, certificates)


@pytest.fixture(scope="module")
def plain_redis(folder: Path) -> Iterator[int]:
    """A redis-server on plain TCP asking for PASSWORD: its port."""
    port = free_port()
    (folder / "plain").mkdir()
    with redis_server(port, folder / "plain", password=PASSWORD) as process:
        wait_for_port(port, process)
        yield port


def _wenming(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*WENMING, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def _environment(**settings: str) -> dict[str, str]:
    """This process's environment without any WENMING_* variable, and the given settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("WENMING_")}
    return env | {f"WENMING_{name.upper()}": value for name, value in settings.items()}


def _said_in_one_line(done: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """The single line a command printed on stderr, holding each fragment and never the password."""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert all(fragment in lines[0] for fragment in fragments), done.stderr
    assert PASSWORD not in lines[0] and quote(PASSWORD, safe="") not in lines[0], lines[0]
    return lines[0]


def _lag_report(cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    done = _wenming("lag", "--json", cwd=cwd, env=env)
    return dict(json.loads(done.stdout)) if done.stdout else {"stderr": done.stderr}


def _count(engine: sa.Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(sql)).scalar_one())


def test_the_pipeline_runs_over_tls_with_a_password(
    tls_redis: OwnRedis, database_url: str, seeds_dir: Path, server_tmp_path: Path
) -> None:
    """`wenming up` on rediss:// with the CA in the URL: files in, rows out, lag, health checks."""
    redis_url = tls_redis.tls_url()
    prefix = f"tls-{uuid.uuid4().hex[:8]}"
    env = _environment(
        redis_url=redis_url,
        database_url=database_url,
        stream_prefix=prefix,
        file_min_age_s="0.3",
        # Every seed is larger: its texts go through the content store, over TLS too.
        inline_text_bytes="1024",
    )
    seeds = sorted(seeds_dir.glob("*.txt"))
    assert all(seed.stat().st_size > 1024 for seed in seeds)
    inbox = server_tmp_path / "inbox"
    up = RunningPipeline("--inbox", str(inbox), cwd=server_tmp_path, env=env)
    engine = sa.create_engine(sqlalchemy_url(database_url))
    try:
        started = asyncio.run(eventually(up.started_lines, bool, timeout=50))
        shown = f"rediss://:***@127.0.0.1:{tls_redis.port}/0?ssl_ca_certs={tls_redis.certificates.ca}"
        assert started[0] == f"Redis:     {shown} (WENMING_REDIS_URL)", up.output
        # Where `wenming env` and `wenming lag` find the URL, password and all: for its owner's eyes only.
        assert (server_tmp_path / ".wenming" / "instance.json").stat().st_mode & 0o777 == 0o600
        for seed in seeds:
            shutil.copy(seed, inbox / seed.name)

        async def stored() -> int:
            return await asyncio.to_thread(_count, engine, "SELECT count(*) FROM documents")

        asyncio.run(eventually(stored, lambda n: n == len(seeds), timeout=40))
        with engine.connect() as conn:
            texts = dict(conn.execute(sa.text("SELECT file_name, original_text FROM documents")).all())
        assert texts == {seed.name: seed.read_text(encoding="utf-8") for seed in seeds}
        assert _count(engine, "SELECT count(*) FROM metrics") > 0

        # `wenming lag --json` over TLS: every entry acknowledged, each stage alive by its heartbeats.
        async def lag() -> dict[str, Any]:
            return await asyncio.to_thread(_lag_report, server_tmp_path, env)

        report = asyncio.run(
            eventually(
                lag,
                lambda r: "stages" in r and all(s["lag"] == 0 and s["pending"] == 0 for s in r["stages"]),
                timeout=20,
            )
        )
        assert report["verdict"] == "healthy" and report["dead_letters"] == 0, report
        assert all(any(c["alive"] for c in stage["consumers"]) for stage in report["stages"]), report
        # The containers' health check of each stage, on the same URL.
        for stage in STAGES:
            checked = _wenming("check", stage, cwd=server_tmp_path, env=env | {"WENMING_INBOX": str(inbox)})
            assert checked.returncode == 0, checked.stderr

        # Everything went through this server, which speaks only TLS, and left no text behind.
        topology = Topology(prefix)
        with tls_redis.admin() as admin:
            assert admin.xinfo_stream(topology.ingested)["entries-added"] == len(seeds)
            assert admin.xinfo_stream(topology.extracted)["entries-added"] == len(seeds)
            assert list(admin.scan_iter(match=f"{topology.contents}:*")) == []

        # The README's way of writing such a URL, run as it is written.
        readme = _readme_tls_block()
        bin_dir = Path(sys.executable).parent
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", readme.replace(".venv/bin/", f"{bin_dir}/")],
            cwd=server_tmp_path,
            env=env
            | {
                "REDIS_PASSWORD": PASSWORD,
                "REDIS_HOST": "127.0.0.1",
                "REDIS_PORT": str(tls_redis.port),
                "REDIS_CA": str(tls_redis.certificates.ca),
                "WENMING_REDIS_URL": "",
            },
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0 and "pipeline: healthy" in done.stdout, done.stdout + done.stderr
    finally:
        engine.dispose()
        code = up.interrupt()
    assert code == 0, up.output
    assert "Traceback" not in up.output, up.output
    assert PASSWORD not in up.output and quote(PASSWORD, safe="") not in up.output, up.output
    assert not (server_tmp_path / ".wenming" / "instance.json").exists()


def _readme_tls_block() -> str:
    section = README.read_text(encoding="utf-8").split("\n### Redis with a password and TLS", 1)[1]
    [block] = re.findall(r"^```sh\n(.*?)^```", section.split("\n### ", 1)[0], re.MULTILINE | re.DOTALL)
    return str(block)


def test_a_refused_password_is_one_line_and_the_stage_waits_until_it_is_accepted(
    plain_redis: int, tmp_path: Path
) -> None:
    """A user Redis does not know yet: one line, no traceback; once Redis knows it, the stage starts."""
    user, password = f"wenming-{uuid.uuid4().hex[:6]}", secrets.token_urlsafe(12) + "/@%"
    redis_url = url(plain_redis, user=user, password=password)
    env = _environment(redis_url=redis_url, stream_prefix=f"auth-{uuid.uuid4().hex[:8]}")
    log_file = tmp_path / "normalize.log"
    waiting = f"waiting for Redis at 127.0.0.1:{plain_redis} (Redis refused the user or password of the URL: "
    with stage_process("normalize", env, log_file) as process:
        wait_for_text(log_file, waiting, timeout=30)

        refused = _wenming("lag", cwd=tmp_path, env=env)
        assert refused.returncode == 1
        _said_in_one_line(refused, f"Redis at 127.0.0.1:{plain_redis}", "refused the user or password")
        assert password not in refused.stderr
        checked = _wenming("check", "normalize", cwd=tmp_path, env=env)
        assert checked.returncode == 1
        _said_in_one_line(checked, "refused the user or password")
        no_password = _wenming(
            "lag", cwd=tmp_path, env=env | {"WENMING_REDIS_URL": url(plain_redis, password=None)}
        )
        _said_in_one_line(no_password, "Redis asks for a password and the URL gives none")

        time.sleep(1.0)  # a few retries
        assert process.poll() is None, log_file.read_text(encoding="utf-8")
        admin = redis.Redis.from_url(url(plain_redis))  # the default user, with the server's password
        admin.acl_setuser(
            user, enabled=True, passwords=[f"+{password}"], keys=["*"], channels=["*"], commands=["+@all"]
        )
        try:
            wait_for_text(log_file, f"Redis is back at 127.0.0.1:{plain_redis}", timeout=20)
            wait_for_text(log_file, "wenming serve normalize: ready", timeout=30)
        finally:
            admin.acl_deluser(user)
            admin.close()
    log = log_file.read_text(encoding="utf-8")
    assert log.count(waiting) == 1 and "Traceback" not in log, log
    assert password not in log and quote(password, safe="") not in log, log


def test_a_certificate_that_cannot_be_verified_is_one_line(tls_redis: OwnRedis, tmp_path: Path) -> None:
    """rediss:// without the CA that signed the server's certificate: said in one line, waited out."""
    unverified = url(tls_redis.port, scheme="rediss")
    env = _environment(redis_url=unverified, stream_prefix=f"cert-{uuid.uuid4().hex[:8]}")
    log_file = tmp_path / "normalize.log"
    reason = "the TLS certificate of Redis cannot be verified: self-signed certificate in certificate chain"
    waiting = f"waiting for Redis at 127.0.0.1:{tls_redis.port} ({reason}; "
    with stage_process("normalize", env, log_file) as process:
        wait_for_text(log_file, waiting, timeout=30)
        refused = _wenming("lag", cwd=tmp_path, env=env)
        assert refused.returncode == 1
        _said_in_one_line(refused, reason, "ssl_ca_certs=/path/ca.crt")
        time.sleep(1.0)
        assert process.poll() is None
    log = log_file.read_text(encoding="utf-8")
    assert log.count(waiting) == 1 and "Traceback" not in log, log


@pytest.mark.parametrize(
    ("query", "said"),
    [
        (
            "?ssl_ca_certs=/nonexistent/ca.crt",
            "ssl_ca_certs=/nonexistent/ca.crt: no such file, or not readable",
        ),
        ("?ssl_ca_cert=/etc/hostname", "a rediss:// connection has no option 'ssl_ca_cert'"),
    ],
)
def test_a_url_that_cannot_work_stops_the_commands_at_once(
    tls_redis: OwnRedis, tmp_path: Path, query: str, said: str
) -> None:
    env = _environment(redis_url=url(tls_redis.port, scheme="rediss", query=query))
    served = _wenming("serve", "normalize", cwd=tmp_path, env=env)
    assert served.returncode == 2
    _said_in_one_line(served, f"wenming serve normalize: WENMING_REDIS_URL: {said}")
    up = _wenming("up", "--inbox", str(tmp_path / "inbox"), cwd=tmp_path, env=env)
    assert up.returncode == 1 and "Traceback" not in up.stdout + up.stderr
    assert f"WENMING_REDIS_URL: {said}" in up.stderr and PASSWORD not in up.stdout + up.stderr
    lag = _wenming("lag", cwd=tmp_path, env=env)
    assert lag.returncode == 1
    _said_in_one_line(lag, f"WENMING_REDIS_URL: {said}")
