"""Clean text and convert Traditional to Simplified, keeping a map back to the original."""

from __future__ import annotations

from dataclasses import dataclass

import opencc

from services.normalize.cleaning import (
    collapse_whitespace,
    drop_chrome,
    drop_pinyin_glosses,
    fold_width,
    rejoin_broken_lines,
    unify_line_breaks,
)
from services.normalize.offsets import AlignedText
from services.normalize.script import convert_aligned
from shared.contracts import Script
from shared.offsets import OffsetMap


@dataclass(frozen=True)
class NormalizedText:
    text: str
    offsets: OffsetMap  # offsets[i] is the index in the original of text[i]
    script: Script


class ScriptConverter:
    """Traditional→Simplified conversion; built once per process (loading OpenCC is not free)."""

    def __init__(self) -> None:
        self._t2s = opencc.OpenCC("t2s")

    def to_simplified(self, text: str) -> str:
        """The Simplified form of `text`, phrase by phrase (may change its length)."""
        return str(self._t2s.convert(text))


def normalize_text(original: str, converter: ScriptConverter) -> NormalizedText:
    """Return clean Simplified text whose every character maps back into `original`.

    Lines stay lines (headlines, paragraphs), separated by a single \\n; only lines broken inside
    a sentence are joined.
    """
    aligned = fold_width(unify_line_breaks(AlignedText.of(original)))
    conversion = convert_aligned(aligned, converter.to_simplified)
    # Simplified from here on, so chrome patterns are written once.
    aligned = collapse_whitespace(drop_pinyin_glosses(conversion.aligned))
    # Chrome again after rejoining: a footer wrapped across lines (PDF) is whole only now.
    aligned = drop_chrome(rejoin_broken_lines(drop_chrome(aligned, spare_wrapped=True)))
    script: Script = "traditional" if conversion.traditional else "simplified"
    return NormalizedText(text=aligned.text, offsets=aligned.offsets, script=script)
