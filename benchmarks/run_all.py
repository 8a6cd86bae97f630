"""Every performance figure of issue 10 in one table, with its target beside it. Not a test.

Runs, on generated documents:
  bench_extract.py               in-process extraction characters/s against one jieba.lcut pass; start-up
  bench_pipeline_throughput.py   pipeline documents/s against in-process, 2 extract replicas against 1,
                                 single-file latency into the idle pipeline
  bench_large_document.py        a large report (15 MB) through the four stages: time, peak RSS per
                                 stage, stream entry sizes
then prints each one's details and a Markdown table of the figures, the targets and whether each is met.

Usage: .venv/bin/python benchmarks/run_all.py [--documents 300] [--megabytes 15] [--latency-files 20]
           [--extract-documents 200] [--rounds 3] [--note TEXT] [--redis-url URL] [--database-url URL]
The servers come from --redis-url / --database-url or WENMING_REDIS_URL / WENMING_DATABASE_URL
(e.g. redis://127.0.0.1:6379/0 and postgresql://postgres@127.0.0.1:5432/postgres); each pipeline run
gets its own stream prefix and its own database, removed at the end.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import bench_extract, bench_large_document, bench_pipeline_throughput

MIB_TO_MB = 1024 * 1024 / 1_000_000


@dataclass(frozen=True)
class Row:
    figure: str
    measured: str
    target: str = ""
    met: bool | None = None  # None: no target, shown for information

    @property
    def verdict(self) -> str:
        return "" if self.met is None else ("yes" if self.met else "**no**")


def extraction_rows(result: bench_extract.ExtractionFigures) -> list[Row]:
    return [
        Row(
            f"extraction in-process ({result.documents} documents, {result.characters:,} characters)",
            f"{result.extract_rate:,.0f} characters/s",
        ),
        Row("one jieba.lcut pass on the same text", f"{result.jieba_rate:,.0f} characters/s"),
        Row(
            "extraction / jieba.lcut (start-up excluded)",
            f"{result.ratio:.2f}×",
            "≥ 1.0×",
            result.ratio >= 1.0,
        ),
        Row(
            "start-up: import and build the extractor (median of 5)",
            f"{result.startup_in_process_s:.2f} s",
            "≤ 1 s",
            result.startup_in_process_s <= 1.0,
        ),
        Row(
            "start-up: `wenming extract` of one small file, whole process",
            f"{result.startup_small_file_s:.2f} s",
            "≤ 1 s",
            result.startup_small_file_s <= 1.0,
        ),
    ]


def throughput_rows(result: bench_pipeline_throughput.ThroughputFigures) -> list[Row]:
    rows = [
        Row(
            f"in-process chain: decode, normalize, extract, store in Postgres ({result.documents} documents)",
            f"{result.in_process_rate:.1f} documents/s",
        ),
        Row("in-process chain without the store", f"{result.without_store_rate:.1f} documents/s"),
    ]
    if 1 in result.pipeline_s:
        ratio = result.pipeline_rate(1) / result.in_process_rate
        net = result.pipeline_rate_without_wait(1) / result.in_process_rate
        rows += [
            Row(
                "pipeline, 4 stages, 1 extract replica (drop → last row)",
                f"{result.pipeline_rate(1):.1f} documents/s ({result.pipeline_s[1]:.1f} s)",
            ),
            Row("pipeline / in-process chain with the store", f"{ratio:.2f}×", "≥ 0.9×", ratio >= 0.9),
            Row(
                "pipeline / in-process chain without the store",
                f"{result.pipeline_rate(1) / result.without_store_rate:.2f}×",
            ),
            Row(
                f"pipeline / in-process, the {result.file_min_age_s:g} s stability wait taken out",
                f"{net:.2f}×",
            ),
        ]
        if 1 in result.first_row_s:
            flowing = result.flowing_rate(1)
            rows.append(
                Row(
                    "pipeline / in-process, first row → last row",
                    f"{flowing / result.in_process_rate:.2f}× ({flowing:.1f} documents/s; "
                    f"first row {result.first_row_s[1]:.1f} s after the drop)",
                )
            )
    if 2 in result.pipeline_s:
        rows.append(
            Row(
                "pipeline, 2 extract replicas",
                f"{result.pipeline_rate(2):.1f} documents/s ({result.pipeline_s[2]:.1f} s)",
            )
        )
        if 1 in result.pipeline_s:
            scaling = result.pipeline_rate(2) / result.pipeline_rate(1)
            # No target here: with one replica, the other stages and Postgres already use most of the
            # second core, so extraction is not the only bottleneck (see the row with it alone).
            rows.append(
                Row("2 extract replicas / 1 (2 cores), whole pipeline, drop → last row", f"{scaling:.2f}×")
            )
        if 1 in result.first_row_s and 2 in result.first_row_s:
            rows.append(
                Row(
                    "2 extract replicas / 1, whole pipeline, first row → last row",
                    f"{result.flowing_rate(2) / result.flowing_rate(1):.2f}×",
                )
            )
    if 1 in result.extract_alone_s and 2 in result.extract_alone_s:
        alone = result.extract_alone_s[1] / result.extract_alone_s[2]
        rows += [
            Row(
                "extract stage alone, 1 replica (extraction the bottleneck)",
                f"{result.documents / result.extract_alone_s[1]:.1f} documents/s",
            ),
            Row(
                "2 extract replicas / 1 (2 cores), extraction the bottleneck",
                f"{alone:.2f}×",
                "≥ 1.6×",
                alone >= 1.6,
            ),
        ]
    if result.latencies_s:
        p50, p95 = result.latency_percentile(50), result.latency_percentile(95)
        rows += [
            Row(
                f"single-file latency p50, drop → row ({len(result.latencies_s)} files, idle pipeline)",
                f"{p50:.2f} s",
                "≤ 2 s",
                p50 <= 2.0,
            ),
            Row("single-file latency p95", f"{p95:.2f} s"),
        ]
    return rows


def large_document_rows(
    report: str, run: bench_large_document.Run, stages: Sequence[bench_large_document.Stage]
) -> list[Row]:
    large = bench_large_document.LARGE_NAME
    seconds = run.stored_at[large] - run.dropped_at
    megabytes = len(report.encode()) / 1_000_000
    rows = [Row(f"{megabytes:.1f} MB report, drop → Postgres", f"{seconds:.1f} s", "≤ 60 s", seconds <= 60)]
    for stage in stages:
        peak = stage.peak_rss_mb * MIB_TO_MB
        rows.append(
            Row(
                f"peak RSS (VmHWM), {stage.name}, large report",
                f"{peak:.0f} MB ({stage.peak_rss_mb:.0f} MiB)",
                "≤ 500 MB",
                peak <= 500,
            )
        )
    smalls = [at - run.dropped_at for name, at in run.stored_at.items() if name != large]
    if smalls:
        rows.append(Row("small reports dropped with it, latest in Postgres", f"{max(smalls):.1f} s"))
    for stream in bench_large_document.STREAMS:
        sizes = [e.size for e in run.entries if e.stream == stream and e.file_name == large]
        small = [e.size for e in run.entries if e.stream == stream and e.file_name != large]
        text = _size(sizes[0]) if sizes else "—"
        if small:
            text += f" (largest small {_size(max(small))})"
        rows.append(Row(f"stream entry, {stream}, large report", text))
    if run.text_keys_peak:
        rows.append(
            Row(
                "large report's texts kept by reference in Redis, at most",
                f"{run.text_bytes_peak / 1_000_000:.1f} MB in {run.text_keys_peak} keys, "
                f"{run.text_keys_left} left once stored",
            )
        )
    return rows


def idle_rows(*measured: dict[str, float]) -> list[Row]:
    """Idle RSS per stage, the largest seen in any run (MiB in, MB out)."""
    idle: dict[str, float] = {}
    for figures in measured:
        for stage, mib in figures.items():
            idle[stage] = max(idle.get(stage, 0.0), mib * MIB_TO_MB)
    return [
        Row(f"idle RSS, {stage}", f"{mb:.0f} MB ({mb / MIB_TO_MB:.0f} MiB)", "≤ 200 MB", mb <= 200)
        for stage, mb in idle.items()
    ]


def _size(size: int) -> str:
    return f"{size / 1_000_000:.2f} MB" if size >= 1_000_000 else f"{size / 1000:.1f} KB"


def table(rows: Sequence[Row]) -> str:
    lines = ["| figure | measured | target | met |", "| --- | --- | --- | --- |"]
    lines += [f"| {r.figure} | {r.measured} | {r.target} | {r.verdict} |" for r in rows]
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


def parser() -> argparse.ArgumentParser:
    parse = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parse.add_argument("--documents", type=int, default=300, help="documents through the pipeline")
    parse.add_argument("--latency-files", type=int, default=20, help="small files dropped one at a time")
    parse.add_argument("--megabytes", type=float, default=15.0, help="size of the large report")
    parse.add_argument("--small", type=int, default=3, help="small reports dropped with the large one")
    parse.add_argument("--extract-documents", type=int, default=200, help="documents for extraction speed")
    parse.add_argument("--rounds", type=int, default=3, help="extraction rounds (the best is kept)")
    parse.add_argument("--note", default="", help="printed with the table, e.g. who else uses the machine")
    parse.add_argument("--redis-url", default=os.environ.get("WENMING_REDIS_URL"))
    parse.add_argument("--database-url", default=os.environ.get("WENMING_DATABASE_URL"))
    return parse


def main(argv: Sequence[str] | None = None) -> None:
    parse = parser()
    args = parse.parse_args(argv)
    if not args.redis_url or not args.database_url:
        parse.error("give --redis-url and --database-url (or WENMING_REDIS_URL and WENMING_DATABASE_URL)")
    load_before = os.getloadavg()
    started = time.monotonic()

    print("## extraction in-process (bench_extract.py)\n", flush=True)
    extraction = bench_extract.measure(args.extract_documents, args.rounds)
    bench_extract.report(extraction)
    print(flush=True)

    print("## pipeline throughput, replicas, latency (bench_pipeline_throughput.py)\n", flush=True)
    throughput = bench_pipeline_throughput.measure(
        redis_url=args.redis_url,
        database_url=args.database_url,
        documents=args.documents,
        latency_files=args.latency_files,
    )
    bench_pipeline_throughput.report(throughput)
    print(flush=True)

    print(
        f"## a {args.megabytes:g} MB report through the four stages (bench_large_document.py)\n", flush=True
    )
    report = bench_large_document.generate_report(args.megabytes)
    smalls = sorted(bench_large_document.SEEDS.glob("*.txt"))[1 : 1 + args.small]
    database_url = bench_large_document._database_url(
        args.database_url, f"wenming_bench_{uuid.uuid4().hex[:8]}"
    )
    run, stages = bench_large_document.run_pipeline(
        report,
        smalls,
        redis_url=args.redis_url,
        database_url=database_url,
        source=bench_extract.ROOT,
        timeout=1800.0,
    )
    bench_large_document.report_figures(report, run, stages)
    print()

    rows = [
        *extraction_rows(extraction),
        *throughput_rows(throughput),
        *large_document_rows(report, run, stages),
        *idle_rows(throughput.idle_rss_mb, {s.name: s.idle_rss_mb for s in stages}),
    ]
    load_after = os.getloadavg()
    print("## summary\n")
    print(f"machine: {machine()}; Redis, Postgres and the stages all on it; MB = 10^6 bytes")
    print(
        f"load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after; "
        f"{time.monotonic() - started:.0f} s in all"
    )
    print(
        f"stability wait: WENMING_FILE_MIN_AGE_S={throughput.file_min_age_s:g}, "
        f"WENMING_RESCAN_INTERVAL_S={throughput.rescan_interval_s:g} (defaults) for throughput and latency; "
        "0.5 and 0.5 for the large report (bench_large_document.py)"
    )
    if args.note:
        print(f"note: {args.note}")
    print()
    print(table(rows))
    met = [r.met for r in rows if r.met is not None]
    print(f"\n{sum(met)} of {len(met)} targets met")


if __name__ == "__main__":
    main()
