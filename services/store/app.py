"""store stage: persist extracted documents and dead letters in Postgres."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import redis.asyncio as aioredis
from faststream import Context, FastStream
from faststream.redis.annotations import Pipeline, Redis, RedisBatchStreamMessage, RedisStreamMessage
from sqlalchemy.exc import DBAPIError

from services.store.database import DocumentStore, is_bad_data, is_server_away
from shared.broker import (
    Heartbeat,
    batch_subscription,
    beating,
    build_broker,
    dead_letter,
    document_id,
    ensure_consumer_groups,
    file_name,
    keep_claimed,
    keep_trimmed,
    parse_contracts,
    publish_all,
    reclaim_subscription,
    register_consumer,
    retire_consumer,
)
from shared.content_store import ContentStore
from shared.contracts import DeadLetter, DocumentExtracted
from shared.references import (
    MissingContent,
    document_bytes,
    referenced_keys,
    references,
    resolved,
    smallest_first,
)
from shared.servers import Server, StageApp, server_address, wait_for_redis, wait_until_up
from shared.settings import Settings
from shared.streams import Topology

STAGE = "store"
log = logging.getLogger(__name__)
# After a database error, wait before the next batch rather than failing every message at full speed.
_TRANSIENT_BACKOFF_S = 2.0


def create_app(settings: Settings) -> FastStream:
    """Wire the store stage: extracted and dead-letter streams in, Postgres rows out."""
    broker = build_broker(settings)
    topology = Topology(settings.stream_prefix)
    redis_url = settings.require_redis_url()
    inputs = [(topology.extracted, STAGE), (topology.dead_letter, STAGE)]
    refresh_s = settings.reclaim_idle_ms / 1000 / 3

    database_url = settings.require_database_url()
    postgres = Server("Postgres", server_address(database_url, 5432), is_server_away)

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        await wait_for_redis(redis_url, stopping=app.stopping)
        # Both servers before joining the groups: a stage stopped while it waits leaves no consumer behind.
        reader_password = settings.reader_password.get_secret_value() if settings.reader_password else None
        open_store = functools.partial(DocumentStore, database_url, reader_password=reader_password)
        store = await wait_until_up(
            postgres, lambda: anyio.to_thread.run_sync(open_store), stopping=app.stopping
        )
        await ensure_consumer_groups(redis_url, topology.consumer_groups())
        app.context.set_global("store", store)
        client = aioredis.from_url(redis_url)
        app.context.set_global("contents", ContentStore(client, ttl_s=settings.reference_ttl_s))
        beat = beating(redis_url, prefix=settings.stream_prefix, stage=STAGE, consumer=settings.consumer_name)
        # Joined once the database answers, so that a start that fails leaves no consumer behind.
        await register_consumer(redis_url, inputs, settings.consumer_name)
        try:
            async with keep_trimmed(redis_url, [stream for stream, _ in inputs]), beat as heartbeat:
                app.context.set_global("heartbeat", heartbeat)
                yield
        finally:
            store.close()
            await client.aclose()
            await retire_consumer(redis_url, inputs, settings.consumer_name)

    app = StageApp(broker, lifespan=lifespan)

    async def store_documents(
        raw: list[Any], pipe: Any, store: DocumentStore, contents: ContentStore
    ) -> None:
        parsed, invalid = parse_contracts(DocumentExtracted, raw)
        letters = [dead_letter(STAGE, reason, item) for item, reason in invalid]
        fetched = await contents.fetch(ref.key for document in parsed for ref in references(document))
        documents: list[DocumentExtracted] = []
        for document in parsed:
            try:
                documents.append(resolved(document, fetched))
            except MissingContent as exc:
                letters.append(
                    dead_letter(STAGE, str(exc), doc_id=document_id(document), file_name=file_name(document))
                )
        fetched.clear()  # the JSON of a large document is not kept while it is stored
        for document in documents:
            try:
                outcome = await anyio.to_thread.run_sync(store.store, document)
                log.info("%s %s (%d metrics)", outcome, document.file_name, len(document.metrics))
            except DBAPIError as exc:
                if not is_bad_data(exc):
                    # The database, not the document: the batch stays pending and is retried once reclaimed.
                    await asyncio.sleep(_TRANSIENT_BACKOFF_S)
                    raise
                reason = f"store rejected: {str(exc.orig).splitlines()[0]}"
                letters.append(
                    dead_letter(STAGE, reason, doc_id=document_id(document), file_name=file_name(document))
                )
        await publish_all(broker, pipe, [(topology.dead_letter, letter) for letter in letters])

    async def record_dead_letters(
        raw: list[Any], _pipe: Any, store: DocumentStore, _contents: ContentStore
    ) -> None:
        letters, invalid = parse_contracts(DeadLetter, raw)
        letters += [dead_letter(STAGE, reason, item) for item, reason in invalid]
        await anyio.to_thread.run_sync(store.record_failures, letters)

    def subscribe(stream: str, handle: Callable[..., Any]) -> None:
        async def run(raw: list[Any], pipe: Any, redis: Any, ids: list[bytes], store: DocumentStore) -> None:
            heartbeat: Heartbeat = app.context.get("heartbeat")
            contents: ContentStore = app.context.get("contents")
            try:
                async with keep_claimed(redis, stream, STAGE, settings.consumer_name, ids, refresh_s):
                    # Bounded by bytes, smallest first; each part acknowledged (texts released) once stored.
                    sizes = [document_bytes(item) for item in raw]
                    for part in smallest_first(sizes, settings.batch_bytes):
                        await handle([raw[i] for i in part], pipe, store, contents)
                        done = [(ids[i], referenced_keys(raw[i])) for i in part]
                        await contents.acknowledge(stream, STAGE, done)
            except Exception as exc:  # left pending and retried; `wenming lag` shows why meanwhile
                heartbeat.record_error(exc)
                raise
            heartbeat.clear_error()

        @broker.subscriber(stream=batch_subscription(settings, stream, STAGE))
        async def on_batch(
            raw: list[Any],
            pipe: Pipeline,
            redis: Redis,
            message: RedisBatchStreamMessage,
            store: DocumentStore = Context(),
        ) -> None:
            await run(raw, pipe, redis, message.raw_message["message_ids"], store)

        # No delivery cap here: store errors are classified, so what fails again is the database,
        # and giving up would drop documents during an outage. `wenming lag` shows it stuck.
        @broker.subscriber(stream=reclaim_subscription(settings, stream, STAGE))
        async def on_reclaimed(
            raw: Any,
            pipe: Pipeline,
            redis: Redis,
            message: RedisStreamMessage,
            store: DocumentStore = Context(),
        ) -> None:
            await run([raw], pipe, redis, message.raw_message["message_ids"], store)

    subscribe(topology.extracted, store_documents)
    subscribe(topology.dead_letter, record_dead_letters)
    return app
