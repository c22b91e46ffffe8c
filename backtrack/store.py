"""The append-only CSV log: durable appends under a lock, and validating reads.

Appending never re-reads or rewrites the log: it takes the lock (``<log>.lock``), reads
the header (to write the row in the file's own column order) and the last byte, writes
the whole row in one ``write``, then flushes and fsyncs. Reading validates every row and
reports each problem as ``path:line:column: message``; nothing is dropped silently.
"""

from __future__ import annotations

import csv
import io
import os
import re
import stat
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from filelock import FileLock, Timeout

from .errors import FieldError, LogFormatError, LogLockedError, LogProblem
from .schema import (
    COLUMNS,
    DATE_PATTERN,
    FIELD_PARSERS,
    NOTE_GUARD,
    RECORDED_AT_PATTERN,
    Entry,
    csv_line,
    decode_note,
    exercise_ids,
    exercise_pairs,
    parse_exercises,
    parse_pain,
    parse_where,
)

DEFAULT_LOG = Path("data") / "backtrack.csv"
ENV_VAR = "BACKTRACK_CSV"
LOCK_TIMEOUT_SECONDS = 10.0
_HEADER_PROBE_BYTES = 64 * 1024
UNDECODABLE = "\ufffd"
TORN_MARKER = "backtrack: unfinished row, a save was interrupted"
"""Written after a torn last row (as one extra field) when the next save starts a line."""


def resolve_log_path(csv_path: str | os.PathLike[str] | None = None) -> Path:
    """The log to use: ``csv_path``, else ``$BACKTRACK_CSV``, else ``data/backtrack.csv``."""
    if csv_path:
        return Path(csv_path)
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else DEFAULT_LOG


def _read_header(fd: int, path: Path) -> list[str]:
    """The header of an existing log (first record), read with one ``pread``."""
    head = os.pread(fd, _HEADER_PROBE_BYTES, 0).decode("utf-8-sig", errors="replace")
    first = next(csv.reader(io.StringIO(head, newline="")), [])
    problems = _header_problems(str(path), first)
    if problems:
        raise LogFormatError(problems)
    return first


def _separator_before_append(fd: int, size: int) -> str:
    """What to write before a new row so it never merges with a torn last row.

    Normally nothing (the file ends with a newline: one 1-byte ``pread``). After a crash
    mid-write the last row has no newline: close an open quoted field if the torn row
    ended inside one (odd number of quotes in the file), add one field holding
    :data:`TORN_MARKER` so the fragment can never pass for a complete row (e.g. a note
    cut short), and start a fresh line. The torn bytes themselves are kept as they were.
    Only this rare path reads the whole file.
    """
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return ""
    quotes = 0
    offset = 0
    while offset < size:
        chunk = os.pread(fd, 1 << 20, offset)
        if not chunk:
            break
        quotes += chunk.count(b'"')
        offset += len(chunk)
    return ('"' if quotes % 2 else "") + f',"{TORN_MARKER}"\n'


def append_row(
    path: str | os.PathLike[str],
    row: Mapping[str, str],
    *,
    timeout: float = LOCK_TIMEOUT_SECONDS,
) -> None:
    """Append one row (stored field texts by column name) to the log, durably.

    Creates the log with its header (mode 0600; its folder 0700 when we create it).
    Columns the file has beyond schema v1 get empty values. Raises
    :class:`LogLockedError` when another save holds the lock longer than ``timeout``
    seconds; on a short write the partial bytes are cut off again, so a failed append
    leaves the file as it was.
    """
    path = Path(path)
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    lock = FileLock(f"{path}.lock", timeout=timeout, mode=0o600)
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
            size = os.fstat(fd).st_size
            if size == 0:
                header = list(COLUMNS)
                text = csv_line(header)
            else:
                header = _read_header(fd, path)
                text = _separator_before_append(fd, size)
            text += csv_line([row.get(name, "") for name in header])
            data = text.encode("utf-8")
            written = os.write(fd, data)
            if written != len(data):
                os.ftruncate(fd, size)
                raise OSError(f"{path}: short write ({written} of {len(data)} bytes); undone")
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            _fsync_directory(path.parent)
    finally:
        lock.release()


def append_entry(path: str | os.PathLike[str], entry: Entry, **kwargs: float) -> dict[str, str]:
    """Append a validated :class:`Entry`; returns the fields as stored."""
    row = entry.to_row()
    append_row(path, row, **kwargs)
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


def _header_problems(path: str, header: list[str]) -> list[LogProblem]:
    problems = []
    found = ",".join(header)[:80]
    for name in COLUMNS:
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
    if len(fields) > width and fields[-1] == TORN_MARKER:
        return (
            _column_name(header, min(len(fields) - 1, width) - 1),
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


_COLUMN_CHECKS = {**FIELD_PARSERS, "exercises": exercise_ids}
_DATETIMES = {
    "recorded_at": (RECORDED_AT_PATTERN, {"format": "ISO8601", "utc": True}),
    "date": (DATE_PATTERN, {"format": "%Y-%m-%d"}),
}
_ASCII_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")


def _all_match(pattern: re.Pattern[str], values: Sequence[str]) -> bool:
    """True when every value matches ``pattern``, which must end in ``\\Z`` and treat all
    digits alike (``\\d`` only, no digit literals, as the date patterns do).

    Checks each distinct *shape* once: the values joined, ASCII digits turned into ``0``
    (in UTF-8 bytes, where no other character has a byte below 128), split again. A value
    matches exactly when its shape does. A value holding a newline never matches.
    """
    if not values:
        return True
    joined = "\n".join(values)
    if joined.count("\n") != len(values) - 1:
        return False
    shapes = set(
        joined.encode("utf-8", "surrogatepass").translate(_ASCII_DIGITS_TO_ZERO).split(b"\n")
    )
    return all(pattern.match(shape.decode("utf-8", "surrogatepass")) for shape in shapes)


def _validated_columns(
    path: str,
    rows: list[list[str]],
    lines: list[int],
    header: list[str],
    positions: list[int],
    known_exercises: Collection[str] | None,
) -> tuple[dict[str, list], list[LogProblem], dict[str, int]]:
    """Check rows of the right shape column by column, each distinct value once.

    Returns the columns of the valid rows (stored text, except ``recorded_at`` and
    ``date`` as datetimes, ``pain`` as an Int64 array (NA = not rated), ``day`` with
    empty as routine and ``note`` as typed), a problem per bad field, and exercise ids
    unknown to the routine with the first line naming each.
    """
    by_column = list(zip(*rows, strict=True)) if rows else [()] * len(header)
    parsed: dict[str, object] = {}
    bad: dict[int, list[LogProblem]] = {}

    def report(index: int, name: str, exc: FieldError) -> None:
        bad.setdefault(index, []).append(
            LogProblem(path, lines[index], name, f"expected {exc.expected}, found {exc.found!r}")
        )

    for name, position in zip(COLUMNS, positions, strict=True):
        values = by_column[position]
        if name in _DATETIMES:  # nearly all distinct: one vectorised parse, reused below
            pattern, options = _DATETIMES[name]
            converted = pd.to_datetime(list(values), errors="coerce", **options)
            missing = converted.isna()
            if not missing.any() and _all_match(pattern, values):
                parsed[name] = converted
                continue
            missing = missing.tolist()
            for index, value in enumerate(values):
                if missing[index] or not pattern.match(value):
                    try:
                        FIELD_PARSERS[name](value)
                        raise FieldError(name, "a value pandas can read as a date", value)
                    except FieldError as exc:
                        report(index, name, exc)
            parsed[name] = converted
            continue
        if name == "note":  # any text is a note: only the formula guard comes off
            parsed[name] = {v: v[1:] for v in set(values) if v[:1] == NOTE_GUARD}
            continue
        check = _COLUMN_CHECKS[name]
        results: dict[str, object] = {}
        failures: dict[str, FieldError] = {}
        for value in set(values):
            try:
                results[value] = check(value)
            except FieldError as exc:
                failures[value] = exc
        parsed[name] = results
        if failures:
            for index, value in enumerate(values):
                if value in failures:
                    report(index, name, failures[value])
    keep = [i for i in range(len(rows)) if i not in bad] if bad else None
    columns: dict[str, list] = {"line": list(lines) if keep is None else [lines[i] for i in keep]}

    def kept(values: Sequence) -> Sequence:
        return values if keep is None else [values[i] for i in keep]

    for name, position in zip(COLUMNS, positions, strict=True):
        values = by_column[position]
        if name in _DATETIMES:
            columns[name] = parsed[name] if keep is None else parsed[name][keep]
        elif name == "pain":  # 0-10 NRS, -1 = not rated
            points = {text: -1 if value is None else value for text, value in parsed[name].items()}
            rated = np.fromiter(map(points.__getitem__, kept(values)), dtype=np.int64)
            columns[name] = pd.arrays.IntegerArray(rated, rated < 0)
        elif name == "day":
            columns[name] = list(map(parsed[name].__getitem__, kept(values)))
        elif name == "note" and parsed[name]:
            guarded = parsed[name]
            columns[name] = [guarded.get(v, v) for v in kept(values)]
        else:
            columns[name] = kept(values)
    for position, name in enumerate(header):
        if name not in COLUMNS:
            columns[name] = kept(by_column[position])
    unknown: dict[str, int] = {}
    if known_exercises is not None:
        strangers = {  # exercises texts naming ids the routine does not know
            text: others
            for text, ids in parsed["exercises"].items()
            if (others := [e for e in ids if e not in known_exercises])
        }
        if strangers:  # the first kept row naming each (rows left out do not count)
            texts = by_column[positions[COLUMNS.index("exercises")]]
            for i in range(len(rows)) if keep is None else keep:
                for exercise_id in strangers.get(texts[i], ()):
                    unknown.setdefault(exercise_id, lines[i])
    problems = [p for index in sorted(bad) for p in bad[index]]
    return columns, problems, unknown


def read_records(text: str) -> tuple[list[int], list[list[str]], str | None]:
    """CSV records of ``text`` and the physical line (1-based) where each starts.

    Returns (start lines, records, error): ``error`` says why reading stopped early (only
    for absurd fields beyond ``csv.field_size_limit``), else None. The lines are the csv
    module's own count (a record spans the newlines inside its quoted fields; CRLF, LF and
    a lone CR each end one line).
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    ends: list[int] = []
    records: list[list[str]] = []
    keep_end = ends.append
    keep_record = records.append
    error = None
    try:
        for fields in reader:
            keep_record(fields)
            keep_end(reader.line_num)
    except csv.Error as exc:
        error = f"{exc} (at line {(ends[-1] if ends else 0) + 1})"
    starts = [1, *(end + 1 for end in ends[:-1])] if ends else []
    return starts, records, error


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


def _datetimes(values: pd.DatetimeIndex | list[str], **options: object) -> pd.DatetimeIndex:
    """``values`` as datetimes: parsed with ``options`` unless they already are."""
    if isinstance(values, pd.DatetimeIndex):
        return values
    return pd.to_datetime(values, **options)


def _entries_frame(columns: dict[str, list]) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "line": np.array(columns["line"], dtype=np.int64),
            "recorded_at": _datetimes(columns["recorded_at"], format="ISO8601", utc=True),
            "date": _datetimes(columns["date"], format="%Y-%m-%d"),
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
) -> tuple[list[list[str]], list[int], int]:
    """The data records of the header's width (and their lines), the number of blank
    ones; a problem appended for each record of another shape."""
    header = records[0]
    blank_lines = 0
    rows: list[list[str]] = []
    lines: list[int] = []
    for line, fields in zip(starts[1:], records[1:], strict=True):
        problem = _shape_problem(fields, header, line == torn_line, undecodable)
        if problem == "blank":
            blank_lines += 1
        elif problem:
            problems.append(LogProblem(path, line, *problem))
        else:
            rows.append(fields)
            lines.append(line)
    return rows, lines, blank_lines


def parse_log_text(
    text: str,
    path: str,
    *,
    known_exercises: Collection[str] | None = None,
    undecodable: bool = False,
) -> LogData:
    """Validate the text of a log file; see :func:`read_log`.

    ``undecodable``: the file was not valid UTF-8 and was decoded with U+FFFD
    replacements; any field holding one is reported as a problem at its line and column.
    """
    problems: list[LogProblem] = []
    warnings: list[str] = []
    starts, records, read_error = read_records(text)
    if not records:
        return LogData(path, _empty_entries(), [], ["the log is empty (no header yet)"])
    header = records[0]
    problems += _header_problems(path, header)
    if problems:
        return LogData(path, _empty_entries(), problems, warnings)
    for position, name in enumerate(header):
        if name not in COLUMNS:
            warnings.append(
                f"{path}:1:{_column_name(header, position)}: unknown column {name!r} is kept "
                "in the file and ignored"
            )
    if read_error:
        line = starts[-1] + 1
        problems.append(
            LogProblem(
                path,
                line,
                _column_name(header, 0),
                f"expected CSV, found what cannot be read: {read_error}",
            )
        )
    positions = [header.index(name) for name in COLUMNS]
    width = len(header)
    torn = bool(text) and (not text.endswith("\n") or text.count('"') % 2 == 1)
    torn_line = starts[-1] if torn and len(records) > 1 else None
    if torn_line is None and not undecodable and _all_of_width(records[1:], width):
        rows, lines, blank_lines = records[1:], starts[1:], 0  # the usual case: all whole
    else:
        rows, lines, blank_lines = _rows_of_shape(
            path, starts, records, torn_line, undecodable, problems
        )
    columns, field_problems, unknown = _validated_columns(
        path, rows, lines, header, positions, known_exercises
    )
    problems = sorted(problems + field_problems, key=lambda p: p.line)
    for exercise_id, where in unknown.items():
        warnings.append(
            f"{path}:{where}:exercises: {exercise_id!r} is not in the current routine; "
            "the rows are kept and the exercise is not counted in adherence"
        )
    if blank_lines:
        warnings.append(f"{path}: {blank_lines} empty row(s) skipped (they hold no data)")
    return LogData(path, _entries_frame(columns), problems, warnings)


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
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8-sig")
        undecodable = False
    except UnicodeDecodeError:
        text = data.decode("utf-8-sig", errors="replace")
        undecodable = True
    log = parse_log_text(text, path_text, known_exercises=known_exercises, undecodable=undecodable)
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o077:
        log.warnings.append(
            f"{path_text}: readable by others (mode {mode:o}); run: chmod 600 {path_text}"
        )
    if strict and log.problems:
        raise LogFormatError(log.problems)
    return log


def latest_positions(entries: pd.DataFrame) -> np.ndarray:
    """Positions (``iloc``) of each date's current row, in date order: the row with the
    latest ``recorded_at``; ties (two saves in the same millisecond) go to the row later
    in the file."""
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
    return order[np.append(sorted_days[1:] != sorted_days[:-1], True)]


def latest_per_date(entries: pd.DataFrame) -> pd.DataFrame:
    """Each date's current state: its row with the latest ``recorded_at`` (see
    :func:`latest_positions`). Sorted by date; earlier rows for a date are history and
    left out."""
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
    wanted = set(lines)
    text = Path(path).read_bytes().decode("utf-8-sig")
    starts, records, _ = read_records(text)
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
