"""`wenming reprocess`: stored documents extracted again by the running stages, their figures replaced
once, nothing duplicated; the selection by all, id and extractor version."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from faststream import TestApp
from faststream.redis import RedisBroker

from services.extract.app import create_app as create_extract
from services.ingest.documents import document_id
from services.normalize.app import create_app as create_normalize
from services.store.app import create_app as create_store
from shared.contracts import DocumentIngested, FileFacts
from shared.settings import Settings
from shared.streams import Topology
from tests.support.polling import eventually
from tests.support.recovery import execute, scalar, scalar_async, settings_environment, wenming
from tests.support.wenming_up import WENMING

pytestmark = pytest.mark.integration

FIGURES = (
    "SELECT json_object_agg(document_id, n) FROM "
    "(SELECT document_id, count(*) AS n FROM metrics GROUP BY document_id) counted"
)


@asynccontextmanager
async def _stages(settings: Settings) -> AsyncIterator[None]:
    async with AsyncExitStack() as stack:
        for create in (create_store, create_extract, create_normalize):
            await stack.enter_async_context(TestApp(create(settings)))
        yield


async def _stored_seeds(settings: Settings, seeds: list[Path]) -> list[str]:
    """The seeds published as ingest would, the first with a sidecar's facts; their ids once stored."""
    topology = Topology(settings.stream_prefix)
    ids = []
    async with RedisBroker(settings.redis_url) as broker:
        for n, seed in enumerate(seeds):
            raw = seed.read_bytes()
            document = DocumentIngested(
                doc_id=document_id(raw),
                file_name=seed.name,
                original_text=raw.decode(),
                encoding="utf-8",
                format="txt",
                size_bytes=len(raw),
                ingested_at=datetime(2026, 11, 1 + n, tzinfo=UTC),
                file_facts=FileFacts(place="淮北市", source="文明网") if n == 0 else None,
            )
            await broker.publish(document, stream=topology.ingested)
            ids.append(document.doc_id)
    await eventually(
        lambda: scalar_async(settings, "SELECT count(*) FROM documents"), lambda n: n == len(ids)
    )
    return ids


def _summary(output: str) -> str:
    return output.splitlines()[-1].split(" in ")[0] + ": " + output.splitlines()[-1].split(": ", 1)[1]


async def test_a_new_extractor_reaches_every_stored_document_once(
    settings: Settings, seeds_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeds = sorted(seeds_dir.glob("*.txt"))[:3]
    async with _stages(settings):
        ids = await _stored_seeds(settings, seeds)
        before = scalar(settings, FIGURES)
        last_figure = scalar(settings, "SELECT max(id) FROM metrics")
        assert isinstance(before, dict) and len(before) == 3
        assert scalar(settings, "SELECT file_facts FROM documents WHERE id = :d", d=ids[0]) == {
            "place": "淮北市",
            "source": "文明网",
            "published_on": None,
        }

        monkeypatch.setattr("services.extract.documents.EXTRACTOR_VERSION", "0.9.0")
        bumped = await wenming(settings, "reprocess", "--all")
        assert bumped.returncode == 0, bumped.stderr
        assert _summary(bumped.stdout) == "reprocessed 3 documents: 3 updated, 0 unchanged, 0 stale, 0 failed"
        assert f"published 3 documents to {Topology(settings.stream_prefix).ingested}" in bumped.stderr
        # Every figure replaced once: as many as before, all new rows, none twice.
        assert scalar(settings, FIGURES) == before
        assert scalar(settings, "SELECT min(id) FROM metrics") > last_figure  # type: ignore[operator]
        duplicated = (
            "SELECT count(*) FROM (SELECT 1 FROM metrics GROUP BY document_id, ordinal HAVING count(*) > 1) d"
        )
        assert scalar(settings, duplicated) == 0
        versions = "SELECT string_agg(DISTINCT extractor_version, ',') FROM documents"
        assert scalar(settings, versions) == "0.9.0"
        assert scalar(settings, "SELECT count(*) FROM documents") == 3
        # What came with the file came again: the first seed's figures may still be placed by it.
        assert (
            scalar(settings, "SELECT file_facts->>'place' FROM documents WHERE id = :d", d=ids[0]) == "淮北市"
        )
        first_day = "SELECT ingested_at = '2026-11-01T00:00:00Z' FROM documents WHERE id = :d"
        assert scalar(settings, first_day, d=ids[0]) is True

        # The same version again replaces them again, and adds nothing.
        again = await wenming(settings, "reprocess", "--all")
        assert _summary(again.stdout) == "reprocessed 3 documents: 3 updated, 0 unchanged, 0 stale, 0 failed"
        assert scalar(settings, FIGURES) == before

        # By version: none is older than 0.9.0 until one is.
        none_older = await wenming(settings, "reprocess", "--extractor-older-than", "0.9.0")
        assert (none_older.returncode, none_older.stdout) == (0, "no documents to reprocess\n")
        execute(settings, [f"UPDATE documents SET extractor_version = '0.1.0' WHERE id = '{ids[1]}'"])
        older = await wenming(settings, "reprocess", "--extractor-older-than", "0.9.0")
        assert _summary(older.stdout) == "reprocessed 1 documents: 1 updated, 0 unchanged, 0 stale, 0 failed"
        assert scalar(settings, versions) == "0.9.0"

        # By id, or its first characters; an older extractor never replaces a newer one's figures.
        monkeypatch.setattr("services.extract.documents.EXTRACTOR_VERSION", "0.2.0")
        one = await wenming(settings, "reprocess", "--doc", ids[2][:8])
        assert _summary(one.stdout) == "reprocessed 1 documents: 0 updated, 0 unchanged, 1 stale, 0 failed"
        assert scalar(settings, versions) == "0.9.0"
        short = await wenming(settings, "reprocess", "--doc", ids[2][:5])
        assert (short.returncode, short.stderr) == (
            1,
            f"wenming reprocess: {ids[2][:5]}: give at least 6 characters of a document id\n",
        )
        unknown = await wenming(settings, "reprocess", "--doc", "0123456789")
        assert (
            unknown.returncode == 1 and unknown.stderr == "wenming reprocess: no stored document 0123456789\n"
        )

        monkeypatch.setattr("services.extract.documents.EXTRACTOR_VERSION", "1.0.0")
        published = await wenming(settings, "reprocess", "--doc", ids[0], "--no-wait")
        assert published.stdout == "published 1 documents; `wenming lag` shows the pipeline's progress\n"
        version = "SELECT extractor_version FROM documents WHERE id = :d"
        await eventually(lambda: scalar_async(settings, version, d=ids[0]), lambda v: v == "1.0.0")
    assert scalar(settings, FIGURES) == before
    statuses = "SELECT string_agg(status, ',' ORDER BY id) FROM ingest_log WHERE doc_id = :d"
    assert scalar(settings, statuses, d=ids[0]) == "stored,updated,updated,updated"


async def test_a_document_stored_without_file_facts_gets_its_folders_place_again(
    settings: Settings,
) -> None:
    text = "全市注册志愿者42万名，建成新时代文明实践站438个。"
    raw = text.encode()
    document = DocumentIngested(
        doc_id=document_id(raw),
        file_name="老河口市/r.txt",
        original_text=text,
        encoding="utf-8",
        format="txt",
        size_bytes=len(raw),
        ingested_at=datetime(2026, 11, 1, tzinfo=UTC),
    )
    places = "SELECT string_agg(DISTINCT coalesce(city, '-') || ':' || place_basis, ',') FROM metrics"
    async with _stages(settings):
        # Published without its folder's place, as before ingest sent file facts.
        async with RedisBroker(settings.redis_url) as broker:
            await broker.publish(document, stream=Topology(settings.stream_prefix).ingested)
        await eventually(lambda: scalar_async(settings, "SELECT count(*) FROM metrics"), lambda n: n > 0)
        # Nothing came with it: JSON null. A row from before migration 0007 has SQL NULL instead.
        assert scalar(settings, "SELECT jsonb_typeof(file_facts) FROM documents") == "null"
        execute(settings, ["UPDATE documents SET file_facts = NULL"])
        assert scalar(settings, places) == "-:none"

        again = await wenming(settings, "reprocess", "--all")
        assert again.returncode == 0, again.stderr
        assert (
            "1 of the 1 documents were stored before file facts were kept: their folder's place is given "
            "them again, but a sidecar's facts, if they had one, cannot be recovered\n"
        ) in again.stderr
    assert scalar(settings, places) == "老河口市:file"
    assert scalar(settings, "SELECT file_facts->>'place' FROM documents") == "老河口市"


async def test_without_a_running_pipeline_it_gives_up_or_is_interrupted_saying_how_far_it_got(
    settings: Settings, seeds_dir: Path
) -> None:
    async with _stages(settings):
        await _stored_seeds(settings, sorted(seeds_dir.glob("*.txt"))[:2])
    no_redis = await wenming(
        settings, "reprocess", "--all", env={"WENMING_REDIS_URL": "redis://127.0.0.1:1/0"}
    )
    assert no_redis.returncode == 1 and no_redis.stderr.startswith("wenming reprocess: cannot reach Redis: ")
    assert no_redis.stderr.count("\n") == 1
    rest = "the pipeline will still process the rest when it runs (`wenming lag` shows its progress)\n"

    gave_up = await wenming(settings, "reprocess", "--all", "--timeout", "1.5")
    assert gave_up.returncode == 1, gave_up.stderr
    assert gave_up.stdout == f"nothing stored for 1.5s: 2 published, 0 stored so far; {rest}"

    waiting = subprocess.Popen(
        [*WENMING, "reprocess", "--all"],
        env={**os.environ, **settings_environment(settings)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert waiting.stderr is not None
    line = await asyncio.to_thread(waiting.stderr.readline)
    assert line.startswith("published 2 documents to "), line
    waiting.send_signal(signal.SIGINT)  # Ctrl-C
    out, err = await asyncio.to_thread(waiting.communicate, timeout=30)
    assert waiting.returncode == 130, err
    assert out == f"interrupted: 2 published, 0 stored so far; {rest}" and "Traceback" not in err
