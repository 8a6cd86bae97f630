"""extract stage: find every figure in a normalized document."""

from __future__ import annotations

from faststream import FastStream

from services.extract.documents import extract_document
from services.extract.extractor import Extractor
from shared.contracts import DocumentNormalized
from shared.offsets import OffsetMap
from shared.settings import Settings
from shared.stage import TransformStage, create_transform_app

# Chinese numerals, a unit, a rate: enough to load what the extractor loads on first use.
_WARM_UP = (
    "淮北市2023年文明创建工作总结\n全市注册志愿者四十二万余名，建成新时代文明实践站438个，满意率95.6%。\n"
)


def warmed_extractor(settings: Settings) -> Extractor:
    """The extractor, with what it loads on first use (numeral parser, dictionaries) loaded now.

    Paid as the stage starts, not by the first document: a quarter of a second that every drop into
    a freshly started pipeline would otherwise wait for.
    """
    extractor = Extractor(resolve_relative_years=settings.resolve_relative_years)
    extractor.extract(_WARM_UP, original=_WARM_UP, offsets=OffsetMap.identity(len(_WARM_UP)))
    return extractor


EXTRACT = TransformStage(
    name="extract",
    source=lambda topology: topology.normalized,
    target=lambda topology: topology.extracted,
    model=DocumentNormalized,
    build_resource=warmed_extractor,
    transform=extract_document,
)


def create_app(settings: Settings) -> FastStream:
    """Wire the extract stage: normalized stream in, extracted stream out."""
    return create_transform_app(settings, EXTRACT)
