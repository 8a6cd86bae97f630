"""store stage: persist extracted documents and dead letters in Postgres."""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

import anyio
from faststream import FastStream
from pydantic import SecretStr
from sqlalchemy.exc import DBAPIError

from services.store.database import DocumentStore, is_bad_data, is_server_away, migrate_database
from services.store.figures import StreamedFigures
from services.store.repository import StoreOutcome
from services.store.schema import SchemaNotReady
from shared.content_store import ContentStore
from shared.contracts import DeadLetter, DocumentExtracted
from shared.handling import StageContext
from shared.references import MissingContent, payload_references, with_contents
from shared.servers import Server, StoppedWhileWaiting, server_address, wait_until_up
from shared.settings import Settings
from shared.stage import ConsumingStage, StageInput, create_stage_app
from shared.streaming.dead_letters import dead_letter, document_letter, parse_contracts, parse_each
from shared.streaming.publishing import Outgoing

log = logging.getLogger(__name__)


async def open_store(settings: Settings, stopping: asyncio.Event) -> DocumentStore:
    """The database, once Postgres answers and the schema is current (migrated here as the owner, or not).

    A store that is not the owner waits for the migration as it waits for the server: one line
    saying what is missing, then retries with backoff, never a crash loop.
    """
    database_url = settings.require_database_url()
    postgres = Server("Postgres", server_address(database_url, 5432), _is_not_ready)
    open_database = functools.partial(
        DocumentStore,
        database_url,
        reader_password=_secret(settings.reader_password),
        writer_password=_secret(settings.writer_password),
    )
    return await wait_until_up(postgres, lambda: anyio.to_thread.run_sync(open_database), stopping=stopping)


async def migrate_when_up(settings: Settings, *, wait_s: float) -> str:
    """`wenming migrate`: the database prepared by its owner once Postgres answers; its revision.

    Waits for Postgres as a stage does, but at most `wait_s`: a migration job that cannot reach its
    server should fail, not hang.
    """
    database_url = settings.require_database_url()
    postgres = Server("Postgres", server_address(database_url, 5432), is_server_away)
    give_up = asyncio.Event()
    asyncio.get_running_loop().call_later(wait_s, give_up.set)
    run = functools.partial(
        migrate_database,
        database_url,
        reader_password=_secret(settings.reader_password),
        writer_password=_secret(settings.writer_password),
    )
    try:
        return await wait_until_up(postgres, lambda: anyio.to_thread.run_sync(run), stopping=give_up)
    except StoppedWhileWaiting:
        raise TimeoutError(f"Postgres at {postgres.address} did not answer within {wait_s:g}s") from None


def _is_not_ready(error: BaseException) -> bool:
    return is_server_away(error) or isinstance(error, SchemaNotReady)


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value else None


async def store_documents(raw: list[Any], store: DocumentStore, context: StageContext) -> Outgoing:
    """The part in one transaction; if Postgres refuses it for its content, each document in its own,
    and what is refused dead-lettered."""
    parsed, invalid = parse_each(DocumentExtracted, raw)
    letters = [dead_letter(context.stage, reason, item) for item, reason in invalid]
    documents: list[DocumentExtracted] = []
    read_as: list[Any] = []  # the message each document came as, for a dead letter
    # Figures kept by reference are parsed one at a time as they are stored, never all as objects.
    streamed: dict[str, StreamedFigures] = {}
    for item, document in parsed:
        try:
            # One document's references at a time: a large one's JSON is not all in memory at once.
            resolved, _ = await context.contents.resolve(document, leave=("metrics",))
            if resolved.metrics_ref is not None:
                streamed[resolved.doc_id] = StreamedFigures(
                    await context.contents.fetch_one(resolved.metrics_ref)
                )
            documents.append(resolved)
            read_as.append(item)
        except MissingContent as exc:
            letters.append(document_letter(context.stage, str(exc), document, item))
    try:
        if documents:
            outcomes = await anyio.to_thread.run_sync(store.store_many, documents, streamed)
            _stored(context, documents, outcomes, streamed)
    except DBAPIError as exc:
        if not is_bad_data(exc):
            raise  # the database, not the documents: the part stays pending
        for document, item in zip(documents, read_as, strict=True):
            try:
                outcomes = await anyio.to_thread.run_sync(store.store_many, [document], streamed)
                _stored(context, [document], outcomes, streamed)
            except DBAPIError as exc:
                if not is_bad_data(exc):
                    raise
                reason = f"store rejected: {str(exc.orig).splitlines()[0]}"
                letters.append(document_letter(context.stage, reason, document, item))
    return Outgoing.letters(context.topology.dead_letter, letters)


def _stored(
    context: StageContext,
    documents: list[DocumentExtracted],
    outcomes: list[StoreOutcome],
    streamed: dict[str, StreamedFigures],
) -> None:
    """Say what became of each document committed, in the log and the metrics."""
    for document, outcome in zip(documents, outcomes, strict=True):
        figures = streamed[document.doc_id].count if document.doc_id in streamed else len(document.metrics)
        log.info("%s %s (%s metrics)", outcome, document.file_name, figures)
        if outcome in ("stored", "updated"):
            context.metrics.stored(document, figures=figures)


async def record_dead_letters(raw: list[Any], store: DocumentStore, context: StageContext) -> Outgoing:
    """Every dead letter of the pipeline into ingest_log and dead_letters, in one transaction.

    The large fields its message referred to are put back into the letter's payload first: the
    acknowledgement of the letter releases them, and the row must be replayable on its own.
    """
    letters, invalid = parse_contracts(DeadLetter, raw)
    letters += [dead_letter(context.stage, reason, item) for item, reason in invalid]
    kept = [await _with_contents(letter, context.contents) for letter in letters]
    await anyio.to_thread.run_sync(store.record_failures, kept)
    return Outgoing()


async def _with_contents(letter: DeadLetter, contents: ContentStore) -> DeadLetter:
    """The letter with the fields its message referred to put back into its payload, as far as kept."""
    refs = payload_references(letter.payload)
    if letter.payload is None or not refs:
        return letter
    found = await contents.fetch(ref.key for ref in refs)
    return letter.model_copy(update={"payload": with_contents(letter.payload, found)})


def database(settings: Settings) -> list[Server]:
    """Postgres as the store's retries see it: any error but a refusal of the data is waited out."""
    return [Server("Postgres", server_address(settings.require_database_url(), 5432), _is_database_error)]


def _is_database_error(error: BaseException) -> bool:
    return isinstance(error, DBAPIError) and not is_bad_data(error)


STORE = ConsumingStage[DocumentStore](
    name="store",
    inputs=(
        StageInput(lambda topology: topology.extracted, store_documents),
        StageInput(lambda topology: topology.dead_letter, record_dead_letters),
    ),
    open_resource=open_store,
    close_resource=DocumentStore.close,
    # No cap: store errors are classified, so what fails again is the database, and giving up
    # would drop documents during an outage. `wenming lag` shows it failing.
    crash_cap=None,
    servers=database,
)


def create_app(settings: Settings) -> FastStream:
    """Wire the store stage: extracted and dead-letter streams in, Postgres rows out."""
    settings.require_database_url()
    return create_stage_app(settings, STORE)
