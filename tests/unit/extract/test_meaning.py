"""The meaning pass (meaning.py): whether a figure is the size of a change (增加了20元, 同比下降18%) and
which way, or a level (上升至91.3%, 增加到500元) or a count of things (新增停车位, 整治提升50个)."""

from __future__ import annotations

import pytest

from services.extract.figures import find_figures
from services.extract.meaning import figure_changes, sentence_changes
from services.extract.page import read_page, spot_figures
from shared.contracts import Change


def changes(compact: str) -> list[tuple[str, Change | None]]:
    figures = find_figures(compact)
    return [
        (compact[f.start : f.end], c)
        for f, c in zip(figures, sentence_changes(compact, figures), strict=True)
    ]


@pytest.mark.parametrize(
    ("text", "surface", "change"),
    [
        ("全市刑事案件发案率同比下降18%", "18%", "decrease"),
        ("城市低保标准每月增加了20元", "20元", "increase"),
        ("投诉量同比减少15%", "15%", "decrease"),
        ("垃圾产生量减少了300吨", "300吨", "decrease"),
        ("注册志愿者净增1200人", "1200人", "increase"),
        ("游客人数同比增5%", "5%", "increase"),
        ("参与人数比上年多15人", "15人", "increase"),
    ],
)
def test_a_change_verb_before_the_figure_gives_its_direction(text: str, surface: str, change: Change) -> None:
    assert changes(text) == [(surface, change)]


@pytest.mark.parametrize(
    ("text", "surface", "change"),
    [
        ("群众满意率提高0.6个百分点", "0.6个百分点", "increase"),
        ("满意率较上年提高2个百分点", "2个百分点", "increase"),
        ("事故起数占比下降1.2个百分点", "1.2个百分点", "decrease"),
    ],
)
def test_percentage_points_of_a_change(text: str, surface: str, change: Change) -> None:
    (figure,) = find_figures(text)
    assert figure.unit_kind == "percentage_point"
    assert changes(text) == [(surface, change)]


@pytest.mark.parametrize(
    ("text", "surface", "change"),
    [
        ("营业收入增幅8%", "8%", "increase"),
        ("发案率降幅为12%", "12%", "decrease"),
        ("社会消费品零售总额涨幅3.5%", "3.5%", "increase"),
    ],
)
def test_a_size_of_change_named_as_a_noun(text: str, surface: str, change: Change) -> None:
    assert changes(text) == [(surface, change)]


@pytest.mark.parametrize(
    "text",
    [
        # Where a change ends is a level, not its size.
        "空气质量优良率上升至91.3%",
        "城市低保标准增加到500元",
        "惠及居民增至5000户",
        "发案率降至12%",
        "发案率下降到12%",
        # New things are counted, not a change of a count.
        "全市新增停车位3000个",
        # '提升/提高' before a count of things names what was upgraded.
        "整治提升50个背街小巷",
        "提升改造老旧小区45个",
        # A plain level.
        "全市注册志愿者达到12万人",
    ],
)
def test_levels_and_counts_of_things_are_no_change(text: str) -> None:
    assert [change for _, change in changes(text)] == [None]


def test_coordinated_values_share_the_verb_before_the_first() -> None:
    assert changes("知晓率、支持率分别提高5%和7%") == [("5%", "increase"), ("7%", "increase")]


def test_a_level_and_the_change_beside_it() -> None:
    assert changes("空气质量优良天数达到330天，同比增加9天") == [("330天", None), ("9天", "increase")]


def test_each_spotted_sentence_gets_one_change_per_figure() -> None:
    spotted = spot_figures(read_page("全市新增停车位3000个。满意率同比下降1.5个百分点，投诉量减少了20%。\n"))
    assert figure_changes(spotted) == [[None], ["decrease", "decrease"]]


def test_a_one_character_verb_after_a_comparison_with_last_year() -> None:
    assert changes("接待游客比上年增5%") == [("5%", "increase")]
