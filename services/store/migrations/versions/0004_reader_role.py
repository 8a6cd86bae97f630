"""A read-only role, wenming_reader, for psql, spreadsheets and BI tools (Metabase, Superset).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

A role belongs to the server, not to one database: it is created once, without login, and each
database migrated here grants it SELECT. It can log in once it has a password, which the store
sets from WENMING_READER_PASSWORD as it starts (services/store/access.py), so no password is
ever written in a file. Default privileges grant SELECT on what later migrations create too, so
a view dropped and created again stays readable.
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

READER = "wenming_reader"

# Only the creator sets the role's options: a role made beforehand by an administrator (for a store
# user without CREATEROLE) is left as it is. Two databases migrated at once may race to create it.
CREATE_ROLE = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{READER}') THEN
        CREATE ROLE {READER} NOLOGIN;
        ALTER ROLE {READER} SET default_transaction_read_only = on;
        COMMENT ON ROLE {READER} IS
            'Read-only access to Wenming Pipeline databases: SELECT on their tables and views.';
    END IF;
EXCEPTION WHEN duplicate_object THEN NULL;
END
$$
"""

# The database's name is only known at run time.
GRANT_CONNECT = (
    f"DO $$ BEGIN EXECUTE format('GRANT CONNECT ON DATABASE %I TO {READER}', current_database()); END $$"
)
REVOKE_CONNECT = (
    f"DO $$ BEGIN EXECUTE format('REVOKE CONNECT ON DATABASE %I FROM {READER}', current_database()); END $$"
)

# Still granted in another database of the server: the role stays for it.
DROP_ROLE = f"""
DO $$
BEGIN
    DROP ROLE IF EXISTS {READER};
EXCEPTION WHEN dependent_objects_still_exist THEN NULL;
END
$$
"""


def upgrade() -> None:
    op.execute(CREATE_ROLE)
    op.execute(GRANT_CONNECT)
    op.execute(f"GRANT USAGE ON SCHEMA public TO {READER}")
    op.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {READER}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {READER}")
    # Before PostgreSQL 15 every role could create tables in public (15 and later refuse by default).
    op.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")


def downgrade() -> None:
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT ON TABLES FROM {READER}")
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {READER}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {READER}")
    op.execute(REVOKE_CONNECT)
    op.execute(DROP_ROLE)
