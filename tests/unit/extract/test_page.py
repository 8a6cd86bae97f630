"""The reading pass (page.py, sentences.py): paragraphs, headings, sentences, clauses, sections and page
furniture, and which sentences' figures are spotted."""

from __future__ import annotations

import pytest

from services.extract.page import read_page, spot_figures
from services.extract.sentences import clause_bounds, heading_level, segment_bounds, split_paragraphs


def sentences(text: str) -> list[str]:
    return [s.compact for s in read_page(text).sentences]


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


def test_a_line_broken_mid_sentence_is_rejoined() -> None:
    text = "全市坚持以人民为中心，持续推进全国文明城市创建工作，今年\n新建口袋公园12个，改造老旧小区45个。\n"
    assert len(split_paragraphs(text)) == 1
    assert sentences(text) == [
        "全市坚持以人民为中心，持续推进全国文明城市创建工作，今年新建口袋公园12个，改造老旧小区45个。"
    ]


def test_a_list_item_is_no_heading() -> None:
    text = "数说创建\n● 城市书房130家\n"
    assert [p.is_heading for p in split_paragraphs(text)] == [True, False]


# -- sentences and clauses ------------------------------------------------------------------------------


def test_sentences_end_at_full_stops_of_every_kind() -> None:
    assert sentences("今年新建公园3个！改造小区5个？新增车位8个；建成驿站2个。") == [
        "今年新建公园3个！",
        "改造小区5个？",
        "新增车位8个；",
        "建成驿站2个。",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A '.' between a figure and a Chinese character ends the sentence.
        ("优良率达到95%.全市新建公园3个。", ["优良率达到95%.", "全市新建公园3个。"]),
        ("优良率达到95%. 全市新建公园3个。", ["优良率达到95%.", "全市新建公园3个。"]),
        # An enumerator ('1.', '一.') and a decimal point do not.
        ("1.全面推进创建工作，新建公园3个。", ["1.全面推进创建工作，新建公园3个。"]),
        ("一.强化组织领导，新建公园3个。", ["一.强化组织领导，新建公园3个。"]),
        ("覆盖率达到97.5%。", ["覆盖率达到97.5%。"]),
        ("PM2.5浓度下降18%。", ["PM2.5浓度下降18%。"]),
    ],
)
def test_a_dot_before_a_chinese_character_is_a_full_stop(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_a_figure_before_a_dot_full_stop_is_spotted_with_the_next_sentences() -> None:
    assert spotted_surfaces("优良率达到95%.全市新建公园3个。") == ["95%", "3个"]


def test_a_clause_runs_between_commas_and_colons_but_not_through_a_thousands_separator() -> None:
    compact = "共受理投诉1,250件，办结率98%：满意率96%"
    assert clause_bounds(compact, compact.index("1,250")) == (0, compact.index("，"))
    assert clause_bounds(compact, compact.index("98")) == (compact.index("，") + 1, compact.index("："))


def test_an_enumeration_item_runs_between_enumeration_commas() -> None:
    compact = "建成中心1个、实践所12个、实践站210个"
    start, end = segment_bounds(compact, compact.index("12"), 0, len(compact))
    assert compact[start:end] == "实践所12个"


def test_each_sentence_knows_its_paragraph_and_rank() -> None:
    page = read_page("各地简讯\n南京新建口袋公园30个。苏州新增停车泊位5000个。\n")
    assert [(s.paragraph.index, s.position) for s in page.sentences] == [(0, 0), (1, 0), (1, 1)]


def test_each_sentence_knows_its_section() -> None:
    text = "甲市：文明花开\n\n◎ 张三\n\n甲市新建公园5座。\n\n乙县：幸福升级\n\n◎ 李四\n\n乙县新建驿站8个。\n"
    page = read_page(text)
    assert [(s.compact, page.section_of[i]) for i, s in enumerate(page.sentences)] == [
        ("甲市：文明花开", 0),
        ("◎张三", 0),
        ("甲市新建公园5座。", 0),
        ("乙县：幸福升级", 1),
        ("◎李四", 1),
        ("乙县新建驿站8个。", 1),
    ]
    assert (page.facts.title, page.facts.author) == ("甲市：文明花开", "张三")


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


def test_a_copyright_line_is_chrome() -> None:
    assert spotted_surfaces("某区新建驿站12个。\n\n版权所有 2024 某市文明办 备案号12345678\n") == ["12个"]
