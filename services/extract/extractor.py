"""Find every metric figure in a normalized document."""

from __future__ import annotations

import re
from collections.abc import Sequence

from shared.contracts import DocumentMetadata, Metric, Section

EXTRACTOR_VERSION = "0.0.1"

_FIGURE = re.compile(r"(\d+(?:\.\d+)?)(万|亿)?(名|个|人|支|次|处|%)")
_SCALE = {"万": 1e4, "亿": 1e8, None: 1.0}
_KIND = {"名": "person", "人": "person", "个": "count", "支": "count", "次": "times", "处": "count", "%": "percent"}


class Extractor:
    """Holds the heavy resources (tokenizer, catalog, gazetteer); build once per process."""

    def extract(
        self,
        text: str,
        *,
        original: str,
        offsets: Sequence[int],
        sections: Sequence[Section] = (),
    ) -> tuple[DocumentMetadata, list[Metric]]:
        """Return the document's metadata and its figures, offsets mapped into `original`."""
        metrics = []
        for m in _FIGURE.finditer(text):
            start, end = offsets[m.start()], offsets[m.end() - 1] + 1
            metrics.append(
                Metric(
                    value=float(m.group(1)) * _SCALE[m.group(2)],
                    unit_kind=_KIND[m.group(3)],  # type: ignore[arg-type]
                    measure_word=m.group(3),
                    surface=original[start:end],
                    start=start,
                    end=end,
                    sentence=text[max(0, m.start() - 30) : m.end() + 30],
                )
            )
        return DocumentMetadata(), metrics
