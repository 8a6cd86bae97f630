"""Metrics gain change, value_max and place code, level and basis; a regions table; metric_facts shows them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# A view cannot gain columns in the middle, so metric_facts is dropped and created again.
METRIC_FACTS = """
CREATE VIEW metric_facts AS
SELECT m.id, m.document_id, d.file_name, d.title, d.published_on,
       m.city, m.place_code, m.place_level, m.place_basis, r.prefecture, r.province,
       m.year, m.indicator, i.name_zh AS indicator_name_zh, i.name_en AS indicator_name_en,
       m.value, m.value_max, m.change, m.unit_kind, i.unit_kind AS indicator_unit_kind,
       m.unit_kind = i.unit_kind AS unit_kind_matches,
       m.measure_word, m.qualifier, m.subject, m.surface,
       m.start_offset, m.end_offset, m.sentence
FROM metrics m
JOIN documents d ON d.id = m.document_id
LEFT JOIN indicators i ON i.code = m.indicator
LEFT JOIN regions r ON r.code = m.place_code
"""

METRIC_FACTS_0001 = """
CREATE VIEW metric_facts AS
SELECT m.id, m.document_id, d.file_name, d.title, d.published_on,
       m.city, m.year, m.indicator, i.name_zh AS indicator_name_zh, i.name_en AS indicator_name_en,
       m.value, m.unit_kind, m.measure_word, m.qualifier, m.subject, m.surface,
       m.start_offset, m.end_offset, m.sentence
FROM metrics m
JOIN documents d ON d.id = m.document_id
LEFT JOIN indicators i ON i.code = m.indicator
"""


def upgrade() -> None:
    op.add_column("metrics", sa.Column("value_max", sa.Float))
    op.add_column("metrics", sa.Column("change", sa.Text))
    op.add_column("metrics", sa.Column("place_code", sa.Text))
    op.add_column("metrics", sa.Column("place_level", sa.Text))
    # Nullable: rows stored before this revision do not say why they have their place.
    op.add_column("metrics", sa.Column("place_basis", sa.Text))
    op.create_index("ix_metrics_indicator_place_year", "metrics", ["indicator", "place_code", "year"])

    # No foreign key from metrics.place_code: a code from a newer jionlp than the store's must not
    # turn a document into a dead letter; the views join regions with LEFT JOIN.
    # Rows are written by the store as it starts (repository.sync_regions), like the indicators.
    op.create_table(
        "regions",
        sa.Column("code", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("level", sa.Text, nullable=False),
        sa.Column("parent_code", sa.Text),
        sa.Column("province", sa.Text, nullable=False),
        sa.Column("prefecture", sa.Text),
    )
    op.create_index("ix_regions_parent_code", "regions", ["parent_code"])

    op.execute("DROP VIEW metric_facts")
    op.execute(METRIC_FACTS)


def downgrade() -> None:
    op.execute("DROP VIEW metric_facts")
    op.execute(METRIC_FACTS_0001)
    op.drop_table("regions")
    op.drop_index("ix_metrics_indicator_place_year", table_name="metrics")
    for column in ("place_basis", "place_level", "place_code", "change", "value_max"):
        op.drop_column("metrics", column)
