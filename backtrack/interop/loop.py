"""Import from Loop Habit Tracker's CSV export (a zip), appending days not yet logged.

What Loop writes (uhabits v2.3.1; ``docs/interop.md`` has the details): ``Habits.csv``
(Position, Name, Type, ..., Unit, ...), one folder per exported habit named
``NNN Name`` (NNN its Position; the name keeps only ``[ a-zA-Z0-9._-]``, so ``瑜伽``
gives ``007``) holding ``Checkmarks.csv`` (``Date,Value,Notes``, newest first), and a
wide top-level ``Checkmarks.csv`` whose header lists the habit names unquoted.
v2.3.0 and older: headerless ``date,value`` rows, integers only, and a ``Habits.csv``
without Type or Unit.

* Folders are matched to habits by their Position number, never by the shortened name,
  so every habit keeps the name Loop shows (two habits of one name are told apart as
  ``Walk (#001)`` and ``Walk (#002)``). The per-habit files are read; the wide file
  only for a habit without a folder, and it is refused when a name with a comma makes
  its columns ambiguous.
* Values: ``YES_MANUAL`` (2), ``YES_AUTO`` (1), ``NO`` (0), ``SKIP`` (3), ``UNKNOWN``
  (-1), else a numeric habit's amount × 1000. A numeric habit's 0 is NO and 3 is SKIP.
* Only mapped habits are checked; a bad value in an unmapped habit does not block.
* A numeric habit counts minutes only when its unit says so (``min``, ``minutes``);
  with no unit (v2.3.0 and older, or an empty Unit) the import asks: ``--minutes NAME``
  or ``--not-minutes NAME``.

How each value becomes a day in the log (habits mapped to exercises with ``--map``):

* ``YES_MANUAL`` → the exercise done, at the prescribed dose (a numeric habit counted in
  minutes: those minutes; in another unit: the prescribed dose).
* ``YES_AUTO`` → no information. Loop ticks days itself when a habit's weekly or monthly
  target is already met, and rewrites an explicit NO inside such a week as YES_AUTO too:
  those days come in as not logged (the summary counts them).
* ``NO`` (or numeric 0) → logged, not done.
* ``SKIP`` → a planned rest day when every mapped habit with information that day
  (YES_MANUAL, NO or SKIP; YES_AUTO and UNKNOWN are ignored) is SKIP; beside something
  done or marked NO it counts as not done (the log has no per-exercise skip).
* ``UNKNOWN`` → no information.

A date with no information from any mapped habit is not logged at all: "not logged" never
becomes "not done". Pain is not in Loop, so imported rows have no pain; their note says
"imported from Loop Habit Tracker" and carries Loop's notes, cut to the log's limit
(:data:`backtrack.schema.MAX_NOTE_CHARS`) and said so. Days already in the log (any save)
are skipped, so a second import appends nothing, and the log is only ever appended to.

The zip is read in bounded chunks, counting the bytes actually inflated (never the sizes
its headers claim); a damaged, encrypted or unsupported member is a clear refusal.
"""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path, PurePosixPath

from .._files import read_user_file
from ..actions import check_exercises, check_note
from ..errors import FieldError, InputError, LogFormatError, LogProblem, UserFileError, listed
from ..routine import Routine
from ..schema import DATE_PATTERN, MAX_MINUTES, MAX_NOTE_CHARS, Entry, parse_date
from ..store import append_entry, latest_per_date, read_log

IMPORT_NOTE = "imported from Loop Habit Tracker"
MAX_EXPORT_BYTES = 64 * 1024 * 1024
"""A Loop export is small; refuse to inflate more than this (a zip bomb, a wrong file)."""
CHUNK = 64 * 1024
MINUTE_UNITS = {"min", "mins", "minute", "minutes", "m"}
TOKENS = {"UNKNOWN": -1, "NO": 0, "YES_AUTO": 1, "YES_MANUAL": 2, "SKIP": 3}
BOOLEAN_CODES = {-1: "unknown", 0: "no", 1: "auto", 2: "yes", 3: "skip"}
INFORMATIVE = ("yes", "no", "skip")
CUT_MARK = " [cut: Loop's notes of this day were longer than the log keeps]"
_FOLDER = re.compile(r"(\d{3,})(?: (.*))?\Z", re.ASCII)
_INTEGER = re.compile(r"-?\d+\Z", re.ASCII)


@dataclass(frozen=True)
class Habit:
    """A Loop habit: ``name`` exactly as Loop shows it; ``position`` (Habits.csv's
    Position, the folder's number); ``numeric`` (amounts × 1000) or yes/no, None when the
    export does not say (v2.3.0); ``unit`` of a numeric habit, None when the export has
    no Unit column."""

    name: str
    position: int | None = None
    numeric: bool | None = None
    unit: str | None = None
    loop_name: str = ""
    """The name as ``Habits.csv`` writes it, when ``name`` had to tell it apart."""

    @property
    def unit_known(self) -> bool:
        """True when the export names the unit of the habit's amounts."""
        return bool(self.unit and self.unit.strip())

    @property
    def counts_minutes(self) -> bool:
        """True for a numeric habit whose unit is minutes (``min``, ``minutes``, ...)."""
        return bool(self.numeric) and (self.unit or "").strip().lower() in MINUTE_UNITS


@dataclass(frozen=True)
class Mark:
    """One habit on one day: Loop's stored ``value`` (tokens as their integers), Loop's
    ``note``, and where it was read (``source:line``). ``kind`` and ``amount`` follow
    from the habit's type (see :func:`mark_kind`)."""

    habit: str
    day: date
    value: int
    note: str = ""
    source: str = ""
    line: int = 0
    column: str = "Value"


@dataclass
class LoopExport:
    """What an export holds: its habits (in Loop's order), their marks, and the values
    that could not be read, by habit (checked only for the habits an import maps)."""

    path: str
    habits: list[Habit]
    marks: list[Mark]
    problems: dict[str, list[LogProblem]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    """Habits that ``Habits.csv`` lists but whose days the export does not hold (a
    partial export: no folder, and no column of the wide file that can be read)."""

    def habit(self, name: str) -> Habit:
        """The habit of that exact name."""
        return next(h for h in self.habits if h.name == name)


@dataclass
class ImportPlan:
    """What an import appends (``entries``, oldest first) and what it leaves out:
    ``already_logged`` dates, ``not_logged`` dates (no information), ``auto_days`` (of
    those, dates Loop marked YES_AUTO), ``future`` dates, ``unmapped`` habits; ``notes``
    are things worth saying (a unit not in minutes, a note cut)."""

    entries: list[Entry]
    already_logged: list[date] = field(default_factory=list)
    not_logged: list[date] = field(default_factory=list)
    auto_days: list[date] = field(default_factory=list)
    future: list[date] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _key(name: str) -> str:
    """Loose spelling of a habit name: case-insensitive, spaces and punctuation ignored."""
    return re.sub(r"[\W_]+", "", name.casefold())


# ----------------------------------------------------------------------------- reading


def _refuse(path: Path, member: str, found: str) -> InputError:
    return InputError(
        "export", "a Loop Habit Tracker CSV export (.zip)", f"{path}!{member}: {found}"
    )


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, budget: int) -> bytes:
    """One member's bytes, inflated in chunks, at most ``budget`` of them (whatever the
    header says); a damaged, encrypted or unsupported member is an :class:`InputError`."""
    if info.flag_bits & 0x1:
        raise _refuse(path, info.filename, "the member is encrypted (export it again from Loop)")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _refuse(
            path, info.filename, f"compression method {info.compress_type} (Loop writes deflate)"
        )
    chunks, total = [], 0
    try:
        with archive.open(info) as member:
            while chunk := member.read(CHUNK):
                total += len(chunk)
                if total > budget:
                    raise InputError(
                        "export",
                        f"at most {MAX_EXPORT_BYTES} bytes of CSV once inflated",
                        f"{path}!{info.filename}: more than that (a damaged or wrong file)",
                    )
                chunks.append(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError) as exc:
        raise _refuse(path, info.filename, f"damaged ({exc})") from None
    return b"".join(chunks)


def _through_top_folder(found: dict[str, bytes]) -> tuple[dict[str, bytes], str | None]:
    """The export inside one top folder (a zip made again from the unpacked folder, or
    the folder above it given): its files by their path inside that folder, and the
    folder's name. A habit's own folder (no ``Habits.csv``, no folder inside) is not
    looked through."""
    tops = {name.split("/", 1)[0] for name in found}
    if len(tops) != 1 or not all("/" in name for name in found):
        return found, None
    inside = {name.split("/", 1)[1]: data for name, data in found.items()}
    if not any(n.lower() == "habits.csv" or "/" in n for n in inside):
        return found, None
    return inside, tops.pop()


def _members(path: Path) -> dict[str, bytes]:
    """CSV files of the export (a zip, or the folder it unpacks to) by relative path."""
    found: dict[str, bytes] = {}
    total = 0
    if path.is_dir():
        for file in sorted(path.rglob("*.csv")):
            total += file.stat().st_size
            if total > MAX_EXPORT_BYTES:
                raise InputError("export", f"at most {MAX_EXPORT_BYTES} bytes of CSV", total)
            found[file.relative_to(path).as_posix()] = read_user_file(
                file, limit=MAX_EXPORT_BYTES, what="a CSV file of a Loop export"
            )
        return found
    try:
        zipped = read_user_file(path, limit=MAX_EXPORT_BYTES, what="a Loop export (.zip)")
        archive = zipfile.ZipFile(io.BytesIO(zipped))
    except UserFileError:  # a folder, FIFO or device, or too big: says so itself
        raise
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError(
            "export", "a Loop Habit Tracker CSV export (.zip)", f"{path}: {exc}"
        ) from None
    with archive:
        for info in archive.infolist():
            if info.is_dir() or not info.filename.lower().endswith(".csv"):
                continue
            data = _inflate(archive, info, path, MAX_EXPORT_BYTES - total)
            total += len(data)
            found[info.filename] = data
    return found


def _text(data: bytes) -> str:
    return data.decode("utf-8-sig", errors="replace")


def _rows(
    data: bytes, source: str, problems: list[LogProblem], *, strip: bool = True
) -> list[tuple[int, list[str]]]:
    """(line, fields) of each CSV record; trailing empty fields (trailing commas) dropped.
    A field longer than the csv module reads is reported, and reading goes on."""
    rows = []
    reader = csv.reader(io.StringIO(_text(data), newline=""))
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(
                LogProblem(
                    source, reader.line_num, "#record", f"expected a CSV field, found: {exc}"
                )
            )
            continue
        while fields and fields[-1].strip() == "":
            fields.pop()
        rows.append((reader.line_num, [f.strip() for f in fields] if strip else fields))
    return rows


def _read_habits(data: bytes, source: str) -> tuple[list[Habit], list[LogProblem]]:
    problems: list[LogProblem] = []
    rows = [r for _, r in _rows(data, source, problems) if r]
    if not rows:
        return [], problems
    header = [h.lower() for h in rows[0]]

    def column(name: str) -> int | None:
        return header.index(name) if name in header else None

    name_at, type_at, unit_at, pos_at = column("name"), column("type"), column("unit"), None
    pos_at = column("position")
    if name_at is None:
        return [], problems
    habits = []
    for number, row in enumerate(rows[1:], start=1):
        if name_at >= len(row) or not row[name_at]:
            continue
        position = number
        if pos_at is not None and pos_at < len(row) and row[pos_at].isdigit():
            position = int(row[pos_at])
        numeric = None
        if type_at is not None:
            kind = row[type_at].upper() if type_at < len(row) else ""
            numeric = kind in ("1", "NUMERICAL", "NUMERIC")
        unit = None
        if unit_at is not None:
            unit = row[unit_at] if unit_at < len(row) else ""
        habits.append(Habit(row[name_at], position, numeric, unit))
    return _told_apart(habits), problems


def _told_apart(habits: list[Habit]) -> list[Habit]:
    """Loop allows two habits of one name: each such name gets its position
    (``Walk (#001)``), and so does a habit whose own name then equals one of those,
    until every name is unique."""
    names = [h.name for h in habits]
    while True:
        counts: dict[str, int] = {}
        for name in names:
            counts[name] = counts.get(name, 0) + 1
        clashes = [i for i, name in enumerate(names) if counts[name] > 1]
        renamed = [i for i in clashes if names[i] == habits[i].name]
        if not renamed:
            break
        for i in renamed:
            names[i] = f"{habits[i].name} (#{habits[i].position or i + 1:03d})"
    return [
        replace(h, name=name, loop_name=h.name if name != h.name else "")
        for h, name in zip(habits, names, strict=True)
    ]


def _stored(text: str) -> int | None:
    """Loop's stored integer for one value (tokens included), or None."""
    token = TOKENS.get(text.upper())
    if token is not None:
        return token
    return int(text) if _INTEGER.match(text) else None


def mark_kind(value: int, habit: Habit) -> tuple[str, float | None]:
    """(kind, amount) of a stored value: yes / auto / no / skip / unknown; a numeric
    habit's amount in its own unit (stored ÷ 1000). A numeric 0 is NO and 3 is SKIP."""
    if not habit.numeric:
        return BOOLEAN_CODES.get(value, "unknown"), None
    if value < 0:
        return "unknown", None
    if value == 0:
        return "no", None
    if value == TOKENS["SKIP"]:
        return "skip", None
    return "yes", value / 1000.0


def _looks_numeric(values: Iterable[int]) -> bool:
    """A value outside Loop's yes/no codes (-1 to 3) means amounts × 1000."""
    return any(not -1 <= v <= 3 for v in values)


def _read_values(
    rows: list[tuple[int, list[str]]],
    source: str,
    habit: str,
    value_at: int,
    note_at: int | None,
    problems: list[LogProblem],
    column: str = "Value",
) -> list[Mark]:
    marks = []
    for line, row in rows:
        if not row:
            continue
        day_text = row[0].strip()
        try:
            day = parse_date(day_text)  # the log's own parser: same spelling, same range
        except FieldError as exc:
            message = f"expected {exc.expected}, found {day_text!r}"
            problems.append(LogProblem(source, line, "Date", message))
            continue
        text = row[value_at].strip() if value_at < len(row) else ""
        value = _stored(text)
        if value is None:
            problems.append(
                LogProblem(
                    source,
                    line,
                    column,
                    "expected YES_MANUAL, YES_AUTO, NO, SKIP, UNKNOWN or an integer, "
                    f"found {text!r}",
                )
            )
            continue
        note = row[note_at] if note_at is not None and note_at < len(row) else ""
        marks.append(Mark(habit, day, value, note, source, line, column))
    return marks


def sanitized(name: str) -> str:
    """The folder name Loop gives a habit name (only ``[ a-zA-Z0-9._-]``, 100 at most)."""
    return re.sub(r"[^ a-zA-Z0-9._-]+", "", name)[:100]


def _wide_header(data: bytes) -> tuple[list[str], int, list[str]]:
    """The wide Checkmarks.csv's header names (split on every comma: Loop writes them
    unquoted), how many value columns its rows have, and its lines."""
    lines = _text(data).splitlines()
    names = [n.strip() for n in lines[0].split(",")[1:]] if lines else []  # as Habits.csv
    if names and names[-1] == "":
        names.pop()
    widths = {len(line.rstrip(",").split(",")) - 1 for line in lines[1:] if line.strip()}
    return names, max(widths, default=len(names)) if len(widths) <= 1 else -1, lines


def _ambiguity(names: list[str], width: int, habits: list[Habit]) -> str | None:
    """Why the wide file's columns cannot be told apart, or None."""
    with_comma = [h.name for h in habits if "," in h.name]
    twice = sorted({n for n in names if names.count(n) > 1})
    if not with_comma and not twice and width == len(names):
        return None
    found = f"{len(names)} header names for {width if width >= 0 else 'varying'} columns"
    if twice:
        found += f"; names used twice: {', '.join(map(repr, twice))}"
    if with_comma:
        found += f"; names with a comma: {', '.join(map(repr, with_comma))}"
    return found


def read_loop_export(path: str | os.PathLike[str]) -> LoopExport:
    """Read a Loop Habit Tracker CSV export (zip or unpacked folder).

    Unreadable values are kept by habit in :attr:`LoopExport.problems` (as
    ``export.zip!001 Relax/Checkmarks.csv:LINE:COLUMN``); an import refuses those of the
    habits it maps. Raises :class:`InputError` for a file that is not a readable export.
    """
    path = Path(path)
    members, folder = _through_top_folder(_members(path))
    top = {name.lower(): name for name in members if "/" not in name.strip("/")}
    problems: dict[str, list[LogProblem]] = {}
    notes: list[str] = []
    if folder is not None:
        notes.append(f"{path.name}: the export was read inside its one top folder {folder!r}")
    habits: list[Habit] = []
    if "habits.csv" in top:
        habits, habit_problems = _read_habits(
            members[top["habits.csv"]], f"{path.name}!{top['habits.csv']}"
        )
        if habit_problems:
            raise LogFormatError(habit_problems)
    by_position = {h.position: h for h in habits}
    found: dict[str, tuple[str, list[tuple[int, list[str]]], list[LogProblem]]] = {}
    for name in sorted(members):
        parts = PurePosixPath(name).parts
        if len(parts) != 2 or parts[-1].lower() != "checkmarks.csv":
            continue
        match = _FOLDER.match(parts[0])
        habit = by_position.get(int(match.group(1))) if match else None
        if habit is None:  # not in Habits.csv: the folder's own name is all there is
            shown = (match.group(2) or parts[0]) if match else parts[0]
            habit = Habit(shown, int(match.group(1)) if match else None)
            habits.append(habit)
            notes.append(f"folder {parts[0]!r} is not in Habits.csv: its name is {shown!r}")
        elif (
            match is not None
            and parts[0].split()  # what Loop writes for that habit, spaces aside
            != f"{habit.position:03d} {sanitized(habit.loop_name or habit.name)}".split()
        ):
            notes.append(
                f"folder {parts[0]!r} holds habit {habit.position:03d} of Habits.csv, "
                f"{habit.name!r}, by its number"
            )
        source = f"{path.name}!{'' if folder is None else folder + '/'}{name}"
        habit_problems = []
        found[habit.name] = (
            source,
            _rows(members[name], source, habit_problems, strip=False),
            habit_problems,
        )
    marks: list[Mark] = []
    held: set[str] = set()  # habits read from the wide file
    for habit_name, (source, rows, habit_problems) in found.items():
        header = [h.strip().lower() for h in rows[0][1]] if rows else []
        headed = bool(header) and not DATE_PATTERN.match(rows[0][1][0])
        value_at = next((header.index(n) for n in ("value", "checkmark") if n in header), 1)
        note_at = next((header.index(n) for n in ("notes", "note") if n in header), None)
        body = rows[1:] if headed else rows
        marks += _read_values(
            body, source, habit_name, value_at, note_at if headed else None, habit_problems
        )
        problems[habit_name] = habit_problems
    if "checkmarks.csv" in top:
        source = f"{path.name}!{top['checkmarks.csv']}"
        names, width, lines = _wide_header(members[top["checkmarks.csv"]])
        why = _ambiguity(names, width, habits)
        if why is not None and found:
            if not all(h.name in found for h in habits):  # else the wide file is not needed
                notes.append(
                    f"{source} (one column per habit) was not read: its header lists the names "
                    f"unquoted and cannot be split ({why}); each habit's own folder was read"
                )
        elif why is not None:
            raise InputError(
                "export",
                f"{source} with columns one can tell apart: its header lists habit names "
                "unquoted, so a name with a comma shifts the columns. Export from Loop again "
                "and import the whole zip (its per-habit folders are read instead)",
                why,
            )
        else:
            known = {h.name for h in habits}
            habits += [Habit(n) for n in dict.fromkeys(names) if n and n not in known]
            rows = [(n, line.split(",")) for n, line in enumerate(lines[1:], start=2)]
            for position, name in enumerate(names, start=1):
                if not name or name in found:
                    continue
                held.add(name)
                wide_problems: list[LogProblem] = []
                marks += _read_values(rows, source, name, position, None, wide_problems, name)
                problems[name] = wide_problems
    typed = []
    for habit in habits:
        if habit.numeric is None:
            values = [m.value for m in marks if m.habit == habit.name]
            habit = replace(habit, numeric=_looks_numeric(values))
        typed.append(habit)
    absent = [h.name for h in typed if h.name not in found and h.name not in held]
    if absent:
        notes.append(
            f"Habits.csv lists {len(absent)} habit(s) this export holds no days of: "
            f"{listed(absent)} (a partial export: select them in Loop and export again)"
        )
    return LoopExport(str(path), typed, marks, problems, notes, absent)


# ----------------------------------------------------------------------------- mapping

_PAIR = re.compile(
    r"""\s*(?:"(?P<quoted>(?:[^"]|"")*)"|(?P<name>[^"].*?))\s*=\s*(?P<id>[^,\s=]+)\s*(?:,|\Z)""",
    re.DOTALL,
)


def parse_mapping(texts: str | Iterable[str]) -> dict[str, str]:
    """``--map`` values → {habit name: exercise id}.

    Each value holds ``NAME=exercise_id`` pairs joined by ``,``; a name may itself hold
    commas (an exercise id never does: ``a, b=hip_stretch`` is one pair), or be quoted
    (``"Walk = 10, then stretch"=hip_stretch``, ``""`` for a quote). ``--map`` may be
    given once per pair."""
    mapping: dict[str, str] = {}
    given = [texts] if isinstance(texts, str) else list(texts)
    for text in given:
        position = 0
        stripped = text.strip().rstrip(",")
        while position < len(stripped):
            match = _PAIR.match(stripped, position)
            if match is None or match.end() == position:
                raise InputError(
                    "--map",
                    "HABIT=exercise_id pairs joined by ',' (quote a name that holds '=')",
                    stripped[position:],
                )
            quoted = match.group("quoted")
            habit = quoted.replace('""', '"') if quoted is not None else match.group("name")
            habit = habit.strip()
            if not habit:
                raise InputError("--map", "a habit name before '='", match.group(0).strip())
            if habit in mapping:
                raise InputError("--map", "each habit once", habit)
            mapping[habit] = match.group("id")
            position = match.end()
    if not mapping:
        raise InputError("--map", "at least one HABIT=exercise_id pair", " ".join(given))
    return mapping


def _resolve(habits: list[Habit], name: str) -> Habit:
    """The habit a ``--map`` name means: exact, else the one equal ignoring case, else
    the one equal ignoring case, spaces and punctuation; never a guess between two."""
    for same in (
        lambda h: h.name == name,
        lambda h: h.name.casefold() == name.casefold(),
        lambda h: _key(h.name) == _key(name) and _key(name) != "",
    ):
        matches = [h for h in habits if same(h)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise InputError(
                "--map", f"one habit ({', '.join(repr(h.name) for h in matches)} all match)", name
            )
    known = listed([h.name for h in habits]) or "none"
    raise InputError("--map", f"a habit of the export ({known})", name)


def _joined_note(day: date, marks: list[Mark], notes: list[str]) -> str:
    loop_notes = [f"{m.habit}: {m.note}" for m in marks if m.note]
    note = "; ".join([IMPORT_NOTE, *dict.fromkeys(loop_notes)])
    if len(note) > MAX_NOTE_CHARS:
        notes.append(
            f"{day.isoformat()}: Loop's notes of that day ({len(note)} characters joined) were "
            f"cut to the log's {MAX_NOTE_CHARS}"
        )
        note = note[: MAX_NOTE_CHARS - len(CUT_MARK)] + CUT_MARK
    return check_note(note)


def plan_import(
    export: LoopExport,
    mapping: Mapping[str, str],
    routine: Routine,
    *,
    logged: set[date],
    now: datetime,
    minutes: Iterable[str] = (),
    not_minutes: Iterable[str] = (),
) -> ImportPlan:
    """The entries to append: one per date with information from a mapped habit, for
    dates not in ``logged`` and not after ``now``. ``minutes``/``not_minutes`` name
    numeric habits whose unit the export does not give. Refuses (``InputError``) a map
    naming a habit the export does not have, an exercise not in the routine, two habits
    for one exercise, or a numeric habit of unknown unit; refuses
    (``LogFormatError``) unreadable values of mapped habits. Nothing is written here."""
    if now.tzinfo is None:
        raise InputError("now", "a time with its UTC offset", now.isoformat())
    targets: dict[str, str] = {}
    for habit_name, exercise_id in mapping.items():
        habit = _resolve(export.habits, habit_name)
        if habit.name in export.absent:
            raise InputError(
                "--map",
                f"a habit whose days the export holds: {habit.name!r} is listed in Habits.csv "
                "but the export has no days of it (no folder, no column it can read): select "
                "it in Loop and export again",
                habit_name,
            )
        check_exercises([exercise_id], routine)
        if exercise_id in targets.values():
            raise InputError("--map", "one habit per exercise", f"{habit_name}={exercise_id}")
        if habit.name in targets:
            raise InputError("--map", "each habit once", habit_name)
        targets[habit.name] = exercise_id
    said_minutes = {_resolve(export.habits, n).name for n in minutes}
    said_not = {_resolve(export.habits, n).name for n in not_minutes}
    if said_minutes & said_not:
        raise InputError(
            "--minutes", "a habit not also in --not-minutes", sorted(said_minutes & said_not)
        )
    plan = ImportPlan(
        [],
        unmapped=[
            h.name for h in export.habits if h.name not in targets and h.name not in export.absent
        ],
    )
    in_minutes: dict[str, bool] = {}
    for habit in export.habits:
        if habit.name not in targets or not habit.numeric:
            continue
        if habit.name in said_minutes or habit.name in said_not:
            in_minutes[habit.name] = habit.name in said_minutes
        elif habit.unit_known:
            in_minutes[habit.name] = habit.counts_minutes
        else:
            raise InputError(
                "--minutes",
                f"the unit of numeric habit {habit.name!r}: the export does not give one "
                f"(Loop 2.3.0 or older, or an empty unit). Add --minutes {habit.name!r} if "
                f"its amounts are minutes, or --not-minutes {habit.name!r} to count an amount "
                "above 0 as done at the prescribed dose",
                "no unit",
            )
        if not in_minutes[habit.name]:
            unit = habit.unit if habit.unit_known else "an unknown unit"
            plan.notes.append(
                f"{habit.name!r} counts {unit}, not minutes: a value above 0 counts as done "
                "at the prescribed dose"
            )
    problems = [p for name in targets for p in export.problems.get(name, [])]
    days: dict[date, list[Mark]] = {}
    marked: dict[date, list[tuple[Mark, str, float | None]]] = {}
    for mark in export.marks:
        if mark.habit not in targets:
            continue
        habit = export.habit(mark.habit)
        kind, amount = mark_kind(mark.value, habit)
        value: float | None = None
        if kind == "yes" and in_minutes.get(habit.name):
            value = amount
            try:
                check_exercises({targets[habit.name]: f"{amount:.12g}"}, routine)
            except InputError:
                problems.append(
                    LogProblem(
                        mark.source,
                        mark.line,
                        mark.column,
                        f"expected minutes × 1000: 10 to {MAX_MINUTES * 1000:g}, in steps "
                        f"of 10, found {mark.value}",
                    )
                )
                continue
        days.setdefault(mark.day, []).append(mark)
        marked.setdefault(mark.day, []).append((mark, kind, value))
    if problems:
        raise LogFormatError(problems)
    unlogged_notes: list[date] = []
    for day in sorted(marked):
        informative = [(m, k, v) for m, k, v in marked[day] if k in INFORMATIVE]
        if not informative:
            plan.not_logged.append(day)
            if any(k == "auto" for _, k, _ in marked[day]):
                plan.auto_days.append(day)
            if any(m.note for m in days[day]):
                unlogged_notes.append(day)
            continue
        if day > now.date():
            plan.future.append(day)
            continue
        if day in logged:
            plan.already_logged.append(day)
            continue
        done = {targets[m.habit]: v for m, k, v in informative if k == "yes"}
        rest = all(k == "skip" for _, k, _ in informative)
        plan.entries.append(
            Entry(
                recorded_at=now,
                date=day,
                pain=None,
                exercises=check_exercises(done, routine),
                day="rest" if rest else "routine",
                note=_joined_note(day, days[day], plan.notes),
            )
        )
    if unlogged_notes:
        plan.notes.append(
            f"{len(unlogged_notes)} day(s) with a Loop note but no YES, NO or SKIP were not "
            f"logged, so their notes were not imported (first: {unlogged_notes[0].isoformat()})"
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
    minutes: Iterable[str] = (),
    not_minutes: Iterable[str] = (),
) -> ImportPlan:
    """Read the export, plan against the log's dates, and append the planned rows (one
    durable append each) unless ``dry_run``. Returns the plan."""
    now = now or datetime.now().astimezone()
    export = read_loop_export(export_path)
    log_path = Path(log_path)
    logged: set[date] = set()
    if log_path.exists():
        log = read_log(log_path, strict=False)  # a withdrawn (void) date is not logged
        logged = {d.date() for d in latest_per_date(log.entries)["date"]}
    plan = plan_import(
        export,
        mapping,
        routine,
        logged=logged,
        now=now,
        minutes=minutes,
        not_minutes=not_minutes,
    )
    plan.notes[:0] = export.notes
    if not dry_run:
        for entry in plan.entries:
            append_entry(log_path, entry)
    return plan
