"""Words for Chinese full-text search: Postgres has no Chinese parser, so the store segments."""

from __future__ import annotations

import re

import jieba

_WORD = re.compile(r"\w", re.UNICODE)


class SearchSegmenter:
    """jieba in search mode (short and long words both indexed); build once per process."""

    def __init__(self) -> None:
        self._tokenizer = jieba.Tokenizer()
        self._tokenizer.initialize()

    def tokens(self, text: str) -> str:
        """Space-separated words of `text`, punctuation dropped."""
        return " ".join(w for w in self._tokenizer.cut_for_search(text) if _WORD.search(w))
