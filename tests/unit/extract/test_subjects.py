"""The subject pass (subjects.py): a short phrase naming what each figure counts."""

from __future__ import annotations

import pytest

from services.extract.extractor import Extractor
from tests.support.extraction import extract


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
