"""Heavy logic objects built once for all unit tests (loading jieba and the gazetteer takes seconds)."""

from __future__ import annotations

import pytest

from services.extract.extractor import Extractor
from services.extract.gazetteer import Gazetteer


@pytest.fixture(scope="session")
def gazetteer() -> Gazetteer:
    return Gazetteer.from_jionlp()


@pytest.fixture(scope="session")
def extractor(gazetteer: Gazetteer) -> Extractor:
    return Extractor(gazetteer=gazetteer)
