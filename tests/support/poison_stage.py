"""normalize with one change: its logic kills its own process (SIGKILL) on a document holding POISON.

Run as `python -m tests.support.poison_stage`, with the WENMING_* settings of `wenming serve`.
"""

from __future__ import annotations

import asyncio
import os
import signal

from services.normalize.app import NORMALIZE
from services.normalize.documents import normalize_document
from services.normalize.normalizer import ScriptConverter
from shared.contracts import DocumentIngested, DocumentNormalized
from shared.settings import Settings
from shared.stage import TransformStage, create_transform_app

POISON = "☠"


def normalize_or_die(document: DocumentIngested, converter: ScriptConverter) -> DocumentNormalized:
    if POISON in document.original_text:
        os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer would: no exception, no trace
    return normalize_document(document, converter)


POISONED = TransformStage(
    name=NORMALIZE.name,
    source=NORMALIZE.source,
    target=NORMALIZE.target,
    model=DocumentIngested,
    build_resource=NORMALIZE.build_resource,
    transform=normalize_or_die,
)

if __name__ == "__main__":
    asyncio.run(create_transform_app(Settings(), POISONED).run())
