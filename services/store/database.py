"""The store's Postgres side: built once per process, then one transaction per group of documents."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session, create_engine

from services.store import repository
from services.store.access import READER_ROLE, WRITER_ROLE, set_role_password
from services.store.figures import StreamedFigures
from services.store.regions import load_divisions, regions_from_divisions
from services.store.repository import StoreOutcome
from services.store.schema import (
    NotOwner,
    create_database_if_missing,
    may_migrate,
    migrate,
    require_schema_at_head,
    schema_revision,
    sqlalchemy_url,
)
from shared.contracts import DeadLetter, DocumentExtracted

log = logging.getLogger(__name__)

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


def connect(database_url: str) -> Engine:
    """An engine on the database; a missing database is created where this role may create it."""
    engine = create_engine(sqlalchemy_url(database_url), pool_pre_ping=True)
    try:
        engine.connect().close()
    except OperationalError as refused:
        engine.dispose()
        try:
            created = create_database_if_missing(database_url)
        except OperationalError:
            created = False  # the server itself is away, or hides its databases: the first error says it
        if not created:
            raise refused from None
    return engine


def prepare(
    engine: Engine, *, reader_password: str | None = None, writer_password: str | None = None
) -> None:
    """The owner's part: the schema migrated, the catalog and regions synced, the roles' passwords set."""
    migrate(engine)
    with Session(engine) as session:
        repository.sync_indicators(session, catalog=read_indicator_catalog())
        repository.sync_regions(session, regions=regions_from_divisions(load_divisions()))
        session.commit()
    # Unset leaves a role as it is: a password set by hand in psql keeps working.
    for role, password in ((READER_ROLE, reader_password), (WRITER_ROLE, writer_password)):
        if password:
            with engine.begin() as conn:
                set_role_password(conn, role, password)


def migrate_database(
    database_url: str, *, reader_password: str | None = None, writer_password: str | None = None
) -> str:
    """`wenming migrate`: the database created if missing and prepared, by its owner only; its revision."""
    engine = connect(database_url)
    try:
        with engine.connect() as conn:
            if not may_migrate(conn):
                user, database = conn.execute(sa.text("SELECT current_user, current_database()")).one()
                raise NotOwner(
                    f"{user} does not own the database {database} and may not migrate it; "
                    "give the owner's URL (the store's own role changes no schema)"
                )
        prepare(engine, reader_password=reader_password, writer_password=writer_password)
        with engine.connect() as conn:
            return schema_revision(conn) or ""
    finally:
        engine.dispose()


class DocumentStore:
    """The database, ready before the first message: prepared when this role owns it, else checked.

    Connected as the owner (`wenming up`, one URL for everything) the store migrates as it starts, as
    `wenming migrate` would. Connected as any other role (wenming_writer) it changes no schema and
    raises SchemaNotReady until the owner has migrated the database to this code's newest revision.
    """

    def __init__(
        self, database_url: str, *, reader_password: str | None = None, writer_password: str | None = None
    ) -> None:
        self.engine: Engine = connect(database_url)
        try:
            with self.engine.connect() as conn:
                self.owner = may_migrate(conn)
                if not self.owner:
                    require_schema_at_head(conn)
            if self.owner:
                prepare(self.engine, reader_password=reader_password, writer_password=writer_password)
            else:
                log.info("not the database's owner: the schema is left to `wenming migrate`, and is current")
        except BaseException:
            self.engine.dispose()
            raise

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
