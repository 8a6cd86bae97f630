"""The analyst's views on hand-made documents: the figure cited, agreement, unit kinds kept apart,
coverage, the document summary, and a comment on every table, column and view."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from services.store.database import DocumentStore
from services.store.schema import migrate
from shared.contracts import Change, DeadLetter, DocumentExtracted, DocumentMetadata, Metric, UnitKind
from tests.support.documents import extracted_document

pytestmark = pytest.mark.integration

_T0 = datetime(2024, 6, 1, tzinfo=UTC)


def _figure(
    value: float,
    *,
    indicator: str = "practice.stations",
    unit_kind: UnitKind = "count",
    year: int | None = 2023,
    change: Change | None = None,
    city: str = "淮北市",
    code: str = "340600",
    start: int = 0,
) -> Metric:
    surface = f"{value:g}个"
    return Metric(
        value=value,
        unit_kind=unit_kind,
        measure_word="个",
        indicator=indicator,
        city=city,
        place_code=code,
        place_level="prefecture",
        place_basis="sentence",
        year=year,
        change=change,
        surface=surface,
        start=start,
        end=start + len(surface),
        sentence=f"{city}建成新时代文明实践站{surface}。",
    )


def _document(
    doc_id: str, published_on: date | None, *figures: Metric, ingested_at: datetime = _T0
) -> DocumentExtracted:
    text = "".join(f.sentence for f in figures)
    return extracted_document(
        doc_id * 64,
        text,
        figures,
        file_name=f"{doc_id}.txt",
        extractor_version="1",
        metadata=DocumentMetadata(title=f"报道{doc_id}", published_on=published_on, places=("淮北市",)),
        ingested_at=ingested_at,
    )


@pytest.fixture
def store(database_url: str) -> Iterator[DocumentStore]:
    store = DocumentStore(database_url)
    yield store
    store.close()


def _rows(store: DocumentStore, sql: str, **params: Any) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        return [dict(row) for row in conn.execute(sa.text(sql), params).mappings()]


def test_the_newest_document_is_cited_and_the_others_counted(store: DocumentStore) -> None:
    store.store(_document("a", date(2023, 3, 1), _figure(438)))
    # A level before a change, though the change comes first in the text.
    store.store(_document("b", date(2024, 1, 5), _figure(50, change="increase"), _figure(450, start=20)))
    store.store(_document("c", None, _figure(438), _figure(400, year=2022), _figure(420, year=None)))
    rows = _rows(
        store,
        "SELECT year, value, change, file_name, province, documents, documents_agreeing, "
        "documents_disagreeing, figures FROM city_indicator_year "
        "WHERE indicator = 'practice.stations' AND place_code = '340600' ORDER BY year NULLS LAST",
    )
    assert rows == [
        {
            "year": 2022, "value": 400, "change": None, "file_name": "c.txt", "province": "安徽省",
            "documents": 1, "documents_agreeing": 1, "documents_disagreeing": 0, "figures": 1,
        },
        {
            "year": 2023, "value": 450, "change": None, "file_name": "b.txt", "province": "安徽省",
            "documents": 3, "documents_agreeing": 1, "documents_disagreeing": 2, "figures": 4,
        },
        {
            "year": None, "value": 420, "change": None, "file_name": "c.txt", "province": "安徽省",
            "documents": 1, "documents_agreeing": 1, "documents_disagreeing": 0, "figures": 1,
        },
    ]  # fmt: skip


def test_on_the_same_publication_date_the_latest_ingested_is_cited(store: DocumentStore) -> None:
    later = _T0 + timedelta(days=1)
    store.store(_document("d", date(2024, 1, 5), _figure(438), ingested_at=later))
    store.store(_document("e", date(2024, 1, 5), _figure(440)))
    store.store(_document("f", date(2024, 1, 5), _figure(438)))
    [row] = _rows(
        store,
        "SELECT value, file_name, documents_agreeing, documents_disagreeing FROM city_indicator_year "
        "WHERE indicator = 'practice.stations'",
    )
    assert row == {"value": 438, "file_name": "d.txt", "documents_agreeing": 2, "documents_disagreeing": 1}


def test_figures_in_another_unit_kind_stay_out_of_comparisons(store: DocumentStore) -> None:
    store.store(
        _document(
            "g",
            date(2024, 1, 5),
            _figure(12, unit_kind="percent"),  # practice.stations counts stations
            _figure(438, start=20),
            _figure(3, indicator="governance.satisfaction_rate", start=40),  # a rate in count
        )
    )
    facts = _rows(
        store,
        "SELECT indicator, value, unit_kind, indicator_unit_kind, unit_kind_matches FROM metric_facts "
        "ORDER BY start_offset",
    )
    assert [(f["value"], f["unit_kind_matches"]) for f in facts] == [(12, False), (438, True), (3, False)]
    assert facts[2]["indicator_unit_kind"] == "percent"
    cited = _rows(store, "SELECT indicator, value FROM city_indicator_year")
    assert cited == [{"indicator": "practice.stations", "value": 438}]
    coverage = _rows(
        store,
        "SELECT indicator, places, figures, figures_other_unit FROM indicator_coverage "
        "WHERE indicator IN ('practice.stations', 'governance.satisfaction_rate', 'volunteer.registered') "
        "ORDER BY indicator",
    )
    assert coverage == [
        {"indicator": "governance.satisfaction_rate", "places": 0, "figures": 0, "figures_other_unit": 1},
        {"indicator": "practice.stations", "places": 1, "figures": 1, "figures_other_unit": 1},
        {"indicator": "volunteer.registered", "places": 0, "figures": 0, "figures_other_unit": 0},
    ]
    [place] = _rows(store, "SELECT * FROM place_coverage")
    catalog = _rows(store, "SELECT count(*) AS n FROM indicators")[0]["n"]
    assert (place["city"], place["province"], place["indicators"]) == ("淮北市", "安徽省", 1)
    assert "governance.satisfaction_rate" in place["indicators_missing"]
    assert "practice.stations" not in place["indicators_missing"]
    assert len(place["indicators_missing"]) == catalog - 1


def test_document_summary_has_figures_and_failures_of_stored_and_failed_documents(
    store: DocumentStore,
) -> None:
    at = datetime.now(UTC) - timedelta(minutes=5)
    store.record_failures(
        [
            DeadLetter(stage="extract", doc_id="h" * 64, file_name="h.txt", reason="crashed", failed_at=at),
            DeadLetter(
                stage="ingest", doc_id="i" * 64, file_name="scan.pdf", reason="no text layer", failed_at=at
            ),
        ]
    )
    store.store(_document("h", date(2024, 1, 5), _figure(438), _figure(12, unit_kind="percent", start=20)))
    rows = _rows(
        store,
        "SELECT file_name, stored, place, place_code, province, published_on, figures, "
        "figures_with_indicator, figures_other_unit, failures, last_failure, last_status "
        "FROM document_summary ORDER BY file_name",
    )
    assert rows == [
        {
            "file_name": "h.txt", "stored": True, "place": "淮北市", "place_code": "340600",
            "province": "安徽省", "published_on": date(2024, 1, 5), "figures": 2,
            "figures_with_indicator": 2, "figures_other_unit": 1, "failures": 1,
            "last_failure": "extract: crashed", "last_status": "stored",
        },
        {
            "file_name": "scan.pdf", "stored": False, "place": None, "place_code": None,
            "province": None, "published_on": None, "figures": 0,
            "figures_with_indicator": 0, "figures_other_unit": 0, "failures": 1,
            "last_failure": "ingest: no text layer", "last_status": "failed",
        },
    ]  # fmt: skip


def test_every_table_view_column_and_function_has_a_comment(store: DocumentStore) -> None:
    relations = _rows(
        store,
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v') "
        "AND obj_description(c.oid, 'pg_class') IS NULL",
    )
    columns = _rows(
        store,
        "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' "
        "AND c.relkind IN ('r', 'v') AND a.attnum > 0 AND NOT a.attisdropped "
        "AND col_description(c.oid, a.attnum) IS NULL",
    )
    functions = _rows(
        store,
        "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = 'public' AND obj_description(p.oid, 'pg_proc') IS NULL",
    )
    assert relations == [] and columns == [] and functions == []
    views = _rows(store, "SELECT table_name FROM information_schema.views WHERE table_schema = 'public'")
    assert {v["table_name"] for v in views} >= {
        "metric_facts", "city_indicator_year", "indicator_coverage", "place_coverage", "document_summary",
    }  # fmt: skip


def test_the_migrations_go_down_to_0001_and_up_again(store: DocumentStore) -> None:
    store.store(_document("j", date(2024, 1, 5), _figure(438)))
    config = Config()
    config.set_main_option("script_location", str(resources.files("services.store") / "migrations"))
    with store.engine.connect() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0001")
        conn.commit()
    migrate(store.engine)
    assert _rows(store, "SELECT value, province FROM metric_facts") == [{"value": 438, "province": None}]
