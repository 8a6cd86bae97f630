"""Guess the text encoding of Chinese documents: UTF-8/16/32, GB18030 (GBK, GB2312) and Big5."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from functools import cache

import charset_normalizer

# Longest BOM first: the UTF-32 LE BOM starts with the UTF-16 LE one.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# GB2312 and GBK are subsets of GB18030; cp950 is Big5 with the Microsoft extensions.
_CJK_CANDIDATES = ("gb18030", "big5", "cp950")
_CANONICAL = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "cp936": "gb18030",
    "x-gbk": "gb18030",
    "big5-tw": "big5",
}
_TOLERATED_UTF8_ERRORS = 3
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_CJK_PUNCTUATION = re.compile(
    r"[\u00b7\u2010-\u2027\u2460-\u24ff\u25a0-\u25ff\u2776-\u2793\u3000-\u303f\uff01-\uff65]"
)


class UndecodableText(ValueError):
    """No known encoding decodes the bytes; str(exc) is the reason."""


@dataclass(frozen=True)
class DecodedText:
    text: str
    encoding: str


def decode_text(raw: bytes, *, declared: str | None = None) -> DecodedText:
    """Decode bytes as text: BOM, then the declared charset, then strict UTF-8, then GB18030 or Big5."""
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            try:
                return DecodedText(raw[len(bom) :].decode(encoding.removesuffix("-sig")), encoding)
            except UnicodeDecodeError as exc:
                raise UndecodableText(
                    f"{encoding} byte-order mark but invalid {encoding}: {exc.reason}"
                ) from exc
    if b"\x00" in raw:
        raise UndecodableText("binary content (NUL bytes) and no UTF-16/32 byte-order mark")
    if declared and (declared_encoding := canonical_encoding(declared)):
        # Declarations lie often enough (gb2312 declared, GBK used; latin-1 on a GBK page): a
        # declared charset only counts when it decodes cleanly to Chinese.
        try:
            text = raw.decode(declared_encoding)
        except UnicodeDecodeError:
            text = ""
        if _HAN.search(text):
            return DecodedText(text, declared_encoding)
    decodings = {}
    try:
        utf8 = raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        # Two or three GB characters can form valid UTF-8 by chance ("实施" → "ʵʩ"); longer text cannot.
        if utf8.isascii() or _HAN.search(utf8) or _CJK_PUNCTUATION.search(utf8):
            return DecodedText(utf8, "utf-8")
        decodings["utf-8"] = utf8
    for encoding in _CJK_CANDIDATES:
        try:
            decodings[encoding] = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "big5":
            break  # cp950 only matters when strict Big5 fails
    if decodings:
        encoding = max(decodings, key=lambda name: _plausibility(decodings[name]))
        return DecodedText(decodings[encoding], encoding)
    # A scraped UTF-8 page often ends in a cut character or carries a stray byte: keep the report.
    repaired = raw.decode("utf-8", errors="replace")
    if repaired.count("\ufffd") <= max(_TOLERATED_UTF8_ERRORS, len(raw) // 1000) and _HAN.search(repaired):
        return DecodedText(repaired, "utf-8")
    best = charset_normalizer.from_bytes(raw).best()
    if best is None:
        raise UndecodableText("not text in any known encoding (tried UTF-8, GB18030, Big5)")
    return DecodedText(str(best), best.encoding)


def canonical_encoding(name: str) -> str | None:
    """Python's codec name for a declared charset (GBK and GB2312 widened to GB18030), or None."""
    try:
        codec = codecs.lookup(name.strip().lower()).name
    except LookupError:
        return None
    return _CANONICAL.get(codec, codec)


def _plausibility(text: str) -> float:
    """Share of non-ASCII characters that are common hanzi or CJK punctuation.

    Decoding GB bytes as Big5 or the reverse yields rare characters, kana, symbols and private-use points.
    """
    foreign = [ch for ch in text if ord(ch) > 0x7F]
    if not foreign:
        return 0.0
    common = _common_han()
    return sum(ch in common or bool(_CJK_PUNCTUATION.match(ch)) for ch in foreign) / len(foreign)


@cache
def _common_han() -> frozenset[str]:
    """GB2312's 6,763 hanzi plus Big5's 5,401 frequent characters."""
    chars: set[str] = set()
    for lead in range(0xB0, 0xF8):
        for trail in range(0xA1, 0xFF):
            try:
                chars.add(bytes((lead, trail)).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    for lead in range(0xA4, 0xC7):
        # The frequent block ends at C67E; Python's Big5 puts kana right after it.
        for trail in (*range(0x40, 0x7F), *(range(0xA1, 0xFF) if lead < 0xC6 else ())):
            try:
                chars.add(bytes((lead, trail)).decode("big5"))
            except UnicodeDecodeError:
                continue
    return frozenset(ch for ch in chars if _HAN.match(ch))
