"""The extractor end to end (extractor.py): every pass run in order, each figure as a Metric with its
measure, change, place and basis, year, indicator and subject, and offsets into the original text."""

from __future__ import annotations

from services.extract.extractor import Extractor
from shared.contracts import Metric


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
