"""Resources the extractor's passes share across their tests, built once per session."""

from __future__ import annotations

import pytest

from services.extract.catalog import load_catalog
from services.extract.indicators import IndicatorMatcher


@pytest.fixture(scope="session")
def matcher() -> IndicatorMatcher:
    return IndicatorMatcher(load_catalog())
