"""The reading pass (page.py, sentences.py): paragraphs, headings, sentences, clauses, sections and page
furniture, and which sentences' figures are spotted."""

from __future__ import annotations

import pytest

from services.extract.page import read_page, spot_figures
from services.extract.sentences import heading_level, split_paragraphs


def spotted_surfaces(text: str) -> list[str]:
    """The surface of every figure the reading pass spots, in compact text."""
    return [s.sentence.compact[f.start : f.end] for s in spot_figures(read_page(text)) for f in s.figures]


# -- paragraphs and headings ----------------------------------------------------------------------------


def test_numbered_heading_stands_on_its_own_line() -> None:
    text = "二、存在的问题\n\n一是部分小区管理不到位；二是宣传不够深入。\n"
    assert [p.is_heading for p in split_paragraphs(text)] == [True, False]


@pytest.mark.parametrize(
    ("line", "level"),
    [("一、总体情况", 1), ("（二）城市管理", 2), ("3.志愿服务", 3), ("（4）其他", 4), ("城市管理", 0)],
)
def test_heading_levels(line: str, level: int) -> None:
    assert heading_level(line) == level


# -- page furniture -------------------------------------------------------------------------------------


def test_a_hotline_in_a_sentence_is_not_chrome() -> None:
    assert spotted_surfaces("政务服务热线12345受理诉求5万件。") == ["5万件"]


def test_a_short_comment_counter_is_chrome_but_a_sentence_is_not() -> None:
    assert spotted_surfaces("热门评论(12条)\n今年收到群众留言300条，全部答复。\n") == ["300条"]


def test_page_counters_and_contact_lines_are_not_figures() -> None:
    text = "某市开展活动200场。\n阅读 3521 次  反对 0 举报 0\n联系电话：010-12345678  QQ：123456789\n"
    assert spotted_surfaces(text) == ["200场"]


@pytest.mark.parametrize(
    ("text", "surfaces"),
    [
        # Links to other stories under 相关阅读 close on their date.
        ("某区新建驿站12个。\n\n相关阅读：\n· 某市注册志愿者突破80万人 2024-02-11\n", ["12个"]),
        ("某区新建驿站12个。\n\n推荐阅读\n某县新增停车位3000个（2023年12月5日）\n", ["12个"]),
        # A byline closing on a date is no link; it holds no figure anyway.
        ("发布时间：2024-02-11\n\n某区新建驿站12个。\n", ["12个"]),
        # A report sentence in a paragraph that ends on a hotline keeps its figures.
        ("今后每年投入不少于2亿元用于背街小巷整治。举报电话：0551-6123456。\n", ["不少于2亿元"]),
        # A contact paragraph on its own is furniture.
        ("某区新建驿站12个。\n\n地址：某市某路88号　电话：0551-6123456\n", ["12个"]),
    ],
)
def test_links_bylines_and_contact_lines(text: str, surfaces: list[str]) -> None:
    assert spotted_surfaces(text) == surfaces
