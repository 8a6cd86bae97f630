"""Characters the whole project agrees on: how full-width forms fold, and which characters write numerals."""

from __future__ import annotations

import re
import unicodedata

# Full-width digits, Latin letters, ％, ． and － fold to their half-width forms, one character for one,
# so that offsets into a folded text still index the original. Chinese punctuation (，：；) stays.
HALF_WIDTH: dict[int, str] = {
    cp: unicodedata.normalize("NFKC", chr(cp))
    for cp in (*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B), 0xFF05, 0xFF0E, 0xFF0D)
}

# Chinese numerals: the digits (两 and 〇 included) and the units that scale them.
CHINESE_DIGITS = "零〇一二两三四五六七八九"
CHINESE_UNITS = "十百千万亿"
CHINESE_NUMERAL_CHARS = CHINESE_DIGITS + CHINESE_UNITS
# The numerals that number headings and list items ('一、', '（三）', '十二是').
ORDINAL_NUMERALS = "一二三四五六七八九十"


_FULL_WIDTH = re.compile("[" + "".join(chr(cp) for cp in HALF_WIDTH) + "]")


def fold_width(text: str) -> str:
    """`text` with full-width digits, letters and signs in half width (same length)."""
    # Normalized text is folded already: a scan by the regex engine costs far less than a translation.
    return text.translate(HALF_WIDTH) if _FULL_WIDTH.search(text) else text
