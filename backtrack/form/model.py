"""The logic of the "log a day" form, with no widgets (the view is :mod:`backtrack.form.view`).

A traitlets model in the style of the ipywidgets ``password_generator`` example: the
view copies what the user types into these traits and calls :meth:`LogFormModel.save`;
everything else (prefilling a logged date, the demo mode, what a save writes, the
messages) lives here and is tested without a browser.

What the form holds is text as typed (``pain_text``, ``minutes``) so that nothing is
turned into a default behind the user's back: pain stays "not set" until the user sets
it, and validation is left to :func:`backtrack.actions.log_day`, which refuses bad input
with an :class:`~backtrack.errors.InputError` before anything is written.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd
from traitlets import Bool, Dict, HasTraits, Instance, List, Tuple, Unicode

from ..actions import NO_RATING, load_log, log_day, void_day
from ..demo import demo_log
from ..errors import FieldError, InputError, LogFormatError, LogLockedError, TrialPlanError
from ..routine import Routine
from ..schema import MAX_MINUTES, VOID, format_minutes, parse_exercises, parse_where
from ..store import history_for, latest_per_date, resolve_log_path

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..trial import TrialPlan

DEMO_DAYS = 120
USUAL_DAYS = 14
"""The days before the chosen date that "Same as usual" looks at."""
USUAL_MIN_DAYS = 3
"""The fewest of those days that must share one pattern for it to be "usual"."""


def _system_clock() -> datetime:
    return datetime.now().astimezone()


@dataclass(frozen=True)
class Message:
    """A message for the user: ``kind`` is ``saved``, ``error``, ``warning`` or ``info``."""

    kind: str
    title: str
    lines: tuple[str, ...] = ()


def long_date(day: date, today: date | None = None) -> str:
    """``Wednesday 2 December 2026``, with ``(today)``/``(yesterday)`` when it is."""
    text = f"{day:%A} {day.day} {day:%B %Y}"
    if today is not None and day == today:
        text += " (today)"
    elif today is not None and day == today - timedelta(days=1):
        text += " (yesterday)"
    return text


def describe_row(
    row: pd.Series, names: Mapping[str, str] | None = None, *, when: bool = True
) -> str:
    """One saved row in words, e.g. ``saved 2026-11-20 20:15 · pain 6/10 · routine day ·
    Hip stretch 2 min``; ``names`` maps exercise ids to names (unknown ids stay ids);
    ``when=False`` leaves out the time of the save (the confirmation names the day once)."""
    names = names or {}
    saved_at = row["recorded_at"].tz_convert(_system_clock().tzinfo).strftime("%Y-%m-%d %H:%M")
    if row["day"] == VOID:
        return f"removed {saved_at}: from then on this day counts as not logged"
    pain = "pain not rated" if pd.isna(row["pain"]) else f"pain {int(row['pain'])}/10"
    done = parse_exercises(row["exercises"])
    exercises = (
        ", ".join(
            f"{names.get(eid, eid)} {format_minutes(m)} min"
            if m is not None
            else f"{names.get(eid, eid)} (not timed)"
            for eid, m in done.items()
        )
        or "no exercises"
    )
    parts = ([f"saved {saved_at}"] if when else []) + [pain, f"{row['day']} day", exercises]
    if row["where"]:
        parts.append("where: " + row["where"].replace(";", ", ").replace("_", " "))
    if row["note"]:
        parts.append(f"note: {row['note']}")
    return " · ".join(parts)


def plain_error(exc: FieldError, names: Mapping[str, str] | None = None) -> str:
    """A refused value in plain words, for the message next to its field.

    ``pain: expected an integer 0-10 (...), found ''`` becomes "Set your pain: ...".
    Fields without a sentence of their own keep what was expected and what was found.
    """
    names = names or {}
    found = exc.found
    typed = "" if found is None else str(found)
    shown = f"“{typed}”" if typed.strip() else "nothing"
    field = exc.field
    if field == "pain":
        if not typed.strip():
            return (
                "Set your pain: move the slider or type a whole number from 0 to 10 "
                "(or tick “No pain rating today”; a rest day needs none)."
            )
        return (
            f"Pain is a whole number from 0 (no pain) to 10 (worst imaginable); you typed {shown}."
        )
    if field == "date":
        if found is None:
            return "Pick the date this entry is about."
        if "or earlier" in exc.expected:
            return f"{typed} is in the future: pick today or an earlier day."
        return f"The date cannot be used: expected {exc.expected}, found {shown}."
    if field.startswith("exercises."):
        exercise = names.get(field.partition(".")[2], field.partition(".")[2])
        try:
            float(typed.strip().replace(",", "."))
        except ValueError:
            return f"Minutes for {exercise}: type a number such as 2 or 1,5 (you typed {shown})."
        return (
            f"Minutes for {exercise}: more than 0 and at most {MAX_MINUTES:g}, with at most "
            f"2 decimals (you typed {shown}). Untick the exercise if you did not do it."
        )
    if field == "note":
        return f"The note cannot be saved as it is: expected {exc.expected}, found {shown}."
    if field == "where":
        return f"Where it hurts: expected {exc.expected}, found {shown}."
    return f"{field}: expected {exc.expected}, found {shown}."


Pattern = tuple[tuple[str, str], ...]
"""A day's exercises done as (exercise id, minutes as written, '' = not timed) pairs."""


def usual_pattern(entries: pd.DataFrame, routine: Routine, day: date) -> dict[str, str]:
    """What "Same as usual" fills for ``day``: exercise id → minutes ('' = not timed).

    "Usual", precisely: take the latest save of each date in the :data:`USUAL_DAYS` (14)
    days before ``day`` (``day`` itself left out; withdrawn dates are not logged); keep
    the routine days (not rest or flare days) on which at least one exercise of
    ``routine`` was done; a day's pattern is the exercises of ``routine`` it has and their
    minutes, pain, note and where it hurt aside. The usual pattern is the most common one
    when it is the pattern of at least :data:`USUAL_MIN_DAYS` (3) of those days and of
    more days than any other pattern; otherwise there is none (empty: no button)."""
    if entries.empty:
        return {}
    latest = latest_per_date(entries)
    first = pd.Timestamp(day - timedelta(days=USUAL_DAYS))
    recent = latest[
        (latest["date"] >= first)
        & (latest["date"] < pd.Timestamp(day))
        & (latest["day"] == "routine")
    ]
    ids = set(routine.ids)
    patterns: Counter[Pattern] = Counter()
    for text in recent["exercises"]:
        done = parse_exercises(text)
        pattern = tuple(
            sorted((eid, format_minutes(minutes)) for eid, minutes in done.items() if eid in ids)
        )
        if pattern:
            patterns[pattern] += 1
    ranked = patterns.most_common(2)
    if not ranked or ranked[0][1] < USUAL_MIN_DAYS:
        return {}
    if len(ranked) > 1 and ranked[1][1] == ranked[0][1]:
        return {}
    return dict(ranked[0][0])


@dataclass(frozen=True)
class Draft:
    """Values typed for one date and not saved (kept when the date is switched)."""

    day: date | None
    values: dict[str, Any]


class LogFormModel(HasTraits):
    """State and actions of the form for logging (or correcting) one day.

    ``csv``: the log (default ``$BACKTRACK_CSV`` or ``data/backtrack.csv``); ``routine``:
    the routine in force (default: the one for that log); ``clock``: returns the current
    time with its UTC offset (tests pass a fixed one).
    """

    day = Instance(date, allow_none=True)
    pain_text = Unicode("")
    unrated = Bool(False)
    """True when the person says "no pain rating" for the day (a save then needs none)."""
    day_type = Unicode("routine")
    done = Dict()
    """Exercise id → ticked (bool)."""
    minutes = Dict()
    """Exercise id → minutes as typed ('' = the prescribed dose, or not timed if none)."""
    where = Tuple()
    note = Unicode("")

    demo = Bool(False)
    correcting = Bool(False)
    """True when the chosen date already has a save in the user's log (not withdrawn)."""
    history: List[str] = List()
    """The chosen date's saves in words, oldest first (demo rows when ``demo``)."""
    problems: List[str] = List()
    """Lines of the log that could not be read, as ``path:line:column: message``."""
    message = Instance(Message, allow_none=True)
    field_errors = Dict()
    """Field (``pain``, ``date``, ``exercises.<id>``, ``note``, ...) → what is wrong, in
    plain words; shown next to that field."""
    saving = Bool(False)
    """True while a save runs (the view disables Save)."""
    draft = Instance(Draft, allow_none=True)
    """Unsaved values left behind by switching the date (``restore_draft`` puts them back)."""
    confirming_removal = Bool(False)
    """True after "Remove this day": the view asks to confirm."""
    trial_day: List[str] = List()
    """During a self-trial: what the plan says for the chosen date, in words (lines);
    empty outside a trial."""
    usual = Dict()
    """What "Same as usual" fills for the chosen date (:func:`usual_pattern`: exercise id
    → minutes, '' = not timed); empty when there is no usual pattern, or in the demo."""

    FIELDS = ("pain_text", "unrated", "day_type", "done", "minutes", "where", "note")

    def __init__(
        self,
        csv: str | os.PathLike[str] | None = None,
        routine: Routine | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__()
        self.clock = clock or _system_clock
        self.path = resolve_log_path(csv)
        if routine is None:
            from ..trial import load_routine_with_pauses  # lazy: trial imports the analysis

            routine = load_routine_with_pauses(log_path=self.path)  # the streak counts them
        self.routine = routine
        self.names = {e.id: e.name for e in self.routine.exercises}
        self.entries = pd.DataFrame()
        self._loaded: dict[str, Any] = {}
        self.trial_plan: TrialPlan | None = None
        self.reload()
        self.select_date(self.today)
        self._auto_day: date | None = self.day
        """The date the form chose itself (today when it was opened); None once the user
        picks one."""

    # ------------------------------------------------------------------ reading the log

    @property
    def today(self) -> date:
        """Today's date by the model's clock."""
        return self.clock().date()

    @property
    def pain_required(self) -> bool:
        """Pain must be rated unless the day is a planned rest day, or the person says
        "no pain rating" (:attr:`unrated`)."""
        return self.day_type != "rest" and not self.unrated

    def set_pain(self, text: str) -> None:
        """Pain as typed; a pain typed takes back "no pain rating"."""
        self.pain_text = text
        if text.strip():
            self.unrated = False

    def set_unrated(self, unrated: bool) -> None:
        """ "No pain rating" ticked (clears the pain typed) or unticked."""
        self.unrated = bool(unrated)
        if unrated:
            self.pain_text = ""

    def reload(self) -> None:
        """Read the log (leniently: unreadable rows become ``problems``), or the demo data."""
        if not self.path.exists():
            log = demo_log(DEMO_DAYS, end=self.today - timedelta(days=1))
            self.demo = True
        else:
            try:
                log = load_log(self.path, routine=self.routine, strict=False)
            except OSError as exc:
                self.demo = False
                self.entries = pd.DataFrame()
                self.problems = [f"{self.path}: cannot be read: {exc.strerror or exc}"]
                return
            self.demo = False
        self.entries = log.entries
        self.problems = [str(p) for p in log.problems]
        self._read_trial()

    def _read_trial(self) -> None:
        """The self-trial plan beside the log, if any (a plan that cannot be read is
        named in ``problems``; logging goes on)."""
        from ..trial import load_plan, trial_path  # lazy: trial imports the analysis

        self.trial_plan = None
        path = trial_path(self.path)
        if not path.exists():  # a plan is real even before the first save (demo rows)
            return
        try:
            self.trial_plan = load_plan(path, self.routine)
        except (TrialPlanError, OSError) as exc:
            self.problems = [*self.problems, f"self-trial plan: {exc}"]

    def _trial_condition(self, day: date | None) -> str | None:
        """``A`` or ``B`` when the self-trial assigns ``day`` to a condition, else None."""
        from ..trial import assignment_on  # lazy: trial imports the analysis

        plan = self.trial_plan
        assigned = assignment_on(plan, day) if plan is not None and day is not None else None
        return None if assigned is None else assigned.block.condition

    def day_routine(self) -> Routine:
        """The routine of the chosen date: a self-trial's B routine on a B day (less what
        B leaves out, or its own ``b_routine``), else the routine in force; without the
        exercises paused that day. "Did the whole routine" means exactly this."""
        from ..trial import routine_for  # lazy: trial imports the analysis

        routine = self.routine
        if self.trial_plan is not None and self._trial_condition(self.day) == "B":
            routine = routine_for(self.trial_plan, "B", routine)
        return routine if self.day is None else routine.prescribed_on(self.day)

    def _trial_lines(self, day: date | None) -> list[str]:
        from ..trial import (  # lazy: trial imports the analysis
            assignment_on,
            left_out_in_b,
        )

        plan = self.trial_plan
        assigned = assignment_on(plan, day) if plan is not None and day is not None else None
        if plan is None or assigned is None:
            return []
        lines = [assigned.text()]
        left_out = left_out_in_b(plan, self.routine) if assigned.block.condition == "B" else ()
        if left_out:
            names = ", ".join(self.names.get(e, e) for e in left_out)
            lines.append(
                f"B leaves out: {names}. Done anyway, the day still counts under B and as a "
                "deviation."
            )
        return lines

    def _rows_for(self, day: date) -> pd.DataFrame:
        if self.entries.empty:
            return self.entries
        return history_for(self.entries, day)

    def values(self) -> dict[str, Any]:
        """What the form holds now (the fields a save writes)."""
        return {name: getattr(self, name) for name in self.FIELDS}

    @property
    def unsaved(self) -> bool:
        """True when the form holds values typed since the date was loaded or saved."""
        return self.values() != self._loaded

    def select_date(self, day: date | None) -> None:
        """Show ``day``: its latest save in the form (a correction) or an empty form.

        Values typed for the previous date and not saved are never carried over: they are
        kept as :attr:`draft`, with a message saying so, and :meth:`restore_draft` puts
        them back. Demo rows are shown for reference, never prefilled.
        """
        typed = self._loaded and self.unsaved
        # a draft stays through further switches (a date typed digit by digit passes
        # through several dates) until something new is typed or it is put back
        left = Draft(self.day, self.values()) if typed else self.draft
        self._auto_day = None
        self.day = day
        self.message = None
        self.field_errors = {}
        self.confirming_removal = False
        self._show_date()
        self.draft = left
        if left is not None:
            before = left.day.isoformat() if left.day else "the previous date"
            self.message = Message(
                "warning",
                f"What you had typed for {before} was not saved.",
                (
                    "The form now shows "
                    + (
                        f"what is saved for {day.isoformat()}."
                        if self.correcting and day
                        else (f"an empty entry for {day.isoformat()}." if day else "no date.")
                    ),
                    "Use “Put back what I typed” to bring those values to this date.",
                ),
            )

    def _show_date(self) -> None:
        """Fill the form from the chosen date's latest save (or clear it)."""
        day = self.day
        self.trial_day = self._trial_lines(day)
        self._find_usual()
        rows = self._rows_for(day) if day is not None else pd.DataFrame()
        self.history = [describe_row(row, self.names) for _, row in rows.iterrows()]
        if rows.empty or self.demo or rows.iloc[-1]["day"] == VOID:
            self.correcting = False
            self.clear()
            return
        self.correcting = True
        latest = rows.iloc[-1]
        done = parse_exercises(latest["exercises"])
        self.pain_text = "" if pd.isna(latest["pain"]) else str(int(latest["pain"]))
        self.unrated = bool(pd.isna(latest["pain"])) and latest["day"] != "rest"
        self.day_type = latest["day"]
        self.done = {eid: eid in done for eid in self.routine.ids}
        self.minutes = {eid: format_minutes(done.get(eid)) for eid in self.routine.ids}
        self.where = parse_where(latest["where"])
        self.note = latest["note"]
        self._loaded = self.values()

    def _find_usual(self) -> None:
        day = self.day
        offered = day is not None and not self.demo and not self.entries.empty
        self.usual = usual_pattern(self.entries, self.routine, day) if day and offered else {}

    def restore_draft(self) -> None:
        """Put the values left behind by the last date switch into the form."""
        if self.draft is None:
            return
        for name, value in self.draft.values.items():
            setattr(self, name, value)
        self.draft = None
        self.message = Message(
            "info",
            f"Put back what you had typed: it is not saved for {self.day} until you Save.",
        )

    def clear(self) -> None:
        """An empty form: pain not set, nothing ticked, no minutes typed (the view shows
        each dose as the box's placeholder, not as a value)."""
        self.pain_text = ""
        self.unrated = False
        self.day_type = "routine"
        self.done = {eid: False for eid in self.routine.ids}
        self.minutes = {eid: "" for eid in self.routine.ids}
        self.where = ()
        self.note = ""
        self._loaded = self.values()

    # ------------------------------------------------------------------ editing

    def set_done(self, exercise_id: str, ticked: bool) -> None:
        """Tick or untick one exercise; unticking empties its minutes (an unticked row
        holds no number that would read as saved)."""
        if not ticked and self.minutes.get(exercise_id, ""):
            self.minutes = {**self.minutes, exercise_id: ""}
        self.done = {**self.done, exercise_id: bool(ticked)}

    def set_minutes(self, exercise_id: str, text: str) -> None:
        """Minutes as typed for one exercise (validated on save). Any minutes typed, the
        dose itself included, tick the exercise: what you type is what is saved."""
        self.minutes = {**self.minutes, exercise_id: text}
        if text.strip() and not self.done.get(exercise_id):
            self.set_done(exercise_id, True)

    def set_where(self, place: str, hurts: bool) -> None:
        """Add or remove one pain location (ids such as ``lower_back``)."""
        places = [p for p in self.where if p != place]
        if hurts:
            places.append(place)
        self.where = tuple(places)

    def tick_all(self) -> None:
        """ "Did the whole routine": each exercise of the date's routine
        (:meth:`day_routine`: on a self-trial's B day, not what B leaves out) ticked at
        its prescribed dose. Exercises outside it are left as they are, never ticked."""
        day = [e for e in self.day_routine().exercises if e.id in self.routine.ids]
        self.minutes = {**self.minutes, **{e.id: format_minutes(e.dose_minutes) for e in day}}
        self.done = {**self.done, **{e.id: True for e in day}}

    def same_as_usual(self) -> None:
        """ "Same as usual": a routine day with the exercises and minutes of
        :attr:`usual` ticked, every other exercise unticked; pain, where and the note are
        left as they are (pain still has to be rated before Save)."""
        if not self.usual:
            return
        self.day_type = "routine"
        self.minutes = {eid: self.usual.get(eid, "") for eid in self.routine.ids}
        self.done = {eid: eid in self.usual for eid in self.routine.ids}
        words = ", ".join(
            f"{self.names.get(eid, eid)} {m} min" if m else f"{self.names.get(eid, eid)}"
            for eid, m in self.usual.items()
        )
        then = "Save" if self.pain_text.strip() or self.unrated else "rate your pain, then Save"
        self.message = Message("info", f"Filled your usual day: {words}. Check it, {then}.")

    # ------------------------------------------------------------------ saving

    def done_minutes(self) -> dict[str, str | None]:
        """Ticked exercises → minutes as typed (None when left empty)."""
        return {
            eid: (self.minutes.get(eid, "").strip() or None)
            for eid in self.routine.ids
            if self.done.get(eid)
        }

    def _refuse(self, title: str, lines: tuple[str, ...] = ()) -> bool:
        self.message = Message("error", title, lines)
        return False

    def save(self) -> bool:
        """Append the form as one new row; True when saved (or already saved just now).

        Refused input (the message sits next to its field, in plain words), a log that
        cannot be written (locked, disk full, ...) or a log with a bad header set an
        ``error`` message and write nothing; what was typed stays in the form.
        """
        if self.saving:
            return False
        self.saving = True
        try:
            return self._save()
        finally:
            self.saving = False

    def _stale_day(self) -> bool:
        """A page left open overnight still shows the day it was opened: move the date
        to today (when today has no save, keeping what was typed) and say so; True when
        the save must wait for the user to look."""
        if self._auto_day is None or self.day != self._auto_day or self.day == self.today:
            return False
        opened, today = self.day, self.today
        self.reload()
        if self._rows_for(today).empty or self.demo:
            self.day = today
            self._auto_day = today
            self.history = []
            self.correcting = False
            words = (
                f"This page was opened on {long_date(opened)}: the date now shows today, "
                f"{long_date(today)}. Save again to save for today, or pick another date."
            )
        else:
            words = (
                f"This page was opened on {long_date(opened)} and still shows that date; "
                f"today ({long_date(today)}) is already logged. Pick the date this entry is "
                "for, then Save."
            )
        self.field_errors = {"date": words}
        self._refuse("Not saved yet: please check the date.", (words,))
        return True

    def _save(self) -> bool:
        was_demo = self.demo
        self.field_errors = {}
        self.draft = None
        if self._stale_day():
            return False
        try:
            if self.day is None:
                raise InputError("date", "a date YYYY-MM-DD", None)
            saved = log_day(
                self.path,
                routine=self.routine,
                pain=NO_RATING
                if self.unrated and not self.pain_text.strip()
                else self.pain_text.strip(),
                done=self.done_minutes(),
                day=self.day,
                day_type=self.day_type,
                where=self.where,
                note=self.note,
                now=self.clock(),
            )
        except FieldError as exc:
            words = plain_error(exc, self.names)
            self.field_errors = {exc.field: words}
            return self._refuse("Not saved: one entry needs a look (see the red note).", (words,))
        except LogFormatError as exc:
            return self._refuse(
                "Not saved: the log file's header is not one backtrack can append to.",
                tuple(str(p) for p in exc.problems),
            )
        except LogLockedError as exc:
            return self._refuse("Not saved: the log is busy.", (str(exc),))
        except OSError as exc:
            reason = exc.strerror or str(exc) or type(exc).__name__
            return self._refuse(
                "Not saved: the log could not be written.",
                (
                    f"{exc.filename or self.path}: {reason}.",
                    "Nothing was added; what you typed is still here. Free some disk space "
                    "or check the file, then Save again.",
                ),
            )
        self.reload()
        rows = self._rows_for(saved.entry.date)
        self.history = [describe_row(row, self.names) for _, row in rows.iterrows()]
        self.correcting = True
        self._find_usual()
        self._loaded = self.values()
        duplicate = bool(getattr(saved, "duplicate", False))
        lines = [describe_row(rows.iloc[-1], self.names, when=False)]
        if duplicate:
            lines.append("It was already saved a moment ago: not saved twice.")
        elif len(rows) > 1:
            lines.append(
                f"This date now has {len(rows)} saves: the latest counts, "
                "the earlier ones are kept as history."
            )
        if was_demo:
            lines.append(
                "Your own log starts here, on this computer only (the demo data is not in it)."
            )
        lines.extend(self.summary(saved.entry.date))
        title = "Already saved" if duplicate else "Saved"
        self.message = Message(
            "saved", f"{title}: {long_date(saved.entry.date, self.today)}.", tuple(lines)
        )
        return True

    # ------------------------------------------------------------------ removing a day

    def ask_remove(self) -> None:
        """ "Remove this day": ask for confirmation first (only for a logged date)."""
        self.confirming_removal = self.correcting and not self.demo

    def cancel_remove(self) -> None:
        """Keep the day."""
        self.confirming_removal = False

    def remove_day(self) -> bool:
        """Withdraw the chosen date (``actions.void_day``): it then counts as not logged;
        its saves stay in the file as history. True when withdrawn."""

        self.confirming_removal = False
        if not self.correcting or self.day is None:
            return False
        try:
            void_day(self.path, day=self.day, now=self.clock())
        except FieldError as exc:
            return self._refuse("Not removed.", (plain_error(exc, self.names),))
        except OSError as exc:
            reason = exc.strerror or str(exc) or type(exc).__name__
            return self._refuse("Not removed: the log could not be written.", (reason,))
        self.reload()
        self._show_date()
        self.message = Message(
            "saved",
            f"Removed: {long_date(self.day, self.today)} now counts as not logged.",
            (
                "Its saves stay in the file as history; saving this date again logs it again.",
                *self.summary(),
            ),
        )
        return True

    def summary(self, saved: date | None = None) -> list[str]:
        """Current streak (and the streak up to ``saved``, the date just saved, when it is
        another day) and 7-day mean pain of the user's log, in words."""
        return metrics_summary(self.entries, self.routine, self.today, saved)

    def glance_daily(self) -> pd.DataFrame:
        """The daily series (:func:`metrics.daily_series` of the user's log, up to today:
        days since the last save show as not logged) the sparkline after a Save draws
        its last 4 weeks from."""
        from .. import metrics  # lazy: on first use, as in metrics_summary

        return metrics.daily_series(self.entries, self.routine, end=self.today)

    def glance(self) -> Figure:
        """The 4-week sparkline of pain with adherence (:func:`plots.sparkline_figure`)
        of :meth:`glance_daily`. Imports matplotlib: called after the confirmation is
        shown, never on the way to it (the form opens and saves without it)."""
        from .. import plots  # lazy: matplotlib, only once a save has been confirmed

        return plots.sparkline_figure(self.glance_daily())

    def glance_png(self) -> bytes:
        """:meth:`glance` as PNG (:func:`plots.png_bytes`, as the trends view draws)."""
        from .. import plots  # lazy: matplotlib, only once a save has been confirmed

        return plots.png_bytes(self.glance(), dpi=90)


def _days(n: int) -> str:
    return f"{n} full-routine day" + ("" if n == 1 else "s")


def metrics_summary(
    entries: pd.DataFrame, routine: Routine, today: date, saved: date | None = None
) -> list[str]:
    """The streaks (days) and the latest 7-day mean pain (points) from
    :mod:`backtrack.metrics`, each naming the days it covers: the current streak up to
    ``today``, the streak up to ``saved`` when that is an earlier day (a backfilled day
    can end a streak that is over by today), and how streaks count
    (:data:`metrics.STREAK_RULE`)."""
    from .. import metrics  # lazy: the form opens before the analysis is needed

    daily = metrics.daily_series(entries, routine)
    streak = metrics.current_streak(daily, today)
    lines = [f"Current streak: {_days(streak)}, up to today ({long_date(today)})."]
    if saved is not None and saved != today:
        lines.append(
            f"Streak up to {long_date(saved)}: {_days(metrics.current_streak(daily, saved))}."
        )
    lines.append(f"How a streak counts: {metrics.STREAK_RULE}.")
    mean = metrics.latest_pain_mean(daily)
    if mean.value is None or mean.start is None or mean.end is None:
        lines.append(f"7-day mean pain: not yet ({mean.reason}).")
    else:
        lines.append(
            f"7-day mean pain: {mean.value:.1f}/10 over {mean.n} rated days, "
            f"{mean.start.date()} to {mean.end.date()} (the 7 days to the latest logged day)."
        )
    return lines
