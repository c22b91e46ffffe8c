"""The logic of the "log a day" form, with no widgets (the view is :mod:`backtrack.widgets`).

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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd
from traitlets import Bool, Dict, HasTraits, Instance, List, Tuple, Unicode

from .actions import load_log, log_day
from .errors import FieldError, InputError, LogFormatError, LogLockedError
from .routine import Routine, load_routine
from .schema import format_minutes, parse_exercises, parse_where
from .store import history_for, resolve_log_path

DEMO_DAYS = 120


def _system_clock() -> datetime:
    return datetime.now().astimezone()


@dataclass(frozen=True)
class Message:
    """A message for the user: ``kind`` is ``saved``, ``error``, ``warning`` or ``info``."""

    kind: str
    title: str
    lines: tuple[str, ...] = ()


def describe_row(row: pd.Series, names: Mapping[str, str] | None = None) -> str:
    """One saved row in words, e.g. ``saved 2026-11-20 20:15 · pain 6/10 · routine day ·
    Hip stretch 2 min``; ``names`` maps exercise ids to names (unknown ids stay ids)."""
    names = names or {}
    when = row["recorded_at"].tz_convert(_system_clock().tzinfo).strftime("%Y-%m-%d %H:%M")
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
    parts = [f"saved {when}", pain, f"{row['day']} day", exercises]
    if row["where"]:
        parts.append("where: " + row["where"].replace(";", ", ").replace("_", " "))
    if row["note"]:
        parts.append(f"note: {row['note']}")
    return " · ".join(parts)


class LogFormModel(HasTraits):
    """State and actions of the form for logging (or correcting) one day.

    ``csv``: the log (default ``$BACKTRACK_CSV`` or ``data/backtrack.csv``); ``routine``:
    the routine in force (default: the one for that log); ``clock``: returns the current
    time with its UTC offset (tests pass a fixed one).
    """

    day = Instance(date, allow_none=True)
    pain_text = Unicode("")
    day_type = Unicode("routine")
    done = Dict()
    """Exercise id → ticked (bool)."""
    minutes = Dict()
    """Exercise id → minutes as typed ('' = the prescribed dose, or not timed if none)."""
    where = Tuple()
    note = Unicode("")

    demo = Bool(False)
    correcting = Bool(False)
    """True when the chosen date already has a save in the user's log."""
    history = List()
    """The chosen date's saves in words, oldest first (demo rows when ``demo``)."""
    problems = List()
    """Lines of the log that could not be read, as ``path:line:column: message``."""
    message = Instance(Message, allow_none=True)

    def __init__(
        self,
        csv: str | os.PathLike[str] | None = None,
        routine: Routine | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__()
        self.clock = clock or _system_clock
        self.path = resolve_log_path(csv)
        self.routine = routine or load_routine(log_path=self.path)
        self.names = {e.id: e.name for e in self.routine.exercises}
        self.entries = pd.DataFrame()
        self.reload()
        self.clear()
        self.select_date(self.today)

    # ------------------------------------------------------------------ reading the log

    @property
    def today(self) -> date:
        """Today's date by the model's clock."""
        return self.clock().date()

    @property
    def pain_required(self) -> bool:
        """Pain must be rated unless the day is a planned rest day."""
        return self.day_type != "rest"

    def reload(self) -> None:
        """Read the log (leniently: unreadable rows become ``problems``), or the demo data."""
        if not self.path.exists():
            from .demo import demo_log

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

    def _rows_for(self, day: date) -> pd.DataFrame:
        if self.entries.empty:
            return self.entries
        return history_for(self.entries, day)

    def select_date(self, day: date | None) -> None:
        """Show what is logged for ``day`` and prefill the form with its latest state.

        A date with no save in the user's own log keeps what the user typed (they may
        have started before picking the date) but not values loaded from another date.
        Demo rows are shown for reference, never prefilled: a first save is the user's own.
        """
        self.day = day
        self.message = None
        rows = self._rows_for(day) if day is not None else pd.DataFrame()
        self.history = [describe_row(row, self.names) for _, row in rows.iterrows()]
        if rows.empty or self.demo:
            if self.correcting:
                self.clear()
            self.correcting = False
            return
        self.correcting = True
        latest = rows.iloc[-1]
        done = parse_exercises(latest["exercises"])
        self.pain_text = "" if pd.isna(latest["pain"]) else str(int(latest["pain"]))
        self.day_type = latest["day"]
        self.done = {eid: eid in done for eid in self.routine.ids}
        self.minutes = {
            e.id: format_minutes(done[e.id]) if e.id in done else format_minutes(e.dose_minutes)
            for e in self.routine.exercises
        }
        self.where = parse_where(latest["where"])
        self.note = latest["note"]

    def clear(self) -> None:
        """An empty form: pain not set, nothing ticked, minutes at the prescribed doses."""
        self.pain_text = ""
        self.day_type = "routine"
        self.done = {eid: False for eid in self.routine.ids}
        self.minutes = {e.id: format_minutes(e.dose_minutes) for e in self.routine.exercises}
        self.where = ()
        self.note = ""

    # ------------------------------------------------------------------ editing

    def set_done(self, exercise_id: str, ticked: bool) -> None:
        """Tick or untick one exercise."""
        self.done = {**self.done, exercise_id: bool(ticked)}

    def set_minutes(self, exercise_id: str, text: str) -> None:
        """Minutes as typed for one exercise (validated on save)."""
        self.minutes = {**self.minutes, exercise_id: text}

    def set_where(self, place: str, hurts: bool) -> None:
        """Add or remove one pain location (ids such as ``lower_back``)."""
        places = [p for p in self.where if p != place]
        if hurts:
            places.append(place)
        self.where = tuple(places)

    def tick_all(self) -> None:
        """ "Did the whole routine": every exercise ticked at its prescribed dose."""
        self.done = {eid: True for eid in self.routine.ids}
        self.minutes = {e.id: format_minutes(e.dose_minutes) for e in self.routine.exercises}

    # ------------------------------------------------------------------ saving

    def done_minutes(self) -> dict[str, str | None]:
        """Ticked exercises → minutes as typed (None when left empty)."""
        return {
            eid: (self.minutes.get(eid, "").strip() or None)
            for eid in self.routine.ids
            if self.done.get(eid)
        }

    def save(self) -> bool:
        """Append the form as one new row; True when saved.

        Refused input, a locked log or a log with a bad header set an ``error`` message
        and write nothing; what was typed stays in the form.
        """
        was_demo = self.demo
        try:
            if self.day is None:
                raise InputError("date", "a date YYYY-MM-DD", None)
            saved = log_day(
                self.path,
                routine=self.routine,
                pain=self.pain_text.strip(),
                done=self.done_minutes(),
                day=self.day,
                day_type=self.day_type,
                where=self.where,
                note=self.note,
                now=self.clock(),
            )
        except FieldError as exc:
            self.message = Message("error", "Not saved: please check this field.", (str(exc),))
            return False
        except LogLockedError as exc:
            self.message = Message("error", "Not saved: the log is busy.", (str(exc),))
            return False
        except LogFormatError as exc:
            self.message = Message(
                "error",
                "Not saved: the log file's header is not one backtrack can append to.",
                tuple(str(p) for p in exc.problems),
            )
            return False
        self.reload()
        rows = self._rows_for(saved.entry.date)
        self.history = [describe_row(row, self.names) for _, row in rows.iterrows()]
        self.correcting = True
        lines = [describe_row(rows.iloc[-1], self.names)]
        if len(rows) > 1:
            lines.append(
                f"This date now has {len(rows)} saves: the latest counts, "
                "the earlier ones are kept as history."
            )
        if was_demo:
            lines.append(f"Your own log starts here: {saved.path} (the demo data is not in it).")
        else:
            lines.append(f"Added to {saved.path}.")
        lines.extend(self.summary())
        self.message = Message("saved", f"Saved {saved.entry.date.isoformat()}.", tuple(lines))
        return True

    def summary(self) -> list[str]:
        """Current streak and 7-day mean pain of the user's log, in words."""
        try:
            from . import metrics
        except ImportError:
            return ["Summary (streak, 7-day mean pain) unavailable: backtrack.metrics is missing."]
        return metrics_summary(metrics, self.entries, self.routine, self.today)


def metrics_summary(metrics, entries: pd.DataFrame, routine: Routine, today: date) -> list[str]:
    """Streak (days) and the latest 7-day mean pain (points) from :mod:`backtrack.metrics`."""
    daily = metrics.daily_series(entries, routine)
    streak = metrics.current_streak(daily, today)
    unit = "day" if streak == 1 else "days"
    lines = [
        f"Current streak: {streak} full-routine {unit} (rest and flare days do not break it)."
    ]
    mean = metrics.latest_pain_mean(daily)
    if mean.value is None:
        lines.append(f"7-day mean pain: not yet ({mean.reason}).")
    else:
        lines.append(
            f"7-day mean pain: {mean.value:.1f}/10 over {mean.n} rated days, "
            f"{mean.start.date()} to {mean.end.date()}."
        )
    return lines
