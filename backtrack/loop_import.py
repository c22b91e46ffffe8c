"""Import from Loop Habit Tracker's CSV export (a zip), appending days not yet logged.

The export holds ``Habits.csv`` (one row per habit: name, and in recent versions its
type and unit), one folder per habit (``001 Relax/Checkmarks.csv`` with
``Date,Value[,Notes]``) and wide top-level ``Checkmarks.csv``/``Scores.csv`` (one column
per habit, trailing commas). Per-habit files are read; the wide ``Checkmarks.csv`` is the
fallback for a habit without one; ``Scores.csv`` is ignored (scores are recomputed from
the raw entries). Header names are matched case-insensitively; a BOM, CRLF and trailing
commas are tolerated. Values: ``YES_MANUAL``, ``YES_AUTO``, ``NO``, ``SKIP``,
``UNKNOWN``, or Loop's numbers (-1 unknown, 0 no, 1 yes-auto, 2 yes-manual, 3 skip); a
numeric habit stores its amount × 1000 (5000 = 5 minutes).

How each value becomes a day in the log (habits mapped to exercises with ``--map``):

* ``YES_MANUAL`` → the exercise done, at the prescribed dose (a numeric habit counted in
  minutes: those minutes; in another unit: the prescribed dose).
* ``YES_AUTO`` → no information. Loop ticks days automatically when a habit's weekly or
  monthly target is already met; nobody did the exercise that day.
* ``NO`` (or numeric 0) → logged, not done.
* ``SKIP`` → a planned rest day when every informative mapped habit that day is SKIP;
  on a day with something done or marked NO it counts as not done (the log has no
  per-exercise skip).
* ``UNKNOWN`` → no information.

A date with no information from any mapped habit is not logged at all: "not logged" never
becomes "not done". Pain is not in Loop, so imported rows have no pain; their note says
"imported from Loop Habit Tracker" (and carries Loop's notes). Days already in the log
(any save) are skipped, so a second import appends nothing, and the log is only ever
appended to. A habit the map does not name is listed, never guessed.
"""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path, PurePosixPath

from .actions import check_exercises, check_note
from .errors import FieldError, InputError, LogFormatError, LogProblem
from .routine import Routine
from .schema import DATE_PATTERN, MAX_MINUTES, Entry, parse_date
from .store import append_entry, read_log

IMPORT_NOTE = "imported from Loop Habit Tracker"
MAX_EXPORT_BYTES = 64 * 1024 * 1024
"""A Loop export is small; refuse to read more than this (a zip bomb, a wrong file)."""
MINUTE_UNITS = {"", "min", "mins", "minute", "minutes", "m"}
TOKENS = {
    "YES_MANUAL": "yes",
    "YES": "yes",
    "YES_AUTO": "auto",
    "NO": "no",
    "SKIP": "skip",
    "UNKNOWN": "unknown",
    "": "unknown",
}
BOOLEAN_CODES = {-1: "unknown", 0: "no", 1: "auto", 2: "yes", 3: "skip"}
INFORMATIVE = ("yes", "no", "skip")
_FOLDER = re.compile(r"(\d+)\s+(.+)\Z")


@dataclass(frozen=True)
class Habit:
    """A Loop habit: ``name``; ``numeric`` (amounts × 1000) or yes/no; ``unit`` of a
    numeric habit (minutes when empty or ``min``)."""

    name: str
    numeric: bool = False
    unit: str = ""

    @property
    def counts_minutes(self) -> bool:
        return self.numeric and self.unit.strip().lower() in MINUTE_UNITS


@dataclass(frozen=True)
class Mark:
    """One habit on one day: ``kind`` yes / auto / no / skip / unknown, ``minutes`` for a
    numeric habit in minutes, Loop's ``note``, and where it was read (``source:line``)."""

    habit: str
    day: date
    kind: str
    minutes: float | None = None
    note: str = ""
    source: str = ""
    line: int = 0


@dataclass
class LoopExport:
    """What an export holds: its habits (in order) and their marks."""

    path: str
    habits: list[Habit]
    marks: list[Mark]


@dataclass
class ImportPlan:
    """What an import appends (``entries``, oldest first) and what it leaves out:
    ``already_logged`` dates, ``not_logged`` dates (no information), ``future`` dates,
    ``unmapped`` habits; ``notes`` are things worth saying (e.g. a unit not in minutes)."""

    entries: list[Entry]
    already_logged: list[date] = field(default_factory=list)
    not_logged: list[date] = field(default_factory=list)
    future: list[date] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _key(name: str) -> str:
    """Habit names compare case-insensitively, ignoring spaces and punctuation."""
    return re.sub(r"[\W_]+", "", name.casefold())


# ----------------------------------------------------------------------------- reading


def _members(path: Path) -> dict[str, bytes]:
    """CSV files of the export (a zip, or the folder it unpacks to) by relative path."""
    found: dict[str, bytes] = {}
    total = 0
    if path.is_dir():
        files = [(str(p.relative_to(path).as_posix()), p) for p in sorted(path.rglob("*.csv"))]
        for name, file in files:
            total += file.stat().st_size
            if total > MAX_EXPORT_BYTES:
                raise InputError("export", f"at most {MAX_EXPORT_BYTES} bytes of CSV", total)
            found[name] = file.read_bytes()
        return found
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(
            "export", "a Loop Habit Tracker CSV export (.zip)", f"{path}: {exc}"
        ) from None
    with archive:
        for info in archive.infolist():
            if info.is_dir() or not info.filename.lower().endswith(".csv"):
                continue
            total += info.file_size
            if total > MAX_EXPORT_BYTES:
                raise InputError("export", f"at most {MAX_EXPORT_BYTES} bytes of CSV", total)
            found[info.filename] = archive.read(info)
    return found


def _rows(data: bytes) -> list[list[str]]:
    """CSV records, BOM removed, trailing empty fields (trailing commas) dropped."""
    text = data.decode("utf-8-sig", errors="replace")
    rows = []
    for fields in csv.reader(io.StringIO(text, newline="")):
        while fields and fields[-1].strip() == "":
            fields.pop()
        rows.append([f.strip() for f in fields])
    return rows


def _is_date(text: str) -> bool:
    return bool(DATE_PATTERN.match(text))


def _read_habits(data: bytes) -> list[Habit]:
    rows = [r for r in _rows(data) if r]
    if not rows:
        return []
    header = [h.lower() for h in rows[0]]

    def column(*names: str) -> int | None:
        return next((header.index(n) for n in names if n in header), None)

    name_at, type_at, unit_at = column("name"), column("type"), column("unit")
    if name_at is None:
        return []
    habits = []
    for row in rows[1:]:
        if name_at >= len(row) or not row[name_at]:
            continue
        kind = row[type_at].upper() if type_at is not None and type_at < len(row) else ""
        unit = row[unit_at] if unit_at is not None and unit_at < len(row) else ""
        numeric = kind in ("1", "NUMERICAL", "NUMERIC") or (type_at is None and bool(unit))
        habits.append(Habit(row[name_at], numeric, unit))
    return habits


def _value(text: str, habit: Habit | None) -> tuple[str, float | None] | None:
    """(kind, amount) of one stored value, or None when it cannot be read."""
    token = TOKENS.get(text.upper())
    if token is not None:
        return token, None
    try:
        number = int(text) if re.fullmatch(r"-?\d+", text) else float(text)
    except ValueError:
        return None
    numeric = habit.numeric if habit is not None else abs(number) > 3
    if not numeric:
        kind = BOOLEAN_CODES.get(int(number)) if float(number).is_integer() else None
        return None if kind is None else (kind, None)
    if number < 0:
        return "unknown", None
    if number == 0:
        return "no", None
    return "yes", number / 1000.0


def _looks_numeric(values: list[str]) -> bool:
    """A value outside Loop's yes/no codes (-1 to 3) means amounts × 1000."""
    return any(re.fullmatch(r"-?\d+", v) and not -1 <= int(v) <= 3 for v in values)


def _with_type(habit: Habit, values: list[str]) -> Habit:
    if habit.numeric or not _looks_numeric(values):
        return habit
    return Habit(habit.name, True, habit.unit)


def _header(rows: list[list[str]]) -> tuple[list[str], int]:
    """The header (lower-cased) and the first data row's index; no header: ([], 0)."""
    if rows and rows[0] and not _is_date(rows[0][0]):
        return [h.lower() for h in rows[0]], 1
    return [], 0


def _marks_from(
    rows: list[list[str]],
    source: str,
    columns: list[tuple[int, Habit]],
    problems: list[LogProblem],
    *,
    date_at: int = 0,
    note_at: int | None = None,
    first: int = 1,
) -> list[Mark]:
    """Marks of the habits in ``columns`` (position, habit) of a checkmarks file."""
    names = rows[0] if first else []
    marks = []
    for line, row in enumerate(rows[first:], start=first + 1):
        if not row:
            continue
        day_text = row[date_at] if date_at < len(row) else ""
        try:
            day = parse_date(day_text)  # the log's own parser: same spelling, same range
        except FieldError as exc:
            problems.append(
                LogProblem(source, line, "Date", f"expected {exc.expected}, found {day_text!r}")
            )
            continue
        note = row[note_at] if note_at is not None and note_at < len(row) else ""
        for position, habit in columns:
            text = row[position] if position < len(row) else ""
            name = names[position] if position < len(names) else "Value"
            value = _value(text, habit)
            if value is None:
                problems.append(
                    LogProblem(
                        source,
                        line,
                        name,
                        "expected YES_MANUAL, YES_AUTO, NO, SKIP, UNKNOWN or a number, "
                        f"found {text!r}",
                    )
                )
                continue
            kind, amount = value
            minutes = amount if habit.counts_minutes else None
            if kind == "yes" and minutes is not None and not 0.01 <= minutes <= MAX_MINUTES:
                problems.append(
                    LogProblem(
                        source,
                        line,
                        name,
                        f"expected minutes × 1000, 10 to {MAX_MINUTES * 1000:g}, found {text!r}",
                    )
                )
                continue
            marks.append(Mark(habit.name, day, kind, minutes, note, source, line))
    return marks


def _find_habit(habits: list[Habit], name: str) -> Habit | None:
    return next((h for h in habits if _key(h.name) == _key(name)), None)


def read_loop_export(path: str | os.PathLike[str]) -> LoopExport:
    """Read a Loop Habit Tracker CSV export (zip or unpacked folder).

    Raises :class:`~backtrack.errors.LogFormatError` listing every unreadable value as
    ``export.zip!001 Relax/Checkmarks.csv:LINE:COLUMN``.
    """
    path = Path(path)
    members = _members(path)
    top = {name.lower(): name for name in members if "/" not in name.strip("/")}
    habits = _read_habits(members[top["habits.csv"]]) if "habits.csv" in top else []
    problems: list[LogProblem] = []
    marks: list[Mark] = []
    covered: set[str] = set()
    for name in sorted(members):
        parts = PurePosixPath(name).parts
        if len(parts) < 2 or parts[-1].lower() != "checkmarks.csv":
            continue
        match = _FOLDER.match(parts[-2])
        habit = _find_habit(habits, match.group(2) if match else parts[-2])
        if habit is None and match and habits:  # the folder name was shortened: use Position
            position = int(match.group(1)) - 1
            habit = habits[position] if 0 <= position < len(habits) else None
        if habit is None:
            habit = Habit(match.group(2) if match else parts[-2])
            habits.append(habit)
        rows = _rows(members[name])
        header, first = _header(rows)
        value_at = next((header.index(n) for n in ("value", "checkmark") if n in header), 1)
        typed = _with_type(habit, [r[value_at] for r in rows[first:] if value_at < len(r)])
        habits[habits.index(habit)] = typed
        marks += _marks_from(
            rows,
            f"{path.name}!{name}",
            [(value_at, typed)],
            problems,
            date_at=header.index("date") if "date" in header else 0,
            note_at=next((header.index(n) for n in ("notes", "note") if n in header), None),
            first=first,
        )
        covered.add(_key(typed.name))
    if "checkmarks.csv" in top:  # the wide file: only habits without a folder of their own
        rows = _rows(members[top["checkmarks.csv"]])
        header, first = _header(rows)
        date_at = header.index("date") if "date" in header else 0
        columns = []
        for position, habit_name in enumerate(rows[0] if first else []):
            if position == date_at or not habit_name or _key(habit_name) in covered:
                continue
            habit = _find_habit(habits, habit_name)
            values = [r[position] for r in rows[first:] if position < len(r)]
            typed = _with_type(habit or Habit(habit_name), values)
            if habit is None:
                habits.append(typed)
            else:
                habits[habits.index(habit)] = typed
            columns.append((position, typed))
        if columns:
            source = f"{path.name}!{top['checkmarks.csv']}"
            marks += _marks_from(rows, source, columns, problems, date_at=date_at, first=first)
    if problems:
        raise LogFormatError(problems)
    return LoopExport(str(path), habits, marks)


# ----------------------------------------------------------------------------- mapping


def parse_mapping(text: str) -> dict[str, str]:
    """``"Relax=floor_relaxation,Hip stretch=hip_stretch"`` → {habit name: exercise id}."""
    mapping: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        habit, sep, exercise_id = part.rpartition("=")
        if not sep or not habit.strip() or not exercise_id.strip():
            raise InputError("--map", "HABIT=exercise_id pairs joined by ','", part)
        if any(_key(h) == _key(habit) for h in mapping):
            raise InputError("--map", "each habit once", habit.strip())
        mapping[habit.strip()] = exercise_id.strip()
    if not mapping:
        raise InputError("--map", "at least one HABIT=exercise_id pair", text)
    return mapping


def plan_import(
    export: LoopExport,
    mapping: Mapping[str, str],
    routine: Routine,
    *,
    logged: set[date],
    now: datetime,
) -> ImportPlan:
    """The entries to append: one per date with information from a mapped habit, for
    dates not in ``logged`` and not after ``now``. Refuses (``InputError``) a map naming a
    habit the export does not have, an exercise not in the routine, or two habits for one
    exercise; nothing is written here."""
    if now.tzinfo is None:
        raise InputError("now", "a time with its UTC offset", now.isoformat())
    by_key = {_key(h.name): h for h in export.habits}
    targets: dict[str, str] = {}
    for habit_name, exercise_id in mapping.items():
        habit = by_key.get(_key(habit_name))
        if habit is None:
            known = ", ".join(h.name for h in export.habits) or "none"
            raise InputError("--map", f"a habit of the export ({known})", habit_name)
        check_exercises([exercise_id], routine)
        if exercise_id in targets.values():
            raise InputError("--map", "one habit per exercise", f"{habit_name}={exercise_id}")
        targets[habit.name] = exercise_id
    plan = ImportPlan([], unmapped=[h.name for h in export.habits if h.name not in targets])
    for habit in export.habits:
        if habit.name in targets and habit.numeric and not habit.counts_minutes:
            plan.notes.append(
                f"{habit.name!r} counts {habit.unit!r}, not minutes: a value above 0 counts as "
                "done at the prescribed dose"
            )
    days: dict[date, list[Mark]] = {}
    for mark in export.marks:
        if mark.habit in targets:
            days.setdefault(mark.day, []).append(mark)
    for day in sorted(days):
        marks = [m for m in days[day] if m.kind in INFORMATIVE]
        if not marks:
            plan.not_logged.append(day)
            continue
        if day > now.date():
            plan.future.append(day)
            continue
        if day in logged:
            plan.already_logged.append(day)
            continue
        done = {targets[m.habit]: m.minutes for m in marks if m.kind == "yes"}
        rest = all(m.kind == "skip" for m in marks)
        loop_notes = [f"{m.habit}: {m.note}" for m in days[day] if m.note]
        note = "; ".join([IMPORT_NOTE, *dict.fromkeys(loop_notes)])
        try:
            check_note(note)
        except InputError as exc:
            raise InputError(
                f"note of {day.isoformat()}",
                f"{exc.expected} (Loop's notes of that day, joined; shorten them in Loop "
                "or leave a habit out of --map)",
                exc.found,
            ) from None
        plan.entries.append(
            Entry(
                recorded_at=now,
                date=day,
                pain=None,
                exercises=check_exercises(done, routine),
                day="rest" if rest else "routine",
                note=note,
            )
        )
    return plan


def import_loop(
    export_path: str | os.PathLike[str],
    log_path: str | os.PathLike[str],
    mapping: Mapping[str, str],
    routine: Routine,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
) -> ImportPlan:
    """Read the export, plan against the log's dates, and append the planned rows (one
    durable append each) unless ``dry_run``. Returns the plan."""
    now = now or datetime.now().astimezone()
    export = read_loop_export(export_path)
    log_path = Path(log_path)
    logged: set[date] = set()
    if log_path.exists():
        log = read_log(log_path, strict=False)
        logged = {d.date() for d in log.entries["date"]}
    plan = plan_import(export, mapping, routine, logged=logged, now=now)
    if not dry_run:
        for entry in plan.entries:
            append_entry(log_path, entry)
    return plan
