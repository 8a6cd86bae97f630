"""Documents, metrics, indicators, ingest log, full-text search and the metric_facts view.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("file_name", sa.Text, nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("published_on", sa.Date),
        sa.Column("source", sa.Text),
        sa.Column("author", sa.Text),
        sa.Column("places", postgresql.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("script", sa.Text, nullable=False),
        sa.Column("encoding", sa.Text, nullable=False),
        sa.Column("format", sa.Text, nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("original_text", sa.Text, nullable=False),
        sa.Column("simplified_text", sa.Text, nullable=False),
        sa.Column("extractor_version", sa.Text, nullable=False),
        sa.Column("metric_count", sa.Integer, nullable=False),
        sa.Column("ingested_at", TZ, nullable=False),
        sa.Column("stored_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_index("ix_documents_places", "documents", ["places"], postgresql_using="gin")

    op.create_table(
        "metrics",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("document_id", sa.Text, sa.ForeignKey("documents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("ordinal", sa.Integer, nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("unit_kind", sa.Text, nullable=False),
        sa.Column("measure_word", sa.Text, nullable=False),
        sa.Column("qualifier", sa.Text, nullable=False),
        sa.Column("indicator", sa.Text),
        sa.Column("subject", sa.Text),
        sa.Column("city", sa.Text),
        sa.Column("year", sa.Integer),
        sa.Column("surface", sa.Text, nullable=False),
        sa.Column("start_offset", sa.Integer, nullable=False),
        sa.Column("end_offset", sa.Integer, nullable=False),
        sa.Column("sentence", sa.Text, nullable=False),
        sa.UniqueConstraint("document_id", "ordinal"),
    )
    op.create_index("ix_metrics_indicator_city_year", "metrics", ["indicator", "city", "year"])
    op.create_index("ix_metrics_city_year", "metrics", ["city", "year"])

    # Postgres has no Chinese parser: the store writes character bigrams (services/store/search.py).
    op.create_table(
        "passages",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("document_id", sa.Text, sa.ForeignKey("documents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("ordinal", sa.Integer, nullable=False),
        sa.Column("start_offset", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("search_terms", sa.Text, nullable=False),
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR,
            sa.Computed("to_tsvector('simple', search_terms)", persisted=True),
        ),
        sa.UniqueConstraint("document_id", "ordinal"),
    )
    op.create_index("ix_passages_search_vector", "passages", ["search_vector"], postgresql_using="gin")

    op.create_table(
        "indicators",
        sa.Column("code", sa.Text, primary_key=True),
        sa.Column("name_zh", sa.Text, nullable=False),
        sa.Column("name_en", sa.Text, nullable=False),
        sa.Column("group_name", sa.Text, nullable=False),
        sa.Column("unit_kind", sa.Text, nullable=False),
    )

    op.create_table(
        "ingest_log",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("doc_id", sa.Text),
        sa.Column("file_name", sa.Text),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("stage", sa.Text, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("logged_at", TZ, nullable=False),
    )
    op.create_index("ix_ingest_log_doc_id", "ingest_log", ["doc_id"])

    # Query side of the bigram index: 实践站 becomes '实践' <-> '践站'; runs are ANDed.
    op.execute(
        """
        CREATE FUNCTION zh_query(query text) RETURNS tsquery
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
          SELECT coalesce(string_agg(phrase, ' & '), '')::tsquery
          FROM (
            SELECT CASE
                     WHEN run ~ '^[一-鿿]' AND char_length(run) > 1 THEN
                       (SELECT string_agg(quote_literal(substr(run, i, 2)), ' <-> ' ORDER BY i)
                        FROM generate_series(1, char_length(run) - 1) AS i)
                     ELSE quote_literal(lower(run))
                   END AS phrase
            FROM regexp_matches(query, '[㐀-鿿豈-﫿]+|[A-Za-z0-9]+', 'g') AS m(parts),
                 LATERAL (SELECT parts[1] AS run) AS r
          ) AS phrases
        $$
        """
    )

    # The analyst's main table: one row per figure with its document and indicator names.
    op.execute(
        """
        CREATE VIEW metric_facts AS
        SELECT m.id, m.document_id, d.file_name, d.title, d.published_on,
               m.city, m.year, m.indicator, i.name_zh AS indicator_name_zh, i.name_en AS indicator_name_en,
               m.value, m.unit_kind, m.measure_word, m.qualifier, m.subject, m.surface,
               m.start_offset, m.end_offset, m.sentence
        FROM metrics m
        JOIN documents d ON d.id = m.document_id
        LEFT JOIN indicators i ON i.code = m.indicator
        """
    )


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS metric_facts")
    op.execute("DROP FUNCTION IF EXISTS zh_query(text)")
    op.drop_table("ingest_log")
    op.drop_table("indicators")
    op.drop_table("passages")
    op.drop_table("metrics")
    op.drop_table("documents")
