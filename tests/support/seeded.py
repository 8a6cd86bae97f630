"""A database holding the five seed reports, stored as the pipeline stores them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from services.extract.documents import extract_document
from services.extract.extractor import Extractor
from services.ingest.documents import ingested_document
from services.ingest.readers import read_document
from services.normalize.documents import normalize_document
from services.normalize.normalizer import ScriptConverter
from services.store.database import DocumentStore
from tests.support.databases import own_database
from tests.support.reference import SEEDS


def store_files(store: DocumentStore, files: Sequence[Path]) -> None:
    """Ingest, normalize, extract and store each file in `store`."""
    converter, extractor = ScriptConverter(), Extractor()
    for path in files:
        raw = path.read_bytes()
        ingested = ingested_document(raw, path.name, read_document(raw, path.name))
        store.store(extract_document(normalize_document(ingested, converter), extractor))


@contextmanager
def seeded_store(postgres_server_url: str) -> Iterator[DocumentStore]:
    """A database of its own with the seeds stored, dropped on exit."""
    with own_database(postgres_server_url) as url:
        store = DocumentStore(url)
        try:
            store_files(store, SEEDS)
            yield store
        finally:
            store.close()
