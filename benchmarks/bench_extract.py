"""Print extraction speed on the seed reports (characters/s, documents/s). Not a test.

Usage: .venv/bin/python benchmarks/bench_extract.py [SEED_DIR] [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.extract.extractor import Extractor
from services.normalize.normalizer import ScriptConverter, normalize_text
from services.normalize.sections import split_sections


def _default_seeds() -> Path:
    shared = os.environ.get("WENMING_SHARED_DIR")
    base = Path(shared) if shared else Path(__file__).resolve().parents[2] / "shared"
    return base / "data" / "seeds"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("seeds", nargs="?", type=Path, default=_default_seeds())
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    started = time.perf_counter()
    extractor = Extractor()
    converter = ScriptConverter()
    startup = time.perf_counter() - started

    documents = []
    for path in sorted(args.seeds.glob("*.txt")):
        original = path.read_text(encoding="utf-8")
        normalized = normalize_text(original, converter)
        documents.append((original, normalized, split_sections(normalized.text)))
    chars = sum(len(original) for original, _, _ in documents)

    figures = 0
    started = time.perf_counter()
    for _ in range(args.rounds):
        for original, normalized, sections in documents:
            _, metrics = extractor.extract(
                normalized.text, original=original, offsets=normalized.offsets, sections=sections
            )
            figures += len(metrics)
    elapsed = time.perf_counter() - started
    n_docs = len(documents) * args.rounds
    print(f"start-up (jieba, catalog, gazetteer, OpenCC): {startup:.2f} s")
    print(f"{n_docs} documents, {chars * args.rounds} characters, {figures} figures in {elapsed:.2f} s")
    print(f"{chars * args.rounds / elapsed:,.0f} characters/s, {n_docs / elapsed:.1f} documents/s")


if __name__ == "__main__":
    main()
