"""The store's Postgres side: built once per process, then one transaction per group of documents."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import yaml
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session, create_engine

from services.store import repository
from services.store.access import set_reader_password
from services.store.figures import StreamedFigures
from services.store.regions import load_divisions, regions_from_divisions
from services.store.repository import StoreOutcome
from services.store.schema import create_database_if_missing, migrate, sqlalchemy_url
from shared.contracts import DeadLetter, DocumentExtracted

# SQLSTATE classes that say the data is wrong, not the database: retrying cannot help.
_BAD_DATA_CLASSES = ("22", "23", "54")  # data exception, integrity constraint, program limit exceeded
# Admin or crash shutdown, cannot connect now, too many connections: the server is coming or going.
_SERVER_AWAY_STATES = ("57P01", "57P02", "57P03", "53300")


def is_bad_data(error: Exception) -> bool:
    """True when Postgres refused a document for what it contains."""
    sqlstate = (
        getattr(getattr(error, "orig", None), "sqlstate", None) if isinstance(error, DBAPIError) else None
    )
    return bool(sqlstate) and str(sqlstate)[:2] in _BAD_DATA_CLASSES


def is_server_away(error: BaseException) -> bool:
    """True when Postgres cannot be reached (down, starting, restarting, too busy): waiting may help.

    A refused connection carries no SQLSTATE, and nor does a server that answers "starting up"
    or "password authentication failed" at connect time: all are waited for, each logged once.
    """
    if not isinstance(error, OperationalError):
        return False
    sqlstate = str(getattr(error.orig, "sqlstate", None) or "")
    return not sqlstate or sqlstate[:2] == "08" or sqlstate in _SERVER_AWAY_STATES


def read_indicator_catalog() -> list[dict[str, Any]]:
    """The indicator catalog, with the stable public codes."""
    text = resources.files("shared").joinpath("indicators.yaml").read_text(encoding="utf-8")
    return list(yaml.safe_load(text))


class DocumentStore:
    """Database created if missing, migrated, its catalog and regions synced, before the first message."""

    def __init__(self, database_url: str, *, reader_password: str | None = None) -> None:
        create_database_if_missing(database_url)
        self.engine: Engine = create_engine(sqlalchemy_url(database_url), pool_pre_ping=True)
        migrate(self.engine)
        with Session(self.engine) as session:
            repository.sync_indicators(session, catalog=read_indicator_catalog())
            repository.sync_regions(session, regions=regions_from_divisions(load_divisions()))
            session.commit()
        # Unset leaves the role as it is: a password set by hand in psql keeps working.
        if reader_password:
            with self.engine.begin() as conn:
                set_reader_password(conn, reader_password)

    def store(self, document: DocumentExtracted) -> StoreOutcome:
        """One transaction for the document: all its rows or none."""
        return self.store_many([document])[0]

    def store_many(
        self,
        documents: Sequence[DocumentExtracted],
        streamed: Mapping[str, StreamedFigures] | None = None,
    ) -> list[StoreOutcome]:
        """One transaction for the documents: all their rows or none; each one's outcome, in order.

        `streamed`: by document id, the figures of those whose `metrics` are still a reference.
        """
        with self.engine.begin() as connection:
            return repository.store_documents(
                connection, documents=documents, now=datetime.now(UTC), streamed=streamed
            )

    def record_failures(self, letters: list[DeadLetter]) -> None:
        with Session(self.engine) as session:
            for letter in letters:
                repository.log_failure(session, letter=letter)
            session.commit()

    def close(self) -> None:
        self.engine.dispose()
