"""normalize stage: Traditional→Simplified and clean text, with a map back to the original."""

from __future__ import annotations

from faststream import FastStream

from services.normalize.documents import normalize_document
from services.normalize.normalizer import ScriptConverter
from shared.contracts import DocumentIngested
from shared.settings import Settings
from shared.stage import TransformStage, create_transform_app

NORMALIZE = TransformStage(
    name="normalize",
    source=lambda topology: topology.ingested,
    target=lambda topology: topology.normalized,
    model=DocumentIngested,
    build_resource=lambda _settings: ScriptConverter(),
    transform=normalize_document,
)


def create_app(settings: Settings) -> FastStream:
    """Wire the normalize stage: ingested stream in, normalized stream out."""
    return create_transform_app(settings, NORMALIZE)
