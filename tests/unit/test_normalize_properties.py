"""Whatever the text, the offset map stays strictly increasing, in bounds and faithful."""

from __future__ import annotations

import itertools
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.normalize.normalizer import ScriptConverter, normalize_text

# Characters that exercise every step: Traditional and Simplified hanzi, Chinese and ASCII punctuation,
# every kind of space and line break, full-width forms, pinyin and chrome words.
REPORT_ALPHABET = (
    "國區為眾創來網聞萬們裡後乾燥隆發髮國际区为众创来网闻万们里后干"
    "，。、；：！？“”（）《》…—,.;:!?()%<>|-_/@"
    "0123456789０１２３４５６７８９％．ＡＢＣａｂｃabcguóqūlǜ"
    " \u3000\xa0\t\n\r\u2028\u200b\ufeff"
)
REPORT_WORDS = (
    "首页 > 栏目 > 正文",
    "返回顶部",
    "小字号",
    "浏览次数: 12",
    "(guó)",
    "（qū）",
    "人民网>>频道>>新闻",
    "录入96位典",
)

converter = ScriptConverter()


def report_like() -> st.SearchStrategy[str]:
    pieces = st.one_of(st.text(alphabet=REPORT_ALPHABET, max_size=30), st.sampled_from(REPORT_WORDS))
    return st.lists(pieces, max_size=25).map("".join)


def check_offsets(original: str) -> None:
    normalized = normalize_text(original, converter)
    offsets = normalized.offsets

    assert len(offsets) == len(normalized.text)
    assert all(0 <= offset < len(original) for offset in offsets)
    assert all(a < b for a, b in itertools.pairwise(offsets))
    for char, offset in zip(normalized.text, offsets, strict=True):
        source = original[offset]
        assert (
            char == source
            or char == converter.to_simplified(source)
            or char == unicodedata.normalize("NFKC", source)
            or (char in " \n" and source.isspace())
            or (char == "\n" and source in "\x1c\x1d\x1e\x85")
            or "\u4e00" <= source <= "\u9fff"  # phrase conversion (乾燥 → 干燥)
        ), (char, source)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(report_like())
def test_offsets_hold_for_report_like_text(original: str) -> None:
    check_offsets(original)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_offsets_hold_for_arbitrary_text(original: str) -> None:
    check_offsets(original)


@pytest.mark.parametrize("original", ["", "\n", "\ud800國", "\x00\x01國", "國" * 3, "a\r\n\r\nb"])
def test_offsets_hold_for_edge_cases(original: str) -> None:
    check_offsets(original)
