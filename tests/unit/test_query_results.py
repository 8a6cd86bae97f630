"""`wenming query` tables without a database: figures found in their sentences, search excerpts,
and the terminal, CSV, JSON and Excel forms."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import opencc
import pytest
from openpyxl import load_workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from rich.console import Console

from services.query.highlights import excerpt, figure_span, query_terms, term_spans
from services.query.results import Column, ResultTable, bar, plain, render, write_csv, write_json, write_xlsx
from services.query.tables import comparison_table, document_table, search_table, with_figure_spans

T2S = opencc.OpenCC("t2s").convert


@pytest.mark.parametrize(
    ("sentence", "surface", "found"),
    [
        ("全市注册志愿者130万余名。", "130万余名", "130万余名"),
        ("6300余支志愿服务队伍、42万名志愿者活跃在创建一线。", "42萬名", "42万名"),  # Traditional surface
        ("建成实践站438个。", "４３８个", "438个"),  # full-width digits folded in the sentence
        ("建成实践站438处,覆盖全市。", "438个", "438"),  # the digits when nothing else is found
    ],
)
def test_a_figure_is_found_in_its_sentence(sentence: str, surface: str, found: str) -> None:
    span = figure_span(sentence, surface, to_simplified=T2S)
    assert span is not None and sentence[span[0] : span[1]] == found


def test_repeated_figures_in_one_sentence_each_get_their_own_place() -> None:
    rows = [
        {"document_id": "d", "sentence": "新增12个站点,改造12个站点。", "surface": "12个"},
        {"document_id": "d", "sentence": "新增12个站点,改造12个站点。", "surface": "12个"},
    ]
    marked = with_figure_spans(rows, T2S)
    assert [(r["figure_start"], r["figure_end"]) for r in marked] == [(2, 5), (10, 13)]
    assert marked[0]["figure_spans"] == [(2, 5)]


def test_a_figure_missing_from_its_sentence_is_shown_unmarked() -> None:
    [row] = with_figure_spans([{"sentence": "没有数字。", "surface": "42名"}], T2S)
    assert row["figure_start"] is None and row["figure_spans"] == []


def test_search_terms_and_excerpts() -> None:
    assert query_terms("垃圾分类 5G基站") == ["垃圾分类", "5g", "基站"]
    text = "开头" * 60 + "推进垃圾分类工作,\n建成5G基站。" + "结尾" * 60
    shown, spans = excerpt(text, ["垃圾分类", "5g"], width=40)
    assert shown.startswith("…") and shown.endswith("…") and "\n" not in shown
    assert [shown[s:e] for s, e in spans] == ["垃圾分类", "5G"]
    assert term_spans("实践站实践站", ["实践", "践站"]) == [(0, 6)]  # overlaps merged


def test_values_as_files_carry_them() -> None:
    assert plain(1300000.0) == 1300000 and isinstance(plain(1300000.0), int)
    assert plain(85.2) == 85.2 and plain(date(2024, 1, 5)) == "2024-01-05"
    assert bar(50, 100, width=4) == "██" and bar(None, 100) == "" and bar(100, 100, width=2) == "██"


COMPARISON = [
    {
        "city": "保定市",
        "province": "河北省",
        "year": None,
        "value": 1300000.0,
        "unit_kind": "person",
        "qualifier": "over",
        "surface": "130万余名",
        "sentence": "全市注册志愿者130万余名。",
        "documents": 1,
        "documents_agreeing": 1,
        "documents_disagreeing": 0,
        "file_name": "002.txt",
        "published_on": None,
    },
    {
        "city": "亳州市",
        "province": "安徽省",
        "year": 2019,
        "value": 682000.0,
        "unit_kind": "person",
        "qualifier": "exact",
        "surface": "68.2万人",
        "sentence": "注册志愿者68.2万人。",
        "documents": 2,
        "documents_agreeing": 1,
        "documents_disagreeing": 1,
        "file_name": "003.txt",
        "published_on": date(2020, 1, 2),
    },
]


def test_comparison_as_csv_and_json() -> None:
    table = comparison_table(COMPARISON, title="注册志愿者人数")
    out = io.StringIO()
    write_csv(table, out)
    lines = out.getvalue().splitlines()
    header = lines[0].split(",")
    assert header[:5] == ["city", "province", "place_level", "year", "value"] and "bar" not in header
    assert lines[1].startswith("保定市,河北省,,,1300000,")
    assert lines[2].startswith("亳州市,安徽省,,2019,682000,")
    out = io.StringIO()
    write_json(table, out)
    records = json.loads(out.getvalue())
    assert records[1]["published_on"] == "2020-01-02" and records[1]["documents_disagreeing"] == 1
    assert set(records[0]) == set(header)


def test_comparison_on_a_terminal() -> None:
    console = Console(file=io.StringIO(), width=120, color_system=None)
    render(comparison_table(COMPARISON, title="注册志愿者人数"), console)
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert "1,300,000" in shown and "682,000" in shown
    assert "2019" in shown and "2,019" not in shown  # a year is not a quantity
    assert "1 of 2" in shown  # documents agreeing
    assert "████" in shown


def test_a_figure_is_emphasised_on_a_terminal_and_in_a_workbook(tmp_path: Path) -> None:
    rows = with_figure_spans(
        [
            {
                "id": 7,
                "surface": "42萬名",
                "value": 420000.0,
                "unit_kind": "person",
                "indicator": "volunteer.registered",
                "city": "淮北市",
                "year": None,
                "sentence": "42万名志愿者活跃在创建一线。",
            }
        ],
        T2S,
    )
    document = {"document_id": "ab" * 32, "file_name": "000.txt", "title": "淮北", "places": ["淮北市"]}
    table = document_table(document, rows)
    console = Console(file=io.StringIO(), width=120, force_terminal=True, color_system="standard")
    render(table, console)
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert "\x1b[1;31m42万名\x1b[0m" in shown  # bold red
    assert "places 淮北市" in shown and "1 figure" in shown

    path = tmp_path / "doc.xlsx"
    write_xlsx(table, path)
    sheet = load_workbook(path, rich_text=True).active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    sentence = sheet.cell(row=2, column=header.index("sentence") + 1).value
    assert isinstance(sentence, CellRichText)
    [figure] = [part for part in sentence if isinstance(part, TextBlock)]
    assert figure.text == "42万名" and figure.font.b
    assert sheet.cell(row=2, column=header.index("value") + 1).value == 420000
    assert sheet.freeze_panes == "A2"


def test_a_long_sentence_folds_on_a_narrow_terminal_without_losing_a_character() -> None:
    sentence = (
        "大力吸纳科技能人、先进人物、农村乡贤等人才资源,形成以党员干部带头,"
        "基层群众为主体的志愿服务网络,服务群众20.3万人次。"
    )
    row = {
        "surface": "20.3万人次",
        "value": 203000.0,
        "unit_kind": "person_times",
        "indicator": "practice.people_served",
        "city": "淮北市",
        "year": None,
        "sentence": sentence,
    }
    document = {"document_id": "ab" * 32, "file_name": "000.txt", "title": "淮北", "places": ["淮北市"]}
    console = Console(file=io.StringIO(), width=80, color_system=None)
    render(document_table(document, with_figure_spans([row], T2S)), console)
    shown = iter(console.file.getvalue())  # type: ignore[attr-defined]
    assert all(ch in shown for ch in sentence)  # every character, in order


def test_search_results_say_when_there_are_more() -> None:
    rows = [
        {
            "document_id": "d1",
            "file_name": "a.txt",
            "title": "",
            "published_on": None,
            "place": "淮北市",
            "passage": 0,
            "text": "推进垃圾分类,垃圾分类全覆盖。",
        },
    ]
    table = search_table(rows, query="垃圾分类", terms=["垃圾分类"], limit=1)
    assert table.rows[0]["hits"] == 2
    assert any("--limit" in note for note in table.notes)
    assert search_table([], query="垃圾分类", terms=["垃圾分类"], limit=5).notes == (
        "No passage matches 垃圾分类.",
    )


def test_a_column_kept_to_the_terminal_stays_out_of_files() -> None:
    table = ResultTable("t", (Column("a"), Column("b", files=False)), [{"a": 1, "b": 2}])
    out = io.StringIO()
    write_csv(table, out)
    assert out.getvalue() == "a\n1\n"
