"""The indicator pass (catalog.py): the catalog entry each figure measures, found from the catalog's
phrases in the figure's clause, reworded phrases found by their words, modifiers of the counted noun that
change its meaning, and a change's size kept apart from a level."""

from __future__ import annotations

import pytest

from services.extract.catalog import load_catalog
from services.extract.extractor import Extractor
from services.extract.figures import find_figures
from services.extract.indicators import IndicatorMatcher
from services.extract.meaning import figure_changes
from services.extract.page import read_page, spot_figures
from services.extract.sentences import clause_bounds
from tests.support.extraction import by_value, extract

_CITY_HEAD = "杭州市文明创建工作综述\n\n"


def indicators(matcher: IndicatorMatcher, text: str) -> list[tuple[float, str | None]]:
    """(value, indicator) of every figure, by the reading, meaning and indicator passes alone."""
    spotted = spot_figures(read_page(text))
    return [
        (figure.value, match.code if match else None)
        for spot, changes in zip(spotted, figure_changes(spotted), strict=True)
        for figure, match in zip(spot.figures, matcher.match_spotted(spot, changes), strict=True)
    ]


def test_catalog_triggers_are_data() -> None:
    codes = {indicator.code for indicator in load_catalog()}
    assert {"volunteer.registered", "practice.stations", "governance.satisfaction_rate"} <= codes


# -- sentence structure ---------------------------------------------------------------------------------


def test_values_shared_out_by_fenbie_each_get_the_indicator(extractor: Extractor) -> None:
    metrics = extract(extractor, "全县城乡低保标准每月分别提高20元和35元。")
    assert [(m.value, m.unit_kind) for m in metrics] == [(20, "money_cny"), (35, "money_cny")]
    assert {m.indicator for m in metrics} == {"livelihood.assistance_standard_increase"}


def test_enumeration_sharing_a_verb_gives_each_its_indicator(extractor: Extractor) -> None:
    metrics = extract(extractor, "目前，全县建成文明实践中心1个、实践所12个、实践站210个。")
    assert [(m.value, m.indicator) for m in metrics] == [
        (1, "practice.centers"),
        (12, "practice.institutes"),
        (210, "practice.stations"),
    ]


def test_compact_tier_notation(extractor: Extractor) -> None:
    metrics = extract(extractor, "打造“1中心+9所+120站”新时代文明实践阵地。")
    assert [(m.value, m.indicator) for m in metrics] == [
        (1, "practice.centers"),
        (9, "practice.institutes"),
        (120, "practice.stations"),
    ]


def test_one_value_shared_by_two_rates_is_one_figure(extractor: Extractor) -> None:
    metrics = extract(extractor, "主干道机扫率、洒水率均达到98%。")
    assert [(m.value, m.indicator) for m in metrics] == [(98, "city.mechanized_sweeping_rate")]


def test_adjacent_rates_bind_by_keyword(extractor: Extractor) -> None:
    metrics = extract(extractor, "共受理投诉300件，办结率98%，满意率96%。")
    assert [m.indicator for m in metrics] == [
        "governance.issues_collected",
        "governance.disposal_rate",
        "governance.satisfaction_rate",
    ]


def test_mixed_list_before_deng_is_not_its_first_item(extractor: Extractor) -> None:
    metrics = extract(extractor, "成立读书会、合唱团、志愿服务队等团体40多个。")
    assert [(m.value, m.indicator) for m in metrics] == [(40, None)]


def test_elliptical_clause_borrows_the_previous_subject(extractor: Extractor) -> None:
    metrics = extract(extractor, "计划改造老旧小区60个，今年先期启动25个，已完成外墙粉刷300余处。")
    assert [(m.value, m.indicator) for m in metrics] == [
        (60, "infra.old_community_renovation"),
        (25, "infra.old_community_renovation"),
        (300, None),
    ]


def test_density_is_not_an_absolute_count(extractor: Extractor) -> None:
    metrics = extract(extractor, "城区每平方公里公厕平均密度达到3座。")
    assert [(m.value, m.indicator) for m in metrics] == [(3, None)]


def test_number_before_noun_and_noun_before_number(extractor: Extractor) -> None:
    metrics = extract(extractor, "8600名志愿者参与服务，全市注册志愿者已达9.1万名。")
    assert [(m.value, m.indicator) for m in metrics] == [
        (8600, "volunteer.registered"),
        (91_000, "volunteer.registered"),
    ]


def test_no_catalog_indicator_gives_null(extractor: Extractor) -> None:
    metrics = extract(extractor, "全市共召开协调会15次，印发简报40期。")
    assert [m.indicator for m in metrics] == [None, None]


def test_corner_brackets_read_as_quotes(extractor: Extractor) -> None:
    (metric,) = extract(extractor, "累计整治「蜘蛛网」320公里。")
    assert metric.indicator == "city.overhead_cable_rectified_length"


# -- evidence inside the figure's clause ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "surface", "code"),
    [
        # A catalog phrase after 依托 is the means when a verb and its own object follow.
        ("依托新时代文明实践站开设“周末课堂”60个。", "60个", None),
        ("依托新时代文明实践站120个开展服务。", "120个", "practice.stations"),
        # A change from the start of the year is no level.
        ("注册志愿者较年初净增2.1万人。", "2.1万人", None),
        # A run of coordinated values shares the noun before it.
        ("三个区分别新建城市书房4座、3座和2座。", "2座", "culture.facilities"),
        # The cells of a table row share the row's label.
        ("建成区绿化覆盖率|41.5%|42.3%", "42.3%", "eco.green_coverage_rate"),
        # Catalog wording added as data.
        ("全年投入4500万元实施背街小巷改造。", "4500万元", "governance.investment_amount"),
        ("每年投入不少于3亿元。", "不少于3亿元", "governance.investment_amount"),
        ("累计发放文明积分兑换物资价值260万元。", "260万元", "morality.incentive_funds"),
        ("调解成功率达98.5%。", "98.5%", "governance.disposal_rate"),
        ("新建长者饭堂18间。", "18间", "livelihood.eldercare_facilities"),
        ("新增造林面积1200亩。", "1200亩", "eco.green_space_added_area"),
        ("拆除违规广告牌匾360处。", "360处", "city.clutter_removed"),
        ("拆除违规户外广告420块。", "420块", "city.clutter_removed"),
        ("开展文明旅游志愿服务1.9万场次。", "1.9万场次", "volunteer.activities"),
        ("周边八千余户居民从中受益。", "八千余户", "infra.households_benefited"),
        ("全市用于创建的财政资金累计超过8亿元。", "超过8亿元", "governance.special_fund"),
    ],
)
def test_phrases_in_the_figures_clause(
    matcher: IndicatorMatcher, sentence: str, surface: str, code: str | None
) -> None:
    figures = find_figures(sentence)
    clauses = [clause_bounds(sentence, f.number_start) for f in figures]
    matches = matcher.match_sentence(sentence, figures, clauses, [False] * len(figures))
    found = {sentence[f.start : f.end]: m.code if m else None for f, m in zip(figures, matches, strict=True)}
    assert found[surface] == code


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
        ("复绿裸露黄土地120亩。", 80_000, "eco.green_space_added_area"),
    ],
)
def test_indicator_wording(extractor: Extractor, sentence: str, value: float, code: str | None) -> None:
    metric = by_value(extract(extractor, _CITY_HEAD + sentence))[value]
    assert metric.indicator == code


# -- reworded phrases -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "全年空气质量达到优良等级的天数为336天。",
        "全年空气质量优良的天数达到336天。",
        "全年空气质量优良天数336天。",
    ],
)
def test_a_reworded_catalog_phrase_is_found_by_its_words(matcher: IndicatorMatcher, sentence: str) -> None:
    assert indicators(matcher, sentence) == [(336, "eco.air_quality_good_days")]


# -- modifiers that change what is counted --------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "全市活跃志愿者3.2万名。",  # a subset of the registered
        "评选星级志愿者200名。",
        "新招募志愿者5000名。",  # an addition, not the total
        "新增注册志愿者2万名。",
        "今年新招募的青年志愿者有3000多名。",  # the modifier, then '的' and who they are
    ],
)
def test_a_modifier_of_the_counted_people_blocks_the_stock_indicator(
    matcher: IndicatorMatcher, sentence: str
) -> None:
    assert [code for _, code in indicators(matcher, sentence)] == [None]


def test_honoured_volunteers_are_exemplars_not_the_registered(matcher: IndicatorMatcher) -> None:
    # The catalog counts '最美XX' among the role models selected, not among the registered volunteers.
    assert [code for _, code in indicators(matcher, "全市评选最美志愿者20名。")] == [
        "morality.exemplars_selected"
    ]


def test_registered_volunteers_beside_active_ones_keep_their_indicator(matcher: IndicatorMatcher) -> None:
    assert indicators(matcher, "全市注册志愿者达到12万名。其中活跃志愿者3.2万名。") == [
        (120_000, "volunteer.registered"),
        (32_000, None),
    ]


@pytest.mark.parametrize("sentence", ["全市新增停车位3000个。", "全市新增公共停车位3000个。"])
def test_an_indicator_of_additions_keeps_its_new_things(matcher: IndicatorMatcher, sentence: str) -> None:
    assert indicators(matcher, sentence) == [(3000, "city.parking_spaces_added")]


# -- a change's size and a level ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "code"),
    [
        # A level the standard was raised to is not the size of the raise.
        ("城市低保标准提高到每人每月780元。", None),
        ("城乡低保标准分别提高到每月780元和620元。", None),
        # The size of the raise is what the increase indicator measures.
        ("农村低保标准每月提高15元。", "livelihood.assistance_standard_increase"),
        ("城市低保标准每人每月提高15元。", "livelihood.assistance_standard_increase"),
    ],
)
def test_an_indicator_of_increases_needs_a_change(
    matcher: IndicatorMatcher, sentence: str, code: str | None
) -> None:
    assert {found for _, found in indicators(matcher, sentence)} == {code}


@pytest.mark.parametrize(
    ("sentence", "value", "code"),
    [
        ("建成区绿化覆盖率提高到42.5%。", 42.5, "eco.green_coverage_rate"),
        ("建成区绿化覆盖率提高1.2个百分点。", 1.2, None),
        ("全市注册志愿者增加了3万人。", 30_000, None),
    ],
)
def test_a_level_indicator_takes_the_level_not_the_change(
    matcher: IndicatorMatcher, sentence: str, value: float, code: str | None
) -> None:
    assert indicators(matcher, sentence) == [(value, code)]


def test_every_trigger_of_the_catalog_compiles() -> None:
    """Patterns compile when first used; a trigger the catalog cannot express must fail here, not on a
    document."""
    from services.extract.catalog import load_catalog

    patterns = [pattern for indicator in load_catalog() for _, pattern in indicator.patterns]
    assert patterns
    assert all(pattern.compiled.groupindex for pattern in patterns)  # each has its numeral slot


def test_the_average_of_a_rate_is_that_rate_but_an_average_count_is_not_the_total(
    matcher: IndicatorMatcher,
) -> None:
    assert indicators(matcher, "各区群众满意率平均为92.6%。") == [(92.6, "governance.satisfaction_rate")]
    assert [code for _, code in indicators(matcher, "平均每个社区有注册志愿者300名。")] == [None]


@pytest.mark.parametrize(
    ("sentence", "code"),
    [
        # A city's or a province's 'good people', with words between the name and the count.
        ("“绵阳好人”已累计评选出300余名。", "morality.regional_good_people"),
        ("全年评选“绵阳好人”40名，其中6人入选“四川好人”。", "morality.regional_good_people"),
        # The creation fund, called by the campaign's short name.
        ("市财政安排创城专项资金8000万元。", "governance.special_fund"),
        ("全区投入创文专项资金1.2亿元。", "governance.special_fund"),
    ],
)
def test_regional_good_people_and_the_creation_fund_by_their_usual_names(
    matcher: IndicatorMatcher, sentence: str, code: str
) -> None:
    assert {found for _, found in indicators(matcher, sentence)} == {code}


@pytest.mark.parametrize(
    ("sentence", "code"),
    [
        ("全市注册志愿服务团体3000个。", "volunteer.teams"),
        ("新建改建城市厕所40座。", "city.sanitation_facilities"),
        ("栽种乔灌木1.5万株。", "eco.trees_planted"),
        ("数字城管平台受理问题12万件。", "governance.issues_collected"),
        ("新建村级互助养老服务点18个。", "livelihood.eldercare_facilities"),
        ("新建电动自行车集中充电棚30处。", "infra.ebike_charging_facilities"),
    ],
)
def test_the_catalogs_usual_synonyms(matcher: IndicatorMatcher, sentence: str, code: str) -> None:
    assert {found for _, found in indicators(matcher, sentence)} == {code}
