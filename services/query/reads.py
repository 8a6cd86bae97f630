"""The store's rows for `wenming query` and `wenming report`, read from the analyst views.

Every read runs in a read-only transaction: these commands never change the database, whoever
connects (the store's own user or the read-only wenming_reader role).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from services.query.names import Indicator
from services.query.results import Row
from services.store.schema import sqlalchemy_url

# Views the commands read; a database migrated before them is told to migrate, not shown an SQL error.
REQUIRED_VIEWS = ("metric_facts", "city_indicator_year", "indicator_coverage", "document_summary")


def reader_engine(database_url: str) -> Engine:
    """An engine whose transactions are read-only."""
    return sa.create_engine(
        sqlalchemy_url(database_url), execution_options={"postgresql_readonly": True}, pool_pre_ping=True
    )


def _rows(conn: Connection, sql: str, params: dict[str, Any] | None = None) -> list[Row]:
    return [dict(row) for row in conn.execute(sa.text(sql), params or {}).mappings()]


def missing_views(conn: Connection) -> list[str]:
    """The views of REQUIRED_VIEWS that the database lacks (its schema predates them)."""
    present = {
        row["table_name"]
        for row in _rows(
            conn, "SELECT table_name FROM information_schema.views WHERE table_schema = 'public'"
        )
    }
    return [view for view in REQUIRED_VIEWS if view not in present]


def read_places(conn: Connection) -> list[str]:
    """Display names of the places that have figures."""
    return [
        r["city"] for r in _rows(conn, "SELECT DISTINCT city FROM metrics WHERE city IS NOT NULL ORDER BY 1")
    ]


def read_indicators(conn: Connection) -> list[Indicator]:
    """The indicator catalog."""
    sql = "SELECT code, name_zh, name_en, unit_kind FROM indicators ORDER BY code"
    return [Indicator(**row) for row in _rows(conn, sql)]


def _where(filters: dict[str, tuple[str, Any]]) -> tuple[str, dict[str, Any]]:
    """AND of the conditions whose value is given; each condition names its own parameter."""
    given = {name: (condition, value) for name, (condition, value) in filters.items() if value is not None}
    clause = " AND ".join(condition for condition, _ in given.values()) or "true"
    return clause, {name: value for name, (_, value) in given.items()}


FIGURES = """
SELECT id, document_id, file_name, title, published_on, city, province, place_level, year,
       indicator, indicator_name_zh, value, value_max, change, unit_kind, unit_kind_matches,
       qualifier, measure_word, subject, surface, start_offset, end_offset, sentence
FROM metric_facts
WHERE {where}
ORDER BY city NULLS LAST, indicator NULLS LAST, year NULLS LAST, published_on DESC NULLS LAST,
         file_name, start_offset, id
"""


def read_figures(
    conn: Connection,
    *,
    cities: Sequence[str] | None = None,
    indicators: Sequence[str] | None = None,
    year: int | None = None,
    unstated_year: bool = False,
) -> list[Row]:
    """Figures of the given places, indicators and year (None: any); `unstated_year`: those with no year."""
    where, params = _where(
        {
            "cities": ("city = ANY(:cities)", None if cities is None else list(cities)),
            "indicators": ("indicator = ANY(:indicators)", None if indicators is None else list(indicators)),
            "year": ("year = :year", year),
        }
    )
    if unstated_year:
        where += " AND year IS NULL"
    return _rows(conn, FIGURES.format(where=where), params)


COMPARISON = """
SELECT place_code, city, province, place_level, indicator, indicator_name_zh, year,
       value, value_max, change, unit_kind, qualifier, surface, sentence,
       documents, documents_agreeing, documents_disagreeing, metric_id, document_id, file_name, published_on
FROM city_indicator_year
WHERE {where}
ORDER BY value DESC, city, year NULLS LAST
"""


def read_comparison(
    conn: Connection, *, indicator: str, year: int | None = None, cities: Sequence[str] | None = None
) -> list[Row]:
    """One row per place and year on an indicator: the figure to cite, largest first."""
    where, params = _where(
        {
            "indicator": ("indicator = :indicator", indicator),
            "year": ("year = :year", year),
            "cities": ("city = ANY(:cities)", None if cities is None else list(cities)),
        }
    )
    return _rows(conn, COMPARISON.format(where=where), params)


SEARCH = """
SELECT d.id AS document_id, d.file_name, d.title, d.published_on, d.places[1] AS place,
       p.ordinal AS passage, p.text
FROM passages p
JOIN documents d ON d.id = p.document_id
WHERE p.search_vector @@ zh_query(:query)
ORDER BY d.published_on DESC NULLS LAST, d.file_name, p.ordinal
LIMIT :limit
"""


def read_search(conn: Connection, *, query: str, limit: int) -> list[Row]:
    """Passages matching a Simplified query through the store's zh_query(), newest documents first."""
    return _rows(conn, SEARCH, {"query": query, "limit": limit})


def _is_hex(text: str) -> bool:
    return all(ch in "0123456789abcdefABCDEF" for ch in text)


DOCUMENTS = """
SELECT document_id, file_name, title, published_on, place, places, figures, failures, stored
FROM document_summary
WHERE stored AND {where}
ORDER BY published_on DESC NULLS LAST, file_name
"""


def find_documents(conn: Connection, *, key: str, content_id: str | None = None) -> list[Row]:
    """Stored documents a user's key means: the id of a file's content, an id prefix, a file name or part."""
    if content_id is not None:
        return _rows(conn, DOCUMENTS.format(where="document_id = :id"), {"id": content_id})
    tries = [
        ("document_id LIKE :key || '%'", key.lower()) if len(key) >= 6 and _is_hex(key) else None,
        ("file_name = :key", key),
        ("strpos(file_name, :key) > 0", key),
    ]
    for attempt in tries:
        if attempt is None:
            continue
        condition, value = attempt
        found = _rows(conn, DOCUMENTS.format(where=condition), {"key": value})
        if found:
            return found
    return []


DOCUMENT_FIGURES = """
SELECT id, surface, value, value_max, change, unit_kind, unit_kind_matches, qualifier, measure_word,
       indicator, indicator_name_zh, subject, city, place_basis, year, start_offset, end_offset, sentence
FROM metric_facts
WHERE document_id = :id
ORDER BY start_offset, id
"""


def read_document_figures(conn: Connection, *, document_id: str) -> list[Row]:
    """A document's figures in the order of its text."""
    return _rows(conn, DOCUMENT_FIGURES, {"id": document_id})


def read_indicator_coverage(conn: Connection, *, indicator: str | None = None) -> list[Row]:
    """indicator_coverage rows: one indicator's, or every indicator with a figure."""
    where = "indicator = :indicator" if indicator else "figures + figures_other_unit > 0"
    sql = f"""
        SELECT c.*, i.group_name AS "group"
        FROM indicator_coverage c JOIN indicators i ON i.code = c.indicator
        WHERE {where}
        ORDER BY c.places DESC, c.figures DESC, c.indicator
    """
    return _rows(conn, sql, {"indicator": indicator})


COVERAGE_CELLS = """
SELECT coalesce(c.city, c.place_code) AS city, min(c.province) AS province, c.indicator,
       min(c.indicator_name_zh) AS indicator_name_zh, min(i.group_name) AS group_name,
       count(c.year)::int AS years, sum(c.documents)::int AS documents, sum(c.figures)::int AS figures
FROM city_indicator_year c
JOIN indicators i ON i.code = c.indicator
GROUP BY coalesce(c.city, c.place_code), c.indicator
ORDER BY 1, 3
"""


def read_coverage_cells(conn: Connection) -> list[Row]:
    """One row per place x indicator with comparable figures: documents, figures and stated years."""
    return _rows(conn, COVERAGE_CELLS)


def read_document_summary(conn: Connection) -> list[Row]:
    """document_summary, newest first."""
    sql = """
        SELECT file_name, stored, title, place, province, published_on, figures, figures_with_indicator,
               figures_other_unit, failures, last_failure
        FROM document_summary
        ORDER BY published_on DESC NULLS LAST, file_name
    """
    return _rows(conn, sql)
