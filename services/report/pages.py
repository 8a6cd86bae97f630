"""HTML pages that open with no network: the chart library inlined, the data in the page.

Charts are Vega-Lite specifications drawn by vega-embed; vl-convert ships Vega, Vega-Lite and
vega-embed as one JavaScript bundle, which every page carries in a <script> element, so a page
can be mailed, archived or opened on a machine without internet. Each page sets
`<body data-charts="drawn">` once every chart is drawn (or "failed"), for tests and scripts.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from services.query.results import Row, cell_text, counted, format_number
from services.report import charts

STYLE = """
body { font-family: system-ui, FONT; margin: 2rem auto; max-width: 72rem; padding: 0 1rem;
       color: #1f2328; line-height: 1.5; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h1 code, td code { font-size: 0.8em; color: #57606a; }
h2 { font-size: 1.2rem; margin-top: 2.2rem; border-bottom: 1px solid #d0d7de; }
.lead { color: #57606a; margin-top: 0; }
.chart { margin: 1rem 0; overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { text-align: left; vertical-align: top; padding: 0.3rem 0.5rem; border-bottom: 1px solid #eaeef2; }
th { background: #f6f8fa; position: sticky; top: 0; }
td.number { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
mark { background: #ffe08a; font-weight: 600; padding: 0 1px; }
.other-unit td { color: #8c959f; }
footer { margin-top: 3rem; color: #8c959f; font-size: 0.8rem; }
""".replace("FONT", charts.FONT)

# Resolves once every chart is drawn; an error is shown on the page rather than only in the console.
DRAW = """
const drawn = Object.entries(CHARTS).map(([id, spec]) =>
  vegaEmbed('#' + id, spec, {renderer: 'svg', actions: false}));
Promise.all(drawn).then(
  () => { document.body.dataset.charts = 'drawn'; },
  (error) => {
    document.body.dataset.charts = 'failed';
    document.body.insertAdjacentText('afterbegin', 'A chart could not be drawn: ' + error);
  });
"""


@lru_cache(maxsize=1)
def vega_bundle() -> str:
    """Vega, Vega-Lite and vega-embed as one script that defines `vegaEmbed` (about 900 kB)."""
    import vl_convert

    bundle: str = vl_convert.javascript_bundle("window.vegaEmbed = vegaEmbed;")
    return bundle


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element: no '</' can close it early."""
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/").replace("<!--", "<\\!--")


def _e(value: Any, *, grouped: bool = True) -> str:
    return html.escape(cell_text(value, grouped=grouped))


def _marked(text: str, spans: list[tuple[int, int]]) -> str:
    """Text with the spans wrapped in <mark>, everything escaped."""
    parts: list[str] = []
    position = 0
    for start, end in sorted(spans):
        parts.append(html.escape(text[position:start]))
        parts.append(f"<mark>{html.escape(text[start:end])}</mark>")
        position = end
    parts.append(html.escape(text[position:]))
    return "".join(parts)


def page(
    *, title: str, heading: str, lead: str, sections: list[str], chart_specs: dict[str, Any], footer: str
) -> str:
    """A whole HTML document: style, the inlined chart library, the sections, then the charts drawn."""
    script = ""
    if chart_specs:
        script = (
            f"<script>\n{vega_bundle()}\n</script>\n"
            f"<script>\nconst CHARTS = {_script_json(chart_specs)};\n{DRAW}</script>\n"
        )
    body = "\n".join(sections)
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{STYLE}</style>
</head>
<body data-charts="{"pending" if chart_specs else "none"}">
<header><h1>{heading}</h1><p class="lead">{lead}</p></header>
{body}
<footer>{footer}</footer>
{script}</body>
</html>
"""


def _table(headers: list[str], rows: list[str]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>\n" + "\n".join(rows) + "\n</tbody></table>"


def _number(value: Any, *, grouped: bool = True) -> str:
    return f'<td class="number">{_e(value, grouped=grouped)}</td>'


@dataclass(frozen=True)
class IndicatorReport:
    """What an indicator's page shows: its catalog entry and coverage, cited cells, every figure."""

    coverage: Row  # its indicator_coverage row, with its group (services.query.reads.read_indicator_coverage)
    cells: list[Row]  # city_indicator_year rows
    figures: list[Row]  # metric_facts rows with figure_spans (services.query.tables.with_figure_spans)


def indicator_page(report: IndicatorReport, *, footer: str) -> str:
    """One indicator: places compared, the years, and every figure in its source sentence."""
    coverage = report.coverage
    unit_kind = coverage["unit_kind"]
    chart_specs: dict[str, Any] = {}
    sections: list[str] = []

    if report.cells:
        chart_specs["chart-places"] = charts.places_chart(report.cells, unit_kind=unit_kind)
        sections.append(
            "<section><h2>Places</h2>"
            "<p>Each place's figure for its latest stated year (its figure with no stated year when it "
            "states none), from the newest document: the figure <code>city_indicator_year</code> cites.</p>"
            '<div class="chart" id="chart-places"></div></section>'
        )
        years = charts.years_chart(report.cells, unit_kind=unit_kind)
        if years is not None:
            chart_specs["chart-years"] = years
            sections.append(
                "<section><h2>Over the years</h2>"
                "<p>Figures whose text states the year they are for.</p>"
                '<div class="chart" id="chart-years"></div></section>'
            )
        else:
            stated = sorted({str(c["year"]) for c in report.cells if c.get("year") is not None})
            said = f"Figures state one year only ({stated[0]})." if stated else "No figure states its year."
            sections.append(f"<section><h2>Over the years</h2><p>{said}</p></section>")
    else:
        sections.append("<section><h2>Places</h2><p>No place has a figure in this unit kind.</p></section>")

    comparable = [f for f in report.figures if f.get("unit_kind_matches")]
    other = [f for f in report.figures if not f.get("unit_kind_matches")]
    sections.append(
        f"<section><h2>Every figure and its sentence</h2><p>{len(comparable)} figures; within a place the "
        "latest year first, then the newest document.</p>" + _figures_table(comparable) + "</section>"
    )
    if other:
        sections.append(
            f"<section><h2>Kept out of the comparison</h2><p>{len(other)} figures matched to this indicator "
            f"in another unit kind than {html.escape(charts.unit_label(unit_kind))}.</p>"
            + _figures_table(other, other_unit=True)
            + "</section>"
        )

    lead = (
        f"{_e(coverage['indicator_name_en'])} · {html.escape(charts.unit_label(unit_kind))} · "
        f"group {_e(coverage.get('group'))}<br>"
        f"{counted(coverage['places'], 'place')}, {counted(coverage['years'], 'stated year')}"
        f"{_year_range(coverage)}, {counted(coverage['documents'], 'document')}, "
        f"{counted(coverage['figures'], 'figure')}"
    )
    name, code = coverage["indicator_name_zh"], coverage["indicator"]
    heading = f"{html.escape(name)} <code>{html.escape(code)}</code>"
    return page(
        title=f"{name} ({code})",
        heading=heading,
        lead=lead,
        sections=sections,
        chart_specs=chart_specs,
        footer=footer,
    )


def _year_range(coverage: Row) -> str:
    first, last = coverage.get("first_year"), coverage.get("last_year")
    if first is None:
        return ""
    return f" ({first})" if first == last else f" ({first}–{last})"


def _figures_table(figures: list[Row], *, other_unit: bool = False) -> str:
    # Place by place; within a place the latest year first, then the newest document.
    ordered = sorted(
        figures,
        key=lambda f: (
            f.get("city") or "\uffff",
            -(f.get("year") or 0),
            -(f["published_on"].toordinal() if f.get("published_on") else 0),
            f.get("file_name") or "",
            f.get("start_offset") or 0,
        ),
    )
    rows = []
    for f in ordered:
        value = format_number(f["value"]) if f.get("value") is not None else ""
        if f.get("value_max") is not None:
            value += "–" + format_number(f["value_max"])
        kind = (
            f' <span title="unit kind">{html.escape(f.get("unit_kind") or "")}</span>' if other_unit else ""
        )
        document = f"{_e(f.get('file_name'))}<br><small>{_e(f.get('published_on'))}</small>"
        row_class = ' class="other-unit"' if other_unit else ""
        rows.append(
            f"<tr{row_class}><td>{_e(f.get('city'))}</td>{_number(f.get('year'), grouped=False)}"
            f'<td class="number">{html.escape(value)}{kind}</td><td>{_e(f.get("qualifier"))}'
            f"{' ' + _e(f.get('change')) if f.get('change') else ''}</td>"
            f"<td>{_marked(f.get('sentence') or '', list(f.get('figure_spans') or []))}</td>"
            f"<td>{document}</td></tr>"
        )
    return _table(["place", "year", "value", "qualifier", "sentence", "document"], rows)


@dataclass(frozen=True)
class Overview:
    """What the overview shows: coverage cells, indicators with figures, documents."""

    cells: list[Row]  # place x indicator (services.query.reads.read_coverage_cells)
    indicators: list[Row]  # indicator_coverage rows with figures
    documents: list[Row]  # document_summary rows


def overview_page(overview: Overview, *, footer: str) -> str:
    """Every place against every indicator with figures, then the indicators and the documents."""
    places = {c["city"] for c in overview.cells}
    figures = sum(d.get("figures") or 0 for d in overview.documents)
    chart_specs: dict[str, Any] = {}
    sections: list[str] = []
    if overview.cells:
        chart_specs["chart-coverage"] = charts.coverage_heatmap(overview.cells)
        sections.append(
            "<section><h2>Coverage</h2><p>A cell for each place and indicator with a comparable figure, "
            "darker where more documents give one. <code>wenming report --indicator CODE</code> "
            "compares the places on one indicator.</p>"
            '<div class="chart" id="chart-coverage"></div></section>'
        )
    else:
        sections.append("<section><h2>Coverage</h2><p>No comparable figures yet.</p></section>")
    indicator_rows = [
        f"<tr><td><code>{_e(i['indicator'])}</code></td><td>{_e(i['indicator_name_zh'])}</td>"
        f"<td>{_e(i['unit_kind'])}</td>{_number(i['places'])}{_number(i['years'])}"
        f"{_number(i['documents'])}{_number(i['figures'])}{_number(i['figures_other_unit'])}</tr>"
        for i in overview.indicators
    ]
    sections.append(
        "<section><h2>Indicators</h2>"
        + _table(
            ["indicator", "name", "unit kind", "places", "years", "documents", "figures", "other unit"],
            indicator_rows,
        )
        + "</section>"
    )
    document_rows = [
        f"<tr><td>{_e(d['file_name'])}</td><td>{_e(d['title'])}</td><td>{_e(d['place'])}</td>"
        f"<td>{_e(d['published_on'])}</td>{_number(d['figures'])}{_number(d['figures_with_indicator'])}"
        f"{_number(d['failures'])}<td>{_e(d['last_failure'])}</td></tr>"
        for d in overview.documents
    ]
    sections.append(
        "<section><h2>Documents</h2>"
        + _table(
            ["file", "title", "place", "published", "figures", "with indicator", "failures", "last failure"],
            document_rows,
        )
        + "</section>"
    )
    lead = (
        f"{counted(len(overview.documents), 'document')}, {counted(figures, 'figure')}, "
        f"{counted(len(places), 'place')}, {counted(len(overview.indicators), 'indicator')} with figures"
    )
    return page(
        title="Wenming figures: overview",
        heading="全国文明城市 figures: overview",
        lead=lead,
        sections=sections,
        chart_specs=chart_specs,
        footer=footer,
    )
