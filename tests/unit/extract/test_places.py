"""The place gazetteer and the resolution of place names in a page (places.py): official names and chains,
short forms, districts named without their city, ambiguity left unresolved, and lists shared by 分别."""

from __future__ import annotations

import re
from collections.abc import Callable

import jieba
import pytest

from services.extract.gazetteer import Gazetteer, Level, Place
from services.extract.places import (
    PlaceResolver,
    collapse_chains,
    distribute_places,
    main_place,
    most_specific,
)


def _bounds(text: str) -> set[int]:
    bounds = {0, len(text)}
    for _, start, end in jieba.tokenize(text):
        bounds |= {start, end}
    return bounds


def resolved(gazetteer: Gazetteer, text: str) -> list[str]:
    return [place.display for _, place in PlaceResolver(gazetteer, text, _bounds).mentions]


# -- the gazetteer --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "display", "level", "code"),
    [
        ("老河口市", "老河口市", "county", "420682"),
        ("湖北省老河口市", "老河口市", "county", "420682"),
        ("深圳市福田区", "深圳市福田区", "district", "440304"),
        ("福田区", "深圳市福田区", "district", "440304"),  # China's only 福田区
        ("南京市鼓楼区", "南京市鼓楼区", "district", "320106"),
        ("保定", "保定市", "prefecture", "130600"),
        ("浙江", "浙江省", "province", "330000"),
    ],
)
def test_lookup_finds_the_one_place_a_name_stands_for(
    gazetteer: Gazetteer, name: str, display: str, level: str, code: str
) -> None:
    place = gazetteer.lookup(name)
    assert place is not None
    assert (place.display, place.kind, place.code) == (display, level, code)


@pytest.mark.parametrize("name", ["鼓楼区", "朝阳区", "不存在市", ""])
def test_lookup_of_an_ambiguous_or_unknown_name_is_none(gazetteer: Gazetteer, name: str) -> None:
    assert gazetteer.lookup(name) is None


def test_a_place_knows_its_parents(gazetteer: Gazetteer) -> None:
    district = gazetteer.lookup("深圳市福田区")
    city = gazetteer.lookup("深圳市")
    province = gazetteer.lookup("广东省")
    assert district is not None and city is not None and province is not None
    assert district.is_within(city) and district.is_within(province) and district.is_within(district)
    assert not city.is_within(district)
    assert most_specific([province, city, district]) == district


def test_a_county_level_city_is_a_county_and_a_district_is_a_district(gazetteer: Gazetteer) -> None:
    county_city = gazetteer.lookup("义乌市")
    district = gazetteer.lookup("杭州市西湖区")
    assert county_city is not None and district is not None
    assert (county_city.display, county_city.level, county_city.kind) == ("义乌市", "county", "county")
    assert (district.display, district.level, district.kind) == ("杭州市西湖区", "county", "district")


def test_a_county_turned_district_is_known_by_its_new_name(gazetteer: Gazetteer) -> None:
    (mention,) = gazetteer.scan("长泰区")
    assert [p.display for p in mention.places] == ["漳州市长泰区"]


# -- resolving the names of a page ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("内蒙古自治区乌海市海南区坚持以人民为中心", ["内蒙古自治区", "乌海市", "乌海市海南区"]),
        ("山西省孝义市恢复全国文明城市资格", ["山西省", "孝义市"]),
        ("重庆市梁平区举办招聘会", ["重庆市", "重庆市梁平区"]),
        ("浙江宁波市镇海区庄市街道", ["浙江省", "宁波市", "宁波市镇海区"]),
        ("湖北枝江：下足绣花功夫。湖北省枝江市以精细化管理为抓手", ["湖北省", "枝江市", "湖北省", "枝江市"]),
    ],
)
def test_official_names_and_chains(gazetteer: Gazetteer, text: str, expected: list[str]) -> None:
    assert resolved(gazetteer, text) == expected


def test_a_written_chain_names_its_deepest_place(gazetteer: Gazetteer) -> None:
    text = "成都市武侯区新建公园"
    chains = collapse_chains(PlaceResolver(gazetteer, text, _bounds).mentions)
    assert [(m.surface, p.display) for m, p in chains] == [("成都市武侯区", "成都市武侯区")]


@pytest.mark.parametrize(
    "text",
    [
        "变责任清单为群众的幸福清单",  # 福清 inside 幸福清单
        "打通大庆路等3条断头路",  # a street named after a city
    ],
)
def test_place_names_inside_other_words_are_not_places(gazetteer: Gazetteer, text: str) -> None:
    assert resolved(gazetteer, text) == []


@pytest.mark.parametrize(
    "text",
    [
        "孝义市郑兴公园内南湖区浑浊的湖水已变清",  # a park's lake area, not 嘉兴市南湖区
        "孝义市召开大会。海南区新建公园3座。",  # a unique district, once, in a page about another city
    ],
)
def test_a_district_named_once_in_a_page_about_another_city_is_not_taken(
    gazetteer: Gazetteer, text: str
) -> None:
    assert resolved(gazetteer, text) == ["孝义市"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("福田区今年新增停车位3000个。", "深圳市福田区"),  # the only place the page names, and unique
        ("武侯区文明创建\n武侯区今年新增停车位300个。", "成都市武侯区"),
    ],
)
def test_a_unique_district_the_page_is_about_is_taken_without_its_city(
    gazetteer: Gazetteer, text: str, expected: str
) -> None:
    assert set(resolved(gazetteer, text)) == {expected}


def test_an_ambiguous_district_alone_is_left_unplaced(gazetteer: Gazetteer) -> None:
    assert resolved(gazetteer, "鼓楼区今年新增停车位3000个。") == []


def test_an_ambiguous_district_is_settled_by_its_city_in_the_page(gazetteer: Gazetteer) -> None:
    assert resolved(gazetteer, "福州市召开创建大会。鼓楼区新增停车位3000个。") == ["福州市", "福州市鼓楼区"]


def test_district_needs_its_city_in_the_document(gazetteer: Gazetteer) -> None:
    text = "乌海市召开大会。海南区新建公园3座。"
    assert resolved(gazetteer, text) == ["乌海市", "乌海市海南区"]


def test_bare_name_counts_when_the_document_writes_it_in_full(gazetteer: Gazetteer) -> None:
    assert resolved(gazetteer, "保定深化未成年人思想道德建设") == []
    assert resolved(gazetteer, "保定市推进创建。保定深化建设") == ["保定市", "保定市"]


@pytest.mark.parametrize(
    "text",
    [
        "保定深化创建\n保定今年新建口袋公园40个。",  # in the title
        "文明创建见成效\n保定今年新建口袋公园40个。保定还新增停车位2000个。",  # named twice
    ],
)
def test_a_short_city_name_the_page_is_about_is_taken(gazetteer: Gazetteer, text: str) -> None:
    assert set(resolved(gazetteer, text)) == {"保定市"}


def test_a_short_city_name_once_in_passing_is_not_taken(gazetteer: Gazetteer) -> None:
    assert resolved(gazetteer, "文明创建见成效\n保定今年新建口袋公园40个。") == []


def test_short_city_names_listed_together_vouch_for_one_another(gazetteer: Gazetteer) -> None:
    assert resolved(gazetteer, "昆明、贵阳、成都分别新建口袋公园30个、25个和40个。") == [
        "昆明市",
        "贵阳市",
        "成都市",
    ]


def test_a_bracketed_dateline_vouches_for_its_short_name(gazetteer: Gazetteer) -> None:
    assert resolved(gazetteer, "各地简讯\n【南京】近日，南京新建口袋公园30个。") == ["南京市", "南京市"]


def test_main_place_prefers_the_most_named_city(gazetteer: Gazetteer) -> None:
    text = "孝义市坚持常态推进，孝义市满意率位居吕梁市前列，孝义市再创佳绩"
    place = main_place(PlaceResolver(gazetteer, text, _bounds).mentions)
    assert place is not None and place.display == "孝义市"


def test_a_bare_name_in_passing_is_not_a_place(gazetteer: Gazetteer) -> None:
    assert resolved(gazetteer, "有机会去南京出差") == []


# -- places shared out by 分别 ---------------------------------------------------------------------------

_CITY = Place("杭州市", "prefecture", (), "3301")


def _district(name: str) -> Place:
    level: Level = "county"
    return Place(name, level, (_CITY,), "330100")


def _clause_start(compact: str) -> Callable[[int], int]:
    def clause_of(pos: int) -> int:
        return max(compact.rfind(mark, 0, pos) for mark in "，,：:") + 1

    return clause_of


@pytest.mark.parametrize(
    ("compact", "names", "expected"),
    [
        ("西湖区、拱墅区分别新建公园12个和15个。", ["西湖区", "拱墅区"], {0: "西湖区", 1: "拱墅区"}),
        ("西湖区和拱墅区分别新建公园12个和15个。", ["西湖区", "拱墅区"], {0: "西湖区", 1: "拱墅区"}),
        (
            "全市2万个，其中西湖区、拱墅区分别新增4000个和3500个。",
            ["西湖区", "拱墅区"],
            {1: "西湖区", 2: "拱墅区"},
        ),
        # Counts must agree: two places, three values share nothing out.
        ("西湖区、拱墅区分别新建公园12个、15个和9个。", ["西湖区", "拱墅区"], {}),
        # The places must stand right before 分别, as one list.
        ("西湖区的甲和拱墅区的乙分别新建公园12个和15个。", ["西湖区", "拱墅区"], {}),
        # A single place is no list.
        ("西湖区分别新建公园12个和15个。", ["西湖区"], {}),
    ],
)
def test_distribute_places(compact: str, names: list[str], expected: dict[int, str]) -> None:
    named = [(compact.index(n), compact.index(n) + len(n), _district(n)) for n in names]
    figures = [m.start() for m in re.finditer(r"\d+", compact)]
    clause_of = _clause_start(compact)
    shared = distribute_places(compact, figures, named, clause_of)
    assert {i: p.name for i, p in shared.items()} == expected
