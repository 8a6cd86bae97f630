"""The whole pipeline against the same code in one process, extract replica scaling, single-file latency.

Not a test. Three measurements on N generated seed-sized documents (bench_extract's generator):

1. in-process, the limit of the pipeline: the stages' code chained in one process on each
   document's bytes (services.analysis.Analyzer: decode, normalize, extract; then the store's own
   DocumentStore.store_many into Postgres, in groups of WENMING_BATCH_SIZE as the store stage reads
   them), best of --rounds, each round into a fresh database. The same chain without the store is
   measured too (as this benchmark did before the store was part of it). Building the Analyzer and
   migrating the database are start-up and not timed.
2. pipeline: the four stages as `wenming serve <stage>` processes (own stream prefix, own database,
   removed at the end); the N files are dropped into the inbox at once and timed until Postgres holds
   all N documents. Then the same with two `wenming serve extract` replicas.
3. latency: into the idle one-replica pipeline, one small file at a time (--latency-files of them),
   timed from the drop to its row in `documents`.
4. extract replicas with extraction the bottleneck: one, then two `wenming serve extract` processes
   alone (no other stage, no Postgres), started and idle; the N documents, normalized beforehand in
   this process, are published to their stream at once and timed until all N are handed on.

The stages run with the default WENMING_FILE_MIN_AGE_S (1.0 s, the stability wait) and
WENMING_RESCAN_INTERVAL_S (5.0 s; files are seen by file events before that), unless
--file-min-age / --rescan-interval say otherwise (the output says what was used).

Usage: .venv/bin/python benchmarks/bench_pipeline_throughput.py [--documents 300] [--latency-files 20]
           [--redis-url URL] [--database-url URL]
The servers come from --redis-url / --database-url or WENMING_REDIS_URL / WENMING_DATABASE_URL.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import psycopg
import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_extract import ROOT, generated_documents
from benchmarks.bench_large_document import STAGES, Stage, _database_url, _status_mb, _wait, free_port
from shared.settings import Settings

DEFAULT_FILE_MIN_AGE_S = 1.0  # shared/settings.py: file_min_age_s
DEFAULT_RESCAN_INTERVAL_S = 5.0  # shared/settings.py: rescan_interval_s


@dataclass
class ThroughputFigures:
    documents: int
    characters: int
    in_process_s: float  # the chain with the store: the pipeline's limit
    without_store_s: float = 0.0  # decode, normalize, extract only
    batch_size: int = 0
    pipeline_s: dict[int, float] = field(default_factory=dict)  # extract replicas -> seconds
    # extract replicas -> seconds to drain the normalized documents, nothing else running
    extract_alone_s: dict[int, float] = field(default_factory=dict)
    first_row_s: dict[int, float] = field(default_factory=dict)  # extract replicas -> drop to first row
    idle_rss_mb: dict[str, float] = field(default_factory=dict)
    latencies_s: list[float] = field(default_factory=list)
    file_min_age_s: float = DEFAULT_FILE_MIN_AGE_S
    rescan_interval_s: float = DEFAULT_RESCAN_INTERVAL_S

    @property
    def in_process_rate(self) -> float:
        return self.documents / self.in_process_s

    @property
    def without_store_rate(self) -> float:
        return self.documents / self.without_store_s

    def pipeline_rate(self, replicas: int) -> float:
        return self.documents / self.pipeline_s[replicas]

    def pipeline_rate_without_wait(self, replicas: int) -> float:
        """Documents/s with the one stability wait every file goes through at the start taken out."""
        return self.documents / max(self.pipeline_s[replicas] - self.file_min_age_s, 1e-9)

    def flowing_rate(self, replicas: int) -> float:
        """Documents/s from the first row stored to the last: the rate once the pipeline is flowing."""
        span = self.pipeline_s[replicas] - self.first_row_s.get(replicas, 0.0)
        return (self.documents - 1) / max(span, 1e-9)

    def latency_percentile(self, percent: int) -> float:
        ordered = sorted(self.latencies_s)
        if len(ordered) == 1:
            return ordered[0]
        return statistics.quantiles(ordered, n=100, method="inclusive")[percent - 1]


def measure_in_process(files: list[tuple[str, bytes]], rounds: int) -> float:
    """Best-of-`rounds` seconds for the Analyzer (decode, normalize, extract; no store) over every file."""
    from services.analysis import Analyzer

    analyzer = Analyzer()
    analyzer.analyse_bytes(files[0][1], files[0][0])  # first-call work is start-up, not throughput
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        for name, raw in files:
            analyzer.analyse_bytes(raw, name)
        times.append(time.perf_counter() - started)
    return min(times)


def measure_in_process_stored(
    files: list[tuple[str, bytes]], rounds: int, *, server_database_url: str, batch_size: int
) -> float:
    """Best-of-`rounds` seconds for every file decoded, normalized, extracted and stored in Postgres, in
    one process: each group of `batch_size` extracted, then stored in one transaction, as the store
    stage does with what it reads."""
    from services.analysis import Analyzer
    from services.store.database import DocumentStore

    analyzer = Analyzer()
    analyzer.analyse_bytes(files[0][1], files[0][0])  # first-call work is start-up, not throughput
    times = []
    for _ in range(rounds):
        # A fresh database each round: documents already stored would only be judged unchanged.
        database_url = _database_url(server_database_url, f"wenming_bench_{uuid.uuid4().hex[:8]}")
        store = DocumentStore(database_url)
        try:
            started = time.perf_counter()
            for start in range(0, len(files), batch_size):
                group = files[start : start + batch_size]
                store.store_many([analyzer.extract_bytes(raw, name) for name, raw in group])
            times.append(time.perf_counter() - started)
        finally:
            store.close()
            with psycopg.connect(_database_url(database_url, "postgres"), autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{database_url.rpartition("/")[2]}" WITH (FORCE)')
    return min(times)


class Pipeline:
    """The four stages as `wenming serve` processes on a stream prefix and database of their own."""

    def __init__(
        self,
        *,
        redis_url: str,
        server_database_url: str,
        extract_replicas: int = 1,
        file_min_age_s: float = DEFAULT_FILE_MIN_AGE_S,
        rescan_interval_s: float = DEFAULT_RESCAN_INTERVAL_S,
        source: Path = ROOT,
    ) -> None:
        self.redis_url = redis_url
        self.database_url = _database_url(server_database_url, f"wenming_bench_{uuid.uuid4().hex[:8]}")
        self.prefix = f"bench-{uuid.uuid4().hex[:8]}"
        self.extract_replicas = extract_replicas
        self.work = Path(tempfile.mkdtemp(prefix="bench-throughput-"))
        self.inbox = self.work / "inbox"
        self.stages: list[Stage] = []
        self._client = redis.Redis.from_url(redis_url)
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._env = {
            **os.environ,
            "PYTHONPATH": str(source),
            "WENMING_REDIS_URL": redis_url,
            "WENMING_DATABASE_URL": self.database_url,
            "WENMING_STREAM_PREFIX": self.prefix,
            "WENMING_INBOX": str(self.inbox),
            "WENMING_FILE_MIN_AGE_S": str(file_min_age_s),
            "WENMING_RESCAN_INTERVAL_S": str(rescan_interval_s),
        }
        self._source = source

    def __enter__(self) -> Pipeline:
        try:
            self.start()
        except BaseException:
            self.stop(keep_logs=True)
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop(keep_logs=error is not None)

    def start(self) -> None:
        self.inbox.mkdir()
        names = [s for s in STAGES if s != "extract"] + ["extract"] * self.extract_replicas
        for n, name in enumerate(names):
            env = {
                **self._env,
                "WENMING_CONSUMER_NAME": f"bench-{name}-{n}",
                "WENMING_METRICS_PORT": str(free_port()),  # replicas on one machine: a port each
            }
            with (self.work / f"{name}-{n}.log").open("wb") as log:
                process = subprocess.Popen(
                    [sys.executable, "-m", "services.operate.cli", "serve", name],
                    cwd=self._source,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            self.stages.append(Stage(name, process))

        def all_beating() -> bool:
            for stage in self.stages:
                if stage.process.poll() is not None:
                    raise SystemExit(f"stage {stage.name} exited at start (logs in {self.work})")
            return all(
                len(list(self._client.scan_iter(match=f"{self.prefix}:heartbeat:{s}:*")))
                >= (self.extract_replicas if s == "extract" else 1)
                for s in STAGES
            )

        _wait(all_beating, 180, "the stages to start")
        self._conn = psycopg.connect(self.database_url, autocommit=True)
        _wait(
            lambda: (
                self._conn is not None
                and self._conn.execute("SELECT to_regclass('documents')").fetchone() != (None,)
            ),
            60,
            "the store's tables",
        )
        time.sleep(1.0)
        for stage in self.stages:
            stage.idle_rss_mb = _status_mb(stage.process.pid, "VmRSS")

    def stored(self) -> set[str]:
        assert self._conn is not None
        return {name for (name,) in self._conn.execute("SELECT file_name FROM documents").fetchall()}

    def stored_count(self) -> int:
        assert self._conn is not None
        row = self._conn.execute("SELECT count(*) FROM documents").fetchone()
        return int(row[0]) if row else 0  # type: ignore[call-overload]

    def drop(self, files: list[tuple[str, bytes]]) -> float:
        """Write the files beside the inbox, then rename them all in; the perf_counter time of the drop."""
        staging = self.work / "staging"
        staging.mkdir(exist_ok=True)
        for name, raw in files:
            (staging / name).write_bytes(raw)
        dropped_at = time.perf_counter()
        for name, _ in files:
            (staging / name).rename(self.inbox / name)
        return dropped_at

    def time_until_stored(
        self, count: int, dropped_at: float, timeout: float, poll_s: float, first: list[float] | None = None
    ) -> float:
        """Seconds from the drop until `count` documents are stored; the first row's time into `first`."""
        deadline = time.monotonic() + timeout
        baseline = self.stored_count()
        while (stored := self.stored_count()) < count:
            if first is not None and not first and stored > baseline:
                first.append(time.perf_counter() - dropped_at)
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"{stored} of {count} documents in Postgres after {timeout:.0f} s (logs in {self.work})"
                )
            time.sleep(poll_s)
        return time.perf_counter() - dropped_at

    def stop(self, *, keep_logs: bool = True) -> None:
        for stage in self.stages:
            if stage.process.poll() is None:
                stage.process.send_signal(signal.SIGINT)
        for stage in self.stages:
            try:
                stage.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                stage.process.kill()
                stage.process.wait()
        self.stages = []
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        keys = list(self._client.scan_iter(match=f"{self.prefix}:*", count=1000))
        if keys:
            self._client.delete(*keys)
        self._client.close()
        with psycopg.connect(_database_url(self.database_url, "postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.database_url.rpartition("/")[2]}" WITH (FORCE)')
        if keep_logs:
            print(f"stage logs kept in {self.work}", file=sys.stderr)
        else:
            shutil.rmtree(self.work, ignore_errors=True)


def measure_extract_alone(
    files: list[tuple[str, bytes]], *, redis_url: str, replicas: int, timeout: float = 600.0
) -> float:
    """Seconds for `replicas` `wenming serve extract` processes, started and idle, to hand on every
    file's normalized document published at once: the extract stage as the bottleneck, with no
    other stage (nor Postgres) taking the cores. Normalizing is done beforehand, in this process."""
    import asyncio

    import redis.asyncio as aioredis
    from faststream.redis import RedisBroker

    from services.ingest.documents import ingested_document
    from services.ingest.readers import read_document
    from services.normalize.documents import normalize_document
    from services.normalize.normalizer import ScriptConverter
    from shared.streaming.publishing import publish_all
    from shared.streams import Topology

    converter = ScriptConverter()
    documents = [
        normalize_document(ingested_document(raw, name, read_document(raw, name)), converter)
        for name, raw in files
    ]
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    topology = Topology(prefix)
    work = Path(tempfile.mkdtemp(prefix="bench-extract-alone-"))
    client = redis.Redis.from_url(redis_url)
    env = {**os.environ, "WENMING_REDIS_URL": redis_url, "WENMING_STREAM_PREFIX": prefix}
    processes: list[subprocess.Popen[bytes]] = []

    async def publish() -> None:
        # All at once, in one round trip: the replicas find the whole backlog waiting.
        broker = RedisBroker(redis_url)
        publisher = aioredis.from_url(redis_url)
        await broker.connect()
        try:
            async with publisher.pipeline(transaction=False) as pipe:
                await publish_all(
                    broker, pipe, [(topology.normalized, document) for document in documents], metrics=None
                )
        finally:
            await broker.stop()
            await publisher.aclose()

    try:
        for n in range(replicas):
            with (work / f"extract-{n}.log").open("wb") as log:
                processes.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "services.operate.cli", "serve", "extract"],
                        cwd=ROOT,
                        env={
                            **env,
                            "WENMING_CONSUMER_NAME": f"bench-extract-{n}",
                            "WENMING_METRICS_PORT": str(free_port()),  # replicas on one machine: a port each
                        },
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
        _wait(
            lambda: len(list(client.scan_iter(match=f"{prefix}:heartbeat:extract:*"))) >= replicas,
            180,
            "the extract replicas to start",
        )
        time.sleep(1.0)
        started = time.perf_counter()
        asyncio.run(publish())
        deadline = time.monotonic() + timeout
        while int(client.xlen(topology.extracted)) < len(documents):
            if time.monotonic() > deadline:
                raise SystemExit(f"extract did not hand on {len(documents)} documents (logs in {work})")
            time.sleep(0.02)
        return time.perf_counter() - started
    finally:
        for process in processes:
            process.send_signal(signal.SIGINT)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
        shutil.rmtree(work, ignore_errors=True)


def document_files(count: int) -> list[tuple[str, bytes]]:
    """`count` generated documents as UTF-8 files with distinct contents (one row each in Postgres)."""
    files, seen = [], set()
    for n, text in enumerate(generated_documents(count)):
        raw = text.encode("utf-8")
        while hashlib.sha256(raw).digest() in seen:  # the id is the content's hash
            raw += b"\n"
        seen.add(hashlib.sha256(raw).digest())
        files.append((f"doc-{n:04d}.txt", raw))
    return files


def small_file(n: int) -> tuple[str, bytes]:
    text = (
        f"保定市文明创建工作简报（第{n + 1}期）\n"
        f"全市注册志愿者达到{45 + n}万名，建成新时代文明实践站{1200 + n}个。\n"
    )
    return f"latency-{n:02d}-{uuid.uuid4().hex[:6]}.txt", text.encode("utf-8")


def measure(
    *,
    redis_url: str,
    database_url: str,
    documents: int = 300,
    rounds: int = 2,
    replicas: tuple[int, ...] = (1, 2),
    latency_files: int = 20,
    file_min_age_s: float = DEFAULT_FILE_MIN_AGE_S,
    rescan_interval_s: float = DEFAULT_RESCAN_INTERVAL_S,
    timeout: float = 900.0,
    progress: bool = True,
) -> ThroughputFigures:
    def say(message: str) -> None:
        if progress:
            print(message, file=sys.stderr, flush=True)

    files = document_files(documents)
    batch_size = Settings().batch_size  # what the stages read at once, from WENMING_BATCH_SIZE or its default
    result = ThroughputFigures(
        documents=len(files),
        characters=sum(len(raw.decode("utf-8")) for _, raw in files),
        in_process_s=0.0,
        batch_size=batch_size,
        file_min_age_s=file_min_age_s,
        rescan_interval_s=rescan_interval_s,
    )
    say(f"in-process, into Postgres: {len(files)} documents, best of {rounds}")
    result.in_process_s = measure_in_process_stored(
        files, rounds, server_database_url=database_url, batch_size=batch_size
    )
    say(f"in-process, without the store: {len(files)} documents, best of {rounds}")
    result.without_store_s = measure_in_process(files, rounds)
    settings = {"file_min_age_s": file_min_age_s, "rescan_interval_s": rescan_interval_s}
    for count in replicas:
        with Pipeline(
            redis_url=redis_url, server_database_url=database_url, extract_replicas=count, **settings
        ) as pipeline:
            if count == 1:
                result.idle_rss_mb = {s.name: s.idle_rss_mb for s in pipeline.stages}
            say(f"pipeline, {count} extract replica(s): dropping {len(files)} files")
            dropped_at = pipeline.drop(files)
            first: list[float] = []
            result.pipeline_s[count] = pipeline.time_until_stored(len(files), dropped_at, timeout, 0.1, first)
            result.first_row_s[count] = first[0] if first else result.pipeline_s[count]
            if count == 1 and latency_files:
                say(f"latency: {latency_files} small files, one at a time")
                time.sleep(2.0)  # idle again: the store has committed, the stages wait on their streams
                for n in range(latency_files):
                    dropped_at = pipeline.drop([small_file(n)])
                    stored_at = pipeline.time_until_stored(len(files) + n + 1, dropped_at, 60, 0.02)
                    result.latencies_s.append(stored_at)
                    time.sleep(0.5)
    for count in replicas:
        say(f"extract alone, {count} replica(s): {len(files)} normalized documents published at once")
        result.extract_alone_s[count] = measure_extract_alone(files, redis_url=redis_url, replicas=count)
    return result


def report(result: ThroughputFigures) -> None:
    print(
        f"{result.documents} generated documents, {result.characters:,} characters; "
        f"stages with WENMING_FILE_MIN_AGE_S={result.file_min_age_s:g}, "
        f"WENMING_RESCAN_INTERVAL_S={result.rescan_interval_s:g}"
        + (
            " (the defaults)"
            if (result.file_min_age_s, result.rescan_interval_s)
            == (DEFAULT_FILE_MIN_AGE_S, DEFAULT_RESCAN_INTERVAL_S)
            else " (NOT the defaults)"
        )
        + f"; batches of {result.batch_size}"
    )
    print(
        f"  {'in-process, with the store (the limit)':<44} {result.in_process_rate:8.1f} documents/s "
        f"(decode, normalize, extract, store in Postgres)"
    )
    print(
        f"  {'in-process, without the store':<44} {result.without_store_rate:8.1f} documents/s "
        f"(decode, normalize, extract)"
    )
    for count, seconds in sorted(result.pipeline_s.items()):
        rate = result.pipeline_rate(count)
        line = (
            f"  {f'pipeline, {count} extract replica(s)':<44} {rate:8.1f} documents/s "
            f"({seconds:.1f} s drop to last row; {rate / result.in_process_rate:.2f}× in-process, "
            f"{rate / result.without_store_rate:.2f}× in-process without the store"
        )
        if count != 1 and 1 in result.pipeline_s:
            line += f"; {rate / result.pipeline_rate(1):.2f}× one replica"
        print(line + ")")
        net = result.pipeline_rate_without_wait(count)
        print(
            f"  {'  without the stability wait':<44} {net:8.1f} documents/s "
            f"({net / result.in_process_rate:.2f}× in-process)"
        )
        if count in result.first_row_s:
            flowing = result.flowing_rate(count)
            line = (
                f"  {'  first row to last':<44} {flowing:8.1f} documents/s "
                f"(first row {result.first_row_s[count]:.1f} s after the drop; "
                f"{flowing / result.in_process_rate:.2f}× in-process"
            )
            if count != 1 and 1 in result.first_row_s:
                line += f"; {flowing / result.flowing_rate(1):.2f}× one replica"
            print(line + ")")
    for count, seconds in sorted(result.extract_alone_s.items()):
        label = f"extract stage alone, {count} replica(s)"
        line = (
            f"  {label:<44} {result.documents / seconds:8.1f} documents/s "
            f"({seconds:.1f} s to hand on every normalized document, nothing else running"
        )
        if count != 1 and 1 in result.extract_alone_s:
            line += f"; {result.extract_alone_s[1] / seconds:.2f}× one replica"
        print(line + ")")
    if result.latencies_s:
        print(
            f"  single-file latency, drop to row ({len(result.latencies_s)} files): "
            f"p50 {result.latency_percentile(50):.2f} s, p95 {result.latency_percentile(95):.2f} s"
        )
    if result.idle_rss_mb:
        print("  idle RSS (MiB): " + ", ".join(f"{k} {v:.0f}" for k, v in result.idle_rss_mb.items()))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--documents", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2, help="in-process rounds (the best is kept)")
    parser.add_argument("--latency-files", type=int, default=20)
    parser.add_argument("--file-min-age", type=float, default=DEFAULT_FILE_MIN_AGE_S)
    parser.add_argument("--rescan-interval", type=float, default=DEFAULT_RESCAN_INTERVAL_S)
    parser.add_argument("--redis-url", default=os.environ.get("WENMING_REDIS_URL"))
    parser.add_argument("--database-url", default=os.environ.get("WENMING_DATABASE_URL"))
    args = parser.parse_args()
    if not args.redis_url or not args.database_url:
        parser.error("give --redis-url and --database-url (or WENMING_REDIS_URL and WENMING_DATABASE_URL)")
    report(
        measure(
            redis_url=args.redis_url,
            database_url=args.database_url,
            documents=args.documents,
            rounds=args.rounds,
            latency_files=args.latency_files,
            file_min_age_s=args.file_min_age,
            rescan_interval_s=args.rescan_interval,
        )
    )


if __name__ == "__main__":
    main()
