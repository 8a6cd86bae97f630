"""ingest_log keeps the exception type and a short trace of a stage that failed on a message.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COMMENTS = {
    "error_type": "the exception's type when the stage raised one (e.g. ValueError, TooSlow), NULL otherwise",
    "trace": "the innermost frames of that exception's traceback, NULL otherwise",
}


def upgrade() -> None:
    op.add_column("ingest_log", sa.Column("error_type", sa.Text(), nullable=True))
    op.add_column("ingest_log", sa.Column("trace", sa.Text(), nullable=True))
    for column, text in COMMENTS.items():
        quoted = "'" + text.replace("'", "''") + "'"  # COMMENT takes no bind parameters
        op.execute(f"COMMENT ON COLUMN ingest_log.{column} IS {quoted}")


def downgrade() -> None:
    op.drop_column("ingest_log", "trace")
    op.drop_column("ingest_log", "error_type")
