"""Extraction rules on invented sentences: quantities, qualifiers, non-figures, structure, indicator, year."""

from __future__ import annotations

import pytest

from services.extract.catalog import load_catalog
from services.extract.extractor import Extractor
from services.extract.figures import find_figures
from shared.contracts import Metric
from tests.support.extraction import extract


def quantities(text: str) -> list[tuple[str, float, str, str, str]]:
    return [
        (text[f.start : f.end], f.value, f.unit_kind, f.measure_word, f.qualifier) for f in find_figures(text)
    ]


# -- quantities and base units --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "surface", "value", "kind", "measure_word"),
    [
        ("全区注册志愿者5.6万人", "5.6万人", 56_000, "person", "人"),
        ("组建宣讲队伍１２０支", "１２０支", 120, "count", "支"),
        ("累计服务居民1,250人次", "1,250人次", 1250, "person_times", "人次"),
        ("投入资金2.5亿元", "2.5亿元", 250_000_000, "money_cny", "元"),
        ("发放补贴860万元", "860万元", 8_600_000, "money_cny", "元"),
        ("新增绿地12.5平方公里", "12.5平方公里", 12_500_000, "area_m2", "平方公里"),
        ("修复路面3.2万平方米", "3.2万平方米", 32_000, "area_m2", "平方米"),
        ("复垦土地300亩", "300亩", 200_001, "area_m2", "亩"),
        ("造林40公顷", "40公顷", 400_000, "area_m2", "公顷"),
        ("铺设管网28.5公里", "28.5公里", 28_500, "length_m", "公里"),
        ("整治线缆15千米", "15千米", 15_000, "length_m", "千米"),
        ("清淤河道800米", "800米", 800, "length_m", "米"),
        ("清运垃圾4.2万立方米", "4.2万立方米", 42_000, "volume_m3", "立方米"),
        ("优良天数达到301天", "301天", 301, "days", "天"),
        ("建城已有45年", "45年", 45, "years", "年"),
        ("入户率提高到1.8倍", "1.8倍", 1.8, "multiple", "倍"),
        ("测评得分91.5分", "91.5分", 91.5, "score", "分"),
        ("覆盖率达到97.3%", "97.3%", 97.3, "percent", "%"),
        ("知晓率达百分之九十六点五", "百分之九十六点五", 96.5, "percent", "%"),
        ("完成改造2400户", "2400户", 2400, "household", "户"),
        ("举办讲座两千场", "两千场", 2000, "times", "场"),
        ("发放手册一千二百份", "一千二百份", 1200, "count", "份"),
        ("开展活动2.4万场次", "2.4万场次", 24_000, "times", "场次"),
        ("提高0.8个百分点", "0.8个百分点", 0.8, "percentage_point", "个百分点"),
        ("刊播公益广告1.2万条次", "1.2万条次", 12_000, "times", "条次"),
        ("人均绿地14.5㎡", "14.5㎡", 14.5, "area_m2", "平方米"),
        ("清运淤泥30.5万m³", "30.5万m³", 305_000, "volume_m3", "立方米"),
        ("新建绿道12km", "12km", 12_000, "length_m", "公里"),
    ],
)
def test_quantities_in_base_units(
    text: str, surface: str, value: float, kind: str, measure_word: str
) -> None:
    (found,) = quantities(text)
    assert found[0] == surface
    assert found[1] == pytest.approx(value, rel=1e-3)
    assert found[2:4] == (kind, measure_word)


@pytest.mark.parametrize(
    ("text", "surface", "value", "kind"),
    [
        ("带动18万居民参与", "18万", 180_000, "person"),
        ("活动参与人次超过30万", "超过30万", 300_000, "person_times"),
        ("投资4000万改造市场", "4000万", 40_000_000, "money_cny"),
    ],
)
def test_bare_ten_thousands_take_their_kind_from_context(
    text: str, surface: str, value: float, kind: str
) -> None:
    (found,) = quantities(text)
    assert (found[0], found[1], found[2]) == (surface, value, kind)


# -- qualifiers -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "surface", "qualifier"),
    [
        ("建成驿站30余个", "30余个", "over"),
        ("服务群众20多万人次", "20多万人次", "over"),
        ("种植树木3万余株", "3万余株", "over"),
        ("资金超1.5亿元", "超1.5亿元", "over"),
        ("参与人数超过8000人", "超过8000人", "over"),
        ("受益人数逾5万人", "逾5万人", "over"),
        ("注册人数突破10万人", "突破10万人", "over"),
        ("覆盖率90%以上", "90%以上", "over"),
        ("巡演千余场", "千余场", "over"),
        ("参与人数超万人", "超万人", "over"),
        ("惠及约3万人", "约3万人", "approx"),
        ("惠及近5000户", "近5000户", "approx"),
        ("大约200名", "大约200名", "approx"),
        ("用时30天左右", "30天左右", "approx"),
        ("面积20公顷上下", "20公顷上下", "approx"),
        ("不到100个", "不到100个", "under"),
        ("不足50人", "不足50人", "under"),
        ("约为3000人", "约为3000人", "approx"),
        ("上万名群众参与", "上万名", "over"),
        ("建成书屋18座", "18座", "exact"),
        ("最近3天完成", "3天", "exact"),
        ("节约3000元", "3000元", "exact"),
        ("修建一条约900米的步道", "约900米", "approx"),
    ],
)
def test_qualifiers(text: str, surface: str, qualifier: str) -> None:
    (found,) = quantities(text)
    assert (found[0], found[4]) == (surface, qualifier)


# -- not figures ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "2023年11月8日09:30发布",
        "自2019年起实施",
        "第三届文明城市表彰",
        "第5次全体会议",
        "首批试点单位",
        "排名前3位",
        "拨打12345热线反映问题",
        "新建5G基站，打造4A级景区",
        "咨询电话0797-8123456",
        "统筹谋划“一盘棋”，弘扬二十四孝文化",
        "实施“五个一工程”，开展“十万青年进社区”活动",
        "千家万户共享文明成果",
        "十分重视，百姓点赞",
        "每天工作24小时，为65周岁以上老人体检",
        "用了3个月时间",
        "北宋太平兴国七年建城",
        "二〇二三年工作回顾",
        "上下班高峰期",
        "成千上万人参与",
    ],
)
def test_not_figures(text: str) -> None:
    assert quantities(text) == []


def test_a_hotline_in_a_sentence_is_not_chrome(extractor: Extractor) -> None:
    assert [m.surface for m in extract(extractor, "政务服务热线12345受理诉求5万件。")] == ["5万件"]


def test_a_short_comment_counter_is_chrome_but_a_sentence_is_not(extractor: Extractor) -> None:
    text = "热门评论(12条)\n今年收到群众留言300条，全部答复。\n"
    assert [m.surface for m in extract(extractor, text)] == ["300条"]


def test_page_chrome_is_not_figures(extractor: Extractor) -> None:
    text = "某市开展活动200场。\n阅读 3521 次  反对 0 举报 0\n联系电话：010-12345678  QQ：123456789\n"
    assert [m.surface for m in extract(extractor, text)] == ["200场"]


# -- sentence structure ---------------------------------------------------------------------------------


def test_distributive_sentence_gives_each_value(extractor: Extractor) -> None:
    metrics = extract(extractor, "全县城乡低保标准每月分别提高20元和35元。")
    assert [(m.value, m.unit_kind) for m in metrics] == [(20, "money_cny"), (35, "money_cny")]
    assert {m.indicator for m in metrics} == {"livelihood.assistance_standard_increase"}


@pytest.mark.parametrize(
    ("text", "subjects"),
    [
        ("城乡低保标准每月分别提高20元和35元。", ["城市低保标准", "农村低保标准"]),
        ("机构、散居孤儿养育费分别提高4%和6%。", ["机构孤儿养育费", "散居孤儿养育费"]),
    ],
)
def test_distributive_sentence_gives_each_its_subject(
    extractor: Extractor, text: str, subjects: list[str]
) -> None:
    assert [m.subject for m in extract(extractor, text)] == subjects


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


def test_subject_names_what_is_counted(extractor: Extractor) -> None:
    (metric,) = extract(extractor, "新建城市书房12座。")
    assert metric.subject is not None and "城市书房" in metric.subject


def test_corner_brackets_read_as_quotes(extractor: Extractor) -> None:
    (metric,) = extract(extractor, "累计整治「蜘蛛网」320公里。")
    assert metric.indicator == "city.overhead_cable_rectified_length"


def test_catalog_triggers_are_data() -> None:
    codes = {indicator.code for indicator in load_catalog()}
    assert {"volunteer.registered", "practice.stations", "governance.satisfaction_rate"} <= codes


# -- years ----------------------------------------------------------------------------------------------


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


def test_relative_year_resolves_only_when_asked() -> None:
    text = "发布时间：2022-06-01\n某市今年新建公园6座。\n"
    plain = Extractor()
    resolving = Extractor(resolve_relative_years=True)
    assert [m.year for m in extract(plain, text)] == [None]
    assert [m.year for m in extract(resolving, text)] == [2022]


# -- provenance -----------------------------------------------------------------------------------------


def test_offsets_point_into_the_original(extractor: Extractor) -> None:
    original = "淮北市建成29.6平方公裡海綿城市，42萬名志願者活躍。"
    text = (
        original.replace("裡", "里")
        .replace("綿", "绵")
        .replace("萬", "万")
        .replace("願", "愿")
        .replace("躍", "跃")
    )
    _, metrics = extractor.extract(text, original=original, offsets=range(len(original)))
    assert [m.surface for m in metrics] == ["29.6平方公裡", "42萬名"]
    for m in metrics:
        assert original[m.start : m.end] == m.surface


def test_offsets_follow_a_length_changing_normalization(extractor: Extractor) -> None:
    original = "全市　共建成\n驿站 ３０ 个。"
    text = "全市共建成驿站30个。"
    offsets = [i for i, ch in enumerate(original) if ch not in "　\n "]
    offsets_text = [original[i] for i in offsets]
    assert "".join(offsets_text).translate(str.maketrans("３０", "30")) == text
    (metric,) = extract_with(extractor, text, original, offsets)
    assert original[metric.start : metric.end] == metric.surface == "３０ 个"


def extract_with(extractor: Extractor, text: str, original: str, offsets: list[int]) -> list[Metric]:
    _, metrics = extractor.extract(text, original=original, offsets=offsets)
    return metrics


def test_metadata(extractor: Extractor) -> None:
    text = (
        "首页 > 新闻中心\n江西某县：文明创建见实效\n发布时间：2023-11-08 来源：赣南日报 作者：刘明\n"
        "赣州市章贡区新建公园3座。\n"
    )
    metadata, _ = extractor.extract(text, original=text, offsets=range(len(text)))
    assert metadata.title == "江西某县：文明创建见实效"
    assert str(metadata.published_on) == "2023-11-08"
    assert metadata.source == "赣南日报"
    assert metadata.author == "刘明"
    assert "赣州市章贡区" in metadata.places
