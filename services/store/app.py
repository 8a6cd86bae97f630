"""store stage: persist extracted documents and dead letters in Postgres."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
from faststream import Context, FastStream
from faststream.redis.annotations import Pipeline, Redis, RedisBatchStreamMessage, RedisStreamMessage
from sqlalchemy.exc import DBAPIError

from services.store.database import DocumentStore, is_bad_data
from shared.broker import (
    Heartbeat,
    batch_subscription,
    beating,
    build_broker,
    dead_letter,
    ensure_consumer_groups,
    keep_claimed,
    keep_trimmed,
    parse_contracts,
    publish_all,
    reclaim_subscription,
    register_consumer,
    retire_consumer,
)
from shared.contracts import DeadLetter, DocumentExtracted
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

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        await ensure_consumer_groups(redis_url, topology.consumer_groups())
        await register_consumer(redis_url, inputs, settings.consumer_name)
        reader_password = settings.reader_password.get_secret_value() if settings.reader_password else None
        store = await anyio.to_thread.run_sync(
            functools.partial(DocumentStore, settings.require_database_url(), reader_password=reader_password)
        )
        app.context.set_global("store", store)
        beat = beating(redis_url, prefix=settings.stream_prefix, stage=STAGE, consumer=settings.consumer_name)
        try:
            async with keep_trimmed(redis_url, [stream for stream, _ in inputs]), beat as heartbeat:
                app.context.set_global("heartbeat", heartbeat)
                yield
        finally:
            store.close()
            await retire_consumer(redis_url, inputs, settings.consumer_name)

    app = FastStream(broker, lifespan=lifespan)

    async def store_documents(raw: list[Any], pipe: Any, store: DocumentStore) -> None:
        documents, invalid = parse_contracts(DocumentExtracted, raw)
        letters = [dead_letter(STAGE, reason, item) for item, reason in invalid]
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
                letters.append(dead_letter(STAGE, reason, document.model_dump()))
        await publish_all(broker, pipe, [(topology.dead_letter, letter) for letter in letters])

    async def record_dead_letters(raw: list[Any], store: DocumentStore) -> None:
        letters, invalid = parse_contracts(DeadLetter, raw)
        letters += [dead_letter(STAGE, reason, item) for item, reason in invalid]
        await anyio.to_thread.run_sync(store.record_failures, letters)

    def subscribe(stream: str, handle: Callable[..., Any]) -> None:
        async def run(raw: list[Any], pipe: Any, redis: Any, ids: list[bytes], store: DocumentStore) -> None:
            heartbeat: Heartbeat = app.context.get("heartbeat")
            try:
                async with keep_claimed(redis, stream, STAGE, settings.consumer_name, ids, refresh_s):
                    await handle(raw, pipe, store)
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
    subscribe(topology.dead_letter, lambda raw, _pipe, store: record_dead_letters(raw, store))
    return app
