"""Recognise a file's format from its bytes and name, and pull the text out of HTML, DOCX and PDF."""

from __future__ import annotations

import io
import itertools
import re
import zipfile
from pathlib import PurePath

HTML_EXTENSIONS = frozenset({".html", ".htm", ".xhtml", ".shtml"})

_DROP_AS_TEXT = "drop the report's text as .txt or .docx instead"
# Magic numbers of formats we cannot read, with what would work instead.
_UNSUPPORTED_MAGIC: tuple[tuple[bytes, str], ...] = (
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        f"legacy Office file (.doc/.xls/.ppt); save it as .docx or {_DROP_AS_TEXT}",
    ),
    (b"{\\rtf", f"RTF document; save it as .docx or {_DROP_AS_TEXT}"),
    (b"\x89PNG\r\n\x1a\n", f"PNG image; run OCR first or {_DROP_AS_TEXT}"),
    (b"\xff\xd8\xff", f"JPEG image; run OCR first or {_DROP_AS_TEXT}"),
    (b"GIF87a", f"GIF image; run OCR first or {_DROP_AS_TEXT}"),
    (b"GIF89a", f"GIF image; run OCR first or {_DROP_AS_TEXT}"),
    (b"II*\x00", f"TIFF image; run OCR first or {_DROP_AS_TEXT}"),
    (b"MM\x00*", f"TIFF image; run OCR first or {_DROP_AS_TEXT}"),
    (b"\x1f\x8b", "gzip archive; unpack it and drop the files one by one"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive; unpack it and drop the files one by one"),
    (b"Rar!\x1a\x07", "RAR archive; unpack it and drop the files one by one"),
)
_HTML_START = re.compile(rb"^\s*<(?:!doctype\s+html|html|head|body|meta|div|p|article)\b", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_HEAD_LINES = 10
_SCANNED_PDF = "scanned PDF has no text layer; run OCR first or drop the text as .txt"


class UnsupportedFormat(ValueError):
    """The bytes are in a format we do not read; str(exc) says what would work instead."""


def sniff_format(raw: bytes, file_name: str) -> str:
    """Return 'pdf', 'docx', 'html' or 'txt', trusting the bytes over the extension."""
    extension = PurePath(file_name).suffix.lower()
    head = raw[:8]
    if raw[:1024].lstrip().startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return _sniff_zip(raw)
    for magic, reason in _UNSUPPORTED_MAGIC:
        if head.startswith(magic):
            raise UnsupportedFormat(reason)
    if raw[:12].startswith(b"RIFF") and raw[8:12] == b"WEBP":
        raise UnsupportedFormat(f"WebP image; run OCR first or {_DROP_AS_TEXT}")
    if extension == ".pdf":
        raise UnsupportedFormat("named .pdf but not a PDF file (no %PDF header)")
    if extension in {".docx", ".xlsx", ".pptx", ".zip"}:
        raise UnsupportedFormat(f"named {extension} but not a ZIP container; the file is damaged")
    if extension in HTML_EXTENSIONS or _HTML_START.match(_without_bom(raw[:2048])):
        return "html"
    return "txt"


def declared_charset(html: bytes) -> str | None:
    """The charset an HTML page declares in a <meta> tag, if any."""
    match = _META_CHARSET.search(html[:4096])
    return match.group(1).decode("ascii") if match else None


def html_main_text(html: str) -> str:
    """The article text of a web page, one paragraph a line, without navigation, scripts or footers.

    The headline and date, which trafilatura files as metadata, head the text when the page shows
    them: the extractor reads a report's title and date from its first lines.
    """
    import trafilatura  # imported where used: loading it costs a tenth of a second

    text = trafilatura.extract(
        html,
        output_format="txt",
        include_comments=False,
        include_tables=True,
        include_images=False,
        include_links=False,
        favor_recall=True,
        deduplicate=False,
    )
    if not text:
        return ""
    metadata = trafilatura.extract_metadata(html)
    if metadata is None:
        return text
    body = html[max(0, html.lower().find("<body")) :]
    # The lines above the first sentence; trafilatura may move an info bar below the article.
    top = "\n".join(itertools.takewhile(lambda line: "。" not in line, text.split("\n")[:_HEAD_LINES]))
    # Only what the reader sees verbatim: a headline that is a whole element of the page (not the
    # <title> alone), a date as the page writes it.
    head = []
    if metadata.title and f">{metadata.title}<" in body and metadata.title not in top:
        head.append(metadata.title)
    if metadata.date and metadata.date in body and metadata.date not in top:
        head.append(metadata.date)
    return "\n".join([*head, text])


def docx_text(raw: bytes) -> str:
    """The body text of a Word document, paragraphs and table rows in reading order."""
    import docx  # imported where used, like every format library
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(raw))
    except Exception as exc:  # python-docx raises KeyError, ValueError, lxml errors... for broken packages
        raise UnsupportedFormat(
            f"damaged .docx ({type(exc).__name__}); re-save it in Word or drop it as .txt"
        ) from exc
    lines: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            for row in block.rows:
                cells = dict.fromkeys(cell.text.strip() for cell in row.cells)  # merged cells repeat
                lines.append("\t".join(cell for cell in cells if cell))
        else:
            lines.append(block.text)
    return "\n".join(lines)


def pdf_text(raw: bytes) -> str:
    """The text layer of a PDF, page after page."""
    import pypdf  # imported where used, like every format library
    from pypdf.errors import PdfReadError

    try:
        reader = pypdf.PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnsupportedFormat("password-protected PDF; remove the password or drop the text as .txt")
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise UnsupportedFormat(f"damaged PDF ({exc}); re-export it or drop the text as .txt") from exc
    text = "\n".join(pages)
    if sum(not ch.isspace() for ch in text) < 10 * max(1, len(pages)):
        raise UnsupportedFormat(_SCANNED_PDF)
    return text


def _sniff_zip(raw: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile as exc:
        raise UnsupportedFormat(f"damaged ZIP container ({exc})") from exc
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        raise UnsupportedFormat(f"Excel workbook; reports are read as text: {_DROP_AS_TEXT}")
    if "ppt/presentation.xml" in names:
        raise UnsupportedFormat(f"PowerPoint presentation; {_DROP_AS_TEXT}")
    if "content.xml" in names:
        raise UnsupportedFormat(f"OpenDocument file; save it as .docx or {_DROP_AS_TEXT}")
    raise UnsupportedFormat("ZIP archive; unpack it and drop the files one by one")


def _without_bom(head: bytes) -> bytes:
    for bom in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):
        if head.startswith(bom):
            head = head[len(bom) :]
    return head.replace(b"\x00", b"")  # UTF-16 markup sniffs like ASCII once the NULs go
