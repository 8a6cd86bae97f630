"""Measuring a figure (figures.py): numeral, multiplier, measure word in base units, qualifier, range."""

from __future__ import annotations

import pytest

from services.extract.extractor import Extractor
from services.extract.figures import find_figures
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
        ("复垦土地300亩", "300亩", 200_000, "area_m2", "亩"),
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
    ("text", "surface", "value", "kind", "measure_word"),
    [
        ("全年志愿服务时长120万小时", "120万小时", 1_200_000, "hours", "小时"),
        ("人均服务时长达到36.5小时", "36.5小时", 36.5, "hours", "小时"),
        ("回收可再生资源3.2万吨", "3.2万吨", 32_000, "mass_t", "吨"),
        ("日处理餐厨垃圾800吨", "800吨", 800, "mass_t", "吨"),
        ("清运建筑垃圾1200余车", "1200余车", 1200, "count", "车"),
        ("清运垃圾3000车次", "3000车次", 3000, "times", "车次"),
    ],
)
def test_hours_tonnes_and_truckloads(
    text: str, surface: str, value: float, kind: str, measure_word: str
) -> None:
    (found,) = quantities(text)
    assert found[:4] == (surface, pytest.approx(value), kind, measure_word)


@pytest.mark.parametrize(
    "text",
    [
        "政务大厅提供24小时服务",
        "开通24小时自助图书馆",
        "实行24小时值班制度",
    ],
)
def test_round_the_clock_hours_are_no_figure(text: str) -> None:
    assert quantities(text) == []


def test_twenty_four_hours_of_service_time_is_a_figure() -> None:
    assert quantities("人均志愿服务时长24小时") == [("24小时", 24, "hours", "小时", "exact")]


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


@pytest.mark.parametrize(
    ("text", "surface", "value", "kind", "qualifier"),
    [
        # The noun the amount counts may follow it.
        ("服务300多万常住人口", "300多万", 3_000_000, "person", "over"),
        ("惠及1200万市民", "1200万", 12_000_000, "person", "exact"),
        ("统筹500万资金用于改造", "500万", 5_000_000, "money_cny", "exact"),
    ],
)
def test_bare_ten_thousands_take_their_kind_from_the_following_noun(
    text: str, surface: str, value: float, kind: str, qualifier: str
) -> None:
    (found,) = quantities(text)
    assert (found[0], found[1], found[2], found[4]) == (surface, value, kind, qualifier)


@pytest.mark.parametrize("text", ["全市共有300万", "房价上涨到1.2万"])
def test_bare_ten_thousands_with_no_noun_of_a_kind_are_no_figure(text: str) -> None:
    assert quantities(text) == []


def test_bare_ten_thousands_of_population_are_people() -> None:
    (figure,) = find_figures("全区常住人口约12万，注册志愿者却有4.5万余名")[:1]
    assert (figure.value, figure.unit_kind, figure.qualifier) == (120_000, "person", "approx")


# -- single Chinese digits ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "surface", "value", "kind"),
    [
        ("今年开展两次集中整治", "两次", 2, "times"),
        ("全区建成六个文明实践所", "六个", 6, "count"),
        ("组建三支宣讲队", "三支", 3, "count"),
        ("表彰五名道德模范", "五名", 5, "person"),
    ],
)
def test_a_single_chinese_digit_with_its_measure_word_is_a_count(
    text: str, surface: str, value: float, kind: str
) -> None:
    (found,) = quantities(text)
    assert found[:3] == (surface, value, kind)


@pytest.mark.parametrize(
    "text",
    [
        "志愿者来自四面八方",
        "坚决做到两个维护",
        "统筹推进五位一体总体布局",
        "增强四个意识",
        "打造一个温暖的城市",  # 一 is an article
        "组建一支志愿服务队",
    ],
)
def test_digits_of_idioms_slogans_and_articles_are_no_count(text: str) -> None:
    assert quantities(text) == []


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
def test_qualifiers_before_inside_and_after_the_number(text: str, surface: str, qualifier: str) -> None:
    (found,) = quantities(text)
    assert (found[0], found[4]) == (surface, qualifier)


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


# -- ranges ---------------------------------------------------------------------------------------------


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
    ("text", "surface", "value", "value_max", "qualifier"),
    [
        ("每户奖补3万—5万元", "3万—5万元", 30_000, 50_000, "exact"),
        ("单个项目投资2亿至3亿元", "2亿至3亿元", 200_000_000, 300_000_000, "exact"),
        ("每场活动约200至300人参加", "约200至300人", 200, 300, "approx"),
    ],
)
def test_a_range_of_two_amounts_with_multipliers_is_one_figure(
    text: str, surface: str, value: float, value_max: float, qualifier: str
) -> None:
    (figure,) = find_figures(text)
    assert (text[figure.start : figure.end], figure.value, figure.value_max, figure.qualifier) == (
        surface,
        value,
        value_max,
        qualifier,
    )


def test_two_amounts_of_different_kinds_are_no_range() -> None:
    figures = find_figures("新建公园3个至5万平方米")
    assert [(f.value, f.value_max) for f in figures] == [(3, None), (50_000, None)]


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
def test_dates_ordinals_codes_names_and_idioms_are_not_figures(text: str) -> None:
    assert quantities(text) == []


# -- rankings, ratios, tenths and shared measure words --------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A place counted from the bottom of a ranking is no quantity; '先后3次' is.
        ("对考核排名后5位的社区进行通报", []),
        ("测评成绩排名后2名的单位作表态发言", []),
        ("该社区先后3次获评先进", [(3, "times", "次")]),
        # '1.4个和2.2个百分点': the first '个' stands for the whole measure word.
        (
            "知晓率、支持率分别提高3.5个和1.2个百分点",
            [(3.5, "percentage_point", "个百分点"), (1.2, "percentage_point", "个百分点")],
        ),
        ("两区分别新建驿站3个和5个", [(3, "count", "个"), (5, "count", "个")]),
        # A ratio written with one Chinese digit is a quantity; an idiom is not.
        ("游客数量比上年增长了一倍", [(1, "multiple", "倍")]),
        ("服务效率提高近两倍", [(2, "multiple", "倍")]),
        ("志愿者们干劲十足、信心百倍", []),
        # Tenths ('九成') are a share, with one digit too; '一成不变' and '成为' are words.
        ("群众满意度达九成以上", [(90, "percent", "成")]),
        ("其中3成社区已达标", [(30, "percent", "成")]),
        ("规矩一成不变", []),
        # '百分之百' says in words that it is a share.
        ("实践阵地覆盖率达到百分之百", [(100, "percent", "%")]),
        ("其中200成为示范点", []),
    ],
)
def test_rankings_ratios_tenths_and_shared_percentage_points(
    text: str, expected: list[tuple[float, str, str]]
) -> None:
    assert [(f.value, f.unit_kind, f.measure_word) for f in find_figures(text)] == expected


def test_percent_point_ellipsis_keeps_its_surface_short() -> None:
    first, _ = find_figures("分别提高3.5个和1.2个百分点")
    assert (first.end - first.start, first.qualifier) == (len("3.5个"), "exact")


def test_a_full_stop_written_as_a_dot_does_not_glue_the_next_number() -> None:
    assert [(f.value, f.unit_kind) for f in find_figures("全部达标.30个站点已建成")] == [(30, "count")]


def test_a_numeral_inside_a_place_name_written_in_full_is_no_figure(extractor: Extractor) -> None:
    text = "绵阳：文明创建\n\n三台县打通断头路4条。五台县新建公园5个，新增三台洒水车。\n"
    assert [m.surface for m in extract(extractor, text)] == ["4条", "5个", "三台"]
