"""extract stage: find every figure in a normalized document."""

from __future__ import annotations

from faststream import FastStream

from services.extract.documents import extract_document
from services.extract.extractor import Extractor
from shared.contracts import DocumentNormalized
from shared.settings import Settings
from shared.stage import TransformStage, create_transform_app

EXTRACT = TransformStage(
    name="extract",
    source=lambda topology: topology.normalized,
    target=lambda topology: topology.extracted,
    model=DocumentNormalized,
    build_resource=lambda settings: Extractor(resolve_relative_years=settings.resolve_relative_years),
    transform=extract_document,
)


def create_app(settings: Settings) -> FastStream:
    """Wire the extract stage: normalized stream in, extracted stream out."""
    return create_transform_app(settings, EXTRACT)
