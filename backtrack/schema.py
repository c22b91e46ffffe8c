"""The log format, schema v1: columns, their types, and parsing of one row.

One row per save; the row with the latest ``recorded_at`` for a ``date`` is that day's
state, earlier rows for the date are history (a correction is a new row, never an edit).

=============== ==================================================================
column          meaning
=============== ==================================================================
``recorded_at`` when the row was saved: ISO 8601 with UTC offset,
                e.g. ``2026-11-20T08:15:02+01:00``
``date``        the day the entry is about, ``YYYY-MM-DD``
``pain``        pain on the 0-10 numeric rating scale (NRS; 0 = no pain,
                10 = worst imaginable), an integer; empty = not rated
``exercises``   what was done: ``id=minutes`` pairs joined by ``;``, e.g.
                ``floor_relaxation=5;hip_stretch=2``; ``wall_squat=`` means done,
                minutes not given; empty = nothing done
``day``         ``routine`` (the default), ``rest`` (a planned rest day), ``flare``, or
                ``void``: the date's earlier saves are withdrawn (saved on the wrong
                date) and the day counts as not logged; a ``void`` row has no pain,
                exercises or locations. Files without ``void`` rows are unchanged; an
                older backtrack reports a ``void`` row as a problem instead of counting it.
``where``       pain locations joined by ``;`` (``lower_back;hips``); may be empty
``note``        free text. A note that starts with ``=``, ``+``, ``-``, ``@`` or ``'``
                is stored with one extra leading ``'`` so a spreadsheet shows it as
                text instead of running it as a formula; loading removes it again.
=============== ==================================================================

"Not logged" (no row for a date, or a ``void`` latest row), "logged, nothing done" (empty
``exercises``), a rest day and a flare day are four different things.

Every value is parsed by one function per field (below), used alike by the reader, the
form, the ``backtrack`` command and the imports. Digits are ASCII only (``٣``, ``３``,
``³`` are refused, never read as 3); dates run from :data:`MIN_DATE` to
:data:`MAX_DATE`, the range the analysis can represent.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from .errors import FieldError

SCHEMA_VERSION = 1
COLUMNS: tuple[str, ...] = ("recorded_at", "date", "pain", "exercises", "day", "where", "note")
DAY_TYPES: tuple[str, ...] = ("routine", "rest", "flare")
"""The kinds of day a person logs."""
VOID = "void"
"""``day`` of a row that withdraws its date (see the module docstring)."""
STORED_DAY_TYPES: tuple[str, ...] = (*DAY_TYPES, VOID)
PAIN_MIN, PAIN_MAX = 0, 10
MAX_MINUTES = 240.0
"""More minutes than this for one exercise on one day is refused as a typo."""
MINUTES_DECIMALS = 2
"""Minutes are typed with at most this many decimals (nothing is rounded silently)."""
MAX_NOTE_CHARS = 5000
"""The longest note any write path accepts (form, command, imports)."""
FIELD_LIMIT = 131072
"""Python's csv reader refuses a longer field; no field is ever written longer."""
MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2199, 12, 31)
"""Dates outside this range are refused: none is a real day of a back-pain log, and the
analysis (pandas nanosecond timestamps) cannot represent years before 1677."""
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
"""The pain locations the form and the command accept; other ids in a file are kept and
warned about."""

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet treat a cell as a formula (OWASP CSV injection)."""
NOTE_GUARD = "'"

_ID = re.compile(r"[a-z][a-z0-9_]*\Z")
# re.ASCII: \d is 0-9 only (without it, Arabic-Indic or full-width digits would match).
RECORDED_AT_PATTERN = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2}(?::\d{2})?)\Z",
    re.ASCII,
)
DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}\Z", re.ASCII)
_INT = re.compile(r"\d{1,2}\Z", re.ASCII)
_NUMBER = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)\Z", re.ASCII)
_TYPED_NUMBER = re.compile(rf"\d{{1,3}}(?:[.,]\d{{1,{MINUTES_DECIMALS}}})?\Z", re.ASCII)


def csv_line(fields: list[str]) -> str:
    """One CSV record ending in ``\n``. Fields holding ``,``, ``"``, ``\n`` or ``\r`` are
    quoted (the writer is told ``\r\n`` ends lines so that a lone ``\r`` gets quotes too)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(fields)
    return buffer.getvalue()[:-2] + "\n"


def is_identifier(text: str) -> bool:
    """True for a stable id such as ``hip_stretch``: lower-case letters, digits, ``_``."""
    return bool(_ID.match(text))


def encode_note(note: str) -> str:
    """The note as stored: one ``'`` prepended when a spreadsheet could run it."""
    if note.startswith(FORMULA_PREFIXES) or note.startswith(NOTE_GUARD):
        return NOTE_GUARD + note
    return note


def decode_note(stored: str) -> str:
    """The note as typed, from its stored form (inverse of :func:`encode_note`)."""
    return stored[1:] if stored.startswith(NOTE_GUARD) else stored


def _in_range(day: date) -> bool:
    return MIN_DATE <= day <= MAX_DATE


_DATE_RANGE = f"between {MIN_DATE.isoformat()} and {MAX_DATE.isoformat()}"


def parse_recorded_at(text: str) -> datetime:
    """``recorded_at``: an ISO 8601 date-time that carries its UTC offset."""
    value = None
    if RECORDED_AT_PATTERN.match(text):
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            value = None
    if value is None or value.tzinfo is None:
        raise FieldError(
            "recorded_at",
            "an ISO 8601 date-time with UTC offset like 2026-11-20T08:15:00+01:00",
            text,
        )
    if not _in_range(value.date()):
        raise FieldError("recorded_at", f"a time {_DATE_RANGE}", text)
    return value


def parse_date(text: str) -> date:
    """``date``: a calendar day written ``YYYY-MM-DD`` (ASCII digits), from
    :data:`MIN_DATE` to :data:`MAX_DATE`. ISO week (``2026-W01-1``) and basic
    (``20260105``) forms are refused: each day has one spelling."""
    if DATE_PATTERN.match(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            pass
        else:
            if not _in_range(day):
                raise FieldError("date", f"a date {_DATE_RANGE}", text)
            return day
    raise FieldError("date", "a date YYYY-MM-DD", text)


def parse_pain(text: str) -> int | None:
    """``pain``: an integer 0-10 (NRS) in ASCII digits, or empty for not rated."""
    if text == "":
        return None
    if _INT.match(text):
        value = int(text)
        if PAIN_MIN <= value <= PAIN_MAX:
            return value
    raise FieldError("pain", "an integer 0-10 or empty", _shown(text))


def parse_typed_minutes(field_name: str, text: str) -> float:
    """Minutes as a person types them: above 0 and at most 240, with at most two
    decimals; a decimal comma (``2,5``) is read as a point. Refuses (never rounds)
    ``0.001``, ``5_0``, ``1e2`` and non-ASCII digits."""
    typed = text.strip()
    if _TYPED_NUMBER.match(typed):
        value = float(typed.replace(",", "."))
        if 0 < value <= MAX_MINUTES:
            return value
    raise FieldError(
        field_name,
        f"minutes as a number above 0 and at most {MAX_MINUTES:g}, with at most "
        f"{MINUTES_DECIMALS} decimals (untick the exercise if it was not done)",
        _shown(text),
    )


def _shown(found: str, limit: int = 60) -> str:
    """A found value short enough to quote in a message."""
    return found if len(found) <= limit else f"{found[:limit]}... ({len(found)} characters)"


def check_note_text(note: str) -> str:
    """A note any write path may store: at most :data:`MAX_NOTE_CHARS` characters of
    text that UTF-8 can hold (a lone surrogate, e.g. from undecodable command-line bytes,
    cannot be written and is refused)."""
    if len(note) > MAX_NOTE_CHARS:
        raise FieldError("note", f"at most {MAX_NOTE_CHARS} characters", f"{len(note)} characters")
    try:
        note.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise FieldError(
            "note",
            "text (no unpaired surrogate code points)",
            f"{note[exc.start]!r} at character {exc.start + 1}",
        ) from None
    return note


def check_minutes(exercise_id: str, minutes: float | None) -> float | None:
    """Minutes for one exercise: empty (done, not timed) or a number 0-240."""
    if minutes is None:
        return None
    if not isinstance(minutes, int | float) or isinstance(minutes, bool):
        raise FieldError(f"exercises.{exercise_id}", "minutes as a number 0-240", minutes)
    if math.isnan(minutes) or not 0 <= minutes <= MAX_MINUTES:
        raise FieldError(f"exercises.{exercise_id}", "minutes between 0 and 240", minutes)
    return float(minutes)


def parse_exercises(text: str) -> dict[str, float | None]:
    """``exercises``: ``id=minutes`` pairs joined by ``;`` → {id: minutes or None}."""
    done: dict[str, float | None] = {}
    if text == "":
        return done
    for part in text.split(";"):
        exercise_id, sep, minutes_text = part.partition("=")
        if not sep or not is_identifier(exercise_id):
            raise FieldError(
                "exercises", "id=minutes pairs joined by ';' (e.g. hip_stretch=2)", text
            )
        if exercise_id in done:
            raise FieldError("exercises", f"each exercise once, {exercise_id!r} twice", text)
        if minutes_text == "":
            done[exercise_id] = None
            continue
        if not _NUMBER.match(minutes_text):
            raise FieldError(f"exercises.{exercise_id}", "minutes as a number 0-240", minutes_text)
        done[exercise_id] = check_minutes(exercise_id, float(minutes_text))
    return done


@lru_cache(maxsize=4096)
def exercise_pairs(text: str) -> tuple[tuple[str, float | None], ...]:
    """``exercises`` as (id, minutes or None) pairs, validated like
    :func:`parse_exercises`. Memoised: a log repeats a few hundred texts thousands of
    times (the result is a tuple, so sharing it is safe)."""
    return tuple(parse_exercises(text).items())


def exercise_ids(text: str) -> tuple[str, ...]:
    """The ids in a valid ``exercises`` field (see :func:`exercise_pairs`)."""
    return tuple(exercise_id for exercise_id, _ in exercise_pairs(text))


def format_minutes(minutes: float | None) -> str:
    """Minutes as stored: ``5`` not ``5.0``, ``1.5`` as is, empty for not timed."""
    if minutes is None:
        return ""
    return f"{minutes:g}" if minutes != int(minutes) else str(int(minutes))


def format_exercises(done: Mapping[str, float | None]) -> str:
    """Inverse of :func:`parse_exercises`."""
    return ";".join(f"{eid}={format_minutes(minutes)}" for eid, minutes in done.items())


def parse_day(text: str) -> str:
    """``day``: routine, rest, flare or void (empty means routine)."""
    if text == "":
        return "routine"
    if text in STORED_DAY_TYPES:
        return text
    raise FieldError("day", "one of routine, rest, flare, void", text)


@lru_cache(maxsize=512)
def parse_where(text: str) -> tuple[str, ...]:
    """``where``: pain locations (ids) joined by ``;``; may be empty."""
    if text == "":
        return ()
    places = tuple(text.split(";"))
    if all(is_identifier(p) for p in places):
        return places
    raise FieldError(
        "where", "locations like lower_back;hips (lower-case ids joined by ';')", text
    )


@dataclass(frozen=True)
class Entry:
    """One save: what a person recorded about one day.

    ``pain`` is the 0-10 NRS rating or None (not rated); ``exercises`` maps an exercise id
    to minutes done (None: done, minutes not given); ``where`` lists pain locations.
    """

    recorded_at: datetime
    date: date
    pain: int | None = None
    exercises: Mapping[str, float | None] = field(default_factory=dict)
    day: str = "routine"
    where: tuple[str, ...] = ()
    note: str = ""

    def to_row(self) -> dict[str, str]:
        """The CSV fields of this entry, as stored (note guarded against formulas)."""
        return {
            "recorded_at": self.recorded_at.isoformat(timespec="milliseconds"),
            "date": self.date.isoformat(),
            "pain": "" if self.pain is None else str(self.pain),
            "exercises": format_exercises(self.exercises),
            "day": self.day,
            "where": ";".join(self.where),
            "note": encode_note(self.note),
        }


# each parser returns its own field's type (Entry's annotations say which)
FIELD_PARSERS: dict[str, Callable[[str], Any]] = {
    "recorded_at": parse_recorded_at,
    "date": parse_date,
    "pain": parse_pain,
    "exercises": parse_exercises,
    "day": parse_day,
    "where": parse_where,
    "note": decode_note,
}


def row_problem(
    recorded_at: str, day_date: str, pain: str, exercises: str, day: str, where: str
) -> FieldError | None:
    """What is wrong between the (individually valid) stored fields of one row, or None:
    a ``date`` after the day it was saved (``recorded_at`` in its own offset), or a
    ``void`` row that also holds pain, exercises or locations."""
    if day_date > recorded_at[:10]:  # both YYYY-MM-DD in ASCII digits
        return FieldError(
            "date", f"a day no later than the day it was saved ({recorded_at[:10]})", day_date
        )
    if day == VOID and (pain or exercises or where):
        return FieldError(
            "day",
            "a void row (it withdraws the date) with no pain, exercises or locations",
            f"void with pain {pain!r}, exercises {exercises!r}, where {where!r}",
        )
    return None


def parse_row(row: Mapping[str, str]) -> Entry:
    """Validate the stored fields of one row and return the :class:`Entry`.

    Raises :class:`FieldError` naming the first bad column.
    """
    values = {name: parser(row[name]) for name, parser in FIELD_PARSERS.items()}
    problem = row_problem(*(row[name] for name in COLUMNS[:-1]))
    if problem:
        raise problem
    return Entry(**values)
