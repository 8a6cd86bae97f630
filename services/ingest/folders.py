"""Every read, create and move ingest does under the inbox, none of them through a link it did not make.

Whoever can drop files in the inbox can also plant symbolic links in it, in done/ and in failed/,
or make done/ itself a link. So the inbox and its two folders are opened as directories (the
folders with O_NOFOLLOW) and everything else is relative to those descriptors: each name is one
path component, a document is opened with O_NOFOLLOW, the error file is created with
O_EXCL|O_NOFOLLOW, and a move never replaces an existing name (rename itself never follows a link).
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

    def _subfolder(self, name: str) -> int:
        # mkdirat never follows a link at `name`: an existing link makes it fail, then the open refuses it.
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, dir_fd=self.inbox_fd)
        try:
            return os.open(name, _FOLDER | os.O_NOFOLLOW, dir_fd=self.inbox_fd)
        except OSError as exc:
            raise UnsafeFolder(self._why_unusable(name, exc)) from None

    def _why_unusable(self, name: str, exc: OSError) -> str:
        path = self.inbox / name
        try:
            is_link = stat.S_ISLNK(os.stat(name, dir_fd=self.inbox_fd, follow_symlinks=False).st_mode)
        except OSError:
            is_link = False
        if is_link:
            target = os.readlink(name, dir_fd=self.inbox_fd)
            what = f"{path} is a symbolic link (to {target}), not a folder"
        elif exc.errno == errno.ENOTDIR:
            what = f"{path} is not a folder"
        else:
            what = f"{path} cannot be opened ({exc.strerror})"
        return f"{what}: ingest writes only into a real folder it opened itself; files wait in the inbox"

    def close(self) -> None:
        self._opened.close()

    def __enter__(self) -> InboxFolders:
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.close()

    def look(self, name: str) -> os.stat_result:
        """What is at inbox/name, without following a link; FileNotFoundError if nothing."""
        return os.stat(check_plain_name(name), dir_fd=self.inbox_fd, follow_symlinks=False)

    def read(self, name: str, seen: os.stat_result, max_bytes: int) -> bytes:
        """The bytes of inbox/name, which must still be the regular file `seen` was taken of.

        UnreadableDocument says why a file cannot be read; FileNotFoundError means it is gone or was
        replaced since it was seen (a new file there is taken at a later scan).
        """
        if stat.S_ISLNK(seen.st_mode):
            raise UnreadableDocument(self._link_reason(name))
        if not stat.S_ISREG(seen.st_mode):
            raise UnreadableDocument("not a regular file (a folder, device or pipe)")
        try:
            fd = os.open(check_plain_name(name), _DOCUMENT, dir_fd=self.inbox_fd)
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

    def _link_reason(self, name: str) -> str:
        target = os.readlink(name, dir_fd=self.inbox_fd)
        # Only to word the reason: the link itself is never followed.
        resolved = Path(os.path.realpath(self.inbox / name))
        if not resolved.is_relative_to(os.path.realpath(self.inbox)):
            return f"symbolic link to {resolved}, outside the inbox: not followed"
        return f"symbolic link to {target}: links are not followed, drop the file itself"

    def move_to_done(self, name: str, seen: os.stat_result) -> str:
        """Move inbox/name (the link itself, if it is one) into done/ under a free name; returns it."""
        self._check_unchanged(name, seen)
        for candidate in _candidates(name):
            with contextlib.suppress(FileExistsError):
                rename_noreplace(self.inbox_fd, name, self.done_fd, candidate)
                return candidate
        raise _too_many(name)

    def move_to_failed(self, name: str, seen: os.stat_result, reason: str) -> str:
        """Move inbox/name into failed/, beside `<new name>.error.txt` with the reason; returns the name."""
        self._check_unchanged(name, seen)
        for candidate in _candidates(name):
            error_name = candidate + ERROR_SUFFIX
            try:
                fd = os.open(error_name, _NEW_FILE, 0o666, dir_fd=self.failed_fd)
            except FileExistsError:  # anything there, a dangling link included, is not ours to write
                continue
            try:
                with open(fd, "w", encoding="utf-8") as sink:
                    sink.write(reason + "\n")
                rename_noreplace(self.inbox_fd, name, self.failed_fd, candidate)
                return candidate
            except FileExistsError:  # the document's name is taken there: both move on to the next one
                self._remove_error_file(error_name)
            except BaseException:
                self._remove_error_file(error_name)
                raise
        raise _too_many(name)

    def _remove_error_file(self, error_name: str) -> None:
        with contextlib.suppress(OSError):
            os.unlink(error_name, dir_fd=self.failed_fd)

    def _check_unchanged(self, name: str, seen: os.stat_result) -> None:
        if not _same_file(self.look(name), seen):
            raise Replaced(f"{name} was replaced after it was read")


def _candidates(name: str) -> Iterator[str]:
    return itertools.islice(destination_names(name), _MAX_CANDIDATES)


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
