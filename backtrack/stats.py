"""Statistics on the daily series: change vs baseline, trend, lagged links, phases.

Every result carries its estimate, a 95% interval (``low``, ``high``), the ``n`` it rests
on, and one plain-language ``sentence`` that also says what it cannot show. Too little
data gives an explicit "needs N, has M" result (``estimate`` None), never noise.

The methods used by :func:`backtrack.summary` (Theil–Sen with Sen's 1968 interval,
Hamed–Rao's autocorrelation-corrected Mann–Kendall test, OLS with Newey–West errors) are
written here in numpy: importing ``scipy.stats`` alone takes about 0.8 s on a small
machine, and the summary must answer in under a second. The tests check each one
against its reference implementation (``scipy.stats.theilslopes``,
``pymannkendall.hamed_rao_modification_test``, ``statsmodels`` OLS with
``cov_type='HAC'``). Functions outside the summary (phase comparison, variability) call
scipy / statsmodels directly, imported inside the function.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from statistics import NormalDist

import numpy as np
import pandas as pd

from . import metrics
from .errors import FieldError

CONFIDENCE = 0.95
MIN_WEEKS = 6
"""Weekly means needed for a trend."""
MAX_WEEKS = 26
"""The trend looks at the last 26 weeks at most (recent change; and keeps it fast)."""
MK_LAGS = 3
"""Autocorrelation lags the trend test corrects for (the first 3, as Hamed & Rao 1998
proposed): with a few dozen weeks, spurious high lags would otherwise shrink the variance
and make noise look like a trend."""
MIN_PAIRS = 28
"""Pairs of consecutive logged days needed for a lagged model."""
MIN_PHASE_DAYS = 7
MINIMAL_PERCENT = 10.0
MODERATE_PERCENT = 30.0
SUBSTANTIAL_PERCENT = 50.0
IMPORTANT_POINTS = 2.0
PERCENT_MIN_BASELINE = 4.0
"""Below this baseline (points) a percentage change is not classed (trials enrolled ≥ 4)."""
DETECTABLE_POINTS = 3.6
"""Smallest detectable change of a back-pain NRS rating (Parai et al. 2020)."""
_EPS = 1e-9

CLASSES = ("none", "minimal", "moderate-important", "substantial")
CLASS_WORDS = {
    "none": "not a clinically meaningful change",
    "minimal": "a minimally important improvement (IMMPACT: at least 10%)",
    "moderate-important": "a clinically important improvement (at least 30% or 2 points)",
    "substantial": "a substantial improvement (at least 50%)",
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


def finite_or_none(value: float | None) -> float | None:
    """``value`` as a float, or None when it is None, NaN or infinite."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


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


def _t(df: float, confidence: float = CONFIDENCE) -> float:
    from scipy.special import stdtrit  # light (no scipy.stats)

    return float(stdtrit(df, 0.5 + confidence / 2))


# ----------------------------------------------------------------------------- change


@dataclass(frozen=True)
class Change:
    """Change from baseline to the latest 7-day mean (points on the 0-10 NRS).

    ``estimate`` = baseline − latest (positive = less pain) with a Welch 95% interval
    that treats days as independent (they are not: read it as too narrow); ``percent`` of
    baseline; ``clinical_class`` one of none / minimal / moderate-important /
    substantial (IMMPACT, Ostelo 2008), None when not computable.
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

    @property
    def ok(self) -> bool:
        return self.estimate is not None


def classify_change(baseline: float, latest: float) -> tuple[str, float, float | None]:
    """(class, points, percent) for pain going from ``baseline`` to ``latest`` (points).

    points = baseline − latest (positive = improvement); percent = points / baseline × 100
    (None when baseline is 0). Classes (IMMPACT, Dworkin 2008; Ostelo 2008): substantial
    ≥ 50%; moderate-important ≥ 30% or ≥ 2 points; minimal ≥ 10%; else none. When
    baseline < 4 the percentage classes are not used: only ≥ 2 points counts. Worsening
    is class none (its size is in ``points``).
    """
    for name, value in (("baseline", baseline), ("latest", latest)):
        if not isinstance(value, int | float) or not 0 <= value <= 10:
            raise FieldError(name, "a pain level 0-10 (points)", value)
    points = float(baseline) - float(latest)
    percent = 100.0 * points / baseline if baseline > 0 else None
    use_percent = percent is not None and baseline >= PERCENT_MIN_BASELINE - _EPS
    if points <= 0:
        return "none", points, percent
    if use_percent and percent >= SUBSTANTIAL_PERCENT - _EPS:
        return "substantial", points, percent
    if points >= IMPORTANT_POINTS - _EPS or (use_percent and percent >= MODERATE_PERCENT - _EPS):
        return "moderate-important", points, percent
    if use_percent and percent >= MINIMAL_PERCENT - _EPS:
        return "minimal", points, percent
    return "none", points, percent


def _welch(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Mean of a − mean of b with a Welch 95% interval."""
    diff = float(a.mean() - b.mean())
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    if se == 0:
        return diff, diff, diff
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = _t(df) * se
    return diff, diff - half, diff + half


def change_vs_baseline(
    daily: pd.DataFrame,
    *,
    baseline_start: date | str | None = None,
    baseline_end: date | str | None = None,
    end: date | str | None = None,
) -> Change:
    """Baseline (first 7 rated days, or a chosen period) vs the 7 days ending ``end``
    (default: the last logged day), with its clinical class."""
    base = metrics.baseline(daily, baseline_start, baseline_end)
    latest = metrics.latest_pain_mean(daily, end)
    reasons = tuple(r for r in (base.reason, latest.reason) if r)

    def not_yet(reasons: tuple[str, ...]) -> Change:
        sentence = "Change from baseline cannot be computed yet: " + "; ".join(reasons) + "."
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
        )

    if base.value is None or latest.value is None:
        return not_yet(reasons)
    if base.end is not None and latest.start is not None and latest.start <= base.end:
        return not_yet(
            (
                "the latest 7 days overlap the baseline days; change needs days logged after "
                f"{base.end.date()}",
            )
        )
    klass, points, percent = classify_change(base.value, latest.value)
    base_days = metrics.rated_pain(daily, base.start, base.end).to_numpy()
    if baseline_start is None and baseline_end is None:
        base_days = base_days[: metrics.BASELINE_DAYS]
    latest_days = metrics.rated_pain(daily, latest.start, latest.end).to_numpy()
    _, low, high = _welch(base_days, latest_days)
    notes = []
    if base.value < PERCENT_MIN_BASELINE:
        notes.append(
            f"baseline {_fmt(base.value)} is below 4: the percentage change is shown but not "
            "classed (percentages are unreliable at low pain)"
        )
    if abs(points) < DETECTABLE_POINTS:
        notes.append(
            f"a change of {_fmt(abs(points))} points is below the 3.6 points a single rating "
            "can reliably detect; 7-day means are steadier, but read it with care"
        )
    direction = "lower" if points > 0 else ("higher" if points < 0 else "the same")
    percent_text = f" ({_fmt(abs(percent))}%)" if percent is not None and points else ""
    sentence = (
        f"Your pain over the 7 days to {latest.end.date()} averaged {_fmt(latest.value)}, "
        f"{_fmt(abs(points))} points{percent_text} {direction} than your baseline of "
        f"{_fmt(base.value)} (95% CI {_fmt(low)} to {_fmt(high)} points, days treated as "
        f"independent): {CLASS_WORDS[klass] if points >= 0 else 'worse, not an improvement'}. "
        f"{ONE_PERSON}"
    )
    if direction == "the same":
        sentence = sentence.replace(" points the same than", " points from")
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
    )


# ----------------------------------------------------------------------------- trend


def theil_sen(x: np.ndarray, y: np.ndarray, confidence: float = CONFIDENCE) -> tuple:
    """Theil–Sen slope (median of pairwise slopes) and Sen's (1968, eq. 2.6) interval,
    as ``(slope, low, high)``. Same definition as ``scipy.stats.theilslopes``."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    dx = x[:, None] - x
    dy = y[:, None] - y
    slopes = np.sort(dy[dx > 0] / dx[dx > 0])
    if slopes.size == 0:
        return math.nan, math.nan, math.nan
    slope = float(np.median(slopes))
    n = len(y)

    def ties(values: np.ndarray) -> float:
        _, counts = np.unique(values, return_counts=True)
        counts = counts[counts > 1].astype(float)
        return float(np.sum(counts * (counts - 1) * (2 * counts + 5)))

    sigma = math.sqrt((n * (n - 1) * (2 * n + 5) - ties(x) - ties(y)) / 18.0)
    z = normal_quantile(confidence)
    upper = min(int(np.round((slopes.size + z * sigma) / 2.0)), slopes.size - 1)
    lower = max(int(np.round((slopes.size - z * sigma) / 2.0)) - 1, 0)
    return slope, float(slopes[lower]), float(slopes[upper])


@dataclass(frozen=True)
class MannKendall:
    """Mann–Kendall trend test with Hamed & Rao's (1998) variance correction for
    autocorrelation: score ``s``, corrected variance ``var_s``, ``z``, two-sided ``p``,
    ``trend`` (increasing / decreasing / no trend at the 5% level), ``n``."""

    s: float
    var_s: float
    z: float
    p: float
    trend: str
    n: int


def _rank(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties get their average rank."""
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    ranks = np.empty(len(values))
    start = 0
    for end in range(1, len(values) + 1):
        if end == len(values) or sorted_values[end] != sorted_values[start]:
            ranks[order[start:end]] = (start + end + 1) / 2.0
            start = end
    return ranks


def mann_kendall_hamed_rao(
    values: np.ndarray, alpha: float = 0.05, lags: int | None = None
) -> MannKendall:
    """Mann–Kendall test on an equally spaced series (NaN skipped), its variance corrected
    by the significant autocorrelations (lags 1..``lags``, default all) of the ranks of the
    Sen-detrended series (Hamed & Rao 1998; same definition as
    ``pymannkendall.hamed_rao_modification_test(values, alpha, lag=lags)``)."""
    raw = np.asarray(values, dtype=float)
    x = raw[~np.isnan(raw)]
    n = len(x)
    if n < 3:
        raise FieldError("values", "at least 3 values", n)
    diff = np.sign(x[None, :] - x[:, None])
    s = float(np.sum(np.triu(diff, 1)))
    _, counts = np.unique(x, return_counts=True)
    counts = counts.astype(float)
    var_s = (n * (n - 1) * (2 * n + 5) - np.sum(counts * (counts - 1) * (2 * counts + 5))) / 18
    # Sen slope on the original positions (pymannkendall detrends with this slope)
    index = np.arange(len(raw), dtype=float)
    keep = ~np.isnan(raw)
    ii, vv = index[keep], raw[keep]
    d_index = ii[None, :] - ii[:, None]
    slopes = (vv[None, :] - vv[:, None])[d_index > 0] / d_index[d_index > 0]
    slope = float(np.median(slopes))
    ranks = _rank(x - np.arange(1, n + 1) * slope)
    centred = ranks - ranks.mean()
    acov = np.correlate(centred, centred, "full")[n - 1 :] / n
    acf = acov / acov[0]
    bound = NormalDist().inv_cdf(1 - alpha / 2) / math.sqrt(n)
    last = n - 1 if lags is None else min(lags, n - 1)
    lag = np.arange(1, last + 1)
    significant = np.abs(acf[1 : last + 1]) > bound
    terms = (n - lag) * (n - lag - 1) * (n - lag - 2) * acf[1 : last + 1]
    correction = 1 + 2 / (n * (n - 1) * (n - 2)) * float(np.sum(terms[significant]))
    var_s *= correction
    if not var_s > 0:  # the correction can fail on degenerate series (as in pymannkendall)
        z = math.nan
    elif s > 0:
        z = (s - 1) / math.sqrt(var_s)
    elif s < 0:
        z = (s + 1) / math.sqrt(var_s)
    else:
        z = 0.0
    p = 2 * (1 - NormalDist().cdf(abs(z))) if math.isfinite(z) else math.nan
    significant_trend = abs(z) > NormalDist().inv_cdf(1 - alpha / 2)
    trend = ("increasing" if z > 0 else "decreasing") if significant_trend else "no trend"
    return MannKendall(s, float(var_s), float(z), float(p), trend, n)


@dataclass(frozen=True)
class Trend(Estimate):
    """Theil–Sen slope of weekly mean pain, points per week, with Sen's 95% interval and
    the Hamed–Rao Mann–Kendall test (``p_value``, ``direction``) on the same weeks."""

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


def trend(daily: pd.DataFrame, *, max_weeks: int = MAX_WEEKS, min_weeks: int = MIN_WEEKS) -> Trend:
    """Trend of pain, points per week (negative = falling): Theil–Sen slope over weekly
    means (weeks with ≥ 4 rated days, the last ``max_weeks`` weeks), 95% interval, and an
    autocorrelation-corrected Mann–Kendall test."""
    means = weekly_means_for_trend(daily, max_weeks)
    unit = "points per week"
    if len(means) < min_weeks:
        return Trend(
            **_too_little(
                "trend", unit, min_weeks, len(means), "weeks with at least 4 rated days"
            ).__dict__
        )
    weeks = ((means.index - means.index[0]).days // 7).to_numpy(dtype=float)
    slope, low, high = theil_sen(weeks, means.to_numpy())
    # Mann–Kendall on the weekly grid; weeks with too few ratings are gaps (skipped)
    grid = np.full(int(weeks[-1]) + 1, np.nan)
    grid[weeks.astype(int)] = means.to_numpy()
    test = mann_kendall_hamed_rao(grid, lags=MK_LAGS)
    mk = f"p = {test.p:.2g}" if math.isfinite(test.p) else "not computable"
    span = f"the {len(means)} weeks from {means.index[0].date() - pd.Timedelta(days=6)}"
    if low is not None and high is not None and low > 0:
        words = "rose"
    elif high is not None and high < 0:
        words = "fell"
    else:
        words = "did not clearly change"
    size = (
        f" by {_fmt(abs(slope), 2)} points per week" if words != "did not clearly change" else ""
    )
    sentence = (
        f"Over {span} to {means.index[-1].date()}, your weekly pain {words}{size} (slope "
        f"{_fmt(slope, 2)}, 95% CI {_fmt(low, 2)} to {_fmt(high, 2)}; Mann–Kendall corrected "
        f"for autocorrelation {mk}). The interval assumes independent weeks. "
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
        test.p,
        direction=test.trend,
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
        half = _t(self.df_resid) * math.sqrt(self.cov[j, j])
        return float(self.params[j] - half), float(self.params[j] + half)

    def p_value(self, j: int) -> float:
        from scipy.special import stdtr

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


def _lag_arrays(daily: pd.DataFrame, columns: tuple[str, ...]) -> dict[str, np.ndarray]:
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
    arrays: dict[str, np.ndarray] = {"index": daily.index[both]}
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


def _fit_arrays(
    outcome: np.ndarray, own_lag: np.ndarray, predictor: np.ndarray
) -> tuple[Regression | None, int]:
    """OLS outcome ~ 1 + own_lag + predictor with HAC errors, on rows with all three;
    None when fewer than MIN_PAIRS rows or a regressor does not vary."""
    usable = ~(np.isnan(outcome) | np.isnan(own_lag) | np.isnan(predictor))
    n = int(usable.sum())
    y, own, pred = outcome[usable], own_lag[usable], predictor[usable]
    if n < MIN_PAIRS or np.ptp(pred) == 0 or np.ptp(own) == 0:
        return None, n
    return ols_hac(y, np.column_stack([np.ones(n), own, pred])), n


def _fit_link(
    rows: pd.DataFrame, outcome: str, own_lag: str, predictor: str
) -> tuple[Regression | None, int]:
    return _fit_arrays(*(rows[c].to_numpy(dtype=float) for c in (outcome, own_lag, predictor)))


LINK_COLUMNS = ("pain", "credit", "day")
"""What :func:`lagged_link` and :func:`reverse_link` read of each pair of days."""


def link_pairs(daily: pd.DataFrame) -> dict[str, np.ndarray]:
    """The pairs of consecutive logged days both links are fitted on (computed once
    when both are wanted: ``lagged_link(daily, pairs)``, ``reverse_link(daily, pairs)``)."""
    return _lag_arrays(daily, LINK_COLUMNS)


def lagged_link(daily: pd.DataFrame, pairs: dict[str, np.ndarray] | None = None) -> Estimate:
    """Change in next-day pain (points) per full routine day yesterday:
    pain_t ~ pain_{t−1} + credit_{t−1}, OLS with Newey–West errors. ``pairs``: from
    :func:`link_pairs` of the same ``daily``, if already computed."""
    unit = "points of next-day pain per full routine day"
    pairs = link_pairs(daily) if pairs is None else pairs
    fit, n = _fit_arrays(pairs["pain"], pairs["pain_prev"], pairs["credit_prev"])
    if fit is None:
        return _no_fit(
            "lag1_adherence_effect", unit, n, "pairs of consecutive days with pain rated"
        )
    estimate = float(fit.params[2])
    low, high = fit.interval(2)
    sentence = (
        f"On days after a full routine, your pain was {_fmt(abs(estimate), 2)} points "
        f"{'lower' if estimate < 0 else 'higher'} than after a day with nothing done, "
        f"allowing for the day before (95% CI {_fmt(low, 2)} to {_fmt(high, 2)}, {n} pairs "
        f"of days){_verdict(low, high)}. Pain can also drive what you do (see the reverse "
        f"link), and other things change over time. {ONE_PERSON}"
    )
    return Estimate(
        "lag1_adherence_effect", estimate, low, high, n, unit, sentence, fit.p_value(2)
    )


def reverse_link(daily: pd.DataFrame, pairs: dict[str, np.ndarray] | None = None) -> Estimate:
    """Change in next-day dose credit (fraction 0-1) per point of pain yesterday, on
    routine days: credit_t ~ credit_{t−1} + pain_{t−1} (does pain drive skipping?).
    ``pairs``: from :func:`link_pairs` of the same ``daily``, if already computed."""
    unit = "dose credit (0-1) per point of pain the day before"
    pairs = link_pairs(daily) if pairs is None else pairs
    routine_day = pairs["day"] == "routine"
    fit, n = _fit_arrays(*(pairs[c][routine_day] for c in ("credit", "credit_prev", "pain_prev")))
    if fit is None:
        return _no_fit(
            "lag1_pain_on_adherence", unit, n, "pairs of days (routine day after a rated day)"
        )
    estimate = float(fit.params[2])
    low, high = fit.interval(2)
    size = _fmt(abs(estimate) * 100, 0)
    change = (
        "about the same share of the routine done the next day"
        if size == "0"
        else f"{size} percentage points {'less' if estimate < 0 else 'more'} of the routine "
        "done the next day"
    )
    sentence = (
        f"Each extra point of pain was followed by {change} "
        f"(95% CI {_fmt(low * 100, 0)} to {_fmt(high * 100, 0)} percentage points, {n} "
        "pairs of days)"
        f"{_verdict(low, high)}. If pain drives skipping, the link from exercise to pain "
        f"is harder to read. {ONE_PERSON}"
    )
    return Estimate(
        "lag1_pain_on_adherence", estimate, low, high, n, unit, sentence, fit.p_value(2)
    )


def _verdict(low: float, high: float) -> str:
    if low > 0 or high < 0:
        return ""
    return "; the interval includes no link at all"


def _no_fit(name: str, unit: str, n: int, what: str) -> Estimate:
    if n >= MIN_PAIRS:
        sentence = (
            f"Not computable: the {n} pairs of days show no variation in what is compared "
            "(e.g. the same routine every day)."
        )
        return Estimate(name, None, None, None, n, unit, sentence, needs=MIN_PAIRS)
    return _too_little(name, unit, MIN_PAIRS, n, what)


@dataclass(frozen=True)
class ExerciseLinks:
    """Per-exercise lagged links: ``table`` (one row per exercise: ``estimate``,
    ``low``, ``high`` in points of next-day pain when the exercise was done yesterday,
    ``n``, ``p_value``, ``p_holm``) and the multiple-comparisons ``warning``."""

    table: pd.DataFrame
    warning: str


def exercise_links(daily: pd.DataFrame) -> ExerciseLinks:
    """For each exercise: pain_t ~ pain_{t−1} + done_{t−1} (done = any of it yesterday),
    OLS with Newey–West errors, Holm-adjusted p-values."""
    rows = lag_frame(daily, exercises=True)
    records = []
    for exercise_id in metrics.exercise_ids(daily):
        fit, n = _fit_link(rows, "pain", "pain_prev", "done_prev_" + exercise_id)
        if fit is None:
            records.append((exercise_id, np.nan, np.nan, np.nan, n, np.nan))
            continue
        low, high = fit.interval(2)
        records.append((exercise_id, float(fit.params[2]), low, high, n, fit.p_value(2)))
    table = pd.DataFrame.from_records(
        records, columns=["exercise", "estimate", "low", "high", "n", "p_value"]
    ).set_index("exercise")
    table["p_holm"] = holm(table["p_value"].to_numpy())
    k = int(table["p_value"].notna().sum())
    chance = 1 - (1 - (1 - CONFIDENCE)) ** k if k else 0.0
    warning = (
        f"{k} exercises are compared at once: even with no real link, the chance that at "
        f"least one looks linked at the 5% level is {chance:.0%}. Use the Holm-adjusted "
        "p-values (p_holm), and remember that exercises done together cannot be told apart. "
        f"{ONE_PERSON}"
    )
    if k == 0:
        warning = f"Not enough data: needs {MIN_PAIRS} pairs of days and some variation."
    return ExerciseLinks(table, warning)


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
    ``difference`` (mean after − mean before, points, Welch interval)."""

    nap: Estimate
    difference: Estimate
    sentence: str


def phase_comparison(daily: pd.DataFrame, start: date | str) -> PhaseComparison:
    """Compare rated pain before ``start`` with ``start`` and after (A-B design)."""
    from scipy.stats import mannwhitneyu, ttest_ind

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
    test = ttest_ind(after, before, equal_var=False)
    ci = test.confidence_interval(CONFIDENCE)
    diff_value = float(after.mean() - before.mean())
    difference = Estimate(
        "difference",
        diff_value,
        float(ci.low),
        float(ci.high),
        n1 + n2,
        "points",
        f"Mean pain from {cut.date()} on was {_fmt(abs(diff_value))} points "
        f"{'lower' if diff_value < 0 else 'higher'} than before (95% CI {_fmt(ci.low)} to "
        f"{_fmt(ci.high)}).",
    )
    sentence = (
        f"{nap.sentence} {difference.sentence} Days are autocorrelated, so both intervals "
        "are too narrow, and a before/after comparison cannot separate the exercises from "
        f"anything else that changed at the same time. {ONE_PERSON}"
    )
    return PhaseComparison(nap, difference, sentence)


# ----------------------------------------------------------------------------- variability


def variability(daily: pd.DataFrame, days: int = 28) -> pd.DataFrame:
    """Tidy table over the last ``days`` calendar days: ``sd`` (points), ``mssd`` (mean
    squared successive difference of consecutive rated days, points²) and
    ``lag1_autocorrelation`` (statsmodels ``acf``, unlogged days skipped), each with n."""
    from statsmodels.tsa.stattools import acf

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
    "MannKendall",
    "PhaseComparison",
    "Regression",
    "Trend",
    "change_vs_baseline",
    "classify_change",
    "exercise_links",
    "finite_or_none",
    "holm",
    "lag_frame",
    "lagged_link",
    "link_pairs",
    "mann_kendall_hamed_rao",
    "newey_west_lags",
    "normal_quantile",
    "ols_hac",
    "phase_comparison",
    "reverse_link",
    "theil_sen",
    "trend",
    "variability",
    "weekly_means_for_trend",
]
