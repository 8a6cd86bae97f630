"""Every read, create and move ingest does under the inbox, none of them through a link it did not make.

Whoever can drop files in the inbox can also plant symbolic links in it, in done/ and in failed/,
or make done/ itself a link. So the inbox and its two folders are opened as directories (the
folders with O_NOFOLLOW) and everything else is relative to those descriptors: each name is one
path component, a document is opened with O_NOFOLLOW, the error file is created with
O_EXCL|O_NOFOLLOW, and a move never replaces an existing name (rename itself never follows a link).
A place folder (inbox/老河口市/) and its counterparts done/老河口市/ and failed/老河口市/ are opened
the same way, relative to the folder above them, so a link planted at any of them is never entered.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import itertools
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType

from services.ingest.file_facts import SIDECAR_SUFFIX
from services.ingest.inbox import DONE_DIR, ERROR_SUFFIX, FAILED_DIR, check_plain_name, destination_names
from services.ingest.readers import UnreadableDocument

_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO dropped in the inbox must not hang the watcher (no effect on files).
_DOCUMENT = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
# Enough for any honest run of same-named files; a folder flooded with planted names is refused.
_MAX_CANDIDATES = 10_000


class UnsafeFolder(Exception):
    """done/ or failed/ is a link or not a folder, so nothing is written there; str() says what to do."""


class Replaced(Exception):
    """The name no longer holds the file as it was read (replaced or changed): it waits for a later scan."""


class InboxFolders:
    """The inbox, done/ and failed/ opened as directories, for the length of one scan."""

    def __init__(self, inbox: Path) -> None:
        self.inbox = inbox
        with contextlib.ExitStack() as opened:
            # The inbox path is the operator's setting: links along it are theirs, so they are followed.
            self.inbox_fd = os.open(inbox, _FOLDER)
            opened.callback(os.close, self.inbox_fd)
            self.done_fd = self._subfolder(DONE_DIR)
            opened.callback(os.close, self.done_fd)
            self.failed_fd = self._subfolder(FAILED_DIR)
            opened.callback(os.close, self.failed_fd)
            self._opened = opened.pop_all()
        # Place folders' descriptors, opened when first needed in this scan; "" is the inbox itself.
        self._sources = {"": self.inbox_fd}
        self._destinations = {(DONE_DIR, ""): self.done_fd, (FAILED_DIR, ""): self.failed_fd}

    def _subfolder(self, name: str, parent: str = "") -> int:
        """The folder inbox/parent/name, made if missing; UnsafeFolder if it is a link or not a folder."""
        parent_fd = self._destinations[(parent, "")] if parent else self.inbox_fd
        try:
            # mkdirat never follows a link at `name`: an existing link makes it fail, the open refuses it.
            with contextlib.suppress(FileExistsError):
                os.mkdir(check_plain_name(name), dir_fd=parent_fd)
            return os.open(name, _FOLDER | os.O_NOFOLLOW, dir_fd=parent_fd)
        except OSError as exc:
            raise UnsafeFolder(self._why_unusable(parent_fd, Path(parent, name), exc)) from None

    def _why_unusable(self, parent_fd: int, shown: Path, exc: OSError) -> str:
        path, name = self.inbox / shown, shown.name
        try:
            is_link = stat.S_ISLNK(os.stat(name, dir_fd=parent_fd, follow_symlinks=False).st_mode)
        except OSError:
            is_link = False
        if is_link:
            target = os.readlink(name, dir_fd=parent_fd)
            what = f"{path} is a symbolic link (to {target}), not a folder"
        elif exc.errno == errno.ENOTDIR:
            what = f"{path} is not a folder"
        else:
            what = f"{path} cannot be made or opened ({exc.strerror})"
        if shown.parent.name:  # done/老河口市 holds back only the files of inbox/老河口市
            waiting = f"the files of {self.inbox / name} wait there"
        else:
            waiting = "files wait in the inbox"
        return f"{what}: ingest writes only into a real folder it opened itself; {waiting}"

    def close(self) -> None:
        self._opened.close()

    def __enter__(self) -> InboxFolders:
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.close()

    def _source(self, folder: str) -> int:
        """inbox/folder, opened once per scan; FileNotFoundError if it is gone or no longer a folder."""
        if folder not in self._sources:
            try:
                fd = os.open(check_plain_name(folder), _FOLDER | os.O_NOFOLLOW, dir_fd=self.inbox_fd)
            except OSError as exc:
                if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
                    raise FileNotFoundError(errno.ENOENT, "not a folder any more", folder) from None
                raise
            self._opened.callback(os.close, fd)
            self._sources[folder] = fd
        return self._sources[folder]

    def _destination(self, kind: str, folder: str) -> int:
        if (kind, folder) not in self._destinations:
            fd = self._subfolder(folder, parent=kind)
            self._opened.callback(os.close, fd)
            self._destinations[(kind, folder)] = fd
        return self._destinations[(kind, folder)]

    def prepare_destinations(self, folder: str) -> None:
        """Make done/folder and failed/folder ready; UnsafeFolder, writing nothing, if either cannot be."""
        self._destination(DONE_DIR, folder)
        self._destination(FAILED_DIR, folder)

    def entries(self, folder: str = "") -> list[tuple[str, os.stat_result]]:
        """What inbox/folder holds, by name, each as it is (a link's own status, never its target's)."""
        found = []
        # An fd, not a path: were the folder swapped for a link, the listing would still be of this one.
        with os.scandir(self._source(folder)) as listing:
            for entry in listing:
                with contextlib.suppress(FileNotFoundError):
                    found.append((entry.name, entry.stat(follow_symlinks=False)))
        return sorted(found, key=lambda found_entry: found_entry[0])

    def look(self, name: str, *, folder: str = "") -> os.stat_result:
        """What is at inbox/folder/name, without following a link; FileNotFoundError if nothing."""
        return os.stat(check_plain_name(name), dir_fd=self._source(folder), follow_symlinks=False)

    def read(self, name: str, seen: os.stat_result, max_bytes: int, *, folder: str = "") -> bytes:
        """The bytes of inbox/folder/name, which must still be the regular file `seen` was taken of.

        UnreadableDocument says why a file cannot be read; FileNotFoundError means it is gone or was
        replaced since it was seen (a new file there is taken at a later scan).
        """
        if stat.S_ISLNK(seen.st_mode):
            raise UnreadableDocument(self._link_reason(name, folder))
        if not stat.S_ISREG(seen.st_mode):
            raise UnreadableDocument("not a regular file (a folder, device or pipe)")
        try:
            fd = os.open(check_plain_name(name), _DOCUMENT, dir_fd=self._source(folder))
        except FileNotFoundError:
            raise
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.EMLINK):  # a link since it was seen: look again later
                raise FileNotFoundError(errno.ENOENT, "replaced by a link", name) from None
            raise UnreadableDocument(f"cannot read: {exc.strerror or exc}") from None
        with open(fd, "rb") as source:
            opened = os.fstat(fd)
            if not _same_file(opened, seen):
                raise FileNotFoundError(errno.ENOENT, "replaced while being read", name)
            if opened.st_size > max_bytes:
                raise UnreadableDocument(f"file is {opened.st_size} bytes, over the {max_bytes}-byte limit")
            try:
                raw = source.read(max_bytes + 1)  # it may have grown since fstat
            except OSError as exc:
                raise UnreadableDocument(f"cannot read: {exc.strerror or exc}") from None
        if len(raw) > max_bytes:
            raise UnreadableDocument(f"file is over the {max_bytes}-byte limit")
        return raw

    def _link_reason(self, name: str, folder: str) -> str:
        target = os.readlink(name, dir_fd=self._source(folder))
        # Only to word the reason: the link itself is never followed.
        resolved = Path(os.path.realpath(self.inbox / folder / name))
        if not resolved.is_relative_to(os.path.realpath(self.inbox)):
            return f"symbolic link to {resolved}, outside the inbox: not followed"
        return f"symbolic link to {target}: links are not followed, drop the file itself"

    def move_to_done(
        self, name: str, seen: os.stat_result, *, folder: str = "", sidecar: bool = False
    ) -> str:
        """Move inbox/folder/name (the link itself, if it is one) into done/folder under a free name.

        With `sidecar`, the name is one whose `.meta.json` is free too, for the sidecar to follow.
        Returns the name taken.
        """
        return self._move(name, seen, folder, DONE_DIR, _candidates(name, sidecar), None, sidecar)

    def move_to_failed(
        self, name: str, seen: os.stat_result, reason: str, *, folder: str = "", sidecar: bool = False
    ) -> str:
        """Move inbox/folder/name into failed/folder, beside `<new name>.error.txt` with the reason."""
        return self._move(name, seen, folder, FAILED_DIR, _candidates(name, sidecar), reason, sidecar)

    def move_sidecar(
        self,
        name: str,
        seen: os.stat_result,
        *,
        beside: str,
        folder: str = "",
        failed: bool = False,
        reason: str | None = None,
    ) -> str:
        """Move a sidecar into done/folder (or failed/folder) as `<beside>.meta.json`, its document's new
        name, or the next free name like it; with a reason, an error file is written beside it."""
        names = (candidate + SIDECAR_SUFFIX for candidate in _candidates(beside, True))
        return self._move(name, seen, folder, FAILED_DIR if failed else DONE_DIR, names, reason, False)

    def _move(
        self,
        name: str,
        seen: os.stat_result,
        folder: str,
        kind: str,
        candidates: Iterator[str],
        reason: str | None,
        with_sidecar: bool,
    ) -> str:
        self._check_unchanged(name, seen, folder)
        source, destination = self._source(folder), self._destination(kind, folder)
        for candidate in candidates:
            # Only a hint for the sidecar's name (it may still be taken before it moves, then it takes
            # the next one): nothing is written here but by a rename that never replaces.
            if with_sidecar and _exists(destination, candidate + SIDECAR_SUFFIX):
                continue
            if reason is None:
                with contextlib.suppress(FileExistsError):
                    rename_noreplace(source, name, destination, candidate)
                    return candidate
                continue
            error_name = candidate + ERROR_SUFFIX
            try:
                fd = os.open(error_name, _NEW_FILE, 0o666, dir_fd=destination)
            except FileExistsError:  # anything there, a dangling link included, is not ours to write
                continue
            try:
                with open(fd, "w", encoding="utf-8") as sink:
                    sink.write(reason + "\n")
                rename_noreplace(source, name, destination, candidate)
                return candidate
            except FileExistsError:  # the file's name is taken there: both move on to the next one
                _remove(destination, error_name)
            except BaseException:
                _remove(destination, error_name)
                raise
        raise _too_many(name)

    def _check_unchanged(self, name: str, seen: os.stat_result, folder: str) -> None:
        if not _same_file(self.look(name, folder=folder), seen):
            raise Replaced(f"{name} was replaced after it was read")


def _candidates(name: str, sidecar: bool) -> Iterator[str]:
    names = destination_names(name, room=len(SIDECAR_SUFFIX) if sidecar else 0)
    return itertools.islice(names, _MAX_CANDIDATES)


def _exists(folder_fd: int, name: str) -> bool:
    try:
        os.stat(name, dir_fd=folder_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def _remove(folder_fd: int, name: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(name, dir_fd=folder_fd)


def _too_many(name: str) -> FileExistsError:
    return FileExistsError(errno.EEXIST, f"{_MAX_CANDIDATES} names like it are taken", name)


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    # Not the inode alone: a file deleted and replaced at once often gets its inode number back.
    def identity(s: os.stat_result) -> tuple[int, ...]:
        return (s.st_dev, s.st_ino, s.st_mode, s.st_size, s.st_mtime_ns, s.st_ctime_ns)

    return identity(a) == identity(b)


RENAME_NOREPLACE = 1  # from <linux/fs.h>


def _libc_renameat2() -> Callable[[int, bytes, int, bytes, int], int] | None:
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # not Linux, or a libc without it
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


_renameat2 = _libc_renameat2()


def rename_noreplace(src_dir_fd: int, src: str, dst_dir_fd: int, dst: str) -> None:
    """Rename a folder entry into another folder; FileExistsError, not a replacement, if `dst` exists.

    Neither name is followed if it is a link: a link at `src` is moved itself.
    """
    check_plain_name(src)
    check_plain_name(dst)
    if _renameat2 is not None:
        if _renameat2(src_dir_fd, os.fsencode(src), dst_dir_fd, os.fsencode(dst), RENAME_NOREPLACE) == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):  # else the filesystem lacks the flag
            raise OSError(code, os.strerror(code), src, None, dst)
    # Check, then rename: a name made in between would be replaced, but never written through.
    try:
        os.stat(dst, dir_fd=dst_dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        os.rename(src, dst, src_dir_fd=src_dir_fd, dst_dir_fd=dst_dir_fd)
        return
    raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), dst)
