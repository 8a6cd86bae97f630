"""A long report's figures read one at a time from the JSON they travelled as."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from services.store.figures import StreamedFigures, json_array_items
from shared.contracts import Metric

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@given(st.lists(_JSON, max_size=8), st.sampled_from([None, 2]))
def test_the_items_are_those_json_reads(items: list[object], indent: int | None) -> None:
    text = json.dumps(items, indent=indent, ensure_ascii=False)
    assert list(json_array_items(text)) == json.loads(text)


@pytest.mark.parametrize("text", ['{"a": 1}', "[1 2]", "[1,", "  "])
def test_what_is_not_an_array_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        list(json_array_items(text))


def test_figures_are_validated_and_counted_as_they_are_read() -> None:
    sentence = "全市注册志愿者42万名，建成新时代文明实践站438个。"
    figures = (
        Metric(
            value=420000,
            unit_kind="person",
            measure_word="名",
            surface="42万名",
            start=7,
            end=11,
            sentence=sentence,
        ),
        Metric(
            value=438,
            unit_kind="count",
            measure_word="个",
            surface="438个",
            start=23,
            end=27,
            sentence=sentence,
        ),
    )
    streamed = StreamedFigures(TypeAdapter(tuple[Metric, ...]).dump_json(figures))
    assert streamed.count is None
    assert tuple(streamed) == figures
    assert streamed.count == 2
    assert tuple(streamed) == figures  # read again, as when a refused batch is stored document by document
