"""What a stage cannot use becomes a dead letter naming the document and the reason."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from faststream.redis import RedisBroker, RedisStreamMessage
from pydantic import BaseModel, ValidationError
from redis.asyncio.client import Pipeline

from shared.contracts import DeadLetter
from shared.streaming.publishing import publish_all
from shared.streams import Topology

ContractT = TypeVar("ContractT", bound=BaseModel)
MAX_DELIVERIES = 5


def dead_letter(
    stage: str, reason: str, raw: Any = None, *, doc_id: str | None = None, file_name: str | None = None
) -> DeadLetter:
    """A dead letter naming what failed, as far as the message lets us tell."""
    if isinstance(raw, dict):
        doc_id = doc_id or _str_or_none(raw.get("doc_id"))
        file_name = file_name or _str_or_none(raw.get("file_name"))
    return DeadLetter(
        stage=stage, doc_id=doc_id, file_name=file_name, reason=reason, failed_at=datetime.now(UTC)
    )


def parse_contracts(
    model: type[ContractT], raw_messages: Sequence[Any]
) -> tuple[list[ContractT], list[tuple[Any, str]]]:
    """Split raw messages into valid contracts and (message, reason) pairs for the dead-letter stream."""
    valid: list[ContractT] = []
    invalid: list[tuple[Any, str]] = []
    for raw in raw_messages:
        try:
            valid.append(model.model_validate(raw))
        except ValidationError as exc:
            invalid.append((raw, f"not a valid {model.__name__}: {exc.errors()[0]['msg']}"))
    return valid, invalid


async def gave_up(
    broker: RedisBroker,
    pipe: Pipeline,
    message: RedisStreamMessage,
    raw: Any,
    *,
    stage: str,
    topology: Topology,
    cap: int = MAX_DELIVERIES,
) -> bool:
    """Dead-letter an entry that keeps failing, so one poison message cannot loop forever."""
    deliveries = await message.get_delivery_count()
    if deliveries <= cap:
        return False
    reason = f"{stage} failed {deliveries - 1} times on this message; the {stage} logs say why"
    await publish_all(broker, pipe, [(topology.dead_letter, dead_letter(stage, reason, raw))])
    return True


def document_id(document: BaseModel) -> str | None:
    return _str_or_none(getattr(document, "doc_id", None))


def file_name(document: BaseModel) -> str | None:
    return _str_or_none(getattr(document, "file_name", None))


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None
