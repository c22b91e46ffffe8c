"""Every statistic the views show, registered once (:class:`backtrack.units.Unit`).

The order here is the order of the summary's text, the JSON and the cohort's columns.
Each unit's computation calls the one definition of its number (:mod:`backtrack.metrics`,
:mod:`backtrack.stats`) and returns the numbers-only :class:`~backtrack.units.Result`,
keeping the rich result in ``detail``. Definitions and sources: ``docs/analysis.md``;
how to add one: ``docs/contributing.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date

import pandas as pd

from . import function, metrics, stats, wording
from .measures import PEG, PSFS, Answers
from .units import Batch, Options, Result, Unit, per_patient, per_patient_answers

FLARE_DAYS = 28
"""Flares are counted over the 28 days ending on the last logged day."""


def _iso(day: pd.Timestamp | None) -> str | None:
    return None if day is None else day.date().isoformat()


def _window_result(mean: metrics.WindowMean, unit: str, **extra: object) -> Result:
    """A mean over a window of days, with the window's first and last day (ISO)."""
    window = {"start": _iso(mean.start), "end": _iso(mean.end), **extra}
    return Result(mean.value, n=mean.n, unit=unit, why_null=mean.reason, extra=window, detail=mean)  # type: ignore[arg-type]  # the extras are scalars


def _estimate_result(estimate: stats.Estimate, **extra: object) -> Result:
    return Result(
        estimate.estimate,
        estimate.low,
        estimate.high,
        estimate.n,
        estimate.unit,
        estimate.p_value,
        estimate.mde,
        "" if estimate.ok else estimate.sentence,
        extra,  # type: ignore[arg-type]  # the extras are scalars
        detail=estimate,
    )


def days_logged(daily: pd.DataFrame, options: Options) -> Result:
    """Dates with a save (days)."""
    days = int(daily["logged"].sum())
    return Result(days, n=days, unit="days")


def pain_7day_mean(daily: pd.DataFrame, options: Options) -> Result:
    """Mean pain (points) of the 7 days ending on the last logged day (≥ 4 rated)."""
    return _window_result(metrics.latest_pain_mean(daily), "points")


def baseline(daily: pd.DataFrame, options: Options) -> Result:
    """Mean pain (points) of the first 7 rated days, or of a chosen period."""
    start, end = options.baseline or (None, None)
    mean = metrics.baseline(daily, start, end)
    return _window_result(mean, "points", chosen=options.baseline is not None)


def change(daily: pd.DataFrame, options: Options) -> Result:
    """Baseline − latest 7-day mean (points, + = less pain), AR(1)-aware interval."""
    start, end = options.baseline or (None, None)
    result = stats.change_vs_baseline(daily, baseline_start=start, baseline_end=end)
    return Result(
        result.estimate,
        result.low,
        result.high,
        result.n,
        "points",
        None,
        result.mde,
        "" if result.ok else "; ".join(result.notes),
        {
            "percent": result.percent,
            "class": result.clinical_class,
            "chance_important": result.chance_important,
            "reliable_change": result.reliable_change,
            "beyond_noise": result.beyond_noise,
            "regression_to_mean": result.regression_to_mean,
            "days_needed": result.days_needed,  # 0 once it has an interval
            "missing_adjusted_low": result.missing_adjusted_low,
        },
        detail=result,
    )


def adherence(days: int) -> Callable[[pd.DataFrame, Options], Result]:
    """Mean dose credit (fraction 0-1) of logged routine days in ``days`` days."""

    def compute(daily: pd.DataFrame, options: Options) -> Result:
        return _window_result(metrics.adherence_window(daily, days), "fraction 0-1")

    compute.__doc__ = adherence.__doc__
    return compute


def streak_days(daily: pd.DataFrame, options: Options) -> Result:
    """Full-routine days in the streak running on today (metrics.STREAK_RULE)."""
    days = metrics.current_streak(daily, options.today)
    return Result(days, n=days, unit="days")


def habit_strength(daily: pd.DataFrame, options: Options) -> Result:
    """Loop Habit Tracker's score (0-1) on the day before today."""
    strength = metrics.habit_strength(daily, today=options.today)
    if not len(strength):
        return Result(None, unit="score 0-1", why_null="no days logged yet")
    return Result(float(strength.iloc[-1]), n=len(strength), unit="score 0-1")


def flares_28day(daily: pd.DataFrame, options: Options) -> Result:
    """Flare days (marked, or pain ≥ 2.7 points above the 28-day median) in 28 days."""
    last = metrics.last_logged_day(daily)
    if last is None:
        return Result(0, unit="days")
    window = metrics.day_window(daily, last - pd.Timedelta(days=FLARE_DAYS - 1), last)
    flares = int(daily["flare"].to_numpy(dtype=bool)[window].sum())
    return Result(flares, n=window.stop - window.start, unit="days")


def logging_completeness(daily: pd.DataFrame, options: Options) -> Result:
    """Days logged ÷ days from the first logged day to yesterday (fraction 0-1)."""
    ratio = metrics.logging_completeness(daily, pd.Timestamp(options.today) - pd.Timedelta(days=1))
    why = "" if ratio.value is not None else "no days logged yet"
    return Result(
        ratio.value,
        n=ratio.denominator,
        unit="fraction 0-1",
        why_null=why,
        extra={"days": ratio.numerator},
        detail=ratio,
    )


def trend(daily: pd.DataFrame, options: Options) -> Result:
    """Least-squares slope of weekly mean pain (points per week), its t test's p."""
    result = stats.trend(daily)
    return _estimate_result(result, direction=result.direction or None)


def lag1_adherence_effect(daily: pd.DataFrame, options: Options) -> Result:
    """Next-day pain (points) per full routine day, adjusted for today's pain."""
    return _estimate_result(stats.lagged_link(daily))


def lag1_pain_on_adherence(daily: pd.DataFrame, options: Options) -> Result:
    """Next-day adherence (fraction) per point of today's pain."""
    return _estimate_result(stats.reverse_link(daily))


def weekly_adherence_effect(daily: pd.DataFrame, options: Options) -> Result:
    """Change in weekly pain (points) per 10 points of weekly adherence."""
    return _estimate_result(stats.weekly_link(daily))


def _latest_result(answers: Sequence[Answers], measure: str, unit: str) -> Result:
    found = function.latest(answers, measure)
    return Result(
        found.value,
        n=found.n,
        unit=unit,
        why_null=found.reason,
        extra={"date": None if found.date is None else found.date.isoformat()},
        detail=found,
    )


def peg(answers: Sequence[Answers]) -> Result:
    """The latest weekly PEG score (points 0-10: the mean of its 3 items)."""
    return _latest_result(answers, PEG, "points 0-10")


def peg_change(answers: Sequence[Answers]) -> Result:
    """First − latest PEG score (points, + = better), t interval from 8 weekly scores."""
    change = function.peg_change(answers)
    return Result(
        change.estimate,
        change.low,
        change.high,
        change.n,
        "points",
        None,
        change.mde,
        change.reason,
        {
            "percent": change.percent,
            "class": change.klass or None,
            "first": change.first,
            "first_date": None if change.first_date is None else change.first_date.isoformat(),
            "weeks_needed": change.needed if change.ok else None,
        },
        detail=change,
    )


def psfs(answers: Sequence[Answers]) -> Result:
    """The latest PSFS score (points 0-10: the mean of the activities rated)."""
    return _latest_result(answers, PSFS, "points 0-10")


def psfs_change(answers: Sequence[Answers]) -> Result:
    """Latest − first PSFS score (points, + = better), classed against 2 points."""
    change = function.psfs_change(answers)
    better, worse = function.activity_counts(change)
    return Result(
        change.estimate,
        n=change.n,
        unit="points",
        why_null=change.reason,
        extra={
            "class": change.klass or None,
            "first": change.first,
            "first_date": None if change.first_date is None else change.first_date.isoformat(),
            "activities_better": better if change.ok else None,
            "activities_worse": worse if change.ok else None,
        },
        detail=change,
    )


def pgic(answers: Sequence[Answers]) -> Result:
    """The latest PGIC answer (category 1-7), beside the PEG and PSFS changes it anchors."""
    anchored = function.impression(answers)
    found, peg_now, psfs_now = anchored.latest, anchored.peg, anchored.psfs
    category = None if found.value is None else int(found.value)
    return Result(
        category,
        n=found.n,
        unit="category 1-7",
        why_null=found.reason,
        extra={
            "words": None if category is None else function.pgic_words(category),
            "date": None if found.date is None else found.date.isoformat(),
            "peg_change": peg_now.estimate,
            "psfs_change": psfs_now.estimate,
        },
        detail=anchored,
    )


UNITS: tuple[Unit, ...] = (
    Unit(
        "pain_7day_mean",
        "Pain, 7-day mean",
        "points 0-10",
        "Mean of the daily ratings (0-10 NRS) over the 7 days ending on the last logged "
        "day, with at least 4 rated; one day alone is too noisy to compare.",
        "Pain",
        per_patient(pain_7day_mean),
        wording.pain_mean,
        "Pain now",
        extras={"start": date, "end": date},
    ),
    Unit(
        "baseline",
        "Baseline",
        "points 0-10",
        "Mean pain of the first 7 rated days, or of the rated days of a chosen period.",
        "Change vs baseline and its class (`change_class`)",
        per_patient(baseline),
        wording.baseline,
        "Change vs baseline",
        extras={"start": date, "end": date, "chosen": bool},
    ),
    Unit(
        "change",
        "Change",
        "points",
        "Baseline − latest 7-day mean (+ = less pain); the interval allows for one day "
        "resembling the next, from 56 days on. A class only as far as the interval's low "
        "end reaches it: important ≥ 2 points or 30% (Ostelo 2008), substantial ≥ 50% "
        "(IMMPACT, Dworkin 2008); worse: 1 point or 15% (Salaffi 2004).",
        "Change vs baseline and its class (`change_class`)",
        per_patient(change),
        wording.change,
        "Change vs baseline",
        fields=("low", "high", "n", "mde", "why_null"),
        extras={
            "percent": float,
            "class": str,
            "chance_important": float,
            "reliable_change": float,
            "beyond_noise": bool,
            "regression_to_mean": bool,
            "days_needed": int,
            "missing_adjusted_low": float,
        },
    ),
    Unit(
        "adherence_28day",
        "Adherence, 28 days",
        "fraction 0-1",
        "Dose credit: minutes done ÷ prescribed (capped at 100%), averaged over the "
        "exercises, on logged routine days of the 28 days ending on the last logged day; "
        "rest days left out, flare days apart, days not logged never counted as not done. "
        "80% or more is high.",
        "Adherence and habit",
        per_patient(adherence(28)),
        wording.adherence,
        "Adherence",
    ),
    Unit(
        "adherence_7day",
        "Adherence, 7 days",
        "fraction 0-1",
        "The same over the 7 days ending on the last logged day.",
        "Adherence and habit",
        per_patient(adherence(7)),
        wording.adherence,
        "Adherence",
    ),
    Unit(
        "trend",
        "Trend",
        "points per week",
        "Least-squares slope of weekly mean pain, last 26 weeks at most (negative = "
        "falling); one t test, allowing for one week resembling the next, gives its "
        "interval, p and verdict.",
        "Trend",
        per_patient(trend),
        wording.trend,
        "Trend",
        fields=("low", "high", "n", "p", "mde", "why_null"),
        extras={"direction": str},
    ),
    Unit(
        "days_logged",
        "Days logged",
        "days",
        "Days logged: dates with a save.",
        "The four kinds of day",
        per_patient(days_logged),
        wording.days,
        "Period",
        fields=(),
        count=True,
    ),
    Unit(
        "logging_completeness",
        "Logged",
        "fraction 0-1",
        "Logged: of the days since the first.",
        "The four kinds of day",
        per_patient(logging_completeness),
        wording.completeness,
        "Flares, habit",
        extras={"days": int},
    ),
    Unit(
        "streak_days",
        "Streak",
        "days",
        "Streak: whole-routine days in a row (rest and flare days neither add nor end it).",
        "Adherence and habit",
        per_patient(streak_days),
        wording.streak,
        "Flares, habit",
        fields=(),
        count=True,
    ),
    Unit(
        "habit_strength",
        "Habit strength",
        "score 0-1",
        f"Habit strength: {wording.HABIT_MEANING}.",
        "Adherence and habit",
        per_patient(habit_strength),
        wording.habit,
        "Flares, habit",
    ),
    Unit(
        "flares_28day",
        "Flares, 28 days",
        "days",
        "Flare: pain ≥ 2.7 points above the person's own 28-day median, or marked as a "
        "flare, in the 28 days ending on the last logged day.",
        "The four kinds of day",
        per_patient(flares_28day),
        wording.count,
        "Flares, habit",
        fields=(),
        count=True,
    ),
    Unit(
        "lag1_adherence_effect",
        "Exercise → next-day pain",
        "points",
        "Next-day pain per full routine day, adjusted for today's pain (HAC interval).",
        "Links between exercise and pain",
        per_patient(lag1_adherence_effect),
        wording.link,
        "Exercise and pain",
        fields=("low", "high", "n", "p", "mde", "why_null"),
    ),
    Unit(
        "lag1_pain_on_adherence",
        "Pain → next-day exercise",
        "fraction per point",
        "Next-day adherence per point of today's pain (the reverse direction).",
        "Links between exercise and pain",
        per_patient(lag1_pain_on_adherence),
        wording.link,
        "Exercise and pain",
        fields=("low", "high", "n", "p", "mde", "why_null"),
    ),
    Unit(
        "weekly_adherence_effect",
        "Weekly adherence → weekly pain",
        "points",
        "Change in a week's mean pain with that week's adherence, from week to week.",
        "Links between exercise and pain",
        per_patient(weekly_adherence_effect),
        wording.link,
        "Exercise and pain",
        fields=("low", "high", "n", "p", "mde", "why_null"),
    ),
    Unit(
        "peg",
        "PEG, latest week",
        "points 0-10",
        "The latest weekly PEG (Krebs 2009): the mean of its 3 items about the past week "
        "(average pain, interference with enjoyment of life, with general activity).",
        "Change in function (PEG, PSFS, PGIC)",
        per_patient_answers(peg),
        wording.measure_score,
        "Function",
        extras={"date": date},
    ),
    Unit(
        "peg_change",
        "PEG change",
        "points",
        "First − latest weekly PEG (+ = better); a t interval allowing for one week "
        "resembling the next from 8 weekly scores on; a class as far as the interval "
        "reaches 1 point either way (Reed 2023, anchor-based 1.0-1.75).",
        "Change in function (PEG, PSFS, PGIC)",
        per_patient_answers(peg_change),
        wording.peg_change,
        "Function",
        fields=("low", "high", "n", "mde", "why_null"),
        extras={
            "percent": float,
            "class": str,
            "first": float,
            "first_date": date,
            "weeks_needed": int,
        },
    ),
    Unit(
        "psfs",
        "PSFS, latest",
        "points 0-10",
        "The latest PSFS (Stratford 1995): the mean rating 0-10 of the activities the "
        "patient named and rated.",
        "Change in function (PEG, PSFS, PGIC)",
        per_patient_answers(psfs),
        wording.measure_score,
        "Function",
        extras={"date": date},
    ),
    Unit(
        "psfs_change",
        "PSFS change",
        "points",
        "Latest − first PSFS mean (+ = better), against its measurement error: 2 points "
        "on the mean, 3 on one activity (Stratford 1995; Horn 2012).",
        "Change in function (PEG, PSFS, PGIC)",
        per_patient_answers(psfs_change),
        wording.psfs_change,
        "Function",
        extras={
            "class": str,
            "first": float,
            "first_date": date,
            "activities_better": int,
            "activities_worse": int,
        },
    ),
    Unit(
        "pgic",
        "Global impression",
        "category 1-7",
        "The latest PGIC (1 very much improved … 4 no change … 7 very much worse; Farrar "
        "2001), shown beside the PEG and PSFS changes it anchors.",
        "Change in function (PEG, PSFS, PGIC)",
        per_patient_answers(pgic),
        wording.pgic,
        "Function",
        extras={"words": str, "date": date, "peg_change": float, "psfs_change": float},
        count=True,
    ),
)
"""Every registered statistic, in the order the views show them."""

BY_KEY: Mapping[str, Unit] = {unit.key: unit for unit in UNITS}

COLUMNS: tuple[str, ...] = tuple(column for unit in UNITS for column in unit.columns)
"""Every unit's columns, in order."""

TYPES: Mapping[str, type] = {name: kind for unit in UNITS for name, kind in unit.types().items()}
"""Every unit's column types (:meth:`backtrack.units.Unit.types`)."""


def compute(batch: Batch, units: Sequence[Unit] = UNITS) -> list[dict[str, Result]]:
    """Every unit over the batch: per patient (in batch order), key → :class:`Result`."""
    results: list[dict[str, Result]] = [{} for _ in range(len(batch))]
    for unit in units:
        for patient, result in zip(results, unit.compute(batch), strict=True):
            patient[unit.key] = result
    return results


def columns_of(results: Mapping[str, Result]) -> dict[str, object]:
    """The flat, JSON-ready columns of one patient's results (:data:`COLUMNS`)."""
    values: dict[str, object] = {}
    for unit in UNITS:
        values.update(unit.values(results[unit.key]))
    return values
