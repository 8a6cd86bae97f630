"""Rules found by a second round of unseen reports (tests/data/heldout/round2): work-report numbering,
tables as text, portal chrome, bullets and clause-level places, provincial roundups, change baselines."""

from __future__ import annotations

import pytest

from services.extract.catalog import load_catalog
from services.extract.dates import find_years
from services.extract.extractor import Extractor
from services.extract.figures import find_figures
from services.extract.gazetteer import Gazetteer
from services.extract.indicators import IndicatorMatcher
from services.extract.sentences import clause_bounds, heading_level, is_table_row, split_paragraphs
from shared.contracts import Metric
from tests.support.extraction import extract


@pytest.fixture(scope="module")
def matcher() -> IndicatorMatcher:
    return IndicatorMatcher(load_catalog())


def by_surface(metrics: list[Metric]) -> dict[str, Metric]:
    return {m.surface: m for m in metrics}


# -- figures --------------------------------------------------------------------------------------------


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
def test_figures(text: str, expected: list[tuple[float, str, str]]) -> None:
    assert [(f.value, f.unit_kind, f.measure_word) for f in find_figures(text)] == expected


def test_percent_point_ellipsis_keeps_its_surface_short() -> None:
    first, _ = find_figures("分别提高3.5个和1.2个百分点")
    assert (first.end - first.start, first.qualifier) == (len("3.5个"), "exact")


# -- page chrome ----------------------------------------------------------------------------------------


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
def test_chrome(extractor: Extractor, text: str, surfaces: list[str]) -> None:
    assert [m.surface for m in extract(extractor, text)] == surfaces


# -- years ----------------------------------------------------------------------------------------------


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
def test_years(extractor: Extractor, body: str, surface: str, year: int | None) -> None:
    metric = by_surface(extract(extractor, "某市文明办工作简报\n\n" + body))[surface]
    assert metric.year == year


def test_numbered_heading_stands_on_its_own_line() -> None:
    text = "二、存在的问题\n\n一是部分小区管理不到位；二是宣传不够深入。\n"
    assert [p.is_heading for p in split_paragraphs(text)] == [True, False]


@pytest.mark.parametrize(
    ("line", "level"),
    [("一、总体情况", 1), ("（二）城市管理", 2), ("3.志愿服务", 3), ("（4）其他", 4), ("城市管理", 0)],
)
def test_heading_levels(line: str, level: int) -> None:
    assert heading_level(line) == level


def test_table_rows() -> None:
    assert is_table_row("指标 | 2022年 | 2023年") and not is_table_row("甲|乙")


# -- places ---------------------------------------------------------------------------------------------

_HEFEI = "合肥：文明之花处处开\n\n合肥市持续推进全国文明城市创建。\n\n"


@pytest.mark.parametrize(
    ("body", "surface", "city"),
    [
        # A bullet sign, a short opening clause or a connective may come before the sentence's place.
        ("▲庐阳区新建口袋公园12个。", "12个", "合肥市庐阳区"),
        ("▲5月以来，蜀山区改造老旧小区45个。", "45个", "合肥市蜀山区"),
        ("以包河区为例，该区新增停车位900个。", "900个", "合肥市包河区"),
        ("另外，瑶海区的文明实践工作走在前列，全区建成实践站88个。", "88个", "合肥市瑶海区"),
        ("从各区情况看，包河区新建驿站16个。", "16个", "合肥市包河区"),
        # A quotation or a wire byline may open the sentence.
        ("“在庐江县，我们重点抓市场秩序。”该县今年已查处违规经营260起。", "260起", "合肥市庐江县"),
        ("本报讯（记者 张三 通讯员 李四）在瑶海区，新建驿站20个。", "20个", "合肥市瑶海区"),
        # '全市' brings a paragraph led by a district back to the city.
        ("在蜀山区，城管部门清理小广告3000余处。今年一季度，全市受理诉求8000件。", "8000件", "合肥市"),
        ("清晨七点，蜀山区的志愿者已上岗。记者了解到，今年全市新增公园8个。", "8个", "合肥市"),
        # A clause opening on a place of its own; a clause opening on '全市'.
        ("包河区新建驿站16个，瑶海区新建驿站9个。", "9个", "合肥市瑶海区"),
        ("包河区新建驿站16个，全市建成区绿化覆盖率达到45%。", "45%", "合肥市"),
        # A place opening a list is one of several: the figure is the city's.
        ("会上，蜀山区、市城管局等6个单位作交流发言。各部门负责人等200余人参会。", "200余人", "合肥市"),
        ("记者了解到，蜀山区、包河区两个城区共新建公厕40座。", "40座", "合肥市"),
        # A quotation belongs to the place of the speaker named right after it.
        (
            "“我们在景区设立了12个服务岗，每天有200多名志愿者上岗。”庐江县文明办负责人说。",
            "12个",
            "合肥市庐江县",
        ),
        ("“我们在景区设立了12个服务岗。”一位游客说。", "12个", "合肥市"),
        # The city named again takes the paragraph back from its district.
        ("在庐阳区，新建驿站12个。合肥市还组建志愿服务队300余支。", "300余支", "合肥市"),
        # '在全省率先' compares the city with the province: still the city's figure.
        ("合肥市在全省率先建成新时代文明实践站1400个。", "1400个", "合肥市"),
        # What the listed places share may stand before 分别.
        ("蜀山区、包河区测评成绩分别为93.5分和92.1分。", "92.1分", "合肥市包河区"),
    ],
)
def test_places(extractor: Extractor, body: str, surface: str, city: str) -> None:
    metric = by_surface(extract(extractor, _HEFEI + body))[surface]
    assert metric.city == city


_PROVINCE = (
    "安徽省文明办通报全省创建工作情况\n\n"
    "通报指出，全省累计投入创建资金约60亿元。从各地情况看，合肥市新建口袋公园85个；"
    "芜湖市新增停车泊位3万个。另据统计，全省共有16个设区市参加测评。\n"
)


@pytest.mark.parametrize(
    ("surface", "city"),
    [("约60亿元", "安徽省"), ("85个", "合肥市"), ("3万个", "芜湖市"), ("16个", "安徽省")],
)
def test_a_provincial_roundup_keeps_province_wide_figures(
    extractor: Extractor, surface: str, city: str
) -> None:
    assert by_surface(extract(extractor, _PROVINCE))[surface].city == city


_BARE_ROUNDUP = (
    "江苏省文明办通报全省创建工作\n\n"
    "通报指出，全省新增注册志愿者80余万名。苏州改造老旧小区300个；无锡新建口袋公园50个。\n"
)


@pytest.mark.parametrize(
    ("surface", "city"), [("80余万名", "江苏省"), ("300个", "苏州市"), ("50个", "无锡市")]
)
def test_a_roundup_names_its_province_cities_bare(extractor: Extractor, surface: str, city: str) -> None:
    assert by_surface(extract(extractor, _BARE_ROUNDUP))[surface].city == city


_CHAIN_TITLE = (
    "江苏盐城：文明创建让城市更有温度\n\n"
    "盐城持续推进文明创建。2023年，全市新增停车位3000个，亭湖区改造老旧小区25个。\n\n"
    "在东台，全市建成实践站356个。\n"
)


@pytest.mark.parametrize(
    ("surface", "city"), [("3000个", "盐城市"), ("25个", "盐城市亭湖区"), ("356个", "东台市")]
)
def test_a_city_named_by_a_chain_vouches_for_its_parts(extractor: Extractor, surface: str, city: str) -> None:
    assert by_surface(extract(extractor, _CHAIN_TITLE))[surface].city == city


def test_a_county_turned_district_is_known_by_its_new_name() -> None:
    gazetteer = Gazetteer.from_jionlp()
    (mention,) = gazetteer.scan("长泰区")
    assert [p.display for p in mention.places] == ["漳州市长泰区"]


# -- indicators -----------------------------------------------------------------------------------------


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
def test_indicators(matcher: IndicatorMatcher, sentence: str, surface: str, code: str | None) -> None:
    figures = find_figures(sentence)
    clauses = [clause_bounds(sentence, f.number_start) for f in figures]
    matches = matcher.match_sentence(sentence, figures, clauses, [False] * len(figures))
    found = {sentence[f.start : f.end]: m.code if m else None for f, m in zip(figures, matches, strict=True)}
    assert found[surface] == code
