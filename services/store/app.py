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
from services.store.schema import SchemaNotReady
from shared.contracts import DeadLetter, DocumentExtracted
from shared.handling import StageContext
from shared.references import MissingContent, references, resolved
from shared.servers import Server, StoppedWhileWaiting, server_address, wait_until_up
from shared.settings import Settings
from shared.stage import ConsumingStage, StageInput, create_stage_app
from shared.streaming.dead_letters import dead_letter, document_letter, parse_contracts
from shared.streaming.publishing import publish_all

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


async def store_documents(raw: list[Any], pipe: Any, store: DocumentStore, context: StageContext) -> None:
    """One transaction per document; what Postgres refuses for its content is dead-lettered."""
    parsed, invalid = parse_contracts(DocumentExtracted, raw)
    letters = [dead_letter(context.stage, reason, item) for item, reason in invalid]
    fetched = await context.contents.fetch(ref.key for document in parsed for ref in references(document))
    documents: list[DocumentExtracted] = []
    for document in parsed:
        try:
            documents.append(resolved(document, fetched))
        except MissingContent as exc:
            letters.append(document_letter(context.stage, str(exc), document))
    fetched.clear()  # the JSON of a large document is not kept while it is stored
    for document in documents:
        try:
            outcome = await anyio.to_thread.run_sync(store.store, document)
            log.info("%s %s (%d metrics)", outcome, document.file_name, len(document.metrics))
            if outcome in ("stored", "updated"):
                context.metrics.stored(document)
        except DBAPIError as exc:
            if not is_bad_data(exc):
                raise  # the database, not the document: the batch stays pending
            reason = f"store rejected: {str(exc.orig).splitlines()[0]}"
            letters.append(document_letter(context.stage, reason, document))
    await publish_all(
        context.broker,
        pipe,
        [(context.topology.dead_letter, letter) for letter in letters],
        metrics=context.metrics,
    )


async def record_dead_letters(
    raw: list[Any], _pipe: Any, store: DocumentStore, context: StageContext
) -> None:
    """Every dead letter of the pipeline into ingest_log, in one transaction."""
    letters, invalid = parse_contracts(DeadLetter, raw)
    letters += [dead_letter(context.stage, reason, item) for item, reason in invalid]
    await anyio.to_thread.run_sync(store.record_failures, letters)


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
