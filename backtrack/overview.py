"""``backtrack.summary(log)``: the answer to "is it working?", honest about noise.

(The module is not called ``summary`` so that it never shadows the function
``backtrack.summary``.) Units: pain in points on the 0-10 NRS, adherence as fractions
0-1, ``change_percent`` in percent of baseline, trend in points per week. Definitions
and sources: ``docs/analysis.md``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from . import metrics, stats
from .routine import CHRONIC_NOTICE, Routine, load_routine, routine_of
from .store import LogData, read_log

SCHEMA = 1


HABIT_MEANING = (
    "how settled the routine is, from 0 (not yet) to 1 (fully); each day of the whole "
    "routine moves it up (13 such days in a row take it from 0 to 0.5), a day done in "
    "part counts for the share done, a day missed or not logged moves it down, rest and "
    "flare days leave it as it is (Loop Habit Tracker's score)"
)
"""What :func:`metrics.habit_strength` means, in the words a patient reads."""


def habit_value(strength: float | None) -> str:
    """The habit strength as shown: ``0.19 of 1``, or ``not yet`` with no days."""
    return "not yet (no days logged)" if strength is None else f"{strength:.2f} of 1"


@dataclass(frozen=True)
class Summary:
    """Everything the summary shows; :meth:`to_dict` is the ``--json`` object and
    :meth:`text` the readable report. Values that cannot be computed are None, with the
    reason in ``messages``."""

    source: str
    demo: bool
    today: date
    first_day: pd.Timestamp | None
    last_logged_day: pd.Timestamp | None
    days_logged: int
    logging_completeness: metrics.Ratio
    latest: metrics.WindowMean
    change: stats.Change
    adherence_7day: metrics.WindowMean
    adherence_28day: metrics.WindowMean
    streak_days: int
    habit_strength: float | None
    trend: stats.Trend
    lag: stats.Estimate
    reverse: stats.Estimate
    weekly: stats.Estimate
    flares_28day: int
    chronic: bool
    chronic_span_days: int
    messages: tuple[str, ...]
    verdict: str = ""
    """One plain sentence that reconciles the change and the trend."""
    days_since_entry: int | None = None
    baseline_chosen: bool = False
    exercise_names: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    phase: stats.PhaseComparison | None = None
    exercises: stats.ExerciseLinks | None = field(default=None, repr=False, compare=False)
    daily: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    """The daily series the numbers come from (:func:`backtrack.metrics.daily_since`)."""

    @property
    def messages_stale(self) -> str:
        """The note that the latest entry is more than 3 days old, or ""."""
        return next((m for m in self.messages if m.startswith("Your latest entry is")), "")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: pain in points (0-10), adherence fractions 0-1, percent as 35.0."""

        def day(value: pd.Timestamp | None) -> str | None:
            return None if value is None else value.date().isoformat()

        number = stats.finite_or_none  # full precision: rounding is for the text

        def estimate(result: stats.Estimate) -> dict[str, Any]:
            return {
                **result.as_dict(),
                "p_value": number(result.p_value),
                "minimum_detectable": number(result.mde),
                "unit": result.unit,
                "sentence": result.sentence,
            }

        return {
            "schema": SCHEMA,
            "source": self.source,
            "demo": self.demo,
            "today": self.today.isoformat(),
            "first_day": day(self.first_day),
            "last_logged_day": day(self.last_logged_day),
            "days_logged": self.days_logged,
            "days_elapsed": self.logging_completeness.denominator,
            "days_since_last_entry": self.days_since_entry,
            "logging_completeness": number(self.logging_completeness.value),
            "latest_window": {"start": day(self.latest.start), "end": day(self.latest.end)},
            "pain_7day_mean": number(self.latest.value),
            "pain_7day_n": self.latest.n,
            "baseline": number(self.change.baseline),
            "baseline_window": {
                "start": day(self.change.baseline_start),
                "end": day(self.change.baseline_end),
            },
            "change_points": number(self.change.estimate),
            "change_low": number(self.change.low),
            "change_high": number(self.change.high),
            "change_percent": number(self.change.percent),
            "change_class": self.change.clinical_class,
            "change_minimum_detectable": number(self.change.mde),
            "regression_to_mean": self.change.regression_to_mean,
            "adherence_7day": number(self.adherence_7day.value),
            "adherence_7day_n": self.adherence_7day.n,
            "adherence_28day": number(self.adherence_28day.value),
            "adherence_28day_n": self.adherence_28day.n,
            "streak_days": self.streak_days,
            "habit_strength": number(self.habit_strength),
            "trend_points_per_week": estimate(self.trend),
            "trend_mann_kendall": self.trend.direction or None,
            "lag1_adherence_effect": estimate(self.lag),
            "lag1_pain_on_adherence": estimate(self.reverse),
            "weekly_adherence_effect": estimate(self.weekly),
            "exercise_links": None if self.exercises is None else _links_dict(self.exercises),
            "phase": None if self.phase is None else _phase_dict(self.phase),
            "flares_28day": self.flares_28day,
            "chronic": self.chronic,
            "verdict": self.verdict,
            "messages": list(self.messages),
        }

    def text(self) -> str:
        """The readable report (one screen)."""
        lines = []
        label = " (DEMO DATA, not yours)" if self.demo else ""
        # the file's name, not its folders: a patient reads this (``--json`` has the path)
        lines.append(f"backtrack summary of {os.path.basename(self.source)}{label}")
        if self.last_logged_day is None or self.first_day is None:
            lines.append("No days logged yet.")
            lines += [f"  - {m}" for m in self.messages]
            return "\n".join(lines)
        ratio = self.logging_completeness
        lines.append(
            f"Logged {ratio.numerator} of {ratio.denominator} days ({_pct(ratio.value)}), "
            f"{self.first_day.date()} to {self.last_logged_day.date()}."
        )
        age = self.days_since_entry
        old = f", {age} days ago" if age is not None and age > metrics.STALE_DAYS else ""
        lines.append(
            f"Latest = the 7 days ending {self.last_logged_day.date()} (last logged day{old})."
        )
        lines.append("")
        lines.append(
            f"Pain, 7-day mean:   {_pts(self.latest.value)}  ({self.latest.n} rated days)"
        )
        change = self.change
        lines.append(
            f"Baseline:           {_pts(change.baseline)}  "
            f"({_baseline_words(change, self.baseline_chosen)})"
        )
        if change.estimate is not None and change.low is not None and change.high is not None:
            percent = "" if change.percent is None else f", {abs(change.percent):.0f}%"
            more = "less" if change.estimate >= 0 else "more"
            lines.append(
                f"Change:             {abs(change.estimate):.1f} points{percent} {more} pain "
                f"(+ = less: {_signed(change.estimate)}, 95% CI {_signed(change.low)} to "
                f"{_signed(change.high)}) -> {change.clinical_class}"
            )
        else:
            lines.append("Change:             not computable yet")
        lines.append(
            f"Adherence:          {_pct(self.adherence_7day.value)} in the 7 days to the last "
            f"entry ({self.adherence_7day.n} routine days), {_pct(self.adherence_28day.value)} "
            f"in 28 days ({self.adherence_28day.n}); dose credit, 80%+ is high"
        )
        lines.append(
            f"Streak:             {self.streak_days} full-routine day"
            f"{'' if self.streak_days == 1 else 's'}; habit strength "
            f"{habit_value(self.habit_strength)}: {HABIT_MEANING}"
        )
        lines.append(f"Flares (28 days):   {self.flares_28day} day(s)")
        lines.append("")
        lines.append(f"In short: {self.verdict}")
        lines.append("")
        if change.ok:
            lines.append(f"* {change.sentence}")
        for result in (self.trend, self.weekly, self.lag, self.reverse):
            lines.append(f"* {result.sentence}")
        if self.exercises is not None:
            lines.append(f"* Exercises one by one: {self.exercises.warning}")
            if self.exercises.separable:
                for exercise, row in self.exercises.table.iterrows():
                    if row["estimate"] == row["estimate"]:  # not NaN
                        name = self.exercise_names.get(str(exercise), str(exercise))
                        lines.append(
                            f"    {name}: {abs(row['estimate']):.2f} points "
                            f"{'lower' if row['estimate'] < 0 else 'higher'} next-day pain "
                            f"(95% CI {row['low']:.2f} to {row['high']:.2f}; Holm p = "
                            f"{row['p_holm']:.2f})"
                        )
        if self.phase is not None:
            lines.append(f"* {self.phase.sentence}")
        if self.messages:
            lines.append("")
            lines.append("Notes:")
            lines += [f"  - {m}" for m in self.messages]
        return "\n".join(lines)


def _signed(value: float) -> str:
    text = f"{value:+.1f}"
    return "0.0" if text in ("+0.0", "-0.0") else text


def _baseline_words(change: stats.Change, chosen: bool) -> str:
    if change.baseline_start is None or change.baseline_end is None:
        return "first 7 rated days"
    days = f"{change.baseline_start.date()} to {change.baseline_end.date()}"
    return f"chosen period, {days}" if chosen else f"first 7 rated days, {days}"


def _links_dict(links: stats.ExerciseLinks) -> dict[str, Any]:
    table = links.table
    rows = {
        exercise: {k: stats.finite_or_none(float(v)) for k, v in row.items() if k != "n"}
        | {"n": int(row["n"])}
        for exercise, row in table.iterrows()
    }
    return {"separable": links.separable, "exercises": rows, "sentence": links.warning}


def _phase_dict(phase: stats.PhaseComparison) -> dict[str, Any]:
    return {
        "nap": phase.nap.as_dict(),
        "difference": phase.difference.as_dict(),
        "sentence": phase.sentence,
    }


def verdict(change: stats.Change, trend: stats.Trend) -> str:
    """One sentence that reconciles the change vs baseline and the weekly trend."""
    weeks = f"the last {trend.n} weeks" if trend.ok else "the weeks logged"
    better = change.clinical_class in stats.IMPROVED
    worse = change.clinical_class == "worse"
    falling, rising = trend.direction == "decreasing", trend.direction == "increasing"
    if not change.ok and not trend.ok:
        return "Too few days yet to say whether your pain has changed."
    if not change.ok:
        base = "There is no comparison with your first week yet"
        if falling or rising:
            way = "falling" if falling else "rising"
            return f"{base}, but your pain has been {way} over {weeks}."
        return f"{base}, and over {weeks} your pain shows no clear trend."
    if better and falling:
        return (
            f"Both agree: your pain is lower than at the start and has been falling over {weeks}."
        )
    if better:
        trend_words = (
            ("has been rising again" if rising else "shows no clear trend")
            if trend.ok
            else "cannot be judged as a trend yet"
        )
        return (
            f"Your latest week is clearly better than your first, though over {weeks} your "
            f"pain {trend_words}: the improvement may have come early and held, or the "
            "latest week may be a good one."
        )
    if worse:
        return (
            "Your latest week is clearly worse than your first; consider talking to your "
            "clinician."
        )
    change_words = (
        "your latest week may differ from your first by enough to matter, but day-to-day "
        "noise could explain it"
        if change.clinical_class == "unclear"
        else "your latest week is not clearly different from your first"
    )
    if falling or rising:
        return (
            f"Your pain has been {'falling' if falling else 'rising'} over {weeks}, though "
            f"{change_words}."
        )
    return f"No clear change: {change_words}, and over {weeks} there is no clear trend."


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _pts(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} /10"


def summary(
    log: LogData | pd.DataFrame | str | os.PathLike[str],
    *,
    routine: Routine | None = None,
    today: date | None = None,
    since: date | str | None = None,
    baseline: tuple[date | str | None, date | str | None] | None = None,
    phase_start: date | str | None = None,
) -> Summary:
    """Summarize a log (a :class:`LogData`, its ``entries`` frame, or a path).

    ``today`` (default: the real today) is used for the streak (today not yet logged does
    not break it), habit strength (decays on days not logged) and the stale-data note;
    ``since`` starts the analysis on that day (the baseline is then the first 7 rated
    days from it); ``baseline`` = (start, end) is a chosen baseline period instead (e.g.
    the weeks before the routine); ``phase_start`` adds the before/after comparison.
    """
    source = "<entries>"
    demo = False
    problems = 0
    if isinstance(log, LogData):
        entries, source, demo, problems = log.entries, log.path, log.demo, len(log.problems)
    elif isinstance(log, pd.DataFrame):
        entries = log
    else:
        routine = routine or load_routine(log_path=log)
        loaded = read_log(log, strict=False, known_exercises=routine.ids)
        entries, source, problems = loaded.entries, loaded.path, len(loaded.problems)
    routine = routine_of(log if isinstance(log, LogData) else source, routine)
    today = today or date.today()
    daily = metrics.daily_since(entries, routine, since)
    messages: list[str] = []
    if demo:
        messages.append("These are demo data, not yours: log a day to start your own file.")
    if problems:
        messages.append(
            f"{problems} row(s) of the log have problems and are left out (backtrack validate)"
        )
    last = metrics.last_logged_day(daily)
    if last is None:
        messages.append("No days logged yet" + (f" since {since}" if since else "") + ".")
    stale = metrics.stale_message(daily, today) if last is not None else ""
    if stale:
        messages.append(stale)
    latest = metrics.latest_pain_mean(daily)
    start, end = baseline if baseline is not None else (None, None)
    change = stats.change_vs_baseline(daily, baseline_start=start, baseline_end=end)
    adherence_7 = metrics.adherence_window(daily, 7)
    adherence_28 = metrics.adherence_window(daily, 28)
    trend = stats.trend(daily)
    pairs = stats.link_pairs(daily)
    lag = stats.lagged_link(daily, pairs)
    reverse = stats.reverse_link(daily, pairs)
    weekly = stats.weekly_link(daily)
    exercises = stats.exercise_links(daily) if last is not None else None
    phase = stats.phase_comparison(daily, phase_start) if phase_start is not None else None
    chronic, span = metrics.chronic_span(daily)
    strength = metrics.habit_strength(daily, today=today)
    flares = 0
    if last is not None:
        window = metrics.day_window(daily, last - pd.Timedelta(days=27), last)
        flares = int(daily["flare"].to_numpy(dtype=bool)[window].sum())
        if latest.value is None:
            messages.append(f"7-day mean pain: {latest.reason}")
        messages += [f"Change: {note}" if not change.ok else note for note in change.notes]
        if adherence_7.value is None:
            messages.append(f"Adherence, 7 days: {adherence_7.reason}")
        if adherence_28.value is None:
            messages.append(f"Adherence, 28 days: {adherence_28.reason}")
        messages.append(
            "Days not logged are left out of pain and adherence, never counted as exercises "
            "not done; rest days are left out of adherence and flare days reported apart."
        )
    if chronic:
        messages.append(CHRONIC_NOTICE)
    messages.append("This tracker does not replace a clinician.")
    return Summary(
        source=source,
        demo=demo,
        today=today,
        first_day=daily.index[0] if len(daily) else None,
        last_logged_day=last,
        days_logged=int(daily["logged"].sum()),
        logging_completeness=metrics.logging_completeness(
            daily, pd.Timestamp(today) - pd.Timedelta(days=1)
        ),
        latest=latest,
        change=change,
        adherence_7day=adherence_7,
        adherence_28day=adherence_28,
        streak_days=metrics.current_streak(daily, today),
        habit_strength=float(strength.iloc[-1]) if len(strength) else None,
        trend=trend,
        lag=lag,
        reverse=reverse,
        weekly=weekly,
        flares_28day=flares,
        chronic=chronic,
        chronic_span_days=span,
        messages=tuple(messages),
        verdict=verdict(change, trend),
        days_since_entry=metrics.days_since_entry(daily, today),
        baseline_chosen=baseline is not None,
        exercise_names={e.id: e.name for e in routine.exercises},
        phase=phase,
        exercises=exercises,
        daily=daily,
    )
