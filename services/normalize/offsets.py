"""Text that remembers, for each character, where it came from in the original document."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from shared.offsets import OffsetMap, OffsetMapBuilder


@dataclass(frozen=True)
class Edit:
    """Replace text[start:end] by `replacement`, never longer than the span.

    `picks[k]` is the position inside the span whose origin replacement[k] inherits; by default the
    first len(replacement) positions. Picks must be strictly increasing, so origins stay in order.
    """

    start: int
    end: int
    replacement: str = ""
    picks: Sequence[int] | None = None


@dataclass(frozen=True)
class AlignedText:
    text: str
    offsets: OffsetMap  # offsets[i] is the index in the original of text[i], as runs of equal shift

    @classmethod
    def of(cls, original: str) -> AlignedText:
        """The original itself, every character mapped to its own index."""
        return cls(original, OffsetMap.identity(len(original)))

    def apply(self, edits: Iterable[Edit]) -> AlignedText:
        """Apply non-overlapping edits (in any order); untouched characters keep their origin."""
        pieces: list[str] = []
        offsets = OffsetMapBuilder()
        cursor = 0
        for edit in sorted(edits, key=lambda e: e.start):
            if edit.start < cursor or edit.end < edit.start:
                raise ValueError(f"overlapping or inverted edit at {edit.start}")
            span = edit.end - edit.start
            picks = range(len(edit.replacement)) if edit.picks is None else edit.picks
            if len(picks) != len(edit.replacement) or len(edit.replacement) > span:
                raise ValueError(f"replacement longer than its span at {edit.start}")
            pieces.append(self.text[cursor : edit.start])
            offsets.add_slice(self.offsets, cursor, edit.start)
            pieces.append(edit.replacement)
            if edit.picks is None:
                offsets.add_slice(self.offsets, edit.start, edit.start + len(edit.replacement))
            else:
                for k in picks:
                    offsets.add(self.offsets[edit.start + k], 1)
            cursor = edit.end
        if cursor == 0 and not pieces:
            return self
        pieces.append(self.text[cursor:])
        offsets.add_slice(self.offsets, cursor, len(self.text))
        return AlignedText("".join(pieces), offsets.build())

    def sub(self, pattern: re.Pattern[str], replace: str | Callable[[re.Match[str]], str]) -> AlignedText:
        """Like pattern.sub, for replacements no longer than what they replace."""
        edits = []
        for match in pattern.finditer(self.text):
            replacement = replace if isinstance(replace, str) else replace(match)
            if replacement != match.group():
                edits.append(Edit(match.start(), match.end(), replacement))
        return self.apply(edits)

    def translate(self, table: dict[int, str]) -> AlignedText:
        """Map characters one to one (the table's values are single characters)."""
        return AlignedText(self.text.translate(table), self.offsets)
