"""One function per user action, shared by the ``backtrack`` command and the widget form.

Every action validates all of its input before anything is written: a refused action
raises :class:`~backtrack.errors.InputError` (naming the field, what was expected and
what was found) and leaves the log untouched.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from .errors import InputError
from .routine import Routine, load_routine
from .schema import DAY_TYPES, MAX_MINUTES, Entry, is_identifier
from .store import LogData, append_entry, read_log, resolve_log_path

MAX_NOTE_CHARS = 5000
PAIN_LOCATIONS: tuple[str, ...] = (
    "lower_back",
    "between_shoulder_blades",
    "upper_back",
    "neck",
    "hips",
    "buttocks",
    "leg_left",
    "leg_right",
)
"""Locations the form offers; any lower-case id is accepted."""


def _now() -> datetime:
    return datetime.now().astimezone()


def check_pain(pain: object, day_type: str) -> int | None:
    """Pain as an integer 0-10 (NRS); None (not rated) only on a rest day."""
    if pain is None or pain == "":
        if day_type == "rest":
            return None
        raise InputError("pain", "an integer 0-10 (required unless the day is a rest day)", pain)
    value = int(pain.strip()) if isinstance(pain, str) and pain.strip().isdigit() else pain
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
        raise InputError("pain", "an integer 0-10", pain)
    return value


def check_date(day: object, today: date) -> date:
    """A calendar day that is not in the future."""
    typed = day
    if isinstance(day, datetime):
        day = day.date()
    if isinstance(day, str):
        text = day.strip()
        try:
            day = date.fromisoformat(text) if len(text) == 10 else None
        except ValueError:
            day = None
    if not isinstance(day, date):
        raise InputError("date", "a date YYYY-MM-DD", typed)
    if day > today:
        raise InputError("date", f"today ({today.isoformat()}) or earlier", day.isoformat())
    return day


def check_exercises(
    done: Mapping[str, float | None] | Iterable[str], routine: Routine
) -> dict[str, float | None]:
    """Exercises done → {id: minutes}. A ticked exercise (None) gets its prescribed dose;
    one without a dose stays "done, minutes not given"."""
    pairs = done.items() if isinstance(done, Mapping) else ((eid, None) for eid in done)
    doses = routine.doses()
    checked: dict[str, float | None] = {}
    for exercise_id, minutes in pairs:
        if exercise_id not in doses:
            raise InputError(
                "exercises", f"an exercise of the routine ({', '.join(routine.ids)})", exercise_id
            )
        if minutes is None or minutes == "":
            checked[exercise_id] = doses[exercise_id]
            continue
        value = minutes
        if isinstance(minutes, str):
            try:
                value = float(minutes)
            except ValueError:
                raise InputError(
                    f"exercises.{exercise_id}", "minutes as a number", minutes
                ) from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError(f"exercises.{exercise_id}", "minutes as a number", minutes)
        if not 0 < value <= MAX_MINUTES:  # also refuses NaN
            raise InputError(
                f"exercises.{exercise_id}",
                f"minutes above 0 and at most {MAX_MINUTES:g} (untick it if not done)",
                minutes,
            )
        checked[exercise_id] = round(float(value), 2)
    return checked


def check_where(where: Iterable[str] | str) -> tuple[str, ...]:
    """Pain locations as ids (``lower_back``); text like "lower back" is refused."""
    if isinstance(where, str):
        where = [w for w in where.replace(",", ";").split(";") if w.strip()]
    places = tuple(w.strip() for w in where)
    for place in places:
        if not is_identifier(place):
            raise InputError("where", f"locations such as {', '.join(PAIN_LOCATIONS[:3])}", place)
    return tuple(dict.fromkeys(places))


def check_note(note: object) -> str:
    """Free text, kept exactly as typed (up to 5000 characters)."""
    if note is None:
        return ""
    if not isinstance(note, str):
        raise InputError("note", "text", note)
    if len(note) > MAX_NOTE_CHARS:
        raise InputError("note", f"at most {MAX_NOTE_CHARS} characters", f"{len(note)} characters")
    return note


def build_entry(
    *,
    pain: object,
    done: Mapping[str, float | None] | Iterable[str] = (),
    day: object = None,
    day_type: str = "routine",
    where: Iterable[str] | str = (),
    note: object = "",
    routine: Routine,
    now: datetime | None = None,
) -> Entry:
    """Validate one day's input and return the entry to save (nothing is written).

    ``day`` defaults to today; ``done`` maps exercise ids to minutes (None: the
    prescribed dose) or lists ids done at their dose.
    """
    now = now or _now()
    if now.tzinfo is None:
        raise InputError("recorded_at", "a time with its UTC offset", now.isoformat())
    if day_type not in DAY_TYPES:
        raise InputError("day", f"one of {', '.join(DAY_TYPES)}", day_type)
    return Entry(
        recorded_at=now,
        date=check_date(now.date() if day is None else day, now.date()),
        pain=check_pain(pain, day_type),
        exercises=check_exercises(done, routine),
        day=day_type,
        where=check_where(where),
        note=check_note(note),
    )


@dataclass(frozen=True)
class Saved:
    """What a save wrote: the entry, the row as stored, and the log's path."""

    entry: Entry
    row: dict[str, str]
    path: str


def log_day(
    path: str | os.PathLike[str] | None = None,
    *,
    routine: Routine | None = None,
    **fields: object,
) -> Saved:
    """Log (or correct, or backfill) one day: validate, then append one row.

    A correction is simply a later save for the same date: the newest row is the day's
    state, earlier ones stay as history. ``fields`` are those of :func:`build_entry`.
    """
    log_path = resolve_log_path(path)
    routine = routine or load_routine(log_path=log_path)
    entry = build_entry(routine=routine, **fields)
    row = append_entry(log_path, entry)
    return Saved(entry, row, str(log_path))


def load_log(
    path: str | os.PathLike[str] | None = None,
    *,
    routine: Routine | None = None,
    strict: bool = False,
) -> LogData:
    """Read the log in force, warning about exercise ids the routine does not know."""
    log_path = resolve_log_path(path)
    routine = routine or load_routine(log_path=log_path)
    return read_log(log_path, strict=strict, known_exercises=routine.ids)
