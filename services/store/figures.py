"""A long report's figures, read one at a time from the JSON they were kept as while they travelled.

Tens of thousands of figures as objects take hundreds of megabytes (a 15 MB report has 60,000);
the store only needs each as a row, once, so it parses them from the text as it sends them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from shared.contracts import Metric

_DECODER = json.JSONDecoder()
_BLANKS = " \t\n\r"


def json_array_items(text: str) -> Iterator[Any]:
    """The items of the JSON array `text`, each parsed as it is reached; ValueError if it is not one."""
    position = _skip(text, 0)
    if not text.startswith("[", position):
        raise ValueError("not a JSON array")
    position = _skip(text, position + 1)
    if text.startswith("]", position):
        return
    while True:
        item, position = _DECODER.raw_decode(text, position)
        yield item
        position = _skip(text, position)
        if text.startswith("]", position):
            return
        if not text.startswith(",", position):
            raise ValueError(f"expected ',' or ']' at {position} of the JSON array")
        position = _skip(text, position + 1)


def _skip(text: str, position: int) -> int:
    while position < len(text) and text[position] in _BLANKS:
        position += 1
    return position


class StreamedFigures:
    """A document's figures from the JSON of its `metrics`, validated one at a time as they are read."""

    def __init__(self, metrics_json: bytes) -> None:
        self._text = metrics_json.decode()
        self.count: int | None = None  # known once read through

    def __iter__(self) -> Iterator[Metric]:
        count = 0
        for item in json_array_items(self._text):
            yield Metric.model_validate(item)
            count += 1
        self.count = count
