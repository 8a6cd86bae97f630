"""Numeral parsing: Arabic (half- and full-width), Chinese, and mixed forms with 万/亿 multipliers."""

from __future__ import annotations

import re
from functools import lru_cache

from shared.text import CHINESE_NUMERAL_CHARS, fold_width

_DIGIT_VALUE = {ch: i for i, ch in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
_SMALL_UNIT = {"十": 10, "百": 100, "千": 1000}
_BIG_UNIT = {"万": 10_000, "亿": 100_000_000}
SCALE = {"十": 10.0, "百": 100.0, "千": 1e3, "万": 1e4, "亿": 1e8, "百万": 1e6, "千万": 1e7, "万亿": 1e12}

_ARABIC = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$|^\d+(?:\.\d+)?$")


def parse_arabic(text: str) -> float | None:
    """Parse '1,234.5' or '１２３' into a float; None if it is not a plain Arabic number."""
    folded = fold_width(text.strip())
    if not _ARABIC.match(folded):
        return None
    return float(folded.replace(",", ""))


def _parse_chinese_integer(text: str) -> int | None:
    """Own fallback for integers like '一千二百', '十', '两万三千', '二〇二三' (digit-by-digit)."""
    if not text:
        return None
    if all(ch in _DIGIT_VALUE for ch in text):
        return int("".join(str(_DIGIT_VALUE[ch]) for ch in text)) if len(text) > 1 else _DIGIT_VALUE[text]
    total, section, digit = 0, 0, None
    for ch in text:
        if ch in _DIGIT_VALUE:
            digit = _DIGIT_VALUE[ch]
        elif ch in _SMALL_UNIT:
            section += (1 if digit is None else digit) * _SMALL_UNIT[ch]
            digit = None
        elif ch in _BIG_UNIT:
            section += digit or 0
            if section == 0:
                section = 1
            total = (total + section) * _BIG_UNIT[ch] if ch == "亿" else total + section * _BIG_UNIT[ch]
            section, digit = 0, None
        else:
            return None
    return total + section + (digit or 0)


@lru_cache(maxsize=4096)  # the same few numerals ('两', '十', '三千') recur on every page
def parse_chinese(text: str) -> float | None:
    """Parse a Chinese numeral ('一千二百', '十万', '八十五点二', '千') into a float; None if malformed."""
    text = text.strip()
    if not text or any(ch not in CHINESE_NUMERAL_CHARS + "点" for ch in text):
        return None
    if text[0] in _SMALL_UNIT or text[0] in _BIG_UNIT:
        # A bare unit ('千余次', '超万名') means one of it; cn2an refuses it.
        text = ("十" if text[0] == "十" else "一" + text[0]) + text[1:]
    import cn2an  # slow to import (a tenth of a second), and most figures are written in digits

    try:
        value = float(cn2an.cn2an(text, "strict"))
    except (ValueError, KeyError, TypeError, IndexError):
        if "点" in text:
            return None
        integer = _parse_chinese_integer(text)
        return None if integer is None else float(integer)
    return value


def parse_number(text: str) -> float | None:
    """Parse any numeral: Arabic, Chinese, or Arabic with a Chinese multiplier ('1.2万', '3千万')."""
    text = fold_width(text.strip())
    if not text:
        return None
    if text.startswith("百分之"):
        return parse_number(text[3:])
    arabic = parse_arabic(text)
    if arabic is not None:
        return arabic
    head = re.match(r"^(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)([十百千万亿]+)$", text)
    if head:
        scale = SCALE.get(head.group(2))
        if scale is None:
            return None
        return float(head.group(1).replace(",", "")) * scale
    return parse_chinese(text)
