"""The store's own role, wenming_writer: the store stage runs as it, and it can change no schema.

As in Compose and Kubernetes, `wenming migrate` runs as the database's owner and the store then
connects as wenming_writer. The role belongs to the Postgres server, which other test databases
share: the module leaves it as a fresh server has it (no login, no password).
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from faststream import TestApp
from faststream.redis import RedisBroker
from sqlalchemy.engine import make_url

from services.operate.cli import main
from services.store.access import WRITER_ROLE
from services.store.app import create_app
from services.store.database import DocumentStore
from services.store.schema import head_revision, migrate, sqlalchemy_url
from shared.contracts import DeadLetter, DocumentExtracted, DocumentMetadata, Metric
from shared.servers import server_address
from shared.settings import Settings
from shared.streams import Topology
from tests.support.databases import own_database
from tests.support.documents import extracted_document
from tests.support.polling import eventually
from tests.support.servers import (
    free_port,
    postgres_binaries,
    postgres_cluster,
    postgres_server,
    stop,
    wait_for_text,
)

pytestmark = pytest.mark.integration

PASSWORD = "writer-test-password"
README = Path(__file__).resolve().parents[2] / "README.md"


@dataclass(frozen=True)
class Urls:
    owner: str
    writer: str


def _as(url: str, user: str, password: str | None) -> str:
    return make_url(url).set(username=user, password=password).render_as_string(hide_password=False)


def _migrate(database_url: str, wait_s: float = 10, **env: str) -> int:
    """`wenming migrate` as the migration job runs it; its exit status."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WENMING_DATABASE_URL", database_url)
        for name, value in env.items():
            patch.setenv(name, value)
        with pytest.raises(SystemExit) as exited:
            main(["migrate", "--wait", str(wait_s)])
    return int(exited.value.code or 0)


def _reset_role(owner_url: str) -> None:
    engine = sa.create_engine(sqlalchemy_url(owner_url))
    with engine.begin() as conn:
        conn.execute(sa.text(f"ALTER ROLE {WRITER_ROLE} NOLOGIN PASSWORD NULL"))
    engine.dispose()


@pytest.fixture(scope="module")
def migrated(postgres_server_url: str) -> Iterator[Urls]:
    """A database of its own, migrated by its owner, who also gave the writer its password."""
    with own_database(postgres_server_url) as owner_url:
        status = _migrate(owner_url, WENMING_WRITER_PASSWORD=PASSWORD)
        assert status == 0
        yield Urls(owner=owner_url, writer=_as(owner_url, WRITER_ROLE, PASSWORD))
        _reset_role(owner_url)


def _document(doc_id: str, *, version: str, figures: int) -> DocumentExtracted:
    text = "全市注册志愿者42万名，建成新时代文明实践站438个。"
    metrics = (
        Metric(
            value=420000,
            unit_kind="person",
            measure_word="名",
            indicator="volunteer.registered",
            city="淮北市",
            surface="42万名",
            start=7,
            end=11,
            sentence=text,
        ),
        Metric(
            value=438,
            unit_kind="count",
            measure_word="个",
            indicator="practice.stations",
            city="淮北市",
            surface="438个",
            start=23,
            end=27,
            sentence=text,
        ),
    )[:figures]
    return extracted_document(
        doc_id,
        text,
        metrics,
        file_name=f"{doc_id[:6]}.txt",
        extractor_version=version,
        metadata=DocumentMetadata(title="淮北市志愿服务", places=("淮北市",)),
    )


def _scalar(url: str, sql: str, **params: object) -> object:
    engine = sa.create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar_one()
    finally:
        engine.dispose()


async def _value(url: str, sql: str, **params: object) -> object:
    return _scalar(url, sql, **params)


async def test_the_store_stage_runs_as_the_writer(
    migrated: Urls, redis_url: str, stream_prefix: str, tmp_path: Path
) -> None:
    settings = Settings(
        redis_url=redis_url,
        database_url=migrated.writer,
        stream_prefix=stream_prefix,
        inbox=tmp_path / "inbox",
        reclaim_idle_ms=2_000,
        batch_size=16,
    )
    topology = Topology(stream_prefix)
    kept, replaced = "a" * 64, "b" * 64
    log_rows = "SELECT count(*) FROM ingest_log WHERE doc_id IN (:a, :b) OR file_name = 'broken.txt'"
    async with TestApp(create_app(settings)):
        database = make_url(migrated.owner).database
        connected_as = await _value(
            migrated.owner,
            "SELECT array_agg(DISTINCT usename::text) FROM pg_stat_activity "
            "WHERE datname = :d AND pid <> pg_backend_pid()",
            d=database,
        )
        broker = RedisBroker(redis_url)
        async with broker:
            await broker.publish(_document(kept, version="1", figures=2), stream=topology.extracted)
            await broker.publish(_document(replaced, version="1", figures=2), stream=topology.extracted)
            await eventually(
                lambda: _value(migrated.owner, "SELECT count(*) FROM documents"), lambda n: n == 2
            )
            # Re-extracted by a newer extractor with fewer figures, and delivered again unchanged.
            await broker.publish(_document(replaced, version="2", figures=1), stream=topology.extracted)
            await broker.publish(_document(kept, version="1", figures=2), stream=topology.extracted)
            letter = DeadLetter(
                stage="ingest",
                doc_id="c" * 64,
                file_name="scan.pdf",
                reason="scanned PDF has no text layer",
                failed_at=datetime.now(UTC),
            )
            await broker.publish(letter, stream=topology.dead_letter)
            await broker.publish({"doc_id": "d" * 64, "file_name": "broken.txt"}, stream=topology.extracted)
            await eventually(
                lambda: _value(
                    migrated.owner,
                    log_rows + " OR file_name = 'scan.pdf'",
                    a=kept,
                    b=replaced,
                ),
                lambda n: n == 6,
            )
    assert connected_as == [WRITER_ROLE]  # the store's every connection, none as the owner
    figures = "SELECT count(*) FROM metrics WHERE document_id = :d"
    assert _scalar(migrated.owner, figures, d=kept) == 2
    assert _scalar(migrated.owner, figures, d=replaced) == 1
    assert _scalar(migrated.owner, "SELECT extractor_version FROM documents WHERE id = :d", d=replaced) == "2"
    assert _scalar(migrated.owner, "SELECT count(*) FROM passages WHERE document_id = :d", d=kept) == 1
    statuses = (
        "SELECT string_agg(status, ',' ORDER BY id) FROM ingest_log WHERE doc_id = :d AND stage = 'store'"
    )
    assert _scalar(migrated.owner, statuses, d=kept) == "stored,unchanged"
    assert _scalar(migrated.owner, statuses, d=replaced) == "stored,updated"
    failed = "SELECT reason FROM ingest_log WHERE status = 'failed' AND file_name = :f"
    assert _scalar(migrated.owner, failed, f="scan.pdf") == "scanned PDF has no text layer"
    # The writer adds dead letters too, the invalid message kept in it.
    letters = "SELECT string_agg(file_name, ',' ORDER BY file_name) FROM dead_letters"
    assert _scalar(migrated.owner, letters) == "broken.txt,scan.pdf"
    kept = "SELECT payload->>'file_name' FROM dead_letters WHERE stage = 'store'"
    assert _scalar(migrated.owner, kept) == "broken.txt"
    assert "not a valid DocumentExtracted" in str(_scalar(migrated.owner, failed, f="broken.txt"))


@pytest.mark.parametrize(
    "statement",
    [
        # No DDL.
        "CREATE TABLE notes (line text)",
        "CREATE VIEW mine AS SELECT 1 AS one",
        "CREATE SCHEMA mine",
        "CREATE FUNCTION answer() RETURNS int LANGUAGE sql AS 'SELECT 42'",
        "CREATE INDEX ON metrics (value)",
        "ALTER TABLE metrics ADD COLUMN mine text",
        "ALTER TABLE documents OWNER TO wenming_writer",
        "DROP TABLE ingest_log",
        "DROP VIEW metric_facts",
        "DROP FUNCTION zh_query(text)",
        "COMMENT ON TABLE metrics IS 'mine now'",
        "TRUNCATE metrics",
        "TRUNCATE documents CASCADE",
        "TRUNCATE ingest_log",
        "CREATE DATABASE mine",
        "ALTER ROLE wenming_writer CREATEDB",
        "ALTER ROLE wenming_reader LOGIN PASSWORD 'taken'",
        # No writes beyond what the store writes.
        "DELETE FROM documents",
        "UPDATE metrics SET value = 0",
        "UPDATE passages SET text = ''",
        "UPDATE ingest_log SET reason = 'rewritten'",
        "DELETE FROM ingest_log",
        "INSERT INTO indicators (code, name_zh, name_en, group_name, unit_kind) VALUES ('x', '', '', '', '')",
        "UPDATE indicators SET name_en = 'renamed'",
        "DELETE FROM regions",
        "UPDATE alembic_version SET version_num = '0001'",
        "SELECT setval(pg_get_serial_sequence('metrics', 'id'), 1)",
        # Dead letters it only adds: replays and purges are the operator's (`wenming dlq`).
        "UPDATE dead_letters SET replayed = replayed + 1",
        "DELETE FROM dead_letters",
        "TRUNCATE dead_letters",
        "INSERT INTO dead_letter_replays (stage, replayed_at, replayed_by) VALUES ('store', now(), 'me')",
        "DELETE FROM dead_letter_replays",
        # Nor reads of what it does not use.
        "SELECT count(*) FROM regions",
        "SELECT count(*) FROM dead_letter_replays",
    ],
)
def test_the_writer_is_refused(migrated: Urls, statement: str) -> None:
    # Autocommit: CREATE DATABASE runs outside a transaction or not at all.
    writer = sa.create_engine(sqlalchemy_url(migrated.writer), isolation_level="AUTOCOMMIT")
    try:
        with writer.connect() as conn:
            with pytest.raises(sa.exc.ProgrammingError) as refused:
                conn.execute(sa.text(statement))
            assert refused.value.orig.sqlstate == "42501"  # type: ignore[union-attr]  # insufficient privilege
    finally:
        writer.dispose()
    assert _scalar(migrated.owner, "SELECT version_num FROM alembic_version") == head_revision()
    assert _scalar(migrated.owner, "SELECT count(*) FROM regions") > 3000  # type: ignore[operator]


def test_the_writer_owns_nothing_and_holds_only_its_grants(migrated: Urls) -> None:
    role = sa.create_engine(sqlalchemy_url(migrated.owner))
    with role.connect() as conn:
        attributes = conn.execute(
            sa.text(
                "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, "
                "(SELECT count(*) FROM pg_auth_members WHERE member = r.oid) AS memberships "
                "FROM pg_roles r WHERE rolname = :r"
            ),
            {"r": WRITER_ROLE},
        ).one()
        owned = conn.execute(
            sa.text(
                "SELECT (SELECT count(*) FROM pg_class WHERE relowner = r.oid)"
                " + (SELECT count(*) FROM pg_proc WHERE proowner = r.oid)"
                " + (SELECT count(*) FROM pg_namespace WHERE nspowner = r.oid)"
                " + (SELECT count(*) FROM pg_database WHERE datdba = r.oid)"
                " FROM pg_roles r WHERE rolname = :r"
            ),
            {"r": WRITER_ROLE},
        ).scalar_one()
        grants = conn.execute(
            sa.text(
                "SELECT table_name, string_agg(privilege_type, ',' ORDER BY privilege_type) "
                "FROM information_schema.role_table_grants WHERE grantee = :r GROUP BY table_name"
            ),
            {"r": WRITER_ROLE},
        ).all()
        may_create = conn.execute(
            sa.text(
                "SELECT has_database_privilege(:r, current_database(), 'CREATE'), "
                "has_schema_privilege(:r, 'public', 'CREATE')"
            ),
            {"r": WRITER_ROLE},
        ).one()
    role.dispose()
    assert tuple(attributes) == (False, False, False, False, False, 0)
    assert owned == 0
    assert dict(grants) == {
        "alembic_version": "SELECT",
        "documents": "INSERT,SELECT,UPDATE",
        "metrics": "DELETE,INSERT,SELECT",
        "passages": "DELETE,INSERT,SELECT",
        "ingest_log": "INSERT,SELECT",
        "dead_letters": "INSERT,SELECT",
    }
    assert tuple(may_create) == (False, False)


def test_wenming_migrate_refuses_the_writer(migrated: Urls, capsys: pytest.CaptureFixture[str]) -> None:
    status = _migrate(migrated.writer)
    [line] = capsys.readouterr().err.splitlines()
    assert status == 1
    assert line.startswith(f"wenming migrate: {WRITER_ROLE} does not own the database"), line


def test_wenming_migrate_gives_up_on_a_server_that_never_answers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = free_port()
    started = time.monotonic()
    status = _migrate(f"postgresql://wenming:pw@127.0.0.1:{port}/wenming", wait_s=1)
    lines = capsys.readouterr().err.splitlines()
    assert status == 1 and time.monotonic() - started < 30
    assert lines[-1] == f"wenming migrate: Postgres at 127.0.0.1:{port} did not answer within 1s", lines


def test_the_store_as_the_writer_waits_for_the_owners_migration(
    migrated: Urls, postgres_server_url: str, redis_url: str, stream_prefix: str, tmp_path: Path
) -> None:
    """Started before `wenming migrate`, it says once what is missing and waits; then it starts.

    `migrated` made the role (it belongs to the server); this database of its own is one release behind.
    """
    with own_database(postgres_server_url) as owner_url:
        engine = sa.create_engine(sqlalchemy_url(owner_url))
        migrate(engine, "0005")
        engine.dispose()
        env = {
            "WENMING_REDIS_URL": redis_url,
            "WENMING_DATABASE_URL": _as(owner_url, WRITER_ROLE, PASSWORD),
            "WENMING_STREAM_PREFIX": stream_prefix,
        }
        log_file = tmp_path / "store.log"
        with log_file.open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "services.operate.cli", "serve", "store"],
                env={**os.environ, **env},
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        try:
            waiting = "waiting for Postgres at "
            wait_for_text(log_file, waiting)
            time.sleep(6)  # past a few retries, at most 5 s apart
            log = log_file.read_text(encoding="utf-8")
            assert process.poll() is None, log
            assert log.count(waiting) == 1 and "Traceback" not in log, log
            # Word for word the line the README shows, but for the server's address.
            [logged] = [line for line in log.splitlines() if waiting in line]
            shown_lines = re.findall(
                r"^store: WARNING shared\.servers: waiting for .*$", _roles_section(), re.M
            )
            [shown] = shown_lines
            address = server_address(env["WENMING_DATABASE_URL"], 5432)
            assert logged == shown.replace("postgres:5432", address)

            status = _migrate(owner_url, WENMING_WRITER_PASSWORD=PASSWORD)
            assert status == 0
            wait_for_text(log_file, "Postgres is back at ")
            client = redis.Redis.from_url(redis_url)
            deadline = time.monotonic() + 30
            while not any(client.scan_iter(match=f"{stream_prefix}:heartbeat:store:*")):
                assert time.monotonic() < deadline, log_file.read_text(encoding="utf-8")
                time.sleep(0.2)
            client.close()
            stop(process)
            assert process.returncode == 0, log_file.read_text(encoding="utf-8")
        finally:
            stop(process)


def _roles_section() -> str:
    return README.read_text(encoding="utf-8").split("\n## Database roles", 1)[1].split("\n## ", 1)[0]


def _readme_roles_commands() -> list[tuple[dict[str, str], list[str]]]:
    """The README's commands for a server of one's own (Database roles): environment and arguments."""
    [block] = re.findall(r"```sh\n(.*?)```", _roles_section(), re.S)
    exported: dict[str, str] = {}
    commands = []
    for line in block.replace("\\\n", " ").splitlines():
        words = shlex.split(line)
        if words[0] == "export":
            exported |= dict(word.split("=", 1) for word in words[1:])
            continue
        env = dict(exported)
        while "=" in words[0]:
            name, value = words.pop(0).split("=", 1)
            env[name] = value
        assert words[0] == ".venv/bin/wenming", line
        commands.append((env, words[1:]))
    return commands


def test_the_readme_roles_commands_on_a_server_that_asks_passwords(
    redis_url: str, stream_prefix: str, tmp_path: Path
) -> None:
    """A managed server: the owner may create databases and roles, nothing more; logins need passwords."""
    if postgres_binaries() is None:
        pytest.skip("initdb and postgres are not installed")
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        pytest.skip("Postgres refuses to run as root and setpriv is missing to drop to another uid")
    (migrate_env, migrate_args), (store_env, store_args) = _readme_roles_commands()
    assert migrate_args == ["migrate"] and store_args == ["serve", "store"]
    port = free_port()

    def here(env: dict[str, str]) -> dict[str, str]:
        """The README's environment, on this test's servers and streams."""
        url = env["WENMING_DATABASE_URL"].replace("127.0.0.1:5432", f"127.0.0.1:{port}")
        assert url != env["WENMING_DATABASE_URL"]
        ours = {"WENMING_DATABASE_URL": url, "WENMING_REDIS_URL": redis_url}
        return {**os.environ, **env, **ours, "WENMING_STREAM_PREFIX": stream_prefix}

    owner = make_url(here(migrate_env)["WENMING_DATABASE_URL"])
    with postgres_cluster() as cluster:
        (cluster / "data" / "pg_hba.conf").write_text(
            "local all postgres trust\n"
            "host all postgres 127.0.0.1/32 trust\n"
            "host all all 127.0.0.1/32 scram-sha-256\n",
            encoding="utf-8",
        )
        with postgres_server(cluster, port):
            server = f"postgresql://postgres@127.0.0.1:{port}/postgres"
            admin = sa.create_engine(sqlalchemy_url(server), isolation_level="AUTOCOMMIT")
            deadline = time.monotonic() + 30
            while True:
                try:
                    with admin.connect() as conn:  # the owner a managed server's administrator makes
                        conn.execute(
                            sa.text(
                                f"CREATE ROLE {owner.username} LOGIN CREATEDB CREATEROLE "
                                f"PASSWORD '{owner.password}'"
                            )
                        )
                    break
                except sa.exc.OperationalError:
                    assert time.monotonic() < deadline, "Postgres did not start"
                    time.sleep(0.2)
            admin.dispose()
            # The database does not exist yet: the owner creates it, migrates it, makes the writer.
            migrated = subprocess.run(
                [sys.executable, "-m", "services.operate.cli", *migrate_args],
                env=here(migrate_env),
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert migrated.returncode == 0, migrated.stderr
            assert migrated.stderr.strip().endswith(f"(migration {head_revision()})"), migrated.stderr

            log_file = tmp_path / "store.log"
            with log_file.open("wb") as sink:
                process = subprocess.Popen(
                    [sys.executable, "-m", "services.operate.cli", *store_args],
                    env=here(store_env),
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                )
            try:
                wait_for_text(log_file, "wenming serve store: ready")
                asyncio.run(_publish(redis_url, Topology(stream_prefix).extracted, "e" * 64))
                owner_url = owner.render_as_string(hide_password=False)
                deadline = time.monotonic() + 30
                while _scalar(owner_url, "SELECT count(*) FROM metrics") != 2:
                    assert time.monotonic() < deadline, log_file.read_text(encoding="utf-8")
                    time.sleep(0.2)
                stop(process)
                assert process.returncode == 0, log_file.read_text(encoding="utf-8")
            finally:
                stop(process)
            assert "Traceback" not in log_file.read_text(encoding="utf-8")
            writer = make_url(here(store_env)["WENMING_DATABASE_URL"])
            assert writer.username == WRITER_ROLE
            wrong = writer.set(password="wrong").render_as_string(hide_password=False)
            with pytest.raises(sa.exc.OperationalError, match="password authentication failed"):
                DocumentStore(wrong)


async def _publish(redis_url: str, stream: str, doc_id: str) -> None:
    broker = RedisBroker(redis_url)
    async with broker:
        await broker.publish(_document(doc_id, version="1", figures=2), stream=stream)
