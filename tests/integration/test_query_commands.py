"""`wenming query` and `wenming report` on the stored seeds, as an analyst runs them, and every
command of the README's "Figures without SQL" section."""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from services.operate.cli import main
from services.store.database import DocumentStore
from tests.support.reference import SEEDS
from tests.support.seeded import seeded_store, store_files

pytestmark = pytest.mark.integration

README = Path(__file__).resolve().parents[2] / "README.md"
# A page in Traditional script about waste sorting, which no seed mentions.
WASTE_SORTING = "垃圾分類示範\n\n淮北市全面推進垃圾分類工作,建成垃圾分類示範小區120個。\n"


@pytest.fixture(scope="module")
def seeded(postgres_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DocumentStore]:
    """The seeds, and one page on 垃圾分類, stored."""
    extra = tmp_path_factory.mktemp("extra") / "waste_sorting.txt"
    extra.write_text(WASTE_SORTING, encoding="utf-8")
    with seeded_store(postgres_server_url) as store:
        store_files(store, [extra])
        yield store


@pytest.fixture
def database(seeded: DocumentStore, monkeypatch: pytest.MonkeyPatch) -> DocumentStore:
    """WENMING_DATABASE_URL names the seeded database, as `eval $(wenming env)` would set it."""
    monkeypatch.setenv("WENMING_DATABASE_URL", seeded.engine.url.render_as_string(hide_password=False))
    return seeded


def _wenming(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def _sql(store: DocumentStore, sql: str) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        return [dict(row) for row in conn.execute(sa.text(sql)).mappings()]


def test_compare_as_csv_prints_the_places_with_their_figures(
    database: DocumentStore, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _wenming(capsys, "query", "compare", "--indicator", "volunteer.registered", "--csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0
    # 保定市 is the one place of the six-city page (002) with a count of registered volunteers.
    assert [(r["city"], r["value"], r["file_name"][:3]) for r in rows] == [
        ("保定市", "1300000", "002"),
        ("亳州市", "682000", "003"),
        ("淮北市", "420000", "000"),
    ]
    assert rows[0]["qualifier"] == "over" and rows[0]["surface"] == "130万余名"
    assert "130万余名" in rows[0]["sentence"] and rows[1]["year"] == "2019"
    cited = _sql(
        database, "SELECT city, value FROM city_indicator_year WHERE indicator = 'volunteer.registered'"
    )
    assert {(r["city"], int(r["value"])) for r in cited} == {(r["city"], int(r["value"])) for r in rows}


def test_compare_shows_a_table_and_takes_a_chinese_name(
    database: DocumentStore, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _wenming(capsys, "query", "compare", "--indicator", "实践站")
    assert code == 0 and "practice.stations" in err  # what the name was taken to mean
    assert out.index("亳州市") < out.index("淮北市") < out.index("孝义市")  # 1,344 > 438 > 305
    assert "1,344" in out and "1 of 1" in out


def test_an_ambiguous_or_unknown_name_is_refused_with_the_candidates(
    database: DocumentStore, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _wenming(capsys, "query", "compare", "--indicator", "志愿")
    assert code == 1 and out == ""
    assert "volunteer.registered" in err and "volunteer.teams" in err
    code, _, err = _wenming(capsys, "query", "figures", "--city", "广州")
    assert code == 1 and "保定市" in err  # the places that have figures


def test_figures_of_a_short_place_name(database: DocumentStore, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _wenming(
        capsys, "query", "figures", "--city", "保定", "--indicator", "volunteer.registered", "--json"
    )
    [figure] = json.loads(out)
    assert code == 0 and "保定: 保定市" in err
    assert figure["city"] == "保定市" and figure["value"] == 1300000
    assert figure["sentence"][figure["figure_start"] : figure["figure_end"]] == "130万余名"


def test_a_year_leaves_out_figures_that_state_none_and_says_so(
    database: DocumentStore, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ("query", "figures", "--city", "保定", "--indicator", "volunteer.registered", "--year", "2023")
    code, out, err = _wenming(capsys, *argv)
    assert code == 0 and out == ""
    assert "1 more matching figures state no year" in err and "No figures match." in err
    code, out, _ = _wenming(capsys, "query", "figures", "--city", "亳州", "--year", "2019", "--csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows and {r["city"] for r in rows} == {"亳州市"} and {r["year"] for r in rows} == {"2019"}


def test_search_in_traditional_finds_what_simplified_finds(
    database: DocumentStore, capsys: pytest.CaptureFixture[str]
) -> None:
    found: dict[str, list[dict[str, Any]]] = {}
    for query in ("垃圾分類", "垃圾分类", "實踐站", "实践站"):
        code, out, _ = _wenming(capsys, "query", "search", query, "--json")
        assert code == 0
        found[query] = json.loads(out)
    assert found["垃圾分類"] == found["垃圾分类"] and found["垃圾分类"]
    assert {r["file_name"] for r in found["垃圾分类"]} == {"waste_sorting.txt"}
    assert found["實踐站"] == found["实践站"]
    mentions = _sql(database, "SELECT file_name FROM documents WHERE simplified_text LIKE '%实践站%'")
    assert {r["file_name"] for r in found["实践站"]} == {r["file_name"] for r in mentions}
    assert all("实践站" in r["excerpt"] for r in found["实践站"])


def test_a_document_by_file_content_name_or_id(
    database: DocumentStore, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    seed = SEEDS[0]  # 000: Traditional script
    renamed = tmp_path / "huaibei.txt"
    shutil.copyfile(seed, renamed)
    [document] = _sql(database, f"SELECT id, metric_count FROM documents WHERE file_name = '{seed.name}'")
    by_content = _wenming(capsys, "query", "doc", str(renamed), "--json")
    by_name = _wenming(capsys, "query", "doc", seed.name[:8], "--json")
    by_id = _wenming(capsys, "query", "doc", document["id"][:8], "--json")
    assert by_content[0] == by_name[0] == by_id[0] == 0
    figures = json.loads(by_content[1])
    assert figures == json.loads(by_name[1]) == json.loads(by_id[1])
    assert len(figures) == document["metric_count"]
    assert [f["ordinal"] for f in figures] == list(range(1, len(figures) + 1))
    assert [f["start_offset"] for f in figures] == sorted(f["start_offset"] for f in figures)
    marked = [f for f in figures if f["figure_start"] is not None]
    assert len(marked) == len(figures)  # every figure found in its sentence
    # The surface is Traditional (42萬名); the sentence, Simplified, shows it as 42万名.
    [volunteers] = [f for f in figures if f["indicator"] == "volunteer.registered"]
    assert volunteers["surface"] == "42萬名"
    assert volunteers["sentence"][volunteers["figure_start"] : volunteers["figure_end"]] == "42万名"


def test_a_document_on_the_terminal_and_ambiguous_keys(
    database: DocumentStore, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _wenming(capsys, "query", "doc", SEEDS[1].name)
    assert code == 0 and "鞍山市" in out and "figures" in out
    code, _, err = _wenming(capsys, "query", "doc", "_")  # every seed's name has one
    assert code == 1 and "could be" in err
    code, _, err = _wenming(capsys, "query", "doc", "no-such-file.txt")
    assert code == 1 and "no stored document" in err


def test_a_workbook_holds_the_rows(
    database: DocumentStore, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "stations.xlsx"
    code, out, err = _wenming(
        capsys, "query", "compare", "--indicator", "practice.stations", "--xlsx", str(path)
    )
    assert code == 0 and out == "" and "3 rows" in err
    sheet = load_workbook(path).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    assert [(r[header.index("city")], r[header.index("value")]) for r in rows[1:]] == [
        ("亳州市", 1344),
        ("淮北市", 438),
        ("孝义市", 305),
    ]


def test_without_a_database_url_the_command_says_how_to_get_one(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WENMING_DATABASE_URL", raising=False)
    code, _, err = _wenming(capsys, "query", "search", "实践站")
    assert code == 1 and "WENMING_DATABASE_URL" in err and "wenming env" in err


def test_a_database_without_the_views_is_told_to_migrate(
    database_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WENMING_DATABASE_URL", database_url)  # empty: never migrated
    code, _, err = _wenming(capsys, "query", "compare", "--indicator", "practice.stations")
    assert code == 1 and "metric_facts" in err and "wenming up" in err


def _readme_commands() -> list[list[str]]:
    """The `wenming` lines of the README's "Figures without SQL" section, as argument lists."""
    section = (
        README.read_text(encoding="utf-8").split("\n## Figures without SQL\n", 1)[1].split("\n## ", 1)[0]
    )
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    lines = [line.strip() for block in blocks for line in block.splitlines()]
    return [shlex.split(line)[1:] for line in lines if line.startswith(".venv/bin/wenming ")]


README_COMMANDS = _readme_commands()


def test_the_readme_shows_every_subcommand() -> None:
    shown = {tuple(argv[:2]) if argv[0] == "query" else (argv[0],) for argv in README_COMMANDS}
    assert shown == {
        ("query", "figures"),
        ("query", "compare"),
        ("query", "search"),
        ("query", "doc"),
        ("report",),
    }


@pytest.mark.parametrize("argv", README_COMMANDS, ids=[" ".join(a) for a in README_COMMANDS])
def test_each_readme_command_runs_on_the_seeds(
    database: DocumentStore,
    argv: list[str],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "inbox" / "done").mkdir(parents=True)
    shutil.copyfile(SEEDS[0], tmp_path / "inbox" / "done" / "huaibei.txt")  # as ingest leaves it, renamed
    code, out, err = _wenming(capsys, *argv)
    assert code == 0, err
    written = [tmp_path / a for a in argv if a.endswith((".xlsx", ".html"))]
    assert all(path.stat().st_size > 0 for path in written)
    assert written or out.strip()  # rows on standard output, or a file
    assert "No figures match" not in err and "No passage matches" not in err
