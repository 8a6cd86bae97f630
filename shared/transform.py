"""What a transforming stage does with a part of a batch: validate, transform with pure logic, hand on."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from shared.content_store import ContentStore
from shared.logic_thread import LogicStuck, LogicThread, TooSlow
from shared.references import Detached, Held, MissingContent, by_reference
from shared.streaming.dead_letters import dead_letter, document_letter, file_name, parse_each
from shared.streaming.publishing import Outgoing
from shared.streams import Topology

log = logging.getLogger(__name__)

ContractT = TypeVar("ContractT", bound=BaseModel)


async def transform_batch(
    raw_messages: Sequence[Any],
    model: type[ContractT],
    transform: Callable[[ContractT], BaseModel],
    *,
    stage: str,
    topology: Topology,
    target: str,
    logic: LogicThread,
    contents: ContentStore,
    inline_bytes: int,
    working: Callable[[], None],
) -> Outgoing:
    """Validate a batch and transform each document with pure logic: the results, to hand on in one go.

    Referenced texts are fetched before the transform and results over `inline_bytes` go by
    reference. Bad data (an invalid message, a text no longer kept, a document the logic rejects or
    takes longer than its bound on) becomes a dead letter, handed on with the batch; a Redis error
    leaves the whole batch pending.
    """
    parsed, invalid = parse_each(model, raw_messages)
    results: list[tuple[str, Detached[Any]]] = [
        (topology.dead_letter, Detached(dead_letter(stage, reason, raw), {})) for raw, reason in invalid
    ]
    # (the message as read, for a dead letter; the document with its texts fetched; what they were)
    valid: list[tuple[Any, ContractT, list[Held]]] = []
    for raw, document in parsed:
        try:
            valid.append((raw, *await contents.resolve(document)))
        except MissingContent as exc:
            letter = document_letter(stage, str(exc), document, raw)
            results.append((topology.dead_letter, Detached(letter, {})))
    # Kept already (our unacknowledged input refers to them): only their count goes up.
    held_keys = {item.ref.key for _, _, held in valid for item in held}
    key_prefix = topology.contents

    def transform_one(document: ContractT, held: list[Held]) -> Detached[Any]:
        return by_reference(transform(document), inline_bytes=inline_bytes, key_prefix=key_prefix, held=held)

    # Each input let go of once handled: a large document's texts are not held past their turn.
    valid.reverse()
    while valid:
        raw, document, held = valid.pop()
        working()
        try:
            # One document at a time on the logic's thread: the event loop stays free for reads and acks.
            results.append((target, await logic.run(transform_one, document, held)))
        except TooSlow as exc:
            log.error("%s gave up on %s after %gs", stage, file_name(document), logic.limit_s)
            reason = f"{stage} took longer than {logic.limit_s:g}s on this document and gave up"
            results.append(
                (topology.dead_letter, Detached(document_letter(stage, reason, document, raw, error=exc), {}))
            )
        except LogicStuck:
            raise  # no verdict on the document: the thread is lost and the stage must restart
        except Exception as exc:  # the logic is pure: a failure is about this document, not the system
            log.exception("%s failed on %s", stage, file_name(document))
            reason = f"{stage} failed: {type(exc).__name__}: {exc}"
            results.append(
                (topology.dead_letter, Detached(document_letter(stage, reason, document, raw, error=exc), {}))
            )
    return Outgoing(results, frozenset(held_keys))
