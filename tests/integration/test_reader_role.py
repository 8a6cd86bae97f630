"""The read-only role wenming_reader: it reads every table and view, and can change nothing.

The role belongs to the Postgres server, which other test databases share: the module starts it as
a fresh server has it (no login, no password) and leaves it so.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from services.operate.cli import main
from services.store.access import READER_ROLE
from services.store.database import DocumentStore
from shared.settings import Settings
from tests.support.seeded import seeded_store

pytestmark = pytest.mark.integration

README = Path(__file__).resolve().parents[2] / "README.md"
PASSWORD = "reader-test-password"


def _reset_role(store: DocumentStore) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.text(f"ALTER ROLE {READER_ROLE} NOLOGIN PASSWORD NULL"))


@pytest.fixture(scope="module")
def seeded(postgres_server_url: str) -> Iterator[DocumentStore]:
    with seeded_store(postgres_server_url) as store:
        _reset_role(store)
        yield store
        _reset_role(store)


@pytest.fixture(scope="module")
def with_password(seeded: DocumentStore) -> DocumentStore:
    """The store started with WENMING_READER_PASSWORD set (after the test of a start without)."""
    url = seeded.engine.url.render_as_string(hide_password=False)
    DocumentStore(url, reader_password=PASSWORD).close()
    return seeded


def _as_reader(store: DocumentStore, password: str | None = PASSWORD) -> sa.Engine:
    url = make_url(store.engine.url.render_as_string(hide_password=False))
    return sa.create_engine(url.set(username=READER_ROLE, password=password))


def _objects(store: DocumentStore) -> list[str]:
    with store.engine.connect() as conn:
        sql = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1"
        return list(conn.execute(sa.text(sql)).scalars())


def test_without_a_password_the_role_exists_and_cannot_log_in(seeded: DocumentStore) -> None:
    url = seeded.engine.url.render_as_string(hide_password=False)
    DocumentStore(url).close()  # a store started with WENMING_READER_PASSWORD unset
    with seeded.engine.connect() as conn:
        role = conn.execute(
            sa.text("SELECT rolcanlogin, rolconfig FROM pg_roles WHERE rolname = :r"), {"r": READER_ROLE}
        ).one()
    assert role.rolcanlogin is False and "default_transaction_read_only=on" in role.rolconfig
    reader = _as_reader(seeded, password=None)
    with pytest.raises(sa.exc.OperationalError, match="not permitted to log in"):
        reader.connect().close()
    reader.dispose()


def test_the_password_from_settings_lets_it_read_every_table_and_view(
    seeded: DocumentStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WENMING_READER_PASSWORD", PASSWORD)  # as the README's `wenming up` line sets it
    settings = Settings()
    assert settings.reader_password is not None and PASSWORD not in repr(settings)
    url = seeded.engine.url.render_as_string(hide_password=False)
    DocumentStore(url, reader_password=settings.reader_password.get_secret_value()).close()
    objects = _objects(seeded)
    assert {"metric_facts", "city_indicator_year", "documents", "metrics", "regions"} <= set(objects)
    reader = _as_reader(seeded)
    with reader.connect() as conn:
        for name in objects:
            conn.execute(sa.text(f'SELECT * FROM "{name}" LIMIT 1')).all()
        hits = conn.execute(
            sa.text("SELECT count(*) FROM passages WHERE search_vector @@ zh_query('实践站')")
        )
        assert hits.scalar_one() > 0
    reader.dispose()


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO ingest_log (status, stage, logged_at) VALUES ('stored', 'store', now())",
        "UPDATE metrics SET value = 0",
        "DELETE FROM documents",
        "TRUNCATE ingest_log",
        "CREATE TABLE notes (line text)",
        "CREATE VIEW my_figures AS SELECT 1 AS one",
        "CREATE SCHEMA mine",
        "CREATE FUNCTION answer() RETURNS int LANGUAGE sql AS 'SELECT 42'",
        "DROP VIEW metric_facts",
        "COMMENT ON TABLE metrics IS 'mine now'",
        "ALTER TABLE metrics ADD COLUMN mine text",
    ],
)
def test_the_reader_can_change_nothing(with_password: DocumentStore, statement: str) -> None:
    seeded = with_password
    reader = _as_reader(seeded)
    with reader.connect() as conn:
        # Sessions are read-only by default; the privileges must refuse even a read-write transaction.
        with pytest.raises(sa.exc.DBAPIError) as refused:
            conn.execute(sa.text(statement))
        assert refused.value.orig.sqlstate == "25006"  # type: ignore[union-attr]  # read-only transaction
        conn.rollback()
        conn.execute(sa.text("SET TRANSACTION READ WRITE"))
        with pytest.raises(sa.exc.ProgrammingError) as denied:
            conn.execute(sa.text(statement))
        assert denied.value.orig.sqlstate == "42501"  # type: ignore[union-attr]  # insufficient privilege
        conn.rollback()
    reader.dispose()
    with seeded.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM metrics WHERE value = 0")).scalar_one() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM documents")).scalar_one() > 0


def test_the_readme_connection_and_wenming_query_work_as_the_reader(
    with_password: DocumentStore, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = with_password.engine.url.render_as_string(hide_password=False)
    section = README.read_text(encoding="utf-8").split("\n## Read-only access", 1)[1].split("\n## ", 1)[0]
    [(readme_url, sql)] = re.findall(r'psql "(postgresql://wenming_reader:[^"]+)" -c "([^"]+)"', section)
    shown = make_url(readme_url)
    assert shown.username == READER_ROLE and shown.password == "choose-one"
    reader_url = make_url(url).set(username=shown.username, password=PASSWORD)
    engine = sa.create_engine(reader_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text(sql)).scalar_one() > 0
    engine.dispose()
    monkeypatch.setenv("WENMING_DATABASE_URL", reader_url.render_as_string(hide_password=False))
    with pytest.raises(SystemExit) as exited:
        main(["query", "compare", "--indicator", "volunteer.registered", "--csv"])
    assert exited.value.code == 0 and "保定市" in capsys.readouterr().out


def test_the_readme_by_hand_login_statement_works(seeded: DocumentStore) -> None:
    section = README.read_text(encoding="utf-8").split("\n## Read-only access", 1)[1].split("\n## ", 1)[0]
    [statement] = re.findall(r"`(ALTER ROLE wenming_reader LOGIN;)`", section)
    with seeded.engine.begin() as conn:
        conn.execute(sa.text(f"ALTER ROLE {READER_ROLE} PASSWORD NULL NOLOGIN"))
        conn.execute(sa.text(statement))
        assert conn.execute(
            sa.text("SELECT rolcanlogin FROM pg_roles WHERE rolname = :r"), {"r": READER_ROLE}
        ).scalar_one()
    _reset_role(seeded)
