"""``backtrack.summary(log)``: the answer to "is it working?", honest about noise.

(The module is not called ``summary`` so that it never shadows the function
``backtrack.summary``.) Units: pain in points on the 0-10 NRS, adherence as fractions
0-1, ``change_percent`` in percent of baseline, trend in points per week. Definitions
and sources: ``docs/analysis.md``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from . import metrics, registry, stats, wording
from .demo import demo_answers
from .measures import Answers
from .measures_file import current_answers, measures_path, read_measures
from .routine import CHRONIC_NOTICE, Routine
from .store import LogData, read_log
from .trial import routine_of
from .units import Batch, Options, Result, finite_or_none

SCHEMA = 2
"""The ``summary --json`` layout: 2 = every statistic's columns from the registry."""


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
    results: Mapping[str, Result]
    """Every registered statistic (:data:`backtrack.registry.UNITS`), by key."""
    latest: metrics.WindowMean
    change: stats.Change
    adherence_7day: metrics.WindowMean
    adherence_28day: metrics.WindowMean
    trend: stats.Trend
    lag: stats.Estimate
    reverse: stats.Estimate
    weekly: stats.Estimate
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
    answers: tuple[Answers, ...] = field(default=(), repr=False, compare=False)
    """The function measures' answer sets the function numbers come from."""

    @property
    def days_logged(self) -> int:
        """Dates with a save."""
        return self.results["days_logged"].n

    @property
    def logging_completeness(self) -> metrics.Ratio:
        """Days logged ÷ days from the first logged day to yesterday."""
        ratio: metrics.Ratio = self.results["logging_completeness"].detail
        return ratio

    @property
    def streak_days(self) -> int:
        """Full-routine days in the streak running today (:data:`metrics.STREAK_RULE`)."""
        return self.results["streak_days"].n

    @property
    def habit_strength(self) -> float | None:
        """Loop Habit Tracker's score (0-1), None with no days."""
        return self.results["habit_strength"].estimate

    @property
    def flares_28day(self) -> int:
        """Flare days in the 28 days ending on the last logged day."""
        return int(self.results["flares_28day"].estimate or 0)

    @property
    def messages_stale(self) -> str:
        """The note that the latest entry is more than 3 days old, or ""."""
        return next((m for m in self.messages if m.startswith("Your latest entry is")), "")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (schema 2): the run's facts, then every registered statistic's
        columns (:data:`backtrack.registry.COLUMNS`: pain in points 0-10, adherence
        fractions 0-1, percent as 35.0, full precision), the sentences, the verdict and
        the notes."""

        def day(value: pd.Timestamp | None) -> str | None:
            return None if value is None else value.date().isoformat()

        return {
            "schema": SCHEMA,
            "source": self.source,
            "demo": self.demo,
            "today": self.today.isoformat(),
            "first_day": day(self.first_day),
            "last_logged_day": day(self.last_logged_day),
            "days_since_last_entry": self.days_since_entry,
            **registry.columns_of(self.results),
            "sentences": {
                key: result.detail.sentence
                for key, result in self.results.items()
                if getattr(result.detail, "sentence", "")
            },
            "exercise_links": None if self.exercises is None else _links_dict(self.exercises),
            "phase": None if self.phase is None else _phase_dict(self.phase),
            "chronic": self.chronic,
            "verdict": self.verdict,
            "messages": list(self.messages),
        }

    def text(self) -> str:
        """The readable report (one screen): every registered statistic, one line each."""
        lines = []
        label = " (DEMO DATA, not yours)" if self.demo else ""
        # the file's name, not its folders: a patient reads this (``--json`` has the path)
        lines.append(f"backtrack summary of {os.path.basename(self.source)}{label}")
        if self.last_logged_day is None or self.first_day is None:
            lines.append("No days logged yet.")
            lines += [f"  - {m}" for m in self.messages]
            return "\n".join(lines)
        lines.append(f"Days: {self.first_day.date()} to {self.last_logged_day.date()}.")
        age = self.days_since_entry
        old = f", {age} days ago" if age is not None and age > metrics.STALE_DAYS else ""
        lines.append(
            f"Latest = the 7 days ending {self.last_logged_day.date()} (last logged day{old})."
        )
        lines.append("")
        width = max(len(unit.label) for unit in registry.UNITS) + 2
        for unit in registry.UNITS:
            lines.append(f"{unit.label + ':':<{width}}{unit.words(self.results[unit.key])}")
        lines.append("")
        lines.append(f"In short: {self.verdict}")
        lines.append("")
        change = self.change
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
        lines.append(f"* Habit strength: {wording.HABIT_MEANING}.")
        if self.messages:
            lines.append("")
            lines.append("Notes:")
            lines += [f"  - {m}" for m in self.messages]
        return "\n".join(lines)


def _links_dict(links: stats.ExerciseLinks) -> dict[str, Any]:
    table = links.table
    rows = {
        exercise: {k: finite_or_none(float(v)) for k, v in row.items() if k != "n"}
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


def answers_beside(log_path: str | os.PathLike[str]) -> list[Answers]:
    """The current function-measure answers in the measures file beside ``log_path``
    (none there: []; rows with problems are left out, as the log's are)."""
    return current_answers(read_measures(measures_path(log_path)))


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


def summary(
    log: LogData | pd.DataFrame | str | os.PathLike[str],
    *,
    routine: Routine | None = None,
    today: date | None = None,
    since: date | str | None = None,
    baseline: tuple[date | str | None, date | str | None] | None = None,
    phase_start: date | str | None = None,
    answers: Sequence[Answers] | None = None,
) -> Summary:
    """Summarize a log (a :class:`LogData`, its ``entries`` frame, or a path).

    ``answers``: the function measures' current answer sets; None (the default) reads
    the measures file beside a log given as a path or :class:`LogData`
    (:func:`backtrack.measures_file.measures_path`; none there, or an entries frame:
    no answers, and the function units say "not enough data"); for demo data in
    memory, its demo answers (:func:`backtrack.demo.demo_answers`).

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
        routine = routine_of(log, routine)
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
    if answers is None and demo:
        answers = demo_answers(entries)  # demo data in memory: its demo answers too
    elif answers is None:
        answers = answers_beside(source) if source != "<entries>" else []
    options = Options(today, baseline)
    results = registry.compute(Batch.of_one(daily, options, source, answers))[0]
    latest = results["pain_7day_mean"].detail
    change = results["change"].detail
    adherence_7 = results["adherence_7day"].detail
    adherence_28 = results["adherence_28day"].detail
    trend = results["trend"].detail
    exercises = stats.exercise_links(daily) if last is not None else None
    phase = stats.phase_comparison(daily, phase_start) if phase_start is not None else None
    chronic, span = metrics.chronic_span(daily)
    if last is not None:
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
        results=results,
        latest=latest,
        change=change,
        adherence_7day=adherence_7,
        adherence_28day=adherence_28,
        trend=trend,
        lag=results["lag1_adherence_effect"].detail,
        reverse=results["lag1_pain_on_adherence"].detail,
        weekly=results["weekly_adherence_effect"].detail,
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
        answers=tuple(answers),
    )
