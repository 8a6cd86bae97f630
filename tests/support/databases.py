"""Databases of a test's own on the test Postgres server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from services.store.schema import sqlalchemy_url


@contextmanager
def own_database(postgres_server_url: str) -> Iterator[str]:
    """A new database on the server, dropped on exit."""
    name = f"wenming_test_{uuid.uuid4().hex[:12]}"
    server = sa.engine.make_url(sqlalchemy_url(postgres_server_url))
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
