"""What comes with a file rather than in it: a `<file>.meta.json` sidecar, or a folder named after a place."""

from __future__ import annotations

import json
import logging
import re
from datetime import date
from pathlib import Path

from pydantic import ValidationError

from shared.contracts import FileFacts

SIDECAR_SUFFIX = ".meta.json"
# Three short fields: anything near this size is not a sidecar, and is not read whole.
SIDECAR_MAX_BYTES = 64 * 1024
_log = logging.getLogger(__name__)
# A folder named like a place ('老河口市', '深圳市福田区', '保定'): Chinese only, short; extract checks it.
_PLACE_FOLDER = re.compile(r"^[\u4e00-\u9fff]{2,20}$")


def sidecar_of(path: Path) -> Path:
    """Where a file's sidecar lies: `report.txt` → `report.txt.meta.json`."""
    return path.with_name(path.name + SIDECAR_SUFFIX)


def is_sidecar(path: Path) -> bool:
    """Whether a path is a sidecar rather than a document."""
    return path.name.endswith(SIDECAR_SUFFIX)


def parse_sidecar(raw: bytes) -> FileFacts:
    """A sidecar's facts; raises ValueError with a reason a person can act on."""
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"sidecar is not UTF-8 JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError('sidecar must hold a JSON object such as {"place": "老河口市"}')
    known = {key: data.get(key) for key in ("place", "source", "published_on") if data.get(key) is not None}
    try:
        if "published_on" in known:
            known["published_on"] = date.fromisoformat(str(known["published_on"])[:10])
        return FileFacts.model_validate(known)
    except (ValueError, ValidationError) as exc:
        raise ValueError(f"sidecar field not understood: {exc}") from None


def folder_place(folder: str) -> str | None:
    """The place a folder's name gives its files, if it is written like one."""
    return folder if _PLACE_FOLDER.match(folder) else None


def with_folder_place(facts: FileFacts | None, folder: str) -> FileFacts | None:
    """A sidecar's facts, with the folder's place when the sidecar names none; None if there are none."""
    facts = facts or FileFacts()
    if facts.place is None and (place := folder_place(folder)):
        facts = facts.model_copy(update={"place": place})
    return facts if facts != FileFacts() else None


def read_file_facts(path: Path, *, inbox: Path | None = None) -> FileFacts | None:
    """The file's sidecar facts, with the place from its folder when the sidecar names none.

    The folder counts when it is below `inbox` (or, without an inbox, the file's own folder) and is
    written in Chinese; an unreadable sidecar is logged and left out, never fatal.
    """
    facts = None
    sidecar = sidecar_of(path)
    if sidecar.is_file() and not sidecar.is_symlink():
        try:
            with sidecar.open("rb") as source:
                raw = source.read(SIDECAR_MAX_BYTES + 1)
            if len(raw) > SIDECAR_MAX_BYTES:
                raise ValueError(f"sidecar is over the {SIDECAR_MAX_BYTES}-byte limit")
            facts = parse_sidecar(raw)
        except (OSError, ValueError) as exc:
            _log.warning("%s: %s; the file is read without it", sidecar.name, exc)
    folder = path.parent
    below_inbox = inbox is None or (folder != inbox and folder.is_relative_to(inbox))
    return with_folder_place(facts, folder.name if below_inbox else "")
