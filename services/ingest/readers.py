"""Decode an inbox file's bytes into text (pure: no I/O beyond the bytes given)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.ingest.encodings import UndecodableText, decode_text
from services.ingest.formats import (
    UnsupportedFormat,
    declared_charset,
    docx_text,
    html_main_text,
    pdf_text,
    sniff_format,
)

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
# Text extracted from a container is Unicode already: no byte encoding was guessed.
CONTAINER_ENCODING = "n/a"

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


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
        document = _decode(raw, file_name)
    except (UnsupportedFormat, UndecodableText) as exc:
        raise UnreadableDocument(str(exc)) from exc
    _check_text(document)
    return document


def _decode(raw: bytes, file_name: str) -> DecodedDocument:
    file_format = sniff_format(raw, file_name)
    if file_format == "pdf":
        return DecodedDocument(pdf_text(raw), CONTAINER_ENCODING, file_format)
    if file_format == "docx":
        return DecodedDocument(docx_text(raw), CONTAINER_ENCODING, file_format)
    if file_format == "html":
        page = decode_text(raw, declared=declared_charset(raw))
        return DecodedDocument(html_main_text(page.text), page.encoding, file_format)
    decoded = decode_text(raw)
    return DecodedDocument(decoded.text, decoded.encoding, file_format)


def _check_text(document: DecodedDocument) -> None:
    text = document.text
    if not text.strip():
        where = "web page has no main text" if document.format == "html" else "no text in the file"
        raise UnreadableDocument(where)
    controls = len(_CONTROL.findall(text))
    if controls > max(2, len(text) // 200):
        raise UnreadableDocument(f"binary content: {controls} control characters in {len(text)} decoded")
    if not _HAN.search(text):
        raise UnreadableDocument(f"no Chinese text in the {document.format} file ({document.encoding})")
