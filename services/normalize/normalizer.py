"""Clean text and convert Traditional to Simplified, keeping a map back to the original."""

from __future__ import annotations

from dataclasses import dataclass

import opencc

from shared.contracts import Script


@dataclass(frozen=True)
class NormalizedText:
    text: str
    offsets: tuple[int, ...]  # offsets[i] is the index in the original of text[i]
    script: Script


class ScriptConverter:
    """Traditional→Simplified conversion; built once per process (loading OpenCC is not free)."""

    def __init__(self) -> None:
        self._t2s = opencc.OpenCC("t2s")

    def to_simplified(self, text: str) -> str:
        return str(self._t2s.convert(text))


def normalize_text(original: str, converter: ScriptConverter) -> NormalizedText:
    """Return clean Simplified text whose every character maps back into `original`."""
    simplified = converter.to_simplified(original)
    script: Script = "traditional" if simplified != original else "simplified"
    if len(simplified) != len(original):
        raise NotImplementedError("length-changing conversion")
    return NormalizedText(text=simplified, offsets=tuple(range(len(original))), script=script)
