"""Every SQL query in the README's Querying section, run on the stored seeds, returns what it says."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from services.store.database import DocumentStore
from tests.support.reference import SEEDS
from tests.support.seeded import seeded_store

pytestmark = pytest.mark.integration

README = Path(__file__).resolve().parents[2] / "README.md"


def _querying_sql() -> list[str]:
    """The ```sql blocks of the README's Querying section, in order."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Querying\n", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```sql\n(.*?)```", section, flags=re.DOTALL)]


QUERIES = _querying_sql()


def _query(fragment: str) -> str:
    """The one README query containing `fragment`."""
    [query] = [q for q in QUERIES if fragment in q]
    return query


@pytest.fixture(scope="module")
def seeded(postgres_server_url: str) -> Iterator[DocumentStore]:
    """A database with the five seed reports stored, as the pipeline would store them."""
    with seeded_store(postgres_server_url) as store:
        yield store


def _run(store: DocumentStore, sql: str) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        return [dict(row) for row in conn.execute(sa.text(sql)).mappings()]


@pytest.mark.parametrize("sql", QUERIES, ids=[q.split("\n")[0][:50] for q in QUERIES])
def test_each_readme_query_returns_rows_on_the_seeds(seeded: DocumentStore, sql: str) -> None:
    assert _run(seeded, sql)


def test_the_readme_shows_a_query_on_every_view(seeded: DocumentStore) -> None:
    views = _run(seeded, "SELECT table_name FROM information_schema.views WHERE table_schema = 'public'")
    assert views
    for view in views:
        assert any(re.search(rf"\b{view['table_name']}\b", q) for q in QUERIES), view


def test_the_columns_query_explains_metric_facts(seeded: DocumentStore) -> None:
    rows = _run(seeded, _query("col_description"))
    assert len(rows) > 20 and all(row["meaning"] for row in rows)


def test_figures_of_an_indicator_and_those_kept_out(seeded: DocumentStore) -> None:
    rows = _run(seeded, _query("WHERE indicator = 'volunteer.registered'\nORDER BY city, year"))
    by_city = {row["city"]: row for row in rows}
    assert by_city["淮北市"]["value"] == 420000 and by_city["淮北市"]["province"] == "安徽省"
    assert by_city["保定市"]["value"] == 1300000 and by_city["保定市"]["qualifier"] == "over"
    kept_out = _run(seeded, _query("WHERE NOT unit_kind_matches"))
    assert kept_out and all(row["unit_kind"] != row["indicator_unit_kind"] for row in kept_out)
    cited_off_unit = _run(
        seeded,
        "SELECT c.metric_id FROM city_indicator_year c JOIN metric_facts f ON f.id = c.metric_id "
        "WHERE NOT f.unit_kind_matches",
    )
    assert cited_off_unit == []


def test_places_compared_on_an_indicator(seeded: DocumentStore) -> None:
    rows = _run(seeded, _query("FROM city_indicator_year\nWHERE indicator = 'volunteer.registered'"))
    assert [(row["city"], row["value"]) for row in rows][:2] == [("保定市", 1300000), ("亳州市", 682000)]
    assert ("淮北市", 420000) in [(row["city"], row["value"]) for row in rows]
    assert all(row["documents_agreeing"] >= 1 for row in rows)
    side_by_side = _run(seeded, _query("AS practice_stations"))
    stations = {(row["city"], row["year"]): row["practice_stations"] for row in side_by_side}
    assert stations[("淮北市", None)] == 438 and stations[("亳州市", 2019)] == 1344


def test_coverage_per_indicator_and_per_place(seeded: DocumentStore) -> None:
    per_indicator = {row["indicator"]: row for row in _run(seeded, _query("FROM indicator_coverage"))}
    catalog = _run(seeded, "SELECT count(*) AS n FROM indicators")[0]["n"]
    assert len(per_indicator) == catalog
    assert per_indicator["volunteer.registered"]["places"] == 3
    assert per_indicator["practice.stations"]["first_year"] == 2019
    lacking = {row["city"] for row in _run(seeded, _query("FROM place_coverage"))}
    assert "保定市" in lacking and not {"淮北市", "亳州市", "孝义市"} & lacking


def test_figures_by_province_and_the_document_summary(seeded: DocumentStore) -> None:
    provinces = {row["province"]: row for row in _run(seeded, _query("JOIN regions"))}
    assert provinces["安徽省"]["places"] == 2  # 淮北市 and 亳州市
    assert {"河北省", "辽宁省", "山西省"} <= set(provinces)
    documents = _run(seeded, _query("FROM document_summary"))
    figures = _run(seeded, "SELECT document_id, count(*) AS n FROM metrics GROUP BY document_id")
    assert len(documents) == len(SEEDS) and all(row["stored"] and row["failures"] == 0 for row in documents)
    assert sorted(row["figures"] for row in documents) == sorted(row["n"] for row in figures)
    assert documents[0]["place"] == "鞍山市"  # the newest publication date first


def test_search_and_the_ingest_log(seeded: DocumentStore) -> None:
    hits = {row["file_name"] for row in _run(seeded, _query("zh_query('实践站')"))}
    mentions = _run(seeded, "SELECT file_name FROM documents WHERE simplified_text LIKE '%实践站%'")
    assert hits == {row["file_name"] for row in mentions}
    logged = _run(seeded, _query("FROM ingest_log"))
    assert {row["status"] for row in logged} == {"stored"} and len(logged) == len(SEEDS)
