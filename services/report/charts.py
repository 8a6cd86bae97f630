"""Vega-Lite charts of the store's figures, specified with altair (data inline, no URL to fetch)."""

from __future__ import annotations

from typing import Any

import altair as alt

from services.query.results import Row, plain

# A browser draws the text, so name the CJK fonts it may have before the generic family.
FONT = (
    '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "WenQuanYi Zen Hei", '
    "sans-serif"
)
# d3-format: thousands separated, up to four decimals, trailing zeros dropped (1,300,000; 85.2).
NUMBER = ",.4~f"
NOT_STATED = "year not stated"
# Tableau 10, repeated for pages with many years.
YEAR_COLOURS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7"] * 4
UNDATED_GREY = "#b0b4ba"

UNIT_LABELS = {
    "person": "people (人)",
    "household": "households (户)",
    "person_times": "person-times (人次)",
    "times": "times (次, 场)",
    "count": "count (个, 处, 项…)",
    "money_cny": "yuan (元)",
    "percent": "percent (%)",
    "percentage_point": "percentage points (个百分点)",
    "area_m2": "square metres (平方米)",
    "length_m": "metres (米)",
    "volume_m3": "cubic metres (立方米)",
    "mass_t": "tonnes (吨)",
    "hours": "hours (小时)",
    "days": "days (天)",
    "years": "years (年)",
    "multiple": "multiple (倍)",
    "score": "score (分)",
}


def unit_label(unit_kind: str | None) -> str:
    """The axis title of a unit kind."""
    return UNIT_LABELS.get(unit_kind or "", unit_kind or "value")


def _records(rows: list[Row], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{key: plain(row.get(key)) for key in keys} for row in rows]


def _spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    spec: dict[str, Any] = chart.configure(font=FONT).configure_view(stroke=None).to_dict()
    return spec


def latest_per_place(cells: list[Row]) -> list[Row]:
    """Each place's figure for its latest stated year, or its undated one when it states none."""
    best: dict[str, Row] = {}
    for cell in cells:
        place = cell.get("place_code") or cell["city"]
        current = best.get(place)
        if current is None or (cell.get("year") or 0) > (current.get("year") or 0):
            best[place] = cell
    return sorted(best.values(), key=lambda c: -(c.get("value") or 0))


def places_chart(cells: list[Row], *, unit_kind: str | None) -> dict[str, Any]:
    """Horizontal bars, one per place, largest first, coloured by the year the figure is for."""
    latest = latest_per_place(cells)
    rows = [{**c, "year_label": str(c["year"]) if c.get("year") else NOT_STATED} for c in latest]
    keys = ("city", "province", "value", "year_label", "qualifier", "surface", "file_name")
    data = alt.Data(values=_records(rows, keys))
    base = alt.Chart(data).encode(
        # An explicit order: bars and their labels are two layers, which must not sort differently.
        y=alt.Y("city:N", sort=[c["city"] for c in latest], title=None, axis=alt.Axis(labelLimit=240)),
        # Room right of the longest bar for its label.
        x=alt.X(
            "value:Q",
            title=unit_label(unit_kind),
            axis=alt.Axis(format=NUMBER),
            scale=alt.Scale(domain=[0, max((c.get("value") or 0) for c in latest) * 1.2 or 1]),
        ),
        tooltip=[
            alt.Tooltip("city:N", title="place"),
            alt.Tooltip("province:N"),
            alt.Tooltip("value:Q", format=NUMBER),
            alt.Tooltip("surface:N", title="as written"),
            alt.Tooltip("year_label:N", title="year"),
            alt.Tooltip("file_name:N", title="document"),
        ],
    )
    # Stated years in colour, the undated in grey, so an undated figure never passes for a year's.
    years = sorted({r["year_label"] for r in rows} - {NOT_STATED})
    colours = alt.Scale(domain=[*years, NOT_STATED], range=[*YEAR_COLOURS[: len(years)], UNDATED_GREY])
    bars = base.mark_bar().encode(color=alt.Color("year_label:N", title="year", scale=colours))
    labels = base.mark_text(align="left", dx=4).encode(text=alt.Text("value:Q", format=NUMBER))
    chart = (bars + labels).properties(width=560, height=alt.Step(26))
    return _spec(chart)


def years_chart(cells: list[Row], *, unit_kind: str | None) -> dict[str, Any] | None:
    """Each place's figure per stated year, as lines with points; None with fewer than two stated years."""
    dated = [c for c in cells if c.get("year") is not None]
    if len({c["year"] for c in dated}) < 2:
        return None
    keys = ("city", "year", "value", "surface", "file_name")
    data = alt.Data(values=_records(dated, keys))
    base = alt.Chart(data).encode(
        x=alt.X("year:O", title="year", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("value:Q", title=unit_label(unit_kind), axis=alt.Axis(format=NUMBER)),
        color=alt.Color("city:N", title="place", scale=alt.Scale(scheme="tableau10")),
        tooltip=[
            alt.Tooltip("city:N", title="place"),
            alt.Tooltip("year:O"),
            alt.Tooltip("value:Q", format=NUMBER),
            alt.Tooltip("surface:N", title="as written"),
            alt.Tooltip("file_name:N", title="document"),
        ],
    )
    chart = (base.mark_line() + base.mark_point(filled=True, size=80)).properties(width=560, height=280)
    return _spec(chart)


def coverage_heatmap(cells: list[Row]) -> dict[str, Any]:
    """Places across, indicators down (by group), shaded by how many documents give a figure."""
    keys = (
        "city",
        "province",
        "indicator",
        "indicator_name_zh",
        "group_name",
        "documents",
        "figures",
        "years",
    )
    indicators = sorted({(c["group_name"], c["indicator"]) for c in cells})
    per_place: dict[str, int] = {}
    for cell in cells:
        per_place[cell["city"]] = per_place.get(cell["city"], 0) + 1
    places = sorted(per_place, key=lambda p: (-per_place[p], p))
    chart = (
        alt.Chart(alt.Data(values=_records(cells, keys)))
        .mark_rect(stroke="white", strokeWidth=1)
        .encode(
            x=alt.X("city:N", sort=places, title=None, axis=alt.Axis(orient="top", labelAngle=-45)),
            y=alt.Y("indicator:N", sort=[code for _, code in indicators], title=None),
            color=alt.Color(
                "documents:Q",
                title="documents",
                scale=alt.Scale(scheme="blues", domainMin=0),
                legend=alt.Legend(format="d", tickMinStep=1),
            ),
            tooltip=[
                alt.Tooltip("city:N", title="place"),
                alt.Tooltip("province:N"),
                alt.Tooltip("indicator:N"),
                alt.Tooltip("indicator_name_zh:N", title="name"),
                alt.Tooltip("documents:Q"),
                alt.Tooltip("figures:Q"),
                alt.Tooltip("years:Q", title="stated years"),
            ],
        )
        .properties(width=alt.Step(30), height=alt.Step(15))
    )
    return _spec(chart)
