"""Putting a failed file back into the inbox, for `wenming dlq replay` of an ingest dead letter.

Ingest moved the file into failed/ (or failed/<folder>/) under the first free name like its own, beside
`<that name>.error.txt` holding the reason, and published the dead letter before the move, so the
letter names the file as it was in the inbox. The file to put back is the one in failed/ whose name
is one of those ingest gives it, whose error file (which ingest created) holds the letter's reason,
and, when the letter names the document, whose bytes are that document. A name that is not UTF-8 is
matched as the letter shows it, and the file goes back under that readable name. As ingest itself, this goes
through descriptors of folders opened without following links (services/ingest/folders.py): a link
in failed/ is never followed, and never moved back. Nothing is made: a folder that is not an inbox
stays as it was.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from services.ingest.file_facts import SIDECAR_SUFFIX
from services.ingest.folders import rename_noreplace
from services.ingest.inbox import ERROR_SUFFIX, FAILED_DIR, check_plain_name, destination_names, display_name

_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_DOCUMENT = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
# An error file holds one reason: anything larger was not written by ingest.
_ERROR_FILE_MAX_BYTES = 64 * 1024


class NotRestorable(Exception):
    """The file cannot be put back; str() says why."""


@dataclass(frozen=True)
class Restored:
    """Where the file was put back, under the inbox, and whether its sidecar came with it."""

    path: str
    sidecar: bool


def restore_failed(inbox: Path, file_name: str, reason: str, doc_id: str | None) -> Restored:
    """Move the file a dead letter of ingest names from failed/ back to where it was dropped, remove
    its error file, and bring back the sidecar that followed it; NotRestorable says why not."""
    folder, _, name = file_name.rpartition("/")
    if name.endswith(SIDECAR_SUFFIX):
        raise NotRestorable(
            f"{file_name} is a sidecar: drop a corrected one beside its document, and the document again"
        )
    try:
        with _opened(inbox, folder) as (failed, source):
            candidate = _find(failed, name, reason, doc_id, shown=Path(FAILED_DIR, folder))
            sidecar = candidate + SIDECAR_SUFFIX
            moved_sidecar = _is_regular(failed, sidecar) and not _exists(failed, sidecar + ERROR_SUFFIX)
            # Both names free before anything moves: a sidecar alone in the inbox would be applied to
            # whatever document took its name there.
            for target in (name, name + SIDECAR_SUFFIX) if moved_sidecar else (name,):
                if _exists(source, target):
                    raise NotRestorable(_taken(inbox / folder / target))
            # The sidecar first: ingest takes a document only once its sidecar, if any, has settled.
            if moved_sidecar:
                _move_back(failed, sidecar, source, name + SIDECAR_SUFFIX, inbox / folder)
            try:
                _move_back(failed, candidate, source, name, inbox / folder)
            except BaseException:
                if moved_sidecar:  # the name was taken meanwhile: the sidecar goes back to failed/ too
                    rename_noreplace(source, name + SIDECAR_SUFFIX, failed, sidecar)
                raise
            with contextlib.suppress(FileNotFoundError):
                os.unlink(candidate + ERROR_SUFFIX, dir_fd=failed)
    except ValueError as exc:  # not one plain file name
        raise NotRestorable(str(exc)) from None
    except OSError as exc:
        raise NotRestorable(f"{inbox / FAILED_DIR / file_name}: {exc.strerror or exc}") from None
    return Restored(file_name, moved_sidecar)


@contextlib.contextmanager
def _opened(inbox: Path, folder: str) -> Iterator[tuple[int, int]]:
    """failed/folder and inbox/folder, opened without making anything or following a link there."""
    with contextlib.ExitStack() as opened:

        def enter(name: str, parent: int, shown: Path, missing: str) -> int:
            try:
                fd = os.open(check_plain_name(name), _FOLDER | os.O_NOFOLLOW, dir_fd=parent)
            except OSError as exc:
                if _is_link(parent, name):
                    raise NotRestorable(f"{shown} is a symbolic link: nothing is moved through it") from None
                if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                    raise NotRestorable(missing) from None
                raise
            opened.callback(os.close, fd)
            return fd

        not_an_inbox = f"{inbox} is not an inbox (no {FAILED_DIR}/ folder)"
        try:
            # The inbox path is the operator's: links along it are theirs, so they are followed.
            inbox_fd = os.open(inbox, _FOLDER)
        except OSError:
            raise NotRestorable(not_an_inbox) from None
        opened.callback(os.close, inbox_fd)
        failed = enter(FAILED_DIR, inbox_fd, inbox / FAILED_DIR, not_an_inbox)
        source = inbox_fd
        if folder:
            shown = inbox / FAILED_DIR / folder
            failed = enter(folder, failed, shown, f"no {shown} folder (moved or removed since)")
            source = enter(
                folder, inbox_fd, inbox / folder, f"no {inbox / folder} folder: make it again, then replay"
            )
        yield failed, source


def _find(failed: int, name: str, reason: str, doc_id: str | None, *, shown: Path) -> str:
    """The name in failed/ of the file the letter is about."""
    names = _names_like(name)
    # A name that is not UTF-8 is in the letter as ingest showed it: matched as shown.
    candidates = sorted(
        (n for n, _ in _entries(failed) if names.match(n) or names.match(display_name(n))), key=_number
    )
    if not candidates:
        raise NotRestorable(f"no {name} in {shown} (moved or removed since)")
    for candidate in candidates:
        if _error_reason(failed, candidate + ERROR_SUFFIX) != reason.strip():
            continue
        mode = os.stat(candidate, dir_fd=failed, follow_symlinks=False).st_mode
        if stat.S_ISLNK(mode):
            raise NotRestorable(
                f"{shown / candidate} is a symbolic link: not moved back; drop the file itself"
            )
        if not stat.S_ISREG(mode):
            continue
        if doc_id is None or _digest(failed, candidate) == doc_id:
            return candidate
    raise NotRestorable(f"no {name} in {shown} failed for this reason (moved, replaced or replayed since)")


def _names_like(name: str) -> re.Pattern[str]:
    """The names ingest may have given the file in failed/: its own (shortened to fit), then -2, -3..."""
    firsts = {next(destination_names(name)), next(destination_names(name, room=len(SIDECAR_SUFFIX)))}
    choices = "|".join(
        re.escape(Path(first).stem) + r"(?:-\d+)?" + re.escape(Path(first).suffix) for first in firsts
    )
    return re.compile(rf"^(?:{choices})$")


def _number(name: str) -> tuple[int, str]:
    found = re.search(r"-(\d+)(?:\.[^.]*)?$", name)
    return (int(found.group(1)) if found else 1, name)


def _entries(folder: int) -> list[tuple[str, os.stat_result]]:
    with os.scandir(folder) as listing:
        return [(entry.name, entry.stat(follow_symlinks=False)) for entry in listing]


def _error_reason(folder: int, name: str) -> str | None:
    """The reason in an error file ingest wrote; None if there is none, or it is not a plain file."""
    try:
        fd = os.open(name, _DOCUMENT, dir_fd=folder)
    except OSError:
        return None
    with open(fd, "rb") as source:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return source.read(_ERROR_FILE_MAX_BYTES).decode("utf-8", "replace").strip()


def _digest(folder: int, name: str) -> str:
    hashed = hashlib.sha256()
    with open(os.open(name, _DOCUMENT, dir_fd=folder), "rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            hashed.update(block)
    return hashed.hexdigest()


def _is_link(folder: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _is_regular(folder: int, name: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode)
    except FileNotFoundError:
        return False


def _exists(folder: int, name: str) -> bool:
    try:
        os.stat(name, dir_fd=folder, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def _move_back(failed: int, name: str, source: int, original: str, shown: Path) -> None:
    try:
        rename_noreplace(failed, name, source, original)
    except OSError as exc:
        if isinstance(exc, FileExistsError) or exc.errno == errno.EEXIST:
            raise NotRestorable(_taken(shown / original)) from None
        raise


def _taken(path: Path) -> str:
    return f"{path} exists: not replaced; move it away first"
