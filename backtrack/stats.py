"""Statistics on the daily series: change vs baseline, trend, lagged links, phases.

Every result carries its estimate, a 95% interval (``low``, ``high``), the ``n`` it rests
on, and one plain-language ``sentence`` that also says what it cannot show. Too little
data gives an explicit "needs N, has M" result (``estimate`` None), never noise.

Intervals on pain levels (change vs baseline, phases) and the trend's allow for one day
resembling the next through one AR(1) model of the person's days (:func:`daily_noise`);
calibrated by simulation (``tests/test_calibration.py``). Definitions, sources and the
reasons for each choice: ``docs/analysis.md``.

Every minimum detectable effect is the one the test actually used detects with 80% power
(:func:`minimum_detectable`, the noncentral t at the interval's own df). The methods used
by :func:`backtrack.summary` (the trend's least-squares slope and its t test, OLS with
Newey–West or classical errors, the noise model) are written here in numpy and
``scipy.special``: importing ``scipy.stats`` alone takes about 0.8 s on a small machine,
and the summary must answer in under a second. The tests check each one against a
reference implementation (``scipy.stats``, ``statsmodels`` OLS) or a hand-computed case.
Functions outside the summary (variability) call scipy / statsmodels directly, imported
inside the function.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from statistics import NormalDist
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from . import metrics
from .errors import FieldError
from .units import finite_or_none

CONFIDENCE = 0.95
MIN_WEEKS = 6
"""Weekly means needed for a trend."""
MAX_WEEKS = 26
"""The trend looks at the last 26 weeks at most (recent change; and keeps it fast)."""
MIN_PAIRS = 28
"""Pairs of consecutive logged days needed for a lagged model."""
MIN_PHASE_DAYS = 7
IMPORTANT_PERCENT = 30.0
"""Minimal important change for low back pain: 30% of baseline, or 2 points (Ostelo 2008)."""
SUBSTANTIAL_PERCENT = 50.0
"""Substantial improvement: at least 50% less pain (IMMPACT, Dworkin 2008)."""
IMPORTANT_POINTS = 2.0
PERCENT_MIN_BASELINE = 4.0
"""Percentages are taken of the baseline, or of 4 points when the baseline is lower (trials
enrolled people at ≥ 4; a percentage of a low baseline overstates a small change): the
thresholds are then continuous in the baseline, with no jump at 4."""
WORSE_POINTS = 1.0
WORSE_PERCENT = 15.0
"""Minimal important worsening: 1 point or 15% more pain, the minimal clinically
important change of Salaffi et al. 2004 (chronic musculoskeletal pain, 0-10 NRS). No
study has anchored worsening of back pain on this scale; the minimal, not the 2-point
"much better", threshold is used so that a worsening is not missed."""
MIN_INTERVAL_DAYS = 56
"""Days from the first analysed day to the end of the latest week before the change gets
an interval and a class: shorter logs covered the truth less than 93% of the time at
persistence 0.9 (bench/analysis.py, docs/analysis.md "Change vs baseline")."""
PERSISTENCE_MARGIN = 0.5
"""Standard errors of the persistence estimate added to it for intervals: estimated from a
few weeks it is more often too low than too high, which makes intervals too narrow."""
TREND_PERSISTENCE_MARGIN = 1.5
"""The same for the trend: a slope through 6-26 weekly means is more sensitive to
persistence than a difference of two weeks (false trends at persistence 0.9 on 8 and 26
weeks: 7.3% and 8.0% with a margin of 0.5, 4.3% and 4.0% with 1.5; bench/analysis.py)."""
POWER = 0.8
"""Power of every minimum detectable effect."""
NOISE_MIN_DAYS = 14
"""Rated days needed to estimate the day-to-day noise (its SD and persistence)."""
NOISE_MIN_PAIRS = 7
"""Pairs of consecutive rated days (or, failing that, two days apart) needed to estimate
the persistence."""
MAX_PERSISTENCE = 0.98
_RHO_BIAS = (2.0, 5.5)
"""First-order bias of the lag-1 autocorrelation of detrended residuals, (a + b·ρ) / n
(measured by simulation of AR(1) series of 60-365 days; see docs/analysis.md)."""
_EPS = 1e-9

CLASSES = ("substantial", "important", "improved", "small", "none", "unclear", "worse")
"""``change_class`` values (JSON contract; None when not computable)."""
IMPROVED = ("substantial", "important", "improved", "small")
CLASS_WORDS = {
    "substantial": "a substantial improvement: even the low end of the interval is at "
    "least 50% less pain",
    "important": "an important improvement: even the low end of the interval reaches the "
    "2 points or 30% less pain that count as important for back pain",
    "improved": "better, beyond day-to-day noise; whether by enough to matter is not yet clear",
    "small": "a small improvement: beyond day-to-day noise, but the whole interval is "
    "below the 2 points or 30% that count as important",
    "none": "no change that matters: the interval rules out an important improvement and "
    "an important worsening",
    "unclear": "unclear: the interval includes no change and reaches a change that would matter",
    "worse": "worse than at the start, beyond day-to-day noise",
}

ONE_PERSON = "This describes you only and does not prove the exercises caused it."


@dataclass(frozen=True)
class Estimate:
    """One statistic: ``estimate`` with its 95% interval ``low``-``high`` (None when not
    computable), the ``n`` it rests on, its ``unit``, and a ``sentence`` in plain words.
    ``needs`` is the n required when there was too little data."""

    name: str
    estimate: float | None
    low: float | None
    high: float | None
    n: int
    unit: str
    sentence: str
    p_value: float | None = None
    needs: int = 0
    mde: float | None = None
    """Minimum detectable effect (same unit): detected with 80% power at the 5% level by
    the estimate's own test (:func:`minimum_detectable`)."""

    @property
    def ok(self) -> bool:
        return self.estimate is not None

    def as_dict(self) -> dict[str, float | int | None]:
        """``estimate``, ``low``, ``high``, ``n`` (JSON-ready; NaN becomes None)."""
        return {
            "estimate": finite_or_none(self.estimate),
            "low": finite_or_none(self.low),
            "high": finite_or_none(self.high),
            "n": self.n,
        }


def _too_little(name: str, unit: str, needs: int, has: int, what: str) -> Estimate:
    return Estimate(
        name,
        None,
        None,
        None,
        has,
        unit,
        f"Not enough data: needs {needs} {what}, has {has}.",
        needs=needs,
    )


def _fmt(value: float, digits: int = 1) -> str:
    text = f"{value:.{digits}f}"
    return "0.0" if text in ("-0.0", "0.0") else text


def normal_quantile(confidence: float = CONFIDENCE) -> float:
    """The standard normal z of a two-sided interval (1.96 for 95%)."""
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def t_quantile(df: float, confidence: float = CONFIDENCE) -> float:
    """Student's t of a two-sided interval with ``df`` degrees of freedom (2.571 for 95%
    and 5 df)."""
    from scipy.special import stdtrit  # lazy: scipy when used (not scipy.stats)

    return float(stdtrit(df, 0.5 + confidence / 2))


def t_cdf(x: float, df: float) -> float:
    """P(T ≤ x) for Student's t with ``df`` degrees of freedom."""
    from scipy.special import stdtr  # lazy: scipy when used (not scipy.stats)

    return float(stdtr(df, x))


# ----------------------------------------------------------------------------- change


@dataclass(frozen=True)
class DailyNoise:
    """Day-to-day noise of pain around a straight line through the days (points): its
    ``sd``, its ``persistence`` (lag-1 autocorrelation of an AR(1) model, 0 to 0.98,
    bias-corrected) and the ``n`` rated days it rests on; ``reason`` when not computable
    (``sd`` and ``persistence`` NaN). See docs/analysis.md, "Day-to-day noise"."""

    sd: float
    persistence: float
    n: int
    reason: str = ""

    @property
    def ok(self) -> bool:
        return not self.reason

    @property
    def effective_n(self) -> float:
        """Independent days the noise estimate is worth: n (1 − ρ) / (1 + ρ)."""
        return self.n * (1 - self.persistence) / (1 + self.persistence)

    def covariance(self, positions: np.ndarray) -> np.ndarray:
        """Covariance (points²) of the noise on the days at ``positions`` (day numbers)."""
        gaps = np.abs(positions[:, None] - positions[None, :]).astype(float)
        covariance: np.ndarray = self.sd**2 * self.persistence**gaps
        return covariance


_EXACT_TRACE_DAYS = 400
"""Up to this many rated days the line's share of the noise is computed exactly."""


def _line_absorbs(days: np.ndarray, persistence: float) -> float:
    """How many days' worth of AR(1) noise variance the fitted line takes away: the
    expected residual sum of squares is SD² (n − tr(H R)), H the hat matrix of the
    line through ``days`` and R = ρ^|gap| their correlation (2 for independent days).
    Exact up to :data:`_EXACT_TRACE_DAYS` rated days; beyond, its limit 2 (1 + ρ) /
    (1 − ρ), which errs on the wide side."""
    n = len(days)
    if n > _EXACT_TRACE_DAYS:
        return min(2 * (1 + persistence) / (1 - persistence), n / 2)
    x = np.column_stack([np.ones(n), days - days.mean()])
    correlation = persistence ** np.abs(days[:, None] - days[None, :]).astype(float)
    return float(np.trace(np.linalg.solve(x.T @ x, x.T @ correlation @ x)))


def daily_noise(
    pain: np.ndarray, margin: float = 0.0, min_days: int = NOISE_MIN_DAYS
) -> DailyNoise:
    """:class:`DailyNoise` of ``pain`` (points), one value per calendar day, NaN = not
    rated: residuals from the least-squares line through the rated days; ``sd`` =
    sqrt(SS / (n − tr(H R))) (:func:`_line_absorbs`: n − 2 for independent days; the
    line absorbs more of persistent noise); persistence = Σ r_t r_{t−1} over pairs of
    consecutive rated days divided by (pairs × SS / n) (with fewer than 7 such pairs:
    the square root of the same over pairs two days apart), plus its first-order bias
    (2 + 5.5 ρ) / n, plus ``margin`` of its standard errors,
    √((1 − ρ²) / n), where an interval rests on it (:data:`PERSISTENCE_MARGIN`), clipped
    to 0-0.98. The steps need not be days (the weekly PEG: one value per week); fewer
    than ``min_days`` rated values give no noise."""
    pain = np.asarray(pain, dtype=float)
    days = np.flatnonzero(~np.isnan(pain))
    n = len(days)
    if n < min_days:
        return DailyNoise(math.nan, math.nan, n, f"needs {min_days} rated days, has {n}")
    y = pain[days]
    centred = days - days.mean()
    slope = float(centred @ (y - y.mean())) / float(centred @ centred)
    residual = y - y.mean() - slope * centred
    ss = float(residual @ residual)
    if ss <= _EPS:
        return DailyNoise(0.0, 0.0, n)
    a, b = _RHO_BIAS
    for gap in (1, 2):  # rated every other day: ρ² from pairs two days apart
        pairs = np.flatnonzero(np.diff(days) == gap)  # rated days next to each other
        if len(pairs) >= NOISE_MIN_PAIRS:
            raw = float(residual[pairs] @ residual[pairs + 1]) / (len(pairs) * ss / n)
            raw = raw if gap == 1 else math.sqrt(max(raw, 0.0))
            corrected = min(max(raw + (a + b * raw) / n, -MAX_PERSISTENCE), MAX_PERSISTENCE)
            spread = math.sqrt((1 - corrected**2) / n)  # its standard error
            persistence = min(max(corrected + margin * spread, 0.0), MAX_PERSISTENCE)
            dof = n - _line_absorbs(days, persistence)
            return DailyNoise(math.sqrt(ss / dof), persistence, n)
    reason = (
        f"needs {NOISE_MIN_PAIRS} pairs of rated days one or two days apart, has "
        f"{int(np.sum(np.diff(days) <= 2))}"
    )
    return DailyNoise(math.nan, math.nan, n, reason)


@dataclass(frozen=True)
class Change:
    """Change from baseline to the latest 7-day mean (points on the 0-10 NRS).

    ``estimate`` = baseline − latest (positive = less pain) with a 95% interval that
    allows for day-to-day persistence (:func:`daily_noise`, an AR(1) model of the days)
    and stays inside the scale (the latest level 0-10); no interval before
    :data:`MIN_INTERVAL_DAYS`; ``percent`` of baseline; ``clinical_class`` one of
    :data:`CLASSES` (None when not computable). ``notes`` hold warnings (regression to the
    mean, low baseline, too few days).
    """

    estimate: float | None
    low: float | None
    high: float | None
    n: int
    baseline: float | None
    latest: float | None
    percent: float | None
    clinical_class: str | None
    latest_end: pd.Timestamp | None
    sentence: str
    notes: tuple[str, ...] = ()
    baseline_start: pd.Timestamp | None = None
    baseline_end: pd.Timestamp | None = None
    regression_to_mean: bool = False
    mde: float | None = None
    """Minimum detectable change (points): detected with 80% power by the interval's own
    t test (:func:`minimum_detectable`)."""
    chance_important: float | None = None
    """P(true change ≥ the important threshold), 0-1 (:func:`chance_beyond`)."""
    chance_worse: float | None = None
    """P(true change ≤ −the worsening threshold), 0-1."""
    days_needed: int = 0
    """Days still needed before the change gets an interval (:data:`MIN_INTERVAL_DAYS`)."""
    reliable_change: float | None = None
    """Jacobson–Truax reliable change index (:func:`reliable_change_index`), unitless."""
    beyond_noise: bool | None = None
    """|reliable change| > 1.96: beyond measurement noise."""
    missing_adjusted_low: float | None = None
    """Low end of the change (points) if the unrated days had been as bad as the worst
    quarter (:func:`missing_sensitivity`); None unless more than
    :data:`MISSING_SHARE` of the analysed days are unrated and the change has an interval."""

    @property
    def ok(self) -> bool:
        return self.estimate is not None


@dataclass(frozen=True)
class Thresholds:
    """Changes that matter from a ``baseline`` (points, 0-10 NRS), each in points:
    ``important`` improvement (2 points or 30%, whichever is less: Ostelo 2008),
    ``substantial`` (50%: IMMPACT, Dworkin 2008) and ``worse`` (1 point or 15% more pain:
    Salaffi 2004). Percentages are of the baseline, or of 4 points below a baseline of 4
    (:data:`PERCENT_MIN_BASELINE`), so every threshold is continuous in the baseline."""

    important: float
    substantial: float
    worse: float


def percent_reference(baseline: float) -> float:
    """The points a threshold's percentage is taken of: the baseline, or 4 below a
    baseline of 4 (:data:`PERCENT_MIN_BASELINE`)."""
    return max(float(baseline), PERCENT_MIN_BASELINE)


def change_thresholds(baseline: float) -> Thresholds:
    """:class:`Thresholds` for a ``baseline`` (points)."""
    reference = percent_reference(baseline)
    return Thresholds(
        min(IMPORTANT_POINTS, IMPORTANT_PERCENT / 100 * reference),
        SUBSTANTIAL_PERCENT / 100 * reference,
        min(WORSE_POINTS, WORSE_PERCENT / 100 * reference),
    )


def classify_change(
    baseline: float, latest: float, low: float | None = None, high: float | None = None
) -> tuple[str, float, float | None]:
    """(class, points, percent) for pain going from ``baseline`` to ``latest`` (points),
    ``low``-``high`` the 95% interval of the points (None: taken as exact).

    points = baseline − latest (positive = improvement); percent = points / baseline × 100
    (None when baseline is 0). A class names only what the interval supports
    (:func:`change_thresholds`): substantial / important when its low end reaches them;
    improved when it excludes no change but its high end reaches important; small when
    the whole interval lies between no change and important; worse when it lies wholly on
    the side of more pain; none when it rules out an important change either way; else
    unclear (it includes no change and reaches a change that would matter).
    """
    for name, value in (("baseline", baseline), ("latest", latest)):
        if not isinstance(value, int | float) or not 0 <= value <= 10:
            raise FieldError(name, "a pain level 0-10 (points)", value)
    points = float(baseline) - float(latest)
    percent = 100.0 * points / baseline if baseline > 0 else None
    low = points if low is None else low
    high = points if high is None else high
    limits = change_thresholds(baseline)
    klass = classify_interval(low, high, limits.important, limits.worse, limits.substantial)
    return klass, points, percent


def classify_interval(
    low: float, high: float, important: float, worse: float, substantial: float = math.inf
) -> str:
    """The class of a change whose 95% interval is ``low``-``high`` (+ = better), against
    the thresholds ``important``, ``substantial`` (improvement) and ``worse`` (each > 0,
    same unit): the rules of :func:`classify_change`, for any measure."""
    if low >= substantial - _EPS:
        return "substantial"
    if low >= important - _EPS:
        return "important"
    if low > _EPS:
        return "improved" if high >= important - _EPS else "small"
    if high < -_EPS:
        return "worse"
    if high < important - _EPS and low > -worse + _EPS:
        return "none"
    return "unclear"


def minimum_detectable(se: float, df: float | None = None, power: float = POWER) -> float:
    """The true effect (the unit of ``se``) that a two-sided 5% test on ``estimate / se``
    detects with ``power``: the noncentrality of Student's t with ``df`` degrees of freedom
    at which P(T > t₀.₉₇₅) = power, times ``se`` (df None: the normal, 2.80 × se at 80%;
    with 2 df it is 5.65 × se). The other tail adds under 0.1% and is left out."""
    from scipy.special import nctdtrinc  # lazy: scipy when used (not scipy.stats)

    if df is None or not math.isfinite(df):
        return (normal_quantile() + NormalDist().inv_cdf(power)) * se
    return float(nctdtrinc(df, 1 - power, t_quantile(df))) * se


def chance_beyond(estimate: float, se: float, df: float, threshold: float) -> float:
    """P(true value ≥ ``threshold``) for an ``estimate`` with standard error ``se`` and a
    t with ``df`` degrees of freedom (the interval's own): the share of the interval's
    distribution above the threshold (a flat prior). 0-1."""
    if not se > 0:
        return float(estimate >= threshold - _EPS)
    return 1 - t_cdf((threshold - estimate) / se, df)


def change_interval(
    pain: np.ndarray,
    baseline_days: np.ndarray,
    latest_days: np.ndarray,
    margin: float = PERSISTENCE_MARGIN,
    min_days: int = NOISE_MIN_DAYS,
) -> tuple[float, float, DailyNoise]:
    """For mean(pain[baseline_days]) − mean(pain[latest_days]): its standard error
    (points) under the AR(1) noise, the t quantile of a 95% interval (df =
    :func:`interval_df`), and the noise. ``pain`` holds one value per calendar day from
    the first analysed day to the end of the latest window (NaN = not rated); the noise
    is estimated on all of it (:func:`daily_noise`, with ``margin`` standard errors added
    to the persistence: :data:`PERSISTENCE_MARGIN`; at least ``min_days`` rated)."""
    noise = daily_noise(pain, margin, min_days)
    if not noise.ok:
        return math.nan, normal_quantile(), noise
    positions = np.concatenate([baseline_days, latest_days])
    weights = np.concatenate(
        [
            np.full(len(baseline_days), 1 / len(baseline_days)),
            np.full(len(latest_days), -1 / len(latest_days)),
        ]
    )
    variance = float(weights @ noise.covariance(positions) @ weights)
    return math.sqrt(max(variance, 0.0)), t_quantile(interval_df(noise)), noise


MISSING_SHARE = 0.10
"""The missing-days bound is shown when more than 10% of the analysed days are unrated."""
MISSING_PERSISTENCE_MARGIN = 1.5
"""Standard errors added to the persistence for the missing-days bound: skipping bad days
breaks up runs of bad days, so the persistence of the rated days is too low (0.44
instead of 0.54 at persistence 0.5 when ratings ≥ 7 go unlogged 90% of the time)."""
WORST_QUANTILE = 0.75
"""The worst quarter: ratings at or above the 75th percentile of the person's rated days."""


@dataclass(frozen=True)
class MissingSensitivity:
    """How far the change's low end moves if the ``unrated`` days (of ``days`` analysed)
    had been as bad as the ``worst`` quarter (mean of the ratings ≥ their 75th
    percentile, points): the latest week's mean rises by ``shift`` points and the
    day-to-day SD becomes ``sd`` (points); ``low`` is the bound (points of the change)."""

    unrated: int
    days: int
    worst: float
    shift: float
    sd: float
    low: float

    @property
    def share(self) -> float:
        """Unrated share of the analysed days, 0-1."""
        return self.unrated / self.days if self.days else 0.0


def missing_sensitivity(
    pain: np.ndarray, points: float, se: float, z: float, noise: DailyNoise, floor: float
) -> MissingSensitivity:
    """A delta-adjusted low end for a change of ``points`` (baseline − latest, standard
    error ``se`` points, quantile ``z``) whose latest week is ``pain``'s last 7 days
    (``pain``: one value per analysed day, NaN = unrated). Each unrated day of the latest
    week counts at the worst quarter's mean W: the latest mean rises by shift = k (W −
    latest) / 7 (k unrated of its 7 days, never below 0). The day-to-day SD is that of
    the rated days' noise mixed with the worst quarter in the unrated share p: SD'² =
    (1 − p) SD² + p (W − m)², m the mean of the rated days, keeping the persistence; the
    standard error grows by SD' / SD. low = points − shift − z · se · SD' / SD, at least
    ``floor`` (baseline − 10). The caller passes the ``se``, ``z`` and ``noise`` of
    :func:`change_interval` with :data:`MISSING_PERSISTENCE_MARGIN`. docs/analysis.md,
    "Change vs baseline" (missing days)."""
    pain = np.asarray(pain, dtype=float)
    rated = pain[~np.isnan(pain)]
    unrated = len(pain) - len(rated)
    share = unrated / len(pain)
    top = rated[rated >= np.quantile(rated, WORST_QUANTILE)]
    worst = float(top.mean())
    week = pain[-metrics.ROLLING_DAYS :]
    seen = week[~np.isnan(week)]
    shift = max((len(week) - len(seen)) * (worst - float(seen.mean())) / len(week), 0.0)
    mixed = noise.sd**2 + share * ((worst - float(rated.mean())) ** 2 + float(top.var()))
    scale = math.sqrt(mixed) / noise.sd if noise.sd > 0 else 1.0
    low = max(points - shift - z * se * max(scale, 1.0), floor)
    return MissingSensitivity(unrated, len(pain), worst, shift, math.sqrt(mixed), low)


def interval_df(noise: DailyNoise) -> float:
    """Degrees of freedom of an interval resting on ``noise``: its effective n − 2, at
    least 2."""
    return max(noise.effective_n - 2, 2.0)


def _interval_words(low: float, high: float) -> str:
    return f"95% CI {_fmt(low)} to {_fmt(high)} points"


def change_vs_baseline(
    daily: pd.DataFrame,
    *,
    baseline_start: date | str | None = None,
    baseline_end: date | str | None = None,
    end: date | str | None = None,
) -> Change:
    """Baseline (first 7 rated days, or a chosen period) vs the 7 days ending ``end``
    (default: the last logged day), with an autocorrelation-aware 95% interval, its
    class, and a regression-to-the-mean check (when the baseline is the first week)."""
    base = metrics.baseline(daily, baseline_start, baseline_end)
    latest = metrics.latest_pain_mean(daily, end)
    reasons = tuple(r for r in (base.reason, latest.reason) if r)

    def not_yet(reasons: tuple[str, ...], *, lead: str = "cannot be computed yet") -> Change:
        sentence = f"Change from baseline {lead}: " + "; ".join(reasons) + "."
        n = base.n + latest.n
        return Change(
            None,
            None,
            None,
            n,
            base.value,
            latest.value,
            None,
            None,
            latest.end,
            sentence,
            reasons,
            base.start,
            base.end,
        )

    if base.value is None or latest.value is None or latest.start is None or latest.end is None:
        return not_yet(reasons)  # a mean (value) always has its window (start, end)
    if base.end is not None and latest.start is not None and latest.start <= base.end:
        return not_yet(
            (
                "the latest 7 days overlap the baseline days; change needs days logged after "
                f"{base.end.date()}",
            )
        )
    chosen = baseline_start is not None or baseline_end is not None
    base_days = metrics.rated_pain(daily, base.start, base.end)
    if not chosen:
        base_days = base_days.iloc[: metrics.BASELINE_DAYS]
    latest_days = metrics.rated_pain(daily, latest.start, latest.end)
    window = metrics.day_window(daily, None, latest.end)
    pain = metrics.daily_column(daily, "pain", window)
    first = daily.index[window][0] if window.stop > window.start else latest.start
    positions = (
        metrics.days_from(base_days.index, first),
        metrics.days_from(latest_days.index, first),
    )
    se, z, noise = change_interval(pain, *positions)
    points = base.value - latest.value
    if not noise.ok:
        return not_yet(
            (f"its interval {noise.reason} (to learn how much one day resembles the next)",),
            lead="not computable",
        )
    span = len(pain)  # days from the first analysed day to the end of the latest week
    limits = change_thresholds(base.value)
    df = interval_df(noise)
    short = span < MIN_INTERVAL_DAYS
    if short:
        low = high = mde = chance = chance_worse = None
        _, points, percent = classify_change(base.value, latest.value)
        klass = "unclear"
    else:  # inside what the scale allows: the latest level is 0-10
        low = max(points - z * se, base.value - 10.0)
        high = min(points + z * se, base.value)
        klass, points, percent = classify_change(base.value, latest.value, low, high)
        mde = minimum_detectable(se, df)
        chance = chance_beyond(points, se, df, limits.important)
        chance_worse = 1 - chance_beyond(points, se, df, -limits.worse)
    missing = None
    if low is not None and np.isnan(pain).mean() > MISSING_SHARE:
        wide = change_interval(pain, *positions, MISSING_PERSISTENCE_MARGIN)
        missing = missing_sensitivity(pain, points, *wide, base.value - 10.0)
        if missing.low > low:  # never narrower than the plain interval
            missing = replace(missing, low=low)
    reliable = math.nan if short else reliable_change_index(points, noise)
    notes = []
    rtm = False
    if not chosen:
        rtm, rtm_note = _regression_to_mean(daily, base, noise, first)
        if rtm:
            notes.append(rtm_note)
    if short:
        notes.append(
            f"An interval and a class need {MIN_INTERVAL_DAYS} days from your first entry "
            f"to the end of the latest week; you have {span} ({MIN_INTERVAL_DAYS - span} "
            "more). Over fewer days the interval would be too narrow too often."
        )
    if missing is not None and low is not None:
        notes.append(
            f"If your {missing.unrated} unlogged days had been as bad as your worst quarter "
            f"({_fmt(missing.worst)} /10), the low end of the interval would be "
            f"{_side_words(missing.low)} instead of {_side_words(low)}: days skipped when "
            "pain is bad can make the change look better than it was."
        )
    if base.value < PERCENT_MIN_BASELINE:
        notes.append(
            f"Your baseline {_fmt(base.value)} is below 4: percentages of a low baseline "
            "overstate small changes, so the thresholds use percentages of 4 points."
        )
    direction = "lower" if points > 0 else ("higher" if points < 0 else "the same")
    percent_text = f" ({_fmt(abs(percent), 0)}%)" if percent is not None and points else ""
    size = (
        f"{_fmt(abs(points))} points{percent_text} {direction} than"
        if direction != "the same"
        else "the same as"
    )
    period = "the chosen baseline period" if chosen else "your first 7 rated days"
    lead = (
        f"Your pain over the 7 days to {latest.end.date()} averaged {_fmt(latest.value)}, "
        f"{size} {period} ({_fmt(base.value)}"
    )
    if low is None or high is None or chance is None or mde is None:
        sentence = (
            f"{lead}). It is too early to tell that from day-to-day variation: "
            f"{MIN_INTERVAL_DAYS - span} more days are needed."
        )
    else:
        sentence = (
            f"{lead}; {_interval_words(low, high)}, allowing for how much one day resembles "
            f"the next): {CLASS_WORDS[klass]}."
        )
        if klass in ("improved", "unclear"):
            sentence += f" The true change could be anywhere {_range_words(low, high)}."
        sentence += (
            f" Chance that it is an important improvement ({_fmt(limits.important)} points "
            f"or more): {chance:.0%}."
        )
        if math.isfinite(reliable):
            sentence += (
                f" Reliable change index {_fmt(reliable)}: "
                f"{'beyond' if abs(reliable) > RELIABLE_Z else 'within'} measurement noise."
            )
        if klass in ("none", "unclear") and mde > base.value:
            sentence += (
                f" With these days, even a fall to no pain at all ({_fmt(base.value)} points) "
                "would usually be missed: more days narrow the interval."
            )
        elif klass in ("none", "unclear"):
            sentence += (
                f" With these days, a true change smaller than about {_fmt(mde)} points "
                "would usually be missed."
            )
    if rtm:
        sentence += " Part of it may be regression to the mean (see the notes)."
    sentence += f" {ONE_PERSON}"
    return Change(
        points,
        low,
        high,
        base.n + latest.n,
        base.value,
        latest.value,
        percent,
        klass,
        latest.end,
        sentence,
        tuple(notes),
        base.start,
        base.end,
        rtm,
        mde,
        chance,
        chance_worse,
        max(MIN_INTERVAL_DAYS - span, 0),
        finite_or_none(reliable),
        None if math.isnan(reliable) else abs(reliable) > RELIABLE_Z,
        None if missing is None else missing.low,
    )


RELIABLE_Z = 1.96
"""A reliable change index beyond ±1.96 is beyond measurement noise (Jacobson & Truax
1991)."""


def reliable_change_index(points: float, noise: DailyNoise) -> float:
    """Jacobson & Truax's reliable change index, Δ / (√2 · SEM), for a change of
    ``points`` between two 7-day means: SEM = the SD of one 7-day mean under the person's
    own AR(1) noise (``noise``: SD and persistence from all their days, as 7 baseline days
    cannot estimate their own persistence). NaN when the noise has no spread."""
    week = noise.covariance(np.arange(metrics.ROLLING_DAYS, dtype=float))
    sem = math.sqrt(float(week.sum())) / metrics.ROLLING_DAYS
    return points / (math.sqrt(2) * sem) if sem > 0 else math.nan


def _side_words(value: float) -> str:
    """``3.1 points less pain`` / ``0.4 points more pain`` / ``no change`` (a change)."""
    if abs(value) < 0.05:
        return "no change"
    return f"{_fmt(abs(value))} points {'less pain' if value > 0 else 'more pain'}"


def _range_words(low: float, high: float) -> str:
    """``from 0.4 points more pain to 3.1 points less`` (points of the change)."""
    return f"from {_side_words(low)} to {_side_words(high)}"


RTM_WEEKS = 3
"""Regression to the mean: the first week is compared with the 3 weeks after it."""


def _regression_to_mean(
    daily: pd.DataFrame, base: metrics.WindowMean, noise: DailyNoise, first: pd.Timestamp
) -> tuple[bool, str]:
    """Whether the baseline week (first 7 rated days) was worse than the 3 weeks after it
    by more than day-to-day noise explains (one-sided 95%, AR(1) noise), and the note."""
    if base.value is None or base.start is None or base.end is None:
        return False, ""  # no baseline mean: nothing to compare (not called then)
    after = metrics.rated_pain(
        daily, base.end + pd.Timedelta(days=1), base.end + pd.Timedelta(days=7 * RTM_WEEKS)
    )
    base_days = metrics.rated_pain(daily, base.start, base.end).iloc[: metrics.BASELINE_DAYS]
    if len(after) < 2 * metrics.ROLLING_MIN_RATED or not noise.sd > 0:
        return False, ""
    positions = np.concatenate(
        [metrics.days_from(base_days.index, first), metrics.days_from(after.index, first)]
    )
    weights = np.concatenate(
        [np.full(len(base_days), 1 / len(base_days)), np.full(len(after), -1 / len(after))]
    )
    se = math.sqrt(max(float(weights @ noise.covariance(positions) @ weights), 0.0))
    gap = float(base_days.mean() - after.mean())
    if gap <= NormalDist().inv_cdf(CONFIDENCE) * se:
        return False, ""
    return True, (
        f"Your first week ({_fmt(base.value)}) was {_fmt(gap)} points worse than the "
        f"{RTM_WEEKS} weeks after it, more than day-to-day noise explains. People often "
        "start tracking in a bad week, and pain then tends to return to its usual level "
        "whatever they do (regression to the mean), so part of the change may be that. "
        "A baseline from before the routine (--baseline START:END) avoids it."
    )


# ----------------------------------------------------------------------------- trend


@dataclass(frozen=True)
class Trend(Estimate):
    """Least-squares slope of weekly mean pain, points per week, with its 95% interval and
    the two-sided ``p_value`` of one t test, both allowing for day-to-day persistence
    (:func:`trend_covariance`); ``direction`` follows that test (and so the interval)."""

    direction: str = ""
    weeks_from: pd.Timestamp | None = None
    weeks_to: pd.Timestamp | None = None


def weekly_means_for_trend(daily: pd.DataFrame, max_weeks: int = MAX_WEEKS) -> pd.Series:
    """Weekly mean pain (points) of ISO weeks with ≥ 4 rated days, the last ``max_weeks``
    calendar weeks at most (indexed by the week's Sunday)."""
    last = metrics.last_logged_day(daily)
    window = slice(None)
    if last is not None:  # only the weeks that can be used
        window = metrics.day_window(daily, last - pd.Timedelta(days=7 * max_weeks + 6), None)
    sundays, mean, count = metrics.weekly_pain_arrays(daily, window)
    recent = slice(max(len(mean) - max_weeks, 0), None)
    usable = count[recent] >= metrics.ROLLING_MIN_RATED
    index = pd.DatetimeIndex(sundays[recent][usable], name="week_ending")
    return pd.Series(mean[recent][usable], index=index, name="mean")


def trend_covariance(
    pain: np.ndarray, noise: DailyNoise | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(week numbers, covariance of the weekly means, points²) under the AR(1) noise of
    the days: ``pain`` (points) holds one value per calendar day from a Monday (NaN = not
    rated); weeks with ≥ 4 rated days count. Empty when the noise cannot be estimated."""
    pain = np.asarray(pain, dtype=float)
    noise = daily_noise(pain, TREND_PERSISTENCE_MARGIN) if noise is None else noise
    if not noise.ok:
        return np.array([]), np.zeros((0, 0))
    days = np.flatnonzero(~np.isnan(pain))
    week = days // 7
    counts = np.bincount(week)
    usable = np.flatnonzero(counts >= metrics.ROLLING_MIN_RATED)
    keep = np.isin(week, usable)
    days, week = days[keep], week[keep]
    rows = np.searchsorted(usable, week)
    average = np.zeros((len(usable), len(days)))
    average[rows, np.arange(len(days))] = 1.0 / counts[week]
    return usable, average @ noise.covariance(days) @ average.T


def trend_variance_factor(pain: np.ndarray, noise: DailyNoise | None = None) -> float:
    """How much day-to-day persistence inflates the variance of a slope through weekly
    means: Var(OLS slope | AR(1) days) / Var(OLS slope | independent weeks of the same
    variances) (:func:`trend_covariance`). NaN when the noise cannot be estimated."""
    weeks, cov = trend_covariance(pain, noise)
    if not len(weeks):
        return math.nan
    if len(weeks) < 3 or not np.any(np.diag(cov) > 0):
        return 1.0
    return _slope_inflation(weeks - weeks.mean(), cov)


def _slope_inflation(x: np.ndarray, cov: np.ndarray) -> float:
    """x′ C x / x′ diag(C) x for centred week numbers ``x`` and the weekly means'
    covariance ``cov``: the OLS slope's variance over that with independent weeks."""
    return float(x @ cov @ x) / float(x @ (np.diag(cov) * x))


def trend_df(weeks: int, factor: float) -> float:
    """Degrees of freedom of the trend's t test: weeks / factor − 2 (the effective number
    of independent weeks, less the two a line uses; at least 2)."""
    return max(weeks / factor - 2, 2.0)


def trend_days(daily: pd.DataFrame, means: pd.Series) -> np.ndarray:
    """Pain (points) per calendar day from the Monday of the first week in ``means`` to
    the last day of ``daily`` (NaN = not rated): the days the trend's noise rests on."""
    if len(means) == 0:
        return np.array([])
    monday = means.index[0] - pd.Timedelta(days=6)
    window = metrics.day_window(daily, monday, None)
    pain = metrics.daily_column(daily, "pain", window)
    lead = (daily.index[window][0] - monday).days if window.stop > window.start else 0
    return np.concatenate([np.full(lead, np.nan), pain])


def trend(daily: pd.DataFrame, *, max_weeks: int = MAX_WEEKS, min_weeks: int = MIN_WEEKS) -> Trend:
    """Trend of pain, points per week (negative = falling): the least-squares slope through
    weekly means (weeks with ≥ 4 rated days, the last ``max_weeks`` weeks); its standard
    error from the covariance of the weekly means under the AR(1) noise of the days
    (:func:`trend_covariance`), and one t test (df :func:`trend_df`) gives the 95%
    interval, the p-value, the direction and the minimum detectable slope. The interval
    stays inside what the scale allows (10 points over the weeks spanned)."""
    means = weekly_means_for_trend(daily, max_weeks)
    unit = "points per week"
    if len(means) < min_weeks:
        return Trend(
            **_too_little(
                "trend", unit, min_weeks, len(means), "weeks with at least 4 rated days"
            ).__dict__
        )
    days = trend_days(daily, means)
    noise = daily_noise(days, TREND_PERSISTENCE_MARGIN)
    weeks, cov = trend_covariance(days, noise)
    if not noise.ok or len(weeks) != len(means):
        return Trend(
            "trend",
            None,
            None,
            None,
            len(means),
            unit,
            f"Trend not computable: its day-to-day noise {noise.reason}.",
        )
    x = weeks - weeks.mean()
    y = means.to_numpy()
    slope = float(x @ (y - y.mean())) / float(x @ x)
    se = math.sqrt(max(float(x @ cov @ x), 0.0)) / float(x @ x)
    factor = _slope_inflation(x, cov) if se > 0 else 1.0
    df = trend_df(len(means), factor)
    quantile = t_quantile(df)
    span = float(weeks[-1] - weeks[0])
    bound = 10.0 / span  # a line cannot move more than the scale over its weeks
    low = min(max(slope - quantile * se, -bound), slope)
    high = max(min(slope + quantile * se, bound), slope)
    p = float(2 * t_cdf(-abs(slope) / se, df)) if se > 0 else float(slope == 0)
    mde = minimum_detectable(se, df)
    if p < 1 - CONFIDENCE:
        words, direction = ("rose", "increasing") if slope > 0 else ("fell", "decreasing")
    else:
        words, direction = "did not clearly change", "no trend"
    period = f"the {len(means)} weeks from {means.index[0].date() - pd.Timedelta(days=6)}"
    size = f" by {_fmt(abs(slope), 2)} points per week" if direction != "no trend" else ""
    missed = ""
    if direction == "no trend":
        missed = (
            f" With {len(means)} weeks, a trend smaller than about {_fmt(mde, 2)} points per "
            "week would usually be missed."
            if mde <= bound
            else f" With {len(means)} weeks, even a trend across the whole scale would "
            "usually be missed."
        )
    sentence = (
        f"Over {period} to {means.index[-1].date()}, your weekly pain {words}{size} (slope "
        f"{_fmt(slope, 2)} points per week, 95% CI {_fmt(low, 2)} to {_fmt(high, 2)}, "
        f"p = {p:.2g}, allowing for how much one week resembles the next).{missed} "
        f"{ONE_PERSON}"
    )
    return Trend(
        "trend",
        slope,
        low,
        high,
        len(means),
        unit,
        sentence,
        p,
        mde=mde,
        direction=direction,
        weeks_from=means.index[0],
        weeks_to=means.index[-1],
    )


# ----------------------------------------------------------------------------- lagged links


@dataclass(frozen=True)
class Regression:
    """OLS fit with Newey–West (HAC, Bartlett kernel) standard errors."""

    params: np.ndarray
    cov: np.ndarray
    df_resid: int
    maxlags: int

    def interval(self, j: int) -> tuple[float, float]:
        half = t_quantile(self.df_resid) * math.sqrt(self.cov[j, j])
        return float(self.params[j] - half), float(self.params[j] + half)

    def p_value(self, j: int) -> float:
        from scipy.special import stdtr  # lazy: scipy when used (not scipy.stats)

        t = abs(self.params[j]) / math.sqrt(self.cov[j, j])
        return float(2 * stdtr(self.df_resid, -t))


def newey_west_lags(n: int) -> int:
    """Newey & West's rule of thumb: floor(4 (n/100)^(2/9))."""
    return int(math.floor(4 * (n / 100.0) ** (2.0 / 9.0)))


def ols_hac(y: np.ndarray, x: np.ndarray, maxlags: int | None = None) -> Regression:
    """OLS of ``y`` on ``x`` (x includes the constant column) with HAC covariance
    (Bartlett weights, small-sample factor n/(n−k)); as statsmodels'
    ``OLS(y, x).fit(cov_type='HAC', cov_kwds={'maxlags': L, 'use_correction': True})``."""
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    n, k = x.shape
    maxlags = newey_west_lags(n) if maxlags is None else maxlags
    xtx_inv = np.linalg.inv(x.T @ x)
    params = xtx_inv @ x.T @ y
    scores = x * (y - x @ params)[:, None]
    inner = scores.T @ scores
    for lag in range(1, maxlags + 1):
        weight = 1 - lag / (maxlags + 1)
        cross = scores[lag:].T @ scores[:-lag]
        inner += weight * (cross + cross.T)
    cov = xtx_inv @ inner @ xtx_inv * n / (n - k)
    return Regression(params, cov, n - k, maxlags)


def _lag_arrays(daily: pd.DataFrame, columns: tuple[str, ...]) -> dict[str, Any]:
    """For pairs of consecutive calendar days both logged: each column today and, as
    ``<column>_prev``, yesterday (numpy arrays; ``index`` holds today's dates)."""
    index = daily.index
    if len(index) and (index[-1] - index[0]).days != len(index) - 1:
        full = pd.date_range(index[0], index[-1], freq="D", name=index.name)
        daily = daily.reindex(full)
        daily["logged"] = daily["logged"].astype("boolean").fillna(False).astype(bool)
    logged = daily["logged"].to_numpy(dtype=bool)
    both = np.zeros(len(daily), dtype=bool)
    both[1:] = logged[1:] & logged[:-1]
    previous = np.roll(both, -1)  # yesterday of each pair
    arrays: dict[str, Any] = {"index": daily.index[both]}
    for column in columns:
        values = daily[column].to_numpy(dtype=object if column == "day" else float)
        arrays[column] = values[both]
        if column != "day":
            arrays[column + "_prev"] = values[previous] if len(values) else values
    return arrays


def lag_frame(daily: pd.DataFrame, *, exercises: bool = False) -> pd.DataFrame:
    """Pairs of consecutive calendar days: ``pain``, ``credit``, ``day`` today and
    ``pain_prev``, ``credit_prev`` (yesterday's dose credit 0-1; rest days count what was
    done, usually 0); with ``exercises``, also ``done_prev_<id>`` (1 if the exercise was
    done yesterday). Rows need both days logged; unlogged days never enter as "not done"."""
    credit_columns = tuple(metrics.CREDIT_PREFIX + e for e in metrics.exercise_ids(daily))
    arrays = _lag_arrays(daily, ("pain", "credit", "day", *(credit_columns if exercises else ())))
    frame = pd.DataFrame(
        {name: arrays[name] for name in ("pain", "credit", "day", "pain_prev", "credit_prev")},
        index=arrays["index"],
    )
    if exercises:
        for column in credit_columns:
            done = arrays[column + "_prev"]
            exercise_id = column[len(metrics.CREDIT_PREFIX) :]
            frame["done_prev_" + exercise_id] = np.where(np.isnan(done), np.nan, done > 0)
    return frame


MIN_WEEK_PAIRS = 8
"""Pairs of consecutive weeks needed for the weekly link."""
TOGETHER = 0.8
"""Exercises whose done/not-done days correlate above this cannot be told apart."""


def fit_problem(x: np.ndarray, names: tuple[str, ...]) -> str:
    """Why OLS on the design ``x`` (constant first) cannot be fitted, or "" when it can:
    a column that never varies, or columns that move together (collinear)."""
    for j, name in enumerate(names, start=1):
        if np.ptp(x[:, j]) == 0:
            return f"{name} was the same every time"
    if np.linalg.matrix_rank(x.T @ x) < x.shape[1]:
        return f"{' and '.join(names)} moved together, so their effects cannot be separated"
    return ""


def ols_classic(y: np.ndarray, x: np.ndarray) -> Regression:
    """OLS of ``y`` on ``x`` (x includes the constant column) with the classical
    covariance s²(X'X)⁻¹, as statsmodels' ``OLS(y, x).fit()``."""
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    n, k = x.shape
    xtx_inv = np.linalg.inv(x.T @ x)
    params = xtx_inv @ x.T @ y
    resid = y - x @ params
    return Regression(params, xtx_inv * float(resid @ resid) / (n - k), n - k, 0)


def _fit(
    y: np.ndarray, columns: dict[str, np.ndarray], need: int, *, hac: bool = True
) -> tuple[Regression | None, int, str]:
    """OLS y ~ 1 + columns with HAC errors (``hac``; else classical) on the rows where
    all are known: (fit, n, reason); fit None with the reason when there are fewer than
    ``need`` rows, the design is degenerate or the covariance is not positive."""
    values = np.column_stack([y, *columns.values()]) if columns else y[:, None]
    usable = ~np.isnan(values).any(axis=1)
    n = int(usable.sum())
    if n < need:
        return None, n, ""
    x = np.column_stack([np.ones(n), values[usable, 1:]])
    reason = fit_problem(x, tuple(columns))
    if reason:
        return None, n, reason
    fit = (ols_hac if hac else ols_classic)(values[usable, 0], x)
    if not (np.all(np.isfinite(fit.cov)) and np.all(np.diag(fit.cov)[1:] > 0)):
        return None, n, "the model fits the data exactly (no noise left to judge it by)"
    return fit, n, ""


def _fit_arrays(
    outcome: np.ndarray, own_lag: np.ndarray, predictor: np.ndarray
) -> tuple[Regression | None, int, str]:
    return _fit(outcome, {"the day before's pain": own_lag, "what was done": predictor}, MIN_PAIRS)


LINK_COLUMNS = ("pain", "credit", "day", "flare")
"""What :func:`lagged_link` and :func:`reverse_link` read of each pair of days."""


def link_pairs(daily: pd.DataFrame) -> dict[str, np.ndarray]:
    """The pairs of consecutive logged days both links are fitted on (computed once
    when both are wanted: ``lagged_link(daily, pairs)``, ``reverse_link(daily, pairs)``);
    ``calm`` marks pairs where neither day is a flare (marked or detected)."""
    pairs = _lag_arrays(daily, LINK_COLUMNS)
    pairs["calm"] = (pairs.pop("flare") == 0) & (pairs.pop("flare_prev") == 0)
    return pairs


def _mde_words(n: int, what: str, mde: float, unit: str, scale: float = 1.0) -> str:
    mde = mde * scale
    return (
        f" With {n} {what}, an effect smaller than about {_fmt(mde, 2)} {unit} would "
        "usually be missed (80% power)."
    )


def _link_sentence(lead: str, low: float, high: float, interval: str, mde: str) -> str:
    if low > 0 or high < 0:
        return f"{lead} ({interval})."
    return (
        f"{lead} ({interval}). The interval includes no link, so these data cannot tell "
        f"whether there is one; that is not evidence that there is none.{mde}"
    )


FLARE_WORDS = (
    "Flare days are left out (in a flare people do less and pain stays high for a few "
    "days, which would make exercise look helpful)."
)


_LinkWords: TypeAlias = Callable[[float, float, float, float], str]
"""The sentence of a link from its estimate, 95% interval (low, high) and minimum
detectable effect."""


def _link_estimate(name: str, unit: str, fit: Regression, n: int, words: _LinkWords) -> Estimate:
    """A link's :class:`Estimate`: the coefficient of the model's predictor (its third
    column, after the intercept and the outcome's own lag), its 95% interval, p-value and
    minimum detectable effect, and the sentence ``words`` makes of them."""
    estimate = float(fit.params[2])
    low, high = fit.interval(2)
    mde = minimum_detectable(math.sqrt(fit.cov[2, 2]), fit.df_resid)
    sentence = words(estimate, low, high, mde)
    return Estimate(name, estimate, low, high, n, unit, sentence, fit.p_value(2), mde=mde)


def lagged_link(daily: pd.DataFrame, pairs: dict[str, np.ndarray] | None = None) -> Estimate:
    """Change in next-day pain (points) per full routine day yesterday:
    pain_t ~ pain_{t−1} + credit_{t−1}, OLS with Newey–West errors, on pairs of
    consecutive logged days without a flare. ``pairs``: from :func:`link_pairs`."""
    unit = "points of next-day pain per full routine day"
    pairs = link_pairs(daily) if pairs is None else pairs
    calm = pairs["calm"]
    fit, n, reason = _fit_arrays(
        pairs["pain"][calm], pairs["pain_prev"][calm], pairs["credit_prev"][calm]
    )
    if fit is None:
        return _no_fit(
            "next-day link", unit, n, "pairs of consecutive days with pain rated", reason
        )

    def words(estimate: float, low: float, high: float, mde: float) -> str:
        lead = (
            f"On days after a full routine, your pain was {_fmt(abs(estimate), 2)} points "
            f"{'lower' if estimate < 0 else 'higher'} than after a day with nothing done, "
            "allowing for the day before"
        )
        interval = f"95% CI {_fmt(low, 2)} to {_fmt(high, 2)}, {n} pairs of days"
        missed = _mde_words(n, "pairs of days", mde, "points")
        return (
            _link_sentence(lead, low, high, interval, missed)
            + f" {FLARE_WORDS} Pain can also drive what you do, and other things change "
            f"over time. {ONE_PERSON}"
        )

    return _link_estimate("next-day link", unit, fit, n, words)


def reverse_link(daily: pd.DataFrame, pairs: dict[str, np.ndarray] | None = None) -> Estimate:
    """Change in next-day dose credit (fraction 0-1) per point of pain yesterday, on
    routine days without a flare: credit_t ~ credit_{t−1} + pain_{t−1} (does pain drive
    skipping?). ``pairs``: from :func:`link_pairs` of the same ``daily``."""
    unit = "dose credit (0-1) per point of pain the day before"
    pairs = link_pairs(daily) if pairs is None else pairs
    keep = (pairs["day"] == "routine") & pairs["calm"]
    outcome, own, predictor = (pairs[c][keep] for c in ("credit", "credit_prev", "pain_prev"))
    fit, n, reason = _fit(
        outcome, {"the day before's routine": own, "the day before's pain": predictor}, MIN_PAIRS
    )
    if fit is None:
        return _no_fit(
            "pain-to-routine link",
            unit,
            n,
            "pairs of days (routine day after a rated day)",
            reason,
        )

    def words(estimate: float, low: float, high: float, mde: float) -> str:
        size = _fmt(abs(estimate) * 100, 0)
        change = (
            "about the same share of the routine done the next day"
            if size == "0"
            else f"{size} percentage points {'less' if estimate < 0 else 'more'} of the "
            "routine done the next day"
        )
        lead = f"Each extra point of pain was followed by {change}"
        interval = (
            f"95% CI {_fmt(low * 100, 0)} to {_fmt(high * 100, 0)} percentage points, {n} "
            "pairs of days"
        )
        missed = _mde_words(n, "pairs of days", mde, "percentage points", 100)
        return (
            _link_sentence(lead, low, high, interval, missed)
            + f" If pain drives skipping, the link from exercise to pain is harder to read. "
            f"{ONE_PERSON}"
        )

    return _link_estimate("pain-to-routine link", unit, fit, n, words)


def weekly_frame(daily: pd.DataFrame) -> pd.DataFrame:
    """Per ISO week (ending Sunday), flare days left out: ``pain`` (mean, points; NaN
    unless ≥ 4 rated days), ``credit`` (mean dose credit 0-1 of logged routine days; NaN
    without one), and ``next_pain`` (the following week's ``pain``)."""
    calm = ~metrics.daily_column(daily, "flare", dtype=bool)
    pain = np.where(calm, metrics.daily_column(daily, "pain"), np.nan)
    routine = metrics.routine_day_mask(daily) & calm
    credit = np.where(routine, metrics.daily_column(daily, "credit"), np.nan)
    sundays, week = metrics.week_numbers(metrics.day_index(daily))

    def mean(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        known = ~np.isnan(values)
        count = np.bincount(week[known], minlength=len(sundays))
        total = np.bincount(week[known], weights=values[known], minlength=len(sundays))
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count > 0, total / np.maximum(count, 1), np.nan), count

    weekly_pain, count = mean(pain)
    weekly_pain = np.where(count >= metrics.ROLLING_MIN_RATED, weekly_pain, np.nan)
    return pd.DataFrame(
        {
            "pain": weekly_pain,
            "credit": mean(credit)[0],
            "next_pain": np.r_[weekly_pain[1:], np.nan] if len(sundays) else weekly_pain,
        },
        index=pd.DatetimeIndex(sundays, name="week_ending"),
    )


def weekly_link(daily: pd.DataFrame) -> Estimate:
    """Change in next week's mean pain (points) per full week of the routine this week:
    next_pain ~ pain + credit over consecutive ISO weeks (:func:`weekly_frame`, flare
    days left out), OLS with classical errors: this week's pain in the model leaves
    little autocorrelation, and with a few dozen weeks Newey–West errors are too narrow
    (docs/analysis.md). The effect of exercise builds over weeks; this asks about weeks,
    the next-day link about days."""
    unit = "points of next-week pain per full week of the routine"
    frame = weekly_frame(daily)
    columns = {
        "this week's pain": frame["pain"].to_numpy(),
        "this week's routine": frame["credit"].to_numpy(),
    }
    fit, n, reason = _fit(frame["next_pain"].to_numpy(), columns, MIN_WEEK_PAIRS, hac=False)
    if fit is None:
        return _no_fit(
            "weekly link",
            unit,
            n,
            "pairs of consecutive weeks with 4 rated days",
            reason,
            MIN_WEEK_PAIRS,
        )

    def words(estimate: float, low: float, high: float, mde: float) -> str:
        lead = (
            f"A week with the full routine was followed by a week with "
            f"{_fmt(abs(estimate), 2)} points {'less' if estimate < 0 else 'more'} pain than "
            "a week with none, allowing for this week's pain"
        )
        interval = f"95% CI {_fmt(low, 2)} to {_fmt(high, 2)}, {n} pairs of weeks"
        missed = _mde_words(n, "pairs of weeks", mde, "points")
        return _link_sentence(lead, low, high, interval, missed) + f" {FLARE_WORDS} {ONE_PERSON}"

    return _link_estimate("weekly link", unit, fit, n, words)


def _no_fit(
    name: str, unit: str, n: int, what: str, reason: str = "", needs: int = MIN_PAIRS
) -> Estimate:
    if n >= needs:
        sentence = (
            f"Not computable: in the {n} {what.split(' (')[0]}, {reason or 'nothing varied'}."
        )
        return Estimate(name, None, None, None, n, unit, sentence, needs=needs)
    return _too_little(name, unit, needs, n, what)


@dataclass(frozen=True)
class ExerciseLinks:
    """Per-exercise lagged links, fitted jointly: ``table`` (one row per exercise:
    ``estimate``, ``low``, ``high`` in points of next-day pain when the exercise was done
    yesterday, the others held fixed, ``n``, ``p_value``, ``p_holm``; NaN when not
    fitted) and the ``warning`` (or why they cannot be told apart)."""

    table: pd.DataFrame
    warning: str
    separable: bool = True


def exercise_links(daily: pd.DataFrame) -> ExerciseLinks:
    """pain_t ~ pain_{t−1} + done_{t−1} of every exercise at once (done = any of it
    yesterday), OLS with Newey–West errors, flare days left out, Holm-adjusted p-values.
    When the exercises are done together (any two correlate above 0.8, or the design is
    collinear) they cannot be told apart, and the table has no estimates."""
    ids = metrics.exercise_ids(daily)
    credit_columns = tuple(metrics.CREDIT_PREFIX + e for e in ids)
    arrays = _lag_arrays(daily, ("pain", "flare", *credit_columns))
    calm = (arrays["flare"] == 0) & (arrays["flare_prev"] == 0)
    rows = pd.DataFrame(
        {"pain": arrays["pain"][calm], "pain_prev": arrays["pain_prev"][calm]},
        index=arrays["index"][calm],
    )
    done = {}
    for e, column in zip(ids, credit_columns, strict=True):
        before = arrays[column + "_prev"][calm]
        done[e] = np.where(np.isnan(before), np.nan, before > 0)
    empty = pd.DataFrame(
        {
            "estimate": np.nan,
            "low": np.nan,
            "high": np.nan,
            "n": len(rows),
            "p_value": np.nan,
            "p_holm": np.nan,
        },
        index=pd.Index(ids, name="exercise"),
    )
    varied = {e: v for e, v in done.items() if np.nanstd(v) > 0} if len(rows) else {}
    always = [e for e in ids if e not in varied]
    if len(rows) < MIN_PAIRS or not varied:
        return ExerciseLinks(
            empty,
            f"Not enough data: needs {MIN_PAIRS} pairs of days in which what was done varied.",
            False,
        )
    matrix = np.column_stack(list(varied.values()))
    usable = ~np.isnan(matrix).any(axis=1)
    corr = np.corrcoef(matrix[usable], rowvar=False) if len(varied) > 1 else np.ones((1, 1))
    np.fill_diagonal(corr, 0)
    together = len(varied) > 1 and np.nanmax(np.abs(corr)) > TOGETHER
    columns = {"the day before's pain": rows["pain_prev"].to_numpy(dtype=float), **varied}
    fit, n, reason = (
        (None, 0, "") if together else _fit(rows["pain"].to_numpy(dtype=float), columns, MIN_PAIRS)
    )
    note = (
        f" {', '.join(always)} did not vary (done every day, or never) and cannot be judged."
        if always
        else ""
    )
    if fit is None:
        why = reason or "they are mostly done on the same days"
        warning = (
            f"The exercises cannot be told apart: {why}. Only the whole routine can be "
            f"judged (the next-day and weekly links).{note}"
        )
        return ExerciseLinks(empty, warning, False)
    values = {name: np.full(len(ids), np.nan) for name in ("estimate", "low", "high", "p_value")}
    for j, exercise_id in enumerate(varied, start=2):
        i = ids.index(exercise_id)
        values["estimate"][i] = fit.params[j]
        values["low"][i], values["high"][i] = fit.interval(j)
        values["p_value"][i] = fit.p_value(j)
    table = pd.DataFrame(
        {**values, "n": n, "p_holm": holm(values["p_value"])},
        index=pd.Index(ids, name="exercise"),
    )[list(empty.columns)]
    k = len(varied)
    chance = 1 - CONFIDENCE**k
    warning = (
        f"{k} exercises are compared at once, each with the others held fixed: even with no "
        f"real link, the chance that at least one looks linked at the 5% level is "
        f"{chance:.0%}, so read the Holm-adjusted p-values (Holm p). Flare days are left "
        f"out.{note} {ONE_PERSON}"
    )
    return ExerciseLinks(table, warning, True)


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values (NaN stays NaN)."""
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(len(p), np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    order = valid[np.argsort(p[valid], kind="stable")]
    m = len(order)
    running = 0.0
    for rank, position in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[position]))
        adjusted[position] = running
    return adjusted


# ----------------------------------------------------------------------------- phases


@dataclass(frozen=True)
class PhaseComparison:
    """Before vs after a start date: ``nap`` (probability that an after-day has less
    pain than a before-day, ties half; 0.5 = no difference; Hanley–McNeil interval) and
    ``difference`` (mean before − mean after, points, + = less pain after; interval from
    the AR(1) day-to-day noise, as the change vs baseline)."""

    nap: Estimate
    difference: Estimate
    sentence: str


def phase_comparison(daily: pd.DataFrame, start: date | str) -> PhaseComparison:
    """Compare rated pain before ``start`` with ``start`` and after (A-B design)."""
    from scipy.stats import mannwhitneyu  # lazy: scipy.stats takes about 0.8 s

    cut = pd.Timestamp(start)
    rated = daily["pain"].dropna()
    before = rated[rated.index < cut].to_numpy()
    after = rated[rated.index >= cut].to_numpy()
    need = min(len(before), len(after))
    if need < MIN_PHASE_DAYS:
        what = f"rated days in each phase (before {cut.date()} and from it)"
        nap = _too_little("nap", "probability 0-1", MIN_PHASE_DAYS, need, what)
        diff = _too_little("difference", "points", MIN_PHASE_DAYS, need, what)
        return PhaseComparison(nap, diff, nap.sentence)
    n1, n2 = len(before), len(after)
    u = float(mannwhitneyu(before, after, alternative="two-sided").statistic)
    nap_value = u / (n1 * n2)  # P(before > after) + ties/2: improvement = lower pain after
    q1 = nap_value / (2 - nap_value)
    q2 = 2 * nap_value**2 / (1 + nap_value)
    se = math.sqrt(
        max(
            nap_value * (1 - nap_value)
            + (n1 - 1) * (q1 - nap_value**2)
            + (n2 - 1) * (q2 - nap_value**2),
            0.0,
        )
        / (n1 * n2)
    )
    z = normal_quantile()
    nap = Estimate(
        "nap",
        nap_value,
        max(0.0, nap_value - z * se),
        min(1.0, nap_value + z * se),
        n1 + n2,
        "probability 0-1",
        f"A day from {cut.date()} on had less pain than a day before it with probability "
        f"{nap_value:.2f} (0.5 = no difference; {n1} days before, {n2} after).",
    )
    diff_value = float(before.mean() - after.mean())
    days = metrics.day_window(daily, None, rated.index[-1])
    grid = metrics.daily_column(daily, "pain", days)
    position = metrics.days_from(rated.index, daily.index[0])
    split = int(rated.index.searchsorted(cut))
    se, t, noise = change_interval(grid, position[:split], position[split:])
    low: float | None = None
    high: float | None = None
    if noise.ok:
        low, high = diff_value - t * se, diff_value + t * se
        interval = (
            f"95% CI {_fmt(low)} to {_fmt(high)}, allowing for how much one day resembles the next"
        )
    else:
        interval = f"no interval: its day-to-day noise {noise.reason}"
    difference = Estimate(
        "difference",
        diff_value,
        low,
        high,
        n1 + n2,
        "points (before − after: + = less pain after)",
        f"Mean pain from {cut.date()} on was {_fmt(abs(diff_value))} points "
        f"{'lower' if diff_value > 0 else 'higher'} than before ({interval}).",
    )
    sentence = (
        f"{nap.sentence} {difference.sentence} The probability's interval treats days as "
        "independent (too narrow), and a before/after comparison cannot separate the "
        f"exercises from anything else that changed at the same time. {ONE_PERSON}"
    )
    return PhaseComparison(nap, difference, sentence)


# ----------------------------------------------------------------------------- variability


def variability(daily: pd.DataFrame, days: int = 28) -> pd.DataFrame:
    """Tidy table over the last ``days`` calendar days: ``sd`` (points), ``mssd`` (mean
    squared successive difference of consecutive rated days, points²) and
    ``lag1_autocorrelation`` (statsmodels ``acf``, unlogged days skipped), each with n."""
    from statsmodels.tsa.stattools import acf  # lazy: statsmodels only when used

    end = metrics.last_logged_day(daily)
    window = (
        daily["pain"] if end is None else daily["pain"].loc[end - pd.Timedelta(days=days - 1) :]
    )
    rated = window.dropna()
    steps = window.diff().dropna()
    rows = [
        ("sd", float(rated.std(ddof=1)) if len(rated) > 2 else np.nan, len(rated), "points"),
        ("mssd", float((steps**2).mean()) if len(steps) > 2 else np.nan, len(steps), "points²"),
    ]
    if len(rated) > 7 and rated.nunique() > 1:
        r1 = float(acf(window.to_numpy(), nlags=1, missing="conservative")[1])
    else:
        r1 = np.nan
    rows.append(("lag1_autocorrelation", r1, len(rated), "correlation -1 to 1"))
    table = pd.DataFrame.from_records(rows, columns=["measure", "estimate", "n", "unit"])
    table["sentence"] = [
        f"Day-to-day spread of your pain over the last {days} days.",
        "How much pain jumps from one day to the next (bigger = more up and down).",
        "How much one day's pain resembles the day before (near 1 = slow changes): why "
        "single days are not independent evidence.",
    ]
    return table.set_index("measure")


__all__ = [
    "CLASSES",
    "Change",
    "Estimate",
    "ExerciseLinks",
    "PhaseComparison",
    "Regression",
    "Thresholds",
    "Trend",
    "chance_beyond",
    "change_thresholds",
    "change_vs_baseline",
    "classify_change",
    "exercise_links",
    "finite_or_none",
    "holm",
    "lag_frame",
    "lagged_link",
    "link_pairs",
    "minimum_detectable",
    "percent_reference",
    "reliable_change_index",
    "newey_west_lags",
    "normal_quantile",
    "ols_hac",
    "phase_comparison",
    "reverse_link",
    "trend",
    "variability",
    "weekly_means_for_trend",
]
