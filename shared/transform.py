"""What a transforming stage does with a part of a batch: validate, transform with pure logic, hand on."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import anyio
from faststream.redis import RedisBroker
from pydantic import BaseModel
from redis.asyncio.client import Pipeline

from shared.content_store import ContentStore
from shared.references import Detached, MissingContent, by_reference, references, resolved
from shared.streaming.dead_letters import dead_letter, document_id, file_name, parse_contracts
from shared.streaming.publishing import publish_all
from shared.streams import Topology

log = logging.getLogger(__name__)

ContractT = TypeVar("ContractT", bound=BaseModel)


async def transform_batch(
    broker: RedisBroker,
    pipe: Pipeline,
    raw_messages: Sequence[Any],
    model: type[ContractT],
    transform: Callable[[ContractT], BaseModel],
    *,
    stage: str,
    topology: Topology,
    target: str,
    limiter: anyio.CapacityLimiter,
    contents: ContentStore,
    inline_bytes: int,
) -> None:
    """Validate a batch, transform each document with pure logic, and publish the results in one go.

    Referenced texts are fetched before the transform and results over `inline_bytes` published by
    reference. Bad data (an invalid message, a text no longer kept, a document the logic rejects)
    becomes a dead letter and is acknowledged with the batch; a Redis error leaves the whole batch
    pending, to be reclaimed.
    """
    parsed, invalid = parse_contracts(model, raw_messages)
    outgoing: list[tuple[str, BaseModel]] = [
        (topology.dead_letter, dead_letter(stage, reason, raw)) for raw, reason in invalid
    ]
    fetched = await contents.fetch(ref.key for document in parsed for ref in references(document))
    valid: list[ContractT] = []
    for document in parsed:
        try:
            valid.append(resolved(document, fetched))
        except MissingContent as exc:
            letter = dead_letter(stage, str(exc), doc_id=document_id(document), file_name=file_name(document))
            outgoing.append((topology.dead_letter, letter))
    held = set(fetched)
    fetched.clear()  # the JSON of a large document's texts is not kept through the transform
    key_prefix = topology.contents

    def transform_all() -> list[tuple[str, Detached[Any]]]:
        results: list[tuple[str, Detached[Any]]] = []
        for document in valid:
            try:
                result = transform(document)
            except Exception as exc:  # the logic is pure: a failure is about this document, not the system
                log.exception("%s failed on %s", stage, getattr(document, "file_name", "?"))
                reason = f"{stage} failed: {type(exc).__name__}: {exc}"
                named = {"doc_id": document_id(document), "file_name": file_name(document)}
                results.append((topology.dead_letter, Detached(dead_letter(stage, reason, **named), {})))
                continue
            results.append((target, by_reference(result, inline_bytes=inline_bytes, key_prefix=key_prefix)))
        return results

    # One hop to a worker thread per batch: the event loop stays free for reads, acks and shutdown.
    results = await anyio.to_thread.run_sync(transform_all, limiter=limiter)
    contents.keep(pipe, (detached for _, detached in results), held=held)
    outgoing.extend((stream, detached.message) for stream, detached in results)
    await publish_all(broker, pipe, outgoing)
