"""The append-only CSV log: durable appends under a lock, and validating reads.

Appending never rewrites the log and, in the usual case, reads only its header: it takes
the lock (``<log>.lock``), writes the whole row in one ``write``, fsyncs, and notes the
file's identity, size and change times in ``<log>.appended`` with the bytes of that row.
When the file is exactly as that note says, its tail is the end of our last complete row.
When it is not (a save was interrupted, another program or a person changed the file),
the whole file is read once with the same reader as :func:`read_log` to decide what the
new row must follow, and the note is made to name the file as it is before anything is
written: a torn row is closed off with :data:`TORN_MARKER` so it can never merge with the
new row, a complete last row without a final newline gets its newline. A failed write or
fsync is undone (the file is cut back to its old size), so an error always means nothing
was saved.

A save that was not confirmed never becomes a row: whatever follows the last confirmed
save (the note names the file and holds that save's bytes) and does not end its line is
an unfinished save, however complete it looks (:func:`_confirmed_end`). Without the
note, or when the file was saved anew by another program, the rules for hand-edited
files apply: a complete last row without a final newline is a row.

Reading validates every row and reports each problem as ``path:line:column: message``;
a broken record (an unclosed or stray quote, a field longer than the csv module's
limit) is reported at its line and reading goes on from the next line, so later rows
are never lost behind it. Nothing is dropped silently. A log as the store writes it,
with nothing after its last confirmed save, is first checked whole columns at a time
(:func:`parse_clean_log`, the same rules); whatever that check does not certify is read
by the strict reader (:func:`parse_log_text`), which reports every problem.
"""

from __future__ import annotations

import bisect
import contextlib
import csv
import io
import itertools
import os
import re
import stat
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
from filelock import FileLock, Timeout

from ._files import LOG_LIMIT, read_user_file
from .errors import FieldError, LogFormatError, LogLockedError, LogProblem, SaveFailedError
from .schema import (
    COLUMNS,
    DATE_PATTERN,
    FIELD_LIMIT,
    FIELD_PARSERS,
    MAX_DATE,
    MIN_DATE,
    NOTE_GUARD,
    PAIN_LOCATIONS,
    RECORDED_AT_PATTERN,
    VOID,
    Entry,
    csv_line,
    decode_note,
    exercise_ids,
    exercise_pairs,
    parse_day,
    parse_exercises,
    parse_pain,
    parse_row,
    parse_where,
    row_problem,
)

DEFAULT_LOG = Path("data") / "backtrack.csv"
ENV_VAR = "BACKTRACK_CSV"
LOCK_TIMEOUT_SECONDS = 10.0
_HEADER_PROBE_BYTES = 64 * 1024
UNDECODABLE = "\ufffd"
TORN_MARKER = "backtrack: unfinished row, a save was interrupted"
"""Written after a torn last row (as one extra field) when the next save starts a line."""
_MARKER_FIELD = f'"{TORN_MARKER}"'
FIRST_SAVE_TORN = (
    "the log's first save was interrupted while writing its header: nothing was saved, "
    "and the next save completes the file"
)
LOCK_SUFFIX = ".lock"
"""``<log>.lock``, the lock every append takes."""
APPENDED_SUFFIX = ".appended"
"""``<log>.appended`` notes the log as our last write left it, with the bytes of the last
confirmed save (see the module docstring)."""
FUTURE_TOLERANCE = timedelta(minutes=5)
"""A ``recorded_at`` later than now by more than this (a wrong clock) is a problem: it
would outrank every later correction of its date."""
MAX_RESYNCS = 10_000
"""Broken records after which the rest of a file is reported as unreadable."""


@dataclass(frozen=True)
class Layout:
    """What the store must know of one kind of append-only CSV file: its ``columns``
    (the header a new file gets and every file must have), ``check_row`` (raises
    :class:`FieldError` for stored field texts that are not a row), and ``quoted``, the
    free-text columns whose non-empty values are always quoted (a save cut inside one
    leaves an unclosed quote, reported as torn, never a shorter text).

    The daily log is :data:`DAILY`; the measures file beside it has its own
    (:mod:`backtrack.measures_file`). Appending, the append note, the torn-row rules and
    :func:`scan_rows` are one implementation for both."""

    columns: tuple[str, ...]
    check_row: Callable[[Mapping[str, str]], object]
    quoted: frozenset[str]
    what: str = "the log"
    """What the file is called in messages."""


DAILY = Layout(COLUMNS, parse_row, frozenset({"note"}))
"""The daily log, schema v1 (:mod:`backtrack.schema`)."""


def resolve_log_path(csv_path: str | os.PathLike[str] | None = None) -> Path:
    """The log to use: ``csv_path``, else ``$BACKTRACK_CSV``, else ``data/backtrack.csv``."""
    if csv_path:
        return Path(csv_path)
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else DEFAULT_LOG


def _read_header(fd: int, path: Path, layout: Layout = DAILY) -> list[str]:
    """The header of an existing file (first record), read with one ``pread``."""
    data = os.pread(fd, 4096, 0)  # a header is ~50 bytes; read more only if it is not
    if b"\n" not in data and b"\r" not in data:
        data = os.pread(fd, _HEADER_PROBE_BYTES, 0)
    head = data.decode("utf-8-sig", errors="replace")
    first = next(csv.reader(io.StringIO(head, newline="")), [])
    problems = _header_problems(str(path), first, layout.columns)
    if problems:
        raise LogFormatError(problems)
    return first


def _quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def row_line(
    header: Sequence[str], row: Mapping[str, str], quoted: Collection[str] = DAILY.quoted
) -> str:
    """One row as the log stores it, in the file's column order, ending in ``\\n``.

    Fields are quoted as the csv module quotes them (when they hold ``,``, ``"``, CR or
    LF), and a non-empty field of ``quoted`` (the daily log's ``note``) always: a save
    cut short inside it then leaves an unclosed quote, which is reported as torn, and
    never loads as a shorter text.
    """
    texts = []
    for name in header:
        value = row.get(name, "")
        special = name in quoted and value or any(c in value for c in ',"\r\n')
        texts.append(_quoted(value) if special else value)
    return ",".join(texts) + "\n"


def _signature(info: os.stat_result) -> str:
    """The file's identity, size and change times: equal only if nobody touched it."""
    return f"{info.st_dev} {info.st_ino} {info.st_size} {info.st_mtime_ns} {info.st_ctime_ns}\n"


def _note_path(path: Path) -> str:
    return f"{path}{APPENDED_SUFFIX}"


_NOTE_WIDTH = 128
"""The note is written in place at a fixed width: truncating a file makes ext4 flush it
on close (its replace-via-truncate safeguard), which cost ~0.4 ms an append."""


@dataclass(frozen=True)
class _Note:
    """What ``<log>.appended`` says: the log's :func:`_signature` as our last write left
    it, and ``tail``, the bytes that end there (the row that save wrote)."""

    signature: str
    device: int
    inode: int
    end: int
    tail: bytes


_NOTE_LIMIT = 1 << 20
"""Bytes of ``<log>.appended`` read at most (a signature and one row)."""


def _read_note(path: Path) -> _Note | None:
    try:
        fd = os.open(_note_path(path), os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        data = os.read(fd, _NOTE_LIMIT)
    except OSError:
        return None
    finally:
        os.close(fd)
    try:
        signature = data[:_NOTE_WIDTH].decode("ascii").rstrip(" ")
        device, inode, size = (int(part) for part in signature.split()[:3])
        length_text, _, rest = data[_NOTE_WIDTH:].partition(b"\n")
        length = int(length_text) if length_text else 0
    except (UnicodeDecodeError, ValueError):
        return None
    tail = rest[:length] if 0 <= length <= len(rest) else b""
    return _Note(signature, device, inode, size, tail)


def _note_signature(path: Path, info: os.stat_result, tail: bytes, end: int | None = None) -> None:
    """Remember the file as our last write left it, and ``tail``, the bytes that end it
    (a cache for the append's fast path, and what marks a later unfinished save; when it
    is lost or stale, the next append reads the whole file once instead). ``end``: the
    confirmed end to note when it is not the file's size (before a write, the bytes
    after it are not confirmed: such a note never matches the fast path)."""
    try:
        fd = os.open(_note_path(path), os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK, 0o600)
    except OSError:
        return
    try:
        signature = _signature(info)
        if end is not None and end != info.st_size:
            fields = signature.split()
            fields[2] = str(end)
            signature = " ".join(fields) + "\n"
        noted = signature.encode("ascii").ljust(_NOTE_WIDTH)
        os.pwrite(fd, noted + f"{len(tail)}\n".encode("ascii") + tail, 0)
    except OSError:
        pass
    finally:
        os.close(fd)


def _confirmed_end(note: _Note | None, info: os.stat_result, data: bytes) -> int | None:
    """Where the last save this tracker confirmed ends in ``data`` (the log's bytes), if
    the file still holds it: what follows it and does not end its line is a save that
    was never confirmed (torn), whatever it looks like.

    The note must name this very file (device and inode) and the bytes before its end
    must be the ones it noted; when the file was cut back inside those bytes (the last
    save is not whole any more), the end is where that save started (only its final
    newline gone, it is still whole: an editor does that). None when the
    file is another one now or was changed before that end: then the rules for files
    edited by hand apply (a last row without a final newline is a row when complete).
    """
    if note is None or (note.device, note.inode) != (info.st_dev, info.st_ino):
        return None
    start = note.end - len(note.tail)
    if start < 0:
        return None
    if len(data) >= note.end:
        return note.end if data[start : note.end] == note.tail else None
    if len(data) > start and note.tail.startswith(data[start:]):
        if data[start:] + b"\n" == note.tail:  # whole but for its line end: still itself
            return len(data)
        return start
    return None


def unconfirmed_line(data: bytes, end: int | None) -> int | None:
    """The physical line (1-based, as :func:`read_records` counts) where bytes after
    the confirmed ``end`` start, or None when nothing follows it."""
    if end is None or len(data) <= end:
        return None
    before = data[:end].decode("utf-8-sig", errors="replace")
    lines = len(io.StringIO(before, newline="").readlines())
    return lines + 1 if not before or before.endswith(("\n", "\r")) else lines


def _is_row(fields: list[str], header: list[str], layout: Layout = DAILY) -> bool:
    """True when ``fields`` are a valid row under ``header`` (schema columns checked)."""
    if len(fields) != len(header) or fields[-1] == TORN_MARKER:
        return False
    try:
        layout.check_row(dict(zip(header, fields, strict=True)))
    except FieldError:
        return False
    return True


def _torn_tail(
    scan: RecordScan,
    header: list[str],
    unconfirmed_from: int | None = None,
    layout: Layout = DAILY,
) -> BrokenRecord | None:
    """The broken record the text ends inside (an unclosed quote): a save torn inside a
    quoted field; its later lines are its pieces. When it starts after the last
    confirmed save (line ``unconfirmed_from`` on), it is torn whatever its pieces look
    like; otherwise only when no valid row is read after it (a quote a person left open
    must not hide the rows they typed after it)."""
    at_end = [b for b in scan.broken if b.unclosed_quote and b.end == scan.line_count]
    if not at_end:  # the first: later ones are its pieces, read again after it
        return None
    last = at_end[0]
    if unconfirmed_from is not None and last.start >= unconfirmed_from:
        return last
    for start, fields in zip(scan.starts, scan.records, strict=True):
        if start > last.start and _is_row(fields, header, layout):
            return None
    return last


def tail_separator(
    text: str, header: list[str], unconfirmed_from: int | None = None, layout: Layout = DAILY
) -> str:
    """What to write before a new row so that it never merges with what ``text`` (a whole
    log) ends with, decided by the same reader as :func:`read_log`.

    ``unconfirmed_from``: the line where bytes after the last save this tracker
    confirmed start (see :func:`_confirmed_end`); a last record there that does not end
    its line is an unfinished save, however complete it looks.

    - ``""`` when the text ends with a line break after a complete record;
    - ``"\\n"`` when its last row is complete but has no final newline, and is not after
      the last confirmed save (many editors and exporters write that);
    - when the last row is torn (a save interrupted mid-write): a closing quote if it
      ended inside a quoted field, one field holding :data:`TORN_MARKER` so the
      fragment can never pass for a complete row (a record whose last field is the
      marker is torn, whatever its width), and a newline. The torn bytes themselves are
      kept as they were.

    A quote left open earlier in the file, with valid rows read after it, is not closed
    here (that would hide those rows): reading goes on after such a record, and so does
    the new row.
    """
    scan = read_records(text)
    if _torn_tail(scan, header, unconfirmed_from, layout) is not None:
        return f'",{_MARKER_FIELD}\n'
    if text.endswith(("\n", "\r")):
        return ""
    if len(scan.records) <= 1:  # only a header (checked by the caller)
        return "\n"
    if unconfirmed_from is None and _is_row(scan.records[-1], header, layout):
        return "\n"
    return f",{_MARKER_FIELD}\n"


def _read_all(fd: int, size: int) -> bytes:
    chunks = []
    offset = 0
    while offset < size:
        chunk = os.pread(fd, 1 << 20, offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


_NOTED_TAIL_BYTES = 256
"""Bytes of a file's end noted before a write that does not follow our own note."""


def _text_before_row(
    fd: int, info: os.stat_result, path: Path, layout: Layout = DAILY
) -> tuple[list[str], str, bytes]:
    """The log's header, what to write before the new row, and the bytes after the last
    confirmed save (which the note after this save keeps too, so that a later cut into
    them is known). Nothing is written before the row when the file is as our last
    append left it (its note says so); else the whole file is read once and
    :func:`tail_separator` decides (the rest of the header when a first save was torn
    inside it), and before anything is written the note is made to name this file and
    its confirmed end as they are now, so that a save that dies inside its write is
    known as unfinished, and so is what was unfinished before it."""
    note = _read_note(path)
    if info.st_size and note is not None and note.signature == _signature(info):
        return _read_header(fd, path, layout), "", b""
    data = _read_all(fd, info.st_size)
    end = _confirmed_end(note, info, data)
    first_line = csv_line(list(layout.columns)).encode("utf-8")
    if not data or (end == 0 and first_line.startswith(data)):  # no header, or a torn one
        text = first_line[len(data) :].decode("utf-8")
        header = list(layout.columns)
    else:
        header = _read_header(fd, path, layout)
        decoded = data.decode("utf-8-sig", errors="replace")
        text = tail_separator(decoded, header, unconfirmed_line(data, end), layout)
    confirmed = len(data) if end is None else end
    before = data[max(0, confirmed - _NOTED_TAIL_BYTES) : confirmed]
    _note_signature(path, info, before, end=confirmed)
    return header, text, data[confirmed:]


def _undo(fd: int, size: int, path: Path, created: bool, reason: str) -> SaveFailedError:
    """Cut the file back to ``size`` bytes after a failed write (removing a file this
    append created) and return the error to raise."""
    try:
        os.ftruncate(fd, size)
        undone = True
    except OSError:
        undone = False
    with contextlib.suppress(OSError):  # best effort: the disk may be failing
        os.fsync(fd)
    if created and undone:
        with contextlib.suppress(OSError):
            os.unlink(path)
    outcome = (
        "nothing was saved (the file is as it was)"
        if undone
        else "the file could not be cut back: run backtrack validate"
    )
    return SaveFailedError(f"{path}: {reason}; {outcome}")


def _check_lock_folder(lock_path: str) -> None:
    """A clear error when the lock file cannot be made (a read-only or special folder
    such as /proc), instead of waiting as if another save held it."""
    if os.path.exists(lock_path):
        return
    try:
        os.close(os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600))
    except OSError as exc:
        raise SaveFailedError(
            f"{os.path.dirname(lock_path)}: cannot save a log here ({exc.strerror or exc}); "
            "choose a folder you can write to with --csv or BACKTRACK_CSV"
        ) from None


def append_row(
    path: str | os.PathLike[str],
    row: Mapping[str, str],
    *,
    timeout: float = LOCK_TIMEOUT_SECONDS,
    layout: Layout = DAILY,
) -> None:
    """Append one row (stored field texts by column name) to the log, durably.

    Creates the log with its header (mode 0600; folders it creates 0700). Columns the
    file has beyond its ``layout`` (default: the daily log, schema v1) get empty values.
    Raises :class:`LogLockedError` when another save holds the lock longer than
    ``timeout`` seconds, :class:`FieldError` for
    a field longer than :data:`schema.FIELD_LIMIT` characters or text UTF-8 cannot hold,
    and ``OSError`` when the write or the fsync fails, after cutting the file back to
    its old size: an error always means nothing was saved.
    """
    path = Path(path)
    for name, value in row.items():
        if len(value) > FIELD_LIMIT:
            raise FieldError(name, f"at most {FIELD_LIMIT} characters", f"{len(value)} characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise FieldError(name, "text UTF-8 can hold", value) from None
        if value == TORN_MARKER:
            raise FieldError(
                name, "any text but the words backtrack writes after an interrupted save", value
            )
    if not path.parent.exists():
        _make_private_folders(path.parent)
    lock_path = f"{path}{LOCK_SUFFIX}"
    _check_lock_folder(lock_path)
    lock = FileLock(lock_path, timeout=timeout, mode=0o600)
    try:
        lock.acquire()
    except Timeout:
        raise LogLockedError(str(path), timeout) from None
    try:
        created = False
        try:
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o600)
            created = True
        except FileExistsError:
            fd = os.open(path, os.O_RDWR | os.O_APPEND)
        try:
            info = os.fstat(fd)
            size = info.st_size
            header, text, unconfirmed = _text_before_row(fd, info, path, layout)
            line = row_line(header, row, layout.quoted).encode("utf-8")
            data = text.encode("utf-8") + line
            try:
                written = os.write(fd, data)
            except OSError as exc:
                raise _undo(fd, size, path, created, f"the write failed ({exc})") from exc
            if written != len(data):
                raise _undo(
                    fd, size, path, created, f"short write ({written} of {len(data)} bytes)"
                )
            try:
                os.fsync(fd)
            except OSError as exc:
                raise _undo(
                    fd, size, path, created, f"the disk did not confirm the save ({exc})"
                ) from exc
            since = unconfirmed + data  # all after the confirmed end, this save last
            _note_signature(path, os.fstat(fd), since if len(since) < _NOTE_LIMIT // 2 else line)
        finally:
            os.close(fd)
        if created:
            _fsync_directory(path.parent)
    finally:
        lock.release()


def _make_private_folders(folder: Path) -> None:
    """Create ``folder`` and any missing parents, each 0700 (whatever the umask)."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for new in reversed(missing):
        with contextlib.suppress(FileExistsError):
            new.mkdir(mode=0o700)
        os.chmod(new, 0o700)


def append_entry(
    path: str | os.PathLike[str], entry: Entry, *, timeout: float = LOCK_TIMEOUT_SECONDS
) -> dict[str, str]:
    """Append a validated :class:`Entry`; returns the fields as stored. The row is first
    read back with the reader's own parser (:func:`schema.parse_row`), so no write path
    can store a row that loads as something else, or not at all."""
    row = entry.to_row()
    parse_row(row)
    append_row(path, row, timeout=timeout)
    return row


def _fsync_directory(folder: Path) -> None:
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


# ----------------------------------------------------------------------------- reading


def _header_problems(
    path: str, header: list[str], columns: Sequence[str] = COLUMNS
) -> list[LogProblem]:
    problems = []
    found = ",".join(header)[:80]
    for name in columns:
        if name not in header:
            problems.append(
                LogProblem(
                    path, 1, name, f"expected a header with column {name!r}, found {found!r}"
                )
            )
    seen: set[str] = set()
    for position, name in enumerate(header, start=1):
        if name in seen:
            problems.append(
                LogProblem(
                    path,
                    1,
                    name or f"#{position}",
                    f"expected each column once, found {name!r} twice",
                )
            )
        seen.add(name)
    return problems


def _column_name(header: list[str], index: int) -> str:
    """The name of column ``index`` (0-based) for a message: its header name, or ``#N``
    (1-based) when the header has no name there (empty, or a field beyond it)."""
    return header[index] if index < len(header) and header[index] else f"#{index + 1}"


def _shape_problem(
    fields: list[str], header: list[str], torn: bool, undecodable: bool
) -> tuple[str, str] | str | None:
    """What is wrong with a record's shape: (column, message), "blank", or None."""
    width = len(header)
    if torn:
        return (
            _column_name(header, min(len(fields), width) - 1 if fields else 0),
            "expected a complete row ending in a newline, found an unfinished last row (a "
            "save interrupted mid-write, or an unclosed quote); it is kept in the file and "
            "left out of analysis",
        )
    if not any(fields):
        return "blank"
    if fields[-1] == TORN_MARKER:
        return (
            _column_name(header, max(min(len(fields) - 1, width) - 1, 0)),
            "expected a complete row, found an unfinished one (a save was interrupted "
            "mid-write); it is kept in the file and left out of analysis",
        )
    if len(fields) != width:
        column = _column_name(header, min(len(fields), width))
        hint = " (a note with commas needs quotes)" if len(fields) > width else ""
        return column, f"expected {width} fields, found {len(fields)}{hint}"
    if undecodable:
        for position, value in enumerate(fields):
            if UNDECODABLE in value:
                return (
                    _column_name(header, position),
                    "expected UTF-8 text, found bytes that are not (save the file as UTF-8 CSV)",
                )
    return None


_DATETIME_FORMATS = {"recorded_at": ("ISO8601", True), "date": ("%Y-%m-%d", False)}
"""pandas' ``format`` and ``utc`` for each date column (their exact form is the schema's)."""
_DATETIME_PATTERNS = {"recorded_at": RECORDED_AT_PATTERN, "date": DATE_PATTERN}
_RANGE_MARGIN = pd.Timedelta(days=2)  # a UTC time can fall on the next or previous day


_Values = Sequence[Any] | pd.DatetimeIndex | pd.arrays.IntegerArray
"""A column's values: texts or parsed values, datetimes, or 0-10 points with NA."""


@dataclass(frozen=True)
class _CheckedColumn:
    """One column of a log, checked: ``values`` one per row as the entries frame holds
    them, ``failures`` by row index (0-based among the rows checked), and ``parsed``,
    each distinct text's parsed value (for the columns checked value by value)."""

    values: _Values
    failures: dict[int, FieldError]
    parsed: Mapping[str, object] = field(default_factory=dict)


def _converted_datetimes(name: str, texts: Sequence[str]) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """``recorded_at`` or ``date`` texts parsed in one vectorised pass (NaT where pandas
    cannot), and where each lies clear of the ends of the allowed range
    (:data:`schema.MIN_DATE`, ``MAX_DATE``) by :data:`_RANGE_MARGIN` (False for NaT)."""
    form, utc = _DATETIME_FORMATS[name]
    converted = pd.to_datetime(list(texts), errors="coerce", format=form, utc=utc)
    low = pd.Timestamp(MIN_DATE, tz=converted.tz) + _RANGE_MARGIN
    high = pd.Timestamp(MAX_DATE, tz=converted.tz) - _RANGE_MARGIN
    clear = np.asarray((converted >= low) & (converted <= high), dtype=bool)  # NaT is not
    return converted, clear


def _check_datetimes(name: str, texts: Sequence[str]) -> _CheckedColumn:
    """``recorded_at`` or ``date``: one vectorised parse (nearly every value is distinct);
    the schema's own parser decides every value that does not match its pattern or lies
    near the ends of the allowed range (:data:`schema.MIN_DATE`, ``MAX_DATE``)."""
    converted, clear = _converted_datetimes(name, texts)
    matches = map(_DATETIME_PATTERNS[name].match, texts)
    failures: dict[int, FieldError] = {}
    for index in np.flatnonzero(~clear | ~np.fromiter(matches, bool, len(texts))).tolist():
        try:
            FIELD_PARSERS[name](texts[index])
        except FieldError as exc:
            failures[index] = exc
            continue
        if pd.isna(converted[index]):
            failures[index] = FieldError(name, "a value pandas can read as a date", texts[index])
    return _CheckedColumn(converted, failures)


def _check_each_distinct(
    parse: Callable[[str], object], texts: Sequence[str], keep_text: bool
) -> _CheckedColumn:
    """A column checked by the schema's parser ``parse``, each distinct text once; the
    values are the texts as stored (``keep_text``) or as parsed."""
    parsed: dict[str, object] = {}
    bad: dict[str, FieldError] = {}
    for text in set(texts):
        try:
            parsed[text] = parse(text)
        except FieldError as exc:
            bad[text] = exc
    failures = {i: bad[text] for i, text in enumerate(texts) if text in bad} if bad else {}
    values = texts if keep_text else [parsed.get(text) for text in texts]
    return _CheckedColumn(values, failures, parsed)


def _check_pain(texts: Sequence[str]) -> _CheckedColumn:
    """``pain`` (0-10 NRS) as an Int64 array, ``<NA>`` for not rated or refused."""
    checked = _check_each_distinct(parse_pain, texts, keep_text=True)
    points = {text: -1 if value is None else value for text, value in checked.parsed.items()}
    rated = np.fromiter((points.get(text, -1) for text in texts), np.int64, len(texts))
    return _CheckedColumn(pd.arrays.IntegerArray(rated, rated < 0), checked.failures)


def _check_note(texts: Sequence[str]) -> _CheckedColumn:
    """``note``: any text is a note; the formula guard comes off (:func:`decode_note`)."""
    if not any(text[:1] == NOTE_GUARD for text in set(texts)):
        return _CheckedColumn(texts, {})
    return _CheckedColumn([decode_note(text) for text in texts], {})


_COLUMN_VALIDATORS: dict[str, Callable[[Sequence[str]], _CheckedColumn]] = {
    "recorded_at": lambda texts: _check_datetimes("recorded_at", texts),
    "date": lambda texts: _check_datetimes("date", texts),
    "pain": _check_pain,
    "exercises": lambda texts: _check_each_distinct(exercise_ids, texts, keep_text=True),
    "day": lambda texts: _check_each_distinct(parse_day, texts, keep_text=False),
    "where": lambda texts: _check_each_distinct(parse_where, texts, keep_text=True),
    "note": _check_note,
}
"""One validator per column of :data:`schema.COLUMNS`, each built on the schema's parser
of that field."""


def _take(values: _Values, keep: list[int] | None) -> _Values:
    """``values`` at the positions ``keep`` (all of them when None)."""
    if keep is None:
        return values
    if isinstance(values, pd.DatetimeIndex | pd.arrays.IntegerArray):
        return values[np.asarray(keep, dtype=np.intp)]
    return [values[i] for i in keep]


def _validated_columns(
    path: str,
    rows: list[list[str]],
    lines: list[int],
    header: list[str],
    positions: list[int],
    known_exercises: Collection[str] | None,
    now: datetime | None = None,
) -> tuple[dict[str, _Values], list[LogProblem], dict[str, int]]:
    """Check rows of the right shape: each column by its validator, then the checks
    between fields of rows whose fields are each valid.

    Returns the columns of the valid rows (stored text, except ``recorded_at`` and
    ``date`` as datetimes, ``pain`` as an Int64 array (NA = not rated), ``day`` with
    empty as routine and ``note`` as typed), a problem per bad field, and exercise ids
    unknown to the routine with the first line naming each.
    """
    by_column = list(zip(*rows, strict=True)) if rows else [()] * len(header)
    texts = {name: by_column[position] for name, position in zip(COLUMNS, positions, strict=True)}
    checked = {name: _COLUMN_VALIDATORS[name](texts[name]) for name in COLUMNS}
    bad: dict[int, list[tuple[str, FieldError]]] = {}
    for name in COLUMNS:
        for index, exc in checked[name].failures.items():
            bad.setdefault(index, []).append((name, exc))
    recorded = cast(pd.DatetimeIndex, checked["recorded_at"].values)
    for index, exc in _across_fields(texts, recorded, bad, now).items():
        bad.setdefault(index, []).append((exc.field, exc))
    keep = [i for i in range(len(rows)) if i not in bad] if bad else None
    columns: dict[str, _Values] = {"line": _take(lines, keep)}
    columns.update((name, _take(checked[name].values, keep)) for name in COLUMNS)
    for position, name in enumerate(header):
        if name not in COLUMNS:
            columns[name] = _take(by_column[position], keep)
    unknown: dict[str, int] = {}
    if known_exercises is not None:
        strangers = {  # exercises texts naming ids the routine does not know
            text: others
            for text, ids in checked["exercises"].parsed.items()
            if (others := [e for e in cast(tuple[str, ...], ids) if e not in known_exercises])
        }
        if strangers:  # the first kept row naming each (rows left out do not count)
            for text, line in zip(columns["exercises"], columns["line"], strict=True):
                for exercise_id in strangers.get(cast(str, text), ()):
                    unknown.setdefault(exercise_id, cast(int, line))
    problems = [
        LogProblem(path, lines[index], name, f"expected {exc.expected}, found {exc.found!r}")
        for index in sorted(bad)
        for name, exc in bad[index]
    ]
    return columns, problems, unknown


@dataclass(frozen=True)
class BrokenRecord:
    """A record the csv module could not read (strict RFC 4180 quoting), at physical
    lines ``start``-``end``; ``field`` is the 0-based position of the field at fault."""

    start: int
    end: int
    field: int
    message: str
    unclosed_quote: bool = False


@dataclass
class RecordScan:
    """The CSV records of a text: ``records`` with the physical line (1-based) where
    each starts (``starts``) and ends (``ends``), the ``broken`` records, and
    ``line_count``, the number of physical lines."""

    starts: list[int]
    ends: list[int]
    records: list[list[str]]
    broken: list[BrokenRecord]
    line_count: int


_RFC_FIELD = r'(?:"[^"]*(?:""[^"]*)*"|[^",\r\n]*)'
_RFC_RECORD = re.compile(rf"{_RFC_FIELD}(?:,{_RFC_FIELD})*(?:\r\n|\n|\r)?\Z")


def _fault_field(raw: str) -> int:
    """The 0-based field at fault in a record's raw text: where a quote is misplaced, a
    field outgrows the csv module's limit, or the text ends inside quotes."""
    field = 0
    length = 0
    in_quotes = False
    at_start = True
    previous_quote = False
    for char in raw:
        if in_quotes:
            if previous_quote:
                previous_quote = False
                if char == '"':
                    length += 1
                    continue
                in_quotes = False
                if char not in ",\r\n":
                    return field
            elif char == '"':
                previous_quote = True
                continue
            else:
                length += 1
                if length > FIELD_LIMIT:
                    return field
                continue
        if char == ",":
            field, length, at_start = field + 1, 0, True
        elif char == '"':
            if not at_start:
                return field
            in_quotes = True
            at_start = False
        else:
            length += 1
            at_start = False
            if length > FIELD_LIMIT:
                return field
    return field


def _broken_message(error: str) -> tuple[str, bool]:
    """The csv module's error in the words of a log message; True for an unclosed quote."""
    if "unexpected end of data" in error:
        return "", True
    if "field limit" in error:
        return (
            f"expected a field of at most {FIELD_LIMIT:,} characters, found a longer one; "
            "the row is kept in the file and left out of analysis",
            False,
        )
    return (
        'expected quotes only around a whole field (a quote inside one is written "" in '
        "a quoted field), found a quote followed by more text in the same field",
        False,
    )


def _across_fields(
    texts: Mapping[str, Sequence[str]],
    recorded: pd.DatetimeIndex,
    bad: Collection[int],
    now: datetime | None,
) -> dict[int, FieldError]:
    """Problems between the fields of rows (indexes not in ``bad``) whose fields are each
    valid: a ``recorded_at`` in the future, and :func:`schema.row_problem` (a date after
    its save, a void row that holds data); at most one per row."""
    found: dict[int, FieldError] = {}
    if not len(recorded):
        return found
    limit = pd.Timestamp(now or datetime.now().astimezone()) + FUTURE_TOLERANCE
    for index in np.flatnonzero(np.asarray(recorded > limit, dtype=bool)).tolist():
        if index not in bad:
            found[index] = FieldError(
                "recorded_at",
                f"a time no later than now ({limit - FUTURE_TOLERANCE:%Y-%m-%d %H:%M} UTC; "
                "is a clock wrong?)",
                texts["recorded_at"][index],
            )
    fields = [texts[name] for name in COLUMNS[:-1]]  # row_problem's arguments
    # Rows row_problem could refuse (a superset, found in C): a date text after the
    # save's day text, or a void row. row_problem alone decides each of them.
    saved_day = np.array(texts["recorded_at"], dtype="U10")  # its own YYYY-MM-DD
    maybe = (np.array(texts["date"], dtype="U10") > saved_day) | (
        np.array(texts["day"], dtype=object) == VOID
    )
    for index in np.flatnonzero(maybe).tolist():
        if index in bad or index in found:
            continue
        if problem := row_problem(*(column[index] for column in fields)):
            found[index] = problem
    return found


def read_records(text: str) -> RecordScan:
    """The CSV records of ``text`` (strict RFC 4180 quoting), and where each starts.

    Lines are counted as the csv module counts them (CRLF, LF and a lone CR each end
    one; a quoted field can span lines). A record the csv module cannot read (a stray
    or unclosed quote, a field longer than its limit) is reported in ``broken`` and
    reading starts again at the line after the one where it starts, so later rows are
    never lost behind it (its other lines are then read as records of their own, and
    reported when they are not rows). A quote inside an unquoted field (``10" roller``),
    which readers take in different ways, is broken too.
    """
    lines = io.StringIO(text, newline="").readlines()
    starts: list[int] = []
    ends: list[int] = []
    records: list[list[str]] = []
    broken: list[BrokenRecord] = []
    position = 0
    while position < len(lines):
        reader = csv.reader(itertools.islice(lines, position, None), strict=True)
        segment: list[int] = []  # where each record of this pass ends (relative)
        keep_record, keep_end = records.append, segment.append
        error = None
        try:
            for fields in reader:
                keep_record(fields)
                keep_end(reader.line_num)
        except csv.Error as exc:
            error = exc
        if segment:  # a record starts on the line after the one before it ends
            starts += [position + 1, *(position + end + 1 for end in segment[:-1])]
            ends += [position + end for end in segment]
        if error is None:
            break
        start = (position + segment[-1] if segment else position) + 1
        end = position + reader.line_num
        message, unclosed = _broken_message(str(error))
        raw = "".join(lines[start - 1 : end])
        broken.append(BrokenRecord(start, end, _fault_field(raw), message, unclosed))
        position = start  # read again from the line after the broken record's first
        if len(broken) >= MAX_RESYNCS:
            break
    if '"' in text:
        _move_stray_quotes(lines, starts, ends, records, broken)
    return RecordScan(starts, ends, records, broken, len(lines))


def _move_stray_quotes(
    lines: list[str],
    starts: list[int],
    ends: list[int],
    records: list[list[str]],
    broken: list[BrokenRecord],
) -> None:
    """Move records with a quote inside an unquoted field from ``records`` to ``broken``."""
    quoted = [number for number, line in enumerate(lines, start=1) if '"' in line]
    candidates = sorted({bisect.bisect_left(ends, number) for number in quoted})
    bad = [
        index
        for index in candidates
        if 0 < index < len(records)
        and not _RFC_RECORD.match("".join(lines[starts[index] - 1 : ends[index]]))
    ]
    for index in reversed(bad):
        raw = "".join(lines[starts[index] - 1 : ends[index]])
        broken.append(
            BrokenRecord(
                starts[index],
                ends[index],
                _fault_field(raw),
                'expected quotes only around a whole field (a quote inside one is written "" '
                "in a quoted field), found a quote inside an unquoted field",
            )
        )
        del starts[index], ends[index], records[index]
    broken.sort(key=lambda record: record.start)


@dataclass
class LogData:
    """A log as loaded.

    ``entries`` has one row per valid save: ``line`` (where it starts in the file),
    ``recorded_at`` (UTC), ``date`` (midnight, no time zone), ``pain`` (0-10, ``<NA>`` =
    not rated), ``exercises`` (stored text, see :func:`exercise_table`), ``day``,
    ``where``, ``note`` (as typed), then any extra columns the file has. ``problems`` are
    rows left out, each with its position; ``warnings`` are things kept but worth knowing.
    """

    path: str
    entries: pd.DataFrame
    problems: list[LogProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    demo: bool = False


def _empty_entries(extra: Collection[str] = ()) -> pd.DataFrame:
    return _entries_frame({name: [] for name in ("line", *COLUMNS, *extra)})


def _datetimes(values: _Values, name: str) -> pd.DatetimeIndex:
    """Column ``name``'s ``values`` as datetimes: parsed unless they already are."""
    if isinstance(values, pd.DatetimeIndex):
        return values
    form, utc = _DATETIME_FORMATS[name]
    return pd.to_datetime(list(values), format=form, utc=utc)


def _entries_frame(columns: Mapping[str, Any]) -> pd.DataFrame:
    """The entries frame of columns of values (any array-like pandas takes)."""
    frame = pd.DataFrame(
        {
            "line": np.array(columns["line"], dtype=np.int64),
            "recorded_at": _datetimes(columns["recorded_at"], "recorded_at"),
            "date": _datetimes(columns["date"], "date"),
            "pain": pd.array(columns["pain"], dtype="Int64"),
            **{
                name: pd.array(columns[name], dtype="str")
                for name in columns
                if name not in ("line", "recorded_at", "date", "pain")
            },
        }
    )
    return frame


def _all_of_width(records: list[list[str]], width: int) -> bool:
    """True when every record has ``width`` fields and at least one is not empty."""
    return list(map(len, records)).count(width) == len(records) and all(map(any, records))


def _rows_of_shape(
    path: str,
    starts: list[int],
    records: list[list[str]],
    torn_line: int | None,
    undecodable: bool,
    problems: list[LogProblem],
    broken: Sequence[BrokenRecord] = (),
) -> tuple[list[list[str]], list[int], int]:
    """The data records of the header's width (and their lines), the number of blank
    ones; a problem appended for each record of another shape (saying so when it is a
    line of a broken record, read again after it)."""
    header = records[0]
    inside = {line: b.start for b in broken for line in range(b.start + 1, b.end + 1)}
    blank_lines = 0
    rows: list[list[str]] = []
    lines: list[int] = []
    for line, fields in zip(starts[1:], records[1:], strict=True):
        problem = _shape_problem(fields, header, line == torn_line, undecodable)
        if problem == "blank":
            blank_lines += 1
        elif isinstance(problem, tuple):
            column, message = problem
            if line in inside:
                message += f" (a line of the broken record at line {inside[line]})"
            problems.append(LogProblem(path, line, column, message))
        else:
            rows.append(fields)
            lines.append(line)
    return rows, lines, blank_lines


def _unknown_places(where: Sequence[str], lines: Sequence[int]) -> dict[str, int]:
    """Pain locations not in :data:`schema.PAIN_LOCATIONS`, with the first line naming
    each (each distinct ``where`` text is looked at once)."""
    strangers = {
        text: [p for p in text.split(";") if p not in PAIN_LOCATIONS]
        for text in set(where)
        if text
    }
    strangers = {text: places for text, places in strangers.items() if places}
    found: dict[str, int] = {}
    if strangers:
        for text, line in zip(where, lines, strict=True):
            for place in strangers.get(text, ()):
                found.setdefault(place, line)
    return found


_SEPARATORS = {";": "semicolons", "\t": "tabs"}


def _separator_problem(path: str, text: str) -> LogProblem | None:
    """One clear problem for a log whose columns are split by ``;`` or tabs (what a
    spreadsheet writes in many European locales), instead of a missing column each."""
    first_line = text.split("\n", 1)[0]
    for separator, name in _SEPARATORS.items():
        names = [part.strip().strip('"') for part in first_line.split(separator)]
        if set(COLUMNS) <= set(names):
            return LogProblem(
                path,
                1,
                "header",
                f"expected columns separated by commas, found them separated by {name} (a "
                "spreadsheet's regional CSV format: it may also have changed decimal "
                "commas, dates and times); `backtrack repair` writes a valid copy and lists "
                "every change (or save it again as 'CSV UTF-8 (comma delimited)')",
            )
    return None


def _broken_problem(record: BrokenRecord, last: bool) -> str:
    if not record.unclosed_quote:
        return record.message
    if last:
        return (
            "expected a complete row, found an unfinished last row (a save interrupted "
            "mid-write, or a quote that is never closed); it is kept in the file and left "
            "out of analysis"
        )
    return (
        "expected a closing quote, found a quote opened here that is never closed; the "
        "rows after it were read as if it were not there, and this row is left out"
    )


def _kept_warnings(
    path: str, unknown: Mapping[str, int], where: Sequence[str], lines: Sequence[int]
) -> list[str]:
    """Warnings for rows kept: each exercise id the routine does not know (``unknown``,
    with the first line naming it) and each unknown pain location in ``where``."""
    warnings = [
        f"{path}:{line}:exercises: {exercise_id!r} is not in the current routine; "
        "the rows are kept and the exercise is not counted in adherence"
        for exercise_id, line in unknown.items()
    ]
    warnings += [
        f"{path}:{line}:where: {place!r} is not a known pain location "
        f"({', '.join(PAIN_LOCATIONS)}); the row is kept"
        for place, line in _unknown_places(where, lines).items()
    ]
    return warnings


@dataclass
class RowScan:
    """The records of a file that have the shape of a row, before their values are
    checked (:func:`scan_rows`).

    ``header`` is None when no valid header was read (``problems`` or ``warnings`` say
    why; ``bad_header``: the first record was read and lacks a column). ``rows`` are the
    records of the header's width, ``lines`` where each starts; ``problems`` every
    record of another shape (torn, broken, too few fields), ``blank_lines`` the empty
    records skipped."""

    header: list[str] | None
    rows: list[list[str]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    problems: list[LogProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    blank_lines: int = 0
    bad_header: bool = False


def scan_rows(
    text: str,
    path: str,
    layout: Layout = DAILY,
    *,
    undecodable: bool = False,
    unconfirmed_from: int | None = None,
) -> RowScan:
    """The records of ``text`` (a whole file of ``layout``) that can be rows, with a
    problem for every other one: the header checked, broken records reported at their
    line, a torn last row (after the last confirmed save, line ``unconfirmed_from`` on,
    or cut mid-row) never a row. The one structural reader of every file the store
    writes; each file's own reader then checks the values (:func:`parse_log_text`).
    ``undecodable``: as for :func:`parse_log_text`."""
    if unconfirmed_from == 1 and text and csv_line(list(layout.columns)).startswith(text):
        return RowScan(None, warnings=[FIRST_SAVE_TORN.replace("the log's", f"{layout.what}'s")])
    scan = read_records(text)
    starts, records = scan.starts, scan.records
    if not records:
        if scan.broken:  # the header itself could not be read
            first = scan.broken[0]
            message = first.message or "expected a header, found an unclosed quote"
            return RowScan(None, problems=[LogProblem(path, 1, "header", message)])
        return RowScan(None, warnings=[f"{layout.what} is empty (no header yet)"])
    header = records[0]
    problems = _header_problems(path, header, layout.columns)
    if problems:
        return RowScan(None, problems=problems, bad_header=True)
    warnings = [
        f"{path}:1:{_column_name(header, position)}: unknown column {name!r} is kept "
        "in the file and ignored"
        for position, name in enumerate(header)
        if name not in layout.columns
    ]
    torn_tail = _torn_tail(scan, header, unconfirmed_from, layout)
    if torn_tail is not None:  # its later lines are pieces of it, not rows of their own
        pieces = sum(start > torn_tail.start for start in starts)
        if pieces:
            starts, records = starts[:-pieces], records[:-pieces]
    broken = scan.broken
    if torn_tail is not None:  # what is read again inside it is a piece of it too
        broken = [record for record in broken if record.start <= torn_tail.start]
    for record in broken:
        last = record is torn_tail
        problems.append(
            LogProblem(
                path,
                record.start,
                _column_name(header, record.field),
                _broken_problem(record, last),
            )
        )
    width = len(header)
    torn_line = None
    if (
        len(records) > 1
        and torn_tail is None
        and not any(record.end == scan.line_count for record in broken)  # reported as such
        and not text.endswith(("\n", "\r"))
        and (unconfirmed_from is not None or len(records[-1]) != width)
    ):  # cut mid-row; a complete last row without a newline is a row unless it is unconfirmed
        torn_line = starts[-1]
    if (
        torn_line is None
        and not undecodable
        and not broken
        and TORN_MARKER not in text
        and _all_of_width(records[1:], width)
    ):
        rows, lines, blank_lines = records[1:], starts[1:], 0  # the usual case: all whole
    else:
        rows, lines, blank_lines = _rows_of_shape(
            path, starts, records, torn_line, undecodable, problems, broken
        )
    return RowScan(header, rows, lines, problems, warnings, blank_lines)


def parse_log_text(
    text: str,
    path: str,
    *,
    known_exercises: Collection[str] | None = None,
    undecodable: bool = False,
    now: datetime | None = None,
    unconfirmed_from: int | None = None,
) -> LogData:
    """Validate the text of a log file; see :func:`read_log`.

    ``undecodable``: the file was not valid UTF-8 and was decoded with U+FFFD
    replacements; any field holding one is reported as a problem at its line and column.
    ``now``: the time ``recorded_at`` values may not be later than (default: the clock).
    ``unconfirmed_from``: the line where bytes after the last save this tracker
    confirmed start (:func:`read_log` finds it from ``<log>.appended``); a last record
    there that does not end its line is an unfinished save, never a row.
    """
    found = scan_rows(
        text, path, DAILY, undecodable=undecodable, unconfirmed_from=unconfirmed_from
    )
    header = found.header
    if header is None:
        separated = _separator_problem(path, text) if found.bad_header else None
        problems = [separated] if separated else found.problems
        return LogData(path, _empty_entries(), problems, found.warnings)
    positions = [header.index(name) for name in COLUMNS]
    columns, field_problems, unknown = _validated_columns(
        path, found.rows, found.lines, header, positions, known_exercises, now
    )
    problems = sorted(found.problems + field_problems, key=lambda p: p.line)
    places = cast(Sequence[str], columns["where"])
    warnings = found.warnings
    warnings += _kept_warnings(path, unknown, places, cast(Sequence[int], columns["line"]))
    if found.blank_lines:
        warnings.append(f"{path}: {found.blank_lines} empty row(s) skipped (they hold no data)")
    return LogData(path, _entries_frame(columns), problems, warnings)


# ------------------------------------------------------------------ the fast path

_CLEAN_HEADER = csv_line(list(COLUMNS)).encode("ascii")
"""The header the store writes: the only one the fast path reads."""
_WIDTH = len(COLUMNS)
_COMMA, _NEWLINE, _QUOTE = ord(","), ord("\n"), ord('"')
_NOT_CLEAN = (b"\r", b"\x00", TORN_MARKER.encode("utf-8"))
"""Bytes the fast path leaves to the strict reader (CR line ends, NUL, a torn row's mark)."""
_RECORDED_AT_SHAPE = "0000-00-00T00:00:00.000+00:00"
"""``recorded_at`` as the store writes it: 0 any ASCII digit, + either sign. A value of
this shape matches :data:`schema.RECORDED_AT_PATTERN`; any other is matched with it."""
_DATE_SHAPE = "0000-00-00"
"""``date`` as :data:`schema.DATE_PATTERN` allows it, character by character."""


def _clean_fields(data: bytes) -> tuple[list[list[str]], np.ndarray] | None:
    """Each column's stored texts (a quoted ``note`` still quoted) and the physical line
    (1-based) where each record starts, when ``data`` provably reads as the csv module
    reads it: the store's header, LF line ends, every record 7 fields ending in a
    newline, quotes only around a whole last field (``""`` inside it), no field longer
    than the csv module's limit, valid UTF-8 without a BOM. None otherwise.

    Found over the whole file at once: a ``,`` or LF separates fields where an even
    number of quotes precedes it (the quoting the checks above allow)."""
    if (
        len(data) <= len(_CLEAN_HEADER)
        or not data.startswith(_CLEAN_HEADER)
        or not data.endswith(b"\n")
        or any(text in data for text in _NOT_CLEAN)
    ):
        return None
    raw = np.frombuffer(data, dtype=np.uint8)
    candidates = np.flatnonzero((raw == _COMMA) | (raw == _NEWLINE))
    quotes = np.flatnonzero(raw == _QUOTE)
    if len(quotes) % 2:
        return None
    inside = (np.searchsorted(quotes, candidates) & 1).astype(bool)
    separators = candidates[~inside]
    records = len(separators) // _WIDTH
    kinds = raw[separators]
    if len(separators) != records * _WIDTH:
        return None
    kinds = kinds.reshape(records, _WIDTH)
    if not ((kinds[:, -1] == _NEWLINE).all() and (kinds[:, :-1] == _COMMA).all()):
        return None
    # an opening quote follows a comma (or closes "" inside), a closing one ends the record
    after_odd, before_even = raw[quotes[1::2] + 1], raw[quotes[0::2] - 1]
    if not (
        ((after_odd == _QUOTE) | (after_odd == _NEWLINE)).all()
        and ((before_even == _QUOTE) | (before_even == _COMMA)).all()
    ):
        return None
    if np.diff(separators).max() - 1 > FIELD_LIMIT:  # bytes: at least its characters
        return None
    marked = raw.copy()
    marked[separators] = 0  # NUL is not in the file: it splits fields alone
    try:
        flat = marked.tobytes().decode("utf-8").split("\x00")
    except UnicodeDecodeError:
        return None
    end = records * _WIDTH
    columns = [flat[_WIDTH + position : end : _WIDTH] for position in range(_WIDTH)]
    rows = records - 1
    lines = np.arange(2, rows + 2, dtype=np.int64)
    spanning = candidates[inside & (raw[candidates] == _NEWLINE)]  # LF inside a note
    if len(spanning):
        record_ends = separators[kinds.ravel() == _NEWLINE]
        extra = np.bincount(np.searchsorted(record_ends, spanning) - 1, minlength=rows)
        lines[1:] += np.cumsum(extra)[:-1]
    return columns, lines


def _shaped(texts: Sequence[str], shape: str) -> np.ndarray:
    """Where each text is exactly ``shape`` (``0``: an ASCII digit; ``+``: ``+`` or ``-``;
    any other character itself), over the whole column at once."""
    width = len(shape)
    codes = np.array(texts, dtype=f"U{width + 1}").view(np.uint32).reshape(len(texts), width + 1)
    digits = [i for i, char in enumerate(shape) if char == "0"]
    signs = [i for i, char in enumerate(shape) if char == "+"]
    fixed = [i for i, char in enumerate(shape) if char not in "0+"]
    sign = codes[:, signs]
    return np.asarray(
        (codes[:, width] == 0)  # no longer than the shape (texts hold no NUL)
        & ((codes[:, digits] - ord("0")) <= 9).all(axis=1)  # unsigned: below "0" wraps
        & (codes[:, fixed] == np.array([ord(shape[i]) for i in fixed], np.uint32)).all(axis=1)
        & ((sign == ord("+")) | (sign == ord("-"))).all(axis=1)
    )


def _clean_datetimes(name: str, texts: Sequence[str]) -> pd.DatetimeIndex | None:
    """``recorded_at`` or ``date`` as :func:`_check_datetimes` gives it when it finds no
    problem: every value matching the schema's pattern and clear of the range's ends;
    None otherwise (the strict reader then decides each value)."""
    shape, pattern = {
        "recorded_at": (_RECORDED_AT_SHAPE, RECORDED_AT_PATTERN),
        "date": (_DATE_SHAPE, DATE_PATTERN),
    }[name]
    odd = np.flatnonzero(~_shaped(texts, shape)).tolist()
    if not all(pattern.match(texts[index]) for index in odd):
        return None
    converted, clear = _converted_datetimes(name, texts)
    return converted if clear.all() else None


def _unquoted_note(field: str) -> str:
    """A ``note`` field the fast path found (quoted, ``""`` inside, or plain) as typed: as
    the csv module reads it, the formula guard off (:func:`schema.decode_note`)."""
    return decode_note(field[1:-1].replace('""', '"') if field[:1] == '"' else field)


def _clean_distinct(
    parse: Callable[[str], Any], texts: Sequence[str]
) -> tuple[np.ndarray, list[str], list[Any]] | None:
    """A column's codes (one per row), its distinct texts in order of first appearance,
    and each one parsed by the schema's ``parse``; None when one of them is refused."""
    codes, uniques = pd.factorize(np.array(texts, dtype=object))
    distinct = cast(list[str], uniques.tolist())
    try:
        parsed = [parse(text) for text in distinct]
    except FieldError:
        return None
    return codes, distinct, parsed


def _unknown_exercises(
    codes: np.ndarray,
    pairs: list[tuple[tuple[str, float | None], ...]],
    lines: np.ndarray,
    known: Collection[str],
) -> dict[str, int]:
    """Exercise ids not in ``known`` with the first line naming each, in the order the
    strict reader finds them (row by row: a text seen before adds nothing new).
    ``codes``/``pairs``: the column's codes and each distinct text's (id, minutes)."""
    first: np.ndarray | None = None
    unknown: dict[str, int] = {}
    for position, text_pairs in enumerate(pairs):
        strangers = [e for e, _ in text_pairs if e not in known]
        if strangers and first is None:
            first = np.unique(codes, return_index=True)[1]  # each text's first row
        for exercise_id in strangers:
            unknown.setdefault(exercise_id, int(lines[cast(np.ndarray, first)[position]]))
    return unknown


def parse_clean_log(
    data: bytes,
    path: str,
    *,
    known_exercises: Collection[str] | None = None,
    now: datetime | None = None,
) -> LogData | None:
    """The fast path of :func:`parse_log_bytes`: the log exactly as :func:`parse_log_text`
    gives it (entries, no problems, warnings) when the fast path can certify every
    record, else None (the caller then runs the strict reader, which reports each
    problem at its line and column).

    It certifies a log as the store writes it (:func:`_clean_fields`: LF line ends,
    only the note quoted) whose every value passes the schema's checks, made over whole
    columns: each distinct ``pain``, ``exercises``, ``day`` and ``where`` text by the
    schema's own parser, dates and times by their shape and one vectorised parse, then
    the strict reader's own checks between fields. It never decides tearing: call it
    only when nothing follows the last confirmed save (:func:`confirmed_end`).
    ``now``: as for :func:`parse_log_text`.
    """
    found = _clean_fields(data)
    if found is None:
        return None
    fields, lines = found
    texts = dict(zip(COLUMNS, fields, strict=True))
    recorded = _clean_datetimes("recorded_at", texts["recorded_at"])
    days = None if recorded is None else _clean_datetimes("date", texts["date"])
    pain = _clean_distinct(parse_pain, texts["pain"])
    exercises = _clean_distinct(exercise_pairs, texts["exercises"])
    day = _clean_distinct(parse_day, texts["day"])
    where = _clean_distinct(parse_where, texts["where"])
    if recorded is None or days is None or not (pain and exercises and day and where):
        return None
    if _across_fields(texts, recorded, (), now):
        return None
    codes, _, points = pain
    rated = np.array([-1 if value is None else value for value in points], np.int64)[codes]
    notes = [_unquoted_note(text) if text else text for text in texts["note"]]
    columns: dict[str, Any] = {  # any array-like _entries_frame takes
        "line": lines,
        "recorded_at": recorded,
        "date": days,
        "pain": pd.arrays.IntegerArray(rated, rated < 0),
        "exercises": texts["exercises"],
        "day": np.array(day[2], dtype=object)[day[0]],
        "where": texts["where"],
        "note": notes,
    }
    unknown = (
        {}
        if known_exercises is None
        else _unknown_exercises(exercises[0], exercises[2], lines, known_exercises)
    )
    warnings = _kept_warnings(path, unknown, texts["where"], lines.tolist())
    return LogData(path, _entries_frame(columns), [], warnings)


def parse_log_bytes(
    data: bytes,
    path: str,
    *,
    known_exercises: Collection[str] | None = None,
    confirmed_end: int | None = None,
) -> LogData:
    """Validate the bytes of a log file (UTF-8, with or without a BOM), lenient; see
    :func:`read_log`. Bytes that are not UTF-8 are decoded with U+FFFD in their place,
    and each field holding one is reported at its line and column. ``confirmed_end``:
    the byte offset where the last save this tracker confirmed ends
    (:func:`confirmed_end`), if known."""
    unconfirmed_from = unconfirmed_line(data, confirmed_end)
    if unconfirmed_from is None:  # nothing after the last confirmed save: no tearing to decide
        clean = parse_clean_log(data, path, known_exercises=known_exercises)
        if clean is not None:
            return clean
    try:
        text, undecodable = data.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        text, undecodable = data.decode("utf-8-sig", errors="replace"), True
    return parse_log_text(
        text,
        path,
        known_exercises=known_exercises,
        undecodable=undecodable,
        unconfirmed_from=unconfirmed_from,
    )


def confirmed_end(path: str | os.PathLike[str], data: bytes) -> int | None:
    """The byte offset in ``data`` (the bytes just read from the log at ``path``) where
    the last save this tracker confirmed ends, when ``<log>.appended`` names this file
    and the file still holds that save (see :func:`_confirmed_end`); else None."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return _confirmed_end(_read_note(Path(path)), info, data)


def _log_bytes(path: str | os.PathLike[str]) -> bytes:
    """The log's bytes: a regular file of at most :data:`LOG_LIMIT` bytes."""
    return read_user_file(path, limit=LOG_LIMIT, what="a log (CSV)")


def mode_warning(path: str | os.PathLike[str]) -> str | None:
    """A warning when the user's file at ``path`` is readable by others (not 0600), with
    the command that fixes it; None when it is private."""
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o077:
        return f"{path}: readable by others (mode {mode:o}); run: chmod 600 {path}"
    return None


def read_log(
    path: str | os.PathLike[str],
    *,
    strict: bool = True,
    known_exercises: Collection[str] | None = None,
) -> LogData:
    """Load and validate a log.

    ``strict``: raise :class:`LogFormatError` (path, line, column; all problems in
    ``.problems``) when any row is bad. Lenient (``strict=False``): return the valid rows
    and the list of problems. ``known_exercises``: ids of the current routine; rows naming
    other ids still load, with a warning. A UTF-8 BOM, CRLF line ends, quoted fields and
    columns in another order (what spreadsheets do on re-save) load unchanged.
    """
    path_text = str(path)
    data = _log_bytes(path)
    log = parse_log_bytes(
        data, path_text, known_exercises=known_exercises, confirmed_end=confirmed_end(path, data)
    )
    warning = mode_warning(path)
    if warning:
        log.warnings.append(warning)
    if strict and log.problems:
        raise LogFormatError(log.problems)
    return log


def latest_positions(entries: pd.DataFrame) -> np.ndarray:
    """Positions (``iloc``) of each logged date's current row, in date order: the row with
    the latest ``recorded_at``; ties (two saves in the same millisecond) go to the row
    later in the file. A date whose current row is ``void`` (withdrawn) is not logged and
    has no position."""
    if entries.empty:
        return np.array([], dtype=np.intp)
    days = entries["date"].to_numpy(dtype="datetime64[ns]").view("int64")
    order = np.lexsort(
        (
            entries["line"].to_numpy(),
            entries["recorded_at"].to_numpy(dtype="datetime64[ns]").view("int64"),
            days,
        )
    )
    sorted_days = days[order]
    latest = order[np.append(sorted_days[1:] != sorted_days[:-1], True)]
    day_types = entries["day"].to_numpy(dtype=object)
    withdrawn = day_types[latest] == VOID
    positions: np.ndarray = latest[~withdrawn] if withdrawn.any() else latest
    return positions


def latest_per_date(entries: pd.DataFrame) -> pd.DataFrame:
    """Each logged date's current state: its row with the latest ``recorded_at`` (see
    :func:`latest_positions`; withdrawn dates are left out). Sorted by date; earlier rows
    for a date are history and left out."""
    return entries.iloc[latest_positions(entries)].reset_index(drop=True)


def history_for(entries: pd.DataFrame, day: date) -> pd.DataFrame:
    """Every save for one date, oldest first (the last one is the day's state)."""
    rows = entries[entries["date"] == pd.Timestamp(day)]
    return rows.sort_values(["recorded_at", "line"], kind="stable").reset_index(drop=True)


def exercise_table(entries: pd.DataFrame) -> pd.DataFrame:
    """Long table of what was done: ``line``, ``date``, ``exercise``, ``minutes``.

    ``minutes`` is NaN for "done, minutes not given". Rows with nothing done add nothing.
    """
    records = [
        (line, day, exercise_id, float("nan") if minutes is None else minutes)
        for line, day, text in zip(
            entries["line"], entries["date"], entries["exercises"], strict=True
        )
        if text
        for exercise_id, minutes in exercise_pairs(text)  # memoised, parsed on load
    ]
    table = pd.DataFrame.from_records(records, columns=["line", "date", "exercise", "minutes"])
    return table.astype({"line": "int64", "date": "datetime64[ns]", "minutes": "float64"})


def raw_rows(path: str | os.PathLike[str], lines: list[int]) -> list[dict[str, object]]:
    """The saved rows starting at these ``lines``, in that order, values as stored.

    ``recorded_at`` keeps its own UTC offset; ``note`` is as typed (formula guard
    removed); ``pain`` is an int or None, ``exercises`` {id: minutes or None} and
    ``where`` a list. Used by ``backtrack history``.
    """
    if not lines:
        return []
    wanted = set(lines)
    text = _log_bytes(path).decode("utf-8-sig", errors="replace")  # as parse_log_bytes
    scan = read_records(text)
    starts, records = scan.starts, scan.records
    header = records[0]
    found: dict[int, dict[str, object]] = {}
    for line, record in zip(starts[1:], records[1:], strict=True):
        if line not in wanted:
            continue
        fields = dict(zip(header, record, strict=True))
        found[line] = {
            "line": line,
            "recorded_at": fields["recorded_at"],
            "date": fields["date"],
            "pain": parse_pain(fields["pain"]),
            "exercises": parse_exercises(fields["exercises"]),
            "day": fields["day"] or "routine",
            "where": list(parse_where(fields["where"])),
            "note": decode_note(fields["note"]),
        }
    return [found[line] for line in lines]
