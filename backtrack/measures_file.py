"""The measures file: the PEG, PSFS and PGIC answers, beside the daily log.

``backtrack.measures.csv`` next to ``backtrack.csv`` (:func:`measures_path`): one row
per answer set, append-only, header first, written and read by the store's own
implementation (:data:`MEASURES`, a :class:`backtrack.store.Layout`): the lock, one
whole write, fsync, undo on failure, the append note and the torn-row rules are the
daily log's. The daily log is not touched: every v1 log stays valid and reads as before.

=============== ==================================================================
column          meaning
=============== ==================================================================
``recorded_at`` when the answers were saved, ISO 8601 with UTC offset
``date``        the day they were given for, ``YYYY-MM-DD``
``measure``     ``peg``, ``psfs`` or ``pgic``
``status``      ``answered``, or ``void``: the date's answers for that measure are
                withdrawn (a ``void`` row has no values and no activities)
``value_1``-5   the answers in order: PEG pain, enjoyment, activity (0-10 each; empty =
                not answered); PSFS one rating 0-10 per activity (empty = named, not
                rated); PGIC one answer 1-7 in ``value_1``
``activity_1``-5 the PSFS activities in the patient's words, one per value (always
                quoted; a leading ``=``, ``+``, ``-``, ``@`` gets the log's ``'`` guard)
=============== ==================================================================

The row with the latest ``recorded_at`` for a ``date`` and ``measure`` is its state
(a correction is a new row; ties go to the row later in the file); earlier rows are
history.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from ._files import LOG_LIMIT, read_user_file
from .errors import FieldError, LogFormatError, LogProblem
from .measures import (
    MEASURES,
    PEG,
    PEG_ITEMS,
    PGIC,
    PSFS,
    PSFS_ACTIVITIES_MAX,
    Answers,
    check_activity,
)
from .schema import decode_note, encode_note, parse_date, parse_recorded_at
from .store import (
    APPENDED_SUFFIX,
    FUTURE_TOLERANCE,
    LOCK_SUFFIX,
    TORN_MARKER,
    Layout,
    append_row,
    confirmed_end,
    mode_warning,
    scan_rows,
    unconfirmed_line,
)

SLOTS = PSFS_ACTIVITIES_MAX
VALUE_COLUMNS = tuple(f"value_{n}" for n in range(1, SLOTS + 1))
ACTIVITY_COLUMNS = tuple(f"activity_{n}" for n in range(1, SLOTS + 1))
COLUMNS: tuple[str, ...] = (
    "recorded_at",
    "date",
    "measure",
    "status",
    *VALUE_COLUMNS,
    *ACTIVITY_COLUMNS,
)
ANSWERED, VOID = "answered", "void"
MEASURES_SUFFIX = ".measures"
"""``backtrack.csv`` → ``backtrack.measures.csv``."""
_RANGES = {PEG: (0, 10), PSFS: (0, 10), PGIC: (1, 7)}


@dataclass(frozen=True)
class StoredAnswers:
    """One row of the measures file: where it starts (``line``), when it was saved, its
    ``status`` (answered or void) and the answers (no values for a void row)."""

    line: int
    recorded_at: datetime
    status: str
    answers: Answers


def _value(measure: str, column: str, text: str) -> int | None:
    low, high = _RANGES[measure]
    if text == "":
        return None
    if text.isascii() and text.isdigit() and len(text) <= 2 and low <= int(text) <= high:
        return int(text)
    raise FieldError(column, f"an integer {low}-{high} or empty ({measure})", text)


def _used_slots(measure: str) -> int:
    return {PEG: len(PEG_ITEMS), PSFS: SLOTS, PGIC: 1}[measure]


def parse_measure_row(row: Mapping[str, str], line: int = 0) -> StoredAnswers:
    """Validate the stored fields of one row of the measures file; raises
    :class:`FieldError` naming the first bad column."""
    recorded_at = parse_recorded_at(row["recorded_at"])
    day = parse_date(row["date"])
    measure = row["measure"]
    if measure not in MEASURES:
        raise FieldError("measure", f"one of {', '.join(MEASURES)}", measure)
    status = row["status"]
    if status not in (ANSWERED, VOID):
        raise FieldError("status", f"{ANSWERED} or {VOID}", status)
    if row["date"] > row["recorded_at"][:10]:  # both YYYY-MM-DD in ASCII digits
        raise FieldError(
            "date",
            f"a day no later than the day it was saved ({row['recorded_at'][:10]})",
            row["date"],
        )
    texts = [row[name] for name in VALUE_COLUMNS]
    names = [row[name] for name in ACTIVITY_COLUMNS]
    if status == VOID:
        for column, text in zip(
            (*VALUE_COLUMNS, *ACTIVITY_COLUMNS), (*texts, *names), strict=True
        ):
            if text:
                raise FieldError(column, "empty in a void row (it withdraws the answers)", text)
        return StoredAnswers(line, recorded_at, status, Answers(measure, day, ()))
    used = _used_slots(measure)
    for column, text in zip(VALUE_COLUMNS[used:], texts[used:], strict=True):
        if text:
            raise FieldError(column, f"empty ({measure} has {used} answer(s))", text)
    if measure != PSFS:
        for column, text in zip(ACTIVITY_COLUMNS, names, strict=True):
            if text:
                raise FieldError(
                    column, f"empty (only the PSFS names activities, not {measure})", text
                )
        values = tuple(
            _value(measure, c, t) for c, t in zip(VALUE_COLUMNS[:used], texts, strict=False)
        )
        if all(value is None for value in values):
            raise FieldError(VALUE_COLUMNS[0], f"at least one answer ({measure})", "")
        return StoredAnswers(line, recorded_at, status, Answers(measure, day, values))
    activities: list[str] = []
    ratings: list[int | None] = []
    for n, (value_text, stored_name) in enumerate(zip(texts, names, strict=True)):
        column = ACTIVITY_COLUMNS[n]
        if not stored_name:
            if value_text:
                raise FieldError(column, "the activity this rating is for", "")
            continue
        try:
            name = check_activity(decode_note(stored_name))
        except FieldError as exc:
            raise FieldError(column, exc.expected, exc.found) from None
        if name != decode_note(stored_name):
            raise FieldError(
                column, "an activity's name without spaces at either end", stored_name
            )
        if name in activities:
            raise FieldError(column, "each activity once", name)
        activities.append(name)
        ratings.append(_value(measure, VALUE_COLUMNS[n], value_text))
    if not activities:
        raise FieldError(ACTIVITY_COLUMNS[0], "at least one activity (psfs)", "")
    return StoredAnswers(
        line, recorded_at, status, Answers(measure, day, tuple(ratings), tuple(activities))
    )


MEASURES_LAYOUT = Layout(
    COLUMNS, parse_measure_row, frozenset(ACTIVITY_COLUMNS), "the measures file"
)
"""The measures file for the store: its columns, its row check, the always-quoted
activity names."""


def measures_path(log_path: str | os.PathLike[str]) -> Path:
    """The measures file beside the log: ``backtrack.csv`` → ``backtrack.measures.csv``."""
    log = Path(log_path)
    return log.with_name(f"{log.stem}{MEASURES_SUFFIX}{log.suffix}")


def answers_row(answers: Answers, recorded_at: datetime) -> dict[str, str]:
    """The stored fields of one answer set saved at ``recorded_at`` (checked by
    :func:`parse_measure_row`, so nothing is stored that loads as something else)."""
    row = {name: "" for name in COLUMNS}
    row["recorded_at"] = recorded_at.isoformat(timespec="milliseconds")
    row["date"] = answers.date.isoformat()
    row["measure"] = answers.measure
    row["status"] = ANSWERED
    if len(answers.values) > SLOTS or len(answers.activities) > SLOTS:
        raise FieldError(answers.measure, f"at most {SLOTS} answers", len(answers.values))
    for n, value in enumerate(answers.values):
        row[VALUE_COLUMNS[n]] = "" if value is None else str(value)
    for n, name in enumerate(answers.activities):
        if name == TORN_MARKER:  # the store would refuse it, after other sets were written
            raise FieldError(
                "psfs.activity", "any name but the words backtrack writes after a torn save", name
            )
        row[ACTIVITY_COLUMNS[n]] = encode_note(name)
    parse_measure_row(row)
    return row


def void_row(measure: str, day: date, recorded_at: datetime) -> dict[str, str]:
    """The stored fields of a row withdrawing ``measure``'s answers for ``day``."""
    row = {name: "" for name in COLUMNS}
    row.update(
        recorded_at=recorded_at.isoformat(timespec="milliseconds"),
        date=day.isoformat(),
        measure=measure,
        status=VOID,
    )
    parse_measure_row(row)
    return row


def append_answers(path: str | os.PathLike[str], row: Mapping[str, str]) -> None:
    """Append one row to the measures file, durably, with the daily log's guarantees
    (:func:`backtrack.store.append_row`: lock ``<file>.lock``, one whole write, fsync,
    undo on failure, mode 0600)."""
    append_row(path, row, layout=MEASURES_LAYOUT)


@dataclass
class MeasuresData:
    """The measures file as loaded: its valid ``rows`` in file order, ``problems`` (rows
    left out, each at ``path:line:column``) and ``warnings``."""

    path: str
    rows: list[StoredAnswers] = field(default_factory=list)
    problems: list[LogProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def parse_measures_bytes(
    data: bytes, path: str, *, confirmed: int | None = None, now: datetime | None = None
) -> MeasuresData:
    """Validate the bytes of a measures file (see :func:`read_measures`); ``confirmed``:
    where the last save this tracker confirmed ends (:func:`backtrack.store.confirmed_end`)."""
    try:
        text, undecodable = data.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        text, undecodable = data.decode("utf-8-sig", errors="replace"), True
    scan = scan_rows(
        text,
        path,
        MEASURES_LAYOUT,
        undecodable=undecodable,
        unconfirmed_from=unconfirmed_line(data, confirmed),
    )
    found = MeasuresData(path, [], list(scan.problems), list(scan.warnings))
    if scan.header is None:
        return found
    limit = (now or datetime.now().astimezone()) + FUTURE_TOLERANCE
    for line, fields in zip(scan.lines, scan.rows, strict=True):
        row = dict(zip(scan.header, fields, strict=True))
        try:
            stored = parse_measure_row(row, line)
        except FieldError as exc:
            message = f"expected {exc.expected}, found {exc.found!r}"
            found.problems.append(LogProblem(path, line, exc.field, message))
            continue
        if stored.recorded_at > limit:
            message = (
                f"expected a time no later than now ({limit - FUTURE_TOLERANCE:%Y-%m-%d %H:%M}; "
                f"is a clock wrong?), found {row['recorded_at']!r}"
            )
            found.problems.append(LogProblem(path, line, "recorded_at", message))
            continue
        found.rows.append(stored)
    found.problems.sort(key=lambda problem: problem.line)
    if scan.blank_lines:
        found.warnings.append(
            f"{path}: {scan.blank_lines} empty row(s) skipped (they hold no data)"
        )
    return found


def read_measures(path: str | os.PathLike[str], *, strict: bool = False) -> MeasuresData:
    """Load and validate a measures file (none yet: no rows). Lenient by default: the
    valid rows and every problem; ``strict``: raise :class:`LogFormatError`."""
    path_text = str(path)
    if not os.path.lexists(path):
        return MeasuresData(path_text)
    data = read_user_file(path, limit=LOG_LIMIT, what="a measures file (CSV)")
    found = parse_measures_bytes(data, path_text, confirmed=confirmed_end(path, data))
    warning = mode_warning(path)
    if warning:
        found.warnings.append(warning)
    if strict and found.problems:
        raise LogFormatError(found.problems)
    return found


def current_answers(data: MeasuresData) -> list[Answers]:
    """Each date and measure's current answers: its row with the latest ``recorded_at``
    (ties: the later line); a date whose latest row is ``void`` has none. Sorted by
    date, then measure."""
    latest: dict[tuple[date, str], StoredAnswers] = {}
    for stored in data.rows:
        key = (stored.answers.date, stored.answers.measure)
        held = latest.get(key)
        if held is None or (stored.recorded_at, stored.line) >= (held.recorded_at, held.line):
            latest[key] = stored
    kept = [s.answers for s in latest.values() if s.status == ANSWERED]
    return sorted(kept, key=lambda a: (a.date, MEASURES.index(a.measure)))


def kept_measures_files(log_path: str | os.PathLike[str]) -> dict[Path, str]:
    """The measures file beside the log and its lock and append note, each with what it
    is: no output command replaces them (:func:`backtrack.outputs.kept_files`)."""
    path = measures_path(log_path)
    return {
        path: "the measures file",
        Path(f"{path}{LOCK_SUFFIX}"): "the measures file's lock file",
        Path(f"{path}{APPENDED_SUFFIX}"): "the measures file's append note",
    }
