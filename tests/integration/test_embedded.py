"""The embedded Postgres: reachable over TCP at a stable port, and robust to where its data lives."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from services.operate.embedded import EmbeddedPostgres
from services.store.schema import sqlalchemy_url

pytestmark = pytest.mark.integration


def test_postgres_listens_on_the_loopback_at_the_same_port_after_a_restart(server_tmp_path: Path) -> None:
    server = EmbeddedPostgres(server_tmp_path / "postgres", database="postgres")
    url = server.start()
    try:
        assert url.startswith("postgresql://postgres@127.0.0.1:")
        with psycopg.connect(url) as conn:  # over TCP, as a BI tool connects
            assert conn.execute("SELECT inet_server_addr()::text").fetchone() == ("127.0.0.1/32",)
    finally:
        server.stop()
    again = EmbeddedPostgres(server_tmp_path / "postgres", database="postgres")
    assert again.start() == url  # a URL given to a BI tool stays valid
    again.stop()


def test_the_suite_postgres_survives_pytest_making_its_folder_private(
    postgres_server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Another pytest session starting on the machine makes pytest's folder private again. Postgres,
    run as a user of its own when the suite runs as root, must not keep its files there: the
    checkpoint that a DROP DATABASE forces would then fail, and the server stop."""
    tmp_path_factory.getbasetemp().parent.chmod(0o700)  # what pytest does at the start of a session
    admin = sa.create_engine(sqlalchemy_url(postgres_server_url), isolation_level="AUTOCOMMIT")
    name = f"wenming_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    with admin.connect() as conn:
        assert conn.execute(sa.text("SELECT 1")).scalar_one() == 1
    admin.dispose()
