"""Generate many kinds of unusable inbox files, as analysts really produce them."""

from __future__ import annotations

import gzip
import io
import os
import zipfile
from collections.abc import Callable
from pathlib import Path


def _zip(*members: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member in members:
            archive.writestr(member, "<x/>")
    return buffer.getvalue()


def _kinds(max_bytes: int) -> list[tuple[str, Callable[[int], bytes]]]:
    return [
        ("empty.txt", lambda n: b""),
        ("blank.txt", lambda n: b"\n \r\n\t" * (n % 5 + 1)),
        ("binary.bin", lambda n: bytes((i * 7 + n) % 256 for i in range(2048))),
        ("control.txt", lambda n: "文明".encode() + bytes(range(1, 9)) * (4 + n % 4)),
        ("english.txt", lambda n: f"Annual report number {n} of the civilisation office.".encode()),
        ("undecodable.txt", lambda n: b"\x81\x20\xfe\x20" * (50 + n)),
        ("figures.xlsx", lambda n: _zip("xl/workbook.xml", f"xl/sheet{n}.xml")),
        ("archive.zip", lambda n: _zip("a.txt", f"b{n}.txt")),
        ("scan.png", lambda n: b"\x89PNG\r\n\x1a\n" + bytes(64 + n)),
        ("scan.jpg", lambda n: b"\xff\xd8\xff\xe0" + bytes(64 + n)),
        ("old.doc", lambda n: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64 + n)),
        ("notes.rtf", lambda n: b"{\\rtf1\\ansi report " + str(n).encode() + b"}"),
        ("bundle.gz", lambda n: gzip.compress(f"报告{n}".encode())),
        ("damaged.pdf", lambda n: b"%PDF-1.4\n" + bytes(n) + b"%%EOF"),
        ("damaged.docx", lambda n: _zip("word/document.xml")),
        ("huge.txt", lambda n: "文明城市创建".encode() * (max_bytes // 18 + 10 + n)),
    ]


def write_bad_files(inbox: Path, outside: Path, *, count: int, max_bytes: int) -> list[str]:
    """Write `count` bad files (odd names and outward symbolic links among them); returns their names."""
    kinds = _kinds(max_bytes)
    odd_prefixes = [
        "",
        "报告 ",
        "名字 with spaces ",
        "emoji🙂",
        "semi;colon ",
        "quote'",
        "tab\t",
        "newline\n",
    ]
    names: list[str] = []
    for n in range(count):
        prefix = odd_prefixes[n % len(odd_prefixes)]
        if n % 25 == 24:  # a symbolic link to a readable Chinese file outside the inbox
            target = outside / f"secret-{n}.txt"
            target.write_text("外部文件，不应读取。", encoding="utf-8")
            name = f"{prefix}link-{n}.txt"
            (inbox / name).symlink_to(target)
        elif n % 25 == 23:  # a file name that is not valid UTF-8
            raw_name = os.fsencode(f"bad-name-{n}-") + b"\xff\xfe.txt"
            with open(os.path.join(os.fsencode(inbox), raw_name), "wb") as sink:
                sink.write(b"")
            name = os.fsdecode(raw_name)
        else:
            kind, make = kinds[n % len(kinds)]
            name = f"{prefix}{n:03d}-{kind}"
            (inbox / name).write_bytes(make(n))
        names.append(name)
    return names
