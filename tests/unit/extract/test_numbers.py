"""Numeral parsing: Arabic, full-width, Chinese and mixed forms."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.extract.numbers import parse_arabic, parse_chinese, parse_number
from shared.text import fold_width

_DIGITS = "零一二三四五六七八九"


def _section(k: int) -> str:
    out, zero = "", False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = k // value % 10
        if digit == 0:
            zero = bool(out)
            continue
        if zero:
            out, zero = out + "零", False
        out += _DIGITS[digit] + unit
    return out


def to_chinese(n: int) -> str:
    """Write a non-negative integer below 10^12 the way reports do (一千零五, 十万, 三亿零五万)."""
    if n == 0:
        return "零"
    out, gap = "", False
    for group, unit in ((n // 10**8, "亿"), (n // 10**4 % 10**4, "万"), (n % 10**4, "")):
        if group == 0:
            gap = bool(out)
            continue
        if out and (gap or group < 1000):
            out += "零"
        gap = False
        out += _section(group) + unit
    return out[1:] if out.startswith("一十") else out


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("42", 42),
        ("1,234", 1234),
        ("12,345,678.5", 12345678.5),
        ("１２３", 123),
        ("１．５", 1.5),
        ("0.5", 0.5),
        ("1.2万", 12_000),
        ("3万", 30_000),
        ("2.33亿", 233_000_000),
        ("3千万", 30_000_000),
        ("千", 1000),
        ("万", 10_000),
        ("十", 10),
        ("十万", 100_000),
        ("两万", 20_000),
        ("一千二百", 1200),
        ("一百零五", 105),
        ("二十四", 24),
        ("十二万三千", 123_000),
        ("一亿二千万", 120_000_000),
        ("八十五点二", 85.2),
        ("百分之八十五点二", 85.2),
        ("百分之12.5", 12.5),
        ("零点五", 0.5),
    ],
)
def test_parse_number(text: str, value: float) -> None:
    assert parse_number(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["", "abc", "几十", "1.2.3", "十余", "5G"])
def test_parse_number_refuses_non_numerals(text: str) -> None:
    assert parse_number(text) is None


def test_fold_width_keeps_length() -> None:
    text = "约３５００平方米，占比８５．２％"
    assert len(fold_width(text)) == len(text)
    assert fold_width(text) == "约3500平方米，占比85.2%"  # Chinese punctuation stays


@given(st.integers(min_value=0, max_value=999_999_999_999))
def test_chinese_numerals_round_trip(n: int) -> None:
    assert parse_chinese(to_chinese(n)) == n


@given(st.integers(min_value=0, max_value=10**9))
def test_arabic_with_thousands_separators_round_trip(n: int) -> None:
    assert parse_arabic(f"{n:,}") == n


@given(st.integers(min_value=0, max_value=10**6))
def test_full_width_digits_round_trip(n: int) -> None:
    full = str(n).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert parse_number(full) == n


@given(st.integers(min_value=1, max_value=9999), st.sampled_from([("万", 10_000), ("亿", 100_000_000)]))
def test_arabic_with_multiplier(n: int, multiplier: tuple[str, int]) -> None:
    word, scale = multiplier
    assert parse_number(f"{n / 10}{word}") == pytest.approx(n / 10 * scale)


@given(st.integers(min_value=11, max_value=99_999_999), st.sampled_from(["个", "名", "场", "座"]))
def test_chinese_quantities_in_a_sentence_round_trip(n: int, measure_word: str) -> None:
    from services.extract.figures import find_figures

    (figure,) = find_figures(f"全市建成{to_chinese(n)}{measure_word}，成效明显。")
    assert figure.value == n
    assert figure.measure_word == measure_word


@given(st.integers(min_value=1, max_value=99_999), st.integers(min_value=0, max_value=9))
def test_arabic_ten_thousands_in_a_sentence_round_trip(whole: int, tenth: int) -> None:
    from services.extract.figures import find_figures

    (figure,) = find_figures(f"注册志愿者{whole}.{tenth}万人。")
    assert figure.value == pytest.approx((whole + tenth / 10) * 10_000)
    assert figure.unit_kind == "person"
