"""The subject pass (subjects.py): a short phrase naming what each figure counts."""

from __future__ import annotations

import pytest

from services.extract.extractor import Extractor
from services.extract.figures import find_figures
from services.extract.lexicon import Lexicon
from services.extract.page import read_page, spot_figures
from services.extract.sentences import clause_bounds
from services.extract.subjects import distribute_subjects, name_subjects, subject_of
from tests.support.extraction import extract


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return Lexicon()


def subject(lexicon: Lexicon, compact: str, trigger: str | None = None) -> str | None:
    (figure,) = find_figures(compact)
    return subject_of(compact, figure, clause_bounds(compact, figure.number_start), trigger, lexicon)


def test_subject_names_what_is_counted(extractor: Extractor) -> None:
    (metric,) = extract(extractor, "新建城市书房12座。")
    assert metric.subject is not None and "城市书房" in metric.subject


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


@pytest.mark.parametrize(
    ("compact", "expected"),
    [
        ("城乡低保标准分别提高20元和35元", ["城市低保标准", "农村低保标准"]),
        ("男女职工分别有300人和200人", ["男性职工", "女性职工"]),
    ],
)
def test_paired_modifiers_are_spread_over_the_values(
    lexicon: Lexicon, compact: str, expected: list[str]
) -> None:
    figures = find_figures(compact)
    clause = clause_bounds(compact, figures[0].number_start)
    assert distribute_subjects(compact, figures, clause, lexicon) == expected


@pytest.mark.parametrize(
    "compact",
    [
        "新建城市书房12座",  # one value: nothing to share out
        "全市新建公园12个和驿站15个",  # no 分别
        "甲、乙、丙分别新建公园12个和15个",  # three items for two values
    ],
)
def test_nothing_is_spread_without_a_matching_list_before_fenbie(lexicon: Lexicon, compact: str) -> None:
    figures = find_figures(compact)
    assert (
        distribute_subjects(compact, figures, clause_bounds(compact, figures[0].number_start), lexicon)
        is None
    )


@pytest.mark.parametrize(
    ("compact", "expected"),
    [
        # The noun after the measure word names what is counted.
        ("吸引3000名市民参加", "市民"),
        ("新增120辆新能源公交车", "新能源公交车"),
        ("培育120支志愿服务队", "志愿服务队"),
        # Else the words before the figure, without scope and time words or the verb's tail.
        ("2023年全市新建城市书房12座", "新建城市书房"),
        ("今年以来累计改造老旧小区45个", "改造老旧小区"),
        # Else what the counted did.
        ("12人入选“某某好人榜”", "入选“某某好人榜”"),
    ],
)
def test_subject_of_a_figure(lexicon: Lexicon, compact: str, expected: str) -> None:
    assert subject(lexicon, compact) == expected


def test_the_catalog_phrase_that_named_the_figure_starts_its_subject(lexicon: Lexicon) -> None:
    assert subject(lexicon, "按照创建要求新建口袋公园12个", trigger="口袋公园") == "口袋公园"


def test_each_figure_of_a_sentence_gets_a_subject(lexicon: Lexicon) -> None:
    (spot,) = spot_figures(read_page("全市建成实践所12个、实践站210个。"))
    assert name_subjects(spot, [None, None], lexicon) == ["建成实践所", "实践站"]
