"""Writing files that hold health data: whole, durable, readable by the owner only."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from .errors import FieldError


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
