"""The extractor end to end (extractor.py): every pass run in order, each figure as a Metric with its
measure, change, place and basis, year, indicator and subject, and offsets into the original text."""

from __future__ import annotations

from datetime import date

from services.extract.extractor import Extractor
from shared.contracts import FileFacts, Metric
from tests.support.extraction import extract, extract_with_metadata


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


def test_the_file_gives_date_and_source_the_page_does_not_state(extractor: Extractor) -> None:
    facts = FileFacts(place="老河口市", source="老河口市文明办", published_on=date(2024, 3, 1))
    metadata, _ = extract_with_metadata(extractor, "今年新建口袋公园20个。", file_facts=facts)
    assert (metadata.published_on, metadata.source, metadata.places) == (
        date(2024, 3, 1),
        "老河口市文明办",
        ("老河口市",),
    )


def test_the_pages_own_date_and_source_win_over_the_files(extractor: Extractor) -> None:
    text = "某市：文明创建见实效\n发布时间：2023-11-08 来源：某某日报\n今年新建口袋公园20个。\n"
    facts = FileFacts(source="文件来源", published_on=date(2024, 3, 1))
    metadata, _ = extract_with_metadata(extractor, text, file_facts=facts)
    assert (metadata.published_on, metadata.source) == (date(2023, 11, 8), "某某日报")


def test_every_field_of_a_figure(extractor: Extractor) -> None:
    text = "深圳市2023年文明创建工作总结\n\n福田区新建口袋公园30个，较上年增加了12个。\n"
    created, change = extract(extractor, text)
    assert created.model_dump(exclude={"sentence"}) == {
        "value": 30,
        "value_max": None,
        "unit_kind": "count",
        "measure_word": "个",
        "qualifier": "exact",
        "change": None,
        "indicator": "eco.pocket_parks",
        "subject": "新建口袋公园",
        "city": "深圳市福田区",
        "place_code": "440304",
        "place_level": "district",
        "place_basis": "sentence",
        "year": 2023,
        "surface": "30个",
        "start": text.index("30个"),
        "end": text.index("30个") + 3,
    }
    assert created.sentence == "福田区新建口袋公园30个，较上年增加了12个。"
    assert (change.value, change.change, change.indicator, change.city, change.year) == (
        12,
        "increase",
        None,
        "深圳市福田区",
        2023,
    )


def test_a_range_is_one_metric_with_its_upper_end(extractor: Extractor) -> None:
    (metric,) = extract(extractor, "每户奖补3万—5万元。")
    assert (metric.surface, metric.value, metric.value_max, metric.unit_kind) == (
        "3万—5万元",
        30_000,
        50_000,
        "money_cny",
    )


def test_changes_on_metrics(extractor: Extractor) -> None:
    text = (
        "空气质量优良率上升至91.3%。PM2.5浓度同比下降18%。满意率提高0.6个百分点。"
        "城市低保标准增加到500元，每月增加了20元。"
    )
    assert [(m.value, m.unit_kind, m.change) for m in extract(extractor, text)] == [
        (91.3, "percent", None),
        (18, "percent", "decrease"),
        (0.6, "percentage_point", "increase"),
        (500, "money_cny", None),
        (20, "money_cny", "increase"),
    ]


def test_hours_and_tonnes_on_metrics(extractor: Extractor) -> None:
    text = "全年志愿服务时长120万小时，政务大厅提供24小时服务。回收可再生资源3.2万吨。"
    assert [(m.value, m.unit_kind, m.measure_word) for m in extract(extractor, text)] == [
        (1_200_000, "hours", "小时"),
        (32_000, "mass_t", "吨"),
    ]


def test_a_figure_with_no_place_says_so(extractor: Extractor) -> None:
    (metric,) = extract(extractor, "今年新建口袋公园20个。")
    assert (metric.city, metric.place_code, metric.place_level, metric.place_basis) == (
        None,
        None,
        None,
        "none",
    )


def test_a_page_with_no_figures_gives_none(extractor: Extractor) -> None:
    metadata, metrics = extract_with_metadata(
        extractor, "某市召开文明创建推进会\n\n会议要求，各单位要高度重视。\n"
    )
    assert metrics == []
    assert metadata.title == "某市召开文明创建推进会"


def test_an_empty_page(extractor: Extractor) -> None:
    metadata, metrics = extract_with_metadata(extractor, "")
    assert (metadata.title, metadata.places, metrics) == (None, (), [])
