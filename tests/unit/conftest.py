"""Heavy logic objects built once for all unit tests (loading jieba and the gazetteer takes seconds)."""

from __future__ import annotations

import pytest

from services.extract.extractor import Extractor


@pytest.fixture(scope="session")
def extractor() -> Extractor:
    return Extractor()
