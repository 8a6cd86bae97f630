"""Large documents by reference: which fields leave the message, and how they are put back.

A message whose texts exceed the inline limit carries, for each field of its contract's
`BY_REFERENCE` (the texts, and the offset runs or figures that grow with them), a `ContentRef`
instead of the value. The value is kept once, as the JSON of the field, under a key made of the
document id and the digest of that JSON: the same original text referenced by three stages is one
key, and two versions of a normalized text never share one. Pure: the Redis side is content_store.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, TypeAdapter

from shared.contracts import ContentRef

ContractT = TypeVar("ContractT", bound=BaseModel)


class MissingContent(LookupError):
    """A referenced content is gone: it outlived its expiry, or Redis lost it."""


@dataclass(frozen=True)
class Detached(Generic[ContractT]):
    """A message ready to publish, and the contents it refers to (key → JSON) that must be kept."""

    message: ContractT
    contents: dict[str, bytes]


def fields_by_reference(model: type[BaseModel]) -> dict[str, Any]:
    """Field name → its value when it goes by reference, for the fields that may."""
    return dict(getattr(model, "BY_REFERENCE", {}))


@cache
def _adapter(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    annotation = model.model_fields[name].annotation
    assert annotation is not None, name
    return TypeAdapter(annotation)


@dataclass(frozen=True)
class Held:
    """A content an input message referred to, and its value once fetched."""

    value: Any
    ref: ContentRef


def by_reference(
    message: ContractT, *, inline_bytes: int, key_prefix: str, held: Sequence[Held] = ()
) -> Detached[ContractT]:
    """The message as published: inline if its texts total at most `inline_bytes` (UTF-8), else by
    reference.

    A field whose value is the very object fetched for `held` (a text passed through unchanged)
    refers to the same key, without being serialised and hashed again: its key would be the same.
    """
    fields = fields_by_reference(type(message))
    texts = [getattr(message, name) for name in fields if isinstance(getattr(message, name), str)]
    # A character is at least one byte: only texts that might fit are encoded to be measured.
    if all(len(text) <= inline_bytes for text in texts) and (
        sum(len(text.encode()) for text in texts) <= inline_bytes
    ):
        return Detached(message, {})
    update: dict[str, Any] = {}
    contents: dict[str, bytes] = {}
    doc_id = getattr(message, "doc_id", "")
    known = {id(item.value): item.ref for item in held}
    for name, empty in fields.items():
        value = getattr(message, name)
        if value == empty or getattr(message, f"{name}_ref") is not None:
            continue
        ref = known.get(id(value))
        if ref is None:
            data = _adapter(type(message), name).dump_json(value)
            key = f"{key_prefix}:{doc_id}:{hashlib.sha256(data).hexdigest()[:32]}"
            contents[key] = data
            ref = ContentRef(key=key, size_bytes=len(data))
        update[name] = empty
        update[f"{name}_ref"] = ref
    return Detached(message.model_copy(update=update), contents)


def references(message: BaseModel) -> list[ContentRef]:
    """The contents a message refers to, those of the message a dead letter carries included."""
    refs = (getattr(message, f"{name}_ref") for name in fields_by_reference(type(message)))
    return [ref for ref in refs if ref is not None] + payload_references(getattr(message, "payload", None))


def payload_references(payload: Any) -> list[ContentRef]:
    """The contents the raw message `payload` refers to: a dead letter keeps them counted, as any
    message does, until the store has put them in the letter's row."""
    if not isinstance(payload, dict):
        return []
    return [
        ContentRef(key=value["key"], size_bytes=value.get("size_bytes", 0))
        for value in _raw_references(payload)
        if isinstance(value.get("size_bytes", 0), int)
    ]


def with_contents(payload: dict[str, Any], contents: Mapping[str, bytes]) -> dict[str, Any]:
    """The raw message `payload` with each field it refers to put back from `contents` (key → JSON);
    a reference whose content is not there is left as it is."""
    inlined = dict(payload)
    for name, value in payload.items():
        if not (name.endswith("_ref") and isinstance(value, dict) and value.get("key") in contents):
            continue
        inlined[name.removesuffix("_ref")] = json.loads(contents[value["key"]])
        del inlined[name]
    return inlined


def _raw_references(raw: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        value
        for name, value in raw.items()
        if name.endswith("_ref") and isinstance(value, dict) and isinstance(value.get("key"), str)
    ]


def resolved(message: ContractT, contents: Mapping[str, bytes]) -> ContractT:
    """The message with every referenced field put back from `contents` (key → JSON)."""
    update: dict[str, Any] = {}
    for name in referenced_fields(message):
        ref: ContentRef = getattr(message, f"{name}_ref")
        update[name] = field_value(message, name, contents.get(ref.key))
        update[f"{name}_ref"] = None
    return message.model_copy(update=update) if update else message


def referenced_fields(message: BaseModel) -> list[str]:
    """The names of the fields a message carries by reference."""
    names = fields_by_reference(type(message))
    return [name for name in names if getattr(message, f"{name}_ref") is not None]


def field_value(message: BaseModel, name: str, data: bytes | str | None) -> Any:
    """The value of the referenced field `name` from its JSON; MissingContent if it was not found."""
    if data is None:
        ref: ContentRef = getattr(message, f"{name}_ref")
        raise MissingContent(f"the {name} of this document ({ref.key}) is no longer kept")
    return _adapter(type(message), name).validate_json(data)


def referenced_keys(raw: Any) -> list[str]:
    """The content keys a raw message names, valid or not (so that its contents are released with it),
    those of the message a dead letter carries included."""
    if not isinstance(raw, dict):
        return []
    payload = raw.get("payload")
    carried = _raw_references(payload) if isinstance(payload, dict) else []
    return [value["key"] for value in _raw_references(raw) + carried]


def document_bytes(raw: Any) -> int:
    """About how many bytes of content a raw message brings, inline or by reference."""
    if not isinstance(raw, dict):
        return 0
    size = 0
    for name, value in raw.items():
        if isinstance(value, str):
            size += len(value.encode())
        elif name.endswith("_ref") and isinstance(value, dict) and isinstance(value.get("size_bytes"), int):
            size += value["size_bytes"]
    return size


def smallest_first(sizes: Sequence[int], max_bytes: int) -> list[list[int]]:
    """Positions of a batch, grouped into sub-batches of at most `max_bytes` (a larger one alone).

    Smallest first: documents read together with a large one are handed on before it.
    """
    groups: list[list[int]] = []
    total = 0
    for position in sorted(range(len(sizes)), key=sizes.__getitem__):
        if groups and groups[-1] and total + sizes[position] <= max_bytes:
            groups[-1].append(position)
            total += sizes[position]
        else:
            groups.append([position])
            total = sizes[position]
    return groups
