"""Inbox rules: which files to take, when a file is complete, where it goes afterwards.

A document lies in the inbox itself or in one of its first-level folders (a folder named after a place
gives its documents that place); a `<name>.meta.json` sidecar beside a document is never a document.
"""

from __future__ import annotations

import fnmatch
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ERROR_SUFFIX = ".error.txt"
IGNORED_PATTERNS = (".*", "*.part", "*.tmp", "~*", "*.crdownload", f"*{ERROR_SUFFIX}")
DONE_DIR = "done"
FAILED_DIR = "failed"


def is_ignored(name: str) -> bool:
    """Hidden, temporary and half-downloaded files are not documents (yet)."""
    return any(fnmatch.fnmatch(name, pattern) for pattern in IGNORED_PATTERNS)


def is_scanned(name: str) -> bool:
    """Whether an entry of the inbox itself is looked at: a file, or a folder whose files are documents.

    done/ and failed/ are not, nor hidden or temporary names (a folder still being copied as `*.part`).
    """
    return name not in (DONE_DIR, FAILED_DIR) and not is_ignored(name)


@dataclass(frozen=True, order=True)
class InboxFile:
    """A file in the inbox itself (folder "") or in one of its first-level folders."""

    folder: str
    name: str

    @property
    def path(self) -> str:
        """Its path under the inbox: how claims, logs and messages name it."""
        return f"{self.folder}/{self.name}" if self.folder else self.name

    def beside(self, name: str) -> InboxFile:
        """Another file in the same folder."""
        return InboxFile(self.folder, name)


@dataclass
class _Observation:
    size: int
    mtime_ns: int
    unchanged_since: float


@dataclass
class StabilityTracker:
    """A file is taken once its size and mtime have not changed for `min_age` seconds."""

    min_age: float
    _seen: dict[str, _Observation] = field(default_factory=dict)

    def is_stable(self, key: str, *, size: int, mtime_ns: int, now: float) -> bool:
        """Record what the file looks like now; True once it has looked so for long enough."""
        seen = self._seen.get(key)
        if seen is None or (seen.size, seen.mtime_ns) != (size, mtime_ns):
            self._seen[key] = _Observation(size, mtime_ns, now)
            return self.min_age == 0
        return now - seen.unchanged_since >= self.min_age

    def unchanged_since(self, key: str) -> float | None:
        """When the file was first seen as it is now (the clock of `now`), if it is being watched."""
        seen = self._seen.get(key)
        return seen.unchanged_since if seen else None

    def forget(self, key: str) -> None:
        self._seen.pop(key, None)

    def retain_only(self, keys: set[str]) -> None:
        """Drop files that left the inbox by other means."""
        for key in set(self._seen) - keys:
            del self._seen[key]

    @property
    def waiting(self) -> bool:
        return bool(self._seen)

    def next_due(self, now: float) -> float | None:
        """Seconds until the first file still settling has looked the same for `min_age`, if it stays
        so; None when none is settling."""
        settling = [
            seen.unchanged_since + self.min_age - now
            for seen in self._seen.values()
            if now - seen.unchanged_since < self.min_age
        ]
        return max(0.0, min(settling)) if settling else None


# Room for "-NN" and the ".error.txt" written beside a failed file, within the usual 255-byte limit.
_NAME_BYTES = 255 - len("-99" + ERROR_SUFFIX)


def display_name(name: str) -> str:
    """A file's name as messages and letters give it: one that is not valid UTF-8 is kept readable
    (its stray bytes as U+FFFD) rather than rejected."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def check_plain_name(name: str) -> str:
    """`name` itself, if it names an entry of one folder: no "/", ".", ".." or NUL can lead elsewhere."""
    if not name or name in (".", "..") or "/" in name or "\0" in name:
        raise ValueError(f"{name!r} is not a plain file name")
    return name


def destination_names(name: str, *, room: int = 0) -> Iterator[str]:
    """`name`, then `stem-2.ext`, `stem-3.ext`, ...: the names a file may take in done/ or failed/.

    Names too long to take a suffix are shortened, keeping their extension; `room` bytes more are
    kept free for a name that follows it (a sidecar's `.meta.json`).
    """
    check_plain_name(name)
    stem, suffix = Path(name).stem, Path(name).suffix
    while len(os.fsencode(stem + suffix)) > _NAME_BYTES - room and stem:
        stem = stem[:-1]
    yield f"{stem}{suffix}"
    for n in itertools.count(2):
        yield f"{stem}-{n}{suffix}"
