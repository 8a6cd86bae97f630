"""The time pass (timing.py, dates.py, metadata.py): the year each figure refers to, read from its sentence,
bullet, heading, table column or the page's title, and the page's own title and publication date."""

from __future__ import annotations

from datetime import date

import pytest

from services.extract.dates import find_publication_date, find_years
from services.extract.extractor import Extractor
from services.extract.gazetteer import Gazetteer
from services.extract.metadata import read_page_facts
from services.extract.page import read_page, spot_figures
from services.extract.timing import figure_years, title_year
from tests.support.extraction import by_surface, by_value, extract


def years(text: str) -> list[int | None]:
    """The year of every figure of `text`, by the reading and time passes alone."""
    page = read_page(text)
    return [year for row in figure_years(page, spot_figures(page)) for year in row]


# -- years written in a sentence ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "years"),
    [
        # '比2022年' is the baseline of a change; '提升至2023年的' is where the change ends, not a span.
        ("满意率95%，比2022年提高2个百分点", [(2022, True, False)]),
        ("成绩由2022年的85分提升至2023年的90分", [(2022, False, False), (2023, False, False)]),
        ("2019至2023年累计投入", [(2023, False, True)]),
        # An issue number dates the bulletin, not its figures.
        ("2024年第6期", [(2024, False, False)]),
    ],
)
def test_year_mentions(sentence: str, years: list[tuple[int, bool, bool]]) -> None:
    found = find_years(sentence)
    assert [(y.year, y.baseline, y.opens_span) for y in found] == years
    if "期" in sentence:
        assert found[0].with_month


@pytest.mark.parametrize(
    ("sentence", "year", "opens_span"),
    [
        ("自2018年创建以来，全市累计新建口袋公园120个", 2018, True),
        ("从2019年起，每年投入资金1亿元", 2019, True),
        ("2021年以来，新建公园30个", 2021, True),
        ("截至2021年底，全市注册志愿者达到12万人", 2021, False),
        ("二〇二二年，全市新建公园8个", 2022, False),
    ],
)
def test_a_since_clause_opens_a_span_and_a_closing_date_does_not(
    sentence: str, year: int, opens_span: bool
) -> None:
    (found,) = find_years(sentence)
    assert (found.year, found.opens_span) == (year, opens_span)


# -- the year of each figure ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("某市文明创建工作纪实\n\n自2018年创建以来，全市累计新建口袋公园120个。\n", [None]),
        ("某市文明创建工作纪实\n\n自2018年启动创建全国文明城市工作以来，全市累计投入资金30亿元。\n", [None]),
        ("某市文明创建工作纪实\n\n截至2021年底，全市注册志愿者达到12万人。\n", [2021]),
    ],
)
def test_cumulative_figures_since_a_year_have_no_year_but_a_closing_date_gives_one(
    text: str, expected: list[int | None]
) -> None:
    assert years(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("某市2019年第一次模拟测评情况通报\n\n全市测评得分91.5分。新建口袋公园20个。\n", [2019, 2019]),
        ("某市2019年文明创建工作总结\n\n一、主要成绩\n\n新建口袋公园20个。\n", [2019]),
        ("某市2019年文明创建工作总结\n\n全市新建口袋公园20个。2020年，新增停车位3000个。\n", [2019, 2020]),
    ],
)
def test_the_titles_year_is_carried_to_the_body(text: str, expected: list[int | None]) -> None:
    assert years(text) == expected


@pytest.mark.parametrize(
    ("title", "year"),
    [
        ("某市2021年度文明创建工作总结", 2021),
        ("某市2019年第一次模拟测评情况通报", 2019),
        ("某市2018年以来文明创建工作回顾", None),  # a span
        ("2023年5月文明创建工作简报", None),  # a date, not a topic year
        ("某市文明创建工作纪实", None),
    ],
)
def test_title_year(title: str, year: int | None) -> None:
    assert title_year(read_page(title + "\n\n新建公园3个。\n")) == year


def test_year_stated_at_the_head_of_a_bullet_carries_through_it(extractor: Extractor) -> None:
    text = "一、城市更新。2022年，新建公园8座。改造道路12条。\n二、其他工作。新建书屋5座。\n"
    assert [m.year for m in extract(extractor, text)] == [2022, 2022, None]


def test_year_with_a_month_dates_one_event(extractor: Extractor) -> None:
    text = "2023年5月举办发布会，观看人次超过80万。会后开展活动300场。\n"
    assert [m.year for m in extract(extractor, text)] == [2023, None]


def test_span_from_a_year_is_no_single_year(extractor: Extractor) -> None:
    text = "2018年以来，评出“某某好人”300人。\n"
    assert [m.year for m in extract(extractor, text)] == [None]


def test_report_year_in_title_carries_except_cumulative_and_plans(extractor: Extractor) -> None:
    text = (
        "某市2021年度文明创建工作总结\n"
        "一是新建书屋20座。二是累计发放奖励金80万元。\n"
        "下一步，将新建公园10座。\n"
    )
    assert [m.year for m in extract(extractor, text)] == [2021, None, None]


def test_relative_year_resolves_only_when_asked(extractor: Extractor, gazetteer: Gazetteer) -> None:
    text = "发布时间：2022-06-01\n某市今年新建公园6座。\n"
    resolving = Extractor(gazetteer=gazetteer, resolve_relative_years=True)
    assert [m.year for m in extract(extractor, text)] == [None]
    assert [m.year for m in extract(resolving, text)] == [2022]


@pytest.mark.parametrize(
    ("body", "surface", "year"),
    [
        ("各社区知晓率、支持率分别比2022年提高3.5个和1.2个百分点。", "3.5个", None),
        ("2023年，各社区支持率比2022年提高1.2个百分点。", "1.2个百分点", 2023),
        # A table's header row gives each column its year.
        ("主要指标：\n\n项目 | 2021年 | 2022年\n口袋公园 | 40个 | 52个\n", "40个", 2021),
        ("主要指标：\n\n项目 | 2021年 | 2022年\n口袋公园 | 40个 | 52个\n", "52个", 2022),
        # A year in a numbered heading holds through the lower-numbered headings under it.
        ("一、2022年工作情况\n\n（一）城市管理\n\n新增停车位3000个。\n", "3000个", 2022),
        (
            "一、2022年工作情况\n\n（一）城市管理\n\n新增停车位3000个。\n\n二、下步打算\n\n再建公园5个。\n",
            "5个",
            None,
        ),
        ("二、2024年工作打算\n\n（一）力争新建公园5个。\n\n（二）力争新建驿站8个。\n", "8个", 2024),
        # An '一是…' item is a bullet: a year at the head of its sentence holds for the rest of it.
        ("一是环境更美。2022年，新增绿地80公顷。新建公园6个。\n", "6个", 2022),
        # 'N年来' sums several years; a list item ('● … 2023年完成312个') is no heading over what follows.
        ("2022年，全市新增绿地80公顷。两年来共改造背街小巷132条。\n", "132条", None),
        ("数说创建：\n● 老旧小区改造 2023年完成312个\n\n鹿城区改造背街小巷132条。\n", "132条", None),
        # A bulletin's issue line is no topic year.
        ("城管快讯\n\n2024年第6期　某市城管局编\n\n▲新增停车位300个。\n", "300个", None),
    ],
)
def test_years_of_baselines_tables_headings_and_bullets(
    extractor: Extractor, body: str, surface: str, year: int | None
) -> None:
    metric = by_surface(extract(extractor, "某市文明办工作简报\n\n" + body))[surface]
    assert metric.year == year


_CITY_HEAD = "杭州市文明创建工作综述\n\n"


@pytest.mark.parametrize(
    ("body", "value", "year"),
    [
        # A year heading a sentence holds across its '；' clauses ...
        ("2022年，全市新增停车位3000个；改造老旧小区45个。", 45, 2022),
        ("民生方面，2022年全市新增就业6000人；全年办成民生实事30件。", 30, 2022),
        # ... but a prose paragraph's next sentence states no year of its own.
        ("2022年，全市新增停车位3000个。西湖区新建口袋公园12个。", 12, None),
        # An enumerated item is one bullet: its year holds for the whole item.
        ("❸环境持续改善。2022年，新增停车位3000个。新建口袋公园12个。", 12, 2022),
        ("（二）城市管理。2022年，新增停车位3000个。新建口袋公园12个。", 12, 2022),
        # '截至2022年底' dates the figure; '2019至2022年' is a span.
        ("截至2022年底，全市建成区绿化覆盖率达到41.5%。", 41.5, 2022),
        ("2019至2022年，全市建成区绿化覆盖率达到41.5%。", 41.5, None),
        # A year in a later clause speaks of something else.
        ("下一步将安排专项资金2.5亿元，力争2025年实现全域达标。", 2.5e8, None),
        ("新增停车位3000个（2022年）。", 3000, 2022),
    ],
)
def test_year_scope_across_clauses_sentences_and_bullets(
    extractor: Extractor, body: str, value: float, year: int | None
) -> None:
    metric = by_value(extract(extractor, _CITY_HEAD + body))[value]
    assert metric.year == year


# -- the page's title and publication date --------------------------------------------------------------


def test_a_numbered_heading_above_a_sign_off_date_is_not_the_title() -> None:
    facts = read_page_facts(
        "某市文明办关于文明创建的通报\n四、下一步工作要求\n2023年12月20日\n全市新建公园20个。\n"
    )
    assert facts.title == "某市文明办关于文明创建的通报"


def test_the_byline_gives_title_date_source_and_author() -> None:
    facts = read_page_facts(
        "首页 > 新闻中心\n某市：文明创建见实效\n发布时间：2023-11-08 来源：某某日报 作者：刘明\n正文。\n"
    )
    assert (facts.title, facts.published_on, facts.source, facts.author) == (
        "某市：文明创建见实效",
        date(2023, 11, 8),
        "某某日报",
        "刘明",
    )


def test_a_dateline_gives_the_publication_date() -> None:
    assert find_publication_date("某市文明创建纪实\n本报讯 2023年11月8日，某市召开大会。\n") == date(
        2023, 11, 8
    )


def test_a_sentence_above_a_sign_off_date_is_not_the_title() -> None:
    text = (
        "关于做好2023年文明创建工作的通知\n各区文明办：\n现将有关事项通知如下。\n三、工作要求\n2023年5月8日\n"
    )
    assert read_page_facts(text).title == "关于做好2023年文明创建工作的通知"


def test_the_bylines_date_wins_over_a_date_in_the_body() -> None:
    text = (
        "某市文明创建纪实\n发布时间：2023-11-08 来源：某某日报\n某市于1959年10月1日建市，今年新建公园20个。\n"
    )
    assert read_page_facts(text).published_on == date(2023, 11, 8)


def test_a_date_in_the_body_is_not_the_publication_date() -> None:
    text = "某市文明创建纪实\n\n某市于1959年10月1日建市，今年新建公园20个。\n"
    assert read_page_facts(text).published_on is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # An official document: the issuing body, its number, then '关于…的通报' gives the year.
        (
            "安徽省文明办\n关于2024年度文明城市创建工作的通报\n\n皖文明办〔2025〕2号\n\n各市文明委：\n\n"
            "全省注册志愿者达到1300万人。\n",
            [2024],
        ),
        # A running total carries no year of its own, not even the title's (as the seeds' gold has it);
        # a span within the title's year is that year's.
        (
            "合肥市2024年上半年创建工作进展\n\n截至6月底，全市注册志愿者达到120万人。累计清理小广告3000处。\n",
            [None, None],
        ),
        ("合肥市2019年度工作情况\n\n12月份以来，转载稿件20篇。\n", [2019]),
        # Nor does a total over several years.
        (
            "“十四五”以来合肥创建综述（2021—2025年）\n\n“十四五”以来，全市累计投入资金30亿元。"
            "五年来新建公园80个。\n",
            [None, None],
        ),
        ("合肥市2024年工作总结\n\n近年来，全市累计新建公园80个。\n", [None]),
    ],
)
def test_official_titles_and_running_totals(text: str, expected: list[int | None]) -> None:
    assert years(text) == expected


def test_an_official_documents_full_title_is_its_issuer_and_its_subject() -> None:
    text = (
        "河南省精神文明建设委员会办公室\n关于2024年度创建工作的通知\n\n豫文明办〔2025〕1号\n\n各市文明办：\n"
    )
    assert read_page_facts(text).title == "河南省精神文明建设委员会办公室关于2024年度创建工作的通知"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A period of the year may follow the year without 年.
        ("📣成绩单来了！2025上半年某市创城干货满满\n\n全市新建口袋公园9个。\n", [2025]),
        # A year after the place opening its clause heads the whole sentence, across its '；'.
        ("在县域，江油市2025年新增停车泊位2400个；梓潼县打通断头路4条。\n", [2025, 2025]),
        # A year joined by 的 to the starting figure is that figure's alone.
        ("清扫率由2023年的78%提升至91%。\n", [2023, None]),
        # A clause saying its own year relatively does not take an earlier clause's.
        ("全市满意率2024年为90.8%，今年力争提高2个百分点。\n", [2024, None]),
        # An average change over years is no one year's; a yearly mean is that year's.
        ("2022年至2024年，志愿者人数年均增长9.6%。\n", [None]),
        ("2023年，全市PM2.5年均浓度同比下降8.3%。\n", [2023]),
    ],
)
def test_periods_clause_heads_starting_figures_relative_clauses_and_averages(
    text: str, expected: list[int | None]
) -> None:
    assert years(text) == expected
