"""Writing files that hold health data: whole, durable, readable by the owner only, and
never over a file the write was not meant to replace.

:func:`write_private` is the one writer of every output file (reports, exports,
calendars, repaired logs, trial plans). It goes through :func:`check_output` first:
a target that is kept (the log, its lock and note, the settings beside it: the caller
names them), or that is not a regular file (a folder, a FIFO, a device, a symbolic
link), is refused always; an existing regular file is replaced only when its first
bytes say it is the kind being written (a PDF over a PDF), or with ``force``.
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

from .errors import OutputError

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
