"""Database URL handling, database creation and Alembic migrations for the store."""

from __future__ import annotations

from importlib import resources

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

# Any constant works; it only has to be the same in every store replica.
_MIGRATION_LOCK = 0x77656E6D


def sqlalchemy_url(database_url: str) -> str:
    """psql-style URL (postgresql://...) to the SQLAlchemy psycopg 3 driver."""
    url = make_url(database_url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def create_database_if_missing(database_url: str) -> None:
    """Create the target database on first use, so a fresh server needs no manual step."""
    url = make_url(sqlalchemy_url(database_url))
    name = url.database or "postgres"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).first()
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (the newest by default); replicas starting together take turns."""
    # Imported here: only the store stage migrates, and Alembic is slow to import.
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resources.files("services.store") / "migrations"))
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK})
        try:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
            conn.commit()
        finally:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK})
            conn.commit()
