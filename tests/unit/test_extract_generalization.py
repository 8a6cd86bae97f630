"""Rules found by scoring unseen reports: years, ranges, qualifiers, district places, indicator wording."""

from __future__ import annotations

import pytest

from services.extract.extractor import Extractor
from services.extract.figures import find_figures
from shared.contracts import Metric
from tests.support.extraction import extract


def by_value(metrics: list[Metric]) -> dict[float, Metric]:
    return {m.value: m for m in metrics}


# -- years ----------------------------------------------------------------------------------------------

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
def test_year_scope(extractor: Extractor, body: str, value: float, year: int | None) -> None:
    metric = by_value(extract(extractor, _CITY_HEAD + body))[value]
    assert metric.year == year


# -- ranges, qualifiers, bare counts --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("每个社区配备3至5名联络员", [(3, 5, "person", "名")]),
        ("每天安排20—30名志愿者上岗", [(20, 30, "person", "名")]),
        ("每天安排20-30名志愿者上岗", [(20, 30, "person", "名")]),
        ("每户补贴1~2万元", [(10_000, 20_000, "money_cny", "元")]),
        ("建设周期为3到5年", [(3, 5, "years", "年")]),
        ("2019-2023年全市投入资金", []),  # a span of calendar years
        ("咨询电话0571-8765432", []),
        ("活动时间为8:00-18:00", []),
    ],
)
def test_a_range_is_one_figure_with_both_ends(text: str, expected: list[tuple[float, str, str]]) -> None:
    assert [(f.value, f.value_max, f.unit_kind, f.measure_word) for f in find_figures(text)] == expected


@pytest.mark.parametrize(
    ("text", "value", "qualifier"),
    [
        ("按不低于人均30元的标准落实经费", 30, "over"),
        ("补贴不超过每户2000元", 2000, "under"),
        ("人均绿地面积15平方米", 15, "exact"),
    ],
)
def test_qualifier_across_a_rate_word(text: str, value: float, qualifier: str) -> None:
    (figure,) = find_figures(text)
    assert (figure.value, figure.qualifier) == (value, qualifier)


def test_bare_ten_thousands_of_population_are_people() -> None:
    (figure,) = find_figures("全区常住人口约12万，注册志愿者却有4.5万余名")[:1]
    assert (figure.value, figure.unit_kind, figure.qualifier) == (120_000, "person", "approx")


# -- places ---------------------------------------------------------------------------------------------

_HANGZHOU = "杭州：文明之花处处开\n\n杭州市持续推进全国文明城市创建。"


@pytest.mark.parametrize(
    ("body", "value", "city"),
    [
        # A district leading its sentence owns the sentence's figures.
        ("西湖区新建口袋公园12个。", 12, "杭州市西湖区"),
        ("在拱墅区，改造老旧小区45个。", 45, "杭州市拱墅区"),
        # A list across the city's districts speaks for the city.
        ("西湖区的甲项目、拱墅区的乙项目等8个项目获评优秀项目。", 8, "杭州市"),
        # 分别 shares the listed places out over the values; a total after 共 stays the city's.
        ("西湖区、拱墅区分别新建口袋公园12个和15个，共惠及居民3000余户。", 12, "杭州市西湖区"),
        ("西湖区、拱墅区分别新建口袋公园12个和15个，共惠及居民3000余户。", 15, "杭州市拱墅区"),
        ("西湖区、拱墅区分别新建口袋公园12个和15个，共惠及居民3000余户。", 3000, "杭州市"),
        ("全市新增停车位2万个，其中西湖区、拱墅区分别新增4000个和3500个。", 3500, "杭州市拱墅区"),
        # A street the page placed under a district ('西湖区北山街道') stays there when named alone.
        ("与会人员观摩了西湖区北山街道的改造现场。在北山街道，小区新增停车位260个。", 260, "杭州市西湖区"),
        ("在某某街道，小区新增停车位260个。", 260, "杭州市"),
        # '区里…' goes on about the district the paragraph just named.
        ("西湖区推行议事制度。区里还投入资金800万元，配齐分类设施120个。", 120, "杭州市西湖区"),
        ("全市推行议事制度。区里还投入资金800万元，配齐分类设施120个。", 120, "杭州市"),
    ],
)
def test_district_places(extractor: Extractor, body: str, value: float, city: str) -> None:
    metric = by_value(extract(extractor, _HANGZHOU + "\n\n" + body))[value]
    assert metric.city == city


# -- indicators -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "value", "code"),
    [
        # A quoted name inside a catalog phrase does not hide the phrase.
        ("全区开展“红色宣讲”活动1600余场。", 1600, "morality.education_events"),
        ("整治“空中蜘蛛网”线缆420公里。", 420_000, "city.overhead_cable_rectified_length"),
        # ... but a quoted word modifying what follows is not the phrase ('各级“好人”党代表').
        ("已有各级“好人”党代表和人大代表36名。", 36, None),
        # Both ends of a change measure the same thing.
        ("市民满意率由2021年的88.5%提升到2023年的95.2%。", 95.2, "governance.satisfaction_rate"),
        # Place names do not make a clause name its own subject: it borrows the previous clause's.
        (
            "全市新增公共停车位2万个，其中西湖区、拱墅区分别新增4000个和3500个。",
            4000,
            "city.parking_spaces_added",
        ),
        # Both bounds of a range measure the same thing.
        ("每天安排20—30名志愿者上岗。", 20, "volunteer.registered"),
        # A keyword in a later enumeration item that holds its own figure belongs to that figure.
        ("新建城市停车场31个、增加停车泊位9600个。", 31, None),
        ("新建城市停车场31个、增加停车泊位9600个。", 9600, "city.parking_spaces_added"),
        # A change on the year before is not the level measured, unless the indicator is a change.
        ("空气质量优良天数达到330天，同比增加9天。", 9, None),
        ("空气质量优良天数达到330天，同比增加9天。", 330, "eco.air_quality_good_days"),
        ("城市低保标准比上年提高20元。", 20, "livelihood.assistance_standard_increase"),
        # Genre wording added to the catalog.
        ("改造城镇老旧小区412个。", 412, "infra.old_community_renovation"),
        ("总投资约9.6亿元，惠及4.1万户居民。", 41_000, "infra.households_benefited"),
        ("区级财政投入创建资金6800万元。", 6.8e7, "governance.special_fund"),
        ("收集群众意见建议5400余条。", 5400, "governance.issues_collected"),
        ("矛盾纠纷化解率达到97.5%。", 97.5, "governance.disposal_rate"),
        ("清运陈年垃圾3.6万立方米。", 36_000, "city.garbage_cleared_volume"),
        ("复绿裸露黄土地120亩。", 80_000.4, "eco.green_space_added_area"),
    ],
)
def test_indicator_wording(extractor: Extractor, sentence: str, value: float, code: str | None) -> None:
    metric = by_value(extract(extractor, _CITY_HEAD + sentence))[value]
    assert metric.indicator == code
