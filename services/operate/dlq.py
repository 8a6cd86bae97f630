"""`wenming dlq`: the pipeline's dead letters, as the store keeps them in Postgres, listed, shown,
replayed once the cause is fixed, and purged.

A replay sends a letter back to the stage that gave up on it: the message it keeps is published
again to the stream it was read from, as a stage hands messages on (large fields by reference, in
one MULTI); a file ingest could not use is moved from failed/ back into the inbox. Each replay is
logged in dead_letter_replays, in the transaction that counts it.
"""

from __future__ import annotations

import getpass
import socket
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ValidationError
from sqlalchemy.engine import Connection, Engine

from services.operate import dlq_text
from shared.settings import Settings, SettingsError
from shared.streams import Topology

_COUNTED = """
WITH counted AS (
    SELECT *, count(*) OVER (PARTITION BY stage, coalesce(doc_id, file_name, id::text)) AS failures
    FROM dead_letters
)
SELECT * FROM counted
"""


_INSUFFICIENT_PRIVILEGE = "42501"


class DlqError(Exception):
    """What stops a dlq or reprocess command, in one line."""


class NotReplayable(Exception):
    """Why one letter cannot be replayed (the others still are)."""


@contextmanager
def database(settings: Settings) -> Iterator[Engine]:
    """An engine on the store's database, its dead_letters table checked; DlqError if there is none."""
    from services.store.schema import sqlalchemy_url

    if not settings.database_url:
        raise DlqError(
            "WENMING_DATABASE_URL is not set; in the folder where `wenming up` runs, "
            '`eval "$(wenming env)"` sets it'
        )
    try:
        url = sa.engine.make_url(sqlalchemy_url(settings.database_url))
    except sa.exc.ArgumentError:
        url = None
    if url is None or url.get_backend_name() != "postgresql":
        raise DlqError(
            "WENMING_DATABASE_URL is not a PostgreSQL URL such as postgresql://user@host:5432/wenming"
        )
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if conn.execute(sa.text("SELECT to_regclass('dead_letters')")).scalar_one() is None:
                raise DlqError(
                    "the database has no dead_letters table: its schema is older than this command; "
                    "`wenming migrate` (or starting the store) brings it up to date"
                )
        yield engine
    except sa.exc.OperationalError as exc:
        raise DlqError(f"cannot reach the database: {_first_line(exc)}") from None
    except sa.exc.ProgrammingError as exc:
        if getattr(exc.orig, "sqlstate", None) != _INSUFFICIENT_PRIVILEGE:
            raise
        raise DlqError(
            f"{_first_line(exc)}: needs the database owner's rights (or grants of your own); "
            "wenming_writer may only add letters"
        ) from None
    finally:
        engine.dispose()


def _first_line(exc: sa.exc.DBAPIError) -> str:
    return str(getattr(exc, "orig", exc)).strip().splitlines()[0]


def list_letters(conn: Connection, *, stage: str | None, since: datetime | None) -> list[dict[str, Any]]:
    """The letters, oldest first, each with how often its document failed at its stage."""
    query = (
        _COUNTED
        + " WHERE (CAST(:stage AS text) IS NULL OR stage = :stage)"
        + " AND (CAST(:since AS timestamptz) IS NULL OR failed_at >= :since) ORDER BY failed_at, id"
    )
    return [dict(row) for row in conn.execute(sa.text(query), {"stage": stage, "since": since}).mappings()]


def read_letter(conn: Connection, letter_id: int) -> dict[str, Any]:
    """One letter in full; DlqError if there is none by that id."""
    row = conn.execute(sa.text(_COUNTED + " WHERE id = :id"), {"id": letter_id}).mappings().first()
    if row is None:
        raise DlqError(f"no dead letter {letter_id} (`wenming dlq list` shows them)")
    return dict(row)


def read_replays(conn: Connection, letter_id: int) -> list[dict[str, Any]]:
    query = "SELECT * FROM dead_letter_replays WHERE dead_letter_id = :id ORDER BY id"
    return [dict(row) for row in conn.execute(sa.text(query), {"id": letter_id}).mappings()]


def purge(conn: Connection, *, before: datetime) -> int:
    """Delete the letters that failed before `before`; how many. Their replays stay logged."""
    result = conn.execute(sa.text("DELETE FROM dead_letters WHERE failed_at < :t"), {"t": before})
    return int(result.rowcount or 0)


def purge_letters(conn: Connection, letter_ids: Sequence[int]) -> list[int]:
    """Delete the letters by id; the ids of those there were. Their replays stay logged."""
    query = "DELETE FROM dead_letters WHERE id = ANY(:ids) RETURNING id"
    return sorted(conn.execute(sa.text(query), {"ids": list(letter_ids)}).scalars())


def replay_selection(conn: Connection, *, ids: Sequence[int], every: bool, stage: str | None) -> list[int]:
    """The letters to replay: those named, or with --all every one never replayed (of the stage)."""
    if not every:
        return list(dict.fromkeys(ids))
    query = (
        "SELECT id FROM dead_letters WHERE replayed = 0"
        " AND (CAST(:stage AS text) IS NULL OR stage = :stage) ORDER BY id"
    )
    return list(conn.execute(sa.text(query), {"stage": stage}).scalars())


@dataclass(frozen=True)
class Sent:
    """Where a replayed letter went: a stream entry, or a file back in the inbox."""

    stream: str | None = None
    entry_id: str | None = None
    moved_to: str | None = None

    def __str__(self) -> str:
        return (
            f"moved back to the inbox as {self.moved_to}"
            if self.moved_to
            else f"{self.stream} {self.entry_id}"
        )


class Publisher:
    """Redis as a replay or a reprocess publishes to it, opened when first needed."""

    def __init__(self, settings: Settings, stack: AsyncExitStack) -> None:
        self.settings = settings
        self.topology = Topology(settings.stream_prefix)
        self._stack = stack
        self._opened: tuple[Any, Any, Any] | None = None

    async def publish(self, stream: str, message: BaseModel) -> str:
        """Publish a message whose referenced fields are put back, large ones by reference again."""
        from shared.references import by_reference
        from shared.streaming.publishing import publish_kept

        broker, client, contents = await self._open()
        detached = by_reference(
            message, inline_bytes=self.settings.inline_text_bytes, key_prefix=self.topology.contents
        )
        [entry_id] = await publish_kept(broker, client, contents, [(stream, detached)])
        return entry_id

    async def resolved(self, message: BaseModel) -> BaseModel:
        """The message with the fields it refers to fetched from Redis; NotReplayable if one is gone."""
        from shared.references import MissingContent

        _, _, contents = await self._open()
        try:
            resolved, _ = await contents.resolve(message)
        except MissingContent as exc:
            raise NotReplayable(f"{exc}; drop the file again instead") from None
        return resolved

    async def _open(self) -> tuple[Any, Any, Any]:
        if self._opened is None:
            import redis.asyncio as aioredis

            from shared.content_store import ContentStore
            from shared.streaming.publishing import build_broker

            try:
                redis_url = self.settings.require_redis_url()
            except SettingsError as exc:
                raise DlqError(str(exc)) from None
            broker = await self._stack.enter_async_context(build_broker(self.settings))
            client = aioredis.from_url(redis_url)
            self._stack.push_async_callback(client.aclose)
            self._opened = (broker, client, ContentStore(client, ttl_s=self.settings.reference_ttl_s))
        return self._opened


@asynccontextmanager
async def publisher(settings: Settings) -> AsyncIterator[Publisher]:
    """Redis to publish to, as long as it is needed; DlqError if it cannot be reached."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    try:
        async with AsyncExitStack() as stack:
            yield Publisher(settings, stack)
    except (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError) as exc:
        raise DlqError(f"cannot reach Redis: {str(exc).strip().splitlines()[0]}") from None


async def replay(settings: Settings, engine: Engine, letter_ids: Sequence[int]) -> int:
    """Replay each letter, one transaction each; a line per letter. Exit status 1 if any was not."""
    status = 0
    replayed_by = f"{getpass.getuser()}@{socket.gethostname()}"
    async with publisher(settings) as sending:
        for letter_id in letter_ids:
            with engine.begin() as conn:
                # Locked while it is sent: two operators replaying it at once send it once each, in turn.
                letter = (
                    conn.execute(
                        sa.text("SELECT * FROM dead_letters WHERE id = :id FOR UPDATE"), {"id": letter_id}
                    )
                    .mappings()
                    .first()
                )
                if letter is None:
                    print(f"wenming dlq replay: no dead letter {letter_id}", file=sys.stderr)
                    status = 1
                    continue
                try:
                    sent = await _send(dict(letter), settings, sending)
                except NotReplayable as exc:
                    print(f"wenming dlq replay: {letter_id}: not replayed: {exc}", file=sys.stderr)
                    status = 1
                    continue
                _log_replay(conn, dict(letter), sent, replayed_by)
            print(
                f"{letter_id}  {letter['stage']}  {letter['file_name'] or letter['doc_id'] or ''}  → {sent}"
            )
    return status


async def _send(letter: dict[str, Any], settings: Settings, sending: Publisher) -> Sent:
    contracts = input_contracts(sending.topology)
    if obstacle := dlq_text.replay_obstacle(letter, contracts):
        raise NotReplayable(dlq_text.unreplayable(letter["id"], obstacle))
    if letter["stage"] == "ingest" and letter["stream"] is None:
        return _restore(letter, settings)
    model = contracts[letter["stream"]]
    try:
        message = model.model_validate(letter["payload"])
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise NotReplayable(
            f"its message is not a valid {model.__name__} ({where}: {first['msg']})"
        ) from None
    stream = letter["stream"]
    return Sent(stream, await sending.publish(stream, await sending.resolved(message)))


def input_contracts(topology: Topology) -> dict[str, type[BaseModel]]:
    """The streams the stages read, each with the contract of its messages."""
    from shared.contracts import DocumentExtracted, DocumentIngested, DocumentNormalized

    return {
        topology.ingested: DocumentIngested,
        topology.normalized: DocumentNormalized,
        topology.extracted: DocumentExtracted,
    }


def _restore(letter: dict[str, Any], settings: Settings) -> Sent:
    from services.ingest.failed import NotRestorable, restore_failed

    if not letter["file_name"]:
        raise NotReplayable("it names no file")
    # Absolute: the replay log outlives the folder the command ran in.
    inbox = settings.inbox.absolute()
    try:
        restored = restore_failed(inbox, letter["file_name"], letter["reason"], letter["doc_id"])
    except NotRestorable as exc:
        raise NotReplayable(str(exc)) from None
    return Sent(moved_to=str(inbox / restored.path))


def _log_replay(conn: Connection, letter: dict[str, Any], sent: Sent, replayed_by: str) -> None:
    now = datetime.now(UTC)
    conn.execute(
        sa.text("UPDATE dead_letters SET replayed = replayed + 1, last_replayed_at = :now WHERE id = :id"),
        {"now": now, "id": letter["id"]},
    )
    conn.execute(
        sa.text(
            "INSERT INTO dead_letter_replays (dead_letter_id, stage, doc_id, replayed_at, replayed_by, "
            "stream, entry_id, moved_to) VALUES (:id, :stage, :doc, :now, :by, :stream, :entry, :moved)"
        ),
        {
            "id": letter["id"],
            "stage": letter["stage"],
            "doc": letter["doc_id"],
            "now": now,
            "by": replayed_by,
            "stream": sent.stream,
            "entry": sent.entry_id,
            "moved": sent.moved_to,
        },
    )


def show(engine: Engine, letter_id: int, settings: Settings) -> str:
    """`wenming dlq show`: the letter in full, and whether it can be replayed."""
    with engine.connect() as conn:
        letter, replays = read_letter(conn, letter_id), read_replays(conn, letter_id)
    obstacle = dlq_text.replay_obstacle(letter, input_contracts(Topology(settings.stream_prefix)))
    return dlq_text.letter_details(letter, replays, obstacle=obstacle)
