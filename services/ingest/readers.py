"""Decode an inbox file's bytes into text (pure: no I/O beyond the bytes given)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_BYTES = 20 * 1024 * 1024


class UnreadableDocument(Exception):
    """The file cannot be turned into text; str(exc) is the one-line reason."""


@dataclass(frozen=True)
class DecodedDocument:
    text: str
    encoding: str
    format: str


def read_document(raw: bytes, file_name: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> DecodedDocument:
    """Decode raw file bytes to text, or raise UnreadableDocument with the reason."""
    if not raw:
        raise UnreadableDocument("empty file")
    if len(raw) > max_bytes:
        raise UnreadableDocument(f"file is {len(raw)} bytes, over the {max_bytes}-byte limit")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableDocument(f"not UTF-8 text: {exc}") from exc
    return DecodedDocument(text=text, encoding="utf-8", format="txt")
