"""The user's files: written whole, durable and readable by the owner only; read with a
bound, and only when they are regular files."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from typing import IO

from .errors import FieldError, UserFileError


def write_private(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` as a whole new file with mode 0600.

    A temporary file in the same folder (``mkstemp`` creates it 0600) is written, fsynced
    and renamed over ``path``: a reader never sees half a file, and a crash leaves the old
    one. Raises :class:`FieldError` when ``path`` is a folder.
    """
    path = Path(path)
    if path.is_dir():
        raise FieldError("output", "a file path", f"{path} (a folder)")
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
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
