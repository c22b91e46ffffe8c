"""Repair a log that a spreadsheet saved again in its own CSV dialect (``backtrack repair``).

A spreadsheet in many locales writes ``;`` or tab separators, decimal commas, dates as
``m/d/yyyy`` or ``d.m.yyyy``, times without their UTC offset, and drops the ``'`` that
keeps a note from running as a formula. :func:`repair_log` reads such a file, turns each
field back into the log's own spelling, checks every row with the log's parsers
(:func:`backtrack.schema.parse_row`), and writes a new file whole (0600): the original is
never touched. Every change is listed, and so is what cannot be recovered (a note
``007`` the spreadsheet turned into ``7``; seconds it cut from a time; a row whose
fields cannot be read is left out of the output and named).

Times without an offset are read in ``utc_offset`` when given, else in this computer's
time zone on that date (what the spreadsheet showed was the local time of the save).
Nothing is guessed: a value is rewritten only when it has one reading (pain ``7,0``);
the order of ``/`` dates comes from the ``date`` and ``recorded_at`` columns together
(never from notes) and is asked for (``date_order``) when both orders fit; a time of
day the spreadsheet cut is kept as the date, and said.
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from .._files import LOG_LIMIT, Kept, OutputKind, check_output, read_user_file, write_private
from ..errors import FieldError, InputError
from ..schema import (
    COLUMNS,
    FORMULA_PREFIXES,
    NOTE_GUARD,
    PAIN_MAX,
    PAIN_MIN,
    RECORDED_AT_PATTERN,
    STORED_DAY_TYPES,
    csv_line,
    encode_note,
    parse_row,
)
from ..store import row_line

REPAIRED = OutputKind("a repaired log")
"""What ``repair`` writes: only ever a new file."""
SEPARATORS = {",": "commas", ";": "semicolons", "\t": "tabs"}
_DMY_DOT = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{2}|\d{4})\Z", re.ASCII)
_SLASH = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})\Z", re.ASCII)
_ISO_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})\Z", re.ASCII)
_TIME = re.compile(
    r"(?P<day>\S+)[ T](?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,6}))?)?"
    r"\s*(?P<ampm>[AaPp][Mm])?(?P<offset>Z|[+-]\d{2}:?\d{2})?\Z",
    re.ASCII,
)
_PAIN = re.compile(r"(?P<whole>\d+)(?:[.,](?P<fraction>\d+))?\Z", re.ASCII)
_NUMBER_NOTE = re.compile(r"-?\d+(?:[.,]\d+)?(?:[Ee][+-]?\d+)?\Z", re.ASCII)
_DECIMAL_COMMA = re.compile(r"(\d+),(\d+)\Z", re.ASCII)


@dataclass
class Change:
    """One change (or a loss that cannot be undone) at ``line`` (of IN) and ``column``."""

    line: int
    column: str
    found: str
    wrote: str
    why: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.column}: {self.found!r} -> {self.wrote!r} ({self.why})"


@dataclass
class RepairReport:
    """What :func:`repair_log` did: the ``dialect`` found, the ``changes`` made,
    ``unrecoverable`` things it could not undo, ``left_out`` rows (line, reason) and how
    many ``rows`` it wrote to ``output``."""

    source: str
    output: str
    dialect: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    unrecoverable: list[Change] = field(default_factory=list)
    left_out: list[tuple[int, str]] = field(default_factory=list)
    rows: int = 0


LEGACY = "Windows-1252 text, not UTF-8 (re-encoded as UTF-8)"


def _decode(data: bytes, report: RepairReport) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        report.dialect.append("a UTF-8 byte order mark (removed)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        report.dialect.append(LEGACY)
        return data.decode("cp1252", errors="replace")


def _possible_losses(
    written: list[tuple[int, dict[str, str]]],
    spreadsheet: bool,
    legacy_save: bool,
    report: RepairReport,
) -> None:
    """List what a spreadsheet may have changed in the notes beyond recall. In any file:
    LF line breaks inside a note (a spreadsheet writes each as LF, and LibreOffice's
    save shows no other sign). When the file shows a ``spreadsheet``'s dialect: a guard
    ``'`` it kept (it drops guards, so this may be the note's own ``'``), and a ``?``
    where a ``legacy_save`` could not hold a character. A byte Windows-1252 does not
    define."""
    guarded = {c.line for c in report.changes if c.column == "note"}  # ' put back here
    for line, row in written:
        note = row["note"]
        kept_guard = note.startswith(NOTE_GUARD) and note[1:].startswith(
            (*FORMULA_PREFIXES, NOTE_GUARD)
        )
        if spreadsheet and kept_guard and line not in guarded:
            report.unrecoverable.append(
                Change(
                    line,
                    "note",
                    note,
                    note,
                    "a note starting with ' that the spreadsheet kept: it drops the ' that "
                    f"guards a note, so this may be the note's own ' (the note was {note!r}, "
                    f"stored {NOTE_GUARD + note!r}) or the guard (the note is {note[1:]!r}); "
                    f"kept, it reads as {note[1:]!r}",
                )
            )
        if spreadsheet and legacy_save and "?" in note:
            report.unrecoverable.append(
                Change(
                    line,
                    "note",
                    "?",
                    "?",
                    f"{note.count('?')} '?' in {note[:60]!r}: a save in a legacy encoding "
                    "writes '?' for each character the encoding could not hold (emoji, "
                    "Chinese, Japanese, Hebrew, Arabic, Cyrillic in Windows-1252); which "
                    "ones were typed cannot be told; check it against what you wrote",
                )
            )
        if "\ufffd" in note:
            report.unrecoverable.append(
                Change(line, "note", note, note, "a byte that Windows-1252 does not define")
            )
        if re.search(r"(?<!\r)\n", note):
            report.unrecoverable.append(
                Change(
                    line,
                    "note",
                    note,
                    note,
                    "line breaks inside the note are LF: a spreadsheet writes every line "
                    "break in a cell as LF, so one that was CRLF cannot be told apart "
                    "(kept as LF)",
                )
            )


def _separator(first_line: str) -> str:
    for separator in (",", ";", "\t"):
        names = {part.strip().strip('"').strip().lower() for part in first_line.split(separator)}
        if set(COLUMNS) <= names:
            return separator
    raise InputError(
        "header",
        f"the log's columns ({', '.join(COLUMNS)}) separated by commas, semicolons or tabs",
        first_line[:200],
    )


def _year(text: str) -> int:
    return int(text) + 2000 if len(text) == 2 else int(text)


def _repair_date(text: str, slash: str = "mdy") -> tuple[str, str] | None:
    """(YYYY-MM-DD, what it was read as) for a spreadsheet's date, or None. ``slash``
    is the order of a ``/`` date in this file: ``mdy`` (US) or ``dmy`` (UK)."""
    for pattern, order, name in (
        (_ISO_DAY, "ymd", "YYYY-M-D"),
        (_DMY_DOT, "dmy", "d.m.yyyy"),
        (_SLASH, slash, "m/d/yyyy" if slash == "mdy" else "d/m/yyyy"),
    ):
        match = pattern.match(text)
        if match is None:
            continue
        parts = dict(zip(order, match.groups(), strict=True))
        try:
            day = date(_year(parts["y"]), int(parts["m"]), int(parts["d"]))
        except ValueError:
            return None
        why = f"a {name} date" + (
            " with a two-digit year (read as 20yy)" if len(parts["y"]) == 2 else ""
        )
        return day.isoformat(), why
    return None


def _local_offset(naive: datetime, fixed: timezone | None) -> timezone:
    if fixed is not None:
        return fixed
    aware = naive.astimezone()  # this computer's zone, as it was on that date
    return timezone(aware.utcoffset() or timedelta(0))


def _repair_time(
    text: str, fixed: timezone | None, slash: str = "mdy"
) -> tuple[str, list[str], list[str]] | None:
    """(ISO 8601 with offset, why it changed, what was lost) for a spreadsheet's time."""
    match = _TIME.match(text)
    if match is None:
        return None
    day = _repair_date(match["day"], slash)
    if day is None:
        return None
    hour, minute = int(match["h"]), int(match["m"])
    if match["ampm"]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if match["ampm"].lower() == "pm" else 0)
    second = int(match["s"] or 0)
    fraction = (match["f"] or "").ljust(6, "0")
    try:
        naive = datetime.fromisoformat(f"{day[0]}T{hour:02d}:{minute:02d}:{second:02d}")
    except ValueError:
        return None
    naive = naive.replace(microsecond=int(fraction or 0))
    why = [day[1]] if day[1] != "a YYYY-M-D date" else []
    lost = []
    if match["offset"]:
        offset_text = match["offset"]
        if offset_text != "Z" and ":" not in offset_text:
            offset_text = offset_text[:3] + ":" + offset_text[3:]
        value = datetime.fromisoformat(naive.isoformat() + offset_text)
    else:
        value = naive.replace(tzinfo=_local_offset(naive, fixed))
        source = "the --utc-offset given" if fixed else "this computer's time zone"
        why.append(f"a time without UTC offset, read in {source}")
    if match["s"] is None:
        lost.append("its seconds were cut by the spreadsheet (written as :00)")
    elif match["f"] is None and RECORDED_AT_PATTERN.match(text) is None:
        lost.append("its milliseconds may have been cut by the spreadsheet")
    if match["ampm"]:
        why.append("a 12-hour time")
    spec = "milliseconds" if value.microsecond % 1000 == 0 and value.microsecond else "auto"
    spec = "seconds" if value.microsecond == 0 else spec
    return value.isoformat(timespec=spec), why, lost


def _date_without_time(
    text: str, fixed: timezone | None, slash: str, earlier: datetime | None
) -> tuple[str, list[str], list[str]] | None:
    """For a ``recorded_at`` that a spreadsheet cut to its date (``08/10/2026``): that
    day at 00:00, or at the time of an earlier save of the same ``date`` on that day
    (so that the later row in the file stays the later save), with the loss."""
    day = _repair_date(text, slash)
    if day is None:
        return None
    naive = datetime.fromisoformat(day[0])
    value = naive.replace(tzinfo=_local_offset(naive, fixed))
    when = "00:00"
    if earlier is not None and value <= earlier and earlier.date() == value.date():
        value, when = earlier, "the time of the save of this date above it in the file"
    why = [f"{day[1]} without a time of day"]
    lost = [
        f"the time of day was lost (the spreadsheet kept only the date): written as {when}, "
        "so the saves of this date keep their order in the file"
    ]
    return value.isoformat(timespec="seconds"), why, lost


def _repair_pain(text: str) -> tuple[str, str] | None:
    """(the integer, why) for a pain a spreadsheet wrote with one whole reading
    (``7,0``, ``7.0``, ``07``, `` 7 ``), else None: ``7,5`` is a guess between 7 and 8
    and stays as it is (the row is then left out and named)."""
    match = _PAIN.match(text.strip())
    if match is None or (match["fraction"] or "").strip("0"):
        return None
    value = str(int(match["whole"]))
    if value == text or not PAIN_MIN <= int(value) <= PAIN_MAX:
        return None
    return value, (
        f"pain {text!r} has one reading, {value} (a whole number written with "
        "decimals, a leading zero or spaces)"
    )


def _repair_exercises(text: str) -> tuple[str, str] | None:
    if not text:
        return None
    pairs = []
    changed = False
    for part in re.split(r"\s*;\s*", text.strip()):
        exercise_id, sep, minutes = part.partition("=")
        fixed = _DECIMAL_COMMA.sub(r"\1.\2", minutes.strip())
        changed |= fixed != minutes or exercise_id != exercise_id.strip()
        pairs.append(f"{exercise_id.strip()}{sep}{fixed}")
    result = ";".join(pairs)
    if changed or result != text:
        return result, "decimal commas in minutes (or spaces) written the log's way"
    return None


def _repair_row(
    line: int,
    row: dict[str, str],
    fixed: timezone | None,
    report: RepairReport,
    slash: str,
    earlier: dict[str, datetime],
) -> dict[str, str]:
    def change(column: str, new: str, why: str) -> None:
        report.changes.append(Change(line, column, row[column], new, why))
        row[column] = new

    day = row["date"].strip()
    if day != row["date"] or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day, re.ASCII):
        repaired_day = _repair_date(day, slash)
        if repaired_day is not None and repaired_day[0] != row["date"]:
            change("date", repaired_day[0], repaired_day[1])
    recorded = row["recorded_at"].strip()
    if not RECORDED_AT_PATTERN.match(recorded):
        repaired = _repair_time(recorded, fixed, slash) or _date_without_time(
            recorded, fixed, slash, earlier.get(row["date"])
        )
        if repaired is not None:
            text, why, lost = repaired
            change("recorded_at", text, "; ".join(why) or "written as ISO 8601")
            for loss in lost:
                report.unrecoverable.append(Change(line, "recorded_at", recorded, text, loss))
    elif recorded != row["recorded_at"]:
        change("recorded_at", recorded, "spaces a spreadsheet added")
    pain = _repair_pain(row["pain"])
    if pain is not None:
        change("pain", *pain)
    exercises = _repair_exercises(row["exercises"])
    if exercises is not None:
        change("exercises", *exercises)
    kind = row["day"].strip().lower()
    if kind != row["day"] and kind in (*STORED_DAY_TYPES, ""):
        change("day", kind, "capitals or spaces a spreadsheet added")
    where = row["where"]
    if where and where != re.sub(r"\s*;\s*", ";", where.strip()):
        change("where", re.sub(r"\s*;\s*", ";", where.strip()), "spaces a spreadsheet added")
    note = row["note"]
    if note.startswith(FORMULA_PREFIXES):  # the spreadsheet dropped the guard
        change("note", encode_note(note), "the ' that keeps a formula from running, put back")
    stored = row["note"]
    shown = stored[1:] if stored.startswith(NOTE_GUARD) else stored
    if stored.startswith(NOTE_GUARD) and not shown.startswith((*FORMULA_PREFIXES, NOTE_GUARD)):
        report.unrecoverable.append(
            Change(
                line,
                "note",
                stored,
                stored,
                f"a ' the log never writes before {shown[:1]!r}: the note was probably "
                f"{stored!r} itself (the spreadsheet dropped the ' that kept its own '), or "
                f"{shown!r} typed in the spreadsheet; kept, it reads as {shown!r}",
            )
        )
    if _NUMBER_NOTE.match(shown.strip()):
        report.unrecoverable.append(
            Change(
                line,
                "note",
                shown,
                shown,
                "a note that is a number: a spreadsheet may have changed it (007 -> 7, "
                "1.50 -> 1.5, 1234567890123456 -> 1.23457E+15); check it against what you wrote",
            )
        )
    return row


DATE_ORDERS = {"dmy": "d/m/yyyy", "mdy": "m/d/yyyy"}


def _slash_values(
    records: list[tuple[int, dict[str, str]]],
) -> list[tuple[int, str, tuple[int, int, int]]]:
    """(line, text, its three numbers) of every ``/`` date in the ``date`` and
    ``recorded_at`` columns; notes and other columns are never read for dates."""
    found = []
    for line, row in records:
        for column in ("date", "recorded_at"):
            text = row[column].strip()
            timed = _TIME.match(text)
            match = _SLASH.match(timed["day"] if timed else text)
            if match:
                a, b, y = match.groups()
                found.append((line, match.group(0), (int(a), int(b), _year(y))))
    return found


def _is_day(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _date_order(
    records: list[tuple[int, dict[str, str]]], given: str | None, report: RepairReport
) -> str:
    """``dmy`` or ``mdy`` for the file's ``/`` dates: the order in which every one of
    them (in ``date`` and ``recorded_at``, all rows together) is a real day. Refuses
    (:class:`InputError`) when both orders or neither are, unless ``given``."""
    values = _slash_values(records)
    if given is not None:
        if values:
            report.dialect.append(f"dates {DATE_ORDERS[given]} (--date-order {given})")
        return given
    if not values:
        return "mdy"  # no '/' date to read
    fits = {
        "dmy": [v for v in values if not _is_day(v[2][2], v[2][1], v[2][0])],
        "mdy": [v for v in values if not _is_day(v[2][2], v[2][0], v[2][1])],
    }
    orders = [order for order, misfits in fits.items() if not misfits]
    if len(orders) == 1:
        report.dialect.append(
            f"dates {DATE_ORDERS[orders[0]]} (the only order in which all {len(values)} '/' "
            "dates of the date and recorded_at columns are real days)"
        )
        return orders[0]
    first, last = values[0], values[-1]
    if orders:
        a, b, y = first[2]
        raise InputError(
            "date",
            f"'/' dates whose day/month order the file shows, but all {len(values)} in the "
            f"date and recorded_at columns are real days in both orders ({first[1]!r} at "
            f"line {first[0]} is {date(y, b, a):%-d %B} as d/m or {date(y, a, b):%-d %B} "
            "as m/d): say which with --date-order dmy|mdy",
            f"{first[1]} ... {last[1]}",
        )
    dmy, mdy = fits["mdy"][0], fits["dmy"][0]  # a day-first one, a month-first one
    raise InputError(
        "date",
        "'/' dates in one day/month order throughout the date and recorded_at columns "
        "(give --date-order dmy|mdy to read them in one; rows that do not fit are left out)",
        f"line {dmy[0]}: {dmy[1]} (day first only) and line {mdy[0]}: {mdy[1]} (month first only)",
    )


def _records(
    text: str, separator: str, report: RepairReport
) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header (names stripped, lower case) and every record with the line it starts
    on; a record the CSV reader cannot read is left out and named."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise InputError("header", "the log's header", "an empty file") from None
    records = []
    start = reader.line_num + 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            report.left_out.append((start, f"unreadable record: {exc}"))
            start = reader.line_num + 1
            continue
        records.append((start, fields))
        start = reader.line_num + 1
    return header, records


def _fit(
    line: int, fields: list[str], header: list[str], separator: str, report: RepairReport
) -> dict[str, str] | None:
    """The record as {column: field}, or None for an empty row or one with too many
    fields (named); empty fields a spreadsheet dropped at the end are put back."""
    if not any(f.strip() for f in fields):
        if fields:
            report.changes.append(
                Change(line, "row", separator * (len(fields) - 1), "", "an empty row left out")
            )
        return None
    if len(fields) > len(header) and not any(f.strip() for f in fields[len(header) :]):
        fields = fields[: len(header)]
    if len(fields) > len(header):
        report.left_out.append((line, f"{len(fields)} fields for {len(header)} columns"))
        return None
    if len(fields) < len(header):
        report.changes.append(
            Change(
                line,
                "row",
                f"{len(fields)} fields",
                f"{len(header)} fields",
                "empty fields a spreadsheet dropped, put back",
            )
        )
        fields = fields + [""] * (len(header) - len(fields))
    return dict(zip(header, fields, strict=True))


def repair_log(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str] | None,
    *,
    utc_offset: timezone | None = None,
    date_order: str | None = None,
    keep: Kept | None = None,
) -> RepairReport:
    """Read the log at ``source`` in whatever dialect a spreadsheet saved it, write a
    valid log to ``output`` (whole, 0600; ``None``: only report) and return the report.
    ``source`` is only read. ``date_order`` (``dmy``/``mdy``) says how ``/`` dates read
    when the file does not show it. Refuses (:class:`OutputError`) an ``output`` that
    exists, is ``source`` or is in ``keep`` (:func:`backtrack._files.check_output`), and
    (:class:`InputError`) a file whose header is not the log's columns in any of the
    dialects, and ``/`` dates whose order is not known."""
    source = Path(source)
    target = None if output is None else Path(output)
    kept = {**(keep or {}), source: "the log being repaired"}
    if target is not None:
        check_output(target, kind=REPAIRED, keep=kept)
    if date_order is not None and date_order not in DATE_ORDERS:
        raise InputError("--date-order", "dmy or mdy", date_order)
    report = RepairReport(str(source), "" if target is None else str(target))
    text = _decode(read_user_file(source, limit=LOG_LIMIT, what="a log (CSV)"), report)
    if "\r\n" in text:
        report.dialect.append("CRLF line ends (written as LF)")
    separator = _separator(text.split("\n", 1)[0])
    if separator != ",":
        report.dialect.append(f"columns separated by {SEPARATORS[separator]}")
    header, records = _records(text, separator, report)
    extra = [h for h in header if h not in COLUMNS and h]
    out_header = [*COLUMNS, *extra]
    if [h for h in header if h] != out_header:
        report.dialect.append("columns in another order or spelling (written the log's way)")
    if extra:
        report.dialect.append(f"extra columns {', '.join(map(repr, extra))} (kept, at the end)")
    rows = []
    for line, fields in records:
        row = _fit(line, fields, header, separator, report)
        if row is not None:
            rows.append((line, row))
    slash = _date_order(rows, date_order, report)
    lines = [csv_line(out_header)]
    seen: dict[tuple[str, datetime], int] = {}
    latest: dict[str, datetime] = {}
    written: list[tuple[int, dict[str, str]]] = []
    for line, row in rows:
        typed = row["recorded_at"]
        row = _repair_row(line, row, utc_offset, report, slash, latest)
        try:
            parse_row(row)
        except FieldError as exc:
            report.left_out.append((line, str(exc)))
            continue
        lines.append(row_line(out_header, row))
        written.append((line, row))
        report.rows += 1
        saved = datetime.fromisoformat(row["recorded_at"])
        latest[row["date"]] = max(saved, latest.get(row["date"], saved))
        key = (row["date"], saved)
        if key in seen and row["recorded_at"] != typed:
            report.unrecoverable.append(
                Change(
                    line,
                    "recorded_at",
                    row["recorded_at"],
                    row["recorded_at"],
                    f"the same time as the save of {row['date']} at line {seen[key]}, now that "
                    "the spreadsheet cut the times: the later row in the file counts as the "
                    "latest (right when the spreadsheet kept the rows in their order)",
                )
            )
        seen[key] = line
    spreadsheet = bool(report.dialect) or any(
        c.column in ("date", "recorded_at") for c in report.changes
    )
    _possible_losses(written, spreadsheet, LEGACY in report.dialect or text.isascii(), report)
    report.changes.sort(key=lambda c: c.line)
    report.unrecoverable.sort(key=lambda c: c.line)
    report.left_out.sort()
    if target is not None:
        write_private(target, "".join(lines).encode("utf-8"), kind=REPAIRED, keep=kept)
    return report
