"""The function measures asked beside the daily log: the PEG, the PSFS and the PGIC.

What each asks, how its answers are read and scored, and when each is due. Everything
here is a pure function of the answers and the day: nothing is read or written (the
file is :mod:`backtrack.measures_file`, the save :func:`backtrack.actions.save_answers`).

- **PEG** (Krebs et al. 2009, J Gen Intern Med 24:733-738): three items about the past
  week, each 0-10: average pain (P), interference with enjoyment of life (E), with
  general activity (G). Score: the mean of the three, in points 0-10; with an item
  missing there is no score (the reason says which). Its pain item is a weekly recall
  question, not the daily pain rating: the two are never merged.
- **PSFS** (Stratford et al. 1995, Physiother Can 47:258-263): the patient names up to 5
  activities they find hard, in their own words, and rates each 0 (unable to perform)
  to 10 (able to perform at the same level as before the problem). Score: the mean of
  the activities rated, points 0-10. Each activity is kept by its text: a renamed
  activity is a new activity.
- **PGIC** (patient global impression of change; the seven categories of Guy's CGI-I,
  ECDEU Assessment Manual 1976, as asked of patients by Farrar et al. 2001, Pain
  94:149-158, and recommended by IMMPACT, Dworkin et al. 2005, Pain 113:9-19): one
  answer 1-7, numbered as published: 1 very much improved, 2 much improved, 3 minimally
  improved, 4 no change, 5 minimally worse, 6 much worse, 7 very much worse.

When each is due (:func:`peg_due`, :func:`psfs_due`, :func:`pgic_due`): the PEG once a
week, the PSFS at the start and then every 2 weeks, the PGIC every 4 weeks from the
start. Each is skippable: a skip is not an answer, writes nothing, and never blocks the
daily log; the measure is simply still due next time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from .errors import FieldError

PEG, PSFS, PGIC = "peg", "psfs", "pgic"
MEASURES: tuple[str, ...] = (PEG, PSFS, PGIC)
"""The measures, as the ``measure`` column of the measures file names them."""


@dataclass(frozen=True)
class Item:
    """One question as its primary source words it: ``key`` (stable id), the question
    ``text``, the answers' range ``low``-``high`` and the words at each end (anchors)."""

    key: str
    text: str
    low: int
    high: int
    low_anchor: str
    high_anchor: str


PEG_ITEMS: tuple[Item, ...] = (
    Item(
        "pain",
        "What number best describes your pain on average in the past week?",
        0,
        10,
        "No pain",
        "Pain as bad as you can imagine",
    ),
    Item(
        "enjoyment",
        "What number best describes how, during the past week, pain has interfered with "
        "your enjoyment of life?",
        0,
        10,
        "Does not interfere",
        "Completely interferes",
    ),
    Item(
        "activity",
        "What number best describes how, during the past week, pain has interfered with "
        "your general activity?",
        0,
        10,
        "Does not interfere",
        "Completely interferes",
    ),
)
"""The PEG's three items and anchors (Krebs et al. 2009, Figure 1)."""

PSFS_ACTIVITIES_MAX = 5
PSFS_SCALE = Item(
    "activity",
    "Rate how well you can do this activity today.",  # our words; the anchors are Stratford's
    0,
    10,
    "Unable to perform activity",
    "Able to perform activity at the same level as before injury or problem",
)
"""The PSFS's rating of each named activity (anchors: Stratford et al. 1995)."""
ACTIVITY_MAX_CHARS = 200
"""The longest activity name (the patient's own words, one line)."""

PGIC_QUESTION = "Since starting the routine, my overall status is:"
"""The PGIC's question: Farrar et al. 2001's stem ("Since the start of the study, my
overall status is:") with the study replaced by the routine."""
PGIC_CATEGORIES: tuple[str, ...] = (
    "Very much improved",
    "Much improved",
    "Minimally improved",
    "No change",
    "Minimally worse",
    "Much worse",
    "Very much worse",
)
"""The seven answers, numbered 1-7 in this order (Guy 1976 CGI-I; Farrar et al. 2001)."""

PEG_EVERY_DAYS = 7
PSFS_EVERY_DAYS = 14
PGIC_EVERY_DAYS = 28

_POINT = re.compile(r"\d{1,2}\Z", re.ASCII)


def _points(
    field: str, text: str, low: int, high: int, expected: str, found: str | None = None
) -> int | None:
    """A whole number ``low``-``high`` in ASCII digits, or None for an empty text;
    refused naming ``found`` (the whole text typed; default ``text``)."""
    typed = text.strip()
    if typed == "":
        return None
    if _POINT.match(typed) and low <= int(typed) <= high:
        return int(typed)
    raise FieldError(field, expected, text if found is None else found)


def parse_peg(text: str) -> tuple[int | None, ...]:
    """``--peg``: the three answers 0-10 joined by ``,`` (``6,5,7``), in the items'
    order (pain, enjoyment of life, general activity); an empty place is an item not
    answered (``6,,7``), but at least one must be answered."""
    expected = "3 values 0-10 joined by ',' (pain, enjoyment, activity; e.g. 6,5,7)"
    parts = text.split(",")
    if len(parts) != len(PEG_ITEMS):
        raise FieldError(PEG, expected, text)
    values = tuple(_points(PEG, part, 0, 10, expected, text) for part in parts)
    if all(value is None for value in values):
        raise FieldError(PEG, expected + " (at least one answered)", text)
    return values


def check_activity(text: str) -> str:
    """A PSFS activity as the patient names it: one line of 1-200 characters (spaces at
    either end removed; the words kept exactly otherwise)."""
    name = text.strip()
    if not name or len(name) > ACTIVITY_MAX_CHARS or any(c in name for c in "\r\n"):
        raise FieldError(
            "psfs.activity",
            f"an activity's name, one line of 1-{ACTIVITY_MAX_CHARS} characters",
            text,
        )
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise FieldError("psfs.activity", "text UTF-8 can hold", text) from None
    return name


def parse_psfs(text: str) -> tuple[tuple[str, int | None], ...]:
    """``--psfs``: ``activity=rating`` pairs joined by ``,`` (``walk the dog=4,sit
    through a film=3``): 1-5 activities in the patient's words, each rated 0-10 (an
    empty rating: named, not rated this time). An activity named twice is refused."""
    expected = (
        f"1-{PSFS_ACTIVITIES_MAX} 'activity=rating' pairs joined by ',', ratings 0-10 "
        "(e.g. walk the dog=4,sit through a film=3)"
    )
    pairs: dict[str, int | None] = {}
    parts = text.split(",")
    if len(parts) > PSFS_ACTIVITIES_MAX:
        raise FieldError(PSFS, expected, text)
    for part in parts:
        name, sep, rating = part.rpartition("=")
        if not sep:
            raise FieldError(PSFS, expected, text)
        activity = check_activity(name)
        if activity in pairs:
            raise FieldError(PSFS, "each activity once", activity)
        pairs[activity] = _points(PSFS, rating, 0, 10, expected, text)
    return tuple(pairs.items())


def parse_pgic(text: str) -> int:
    """``--pgic``: one answer 1-7 (1 very much improved … 4 no change … 7 very much
    worse; :data:`PGIC_CATEGORIES`)."""
    expected = "a number 1-7 (1 very much improved, 4 no change, 7 very much worse)"
    value = _points(PGIC, text, 1, 7, expected)
    if value is None:
        raise FieldError(PGIC, expected, text)
    return value


@dataclass(frozen=True)
class Answers:
    """One answer set: what a person answered for one ``measure`` about one ``date``.

    ``values`` are the answers in order (PEG: pain, enjoyment, activity, each 0-10 or
    None for not answered; PSFS: one rating 0-10 or None per activity; PGIC: one 1-7);
    ``activities`` the PSFS activities' names, one per value (empty otherwise)."""

    measure: str
    date: date
    values: tuple[int | None, ...]
    activities: tuple[str, ...] = ()


@dataclass(frozen=True)
class Score:
    """A measure's score for one answer set: ``value`` in points (PEG, PSFS: 0-10; PGIC:
    its category 1-7), or None with the ``reason`` there is none."""

    measure: str
    date: date
    value: float | None
    reason: str = ""


def peg_score(values: Sequence[int | None]) -> tuple[float | None, str]:
    """The PEG score, the mean of its three items (points 0-10), and "" ; or None and
    the reason (an item not answered: the mean of two is not the PEG)."""
    if len(values) != len(PEG_ITEMS):
        return None, f"expected {len(PEG_ITEMS)} answers, found {len(values)}"
    missing = [item.key for item, value in zip(PEG_ITEMS, values, strict=True) if value is None]
    if missing:
        return None, f"no PEG score: {', '.join(missing)} not answered (all 3 items are needed)"
    return math.fsum(v for v in values if v is not None) / len(values), ""


def psfs_score(values: Sequence[int | None]) -> tuple[float | None, str]:
    """The PSFS score, the mean rating of the activities rated (points 0-10); None and
    the reason when none was rated."""
    rated = [value for value in values if value is not None]
    if not rated:
        return None, "no PSFS score: no activity was rated"
    return math.fsum(rated) / len(rated), ""


def score(answers: Answers) -> Score:
    """The score of one answer set (see :class:`Score`)."""
    if answers.measure == PEG:
        value, reason = peg_score(answers.values)
    elif answers.measure == PSFS:
        value, reason = psfs_score(answers.values)
    elif answers.measure == PGIC:
        first = answers.values[0] if len(answers.values) == 1 else None
        value, reason = (float(first), "") if first is not None else (None, "no PGIC answer")
    else:
        raise FieldError("measure", f"one of {', '.join(MEASURES)}", answers.measure)
    return Score(answers.measure, answers.date, value, reason)


def psfs_by_activity(sets: Sequence[Answers]) -> dict[str, list[tuple[date, int]]]:
    """Each PSFS activity's ratings over time, keyed by its text exactly as named (a
    renamed activity is a new activity): {activity: [(date, rating 0-10), ...]} in date
    order; an activity named but not rated adds no rating."""
    found: dict[str, list[tuple[date, int]]] = {}
    for answers in sorted((a for a in sets if a.measure == PSFS), key=lambda a: a.date):
        for name, value in zip(answers.activities, answers.values, strict=True):
            ratings = found.setdefault(name, [])
            if value is not None:
                ratings.append((answers.date, value))
    return found


# ----------------------------------------------------------------------------- when due


@dataclass(frozen=True)
class Due:
    """Whether ``measure`` is due ``today``, and why (words for the patient)."""

    measure: str
    due: bool
    reason: str


def _last(answered: Collection[date], today: date) -> date | None:
    earlier = [day for day in answered if day <= today]
    return max(earlier) if earlier else None


def peg_due(answered: Collection[date], today: date, weekday: int | None = None) -> Due:
    """Whether the PEG is due ``today``, from the dates it was ``answered``.

    Without a chosen ``weekday``: due when it has never been answered (the first is the
    baseline) or 7 days have passed since the last answer. With one (0 Monday … 6
    Sunday): weeks start on that day; the PEG is due when this week has no answer yet
    and today is that day, or 7 days have passed since the last (a missed day is caught
    up the day it is noticed, and the next week is asked on the chosen day again)."""
    if weekday is not None and not (isinstance(weekday, int) and 0 <= weekday <= 6):
        raise FieldError("weekday", "0 (Monday) to 6 (Sunday)", weekday)
    last = _last(answered, today)
    if last is None:
        return Due(PEG, True, "no PEG yet: the first one is the baseline")
    if last == today:
        return Due(PEG, False, "answered today")
    days = (today - last).days
    if weekday is not None:
        week_start = today - timedelta(days=(today.weekday() - weekday) % 7)
        if last >= week_start:
            return Due(PEG, False, "answered this week")
        if today.weekday() == weekday:
            return Due(PEG, True, "your weekly day for the PEG")
    if days >= PEG_EVERY_DAYS:
        return Due(PEG, True, f"{days} days since the last PEG")
    return Due(PEG, False, f"{days} days since the last PEG (asked every {PEG_EVERY_DAYS})")


def psfs_due(answered: Collection[date], today: date) -> Due:
    """Whether the PSFS is due: at the start (never answered: the patient names the
    activities) and then when 14 days have passed since the last answer."""
    last = _last(answered, today)
    if last is None:
        return Due(PSFS, True, "no PSFS yet: name the activities that matter to you")
    days = (today - last).days
    if days >= PSFS_EVERY_DAYS:
        return Due(PSFS, True, f"{days} days since the last PSFS")
    return Due(PSFS, False, f"{days} days since the last PSFS (asked every {PSFS_EVERY_DAYS})")


def pgic_due(answered: Collection[date], today: date, start: date | None) -> Due:
    """Whether the PGIC is due: every 28 days from ``start`` (the first day logged; None:
    nothing logged yet), and never before there has been 28 days of change to judge;
    when 28 days have passed since the last answer (or since the start, if none)."""
    if start is None or (today - start).days < PGIC_EVERY_DAYS:
        return Due(PGIC, False, f"asked from {PGIC_EVERY_DAYS} days after the start")
    last = _last(answered, today)
    since = start if last is None else last
    days = (today - since).days
    if days >= PGIC_EVERY_DAYS:
        what = "the start" if last is None else "the last PGIC"
        return Due(PGIC, True, f"{days} days since {what}")
    return Due(PGIC, False, f"{days} days since the last PGIC (asked every {PGIC_EVERY_DAYS})")
