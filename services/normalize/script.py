"""Traditional→Simplified conversion that keeps every character's origin."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass

from services.normalize.offsets import AlignedText, Edit

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_HAN_RUN = re.compile(HAN.pattern + "+")
# Share of Han characters that t2s changes: ~30% in Traditional reports, 0 in Simplified ones.
TRADITIONAL_SHARE = 0.05


@dataclass(frozen=True)
class Conversion:
    aligned: AlignedText
    han: int  # Han characters in the input
    changed: int  # of which t2s changed

    @property
    def traditional(self) -> bool:
        """Whether the input reads as Traditional Chinese."""
        return self.changed > 0 and self.changed >= TRADITIONAL_SHARE * self.han


def convert_aligned(aligned: AlignedText, convert: Callable[[str], str]) -> Conversion:
    """Convert the runs of Han characters with `convert`, mapping each output character to its source."""
    runs = list(_HAN_RUN.finditer(aligned.text))
    if not runs:
        return Conversion(aligned, 0, 0)
    # One call for the whole document: OpenCC's phrases never span a newline.
    converted = convert("\n".join(run.group() for run in runs)).split("\n")
    if len(converted) != len(runs):
        converted = [convert(run.group()) for run in runs]
    edits: list[Edit] = []
    changed = 0
    for run, simplified in zip(runs, converted, strict=True):
        source = run.group()
        if simplified == source:
            continue
        if len(simplified) == len(source):
            changed += sum(a != b for a, b in zip(source, simplified, strict=True))
            edits.append(Edit(run.start(), run.end(), simplified))
        else:
            replacement, picks = _align(source, simplified, convert)
            changed += sum(source[k] != ch for k, ch in zip(picks, replacement, strict=True))
            edits.append(Edit(run.start(), run.end(), replacement, picks))
    han = sum(run.end() - run.start() for run in runs)
    return Conversion(aligned.apply(edits), han, changed)


def _align(source: str, simplified: str, convert: Callable[[str], str]) -> tuple[str, list[int]]:
    """Align a phrase conversion that changed length; where it grew, convert character by character."""
    out: list[str] = []
    picks: list[int] = []
    matcher = difflib.SequenceMatcher(None, source, simplified, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "delete":
            continue
        if tag in ("equal", "replace") and j2 - j1 <= i2 - i1:
            out.append(simplified[j1:j2])
            picks.extend(range(i1, i1 + j2 - j1))
            continue
        # Growth cannot keep offsets strictly increasing: fall back to single characters.
        for k in range(i1, i2):
            single = convert(source[k])
            out.append(single if len(single) == 1 else source[k])
            picks.append(k)
    return "".join(out), picks
