"""Many phrases found in a text in one pass: an Aho-Corasick automaton (the Rust `aho-corasick` crate)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Generic, TypeVar

import ahocorasick_rs

ValueT = TypeVar("ValueT")


class PhraseIndex(Generic[ValueT]):
    """Phrases, each with the values given for it; `find_all` and `find_longest` give (start, end, values)
    for occurrences in a text, in characters."""

    def __init__(self, entries: Iterable[tuple[str, ValueT]]) -> None:
        values: dict[str, list[ValueT]] = {}
        for phrase, value in entries:
            if phrase:  # an empty phrase would be found everywhere
                values.setdefault(phrase, []).append(value)
        self._values = [tuple(found) for found in values.values()]
        self._phrases = list(values)
        # Each index is asked one way only: its automaton is built when first asked, not both at start.
        self._overlapping: ahocorasick_rs.AhoCorasick | None = None
        self._longest: ahocorasick_rs.AhoCorasick | None = None

    def find_all(self, text: str) -> list[tuple[int, int, tuple[ValueT, ...]]]:
        """Every occurrence of every phrase, overlapping ones included."""
        if not self._phrases:
            return []
        if self._overlapping is None:
            self._overlapping = ahocorasick_rs.AhoCorasick(self._phrases)
        values = self._values
        return [
            (start, end, values[index])
            for index, start, end in self._overlapping.find_matches_as_indexes(text, overlapping=True)
        ]

    def find_longest(self, text: str) -> list[tuple[int, int, tuple[ValueT, ...]]]:
        """Occurrences that do not overlap, from the left, the longest phrase where several start together."""
        if not self._phrases:
            return []
        if self._longest is None:
            self._longest = ahocorasick_rs.AhoCorasick(
                self._phrases, matchkind=ahocorasick_rs.MatchKind.LeftmostLongest
            )
        values = self._values
        matches = self._longest.find_matches_as_indexes(text)
        return [(start, end, values[index]) for index, start, end in matches]
