"""The store stage against real Redis and Postgres: idempotent, one transaction per document."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis
import sqlalchemy as sa
from faststream import TestApp
from faststream.redis import RedisBroker

from services.operate.cli import main
from services.operate.lag import read_heartbeats
from services.store.app import create_app
from services.store.database import DocumentStore
from services.store.schema import migrate, sqlalchemy_url
from shared.contracts import DeadLetter, DocumentExtracted, DocumentMetadata, Metric
from shared.settings import Settings
from shared.streams import Topology
from tests.support.documents import extracted_document
from tests.support.polling import eventually

pytestmark = pytest.mark.integration


def _extracted(doc_id: str, *, version: str = "1", figures: int = 2) -> DocumentExtracted:
    text = "全市注册志愿者42万名，建成新时代文明实践站438个。"
    metrics = (
        Metric(
            value=420000,
            unit_kind="person",
            measure_word="名",
            indicator="volunteer.registered",
            subject="志愿者",
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
            subject="新时代文明实践站",
            city="淮北市",
            year=2023,
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


@asynccontextmanager
async def running_store(settings: Settings) -> AsyncIterator[RedisBroker]:
    """The store stage running on the test's servers, and a broker to feed it."""
    async with TestApp(create_app(settings)):
        broker = RedisBroker(settings.redis_url)
        async with broker:
            yield broker


async def _logged(engine: sa.Engine, doc_id: str, rows: int) -> None:
    """Wait until the store has logged `rows` outcomes for the document."""
    query = "SELECT count(*) FROM ingest_log WHERE doc_id = :d"
    await eventually(lambda: _async(_count(engine, query, d=doc_id)), lambda n: n == rows)


def _count(engine: sa.Engine, sql: str, **params: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(sql), params).scalar_one())


async def test_redelivery_and_redrop_store_each_figure_once(settings: Settings) -> None:
    topology = Topology(settings.stream_prefix)
    engine = sa.create_engine(sqlalchemy_url(settings.require_database_url()))
    doc_id = "a" * 64
    async with running_store(settings) as broker:
        for _ in range(3):
            await broker.publish(_extracted(doc_id), stream=topology.extracted)
        await _logged(engine, doc_id, 3)
    assert _count(engine, "SELECT count(*) FROM documents WHERE id = :d", d=doc_id) == 1
    assert _count(engine, "SELECT count(*) FROM metrics WHERE document_id = :d", d=doc_id) == 2
    statuses = _count(
        engine, "SELECT count(*) FROM ingest_log WHERE doc_id = :d AND status = 'unchanged'", d=doc_id
    )
    assert statuses == 2
    # The analyst's view joins indicator names from the catalog.
    with engine.connect() as conn:
        name = conn.execute(
            sa.text("SELECT indicator_name_zh FROM metric_facts WHERE document_id = :d AND value = 438"),
            {"d": doc_id},
        ).scalar_one()
    assert "实践站" in name
    engine.dispose()


async def test_a_new_extractor_version_replaces_the_figures(settings: Settings) -> None:
    topology = Topology(settings.stream_prefix)
    engine = sa.create_engine(sqlalchemy_url(settings.require_database_url()))
    doc_id = "b" * 64
    async with running_store(settings) as broker:
        await broker.publish(_extracted(doc_id, version="1", figures=2), stream=topology.extracted)
        await broker.publish(_extracted(doc_id, version="2", figures=1), stream=topology.extracted)
        await _logged(engine, doc_id, 2)
    assert _count(engine, "SELECT count(*) FROM metrics WHERE document_id = :d", d=doc_id) == 1
    with engine.connect() as conn:
        version = conn.execute(
            sa.text("SELECT extractor_version FROM documents WHERE id = :d"), {"d": doc_id}
        )
        assert version.scalar_one() == "2"
    engine.dispose()


async def test_dead_letters_and_invalid_messages_land_in_the_ingest_log(settings: Settings) -> None:
    topology = Topology(settings.stream_prefix)
    engine = sa.create_engine(sqlalchemy_url(settings.require_database_url()))
    async with running_store(settings) as broker:
        letter = DeadLetter(
            stage="ingest",
            doc_id="c" * 64,
            file_name="scan.pdf",
            reason="scanned PDF has no text layer",
            failed_at=datetime.now(UTC),
            error_type="UnreadableDocument",
            trace='  File "readers.py", line 9, in read_pdf\nUnreadableDocument: no text layer\n',
        )
        await broker.publish(letter, stream=topology.dead_letter)
        await broker.publish({"doc_id": "d" * 64, "file_name": "broken.txt"}, stream=topology.extracted)
        await eventually(
            lambda: _async(
                _count(
                    engine,
                    "SELECT count(*) FROM ingest_log WHERE status = 'failed' "
                    "AND file_name IN ('scan.pdf', 'broken.txt')",
                )
            ),
            lambda n: n == 2,
        )
    with engine.connect() as conn:
        reasons = dict(
            conn.execute(
                sa.text(
                    "SELECT file_name, reason FROM ingest_log WHERE file_name IN ('scan.pdf', 'broken.txt')"
                )
            ).all()
        )
    assert reasons["scan.pdf"] == "scanned PDF has no text layer"
    assert "not a valid DocumentExtracted" in reasons["broken.txt"]
    with engine.connect() as conn:
        error_type, trace = conn.execute(
            sa.text("SELECT error_type, trace FROM ingest_log WHERE file_name = 'scan.pdf'")
        ).one()
    assert error_type == "UnreadableDocument" and "in read_pdf" in trace
    engine.dispose()


async def test_chinese_full_text_search_finds_documents(settings: Settings) -> None:
    topology = Topology(settings.stream_prefix)
    engine = sa.create_engine(sqlalchemy_url(settings.require_database_url()))
    doc_id = "e" * 64
    async with running_store(settings) as broker:
        await broker.publish(_extracted(doc_id), stream=topology.extracted)
        await eventually(
            lambda: _async(_count(engine, "SELECT count(*) FROM documents WHERE id = :d", d=doc_id)),
            lambda n: n == 1,
        )
    query = "SELECT count(*) FROM passages WHERE document_id = :d AND search_vector @@ zh_query(:q)"
    assert _count(engine, query, d=doc_id, q="志愿者") == 1
    assert _count(engine, query, d=doc_id, q="实践站") == 1
    assert _count(engine, query, d=doc_id, q="文明实践站 志愿者") == 1
    assert _count(engine, query, d=doc_id, q="垃圾分类") == 0
    assert _count(engine, query, d=doc_id, q="实践志愿") == 0
    engine.dispose()


async def _async(value: int) -> int:
    return value


async def test_a_database_failure_leaves_the_document_pending_until_it_is_stored(settings: Settings) -> None:
    topology = Topology(settings.stream_prefix)
    engine = sa.create_engine(sqlalchemy_url(settings.require_database_url()), isolation_level="AUTOCOMMIT")
    doc_id = "9" * 64
    async with TestApp(create_app(settings)):
        with engine.connect() as conn:  # the database breaks under the running store
            conn.execute(sa.text("ALTER TABLE metrics RENAME TO metrics_away"))
        broker = RedisBroker(settings.redis_url)
        async with broker:
            await broker.publish(_extracted(doc_id), stream=topology.extracted)
            client = aioredis.from_url(settings.require_redis_url())
            await eventually(
                lambda: client.xpending(topology.extracted, "store"), lambda p: p["pending"] == 1
            )
            assert _count(engine, "SELECT count(*) FROM documents WHERE id = :d", d=doc_id) == 0
            with engine.connect() as conn:  # repaired: the pending entry is reclaimed and stored
                conn.execute(sa.text("ALTER TABLE metrics_away RENAME TO metrics"))
            await eventually(
                lambda: _async(
                    _count(engine, "SELECT count(*) FROM metrics WHERE document_id = :d", d=doc_id)
                ),
                lambda n: n == 2,
                timeout=settings.reclaim_idle_ms / 1000 * 6,
            )
            await eventually(
                lambda: client.xpending(topology.extracted, "store"), lambda p: p["pending"] == 0
            )
            await client.aclose()
    assert (
        _count(engine, "SELECT count(*) FROM ingest_log WHERE doc_id = :d AND status = 'failed'", d=doc_id)
        == 0
    )
    engine.dispose()


async def test_an_outage_longer_than_many_retries_loses_nothing(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="shared.servers")
    settings = settings.model_copy(update={"reclaim_idle_ms": 1_000})
    topology = Topology(settings.stream_prefix)
    engine = sa.create_engine(sqlalchemy_url(settings.require_database_url()), isolation_level="AUTOCOMMIT")
    doc_id = "8" * 64
    async with TestApp(create_app(settings)):
        with engine.connect() as conn:
            conn.execute(sa.text("ALTER TABLE metrics RENAME TO metrics_away"))
        broker = RedisBroker(settings.redis_url)
        async with broker:
            await broker.publish(_extracted(doc_id), stream=topology.extracted)
            client = aioredis.from_url(settings.require_redis_url())
            # Retried in place, with backoff up to its cap, for many times the reclaim time: the store
            # never gives up (its failures are the database's), and never waits for the reclaim timer.
            heartbeats = await eventually(
                lambda: read_heartbeats(client, settings.stream_prefix),
                lambda beats: any(b.get("last_error") for b in beats.get("store", {}).values()),
            )
            await asyncio.sleep(12)
            [row] = await client.xpending_range(topology.extracted, "store", min="-", max="+", count=1)
            assert row["times_delivered"] == 1
            with engine.connect() as conn:
                conn.execute(sa.text("ALTER TABLE metrics_away RENAME TO metrics"))
            repaired_at = time.monotonic()
            await eventually(
                lambda: _async(
                    _count(engine, "SELECT count(*) FROM metrics WHERE document_id = :d", d=doc_id)
                ),
                lambda n: n == 2,
                timeout=30,
            )
            stored_after_s = time.monotonic() - repaired_at
            await client.aclose()
    query = "SELECT count(*) FROM ingest_log WHERE doc_id = :d AND status = 'failed'"
    assert _count(engine, query, d=doc_id) == 0
    engine.dispose()
    assert stored_after_s < 7  # the backoff's cap, 5 s, and a little
    (last_error,) = [b["last_error"] for b in heartbeats["store"].values() if b.get("last_error")]
    assert 'relation "metrics" does not exist' in last_error
    waiting = [r.getMessage() for r in caplog.records if r.getMessage().startswith("waiting for Postgres")]
    assert len(waiting) == 1, waiting  # once per outage, not once per retry
    assert any(r.getMessage().startswith("Postgres is back at") for r in caplog.records)


async def test_an_older_extractor_never_replaces_newer_figures(settings: Settings) -> None:
    topology = Topology(settings.stream_prefix)
    engine = sa.create_engine(sqlalchemy_url(settings.require_database_url()))
    doc_id = "7" * 64
    async with running_store(settings) as broker:
        await broker.publish(_extracted(doc_id, version="0.10.0", figures=1), stream=topology.extracted)
        await broker.publish(_extracted(doc_id, version="0.9.0", figures=2), stream=topology.extracted)
        await _logged(engine, doc_id, 2)
    assert _count(engine, "SELECT count(*) FROM metrics WHERE document_id = :d", d=doc_id) == 1
    assert (
        _count(engine, "SELECT count(*) FROM ingest_log WHERE doc_id = :d AND status = 'stale'", d=doc_id)
        == 1
    )
    engine.dispose()


async def test_a_long_report_is_stored_and_searchable_to_its_end(settings: Settings) -> None:
    topology = Topology(settings.stream_prefix)
    engine = sa.create_engine(sqlalchemy_url(settings.require_database_url()))
    doc_id = "6" * 64
    body = "\n".join(f"第{n}段：文明城市创建工作持续推进，群众满意度不断提高。" for n in range(30_000))
    text = body + "\n最后一段提到垃圾分类示范小区。"
    document = _extracted(doc_id).model_copy(update={"text": text, "original_text": text})
    async with running_store(settings) as broker:
        await broker.publish(document, stream=topology.extracted)
        await eventually(
            lambda: _async(_count(engine, "SELECT count(*) FROM documents WHERE id = :d", d=doc_id)),
            lambda n: n == 1,
            timeout=60,
        )
    query = "SELECT count(*) FROM passages WHERE document_id = :d AND search_vector @@ zh_query(:q)"
    assert len(text) > 900_000
    assert _count(engine, query, d=doc_id, q="垃圾分类示范") == 1
    engine.dispose()


# 亳州: 增加50个 is a change, 3至5天 a range; the place came from the page's title.
_CHANGE_AND_RANGE = (
    Metric(
        value=50,
        unit_kind="count",
        measure_word="个",
        indicator="infra.old_community_renovation",
        city="亳州市",
        place_code="341600",
        place_level="prefecture",
        place_basis="title",
        year=2019,
        change="increase",
        surface="50个",
        start=6,
        end=9,
        sentence="老旧小区增加50个，整改周期3至5天。",
    ),
    Metric(
        value=3,
        value_max=5,
        unit_kind="days",
        measure_word="天",
        city="亳州市",
        place_code="341600",
        place_level="prefecture",
        place_basis="title",
        surface="3至5天",
        start=14,
        end=18,
        sentence="老旧小区增加50个，整改周期3至5天。",
    ),
)


async def test_change_range_and_place_of_a_figure_round_trip(settings: Settings) -> None:
    topology = Topology(settings.stream_prefix)
    engine = sa.create_engine(sqlalchemy_url(settings.require_database_url()))
    doc_id = "5" * 64
    document = _extracted(doc_id).model_copy(update={"metrics": _CHANGE_AND_RANGE})
    async with running_store(settings) as broker:
        await broker.publish(document, stream=topology.extracted)
        await _logged(engine, doc_id, 1)
    columns = "value, value_max, change, place_code, place_level, place_basis"
    with engine.connect() as conn:
        stored = conn.execute(
            sa.text(f"SELECT {columns} FROM metrics WHERE document_id = :d ORDER BY ordinal"), {"d": doc_id}
        ).all()
        facts = conn.execute(
            sa.text(
                f"SELECT {columns}, province, prefecture FROM metric_facts WHERE document_id = :d ORDER BY id"
            ),
            {"d": doc_id},
        ).all()
    assert [tuple(row) for row in stored] == [
        (50, None, "increase", "341600", "prefecture", "title"),
        (3, 5, None, "341600", "prefecture", "title"),
    ]
    assert [tuple(row)[-2:] for row in facts] == [("安徽省", "亳州市")] * 2
    assert [tuple(row)[:6] for row in facts] == [tuple(row) for row in stored]
    engine.dispose()


def test_a_database_at_0001_with_rows_upgrades_and_keeps_them(database_url: str) -> None:
    engine = sa.create_engine(sqlalchemy_url(database_url))
    migrate(engine, "0001")
    text = "注册志愿者42万名"
    document = {
        "id": "4" * 64,
        "file_name": "old.txt",
        "title": "淮北市志愿服务",
        "places": ["淮北市"],
        "script": "simplified",
        "encoding": "utf-8",
        "format": "txt",
        "size_bytes": len(text.encode()),
        "original_text": text,
        "simplified_text": text,
        "extractor_version": "0.9",
        "metric_count": 1,
        "ingested_at": datetime.now(UTC),
        "stored_at": datetime.now(UTC),
        "updated_at": datetime.now(UTC),
    }
    metric = {
        "document_id": "4" * 64,
        "ordinal": 0,
        "value": 420000,
        "unit_kind": "person",
        "measure_word": "名",
        "qualifier": "exact",
        "indicator": "volunteer.registered",
        "city": "淮北市",
        "surface": "42万名",
        "start_offset": 5,
        "end_offset": 9,
        "sentence": text,
    }
    with engine.begin() as conn:
        for table, row in (("documents", document), ("metrics", metric)):
            names = ", ".join(row)
            conn.execute(sa.text(f"INSERT INTO {table} ({names}) VALUES (:{', :'.join(row)})"), row)
    store = DocumentStore(database_url)  # migrates to the newest revision as the stage does
    try:
        store.store(_extracted("3" * 64).model_copy(update={"metrics": _CHANGE_AND_RANGE}))
    finally:
        store.close()
    with engine.connect() as conn:
        old = conn.execute(
            sa.text(
                "SELECT city, value, value_max, change, place_code, place_basis, province "
                "FROM metric_facts WHERE document_id = :d"
            ),
            {"d": "4" * 64},
        ).one()
        new = conn.execute(
            sa.text("SELECT count(*) FROM metric_facts WHERE document_id = :d AND province = '安徽省'"),
            {"d": "3" * 64},
        ).scalar_one()
        head = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
    assert tuple(old) == ("淮北市", 420000, None, None, None, None, None)
    assert new == 2
    assert head != "0001"
    engine.dispose()


def test_wenming_migrate_brings_a_new_database_up_to_date(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The migration job of a deployment: the schema, catalog and regions, with no stage running."""
    monkeypatch.setenv("WENMING_DATABASE_URL", database_url)
    with pytest.raises(SystemExit) as exited:
        main(["migrate"])
    assert exited.value.code == 0
    engine = sa.create_engine(sqlalchemy_url(database_url))
    try:
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            indicators = conn.execute(sa.text("SELECT count(*) FROM indicators")).scalar_one()
    finally:
        engine.dispose()
    assert {"documents", "metrics", "indicators", "regions"} <= tables
    assert indicators > 0


async def test_a_document_postgres_refuses_is_dead_lettered_and_its_batch_stored(settings: Settings) -> None:
    topology = Topology(settings.stream_prefix)
    engine = sa.create_engine(sqlalchemy_url(settings.require_database_url()))
    good, refused, other = "8" * 64, "9" * 64, "a1" * 32
    figure = _extracted(refused).metrics[0].model_copy(update={"year": 2**40})  # over metrics.year's integer
    # Published before the store starts, so that it reads them as one batch.
    async with RedisBroker(settings.redis_url) as broker:
        for message in (
            _extracted(good),
            _extracted(refused).model_copy(update={"metrics": (figure,)}),
            _extracted(other),
            _extracted(good),  # the same document twice in one batch: stored once, then unchanged
        ):
            await broker.publish(message, stream=topology.extracted)
    async with running_store(settings):
        await _logged(engine, refused, 1)
        await _logged(engine, good, 2)
        await _logged(engine, other, 1)
    with engine.connect() as conn:
        logged = conn.execute(
            sa.text("SELECT doc_id, status, reason FROM ingest_log ORDER BY id"),
        ).all()
    statuses = sorted((doc_id, status) for doc_id, status, _ in logged)
    assert statuses == sorted([(good, "stored"), (good, "unchanged"), (other, "stored"), (refused, "failed")])
    assert next(reason for doc_id, _, reason in logged if doc_id == refused).startswith("store rejected:")
    assert _count(engine, "SELECT count(*) FROM documents") == 2
    assert _count(engine, "SELECT count(*) FROM metrics WHERE document_id = :d", d=good) == 2
    assert _count(engine, "SELECT count(*) FROM metrics WHERE document_id = :d", d=refused) == 0
    engine.dispose()


def test_one_transaction_judges_each_version_against_the_one_before(database_url: str) -> None:
    store = DocumentStore(database_url)
    doc_id = "b2" * 32
    try:
        outcomes = store.store_many(
            [
                _extracted(doc_id, version="1", figures=2),
                _extracted(doc_id, version="2", figures=1),
                _extracted(doc_id, version="1", figures=2),
            ]
        )
        assert outcomes == ["stored", "updated", "stale"]
        assert store.store_many([_extracted(doc_id, version="2", figures=1)]) == ["unchanged"]
        with store.engine.connect() as conn:
            version, count = conn.execute(
                sa.text("SELECT extractor_version, metric_count FROM documents WHERE id = :d"), {"d": doc_id}
            ).one()
            figures = conn.execute(
                sa.text("SELECT count(*) FROM metrics WHERE document_id = :d"), {"d": doc_id}
            ).scalar_one()
        assert (version, count, figures) == ("2", 1, 1)
    finally:
        store.close()
