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
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SEEDS = ROOT / "tests" / "data" / "reference" / "seeds"


def generated_documents(count: int, seed: int = 7) -> list[str]:
    """`count` seed-sized report-like documents: a seed's title, then paragraphs drawn from all the seeds
    until the document is as long as that seed, so that sizes follow the real reports'."""
    reports = [path.read_text(encoding="utf-8") for path in sorted(SEEDS.glob("*.txt"))]
    paragraphs = [p for report in reports for p in report.split("\n") if len(p.strip()) > 20]
    rng = random.Random(seed)
    documents = []
    for n in range(count):
        report = reports[n % len(reports)]
        lines = [report.split("\n", 1)[0]]
        size = len(lines[0])
        for paragraph in rng.sample(paragraphs, k=len(paragraphs)):
            if size >= len(report):
                break
            lines.append(paragraph)
            size += len(paragraph) + 1
        documents.append("\n".join(lines))
    return documents


def time_startup_in_process(runs: int = 5) -> float:
    """Median seconds to import and build the extractor and the script converter in a fresh interpreter."""
    code = (
        "import time; t = time.perf_counter();"
        "from services.analysis import Analyzer; Analyzer();"
        "print(time.perf_counter() - t)"
    )
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
        )
        times.append(float(out.stdout.strip()))
    return statistics.median(times)


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


@dataclass(frozen=True)
class ExtractionFigures:
    documents: int
    characters: int
    figures: int
    jieba_rate: float  # characters/s, one jieba.lcut pass, best round
    extract_rate: float  # characters/s, extraction in-process, best round, start-up excluded
    startup_in_process_s: float
    startup_small_file_s: float

    @property
    def ratio(self) -> float:
        return self.extract_rate / self.jieba_rate


def measure(documents_count: int = 200, rounds: int = 3) -> ExtractionFigures:
    """Extraction against one jieba.lcut pass on the same generated documents, then start-up."""
    import jieba

    from services.extract.extractor import Extractor
    from services.normalize.normalizer import ScriptConverter, normalize_text
    from services.normalize.sections import split_sections

    extractor, converter = Extractor(), ScriptConverter()
    documents = []
    for original in generated_documents(documents_count):
        normalized = normalize_text(original, converter)
        documents.append((original, normalized, split_sections(normalized.text)))
    characters = sum(len(original) for original, _, _ in documents)

    jieba.setLogLevel(60)
    jieba.initialize()
    jieba_times, extract_times, figures = [], [], 0
    for _ in range(rounds):
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

    return ExtractionFigures(
        documents=len(documents),
        characters=characters,
        figures=figures,
        jieba_rate=characters / min(jieba_times),
        extract_rate=characters / min(extract_times),
        startup_in_process_s=time_startup_in_process(),
        startup_small_file_s=time_small_file(),
    )


def report(result: ExtractionFigures) -> None:
    rows = [
        (
            "documents / characters / figures",
            f"{result.documents} / {result.characters:,} / {result.figures:,}",
        ),
        ("one jieba.lcut pass", f"{result.jieba_rate:,.0f} characters/s"),
        ("extraction, in-process", f"{result.extract_rate:,.0f} characters/s"),
        ("extraction / jieba.lcut", f"{result.ratio:.2f}"),
        ("start-up: import and build the extractor (median of 5)", f"{result.startup_in_process_s:.2f} s"),
        (
            "start-up: `wenming extract` of one small file",
            f"{result.startup_small_file_s:.2f} s (median of 5)",
        ),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    report(measure(args.documents, args.rounds))


if __name__ == "__main__":
    main()
