"""One function per user action, shared by the ``backtrack`` command and the widget form.

Every action validates all of its input before anything is written: a refused action
raises :class:`~backtrack.errors.InputError` (naming the field, what was expected and
what was found) and leaves the log untouched.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, cast

import pandas as pd

from .errors import FieldError, InputError
from .measures import (
    MEASURES,
    PEG,
    PEG_ITEMS,
    PGIC,
    PSFS,
    PSFS_ACTIVITIES_MAX,
    Answers,
    check_activity,
    parse_peg,
    parse_pgic,
    parse_psfs,
)
from .measures_file import (
    answers_row,
    append_answers,
    current_answers,
    measures_path,
    read_measures,
    void_row,
)
from .routine import Routine, load_routine
from .schema import (
    DAY_TYPES,
    PAIN_LOCATIONS,
    VOID,
    Entry,
    check_note_text,
    parse_date,
    parse_exercises,
    parse_pain,
    parse_typed_minutes,
)
from .store import LogData, append_entry, history_for, read_log, resolve_log_path

__all__ = [
    "PAIN_LOCATIONS",
    "build_answers",
    "build_entry",
    "load_log",
    "log_day",
    "save_answers",
    "void_answers",
    "void_day",
]

DUPLICATE_SECONDS = 10.0
"""A save identical to its date's latest save made less than this long ago is not
appended again (a double-click on Save, a command run twice)."""


def _now() -> datetime:
    return datetime.now().astimezone()


def _refused(exc: FieldError) -> InputError:
    return InputError(exc.field, exc.expected, exc.found)


NO_RATING = "no rating"
"""What a person gives as the pain to say they choose not to rate it (any day type)."""


def check_pain(pain: object, day_type: str) -> int | None:
    """Pain as an integer 0-10 (NRS), typed (``"4"``) or given (``4``); None (not rated)
    on a rest day, or on any day when the person says so (:data:`NO_RATING`, any case).
    Text goes through the log's own parser (:func:`schema.parse_pain`)."""
    if isinstance(pain, str) and pain.strip().casefold() == NO_RATING:
        return None
    if pain is None or (isinstance(pain, str) and pain.strip() == ""):
        if day_type == "rest":
            return None
        raise InputError(
            "pain",
            f"an integer 0-10 (required unless the day is a rest day, or '{NO_RATING}')",
            pain,
        )
    if isinstance(pain, str):
        try:
            return parse_pain(pain.strip())
        except FieldError:
            raise InputError("pain", "an integer 0-10", pain) from None
    if isinstance(pain, bool) or not isinstance(pain, int) or not 0 <= pain <= 10:
        raise InputError("pain", "an integer 0-10", pain)
    return pain


def check_date(day: object, today: date) -> date:
    """A calendar day in the log's range (:data:`schema.MIN_DATE` on) up to ``today``:
    text, or a date's own ``YYYY-MM-DD``, goes through the log's :func:`schema.parse_date`."""
    typed = day
    if isinstance(day, datetime):
        day = day.date()
    if isinstance(day, date):
        day = day.isoformat()
    if not isinstance(day, str):
        raise InputError("date", "a date YYYY-MM-DD", typed)
    try:
        checked = parse_date(day.strip())
    except FieldError as exc:
        raise _refused(exc) from None
    if checked > today:
        raise InputError("date", f"today ({today.isoformat()}) or earlier", checked.isoformat())
    return checked


def check_exercises(
    done: Mapping[str, object] | Iterable[str], routine: Routine
) -> dict[str, float | None]:
    """Exercises done → {id: minutes}. A ticked exercise (None or empty text) gets its
    prescribed dose; one without a dose stays "done, minutes not given". Typed minutes go
    through :func:`schema.parse_typed_minutes` (decimal comma accepted, nothing rounded)."""
    pairs = done.items() if isinstance(done, Mapping) else ((eid, None) for eid in done)
    doses = routine.doses()
    checked: dict[str, float | None] = {}
    for exercise_id, minutes in pairs:
        if exercise_id not in doses:
            raise InputError(
                "exercises", f"an exercise of the routine ({', '.join(routine.ids)})", exercise_id
            )
        field_name = f"exercises.{exercise_id}"
        if minutes is None or (isinstance(minutes, str) and minutes.strip() == ""):
            checked[exercise_id] = doses[exercise_id]
            continue
        if isinstance(minutes, bool) or not isinstance(minutes, str | int | float):
            raise InputError(field_name, "minutes as a number", minutes)
        # a number is checked as its shortest spelling, by the same parser as text
        text = minutes if isinstance(minutes, str) else f"{float(minutes):.12g}"
        try:
            checked[exercise_id] = parse_typed_minutes(field_name, text)
        except FieldError as exc:
            found = exc.found if isinstance(minutes, str) else minutes
            raise InputError(exc.field, exc.expected, found) from None
    return checked


def check_where(where: Iterable[str] | str) -> tuple[str, ...]:
    """Pain locations, each one of :data:`schema.PAIN_LOCATIONS` (``lower_back``); text is
    split on ``,`` or ``;``."""
    if isinstance(where, str):
        where = [w for w in where.replace(",", ";").split(";") if w.strip()]
    places = tuple(w.strip() for w in where)
    for place in places:
        if place not in PAIN_LOCATIONS:
            raise InputError("where", f"one of {', '.join(PAIN_LOCATIONS)}", place)
    return tuple(dict.fromkeys(places))


def check_note(note: object) -> str:
    """Free text, kept exactly as typed (see :func:`schema.check_note_text`)."""
    if note is None:
        return ""
    if not isinstance(note, str):
        raise InputError("note", "text", note)
    try:
        return check_note_text(note)
    except FieldError as exc:
        raise _refused(exc) from None


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
    """What a save wrote: the entry, the row as stored, and the log's path.

    ``duplicate``: the save was identical to its date's latest save made less than
    :data:`DUPLICATE_SECONDS` ago (a double-click), so nothing was appended; ``row`` is
    then the row already in the log.
    """

    entry: Entry
    row: dict[str, str]
    path: str
    duplicate: bool = False


def _same_day_state(entry: Entry, row: Mapping[str, Any]) -> bool:
    """True when ``row`` (a loaded entries row) records the same state as ``entry``."""
    stored = entry.to_row()
    pain = row["pain"]
    return (
        ("" if pd.isna(pain) else str(int(pain))) == stored["pain"]
        and row["exercises"] == stored["exercises"]
        and row["day"] == stored["day"]
        and row["where"] == stored["where"]
        and row["note"] == entry.note
    )


def latest_save(log: LogData | None, day: date) -> Mapping[str, Any] | None:
    """The date's current (latest) save in a loaded log (the last of
    :func:`store.history_for`), or None when it has none (or there is no log)."""
    rows = history_for(log.entries, day) if log is not None else None
    if rows is None or rows.empty:
        return None
    return cast("dict[str, Any]", rows.iloc[-1].to_dict())  # the entries' columns are str


def read_if_any(log_path: Path) -> LogData | None:
    """The log read leniently, or None when there is none yet."""
    return read_log(log_path, strict=False) if log_path.exists() else None


def _append_unless_repeated(log_path: Path, entry: Entry, current: LogData | None) -> Saved:
    """Append ``entry`` unless it repeats its date's latest save of the last seconds
    (looked up in ``current``, the log as read before this save)."""
    if current is not None:
        latest = latest_save(current, entry.date)
        if (
            latest is not None
            and _same_day_state(entry, latest)
            and 0
            <= (entry.recorded_at - latest["recorded_at"].to_pydatetime()).total_seconds()
            < DUPLICATE_SECONDS
        ):
            row = {name: str(latest[name]) for name in ("recorded_at", "date")}
            return Saved(entry, {**entry.to_row(), **row}, str(log_path), duplicate=True)
    row = append_entry(log_path, entry)
    return Saved(entry, row, str(log_path))


def log_day(
    path: str | os.PathLike[str] | None = None,
    *,
    routine: Routine | None = None,
    current: LogData | None = None,
    **fields: Any,
) -> Saved:
    """Log (or correct, or backfill) one day: validate, then append one row.

    A correction is simply a later save for the same date: the newest row is the day's
    state, earlier ones stay as history. A save identical to the date's latest save of
    the last :data:`DUPLICATE_SECONDS` seconds is not appended again (``duplicate``).
    ``current``: the log as the caller just read it (else it is read here, for that
    check). ``fields`` are those of :func:`build_entry`.
    """
    log_path = resolve_log_path(path)
    routine = routine or load_routine(log_path=log_path)
    entry = build_entry(routine=routine, **fields)
    known = current if current is not None else read_if_any(log_path)
    return _append_unless_repeated(log_path, entry, known)


def void_day(
    path: str | os.PathLike[str] | None = None,
    *,
    day: object,
    note: object = "",
    now: datetime | None = None,
) -> Saved:
    """Withdraw a date saved by mistake (e.g. the wrong day): append a ``void`` row, after
    which the date counts as not logged. Nothing is rewritten; the earlier saves stay as
    history, and a later save for the date logs it again. Refused (``InputError``) when
    the date has no save, or is withdrawn already."""
    log_path = resolve_log_path(path)
    now = now or _now()
    if now.tzinfo is None:
        raise InputError("recorded_at", "a time with its UTC offset", now.isoformat())
    checked = check_date(day, now.date())
    latest = latest_save(read_if_any(log_path), checked)
    if latest is None:
        raise InputError("date", "a date that has a save to withdraw", checked.isoformat())
    if latest["day"] == VOID:
        raise InputError("date", "a date that is not withdrawn already", checked.isoformat())
    entry = Entry(recorded_at=now, date=checked, day=VOID, note=check_note(note))
    return Saved(entry, append_entry(log_path, entry), str(log_path))


CARRIED_FIELDS = ("pain", "done", "day_type", "where", "note")
"""The fields a partial save can take over from the date's latest save."""


def carry_over(
    current: LogData | None, day: date, given: Mapping[str, object]
) -> tuple[dict[str, object], tuple[str, ...]]:
    """Complete a partial save (e.g. ``backtrack log --pain 3`` after a full-routine
    save) from the date's latest save: each field of :data:`CARRIED_FIELDS` not in
    ``given`` is taken from it. Returns the fields for :func:`log_day` and the names
    taken over, so the caller can say which. A date with no save (or withdrawn) takes
    nothing over. ``current``: the log as read (None: no log yet)."""
    latest = latest_save(current, day)
    fields = dict(given)
    if latest is None or latest["day"] == VOID:
        return fields, ()
    earlier = {
        "pain": None if pd.isna(latest["pain"]) else int(latest["pain"]),
        "done": parse_exercises(str(latest["exercises"])),
        "day_type": latest["day"],
        "where": str(latest["where"]),
        "note": latest["note"],
    }
    carried = tuple(name for name in CARRIED_FIELDS if name not in given)
    for name in carried:
        fields[name] = earlier[name]
    return fields, carried


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


# ------------------------------------------------------------------ function measures

PegInput = str | Sequence[int | None]
PsfsInput = str | Mapping[str, int | None] | Sequence[tuple[str, int | None]]
PgicInput = str | int


def _points(measure: str, value: object, low: int, high: int, expected: str) -> int | None:
    """One answer given as a number (the form), or None for not answered."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(measure, expected, value)
    return value


def _check_peg(peg: PegInput) -> tuple[int | None, ...]:
    if isinstance(peg, str):
        return parse_peg(peg)
    expected = f"{len(PEG_ITEMS)} answers 0-10 or None (pain, enjoyment, activity)"
    values = tuple(peg)
    if len(values) != len(PEG_ITEMS):
        raise InputError(PEG, expected, values)
    checked = tuple(_points(PEG, value, 0, 10, expected) for value in values)
    if all(value is None for value in checked):
        raise InputError(PEG, expected + " (at least one answered)", values)
    return checked


def _check_psfs(psfs: PsfsInput) -> tuple[tuple[str, int | None], ...]:
    if isinstance(psfs, str):
        return parse_psfs(psfs)
    pairs = list(psfs.items()) if isinstance(psfs, Mapping) else list(psfs)
    expected = f"1-{PSFS_ACTIVITIES_MAX} activities, each rated 0-10 or None"
    if not 1 <= len(pairs) <= PSFS_ACTIVITIES_MAX:
        raise InputError(PSFS, expected, len(pairs))
    checked: dict[str, int | None] = {}
    for name, rating in pairs:
        if not isinstance(name, str):
            raise InputError("psfs.activity", "an activity's name (text)", name)
        activity = check_activity(name)
        if activity in checked:
            raise InputError(PSFS, "each activity once", activity)
        checked[activity] = _points(PSFS, rating, 0, 10, expected)
    return tuple(checked.items())


def _check_pgic(pgic: PgicInput) -> int:
    if isinstance(pgic, str):
        return parse_pgic(pgic)
    checked = _points(PGIC, pgic, 1, 7, "a number 1-7 (1 very much improved, 7 very much worse)")
    if checked is None:
        raise InputError(PGIC, "a number 1-7", pgic)
    return checked


def build_answers(
    *,
    peg: PegInput | None = None,
    psfs: PsfsInput | None = None,
    pgic: PgicInput | None = None,
    day: object = None,
    now: datetime | None = None,
) -> list[Answers]:
    """Validate the answers given (each measure optional; a measure left out is
    skipped, which is not an answer) and return one :class:`Answers` per measure, in
    the order PEG, PSFS, PGIC (nothing is written). Text is read as the command takes it
    (:func:`measures.parse_peg`, ``parse_psfs``, ``parse_pgic``); the form gives values.
    Raises :class:`InputError` naming the measure, expected and found."""
    now = now or _now()
    if now.tzinfo is None:
        raise InputError("recorded_at", "a time with its UTC offset", now.isoformat())
    checked_day = check_date(now.date() if day is None else day, now.date())
    found: list[Answers] = []
    try:
        if peg is not None:
            found.append(Answers(PEG, checked_day, _check_peg(peg)))
        if psfs is not None:
            pairs = _check_psfs(psfs)
            ratings = tuple(rating for _, rating in pairs)
            found.append(Answers(PSFS, checked_day, ratings, tuple(n for n, _ in pairs)))
        if pgic is not None:
            found.append(Answers(PGIC, checked_day, (_check_pgic(pgic),)))
    except InputError:
        raise
    except FieldError as exc:
        raise _refused(exc) from None
    return found


@dataclass(frozen=True)
class SavedAnswers:
    """What a save of answers wrote: the answer sets, the rows as stored (one each) and
    the measures file's path."""

    answers: tuple[Answers, ...]
    rows: tuple[dict[str, str], ...]
    path: str


def save_answers(
    path: str | os.PathLike[str] | None = None,
    *,
    answers: Sequence[Answers] | None = None,
    now: datetime | None = None,
    **given: Any,
) -> SavedAnswers:
    """Save function answers (PEG, PSFS, PGIC) to the measures file beside the log
    (:func:`measures_file.measures_path`): every set is validated first
    (:func:`build_answers`; ``given`` are its fields, or ``answers`` already built),
    then each is appended as one row with the log's guarantees. A correction is a later
    save for the same date and measure. The daily log is not touched."""
    now = now or _now()
    sets = list(answers) if answers is not None else build_answers(now=now, **given)
    if not sets:
        raise InputError("measures", "at least one of peg, psfs, pgic", "none")
    target = measures_path(resolve_log_path(path))
    rows = tuple(answers_row(one, now) for one in sets)  # all checked before any write
    for row in rows:
        append_answers(target, row)
    return SavedAnswers(tuple(sets), rows, str(target))


def void_answers(
    path: str | os.PathLike[str] | None = None,
    *,
    measure: str,
    day: object,
    now: datetime | None = None,
) -> SavedAnswers:
    """Withdraw one measure's answers for a date (given by mistake): append a ``void``
    row, after which the date has no answers for that measure; the earlier rows stay
    as history. Refused when the date has no current answers for it."""
    now = now or _now()
    if now.tzinfo is None:
        raise InputError("recorded_at", "a time with its UTC offset", now.isoformat())
    if measure not in MEASURES:
        raise InputError("measure", f"one of {', '.join(MEASURES)}", measure)
    checked = check_date(day, now.date())
    target = measures_path(resolve_log_path(path))
    current = current_answers(read_measures(target))
    if not any(a.date == checked and a.measure == measure for a in current):
        raise InputError("date", f"a date with {measure} answers to withdraw", checked.isoformat())
    row = void_row(measure, checked, now)
    append_answers(target, row)
    return SavedAnswers((Answers(measure, checked, ()),), (row,), str(target))
