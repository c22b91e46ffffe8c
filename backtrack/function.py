"""Change in function: the PEG's change vs the first week, the PSFS's change vs the first
answer (the mean and each activity), and the PGIC beside them.

Pure functions of one patient's current answer sets (:class:`backtrack.measures.Answers`,
as :func:`backtrack.measures_file.current_answers` gives them); the daily pain series is
never read here: the PEG's pain item and the daily pain rating are different questions.
Units: points on each measure's 0-10 scale; + = better for every change (PEG: first −
latest, lower is better; PSFS: latest − first, higher is better). Definitions, sources
and the interval's coverage: ``docs/analysis.md``, "Change in function".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np

from . import stats
from .measures import PEG, PGIC, PGIC_CATEGORIES, PSFS, Answers, psfs_by_activity, score

PEG_IMPORTANT = 1.0
"""A meaningful PEG change (points): the low end of the anchor-based 1.0-1.75 of Reed et
al. 2023 (J Pain, 6 trials, n = 1,710), both ways."""
PEG_MIN_WEEKS = 8
"""Weekly PEG scores needed before the change gets an interval (docs: its coverage)."""
PEG_NOISE_PAIRS = stats.NOISE_MIN_PAIRS
"""…of which this many pairs of consecutive weeks (the week-to-week persistence)."""
PSFS_IMPORTANT = 2.0
"""A PSFS change beyond measurement error on the mean (points; Stratford et al. 1995;
Horn et al. 2012), both ways."""
PSFS_ACTIVITY_IMPORTANT = 3.0
"""The same on one activity (points)."""


_SCALES = {
    PEG: "weekly PEG (pain and how much it gets in the way, 0-10, lower = better)",
    PSFS: "PSFS (your own activities, 0-10, higher = better)",
}


@dataclass(frozen=True)
class Latest:
    """A measure's latest score: ``value`` (points 0-10; PGIC: its category 1-7) given for
    ``date``, over ``n`` scored answer sets; None with the ``reason`` when there is none."""

    value: float | None
    date: date | None
    n: int
    reason: str = ""
    measure: str = ""

    @property
    def sentence(self) -> str:
        """The latest score in words (or what is needed)."""
        if self.value is None:
            return self.reason
        if self.measure == PGIC:
            return f"Your latest global impression ({self.date}): '{pgic_words(int(self.value))}'."
        return f"Your latest {_SCALES[self.measure]}: {self.value:.1f} ({self.date})."


def _scored(answers: Sequence[Answers], measure: str) -> list[tuple[date, float]]:
    """(date, score) of each answer set of ``measure`` that has a score, in date order."""
    found = []
    for one in sorted((a for a in answers if a.measure == measure), key=lambda a: a.date):
        value = score(one).value
        if value is not None:
            found.append((one.date, value))
    return found


_NAMES = {PEG: "weekly PEG score", PSFS: "PSFS answer", PGIC: "PGIC answer"}


def latest(answers: Sequence[Answers], measure: str) -> Latest:
    """The latest scored answer set of ``measure`` (:data:`backtrack.measures.MEASURES`)."""
    scored = _scored(answers, measure)
    if not scored:
        reason = f"Not enough data: needs 1 {_NAMES[measure]}, has 0."
        return Latest(None, None, 0, reason, measure)
    day, value = scored[-1]
    return Latest(value, day, len(scored), measure=measure)


@dataclass(frozen=True)
class FunctionChange:
    """A measure's change vs its first answer (points, + = better): ``estimate`` with its
    95% interval ``low``-``high`` (None: too few answers for one), its standard error
    ``se``, degrees of freedom ``df`` and minimum detectable effect ``mde``; ``n`` scored
    answer sets; ``first``, ``latest`` (scores) and their dates; ``percent`` of the first
    score; ``klass`` against ``threshold`` (:func:`backtrack.stats.classify_interval`);
    ``needed``: more answers before an interval; ``reason`` when there is no estimate."""

    measure: str
    estimate: float | None
    n: int
    threshold: float
    klass: str = ""
    low: float | None = None
    high: float | None = None
    se: float | None = None
    df: float | None = None
    mde: float | None = None
    first: float | None = None
    latest: float | None = None
    first_date: date | None = None
    latest_date: date | None = None
    percent: float | None = None
    needed: int = 0
    reason: str = ""
    activities: dict[str, tuple[int, int]] = field(default_factory=dict)
    """PSFS only: each activity rated at least twice, by its text: (first, latest)."""

    @property
    def ok(self) -> bool:
        return self.estimate is not None

    @property
    def sentence(self) -> str:
        """The change in words, with its interval, class and threshold (or what is
        needed)."""
        if self.estimate is None:
            return self.reason
        way = "better" if self.estimate >= 0 else "worse"
        text = (
            f"Your {_SCALES[self.measure]} went from {self.first:.1f} ({self.first_date}) to "
            f"{self.latest:.1f} ({self.latest_date}): {abs(self.estimate):.1f} points {way}"
        )
        if self.low is not None and self.high is not None:
            text += f" (95% CI {self.low:+.1f} to {self.high:+.1f}, + = better)"
        elif self.measure == PEG:
            text += f"; an interval needs {PEG_MIN_WEEKS} weekly scores ({self.needed} more)"
        unit = "point" if self.threshold == 1 else "points"
        text += f": {self.klass}. A change of {self.threshold:g} {unit} is "
        text += "meaningful (Reed 2023)." if self.measure == PEG else "beyond its error."
        if self.mde is not None:
            text += (
                f" With these weeks, a true change smaller than about {self.mde:.1f} points "
                "would usually be missed."
            )
        if self.activities:
            moved = [f"{name} {first} → {last}" for name, (first, last) in self.activities.items()]
            text += f" Each activity: {'; '.join(moved)} (3 points on one is beyond error)."
        return text


def _too_few(measure: str, has: int, threshold: float) -> FunctionChange:
    reason = f"Not enough data: needs 2 {_NAMES[measure]}s, has {has}."
    return FunctionChange(measure, None, has, threshold, reason=reason, needed=2 - has)


def peg_weeks(answers: Sequence[Answers]) -> tuple[np.ndarray, list[tuple[date, float]]]:
    """The weekly PEG series: one value per week from the first scored PEG (week k holds
    the days 7k to 7k + 6 after it; NaN = no score that week; two in one week: the later)
    and the scored answers it came from."""
    scored = _scored(answers, PEG)
    if not scored:
        return np.array([]), scored
    start = scored[0][0]
    weeks = np.full((scored[-1][0] - start).days // 7 + 1, np.nan)
    for day, value in scored:
        weeks[(day - start).days // 7] = value
    return weeks, scored


def peg_change(answers: Sequence[Answers]) -> FunctionChange:
    """The PEG's change: first − latest score (points, + = better), with a 95% t interval
    from :data:`PEG_MIN_WEEKS` weekly scores on: the variance of the contrast of the two
    weeks under AR(1) week-to-week noise estimated on the whole weekly series
    (:func:`backtrack.stats.change_interval`, as for the daily change), its minimum
    detectable effect and its class against :data:`PEG_IMPORTANT` both ways. The interval
    is cut to what the scale allows: first − 10 to first (the latest level is 0-10)."""
    weeks, scored = peg_weeks(answers)
    if len(scored) < 2:
        return _too_few(PEG, len(scored), PEG_IMPORTANT)
    (first_date, first), (latest_date, last) = scored[0], scored[-1]
    points = first - last
    base = FunctionChange(
        PEG,
        points,
        len(scored),
        PEG_IMPORTANT,
        "unclear",
        first=first,
        latest=last,
        first_date=first_date,
        latest_date=latest_date,
        percent=100.0 * points / first if first > 0 else None,
        needed=max(PEG_MIN_WEEKS - len(scored), 0),
    )
    if base.needed:
        return base
    se, quantile, noise = stats.change_interval(
        weeks, np.array([0]), np.array([len(weeks) - 1]), min_days=PEG_MIN_WEEKS
    )
    if not noise.ok or not math.isfinite(se):
        return base
    df = stats.interval_df(noise)
    # the true change lies between first − 10 and first (the latest level is 0-10)
    low, high = max(points - quantile * se, first - 10.0), min(points + quantile * se, first)
    return replace(
        base,
        klass=stats.classify_interval(low, high, PEG_IMPORTANT, PEG_IMPORTANT),
        low=low,
        high=high,
        se=se,
        df=df,
        mde=stats.minimum_detectable(se, df),
    )


def psfs_class(points: float, threshold: float) -> str:
    """A PSFS change (points, + = better) against a threshold that is the scale's own
    measurement error: important at or beyond it, worse at or below −it, else unclear
    (within the error: cannot tell)."""
    if points >= threshold - 1e-9:
        return "important"
    if points <= -threshold + 1e-9:
        return "worse"
    return "unclear"


def psfs_change(answers: Sequence[Answers]) -> FunctionChange:
    """The PSFS's change: latest − first mean (points, + = better), classed against
    :data:`PSFS_IMPORTANT` (no interval: the threshold is the published measurement
    error), and each activity rated twice or more: (first, latest) by its text."""
    scored = _scored(answers, PSFS)
    if len(scored) < 2:
        return _too_few(PSFS, len(scored), PSFS_IMPORTANT)
    (first_date, first), (latest_date, last) = scored[0], scored[-1]
    points = last - first
    activities = {
        name: (ratings[0][1], ratings[-1][1])
        for name, ratings in psfs_by_activity(answers).items()
        if len(ratings) >= 2
    }
    return FunctionChange(
        PSFS,
        points,
        len(scored),
        PSFS_IMPORTANT,
        psfs_class(points, PSFS_IMPORTANT),
        first=first,
        latest=last,
        first_date=first_date,
        latest_date=latest_date,
        percent=100.0 * points / first if first > 0 else None,
        activities=activities,
    )


def activity_counts(change: FunctionChange) -> tuple[int, int]:
    """(activities better, activities worse) by :data:`PSFS_ACTIVITY_IMPORTANT` or more."""
    steps = [last - first for first, last in change.activities.values()]
    better = sum(step >= PSFS_ACTIVITY_IMPORTANT for step in steps)
    worse = sum(step <= -PSFS_ACTIVITY_IMPORTANT for step in steps)
    return better, worse


@dataclass(frozen=True)
class Impression:
    """The latest PGIC (:class:`Latest`) beside the PEG and PSFS changes it anchors."""

    latest: Latest
    peg: FunctionChange
    psfs: FunctionChange

    @property
    def sentence(self) -> str:
        """ "You said 'Much improved' (date); your PEG fell 2.3 points …"."""
        if self.latest.value is None:
            return self.latest.reason
        said = f"You said '{pgic_words(int(self.latest.value))}' ({self.latest.date})"
        moved = []
        for name, change, lower in (("PEG", self.peg, True), ("PSFS", self.psfs, False)):
            if change.estimate is not None:
                down = (change.estimate > 0) == lower
                moved.append(
                    f"your {name} {'fell' if down else 'rose'} {abs(change.estimate):.1f} points"
                )
        return f"{said}; {', '.join(moved)}." if moved else f"{said}."


def impression(answers: Sequence[Answers]) -> Impression:
    """The latest PGIC beside the current PEG and PSFS changes."""
    return Impression(latest(answers, PGIC), peg_change(answers), psfs_change(answers))


def pgic_words(category: int) -> str:
    """The PGIC category 1-7 in its published words ("Much improved")."""
    return PGIC_CATEGORIES[category - 1]
