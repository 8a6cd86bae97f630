"""Place gazetteer and the place each figure belongs to."""

from __future__ import annotations

import pytest

from services.extract.extractor import Extractor
from services.extract.gazetteer import Gazetteer
from services.extract.places import PlaceResolver, main_place


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.from_jionlp()


@pytest.fixture(scope="module")
def extractor(gazetteer: Gazetteer) -> Extractor:
    return Extractor(gazetteer=gazetteer)


def _bounds(text: str) -> set[int]:
    import jieba

    bounds = {0, len(text)}
    for _, start, end in jieba.tokenize(text):
        bounds |= {start, end}
    return bounds


def resolved(gazetteer: Gazetteer, text: str) -> list[str]:
    return [place.display for _, place in PlaceResolver(gazetteer, text, _bounds).mentions]


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


def test_district_needs_its_city_in_the_document(gazetteer: Gazetteer) -> None:
    text = "乌海市召开大会。海南区新建公园3座。"
    assert resolved(gazetteer, text) == ["乌海市", "乌海市海南区"]


def test_bare_name_counts_when_the_document_writes_it_in_full(gazetteer: Gazetteer) -> None:
    assert resolved(gazetteer, "保定深化未成年人思想道德建设") == []
    assert resolved(gazetteer, "保定市推进创建。保定深化建设") == ["保定市", "保定市"]


def test_main_place_prefers_the_most_named_city(gazetteer: Gazetteer) -> None:
    text = "孝义市坚持常态推进，孝义市满意率位居吕梁市前列，孝义市再创佳绩"
    place = main_place(PlaceResolver(gazetteer, text, _bounds).mentions)
    assert place is not None and place.display == "孝义市"


def test_each_article_of_a_page_has_its_own_place(extractor: Extractor) -> None:
    text = (
        "文明创建看各地\n\n"
        "福建福清市：幸福清单变成幸福账单\n\n◎ 林峰\n\n"
        "福清市坚持以人民为中心，新建城市书房12座。\n\n"
        "江苏无锡市：楼道里的文明\n\n本报讯(张三)无锡市新增星级楼道100个。\n\n"
        "内蒙古乌海市海南区：民生实事办到心坎上\n\n◎ 李四\n\n海南区建成养老服务驿站14个。\n"
    )
    _, metrics = extractor.extract(text, original=text, offsets=range(len(text)))
    assert [(m.value, m.city) for m in metrics] == [
        (12, "福清市"),
        (100, "无锡市"),
        (14, "乌海市海南区"),
    ]


def test_a_sentence_led_by_another_place_belongs_to_it(extractor: Extractor) -> None:
    text = (
        "鞍山市：创城纪实\n\n◎ 王五\n\n鞍山市新建口袋公园20座。\n\n"
        "3月2日，重庆市梁平区举办招聘会，120家用人单位提供岗位3000余个。\n"
    )
    _, metrics = extractor.extract(text, original=text, offsets=range(len(text)))
    assert [m.city for m in metrics] == ["鞍山市", "重庆市梁平区", "重庆市梁平区"]


def test_the_parent_city_named_in_passing_does_not_take_the_figure(extractor: Extractor) -> None:
    text = "孝义市创建纪实\n孝义市今年172条留言全部答复，满意率83%，位居吕梁市前列。\n"
    _, metrics = extractor.extract(text, original=text, offsets=range(len(text)))
    assert {m.city for m in metrics} == {"孝义市"}


def test_traditional_text_resolves_after_conversion(extractor: Extractor) -> None:
    original = "淮北市:為群眾創造高品質生活\n淮北市建成29.6平方公裡海綿城市。\n"
    text = "淮北市:为群众创造高品质生活\n淮北市建成29.6平方公里海绵城市。\n"
    metadata, metrics = extractor.extract(text, original=original, offsets=range(len(original)))
    assert metadata.places == ("淮北市",)
    assert [(m.surface, m.city) for m in metrics] == [("29.6平方公裡", "淮北市")]


def test_datelines_name_the_place_of_their_paragraph(extractor: Extractor) -> None:
    text = "各地简讯\n【南京】近日，南京新建口袋公园30个。\n【苏州】苏州新增停车泊位5000个。\n"
    _, metrics = extractor.extract(text, original=text, offsets=range(len(text)))
    assert [(m.value, m.city) for m in metrics] == [(30, "南京市"), (5000, "苏州市")]


def test_a_bare_name_in_passing_is_not_a_place(gazetteer: Gazetteer) -> None:
    assert resolved(gazetteer, "有机会去南京出差") == []
