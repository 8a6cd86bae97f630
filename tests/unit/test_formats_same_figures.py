"""`wenming extract` finds the same figures whatever the encoding or format a report arrives in."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from services.analysis import Analyzer
from tests.unit.test_readers_formats import SEEDS, text_pdf, web_page, word_document

Figure = tuple[float, str, str, str | None, str | None, int | None]


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer()


def _figures(analyzer: Analyzer, raw: bytes, name: str) -> Counter[Figure]:
    analysis = analyzer.analyse_bytes(raw, name)
    return Counter((m.value, m.unit_kind, m.qualifier, m.indicator, m.city, m.year) for m in analysis.metrics)


@pytest.fixture(params=SEEDS, ids=[path.name[:3] for path in SEEDS])
def seed(request: pytest.FixtureRequest) -> Path:
    return Path(request.param)


def _variants(seed: Path) -> dict[str, tuple[bytes, str]]:
    text = seed.read_text(encoding="utf-8")
    variants = {
        "gb18030": (text.encode("gb18030"), seed.name),
        "utf-16": (text.encode("utf-16"), seed.name),
        "html": (web_page(text), seed.with_suffix(".html").name),
        "docx": (word_document(text), seed.with_suffix(".docx").name),
    }
    if seed.name.startswith("000_"):  # the Traditional seed
        variants["big5"] = (text.encode("big5"), seed.name)
    return variants


def test_encodings_html_and_word_give_the_same_figures(analyzer: Analyzer, seed: Path) -> None:
    expected = _figures(analyzer, seed.read_bytes(), seed.name)
    assert expected
    for variant, (raw, name) in _variants(seed).items():
        assert _figures(analyzer, raw, name) == expected, variant


def test_text_pdf_gives_the_same_figures(analyzer: Analyzer, seed: Path) -> None:
    expected = _figures(analyzer, seed.read_bytes(), seed.name)
    assert (
        _figures(analyzer, text_pdf(seed.read_text(encoding="utf-8")), seed.with_suffix(".pdf").name)
        == expected
    )


def test_offsets_point_into_each_variants_own_text(analyzer: Analyzer, seed: Path) -> None:
    for raw, name in _variants(seed).values():
        analysis = analyzer.analyse_bytes(raw, name)
        assert all(analysis.original[m.start : m.end] == m.surface for m in analysis.metrics), name
