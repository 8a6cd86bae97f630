"""One large report (and a few small ones dropped with it) through all four stages. Not a test.

Prints (MB = 10^6 bytes) the size of every stream entry, each stage's share of the large report's
time, the time until each document is in Postgres, and each stage's resident memory (idle and
peak, VmHWM).

Usage: .venv/bin/python benchmarks/bench_large_document.py [--megabytes 15] [--small 3]
           [--redis-url URL] [--database-url URL] [--source DIR]

The servers come from --redis-url / --database-url or WENMING_REDIS_URL / WENMING_DATABASE_URL;
the run gets its own stream prefix and its own database, both removed at the end. Each stage runs
as `wenming serve <stage>` in a process of its own; --source DIR runs the stages from another
checkout (to measure an older version with the same script).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "tests" / "data" / "reference" / "seeds"
STAGES = ("ingest", "normalize", "extract", "store")
STREAMS = ("documents.ingested.v1", "documents.normalized.v1", "documents.extracted.v1")
LARGE_NAME = "large-report.txt"
# A group that never reads: entries stay in the streams (trimming keeps what a group has not read).
WATCH_GROUP = "benchmark"
_FILE_NAME = re.compile(rb'"file_name":"((?:[^"\\]|\\.)*)"')
_DIGITS = re.compile(r"\d+")
_CHAPTERS = "一二三四五六七八九十"


# --- the document -------------------------------------------------------------------------------


def body_paragraphs(seeds: Path) -> list[str]:
    """Report paragraphs of the Simplified seeds, with their indentation, without page chrome."""
    paragraphs = []
    for path in sorted(seeds.glob("*.txt")):
        if path.name.startswith("000_"):  # the Traditional seed: the large report is Simplified
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if len(line.strip()) >= 30 and "。" in line:
                paragraphs.append(line if line.startswith((" ", "　")) else "　　" + line)
    return paragraphs


def generate_report(megabytes: float, seeds: Path = SEEDS, seed: int = 0) -> str:
    """A realistic work summary of about `megabytes` MB of UTF-8: seed paragraphs with varied figures."""
    rng = random.Random(seed)
    paragraphs = body_paragraphs(seeds)
    target = int(megabytes * 1_000_000)

    def vary(match: re.Match[str]) -> str:
        digits = match.group()
        if len(digits) == 4 and digits.startswith("20"):
            return f"20{rng.randint(15, 24)}"  # a year stays a year
        if match.string[match.end() : match.end() + 1] in ("%", "％"):
            return str(rng.randint(60, 99))  # a rate stays under 100%
        first = str(rng.randint(1, 9)) if digits[0] != "0" else "0"
        return first + "".join(str(rng.randint(0, 9)) for _ in digits[1:])

    lines = [
        "鞍山市全国文明城市创建工作资料汇编（2015—2024年）",
        "",
        "发布时间:2024-12-30 来源: 鞍山市文明办 作者:市文明办综合处",
        "",
    ]
    size = sum(len(line.encode()) + 1 for line in lines)
    chapter = 0
    while size < target:
        chapter += 1
        heading = f"第{chapter}部分 {_CHAPTERS[chapter % 10]}、创建工作情况（{2015 + chapter % 10}年）"
        lines += [heading, ""]
        size += len(heading.encode()) + 2
        for _ in range(40):
            paragraph = _DIGITS.sub(vary, rng.choice(paragraphs))
            lines += [paragraph, ""]
            size += len(paragraph.encode()) + 2
    return "\n".join(lines) + "\n"


# --- the run --------------------------------------------------------------------------------------


@dataclass
class Stage:
    name: str
    process: subprocess.Popen[bytes]
    idle_rss_mb: float = 0.0
    peak_rss_mb: float = 0.0


@dataclass
class Entry:
    stream: str
    file_name: str
    size: int
    at: float  # seconds since the epoch, from the entry id


@dataclass
class Run:
    dropped_at: float = 0.0
    stored_at: dict[str, float] = field(default_factory=dict)
    entries: list[Entry] = field(default_factory=list)
    text_keys_peak: int = 0
    text_bytes_peak: int = 0
    text_keys_left: int = 0


def free_port() -> int:
    """A port nothing listens on now, on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _status_mb(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _database_url(server_url: str, name: str) -> str:
    base, _, _ = server_url.rpartition("/")
    return f"{base}/{name}"


def _wait(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


def _text_blobs(client: redis.Redis, prefix: str) -> tuple[int, int]:
    keys = list(client.scan_iter(match=f"{prefix}:contents:*", count=1000))
    size = sum(int(client.memory_usage(key) or 0) for key in keys)
    return len(keys), size


def run_pipeline(
    report: str, smalls: list[Path], *, redis_url: str, database_url: str, source: Path, timeout: float
) -> tuple[Run, list[Stage]]:
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(redis_url)
    work = Path(tempfile.mkdtemp(prefix="bench-large-"))
    inbox = work / "inbox"
    inbox.mkdir()
    for name in STREAMS:
        client.xgroup_create(f"{prefix}:{name}", WATCH_GROUP, id="0", mkstream=True)
    env = {
        **os.environ,
        "PYTHONPATH": str(source),
        "WENMING_REDIS_URL": redis_url,
        "WENMING_DATABASE_URL": database_url,
        "WENMING_STREAM_PREFIX": prefix,
        "WENMING_INBOX": str(inbox),
        "WENMING_FILE_MIN_AGE_S": "0.5",
        "WENMING_RESCAN_INTERVAL_S": "0.5",
    }
    stages: list[Stage] = []
    run = Run()
    try:
        for name in STAGES:
            log = (work / f"{name}.log").open("wb")
            process = subprocess.Popen(
                [sys.executable, "-m", "services.operate.cli", "serve", name],
                cwd=source,
                # Each stage its own /metrics port, as on separate machines.
                env={**env, "WENMING_METRICS_PORT": str(free_port())},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            stages.append(Stage(name, process))
        _wait(
            lambda: all(any(client.scan_iter(match=f"{prefix}:heartbeat:{s}:*")) for s in STAGES),
            180,
            "the stages to start",
        )
        time.sleep(1.0)
        for stage in stages:
            stage.idle_rss_mb = _status_mb(stage.process.pid, "VmRSS")

        # Dropped together: the large report renamed into place, the small ones copied beside it.
        part = inbox / (LARGE_NAME + ".part")
        part.write_text(report, encoding="utf-8")
        small_bytes = [(f"small-{n}-{path.name}", path.read_bytes()) for n, path in enumerate(smalls)]
        for name, raw in small_bytes:
            (inbox / (name + ".part")).write_bytes(raw)
        run.dropped_at = time.time()
        part.rename(inbox / LARGE_NAME)
        for name, _ in small_bytes:
            (inbox / (name + ".part")).rename(inbox / name)
        expected = {LARGE_NAME, *(name for name, _ in small_bytes)}

        with psycopg.connect(_database_url(database_url, "postgres"), autocommit=True) as admin:
            _wait(
                lambda: (
                    admin.execute(
                        "SELECT 1 FROM pg_database WHERE datname = %s", (database_url.rpartition("/")[2],)
                    ).fetchone()
                    is not None
                ),
                60,
                "the store to create its database",
            )
        deadline = time.monotonic() + timeout
        with psycopg.connect(database_url, autocommit=True) as conn:
            while set(run.stored_at) != expected:
                if time.monotonic() > deadline:
                    missing = sorted(expected - set(run.stored_at))
                    raise SystemExit(f"not in Postgres after {timeout:.0f} s: {missing} (logs in {work})")
                names = conn.execute("SELECT file_name FROM documents").fetchall()
                now = time.time()
                for (name,) in names:
                    run.stored_at.setdefault(name, now)
                keys, size = _text_blobs(client, prefix)
                run.text_keys_peak = max(run.text_keys_peak, keys)
                run.text_bytes_peak = max(run.text_bytes_peak, size)
                time.sleep(0.25)
        for stage in stages:
            stage.peak_rss_mb = _status_mb(stage.process.pid, "VmHWM")

        def all_acknowledged() -> bool:
            stream = f"{prefix}:{STREAMS[-1]}"
            return int(client.xpending(stream, "store")["pending"]) == 0

        _wait(all_acknowledged, 30, "the store to acknowledge")
        time.sleep(0.5)
        run.text_keys_left = _text_blobs(client, prefix)[0]
        for name in STREAMS:
            for entry_id, fields in client.xrange(f"{prefix}:{name}"):
                size = sum(len(k) + len(v) for k, v in fields.items())
                data = fields.get(b"__data__", b"")
                found = _FILE_NAME.search(data[:2000])
                file_name = found.group(1).decode() if found else "?"
                millis = int(entry_id.split(b"-")[0])
                run.entries.append(Entry(name, file_name, size, millis / 1000))
    finally:
        for stage in stages:
            stage.process.send_signal(signal.SIGINT)
        for stage in stages:
            try:
                stage.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                stage.process.kill()
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
        with psycopg.connect(_database_url(database_url, "postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database_url.rpartition("/")[2]}" WITH (FORCE)')
    shutil.rmtree(work, ignore_errors=True)  # reached only when the run succeeded: logs kept otherwise
    return run, stages


# --- the figures ----------------------------------------------------------------------------------


def _size(size: int) -> str:
    return f"{size / 1_000_000:.2f} MB" if size >= 1_000_000 else f"{size / 1000:.1f} KB"


def report_figures(report: str, run: Run, stages: list[Stage]) -> None:
    mb = 1_000_000
    print(f"large report: {len(report.encode()) / mb:.1f} MB UTF-8, {len(report):,} characters")
    print()
    print("stream entries (bytes in Redis, per document)")
    for name in STREAMS:
        large = [e.size for e in run.entries if e.stream == name and e.file_name == LARGE_NAME]
        small = [e.size for e in run.entries if e.stream == name and e.file_name != LARGE_NAME]
        large_text = _size(large[0]) if large else "—"
        small_text = _size(max(small)) if small else "—"
        print(f"  {name:<26} large {large_text:>10}   largest small {small_text:>10}")
    if run.text_keys_peak:
        print(
            f"  texts by reference: at most {run.text_keys_peak} keys, {run.text_bytes_peak / mb:.1f} MB; "
            f"{run.text_keys_left} left once stored"
        )
    print()

    def entry_at(stream: str) -> float | None:
        found = [e.at for e in run.entries if e.stream == stream and e.file_name == LARGE_NAME]
        return found[0] if found else None

    marks = [run.dropped_at, *(entry_at(s) for s in STREAMS), run.stored_at[LARGE_NAME]]
    print("large report, time in each stage (from the hand-off before it to its own)")
    total = marks[-1] - marks[0]
    for stage, start, end in zip(STAGES, marks[:-1], marks[1:], strict=True):
        if start is None or end is None:
            print(f"  {stage:<10} —")
            continue
        share = (end - start) / total * 100
        print(f"  {stage:<10} {end - start:8.1f} s  {share:5.1f} %")
    print(f"  {'total':<10} {total:8.1f} s  (drop to Postgres, incl. a 0.5 s stability wait)")
    without_extract = total - ((marks[3] or 0) - (marks[2] or 0))
    print(f"  {'not extract':<10} {without_extract:8.1f} s")
    print()
    print("time from drop to Postgres")
    for name, at in sorted(run.stored_at.items(), key=lambda item: item[1]):
        print(f"  {name:<40} {at - run.dropped_at:8.1f} s")
    print()
    print("resident memory per stage (MiB, VmRSS when idle, VmHWM for the peak)")
    print(f"  {'stage':<10} {'idle':>8} {'peak':>8}")
    for stage in stages:
        print(f"  {stage.name:<10} {stage.idle_rss_mb:8.0f} {stage.peak_rss_mb:8.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--megabytes", type=float, default=15.0)
    parser.add_argument("--small", type=int, default=3, help="small reports dropped with the large one")
    parser.add_argument("--redis-url", default=os.environ.get("WENMING_REDIS_URL"))
    parser.add_argument("--database-url", default=os.environ.get("WENMING_DATABASE_URL"))
    parser.add_argument("--source", type=Path, default=ROOT, help="checkout whose stages are measured")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait for Postgres")
    args = parser.parse_args()
    if not args.redis_url or not args.database_url:
        parser.error("give --redis-url and --database-url (or WENMING_REDIS_URL and WENMING_DATABASE_URL)")
    report = generate_report(args.megabytes)
    smalls = sorted(SEEDS.glob("*.txt"))[1 : 1 + args.small]
    database_url = _database_url(args.database_url, f"wenming_bench_{uuid.uuid4().hex[:8]}")
    run, stages = run_pipeline(
        report,
        smalls,
        redis_url=args.redis_url,
        database_url=database_url,
        source=args.source.resolve(),
        timeout=args.timeout,
    )
    report_figures(report, run, stages)


if __name__ == "__main__":
    main()
