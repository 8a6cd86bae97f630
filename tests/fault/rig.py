"""A pipeline of the suite's own to break: its Redis (append-only file) and Postgres on free ports,
`wenming up` on them, a corpus of unique documents with the figures each must give, and probes.

Every process here is started by the suite and stopped or killed by its own PID.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
import sqlalchemy as sa

from services.analysis import Analyzer
from services.ingest.documents import ingested_document
from services.ingest.readers import read_document
from services.store.schema import sqlalchemy_url
from shared.streams import Topology
from tests.support.servers import free_port, postgres_cluster, start_postgres, start_redis, stop
from tests.support.wenming_up import WENMING, RunningPipeline

ROOT = Path(__file__).resolve().parents[2]
CITIES = ("淮北市", "芜湖市", "烟台市", "绵阳市", "泉州市", "遵义市", "柳州市", "威海市", "九江市", "宜宾市")
# What each stage's progress is counted by: the entries its output stream ever received.
OUTPUT = {"ingest": "ingested", "normalize": "normalized", "extract": "extracted"}


def _until(condition: Callable[[], bool], *, timeout: float, every: float = 0.2, what: str = "") -> float:
    """Seconds until `condition` held; fails at the deadline."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout:.0f}s: {what}")
        time.sleep(every)
    return time.monotonic() - started


class Servers:
    """Redis with an append-only file and Postgres (as an unprivileged user when run as root)."""

    def __init__(self, folder: Path, cluster: Path) -> None:
        self.folder = folder
        self.cluster = cluster
        self.redis_port, self.postgres_port = free_port(), free_port()
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        self._redis: subprocess.Popen[bytes] | None = None
        self._postgres: subprocess.Popen[bytes] | None = None

    def database_url(self, name: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.postgres_port}/{name}"

    def start_redis(self) -> None:
        self._redis = start_redis(self.redis_port, self.folder, appendonly=True)
        _until(self.redis_answers, timeout=30, what="Redis starts")

    def shutdown_redis(self) -> None:
        """SHUTDOWN, as an operator or an orchestrator would: the append-only file is flushed."""
        client = redis.Redis.from_url(self.redis_url)
        with contextlib.suppress(redis.ConnectionError):  # it closes the connection as it goes
            client.shutdown()
        assert self._redis is not None
        self._redis.wait(30)

    def redis_answers(self) -> bool:
        try:
            return bool(redis.Redis.from_url(self.redis_url, socket_timeout=1).ping())
        except (redis.RedisError, OSError):
            return False

    def start_postgres(self) -> None:
        self._postgres = start_postgres(self.cluster, self.postgres_port)
        _until(self.postgres_answers, timeout=60, what="Postgres starts")

    def stop_postgres(self) -> None:
        assert self._postgres is not None
        stop(self._postgres, signal.SIGINT)  # fast shutdown: sessions are ended, as on a restart

    def postgres_answers(self) -> bool:
        engine = sa.create_engine(sqlalchemy_url(self.database_url("postgres")))
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            return True
        except sa.exc.OperationalError:
            return False
        finally:
            engine.dispose()

    def stop_all(self) -> None:
        for process, sig in ((self._redis, signal.SIGTERM), (self._postgres, signal.SIGINT)):
            if process is not None:
                stop(process, sig)


@contextmanager
def own_servers(folder: Path) -> Iterator[Servers]:
    with postgres_cluster() as cluster:
        servers = Servers(folder, cluster)
        try:
            servers.start_redis()
            servers.start_postgres()
            yield servers
        finally:
            servers.stop_all()


@dataclass(frozen=True)
class Expected:
    """A file of the corpus: its document id and the figures it must give, as (start, end, value, unit)."""

    name: str
    data: bytes
    doc_id: str
    figures: tuple[tuple[int, int, float, str], ...]


def corpus(count: int, *, seed: int) -> list[Expected]:
    """`count` unique short reports, each with five figures, and what the extractor makes of each."""
    analyzer = Analyzer()
    files = []
    for n in range(count):
        r = random.Random(seed * 1_000_003 + n)
        city = r.choice(CITIES)
        satisfaction = f"{r.randint(80, 99)}.{r.randint(1, 9)}"
        text = (
            f"{city}文明城市创建工作简报\n\n"
            f"今年以来，{city}全市注册志愿者达到{r.randint(10, 99)}万名，"
            f"建成新时代文明实践站{r.randint(100, 999)}个，群众满意率达到{satisfaction}%。"
            f"全市累计开展志愿服务活动{r.randint(1000, 9999)}场次，"
            f"新增城市绿地{r.randint(10, 90)}万平方米。\n"
            # Letters only: unique bytes, no figure.
            f"（简报编号：{''.join(r.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(16))}）\n"
        )
        data = text.encode()
        name = f"report-{seed}-{n:05d}.txt"
        analysis = analyzer.analyse_bytes(data, name)
        doc_id = ingested_document(data, name, read_document(data, name)).doc_id
        figures = tuple(sorted((m.start, m.end, m.value, m.unit_kind) for m in analysis.metrics))
        files.append(Expected(name, data, doc_id, figures))
    return files


def drop(inbox: Path, files: list[Expected], *, per_second: float | None = None) -> None:
    """Write the files into the inbox, each under a temporary name first, as a careful copier does."""
    for n, expected in enumerate(files):
        temporary = inbox / f".{expected.name}.part"
        temporary.write_bytes(expected.data)
        temporary.rename(inbox / expected.name)
        if per_second and n % 10 == 9:
            time.sleep(10 / per_second)


@dataclass
class Pipeline:
    """`wenming up` on the suite's servers, with one database and stream prefix of its own."""

    servers: Servers
    folder: Path
    name: str
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.inbox = self.folder / "inbox"
        self.inbox.mkdir(parents=True, exist_ok=True)
        self.topology = Topology(self.name)
        self.database_url = self.servers.database_url(self.name)
        self.environment = {
            **os.environ,
            "WENMING_REDIS_URL": self.servers.redis_url,
            "WENMING_DATABASE_URL": self.database_url,
            "WENMING_STREAM_PREFIX": self.name,
            "WENMING_FILE_MIN_AGE_S": "0.3",
            "WENMING_RESCAN_INTERVAL_S": "1",
            **self.env,
        }
        self.up = RunningPipeline(
            "--inbox",
            str(self.inbox),
            "--data-dir",
            str(self.folder / ".wenming"),
            cwd=ROOT,
            env=self.environment,
        )
        self._engine = sa.create_engine(sqlalchemy_url(self.database_url), pool_pre_ping=True)

    def wait_running(self, timeout: float = 120) -> None:
        _until(lambda: bool(_started(self.up)), timeout=timeout, what="wenming up says it runs")

    def stage_pid(self, stage: str) -> int | None:
        """The PID of the `wenming serve STAGE` that `wenming up` runs now."""
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                status = (entry / "status").read_text()
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            parent = next((line.split()[1] for line in status.splitlines() if line.startswith("PPid:")), "")
            if parent == str(self.up.process.pid) and b"serve" in command and stage.encode() in command:
                return int(entry.name)
        return None

    def kill(self, stage: str) -> int:
        """SIGKILL the stage's process (a child of our `wenming up`); its PID."""
        pid = self.stage_pid(stage)
        assert pid is not None, f"{stage} is not running"
        os.kill(pid, signal.SIGKILL)
        return pid

    def progress(self, stage: str) -> int:
        """Work the stage has handed on so far: entries added to its output, or documents stored."""
        if stage == "store":
            return self.stored()
        client = redis.Redis.from_url(self.servers.redis_url, socket_timeout=5)
        try:
            info = client.xinfo_stream(getattr(self.topology, OUTPUT[stage]))
            return int(info.get("entries-added", info["length"]))
        except redis.ResponseError:  # no such stream yet
            return 0
        finally:
            client.close()

    def backlog(self, stage: str) -> int:
        """Entries waiting for the stage (its groups' lag and pending)."""
        client = redis.Redis.from_url(self.servers.redis_url, socket_timeout=5)
        try:
            total = 0
            for stream, group in self.topology.consumer_groups():
                if group != stage:
                    continue
                for info in client.xinfo_groups(stream):
                    if info["name"].decode() == group:
                        total += int(info.get("lag") or 0) + int(info["pending"])
            return total
        except redis.ResponseError:
            return 0
        finally:
            client.close()

    def held_by(self, stage: str, consumer: str) -> int:
        """Entries still pending under a consumer (of a process that was killed)."""
        client = redis.Redis.from_url(self.servers.redis_url, socket_timeout=5)
        try:
            total = 0
            for stream, group in self.topology.consumer_groups():
                if group == stage:
                    rows = client.xpending_range(stream, group, "-", "+", 1000, consumername=consumer)
                    total += len(rows)
            return total
        finally:
            client.close()

    def stored(self) -> int:
        try:
            with self._engine.connect() as conn:
                return int(conn.execute(sa.text("SELECT count(*) FROM documents")).scalar_one())
        except sa.exc.DBAPIError:  # not created yet, or Postgres away
            return -1

    def lag(self) -> tuple[int, dict[str, Any] | None, float]:
        """`wenming lag --json` as an operator runs it: exit status, report and seconds taken."""
        started = time.monotonic()
        done = subprocess.run(
            [*WENMING, "lag", "--json", "--data-dir", str(self.folder / ".wenming")],
            cwd=ROOT,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=30,
        )
        took = time.monotonic() - started
        report = json.loads(done.stdout) if done.stdout.strip() else None
        return done.returncode, report, took

    def check(self, files: list[Expected]) -> Manifest:
        """The documents and figures in Postgres against the corpus."""
        with self._engine.connect() as conn:
            documents = Counter(row[0] for row in conn.execute(sa.text("SELECT id FROM documents")).all())
            rows = conn.execute(
                sa.text("SELECT document_id, start_offset, end_offset, value, unit_kind FROM metrics")
            ).all()
            failed = conn.execute(
                sa.text("SELECT stage, file_name, reason FROM ingest_log WHERE status = 'failed'")
            ).all()
        figures: dict[str, Counter[tuple[int, int, float, str]]] = {}
        for doc_id, start, end, value, unit in rows:
            figures.setdefault(doc_id, Counter())[(start, end, value, unit)] += 1
        manifest = Manifest()
        expected_ids = {f.doc_id for f in files}
        for f in files:
            stored = figures.get(f.doc_id, Counter())
            if f.doc_id not in documents:
                manifest.lost_documents.append(f.name)
                continue
            if documents[f.doc_id] > 1:
                manifest.duplicated_documents.append(f.name)
            want = Counter(f.figures)
            manifest.lost_figures += sum((want - stored).values())
            manifest.duplicated_figures += sum((stored - want).values())
        manifest.unexpected_documents = sorted(set(documents) - expected_ids)
        manifest.dead_letters = [tuple(row) for row in failed]
        manifest.documents = len(documents)
        manifest.figures = len(rows)
        return manifest

    def stop(self) -> str:
        """Ctrl-C to `wenming up`; what it printed."""
        self.up.interrupt()
        self._engine.dispose()
        return self.up.output


@dataclass
class Manifest:
    documents: int = 0
    figures: int = 0
    lost_documents: list[str] = field(default_factory=list)
    duplicated_documents: list[str] = field(default_factory=list)
    unexpected_documents: list[str] = field(default_factory=list)
    lost_figures: int = 0
    duplicated_figures: int = 0
    dead_letters: list[tuple[Any, ...]] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (
            self.lost_documents
            or self.duplicated_documents
            or self.unexpected_documents
            or self.lost_figures
            or self.duplicated_figures
            or self.dead_letters
        )

    def summary(self) -> str:
        return (
            f"{self.documents} documents, {self.figures} figures stored; lost {len(self.lost_documents)} "
            f"documents and {self.lost_figures} figures, duplicated {len(self.duplicated_documents)} and "
            f"{self.duplicated_figures}; {len(self.dead_letters)} dead letters"
        )


def _started(up: RunningPipeline) -> bool:
    if up.process.poll() is not None:
        raise AssertionError("wenming up exited:\n" + up.output)
    return any(line.startswith("running:") for line in up.lines)
