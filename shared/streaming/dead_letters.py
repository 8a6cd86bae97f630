"""What a stage cannot use becomes a dead letter naming the document, the reason and, if any, the error."""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from shared.contracts import DeadLetter

ContractT = TypeVar("ContractT", bound=BaseModel)

# Enough frames to see where in the logic it failed, few enough to read in a table cell.
_TRACE_FRAMES = 6
_TRACE_CHARS = 2_000


def dead_letter(
    stage: str,
    reason: str,
    raw: Any = None,
    *,
    doc_id: str | None = None,
    file_name: str | None = None,
    error: BaseException | None = None,
) -> DeadLetter:
    """A dead letter naming what failed, as far as the message tells, with the error's type and trace.

    A message that is a JSON object travels in the letter as it was read, for a replay; the wiring
    adds the stream it came from (shared/handling.py).
    """
    payload = raw if isinstance(raw, dict) else None
    if payload is not None:
        doc_id = doc_id or _str_or_none(payload.get("doc_id"))
        file_name = file_name or _str_or_none(payload.get("file_name"))
    return DeadLetter(
        stage=stage,
        doc_id=doc_id,
        file_name=file_name,
        reason=reason,
        failed_at=datetime.now(UTC),
        error_type=type(error).__name__ if error is not None else None,
        trace=short_trace(error) if error is not None and error.__traceback__ is not None else None,
        payload=payload,
    )


def document_letter(
    stage: str, reason: str, document: BaseModel, raw: Any = None, *, error: BaseException | None = None
) -> DeadLetter:
    """A dead letter for a valid document, named by its id and file, with `raw`, the message read."""
    return dead_letter(
        stage, reason, raw, doc_id=document_id(document), file_name=file_name(document), error=error
    )


def short_trace(error: BaseException) -> str:
    """The innermost frames of the error's traceback and its message, as Python prints them."""
    frames = traceback.format_tb(error.__traceback__)[-_TRACE_FRAMES:]
    text = "".join(frames) + "".join(traceback.format_exception_only(error))
    return text if len(text) <= _TRACE_CHARS else "…" + text[-_TRACE_CHARS:]


def parse_contracts(
    model: type[ContractT], raw_messages: Sequence[Any]
) -> tuple[list[ContractT], list[tuple[Any, str]]]:
    """Split raw messages into valid contracts and (message, reason) pairs for the dead-letter stream."""
    valid, invalid = parse_each(model, raw_messages)
    return [contract for _, contract in valid], invalid


def parse_each(
    model: type[ContractT], raw_messages: Sequence[Any]
) -> tuple[list[tuple[Any, ContractT]], list[tuple[Any, str]]]:
    """As parse_contracts, each valid contract beside the raw message it was read from."""
    valid: list[tuple[Any, ContractT]] = []
    invalid: list[tuple[Any, str]] = []
    for raw in raw_messages:
        try:
            valid.append((raw, model.model_validate(raw)))
        except ValidationError as exc:
            invalid.append((raw, f"not a valid {model.__name__}: {exc.errors()[0]['msg']}"))
    return valid, invalid


def document_id(document: BaseModel) -> str | None:
    return _str_or_none(getattr(document, "doc_id", None))


def file_name(document: BaseModel) -> str | None:
    return _str_or_none(getattr(document, "file_name", None))


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None
