"""``backtrack.summary(log)``: the answer to "is it working?", honest about noise.

(The module is not called ``summary`` so that it never shadows the function
``backtrack.summary``.) Units: pain in points on the 0-10 NRS, adherence as fractions
0-1, ``change_percent`` in percent of baseline, trend in points per week.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from . import metrics, stats
from .routine import CHRONIC_NOTICE, Routine, load_routine
from .store import LogData, read_log

SCHEMA = 1


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
    flares_28day: int
    chronic: bool
    chronic_span_days: int
    messages: tuple[str, ...]
    daily: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    """The daily series the numbers come from (:func:`backtrack.metrics.daily_since`)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: pain in points (0-10), adherence fractions 0-1, percent as 35.0."""

        def day(value: pd.Timestamp | None) -> str | None:
            return None if value is None else value.date().isoformat()

        def rounded(value: float | None, digits: int = 3) -> float | None:
            value = stats.finite_or_none(value)
            return None if value is None else round(value, digits)

        def estimate(result: stats.Estimate) -> dict[str, Any]:
            values = result.as_dict()
            return {
                **{k: rounded(v, 4) if k != "n" else v for k, v in values.items()},
                "p_value": rounded(result.p_value, 4),
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
            "logging_completeness": rounded(self.logging_completeness.value),
            "latest_window": {"start": day(self.latest.start), "end": day(self.latest.end)},
            "pain_7day_mean": rounded(self.latest.value, 2),
            "pain_7day_n": self.latest.n,
            "baseline": rounded(self.change.baseline, 2),
            "change_points": rounded(self.change.estimate, 2),
            "change_low": rounded(self.change.low, 2),
            "change_high": rounded(self.change.high, 2),
            "change_percent": rounded(self.change.percent, 1),
            "change_class": self.change.clinical_class,
            "adherence_7day": rounded(self.adherence_7day.value),
            "adherence_7day_n": self.adherence_7day.n,
            "adherence_28day": rounded(self.adherence_28day.value),
            "adherence_28day_n": self.adherence_28day.n,
            "streak_days": self.streak_days,
            "habit_strength": rounded(self.habit_strength),
            "trend_points_per_week": estimate(self.trend),
            "trend_mann_kendall": self.trend.direction or None,
            "lag1_adherence_effect": estimate(self.lag),
            "lag1_pain_on_adherence": estimate(self.reverse),
            "flares_28day": self.flares_28day,
            "chronic": self.chronic,
            "messages": list(self.messages),
        }

    def text(self) -> str:
        """The readable report (one screen)."""
        lines = []
        label = " (DEMO DATA, not yours)" if self.demo else ""
        lines.append(f"backtrack summary: {self.source}{label}")
        if self.last_logged_day is None:
            lines.append("No days logged yet.")
            lines += [f"  - {m}" for m in self.messages]
            return "\n".join(lines)
        ratio = self.logging_completeness
        lines.append(
            f"Logged {ratio.numerator} of {ratio.denominator} days ({_pct(ratio.value)}), "
            f"{self.first_day.date()} to {self.last_logged_day.date()}."
        )
        lines.append(
            f"Latest = the 7 days ending {self.last_logged_day.date()} (last logged day)."
        )
        lines.append("")
        lines.append(
            f"Pain, 7-day mean:   {_pts(self.latest.value)}  ({self.latest.n} rated days)"
        )
        change = self.change
        lines.append(f"Baseline:           {_pts(change.baseline)}  (first 7 rated days)")
        if change.ok:
            percent = "" if change.percent is None else f", {change.percent:+.0f}%"
            lines.append(
                f"Change:             {change.estimate:+.1f} points{percent} "
                f"(+ = better; 95% CI {change.low:+.1f} to {change.high:+.1f}) -> "
                f"{change.clinical_class}"
            )
        else:
            lines.append("Change:             not yet")
        lines.append(
            f"Adherence:          {_pct(self.adherence_7day.value)} last 7 days "
            f"({self.adherence_7day.n} routine days), {_pct(self.adherence_28day.value)} last "
            f"28 days ({self.adherence_28day.n}); dose credit, 80%+ is high"
        )
        strength = "n/a" if self.habit_strength is None else f"{self.habit_strength:.2f}"
        lines.append(
            f"Streak:             {self.streak_days} full-routine day"
            f"{'' if self.streak_days == 1 else 's'}; habit strength "
            f"{strength} (0-1)"
        )
        lines.append(f"Flares (28 days):   {self.flares_28day} day(s)")
        lines.append("")
        for result in (self.trend, self.lag, self.reverse):
            lines.append(f"* {result.sentence}")
        if change.ok:
            lines.append(f"* {change.sentence}")
        if self.messages:
            lines.append("")
            lines.append("Notes:")
            lines += [f"  - {m}" for m in self.messages]
        return "\n".join(lines)


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
) -> Summary:
    """Summarize a log (a :class:`LogData`, its ``entries`` frame, or a path).

    ``today`` (default: the real today) is used for the streak (today not yet logged does
    not break it); ``since`` starts the analysis on that day (the baseline is then the
    first 7 rated days from it).
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
    routine = routine or load_routine(log_path=None if source.startswith("<") else source)
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
    latest = metrics.latest_pain_mean(daily)
    change = stats.change_vs_baseline(daily)
    adherence_7 = metrics.adherence_window(daily, 7)
    adherence_28 = metrics.adherence_window(daily, 28)
    trend = stats.trend(daily)
    pairs = stats.link_pairs(daily)
    lag = stats.lagged_link(daily, pairs)
    reverse = stats.reverse_link(daily, pairs)
    chronic, span = metrics.chronic_span(daily)
    strength = metrics.habit_strength(daily)
    flares = 0
    if last is not None:
        window = metrics.day_window(daily, last - pd.Timedelta(days=27), last)
        flares = int(daily["flare"].to_numpy(dtype=bool)[window].sum())
        if latest.value is None:
            messages.append(f"pain_7day_mean: {latest.reason}")
        if not change.ok:
            messages += [f"change: {reason}" for reason in change.notes]
        else:
            messages += list(change.notes)
        if adherence_7.value is None:
            messages.append(f"adherence_7day: {adherence_7.reason}")
        if adherence_28.value is None:
            messages.append(f"adherence_28day: {adherence_28.reason}")
        for name, result in (
            ("trend", trend),
            ("lag1_adherence_effect", lag),
            ("lag1_pain_on_adherence", reverse),
        ):
            if not result.ok:
                messages.append(f"{name}: {result.sentence}")
        messages.append(
            "Days not logged are left out, never counted as exercises not done; rest days "
            "are left out of adherence and flare days reported apart."
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
        flares_28day=flares,
        chronic=chronic,
        chronic_span_days=span,
        messages=tuple(messages),
        daily=daily,
    )
