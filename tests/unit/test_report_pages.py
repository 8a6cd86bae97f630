"""Report pages without a database or a browser: what they hold, and that they fetch nothing."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

import pytest

from services.report import charts, pages
from services.report.pages import IndicatorReport, Overview, indicator_page, overview_page

FAKE_BUNDLE = "window.vegaEmbed = function () { return Promise.resolve(); };"

COVERAGE = {
    "indicator": "practice.stations",
    "indicator_name_zh": "新时代文明实践站数量",
    "indicator_name_en": "Civilization practice stations",
    "unit_kind": "count",
    "group": "practice",
    "places": 2,
    "years": 2,
    "first_year": 2019,
    "last_year": 2023,
    "documents": 3,
    "figures": 3,
    "figures_other_unit": 1,
}


def _cell(city: str, year: int | None, value: float, code: str) -> dict[str, Any]:
    return {
        "city": city,
        "place_code": code,
        "province": "安徽省",
        "year": year,
        "value": value,
        "qualifier": "exact",
        "surface": f"{value:g}个",
        "file_name": f"{city}.txt",
    }


CELLS = [
    _cell("淮北市", None, 438, "340600"),
    _cell("亳州市", 2019, 1344, "341600"),
    _cell("亳州市", 2023, 1400, "341600"),
]


def _figure(city: str, sentence: str, span: tuple[int, int], **extra: Any) -> dict[str, Any]:
    return {
        "city": city,
        "year": None,
        "value": 438.0,
        "qualifier": "exact",
        "unit_kind": "count",
        "unit_kind_matches": True,
        "sentence": sentence,
        "figure_spans": [span],
        "file_name": "a.txt",
        "published_on": date(2024, 1, 5),
        **extra,
    }


@pytest.fixture(autouse=True)
def small_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real bundle is 900 kB and takes seconds to build; one test below checks it."""
    monkeypatch.setattr(pages, "vega_bundle", lambda: FAKE_BUNDLE)


def _specs(page: str) -> dict[str, Any]:
    [specs] = re.findall(r"const CHARTS = (.*?);\n", page)
    return dict(json.loads(specs.replace("<\\/", "</")))


def test_an_indicator_page_holds_its_charts_data_and_sentences() -> None:
    figures = [
        _figure("淮北市", "建成实践站438个。", (5, 9)),
        _figure(
            "淮北市", "投入</script><b>5亿元</b>。", (17, 20), unit_kind="money_cny", unit_kind_matches=False
        ),
    ]
    page = indicator_page(IndicatorReport(COVERAGE, CELLS, figures), footer="made")
    specs = _specs(page)
    assert set(specs) == {"chart-places", "chart-years"}
    bars = specs["chart-places"]
    assert {v["city"]: v["value"] for v in bars["data"]["values"]} == {"亳州市": 1400, "淮北市": 438}
    assert "url" not in json.dumps(bars["data"])  # data inline, nothing to fetch
    assert "建成实践站<mark>438个</mark>。" in page
    assert page.count("</script>") == 2  # the bundle's and the drawing script's: text cannot close one
    assert "&lt;/script&gt;&lt;b&gt;5亿元" in page and "Kept out of the comparison" in page
    assert "2 places, 2 stated years (2019–2023), 3 documents, 3 figures" in page
    assert FAKE_BUNDLE in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page) and "<link" not in page


def test_one_stated_year_draws_no_chart_over_the_years() -> None:
    cells = [_cell("淮北市", None, 438, "340600"), _cell("亳州市", 2019, 1344, "341600")]
    assert charts.years_chart(cells, unit_kind="count") is None
    page = indicator_page(IndicatorReport(COVERAGE, cells, []), footer="")
    assert set(_specs(page)) == {"chart-places"} and "Figures state one year only (2019)." in page


def test_each_place_shows_its_latest_stated_year_and_undated_only_without_one() -> None:
    latest = charts.latest_per_place([*CELLS, _cell("孝义市", None, 305, "141181")])
    assert [(c["city"], c["year"]) for c in latest] == [("亳州市", 2023), ("淮北市", None), ("孝义市", None)]


def test_an_overview_without_figures_has_no_chart_and_no_script() -> None:
    page = overview_page(Overview(cells=[], indicators=[], documents=[]), footer="")
    assert "No comparable figures yet." in page and "<script>" not in page
    assert 'data-charts="none"' in page


def test_the_overview_heat_map_has_a_cell_per_place_and_indicator() -> None:
    cells = [
        {
            "city": "淮北市",
            "province": "安徽省",
            "indicator": code,
            "indicator_name_zh": "名",
            "group_name": group,
            "documents": docs,
            "figures": docs,
            "years": 0,
        }
        for code, group, docs in [
            ("practice.stations", "practice", 1),
            ("volunteer.registered", "volunteer", 2),
        ]
    ]
    documents = [
        {
            "file_name": "a.txt",
            "title": "t",
            "place": "淮北市",
            "published_on": None,
            "figures": 5,
            "figures_with_indicator": 2,
            "failures": 0,
            "last_failure": None,
        }
    ]
    page = overview_page(Overview(cells=cells, indicators=[], documents=documents), footer="")
    [spec] = _specs(page).values()
    assert len(spec["data"]["values"]) == 2 and spec["mark"]["type"] == "rect"
    assert "1 document, 5 figures, 1 place, 0 indicators with figures" in page


def test_the_inlined_library_defines_vega_embed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()
    bundle = pages.vega_bundle()
    assert "vegaEmbed" in bundle and len(bundle) > 100_000
    assert "</script" not in bundle.lower()
