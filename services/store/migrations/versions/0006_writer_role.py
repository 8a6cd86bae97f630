"""The store's own role, wenming_writer: the rows it writes, and no schema, no ownership.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04

Where the migrations run apart from the store (Compose's `migrate` service, Kubernetes' Job), the
owner runs `wenming migrate` and the store logs in as this role. It may write exactly what the
store writes at run time (services/store/repository.py) and read what those statements read; it
may not create, alter, drop or truncate anything, write the catalog, the regions or the migration
record, or own anything, so a compromised store (or a forged message) cannot change the schema or
rewrite the reference data. Like wenming_reader it belongs to the server, is created without login,
and can log in once `wenming migrate` has set WENMING_WRITER_PASSWORD.

A later migration that adds a table (or a statement) the store needs must grant this role what it
needs, as this one does: nothing is granted by default.
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

WRITER = "wenming_writer"

# What each statement of the store needs, table by table.
TABLE_PRIVILEGES = {
    # INSERT ... ON CONFLICT (id) DO UPDATE; SELECT extractor_version ... FOR UPDATE before it.
    "documents": "SELECT, INSERT, UPDATE",
    # A document's figures and passages are replaced: DELETE ... WHERE document_id, then INSERT.
    "metrics": "SELECT, INSERT, DELETE",
    "passages": "SELECT, INSERT, DELETE",
    # One row per outcome or dead letter; SELECT for the id that the insert returns.
    "ingest_log": "SELECT, INSERT",
    # The store checks, as it starts, that the schema is the one it was built for.
    "alembic_version": "SELECT",
}
# bigserial ids: nextval() needs USAGE on their sequences.
SEQUENCES = (("metrics", "id"), ("passages", "id"), ("ingest_log", "id"))

# Only the creator sets the role's options: a role made beforehand by an administrator (for an owner
# without CREATEROLE) is left as it is. Two databases migrated at once may race to create it.
CREATE_ROLE = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{WRITER}') THEN
        CREATE ROLE {WRITER} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
        COMMENT ON ROLE {WRITER} IS
            'The Wenming store stage: writes documents, figures, passages and the ingest log; no DDL.';
    END IF;
EXCEPTION WHEN duplicate_object THEN NULL;
END
$$
"""


def _on_database(action: str) -> str:
    # The database's name is only known at run time.
    return f"DO $$ BEGIN EXECUTE format('{action}', current_database()); END $$"


def _on_sequence(action: str, table: str, column: str) -> str:
    return f"DO $$ BEGIN EXECUTE format('{action}', pg_get_serial_sequence('{table}', '{column}')); END $$"


# Still granted in another database of the server: the role stays for it.
DROP_ROLE = f"""
DO $$
BEGIN
    DROP ROLE IF EXISTS {WRITER};
EXCEPTION WHEN dependent_objects_still_exist THEN NULL;
END
$$
"""


def upgrade() -> None:
    op.execute(CREATE_ROLE)
    op.execute(_on_database(f"GRANT CONNECT ON DATABASE %I TO {WRITER}"))
    op.execute(f"GRANT USAGE ON SCHEMA public TO {WRITER}")
    for table, privileges in TABLE_PRIVILEGES.items():
        op.execute(f"GRANT {privileges} ON {table} TO {WRITER}")
    for table, column in SEQUENCES:
        op.execute(_on_sequence(f"GRANT USAGE ON SEQUENCE %s TO {WRITER}", table, column))


def downgrade() -> None:
    for table, column in SEQUENCES:
        op.execute(_on_sequence(f"REVOKE ALL ON SEQUENCE %s FROM {WRITER}", table, column))
    for table in TABLE_PRIVILEGES:
        op.execute(f"REVOKE ALL ON {table} FROM {WRITER}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {WRITER}")
    op.execute(_on_database(f"REVOKE CONNECT ON DATABASE %I FROM {WRITER}"))
    op.execute(DROP_ROLE)
