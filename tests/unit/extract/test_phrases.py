"""Phrases found in one pass: offsets in characters, overlapping and leftmost-longest occurrences."""

from services.extract.phrases import PhraseIndex


def test_all_occurrences_overlap_and_carry_every_value_of_a_phrase() -> None:
    index = PhraseIndex([("志愿者", 1), ("注册志愿者", 2), ("志愿者", 3)])
    found = sorted(index.find_all("全市注册志愿者达10万名"))
    assert found == [(2, 7, (2,)), (4, 7, (1, 3))]


def test_longest_occurrences_do_not_overlap_and_prefer_the_longest_from_the_left() -> None:
    index = PhraseIndex([("保定", "short"), ("保定市", "full"), ("定州", "other")])
    assert index.find_longest("河北保定市定州") == [(2, 5, ("full",)), (5, 7, ("other",))]


def test_offsets_count_characters_not_bytes() -> None:
    index = PhraseIndex([("文明", 0)])
    assert index.find_all("«全国»文明城市") == [(4, 6, (0,))]


def test_no_phrases_or_empty_phrases_find_nothing() -> None:
    assert PhraseIndex([]).find_all("文明") == []
    assert PhraseIndex([("", 0)]).find_longest("文明") == []
