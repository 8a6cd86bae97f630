"""Extraction speed, in one run: characters/s in-process against one `jieba.lcut` pass over the same text,
and start-up (building the extractor; a whole `wenming extract` of one small file). Not a test.

Usage: .venv/bin/python benchmarks/bench_extract.py [--documents N] [--rounds N]
The documents are generated from the seed reports kept in tests/data (paragraphs shuffled and repeated).
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SEEDS = ROOT / "tests" / "data" / "reference" / "seeds"


def generated_documents(count: int, seed: int = 7) -> list[str]:
    """`count` report-like documents: a seed's title, then paragraphs drawn from all the seeds."""
    reports = [path.read_text(encoding="utf-8") for path in sorted(SEEDS.glob("*.txt"))]
    paragraphs = [p for report in reports for p in report.split("\n") if len(p.strip()) > 20]
    rng = random.Random(seed)
    documents = []
    for n in range(count):
        title = reports[n % len(reports)].split("\n", 1)[0]
        body = rng.sample(paragraphs, k=min(12, len(paragraphs)))
        documents.append("\n".join([title, *body]))
    return documents


def time_startup_in_process() -> float:
    """Seconds to import and build the extractor and the script converter in a fresh interpreter."""
    code = (
        "import time; t = time.perf_counter();"
        "from services.analysis import Analyzer; Analyzer();"
        "print(time.perf_counter() - t)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def time_small_file(runs: int = 5) -> float:
    """Median wall time of `wenming extract` on one small file, the whole process."""
    wenming = Path(sys.executable).with_name("wenming")
    with tempfile.TemporaryDirectory() as folder:
        small = Path(folder) / "small.txt"
        small.write_text(
            "保定市文明创建工作简报\n全市注册志愿者达到45万名，建成新时代文明实践站1200个。\n", "utf-8"
        )
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run(
                [str(wenming), "extract", str(small), "--format", "jsonl"], capture_output=True, check=True
            )
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    import jieba

    from services.extract.extractor import Extractor
    from services.normalize.normalizer import ScriptConverter, normalize_text
    from services.normalize.sections import split_sections

    extractor, converter = Extractor(), ScriptConverter()
    documents = []
    for original in generated_documents(args.documents):
        normalized = normalize_text(original, converter)
        documents.append((original, normalized, split_sections(normalized.text)))
    characters = sum(len(original) for original, _, _ in documents)

    jieba.setLogLevel(60)
    jieba.initialize()
    jieba_times, extract_times, figures = [], [], 0
    for _ in range(args.rounds):
        started = time.perf_counter()
        for _, normalized, _ in documents:
            jieba.lcut(normalized.text)
        jieba_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        figures = 0
        for original, normalized, sections in documents:
            _, metrics = extractor.extract(
                normalized.text, original=original, offsets=normalized.offsets, sections=sections
            )
            figures += len(metrics)
        extract_times.append(time.perf_counter() - started)

    jieba_rate = characters / min(jieba_times)
    extract_rate = characters / min(extract_times)
    rows = [
        ("documents / characters / figures", f"{len(documents)} / {characters:,} / {figures:,}"),
        ("one jieba.lcut pass", f"{jieba_rate:,.0f} characters/s"),
        ("extraction, in-process", f"{extract_rate:,.0f} characters/s"),
        ("extraction / jieba.lcut", f"{extract_rate / jieba_rate:.2f}"),
        ("start-up: import and build the extractor", f"{time_startup_in_process():.2f} s"),
        ("start-up: `wenming extract` of one small file", f"{time_small_file():.2f} s (median of 5)"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
