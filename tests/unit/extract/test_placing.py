"""The place pass (page_scope.py, placing.py, scoping.py): whose figure it is, and why. The page's and
each section's scope, segment heads, a place leading a sentence or clause, 全市/全省 scopes, national
figures, lists shared by 分别, and the place given with the file."""

from __future__ import annotations

import pytest

from services.extract.extractor import Extractor
from shared.contracts import FileFacts, Metric
from tests.support.extraction import by_surface, by_value, extract, extract_with_metadata


def places(metrics: list[Metric]) -> list[tuple[float, str | None, str]]:
    return [(m.value, m.city, m.place_basis) for m in metrics]


# -- a place leading a sentence, in a city's report -----------------------------------------------------

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
def test_a_place_leading_a_sentence_or_clause_in_a_city_report(
    extractor: Extractor, body: str, surface: str, city: str
) -> None:
    metric = by_surface(extract(extractor, _HEFEI + body))[surface]
    assert metric.city == city


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


def test_a_sentence_led_by_another_place_belongs_to_it(extractor: Extractor) -> None:
    text = (
        "鞍山市：创城纪实\n\n◎ 王五\n\n鞍山市新建口袋公园20座。\n\n"
        "3月2日，重庆市梁平区举办招聘会，120家用人单位提供岗位3000余个。\n"
    )
    assert [m.city for m in extract(extractor, text)] == ["鞍山市", "重庆市梁平区", "重庆市梁平区"]


def test_the_parent_city_named_in_passing_does_not_take_the_figure(extractor: Extractor) -> None:
    text = "孝义市创建纪实\n孝义市今年172条留言全部答复，满意率83%，位居吕梁市前列。\n"
    assert {m.city for m in extract(extractor, text)} == {"孝义市"}


@pytest.mark.parametrize(
    ("text", "county", "parent_value", "parent"),
    [
        (
            "张家港：文明创建再上新台阶\n\n张家港市新建口袋公园20个。苏州市实名注册志愿者达到180万人。"
            "张家港市新增停车位3000个。",
            "张家港市",
            1_800_000,
            "苏州市",
        ),
        (
            "宜兴：文明之花处处开\n\n宜兴市新建口袋公园20个。无锡市新增停车位3万个。",
            "宜兴市",
            30_000,
            "无锡市",
        ),
    ],
)
def test_a_parent_city_written_in_full_leading_a_sentence_on_a_county_page_takes_it(
    extractor: Extractor, text: str, county: str, parent_value: float, parent: str
) -> None:
    metrics = extract(extractor, text)
    parent_metric = by_value(metrics)[parent_value]
    assert (parent_metric.city, parent_metric.place_basis) == (parent, "sentence")
    assert {m.city for m in metrics if m.value != parent_value} == {county}


def test_a_place_beside_another_only_describes_it(extractor: Extractor) -> None:
    text = "肇庆：创建纪实\n\n肇庆市持续推进创建。与肇庆相邻的佛山市新建口袋公园20个。"
    (metric,) = extract(extractor, text)
    assert (metric.city, metric.place_basis) == ("佛山市", "sentence")


def test_a_district_beside_another_city_on_a_page_naming_no_place(extractor: Extractor) -> None:
    (metric,) = extract(extractor, "创建纪实\n\n与广州相邻的南海区新建口袋公园20个。")
    assert metric.city == "佛山市南海区"


def test_a_district_beside_another_city_on_its_own_citys_page(extractor: Extractor) -> None:
    text = "佛山：创建纪实\n\n佛山市持续推进创建。与广州相邻的南海区新建口袋公园20个。"
    (metric,) = extract(extractor, text)
    assert metric.city == "佛山市南海区"


# -- what a page is about -------------------------------------------------------------------------------


def test_a_unique_district_alone_is_placed_with_its_city(extractor: Extractor) -> None:
    (metric,) = extract(extractor, "福田区今年新增停车位3000个。")
    assert (metric.city, metric.place_code, metric.place_level, metric.place_basis) == (
        "深圳市福田区",
        "440304",
        "district",
        "document",
    )


def test_an_ambiguous_district_alone_is_not_guessed(extractor: Extractor) -> None:
    (metric,) = extract(extractor, "鼓楼区今年新增停车位3000个。")
    assert (metric.city, metric.place_code, metric.place_level, metric.place_basis) == (
        None,
        None,
        None,
        "none",
    )


@pytest.mark.parametrize(
    ("text", "basis"),
    [
        ("保定深化文明创建\n\n保定今年新建口袋公园40个。", "title"),
        ("文明创建见成效\n\n保定今年新建口袋公园40个。保定还新增停车位2000个。", "document"),
    ],
)
def test_a_short_city_name_in_the_title_or_named_twice_is_the_city(
    extractor: Extractor, text: str, basis: str
) -> None:
    metrics = extract(extractor, text)
    assert {(m.city, m.place_code, m.place_level, m.place_basis) for m in metrics} == {
        ("保定市", "130600", "prefecture", basis)
    }


def test_a_short_city_name_once_in_the_body_is_not_guessed(extractor: Extractor) -> None:
    (metric,) = extract(extractor, "文明创建见成效\n\n保定今年新建口袋公园40个。")
    assert (metric.city, metric.place_basis) == (None, "none")


def test_each_article_of_a_page_has_its_own_place(extractor: Extractor) -> None:
    text = (
        "文明创建看各地\n\n"
        "福建福清市：幸福清单变成幸福账单\n\n◎ 林峰\n\n"
        "福清市坚持以人民为中心，新建城市书房12座。\n\n"
        "江苏无锡市：楼道里的文明\n\n本报讯(张三)无锡市新增星级楼道100个。\n\n"
        "内蒙古乌海市海南区：民生实事办到心坎上\n\n◎ 李四\n\n海南区建成养老服务驿站14个。\n"
    )
    assert [(m.value, m.city) for m in extract(extractor, text)] == [
        (12, "福清市"),
        (100, "无锡市"),
        (14, "乌海市海南区"),
    ]


def test_traditional_text_resolves_after_conversion(extractor: Extractor) -> None:
    original = "淮北市:為群眾創造高品質生活\n淮北市建成29.6平方公裡海綿城市。\n"
    text = "淮北市:为群众创造高品质生活\n淮北市建成29.6平方公里海绵城市。\n"
    metadata, metrics = extractor.extract(text, original=original, offsets=range(len(original)))
    assert metadata.places == ("淮北市",)
    assert [(m.surface, m.city) for m in metrics] == [("29.6平方公裡", "淮北市")]


# -- roundups and segment heads -------------------------------------------------------------------------


def test_datelines_name_the_place_of_their_paragraph(extractor: Extractor) -> None:
    text = "各地简讯\n【南京】近日，南京新建口袋公园30个。\n【苏州】苏州新增停车泊位5000个。\n"
    assert [(m.value, m.city) for m in extract(extractor, text)] == [(30, "南京市"), (5000, "苏州市")]


def test_a_bracketed_province_before_a_citys_dateline_does_not_win(extractor: Extractor) -> None:
    text = "各地创建动态\n\n【浙江】湖州：全市新增停车位5000个。\n\n【江苏】常州：全市新建口袋公园30个。\n"
    assert [(m.value, m.city) for m in extract(extractor, text)] == [(5000, "湖州市"), (30, "常州市")]


def test_a_segment_head_names_the_place_of_the_figures_under_it(extractor: Extractor) -> None:
    text = (
        "全省创建工作综述\n\n一、武汉市\n\n全市新增停车位5000个。\n\n二、宜昌市\n\n全市新建口袋公园30个。\n"
    )
    assert places(extract(extractor, text)) == [(5000, "武汉市", "section"), (30, "宜昌市", "section")]


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


_PROVINCE_REPORT = (
    "文明创建工作情况通报\n\n"
    "今年以来，我省扎实推进文明创建。全省新增注册志愿者50万名。全省共建成新时代文明实践站2万个。"
    "石家庄市新建口袋公园60个。我省将继续推进。全省群众满意率达到95%。\n"
)


def test_a_province_report_without_a_place_in_its_title_is_the_provinces(extractor: Extractor) -> None:
    assert places(extract(extractor, _PROVINCE_REPORT)) == [
        (500_000, "河北省", "document"),
        (20_000, "河北省", "document"),
        (60, "石家庄市", "sentence"),
        (95, "河北省", "document"),
    ]


def test_a_province_figure_carries_the_provinces_code_and_level(extractor: Extractor) -> None:
    metric = extract(extractor, _PROVINCE_REPORT)[0]
    assert (metric.place_code, metric.place_level) == ("130000", "province")


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


def test_short_city_names_listed_with_fenbie_each_take_their_value(extractor: Extractor) -> None:
    text = "西部城市创建观察\n\n昆明、贵阳、成都分别新建口袋公园30个、25个和40个。"
    assert places(extract(extractor, text)) == [
        (30, "昆明市", "sentence"),
        (25, "贵阳市", "sentence"),
        (40, "成都市", "sentence"),
    ]


# -- national figures and honours -----------------------------------------------------------------------


def test_a_national_figure_belongs_to_no_place(extractor: Extractor) -> None:
    text = "某市文明创建纪实\n\n杭州市新建口袋公园20个。据统计，全国共有全国文明城市151个。"
    assert places(extract(extractor, text)) == [(20, "杭州市", "document"), (151, None, "none")]


def test_national_honours_are_not_a_national_scope(extractor: Extractor) -> None:
    text = (
        "杭州市荣获全国文明城市称号\n\n杭州市新增全国道德模范3名。"
        "全国文明城市测评中，杭州市新建口袋公园20个。"
    )
    assert places(extract(extractor, text)) == [(3, "杭州市", "title"), (20, "杭州市", "title")]


# -- the place given with the file ----------------------------------------------------------------------


def test_a_page_naming_no_place_takes_the_files(extractor: Extractor) -> None:
    metadata, (metric,) = extract_with_metadata(
        extractor, "今年新建口袋公园20个。", file_facts=FileFacts(place="老河口市")
    )
    assert (metric.city, metric.place_code, metric.place_level, metric.place_basis) == (
        "老河口市",
        "420682",
        "county",
        "file",
    )
    assert metadata.places == ("老河口市",)


def test_a_place_the_page_names_wins_over_the_files(extractor: Extractor) -> None:
    _, (metric,) = extract_with_metadata(
        extractor, "老河口市新建口袋公园20个。", file_facts=FileFacts(place="襄阳市")
    )
    assert (metric.city, metric.place_basis) == ("老河口市", "document")


def test_an_ambiguous_place_given_with_the_file_is_not_guessed(extractor: Extractor) -> None:
    _, (metric,) = extract_with_metadata(
        extractor, "今年新建口袋公园20个。", file_facts=FileFacts(place="鼓楼区")
    )
    assert (metric.city, metric.place_basis) == (None, "none")


# -- scopes named with the place, back-references, dashes, rankings, counties named bare -----------------

_LUJIANG = "庐江：文明创建见实效\n\n庐江县持续推进文明城市创建。合肥市各县区同步推进。\n\n"


@pytest.mark.parametrize(
    ("page", "body", "surface", "city"),
    [
        # '合肥全市…' on a county's page: the city named with 全市 speaks for its whole.
        (_LUJIANG, "新建驿站12个。据了解，合肥全市注册志愿者达到120万人。", "120万人", "合肥市"),
        # '县文明办…' goes on about the county in force, though the sentence before spoke of the city.
        (
            _LUJIANG,
            "据了解，合肥全市注册志愿者达到120万人。县文明办负责人表示，年内将再建驿站20个。",
            "20个",
            "合肥市庐江县",
        ),
        # A dash opens a clause of its own, led by its own place.
        (
            _LUJIANG,
            "与相邻的肥西县相比，庐江县仍有差距——肥西县注册志愿者已超过20万名。",
            "超过20万名",
            "合肥市肥西县",
        ),
        # A year may follow an opening clause before the sentence's place.
        (_HEFEI, "城市管理方面，2024年蜀山区清理小广告3000余处。", "3000余处", "合肥市蜀山区"),
        # '全省…' in a city's report is the province's figure, unless the city is compared with it.
        (_HEFEI, "全省注册志愿者达到1300万人。", "1300万人", "安徽省"),
        (_HEFEI, "合肥市在全省率先建成新时代文明实践站1400个。", "1400个", "合肥市"),
        # The place singled out of a ranking is its clause's subject.
        (_HEFEI, "各区满意率平均为92%，最高的蜀山区达到97.3%。", "97.3%", "合肥市蜀山区"),
        # A county of the page's city, named bare as the subject of a clause.
        (_HEFEI, "庐江新建农贸市场6个。", "6个", "合肥市庐江县"),
        (_HEFEI, "2024年，肥西新建口袋公园9个；肥东改造老旧小区15个。", "15个", "合肥市肥东县"),
    ],
)
def test_scopes_back_references_dashes_rankings_and_bare_counties(
    extractor: Extractor, page: str, body: str, surface: str, city: str
) -> None:
    metric = by_surface(extract(extractor, page + body))[surface]
    assert metric.city == city


def test_a_districts_bare_short_name_is_a_word_not_the_district(extractor: Extractor) -> None:
    # 佳木斯 has districts named 前进区 and 向阳区: '前进', '向阳' alone are words.
    text = "佳木斯：文明之花处处开\n\n佳木斯市持续推进文明城市创建。\n\n向阳新建驿站5个。\n"
    assert by_surface(extract(extractor, text))["5个"].city == "佳木斯市"


# -- transcripts, 我县, provinces after an opening, kinds of place, names right before their figures --------


def test_a_press_conference_gives_each_speakers_words_to_the_speakers_place(extractor: Extractor) -> None:
    text = (
        "绵阳市创建全国文明城市新闻发布会实录\n\n"
        "涪城区副区长 张三：\n全区新建公厕20座。\n\n"
        "市文明办主任 李四：\n全市注册志愿者达到50万人。\n\n"
        "游仙区委书记 王五：\n全区新建驿站12个。\n\n"
        "李四：明年全市将新建公园10个。\n"
    )
    assert [(m.value, m.city) for m in extract(extractor, text)] == [
        (20, "绵阳市涪城区"),
        (500_000, "绵阳市"),
        (12, "绵阳市游仙区"),
        (10, "绵阳市"),
    ]


_MIANYANG = "绵阳：文明之花处处开\n\n绵阳市持续推进全国文明城市创建。\n\n"


@pytest.mark.parametrize(
    ("page", "body", "surface", "city"),
    [
        # '我县…' speaks for the county as '全县' does.
        (
            "南部县创建工作简报\n\n南部县持续推进创建。\n\n",
            "南充市创建办暗访发现，我县存在问题点位40个。",
            "40个",
            "南充市南部县",
        ),
        # Who said it may open the sentence, however long its name.
        (_MIANYANG, "四川省委宣传部日前透露，截至2024年底，四川共有全国文明城市18个。", "18个", "四川省"),
        # A province after an opening clause is the subject; one setting the scene is not.
        (_MIANYANG, "据悉，四川省目前注册志愿者已超过1000万人。", "超过1000万人", "四川省"),
        (_MIANYANG, "在四川省，绵阳市新建口袋公园30个。", "30个", "绵阳市"),
        # What kind of place it is may be said before its name.
        (_MIANYANG, "县级市江油市新增停车泊位3000个。", "3000个", "江油市"),
        # A figure written right after a place's name is that place's.
        (_MIANYANG, "三台县2名、盐亭县1名候选人入选。", "1名", "绵阳市盐亭县"),
        # An autonomous prefecture's short form ('凉山州') is a name written in full.
        (_MIANYANG, "2024年，凉山州、甘孜州群众满意率分别为94.1%、95.6%。", "95.6%", "甘孜藏族自治州"),
    ],
)
def test_we_provinces_kinds_of_place_and_adjacent_names(
    extractor: Extractor, page: str, body: str, surface: str, city: str
) -> None:
    assert by_surface(extract(extractor, page + body))[surface].city == city


def test_a_papers_masthead_is_not_the_place_of_the_story(extractor: Extractor) -> None:
    text = "小巷里的文明经——涪城区城厢街道见闻\n\n绵阳日报 2025年10月22日\n\n社区共有居民2800户。\n"
    assert by_surface(extract(extractor, text))["2800户"].city == "绵阳市涪城区"


def test_a_title_naming_two_cities_side_by_side_is_about_neither_alone(extractor: Extractor) -> None:
    text = (
        "比学赶超争创文明城——绵阳、德阳两市创城观察\n\n绵阳市和德阳市同为全国文明城市。\n\n"
        "德阳新增停车泊位6500个，比绵阳多出2300个。\n"
    )
    assert by_surface(extract(extractor, text))["6500个"].city == "德阳市"


def test_a_bare_name_of_a_city_and_its_county_is_the_one_written_in_full(extractor: Extractor) -> None:
    # '抚顺' names both 抚顺市 and its 抚顺县; the page writes 抚顺市 out.
    text = "抚顺：文明创建见实效\n\n抚顺市持续推进创建。\n\n抚顺新增停车泊位3000个。\n"
    assert by_surface(extract(extractor, text))["3000个"].city == "抚顺市"
