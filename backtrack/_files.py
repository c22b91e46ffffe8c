"""The user's files: written whole, durable and readable by the owner only, never over a
file the write was not meant to replace; read with a bound, and only when they are
regular files.

:func:`write_private` is the one writer of every output file (reports, exports,
calendars, repaired logs, trial plans). It goes through :func:`check_output` first:
a target that is kept (the log, its lock and note, the settings beside it: the caller
names them), or that is not a regular file (a folder, a FIFO, a device, a symbolic
link), is refused always; an existing regular file is replaced only when its first
bytes say it is the kind being written (a PDF over a PDF), or with ``force``.
:func:`read_user_file` is the one reader of a user's file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
import types
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .errors import OutputError, UserFileError

_SNIFF_BYTES = 256


@dataclass(frozen=True)
class OutputKind:
    """What an output file holds: ``name`` for messages, and the ``magic`` first bytes
    (after leading whitespace) of an existing file it may replace without ``force``.
    No magic: only a new path is written without ``force``."""

    name: str
    magic: tuple[bytes, ...] = ()

    def holds(self, head: bytes) -> bool:
        """Whether a file starting with ``head`` is of this kind."""
        start = head.removeprefix(b"\xef\xbb\xbf").lstrip()
        return any(start.startswith(magic) for magic in self.magic)


PDF = OutputKind("a PDF", (b"%PDF-",))
CALENDAR = OutputKind("an iCalendar file", (b"BEGIN:VCALENDAR",))
JSON = OutputKind("a JSON file", (b"{", b"["))

Kept = Mapping[Path, str]
"""Files an output never replaces, even with ``force``: path → what it is (``the log``)."""
_NONE_KEPT: Kept = types.MappingProxyType({})

_NOT_REGULAR = {
    stat.S_ISDIR: "a folder",
    stat.S_ISFIFO: "a FIFO (named pipe)",
    stat.S_ISCHR: "a character device",
    stat.S_ISBLK: "a block device",
    stat.S_ISSOCK: "a socket",
    stat.S_ISLNK: "a symbolic link (give the path of the file itself)",
}


def _named_alike(path: Path, other: Path) -> bool:
    """The same name in the same folder (folders compared with links resolved)."""
    return path.name == other.name and os.path.realpath(path.parent) == os.path.realpath(
        other.parent
    )


def _same_file(path: Path, other: Path) -> bool:
    """Both exist and are one file (``samefile`` follows links: a link to it, a hard link)."""
    try:
        return os.path.samefile(path, other)
    except OSError:
        return False


def _head(path: Path) -> bytes | None:
    """The first bytes of a regular file, or None when it cannot be read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        return os.read(fd, _SNIFF_BYTES)
    except OSError:
        return None
    finally:
        os.close(fd)


def _linked(temporary: str, path: Path) -> bool:
    """Give ``temporary`` the new name ``path`` if nothing has it (True); False when a
    file has it, or the file system has no hard links (then it is renamed over)."""
    if os.path.lexists(path):
        return False
    try:
        os.link(temporary, path, follow_symlinks=False)
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            return False
        raise
    os.unlink(temporary)
    return True


def check_output(
    path: str | os.PathLike[str], *, kind: OutputKind, force: bool = False, keep: Kept = _NONE_KEPT
) -> Path:
    """Raise :class:`OutputError` unless ``path`` may be written as ``kind``; returns it.

    Refused always: a path in ``keep`` (by name, or by identity: a link or hard link to
    it), anything but a regular file or a new name, a new name in a missing folder.
    Refused without ``force``: an existing regular file that is not ``kind`` (any existing
    file for a kind without magic).
    """
    path = Path(path)
    expected = (
        f"a new file or {kind.name} to replace" if kind.magic else "a file that does not exist yet"
    )
    for other, what in keep.items():
        if _named_alike(path, other):
            raise OutputError(str(path), expected, f"is {what}")
        if _same_file(path, other):
            raise OutputError(str(path), expected, f"is {what} ({other}) by another name")
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        if not path.parent.is_dir():
            found = f"the folder {path.parent} does not exist"
            raise OutputError(str(path), expected, found) from None
        return path
    for test, what in _NOT_REGULAR.items():
        if test(info.st_mode):
            raise OutputError(str(path), expected, f"is {what}, not a regular file")
    if force:
        return path
    if not kind.magic:
        raise OutputError(str(path), expected, "exists already (nothing is overwritten)")
    head = _head(path)
    if head is not None and kind.holds(head):
        return path
    found = "cannot be read to check what it holds" if head is None else f"is not {kind.name}"
    raise OutputError(str(path), expected, f"exists and {found} (give --force to replace it)")


def write_private(
    path: str | os.PathLike[str],
    data: bytes,
    *,
    kind: OutputKind,
    force: bool = False,
    keep: Kept = _NONE_KEPT,
) -> Path:
    """Write ``data`` to ``path`` as a whole new file with mode 0600, once
    :func:`check_output` allows it (checked again just before the rename).

    A temporary file in the same folder (``mkstemp`` creates it 0600) is written, fsynced
    and renamed over ``path``: a reader never sees half a file, and a crash leaves the old
    one. A new name is linked, not renamed, so a file that appears there meanwhile is
    checked, never replaced unchecked.
    """
    path = check_output(path, kind=kind, force=force, keep=keep)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        check_output(path, kind=kind, force=force, keep=keep)
        if not _linked(temporary, path):
            check_output(path, kind=kind, force=force, keep=keep)
            os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return path


LOG_LIMIT = 256 * 1024 * 1024
"""The most bytes a log may hold: a 10-year demo log is 0.43 MB, so 600 times that."""
SETTINGS_LIMIT = 1024 * 1024
"""The most bytes a TOML file (routine, trial plan) may hold: the built-in routine is 4 kB."""
_CHUNK = 1024 * 1024

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{limit} bytes"


def _expected(what: str, limit: int) -> str:
    return f"{what}: a regular file of at most {_size(limit)}"


def read_user_file(path: str | os.PathLike[str], *, limit: int, what: str) -> bytes:
    """The bytes of a user's file (``what`` names it in errors, e.g. "a log (CSV)").

    Refuses with :class:`UserFileError` anything that is not a regular file (a folder, a
    FIFO, a device, a socket: checked with ``stat`` before opening, and opened with
    ``O_NONBLOCK`` and checked again with ``fstat``, so a FIFO never blocks) and a file
    of more than ``limit`` bytes (at most ``limit + 1`` bytes are read, whatever the file
    claims). A missing or unreadable file raises the usual ``OSError`` naming it.
    """
    name = os.fspath(path)
    expected = _expected(what, limit)
    mode = os.stat(name).st_mode
    if not stat.S_ISREG(mode):
        raise UserFileError(name, expected, _kind(mode))
    fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # replaced between stat and open
            raise UserFileError(name, expected, _kind(info.st_mode))
        if info.st_size > limit:
            raise UserFileError(name, expected, f"{info.st_size} bytes")
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb", buffering=0) as handle:
        return read_stream(handle, name, limit=limit, what=what)


def read_stream(handle: IO[bytes], name: str, *, limit: int, what: str) -> bytes:
    """All of an open binary file ``handle`` (``name`` for errors, e.g. a URL), reading
    at most ``limit + 1`` bytes: more than ``limit`` is a :class:`UserFileError`."""
    chunks, total = [], 0
    while chunk := handle.read(min(_CHUNK, limit + 1 - total)):
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise UserFileError(name, _expected(what, limit), f"more than {_size(limit)}")
    return b"".join(chunks)
