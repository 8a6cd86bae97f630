"""Where each character of a normalized text came from in the original, kept as runs of equal shift.

Normalization mostly deletes (indentation, chrome lines, line breaks inside sentences) and
substitutes one character for one, so the distance between a character's place in the normalized
text and its place in the original changes only at a few points. A run starting at text position
`start` with `shift` maps every position up to the next run's start to `position + shift`: one
pair per change instead of one integer per character (a 5-million-character report has tens of
thousands of runs, not 5 million offsets).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Sequence
from typing import overload

OffsetRun = tuple[int, int]  # (first position in the normalized text, shift to the original)


class OffsetMap(Sequence[int]):
    """offsets[i] is the index in the original of text[i], for a text of `length` characters."""

    __slots__ = ("_length", "_shifts", "_starts")

    def __init__(self, runs: Iterable[OffsetRun], length: int) -> None:
        starts: list[int] = []
        shifts: list[int] = []
        for start, shift in runs:
            if starts and start <= starts[-1]:
                raise ValueError(f"offset runs out of order at {start}")
            starts.append(start)
            shifts.append(shift)
        if length < 0 or (length and (not starts or starts[0] != 0 or starts[-1] >= length)):
            raise ValueError(f"offset runs do not cover a text of {length} characters")
        self._starts = starts if length else []
        self._shifts = shifts if length else []
        self._length = length

    @classmethod
    def identity(cls, length: int) -> OffsetMap:
        """Every character at its own index: the map of an original to itself."""
        return cls([(0, 0)] if length else [], length)

    @classmethod
    def from_offsets(cls, offsets: Sequence[int]) -> OffsetMap:
        """The runs of a per-character map (schema 1 messages carried one integer per character)."""
        builder = OffsetMapBuilder()
        for offset in offsets:
            builder.add(offset, 1)
        return builder.build()

    def runs(self) -> tuple[OffsetRun, ...]:
        """(start, shift) pairs, starts increasing from 0."""
        return tuple(zip(self._starts, self._shifts, strict=True))

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> int: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[int, ...]: ...
    def __getitem__(self, index: int | slice) -> int | tuple[int, ...]:
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(self._length)))
        if index < 0:
            index += self._length
        if not 0 <= index < self._length:
            raise IndexError("offset map index out of range")
        return index + self._shifts[bisect.bisect_right(self._starts, index) - 1]

    def __iter__(self) -> Iterator[int]:
        bounds = [*self._starts[1:], self._length] if self._starts else []
        for start, end, shift in zip(self._starts, bounds, self._shifts, strict=True):
            yield from range(start + shift, end + shift)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, OffsetMap):
            return self._length == other._length and self.runs() == other.runs()
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self._length, self.runs()))

    def __repr__(self) -> str:
        return f"OffsetMap({list(self.runs())!r}, length={self._length})"


class OffsetMapBuilder:
    """Builds a map left to right from spans of consecutive original positions, merging equal shifts."""

    __slots__ = ("_length", "_shifts", "_starts")

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._shifts: list[int] = []
        self._length = 0

    def add(self, original_start: int, count: int) -> None:
        """The next `count` characters come from original_start, original_start + 1, …"""
        if count <= 0:
            return
        shift = original_start - self._length
        if not self._shifts or self._shifts[-1] != shift:
            self._starts.append(self._length)
            self._shifts.append(shift)
        self._length += count

    def add_slice(self, source: OffsetMap, start: int, end: int) -> None:
        """The next characters map as source[start:end] does."""
        end = min(end, source._length)
        if end <= start:
            return
        starts, shifts = source._starts, source._shifts
        run = bisect.bisect_right(starts, start) - 1
        position = start
        while position < end:
            run_end = starts[run + 1] if run + 1 < len(starts) else source._length
            stop = min(run_end, end)
            self.add(position + shifts[run], stop - position)
            position = stop
            run += 1

    def build(self) -> OffsetMap:
        return OffsetMap(zip(self._starts, self._shifts, strict=True), self._length)
