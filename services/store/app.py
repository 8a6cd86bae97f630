"""store stage: persist extracted documents and dead letters in Postgres."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import anyio
import yaml
from faststream import Context, FastStream
from faststream.redis.annotations import Pipeline, Redis, RedisStreamMessage
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, IntegrityError
from sqlmodel import Session, create_engine

from services.store import repository
from services.store.schema import create_database_if_missing, migrate, sqlalchemy_url
from services.store.search import search_terms
from shared.broker import (
    TrimSchedule,
    batch_subscription,
    build_broker,
    dead_letter,
    ensure_consumer_groups,
    gave_up,
    parse_contracts,
    publish_all,
    reclaim_subscription,
    retire_consumer,
)
from shared.contracts import DeadLetter, DocumentExtracted
from shared.settings import Settings
from shared.streams import Topology

STAGE = "store"
log = logging.getLogger(__name__)


def load_catalog() -> list[dict[str, Any]]:
    """The indicator catalog shipped with the extract stage."""
    text = resources.files("services.extract").joinpath("indicators.yaml").read_text(encoding="utf-8")
    return list(yaml.safe_load(text))


class DocumentStore:
    """The store's Postgres side, built once in the lifespan: database created, migrated, catalog synced."""

    def __init__(self, database_url: str) -> None:
        create_database_if_missing(database_url)
        self.engine: Engine = create_engine(sqlalchemy_url(database_url), pool_pre_ping=True)
        migrate(self.engine)
        with Session(self.engine) as session:
            repository.sync_indicators(session, catalog=load_catalog())
            session.commit()

    def store(self, document: DocumentExtracted) -> str:
        """One transaction per document: all its rows or none."""
        tokens = search_terms(f"{document.metadata.title or ''}\n{document.text}")
        with Session(self.engine) as session:
            outcome = repository.store_document(
                session, document=document, search_tokens=tokens, now=datetime.now(UTC)
            )
            session.commit()
        return outcome

    def record_failures(self, letters: list[DeadLetter]) -> None:
        with Session(self.engine) as session:
            for letter in letters:
                repository.log_failure(session, letter=letter)
            session.commit()


def create_app(settings: Settings) -> FastStream:
    """Wire the store stage: extracted and dead-letter streams in, Postgres rows out."""
    broker = build_broker(settings)
    topology = Topology(settings.stream_prefix)
    trims = TrimSchedule()

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        await ensure_consumer_groups(settings.require_redis_url(), topology.consumer_groups())
        store = await anyio.to_thread.run_sync(DocumentStore, settings.require_database_url())
        app.context.set_global("store", store)
        yield
        store.engine.dispose()
        await retire_consumer(
            settings.require_redis_url(),
            [(topology.extracted, STAGE), (topology.dead_letter, STAGE)],
            settings.consumer_name,
        )

    app = FastStream(broker, lifespan=lifespan)

    async def store_documents(raw: list[Any], pipe: Any, store: DocumentStore) -> None:
        documents, invalid = parse_contracts(DocumentExtracted, raw)
        letters = [dead_letter(STAGE, reason, item) for item, reason in invalid]
        for document in documents:
            try:
                outcome = await anyio.to_thread.run_sync(store.store, document)
                log.info("%s %s (%d metrics)", outcome, document.file_name, len(document.metrics))
            except (DataError, IntegrityError) as exc:  # this document's data, not the database, is wrong
                letters.append(dead_letter(STAGE, f"store rejected: {exc.orig}", document.model_dump()))
        # Other database errors propagate: the batch stays pending and is retried once reclaimed.
        await publish_all(broker, pipe, [(topology.dead_letter, letter) for letter in letters])

    async def record_dead_letters(raw: list[Any], store: DocumentStore) -> None:
        letters, invalid = parse_contracts(DeadLetter, raw)
        letters += [dead_letter(STAGE, reason, item) for item, reason in invalid]
        await anyio.to_thread.run_sync(store.record_failures, letters)

    def subscribe(stream: str, handle: Callable[..., Any]) -> None:
        @broker.subscriber(stream=batch_subscription(settings, stream, STAGE))
        async def on_batch(
            raw: list[Any], pipe: Pipeline, redis: Redis, store: DocumentStore = Context()
        ) -> None:
            await handle(raw, pipe, store)
            await trims.trim(redis, stream)

        @broker.subscriber(stream=reclaim_subscription(settings, stream, STAGE))
        async def on_reclaimed(
            raw: Any, pipe: Pipeline, message: RedisStreamMessage, store: DocumentStore = Context()
        ) -> None:
            # A dead letter that cannot be recorded stays pending (and `wenming lag` shows it stuck):
            # dead-lettering it again would only loop.
            poison = stream != topology.dead_letter
            if not (poison and await gave_up(broker, pipe, message, raw, stage=STAGE, topology=topology)):
                await handle([raw], pipe, store)

    subscribe(topology.extracted, store_documents)
    subscribe(topology.dead_letter, lambda raw, _pipe, store: record_dead_letters(raw, store))
    return app
