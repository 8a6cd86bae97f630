"""Dead letters that can be replayed, the log of their replays, and each document's file facts.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

`dead_letters` keeps what `ingest_log` says of a failure and, for the stages that read a stream,
the message itself, so that `wenming dlq replay` can publish it again once the cause is fixed;
`dead_letter_replays` logs each replay. `documents.file_facts` keeps what came with a file (its
sidecar, its folder's place), so that `wenming reprocess` extracts the document as it was dropped.

The store's wenming_writer only adds dead letters; replays and purges are the operator's
(`wenming dlq`, as the database's owner or a role granted them), so the writer gets nothing on the
replay log. wenming_reader reads both.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

WRITER = "wenming_writer"
READER = "wenming_reader"

TABLES = {
    "dead_letters": (
        "Messages and files a stage could not use (死信), with the reason and, for a replay, the message.",
        {
            "id": "dead letter id, as `wenming dlq` shows it",
            "stage": "the stage that gave up on it: ingest, normalize, extract or store",
            "stream": "the stream the message was read from, where a replay publishes it; "
            "NULL for ingest (its files wait in the inbox's failed/ folder)",
            "doc_id": "the document (documents.id), NULL when it was not known",
            "file_name": "the file's name under the inbox",
            "reason": "why the stage gave up",
            "error_type": "the exception's type when the stage raised one, NULL otherwise",
            "trace": "the innermost frames of that exception's traceback, NULL otherwise",
            "failed_at": "when the stage gave up",
            "payload": "the message as the stage read it, its large fields put back; "
            "NULL for ingest and for letters from before messages were kept",
            "replayed": "how many times it was replayed",
            "last_replayed_at": "when it was last replayed, NULL if never",
        },
    ),
    "dead_letter_replays": (
        "Every replay of a dead letter (`wenming dlq replay`): when, by whom and where it went.",
        {
            "id": "replay id",
            "dead_letter_id": "the dead letter (dead_letters.id); NULL once that letter is purged",
            "stage": "the stage the letter came from",
            "doc_id": "the document, NULL when it was not known",
            "replayed_at": "when",
            "replayed_by": "who: user@host of the `wenming dlq replay` that did it",
            "stream": "the stream the message was published to; NULL for a file moved back to the inbox",
            "entry_id": "the new stream entry's id; NULL for a file moved back to the inbox",
            "moved_to": "for ingest, where the file was put back in the inbox; NULL otherwise",
        },
    ),
}
FILE_FACTS = (
    "what came with the file, not in it: its sidecar's place, source and published_on, or its "
    "folder's place (JSON); NULL when nothing did, or stored before it was kept"
)
INGEST_LOG_STATUS = (
    "stored, updated (newer extractor, or reprocessed), unchanged (same again), stale (older extractor, "
    "ignored) or failed"
)
OLD_INGEST_LOG_STATUS = (
    "stored, updated (newer extractor), unchanged (same again), stale (older extractor, ignored) or failed"
)


def _quoted(text: str | None) -> str:
    return "NULL" if text is None else "'" + text.replace("'", "''") + "'"  # COMMENT takes no parameters


def _on_sequence(action: str, table: str) -> str:
    return f"DO $$ BEGIN EXECUTE format('{action}', pg_get_serial_sequence('{table}', 'id')); END $$"


def upgrade() -> None:
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("stage", sa.Text(), nullable=False),
        sa.Column("stream", sa.Text(), nullable=True),
        sa.Column("doc_id", sa.Text(), nullable=True),
        sa.Column("file_name", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("error_type", sa.Text(), nullable=True),
        sa.Column("trace", sa.Text(), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", JSONB(), nullable=True),
        sa.Column("replayed", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_replayed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_dead_letters_doc_id", "dead_letters", ["doc_id"])
    op.create_index("ix_dead_letters_failed_at", "dead_letters", ["failed_at"])
    op.create_table(
        "dead_letter_replays",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column(
            "dead_letter_id",
            sa.BigInteger(),
            sa.ForeignKey("dead_letters.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("stage", sa.Text(), nullable=False),
        sa.Column("doc_id", sa.Text(), nullable=True),
        sa.Column("replayed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replayed_by", sa.Text(), nullable=False),
        sa.Column("stream", sa.Text(), nullable=True),
        sa.Column("entry_id", sa.Text(), nullable=True),
        sa.Column("moved_to", sa.Text(), nullable=True),
    )
    op.create_index("ix_dead_letter_replays_dead_letter_id", "dead_letter_replays", ["dead_letter_id"])
    op.add_column("documents", sa.Column("file_facts", JSONB(), nullable=True))
    for table, (text, columns) in TABLES.items():
        op.execute(f"COMMENT ON TABLE {table} IS {_quoted(text)}")
        for column, meaning in columns.items():
            op.execute(f"COMMENT ON COLUMN {table}.{column} IS {_quoted(meaning)}")
        op.execute(f"GRANT SELECT ON {table} TO {READER}")
    op.execute(f"COMMENT ON COLUMN documents.file_facts IS {_quoted(FILE_FACTS)}")
    op.execute(f"COMMENT ON COLUMN ingest_log.status IS {_quoted(INGEST_LOG_STATUS)}")
    # The store adds letters (an ORM insert, which reads back the id it returns); nothing more.
    op.execute(f"GRANT SELECT, INSERT ON dead_letters TO {WRITER}")
    op.execute(_on_sequence(f"GRANT USAGE ON SEQUENCE %s TO {WRITER}", "dead_letters"))


def downgrade() -> None:
    op.execute(f"COMMENT ON COLUMN ingest_log.status IS {_quoted(OLD_INGEST_LOG_STATUS)}")
    op.drop_column("documents", "file_facts")
    op.drop_table("dead_letter_replays")
    op.drop_table("dead_letters")
