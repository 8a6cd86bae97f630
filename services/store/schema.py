"""Database URL handling, database creation, Alembic migrations, and who may run them."""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ProgrammingError

if TYPE_CHECKING:  # Alembic is slow to import: only the store migrates, and only as it starts
    from alembic.config import Config

# Any constant works; it only has to be the same in every store replica.
_MIGRATION_LOCK = 0x77656E6D
_INSUFFICIENT_PRIVILEGE = "42501"
MIGRATE_HINT = "run `wenming migrate` with the database owner's URL"


class SchemaNotReady(RuntimeError):
    """The database is not (yet) the one this store was built for, and this role may not make it so.

    Waited out by the store: `wenming migrate`, run by the owner, is what ends the wait.
    """


class NotOwner(RuntimeError):
    """Migrating needs the database's owner (or a superuser), and this role is neither."""


def sqlalchemy_url(database_url: str) -> str:
    """psql-style URL (postgresql://...) to the SQLAlchemy psycopg 3 driver."""
    url = make_url(database_url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def create_database_if_missing(database_url: str) -> bool:
    """Create the target database on first use, so a fresh server needs no manual step; True if created.

    A role that may not create databases (the store's writer role) is told what to do instead.
    """
    url = make_url(sqlalchemy_url(database_url))
    name = url.database or "postgres"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).first()
            if exists:
                return False
            try:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            except ProgrammingError as exc:
                if getattr(exc.orig, "sqlstate", None) != _INSUFFICIENT_PRIVILEGE:
                    raise
                missing = f'the database "{name}" does not exist and {url.username} may not create it'
                raise SchemaNotReady(f"{missing}: {MIGRATE_HINT}") from None
            return True
    finally:
        admin.dispose()


def migrations_config() -> Config:
    """Alembic's configuration for the store's migrations."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resources.files("services.store") / "migrations"))
    return config


def head_revision() -> str:
    """The newest migration this code knows."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(migrations_config()).get_current_head()
    assert head is not None, "no migrations"
    return head


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (the newest by default); replicas starting together take turns."""
    from alembic import command

    config = migrations_config()
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK})
        try:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
            conn.commit()
        finally:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK})
            conn.commit()


def may_migrate(conn: Connection) -> bool:
    """True for the database's owner (or a member of the owning role, or a superuser): who migrates.

    Any other role, such as the store's wenming_writer, changes no schema.
    """
    owner = sa.text(
        "SELECT pg_has_role(current_user, datdba, 'MEMBER') "
        "FROM pg_database WHERE datname = current_database()"
    )
    return bool(conn.execute(owner).scalar_one())


def schema_revision(conn: Connection) -> str | None:
    """The migration the database is at, as far as this role can see; None when it cannot see one."""
    # Checked before reading: a role without SELECT on it (a database migrated before it was granted)
    # would otherwise abort the transaction with an error.
    visible = sa.text(
        "SELECT to_regclass('alembic_version') IS NOT NULL "
        "AND has_table_privilege('alembic_version', 'SELECT')"
    )
    if not conn.execute(visible).scalar_one():
        return None
    return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one_or_none()


def require_schema_at_head(conn: Connection) -> None:
    """Raise SchemaNotReady unless the database is at this code's newest migration."""
    head = head_revision()
    current = schema_revision(conn)
    if current == head:
        return
    user = conn.execute(sa.text("SELECT current_user")).scalar_one()
    if current is None:
        raise SchemaNotReady(f"the database is not migrated, or not for {user}: {MIGRATE_HINT}")
    if _is_known(current):
        behind = f"the database is at migration {current}, this store needs {head}"
        raise SchemaNotReady(f"{behind}: {MIGRATE_HINT}")
    raise SchemaNotReady(
        f"the database is at migration {current}, newer than this store's {head}: run a store of that version"
    )


def _is_known(revision: str) -> bool:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(migrations_config())
    return any(script.revision == revision for script in scripts.walk_revisions())
