"""Dead letters kept by the store, listed, shown, replayed once the cause is fixed, and purged.

The poison is real: a Postgres trigger that refuses one document, an extract stage whose logic
raises on one, a file over ingest's size limit. The fix is dropping the trigger, lifting the
poison, raising the limit; the commands run as an operator runs them, in a process of their own.
"""

from __future__ import annotations

import json
import shutil
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from faststream import TestApp
from faststream.redis import RedisBroker
from sqlalchemy.engine import make_url

from services.extract.app import EXTRACT
from services.extract.app import create_app as create_extract
from services.extract.documents import extract_document
from services.extract.extractor import Extractor
from services.ingest.app import create_app as create_ingest
from services.normalize.app import create_app as create_normalize
from services.store.app import create_app as create_store
from services.store.database import DocumentStore
from shared.content_store import ContentStore
from shared.contracts import DeadLetter, DocumentExtracted, DocumentIngested, DocumentNormalized, Metric
from shared.references import by_reference
from shared.settings import Settings
from shared.stage import TransformStage, create_transform_app
from shared.streaming.publishing import publish_kept
from shared.streams import Topology
from tests.support.documents import extracted_document
from tests.support.polling import eventually
from tests.support.recovery import execute, scalar, scalar_async, wenming

pytestmark = pytest.mark.integration

POISON_TRIGGER = [
    "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "IF NEW.file_name = 'poison.txt' THEN "
    "RAISE EXCEPTION 'poisoned document' USING ERRCODE = 'check_violation'; END IF; "
    "RETURN NEW; END $$",
    "CREATE TRIGGER poison BEFORE INSERT OR UPDATE ON documents FOR EACH ROW EXECUTE FUNCTION poison()",
]
THE_FIX = ["DROP TRIGGER poison ON documents", "DROP FUNCTION poison()"]


def _extracted(doc_id: str, file_name: str) -> DocumentExtracted:
    text = "全市注册志愿者42万名，建成新时代文明实践站438个。"
    figures = (
        Metric(value=420000, unit_kind="person", surface="42万名", start=7, end=11, sentence=text),
        Metric(value=438, unit_kind="count", surface="438个", start=23, end=27, sentence=text),
    )
    return extracted_document(
        doc_id,
        text,
        figures,
        file_name=file_name,
        extractor_version="0.2.0",
    )


async def _listed(settings: Settings, *args: str) -> list[dict[str, object]]:
    listed = await wenming(settings, "dlq", "list", "--json", *args)
    assert listed.returncode == 0, listed.stderr
    letters: list[dict[str, object]] = json.loads(listed.stdout)
    return letters


async def test_a_document_the_store_refuses_is_replayed_after_the_fix_and_stored_once(
    settings: Settings,
) -> None:
    topology = Topology(settings.stream_prefix)
    poison, good = "d" * 64, "e" * 64
    async with TestApp(create_store(settings)), RedisBroker(settings.redis_url) as broker:
        execute(settings, POISON_TRIGGER)
        await broker.publish(_extracted(poison, "poison.txt"), stream=topology.extracted)
        await broker.publish(_extracted(good, "good.txt"), stream=topology.extracted)
        letters_kept = "SELECT count(*) FROM dead_letters"
        await eventually(lambda: scalar_async(settings, letters_kept), lambda n: n == 1)

        listed = await wenming(settings, "dlq", "list")
        assert listed.returncode == 0, listed.stderr
        header, line = listed.stdout.splitlines()
        assert header.split()[:3] == ["id", "failed", "at"]
        assert line.split()[3:7] == ["store", poison[:12], "poison.txt", "store"]
        [letter] = await _listed(settings)
        assert (letter["stage"], letter["doc_id"], letter["failures"], letter["replayed"]) == (
            "store",
            poison,
            1,
            0,
        )
        assert letter["reason"] == "store rejected: poisoned document"
        letter_id = str(letter["id"])

        shown = await wenming(settings, "dlq", "show", letter_id)
        assert shown.returncode == 0, shown.stderr
        assert f"stream:     {topology.extracted}" in shown.stdout
        assert "reason:     store rejected: poisoned document" in shown.stdout
        assert 'message:\n  doc_id: "' + poison in shown.stdout and "extractor_version" in shown.stdout

        # Replayed before the fix: it fails again, and is counted.
        again = await wenming(settings, "dlq", "replay", letter_id)
        assert again.returncode == 0, again.stderr
        assert again.stdout.startswith(f"{letter_id}  store  poison.txt  → {topology.extracted} ")
        await eventually(lambda: scalar_async(settings, letters_kept), lambda n: n == 2)
        first, second = await _listed(settings)
        assert (first["failures"], first["replayed"], second["failures"], second["replayed"]) == (2, 1, 2, 0)

        execute(settings, THE_FIX)
        fixed = await wenming(settings, "dlq", "replay", "--all")
        assert fixed.returncode == 0, fixed.stderr
        assert len(fixed.stdout.splitlines()) == 1 and fixed.stdout.startswith(f"{second['id']}  store")
        stored = "SELECT count(*) FROM documents WHERE id = :d"
        await eventually(lambda: scalar_async(settings, stored, d=poison), lambda n: n == 1)

        unknown = await wenming(settings, "dlq", "replay", "999999")
        assert unknown.returncode == 1 and unknown.stderr == "wenming dlq replay: no dead letter 999999\n"
        missing = await wenming(settings, "dlq", "show", "999999")
        assert missing.returncode == 1
        assert missing.stderr == "wenming dlq show: no dead letter 999999 (`wenming dlq list` shows them)\n"

    assert scalar(settings, "SELECT count(*) FROM metrics WHERE document_id = :d", d=poison) == 2
    statuses = "SELECT string_agg(status, ',' ORDER BY id) FROM ingest_log WHERE doc_id = :d"
    assert scalar(settings, statuses, d=poison) == "failed,failed,stored"
    assert scalar(settings, "SELECT count(*) FROM documents") == 2
    replays = "SELECT count(*) FROM dead_letter_replays WHERE entry_id LIKE '%-%' AND replayed_by LIKE '%@%'"
    assert scalar(settings, replays) == 2
    assert scalar(settings, "SELECT sum(replayed) FROM dead_letters") == 2


def _poisoned_extract(poisoned: set[str]) -> TransformStage[DocumentNormalized, Extractor]:
    """The extract stage, whose logic raises on the documents named in `poisoned` (the fix: empty it)."""

    def extract_or_fail(document: DocumentNormalized, extractor: Extractor) -> DocumentExtracted:
        if document.doc_id in poisoned:
            raise ValueError(f"poisoned: {document.file_name}")
        return extract_document(document, extractor)

    return TransformStage(
        name=EXTRACT.name,
        source=EXTRACT.source,
        target=EXTRACT.target,
        model=DocumentNormalized,
        build_resource=EXTRACT.build_resource,
        transform=extract_or_fail,
    )


async def test_a_large_document_extract_failed_on_keeps_its_text_and_replays(
    settings: Settings, seeds_dir: Path
) -> None:
    settings = settings.model_copy(update={"inline_text_bytes": 4_000})
    topology = Topology(settings.stream_prefix)
    text = (seeds_dir / "002_172b3efedb831a07.txt").read_text(encoding="utf-8")
    assert len(text.encode()) > 3 * settings.inline_text_bytes
    doc_id = "c" * 64
    document = DocumentIngested(
        doc_id=doc_id,
        file_name="large.txt",
        original_text=text,
        encoding="utf-8",
        format="txt",
        size_bytes=len(text.encode()),
        ingested_at=datetime.now(UTC),
    )
    poisoned = {doc_id}
    client = aioredis.from_url(settings.require_redis_url())
    kept_contents = lambda: client.keys(f"{topology.contents}:*")  # noqa: E731
    async with AsyncExitStack() as stack:
        for app in (
            create_store(settings),
            create_transform_app(settings, _poisoned_extract(poisoned)),
            create_normalize(settings),
        ):
            await stack.enter_async_context(TestApp(app))
        broker = await stack.enter_async_context(RedisBroker(settings.redis_url))
        detached = by_reference(
            document, inline_bytes=settings.inline_text_bytes, key_prefix=topology.contents
        )
        assert detached.message.original_text_ref is not None
        await publish_kept(broker, client, ContentStore(client, ttl_s=60), [(topology.ingested, detached)])

        row = "SELECT count(*) FROM dead_letters"
        await eventually(lambda: scalar_async(settings, row), lambda n: n == 1)
        # Every text it referred to is in its row now, and released in Redis.
        await eventually(kept_contents, lambda keys: keys == [])
        payload = scalar(settings, "SELECT payload FROM dead_letters")
        assert isinstance(payload, dict)
        assert payload["original_text"] == text and payload["text"] and payload["offset_runs"]
        assert not [name for name, value in payload.items() if name.endswith("_ref") and value]
        letter = scalar(
            settings,
            "SELECT json_build_object('type', error_type, 'trace', trace, 'stream', stream) "
            "FROM dead_letters",
        )
        assert isinstance(letter, dict)
        assert letter["type"] == "ValueError" and letter["stream"] == topology.normalized
        assert (
            "in extract_or_fail" in letter["trace"] and "ValueError: poisoned: large.txt" in letter["trace"]
        )
        letter_id = str(scalar(settings, "SELECT id FROM dead_letters"))

        shown = await wenming(settings, "dlq", "show", letter_id)
        assert "error type: ValueError" in shown.stdout and "ValueError: poisoned: large.txt" in shown.stdout
        assert f"original_text: {len(text):,} characters" in shown.stdout

        poisoned.clear()
        replayed = await wenming(settings, "dlq", "replay", letter_id)
        assert replayed.returncode == 0, replayed.stderr
        assert f"→ {topology.normalized} " in replayed.stdout
        stored = "SELECT count(*) FROM documents WHERE id = :d"
        await eventually(lambda: scalar_async(settings, stored, d=doc_id), lambda n: n == 1)
        await eventually(kept_contents, lambda keys: keys == [])
    await client.aclose()
    assert scalar(settings, "SELECT original_text FROM documents WHERE id = :d", d=doc_id) == text
    assert scalar(settings, "SELECT count(*) FROM metrics WHERE document_id = :d", d=doc_id) > 10
    statuses = "SELECT string_agg(stage || ':' || status, ',' ORDER BY id) FROM ingest_log WHERE doc_id = :d"
    assert scalar(settings, statuses, d=doc_id) == "extract:failed,store:stored"


async def test_a_file_ingest_refused_goes_back_to_the_inbox_and_is_stored_once(
    settings: Settings, seeds_dir: Path
) -> None:
    seed = seeds_dir / "003_066c4d9459199f22.txt"
    small = settings.model_copy(update={"max_file_bytes": 1_000})
    async with TestApp(create_store(settings)), TestApp(create_ingest(small)):
        shutil.copy(seed, settings.inbox / "big.txt")
        await eventually(
            lambda: scalar_async(settings, "SELECT count(*) FROM dead_letters"), lambda n: n == 1
        )
    failed = settings.inbox / "failed"
    assert sorted(p.name for p in failed.iterdir()) == ["big.txt", "big.txt.error.txt"]
    [letter] = await _listed(settings)
    assert letter["stage"] == "ingest" and "over the 1000-byte limit" in str(letter["reason"])
    shown = await wenming(settings, "dlq", "show", str(letter["id"]))
    assert "stream:     (none: ingest's files wait in failed/)" in shown.stdout

    elsewhere = settings.inbox.parent / "elsewhere"
    elsewhere.mkdir()
    wrong = await wenming(settings, "dlq", "replay", str(letter["id"]), "--inbox", str(elsewhere))
    assert (wrong.returncode, wrong.stderr) == (
        1,
        f"wenming dlq replay: {letter['id']}: not replayed: "
        f"{elsewhere} is not an inbox (no failed/ folder)\n",
    )
    assert list(elsewhere.iterdir()) == []

    # From the folder above the inbox, naming it as a person would there.
    replayed = await wenming(
        settings, "dlq", "replay", str(letter["id"]), "--inbox", "inbox", cwd=settings.inbox.parent
    )
    assert replayed.returncode == 0, replayed.stderr
    assert (
        replayed.stdout
        == f"{letter['id']}  ingest  big.txt  → moved back to the inbox as {settings.inbox / 'big.txt'}\n"
    )
    assert (settings.inbox / "big.txt").read_bytes() == seed.read_bytes()
    assert list(failed.iterdir()) == []
    twice = await wenming(settings, "dlq", "replay", str(letter["id"]))
    assert twice.returncode == 1 and "not replayed: no big.txt in failed" in twice.stderr

    async with AsyncExitStack() as stack:  # the fix: a limit the file is within
        for create in (create_store, create_extract, create_normalize, create_ingest):
            await stack.enter_async_context(TestApp(create(settings)))
        stored = "SELECT count(*) FROM documents WHERE file_name = 'big.txt'"
        await eventually(lambda: scalar_async(settings, stored), lambda n: n == 1, timeout=60)
    assert scalar(settings, "SELECT count(*) FROM documents") == 1
    moved_to = "SELECT moved_to FROM dead_letter_replays WHERE stream IS NULL AND entry_id IS NULL"
    assert scalar(settings, moved_to) == str(settings.inbox / "big.txt")


async def test_old_letters_are_purged_and_their_replays_stay_logged(settings: Settings) -> None:
    DocumentStore(settings.require_database_url()).close()  # migrated
    empty = await wenming(settings, "dlq", "list")
    assert (empty.returncode, empty.stdout) == (0, "no dead letters\n")
    assert await _listed(settings) == []
    execute(
        settings,
        [
            "INSERT INTO dead_letters (stage, file_name, reason, failed_at) VALUES "
            "('ingest', 'old.pdf', 'no text layer', now() - interval '40 days'), "
            "('store', 'old.txt', 'store rejected', now() - interval '31 days'), "
            "('normalize', 'new.txt', 'not a valid DocumentIngested', now() - interval '1 hour')",
            "INSERT INTO dead_letter_replays (dead_letter_id, stage, replayed_at, replayed_by, moved_to) "
            "SELECT id, stage, now(), 'ana@host', 'inbox/old.pdf' FROM dead_letters "
            "WHERE file_name = 'old.pdf'",
        ],
    )
    assert [letter["file_name"] for letter in await _listed(settings, "--since", "1d")] == ["new.txt"]
    assert [letter["file_name"] for letter in await _listed(settings, "--stage", "store")] == ["old.txt"]
    csv_lines = (await wenming(settings, "dlq", "list", "--csv")).stdout.splitlines()
    assert csv_lines[0] == "id,failed_at,stage,doc_id,file_name,reason,error_type,failures,replayed"
    assert len(csv_lines) == 4

    # A letter that keeps no message (from before letters kept theirs) is said to be, not sent.
    unsent = await wenming(settings, "dlq", "replay", "--all", "--stage", "store")
    assert unsent.returncode == 1
    assert "not replayed: it keeps no message" in unsent.stderr

    refused = await wenming(settings, "dlq", "purge", "--older-than", "a month")
    assert refused.returncode == 1 and "neither an age (30d, 12h, 90m) nor a date" in refused.stderr
    purged = await wenming(settings, "dlq", "purge", "--older-than", "30d")
    assert purged.returncode == 0 and purged.stdout.startswith("purged 2 dead letters that failed before ")
    assert [letter["file_name"] for letter in await _listed(settings)] == ["new.txt"]
    kept = "SELECT count(*) FROM dead_letter_replays WHERE dead_letter_id IS NULL AND stage = 'ingest'"
    assert scalar(settings, kept) == 1

    # A letter that can never be replayed says so, and is purged by its id.
    [left] = await _listed(settings)
    shown = await wenming(settings, "dlq", "show", str(left["id"]))
    assert (
        "replay:     not possible: it keeps no message (dead-lettered before letters kept theirs); "
        f"`wenming dlq purge {left['id']}` removes it\n"
    ) in shown.stdout
    stuck = await wenming(settings, "dlq", "replay", "--all")
    assert stuck.returncode == 1 and f"`wenming dlq purge {left['id']}` removes it" in stuck.stderr
    by_id = await wenming(settings, "dlq", "purge", str(left["id"]))
    assert (by_id.returncode, by_id.stdout) == (0, f"purged 1 dead letters: {left['id']}\n")
    assert await _listed(settings) == []
    nothing = await wenming(settings, "dlq", "replay", "--all")
    assert (nothing.returncode, nothing.stdout) == (0, "no dead letters to replay\n")
    unknown = await wenming(settings, "dlq", "purge", str(left["id"]))
    assert (unknown.returncode, unknown.stdout, unknown.stderr) == (
        1,
        "purged 0 dead letters\n",
        f"wenming dlq purge: no dead letter {left['id']}\n",
    )


async def test_what_stops_a_command_is_said_in_one_line(settings: Settings) -> None:
    topology = Topology(settings.stream_prefix)
    DocumentStore(settings.require_database_url()).close()  # migrated
    payload = json.dumps(_extracted("d" * 64, "poison.txt").model_dump(mode="json"), ensure_ascii=False)
    execute(
        settings,
        [
            "INSERT INTO dead_letters (stage, stream, doc_id, file_name, reason, failed_at, payload) "
            f"VALUES ('store', '{topology.extracted}', '{'d' * 64}', 'poison.txt', 'store rejected', now(), "
            f"CAST('{payload}' AS jsonb))"
        ],
    )

    unreachable = await wenming(
        settings, "dlq", "replay", "--all", env={"WENMING_REDIS_URL": "redis://127.0.0.1:1/0"}
    )
    assert unreachable.returncode == 1
    assert unreachable.stderr.startswith("wenming dlq replay: cannot reach Redis: ")
    assert unreachable.stderr.count("\n") == 1
    assert scalar(settings, "SELECT replayed FROM dead_letters") == 0

    bad_url = await wenming(settings, "dlq", "list", env={"WENMING_DATABASE_URL": "localhost/wenming"})
    assert (bad_url.returncode, bad_url.stderr) == (
        1,
        "wenming dlq list: WENMING_DATABASE_URL is not a PostgreSQL URL such as "
        "postgresql://user@host:5432/wenming\n",
    )

    # A role of the test's own that may connect and nothing more, as wenming_reader may only read.
    role = f"dlq_{settings.stream_prefix.replace('-', '_')}"
    database = make_url(settings.require_database_url()).database
    execute(settings, [f"CREATE ROLE {role} LOGIN", f'GRANT CONNECT ON DATABASE "{database}" TO {role}'])
    try:
        as_role = make_url(settings.require_database_url()).set(username=role, password=None)
        for command in (["list"], ["purge", "--older-than", "1d"]):
            refused = await wenming(
                settings,
                "dlq",
                *command,
                env={"WENMING_DATABASE_URL": as_role.render_as_string(hide_password=False)},
            )
            assert (refused.returncode, refused.stderr) == (
                1,
                f"wenming dlq {command[0]}: permission denied for table dead_letters: needs the database "
                "owner's rights (or grants of your own); wenming_writer may only add letters\n",
            )
    finally:
        execute(settings, [f'REVOKE CONNECT ON DATABASE "{database}" FROM {role}', f"DROP ROLE {role}"])


async def test_a_letter_with_nul_characters_is_recorded_and_the_next_one_too(settings: Settings) -> None:
    topology = Topology(settings.stream_prefix)
    nul = DeadLetter(
        stage="normalize",
        stream=topology.ingested,
        doc_id="a" * 64,
        file_name="nul.txt",
        reason="not a valid DocumentIngested:\x00 bad byte",
        failed_at=datetime.now(UTC),
        payload={"doc_id": "a" * 64, "original_text": "全市\x00注册志愿者", "parts": ["\x00x"]},
    )
    after = nul.model_copy(update={"doc_id": "b" * 64, "file_name": "after.txt", "payload": None})
    async with TestApp(create_store(settings)), RedisBroker(settings.redis_url) as broker:
        await broker.publish(nul, stream=topology.dead_letter)
        await broker.publish(after, stream=topology.dead_letter)
        letters = "SELECT count(*) FROM dead_letters"
        await eventually(lambda: scalar_async(settings, letters), lambda n: n == 2)
    kept = scalar(settings, "SELECT payload FROM dead_letters WHERE file_name = 'nul.txt'")
    assert kept == {"doc_id": "a" * 64, "original_text": "全市注册志愿者", "parts": ["x"]}
    reason = "SELECT reason FROM dead_letters WHERE file_name = 'nul.txt'"
    assert scalar(settings, reason) == "not a valid DocumentIngested: bad byte"
    assert scalar(settings, "SELECT count(*) FROM ingest_log WHERE status = 'failed'") == 2
