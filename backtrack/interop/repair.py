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
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from .._files import LOG_LIMIT, read_user_file, write_private
from ..errors import FieldError, InputError
from ..schema import (
    COLUMNS,
    FORMULA_PREFIXES,
    NOTE_GUARD,
    RECORDED_AT_PATTERN,
    STORED_DAY_TYPES,
    csv_line,
    encode_note,
    parse_row,
)
from ..store import row_line

SEPARATORS = {",": "commas", ";": "semicolons", "\t": "tabs"}
_DMY_DOT = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{2}|\d{4})\Z", re.ASCII)
_SLASH = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})\Z", re.ASCII)
_SLASH_ANYWHERE = re.compile(r"(?<!\d)(\d{1,2})/(\d{1,2})/(?:\d{4}|\d{2})(?!\d)", re.ASCII)
_ISO_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})\Z", re.ASCII)
_TIME = re.compile(
    r"(?P<day>\S+)[ T](?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,6}))?)?"
    r"\s*(?P<ampm>[AaPp][Mm])?(?P<offset>Z|[+-]\d{2}:?\d{2})?\Z",
    re.ASCII,
)
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


def _decode(data: bytes, report: RepairReport) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        report.dialect.append("a UTF-8 byte order mark (removed)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        report.dialect.append("Windows-1252 text, not UTF-8 (re-encoded as UTF-8)")
        return data.decode("cp1252", errors="replace")


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


def _repair_pain(text: str) -> tuple[str, str] | None:
    match = re.fullmatch(r"(\d{1,2})(?:[.,]0+)?", text.strip(), re.ASCII)
    if match and match.group(0) != text:
        return match.group(1), "a whole number written with decimals or spaces"
    return None


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
    slash: str = "mdy",
) -> dict[str, str]:
    def change(column: str, new: str, why: str) -> None:
        report.changes.append(Change(line, column, row[column], new, why))
        row[column] = new

    recorded = row["recorded_at"].strip()
    if not RECORDED_AT_PATTERN.match(recorded):
        repaired = _repair_time(recorded, fixed, slash)
        if repaired is not None:
            text, why, lost = repaired
            change("recorded_at", text, "; ".join(why) or "written as ISO 8601")
            for loss in lost:
                report.unrecoverable.append(Change(line, "recorded_at", recorded, text, loss))
    day = row["date"].strip()
    if day != row["date"] or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day, re.ASCII):
        repaired_day = _repair_date(day, slash)
        if repaired_day is not None and repaired_day[0] != row["date"]:
            change("date", repaired_day[0], repaired_day[1])
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


def _slash_order(text: str, report: RepairReport) -> str:
    """``mdy`` or ``dmy`` for the file's ``/`` dates: day first when a first number is
    above 12, month first when a second one is; US order when nothing tells."""
    pairs = [(int(a), int(b)) for a, b in _SLASH_ANYWHERE.findall(text)]
    if not pairs:
        return "mdy"
    day_first = any(a > 12 for a, _ in pairs)
    month_first = any(b > 12 for _, b in pairs)
    if day_first and month_first:
        raise InputError(
            "date",
            "dates with '/' in one order (m/d/yyyy or d/m/yyyy) throughout the file",
            "both orders",
        )
    if day_first:
        report.dialect.append("dates d/m/yyyy (a first number above 12 shows the day comes first)")
        return "dmy"
    if not month_first:
        report.unrecoverable.append(
            Change(
                0,
                "date",
                "m/d/yyyy or d/m/yyyy",
                "m/d/yyyy",
                "no '/' date in the file has a number above 12, so the order cannot be told: "
                "read as US m/d/yyyy; check a few days against what you logged",
            )
        )
    return "mdy"


def repair_log(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    utc_offset: timezone | None = None,
) -> RepairReport:
    """Read the log at ``source`` in whatever dialect a spreadsheet saved it, write a
    valid log to ``output`` (whole, 0600) and return the report. ``source`` is only
    read. Refuses (:class:`InputError`) an ``output`` that is ``source`` or exists, and
    a file whose header is not the log's columns in any of the dialects."""
    source, output = Path(source), Path(output)
    if output.exists() and (source.exists() and output.samefile(source)):
        raise InputError("-o", "a new file, not the log being repaired", str(output))
    if output.exists():
        raise InputError(
            "-o", "a file that does not exist yet (nothing is overwritten)", str(output)
        )
    report = RepairReport(str(source), str(output))
    text = _decode(read_user_file(source, limit=LOG_LIMIT, what="a log (CSV)"), report)
    if "\r\n" in text:
        report.dialect.append("CRLF line ends (written as LF)")
    separator = _separator(text.split("\n", 1)[0])
    if separator != ",":
        report.dialect.append(f"columns separated by {SEPARATORS[separator]}")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise InputError("header", "the log's header", "an empty file") from None
    slash = _slash_order(text, report)
    extra = [h for h in header if h not in COLUMNS and h]
    out_header = [*COLUMNS, *extra]
    if [h for h in header if h] != out_header:
        report.dialect.append("columns in another order or spelling (written the log's way)")
    if extra:
        report.dialect.append(f"extra columns {', '.join(map(repr, extra))} (kept, at the end)")
    lines = [csv_line(out_header)]
    start = reader.line_num + 1
    seen: dict[tuple[str, datetime], int] = {}
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            report.left_out.append((start, f"unreadable record: {exc}"))
            start = reader.line_num + 1
            continue
        line, start = start, reader.line_num + 1
        if not any(f.strip() for f in fields):
            if fields:
                report.changes.append(
                    Change(line, "row", separator * (len(fields) - 1), "", "an empty row left out")
                )
            continue
        if len(fields) > len(header) and not any(f.strip() for f in fields[len(header) :]):
            fields = fields[: len(header)]
        if len(fields) > len(header):
            report.left_out.append((line, f"{len(fields)} fields for {len(header)} columns"))
            continue
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
            fields += [""] * (len(header) - len(fields))
        row = dict(zip(header, fields, strict=True))
        row = _repair_row(line, row, utc_offset, report, slash)
        try:
            parse_row(row)
        except FieldError as exc:
            report.left_out.append((line, str(exc)))
            continue
        lines.append(row_line(out_header, row))
        report.rows += 1
        key = (row["date"], datetime.fromisoformat(row["recorded_at"]))
        if key in seen and row["recorded_at"] != fields[header.index("recorded_at")]:
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
    write_private(output, "".join(lines).encode("utf-8"))
    return report
