"""Index terms and passages for Chinese full-text search."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from services.store.search import WINDOW_OVERLAP, search_terms, split_passages


def test_han_runs_become_overlapping_bigrams() -> None:
    assert search_terms("实践站") == "实践 践站"


def test_other_words_stay_whole_and_punctuation_splits_runs() -> None:
    assert search_terms("建成5G基站，共438个") == "建成 5g 基站 共 438 个"


def test_every_substring_of_two_han_characters_is_indexed() -> None:
    text = "新时代文明实践中心"
    terms = set(search_terms(text).split())
    assert all(text[i : i + 2] in terms for i in range(len(text) - 1))


def test_lines_are_packed_into_passages_and_long_lines_windowed() -> None:
    long_line = "文明实践" * 30 + "\n"
    text = "第一段文字。\n第二段文字。\n" + long_line
    passages = split_passages(text, max_chars=50)
    assert passages[0].text == "第一段文字。\n第二段文字。\n"
    assert all(len(p.text) <= 50 for p in passages)
    assert all(text[p.start : p.start + len(p.text)] == p.text for p in passages)
    windows = passages[1:]
    assert all(b.start - a.start == 50 - WINDOW_OVERLAP for a, b in itertools.pairwise(windows))


@given(
    st.text(alphabet="文明城市创建志愿者。\n", max_size=3000),
    st.integers(min_value=WINDOW_OVERLAP * 2, max_value=500),
)
def test_passages_cover_the_text_within_their_size(text: str, max_chars: int) -> None:
    passages = split_passages(text, max_chars=max_chars)
    assert all(len(p.text) <= max_chars for p in passages)
    assert all(text[p.start : p.start + len(p.text)] == p.text for p in passages)
    covered = set()
    for p in passages:
        covered.update(range(p.start, p.start + len(p.text)))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())
