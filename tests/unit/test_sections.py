"""Splitting a page of several articles into sections."""

from __future__ import annotations

from services.normalize.sections import split_sections


def _headlines(text: str) -> list[str | None]:
    return [s.headline for s in split_sections(text)]


def test_single_article_is_one_section() -> None:
    text = "某市创城纪实\n发布时间：2023-01-01\n某市新建公园5座。\n小标题一\n正文继续。\n"
    sections = split_sections(text)
    assert len(sections) == 1
    assert (sections[0].start, sections[0].end) == (0, len(text))


def test_empty_text() -> None:
    assert [(s.start, s.end) for s in split_sections("")] == [(0, 0)]


def test_headline_with_mark_byline_starts_an_article() -> None:
    text = "甲市：文明花开\n\n◎ 张三\n\n正文甲。\n\n乙县：幸福升级\n\n◎ 李四 王五\n\n正文乙。\n"
    sections = split_sections(text)
    assert [s.headline for s in sections] == ["甲市：文明花开", "乙县：幸福升级"]
    assert [s.byline for s in sections] == ["张三", "李四 王五"]
    assert text[sections[1].start :].startswith("乙县")
    assert sections[0].end == sections[1].start


def test_headline_with_wire_lead_starts_an_article() -> None:
    text = "第一篇\n\n◎ 张三\n\n正文。\n丙市：楼道文明\n\n本报讯(赵六)丙市新增楼道100个。\n"
    sections = split_sections(text)
    assert [s.headline for s in sections] == ["第一篇", "丙市：楼道文明"]
    assert sections[1].byline == "赵六"


def test_subtitle_joins_the_headline() -> None:
    text = "用文明筑城\n\n——某省某市创建工作综述\n\n◎ 张三\n\n正文。\n"
    (section,) = split_sections(text)
    assert section.headline == "用文明筑城 ——某省某市创建工作综述"
    assert section.byline == "张三"


def test_subheadings_without_byline_stay_in_the_article() -> None:
    text = "某市：综述\n\n◎ 张三\n\n正文一。\n\n发挥榜样力量 引领文明风尚\n\n正文二。\n"
    assert _headlines(text) == ["某市：综述"]


def test_break_line_starts_a_new_article() -> None:
    text = "第一篇正文，内容。\n———————\n丁县：新闻标题\n丁县正文。\n"
    sections = split_sections(text)
    assert [s.headline for s in sections] == [None, "丁县：新闻标题"]


def test_photo_caption_is_its_own_section() -> None:
    caption = "2月19日,某区举办招聘会,150家用人单位提供3000余个就业岗位,图为求职者咨询岗位信息。 刘辉 摄"
    text = f"甲市：文明花开\n\n◎ 张三\n\n正文甲。\n\n{caption}\n\n正文甲续。\n"
    sections = split_sections(text)
    assert len(sections) == 3
    assert text[sections[1].start : sections[1].end].strip() == caption
    assert sections[2].headline == "甲市：文明花开"


def test_place_headline_opens_an_article_without_byline() -> None:
    text = "甲市：文明花开\n\n◎ 张三\n\n正文甲。\n南京市鼓楼区：楼道换新颜\n鼓楼区新建驿站5个，内容丰富。\n"
    sections = split_sections(text)
    assert [s.headline for s in sections] == ["甲市：文明花开", "南京市鼓楼区：楼道换新颜"]


def test_interviewee_line_is_not_a_headline() -> None:
    text = "访谈嘉宾\n郑亮:某市委宣传部副部长、某市文明办主任\n正文，内容。\n"
    assert len(split_sections(text)) == 1
