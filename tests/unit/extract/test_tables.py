"""Tables rendered as text (tables.py): cells split by tabs, runs of spaces or '|', bare numbers given their
unit by a unit column, a bracketed unit in the header or the row label, and signed changes."""

from __future__ import annotations

import pytest

from services.extract.meaning import figure_changes
from services.extract.page import read_page, spot_figures
from services.extract.sentences import is_table_row
from shared.contracts import Change

_HEAD = "主要指标完成情况\n\n"


def cells(text: str) -> list[tuple[str, float, str, str, Change | None]]:
    """(surface, value, unit kind, measure word, change) of every figure the reading pass finds."""
    spotted = spot_figures(read_page(_HEAD + text))
    return [
        (spot.sentence.compact[f.start : f.end], f.value, f.unit_kind, f.measure_word, change)
        for spot, row in zip(spotted, figure_changes(spotted), strict=True)
        for f, change in zip(spot.figures, row, strict=True)
    ]


def test_table_rows() -> None:
    assert is_table_row("指标 | 2022年 | 2023年") and not is_table_row("甲|乙")


@pytest.mark.parametrize(
    "text",
    [
        "指标\t单位\t完成值\n注册志愿者\t万名\t12.5\n新增停车位\t个\t3000\n",
        "指标  单位  完成值\n注册志愿者  万名  12.5\n新增停车位  个  3000\n",
        "指标 | 单位 | 完成值\n注册志愿者 | 万名 | 12.5\n新增停车位 | 个 | 3000\n",
        # Normalizing may have closed the tabs to single spaces.
        "指标 单位 完成值\n注册志愿者 万名 12.5\n新增停车位 个 3000\n",
    ],
)
def test_a_unit_column_gives_bare_numbers_their_unit(text: str) -> None:
    assert cells(text) == [
        ("12.5", 125_000, "person", "名", None),
        ("3000", 3000, "count", "个", None),
    ]


def test_a_numbering_column_is_not_a_value() -> None:
    text = "序号\t指标\t单位\t完成值\n1\t新建口袋公园\t个\t40\n2\t新增停车位\t个\t3000\n"
    assert [(surface, value) for surface, value, *_ in cells(text)] == [("40", 40), ("3000", 3000)]


def test_a_bracketed_unit_in_the_header_gives_its_column_the_unit() -> None:
    text = "指标\t完成值（万名）\t目标值（万名）\n注册志愿者\t12.5\t10\n"
    assert cells(text) == [
        ("12.5", 125_000, "person", "名", None),
        ("10", 100_000, "person", "名", None),
    ]


def test_a_bracketed_unit_in_the_row_label_gives_the_row_the_unit() -> None:
    text = "指标\t2022年\t2023年\n注册志愿者（万人）\t10.5\t12.5\n"
    assert [(surface, value, kind) for surface, value, kind, *_ in cells(text)] == [
        ("10.5", 105_000, "person"),
        ("12.5", 125_000, "person"),
    ]


def test_bare_numbers_with_no_unit_anywhere_are_no_figures() -> None:
    assert cells("指标\t2022年\t2023年\n口袋公园\t40\t52\n") == []


def test_cells_that_carry_their_own_units_are_read_as_written() -> None:
    text = "指标\t完成值\t增幅\n城镇居民人均可支配收入\t52000元\t+7.8%\n空气质量优良率\t91.3%\t-2.1%\n"
    assert cells(text) == [
        ("52000元", 52_000, "money_cny", "元", None),
        ("7.8%", 7.8, "percent", "%", "increase"),
        ("91.3%", 91.3, "percent", "%", None),
        ("2.1%", 2.1, "percent", "%", "decrease"),
    ]


def test_a_signed_bare_number_in_a_unit_table_is_a_change() -> None:
    text = "指标\t单位\t完成值\t同比\n公共厕所\t座\t120\t-3\n注册志愿者\t万名\t12.5\t+0.8\n"
    assert cells(text) == [
        ("120", 120, "count", "座", None),
        ("3", 3, "count", "座", "decrease"),
        ("12.5", 125_000, "person", "名", None),
        ("0.8", 8000, "person", "名", "increase"),
    ]


def test_a_prose_line_with_spaces_is_no_table() -> None:
    assert cells("全市 新建 口袋公园 40个，增长 10%。\n") == [
        ("40个", 40, "count", "个", None),
        ("10%", 10, "percent", "%", "increase"),
    ]


def test_a_unit_column_under_a_header_of_years() -> None:
    text = "指标\t单位\t2022年\t2023年\n注册志愿者\t万名\t10.5\t12.5\n"
    assert [(surface, value) for surface, value, *_ in cells(text)] == [("10.5", 105_000), ("12.5", 125_000)]


def test_a_list_item_with_a_spaced_number_keeps_its_figure() -> None:
    assert [surface for surface, *_ in cells("● 城市书房 130 家\n● 注册志愿者 12.5 万名\n")] == [
        "130家",
        "12.5万名",
    ]
