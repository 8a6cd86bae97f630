"""Index terms for Chinese full-text search."""

from __future__ import annotations

from services.store.search import search_terms


def test_han_runs_become_overlapping_bigrams() -> None:
    assert search_terms("实践站") == "实践 践站"


def test_other_words_stay_whole_and_punctuation_splits_runs() -> None:
    assert search_terms("建成5G基站，共438个") == "建成 5g 基站 共 438 个"


def test_every_substring_of_two_han_characters_is_indexed() -> None:
    text = "新时代文明实践中心"
    terms = set(search_terms(text).split())
    assert all(text[i : i + 2] in terms for i in range(len(text) - 1))
