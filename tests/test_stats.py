"""Statistics: clinical-class boundaries by hand; Theil–Sen, Mann–Kendall (Hamed–Rao) and
the HAC regressions against scipy / pymannkendall / statsmodels; a planted effect found."""

from __future__ import annotations

import itertools
import math
from datetime import date, datetime, time, timedelta, timezone

import numpy as np
import pandas as pd
import pymannkendall
import pytest
import scipy.stats
import statsmodels.api as sm
from statsmodels.stats.multitest import multipletests

from backtrack import _simulate as simulate
from backtrack import metrics, stats
from backtrack.demo import demo_log, generate, to_csv_text
from backtrack.errors import FieldError
from backtrack.routine import default_routine
from backtrack.schema import Entry
from backtrack.store import parse_log_text

ROUTINE = default_routine()
END = date(2026, 10, 31)
TZ = timezone(timedelta(hours=1))


def demo_daily(days: int = 200, seed: int = 1, **kwargs) -> pd.DataFrame:
    if kwargs:
        text = to_csv_text(generate(days, seed, end=END, **kwargs))
        entries = parse_log_text(text, "<test>").entries
    else:
        entries = demo_log(days, seed, end=END).entries
    return metrics.daily_series(entries, ROUTINE)


def pain_daily(pains: list[float | None], start: date = date(2026, 1, 5)) -> pd.DataFrame:
    rows = [
        Entry(
            datetime.combine(start + timedelta(days=i), time(20), TZ), start + timedelta(days=i), p
        )
        for i, p in enumerate(pains)
        if p is not None
    ]
    return metrics.daily_series(parse_log_text(to_csv_text(rows), "<t>").entries, ROUTINE)


# ----------------------------------------------------------------------------- change


@pytest.mark.parametrize(
    ("baseline", "latest", "low", "high", "expected"),
    [
        (8.0, 6.0, 0.5, 3.5, "important"),  # exactly 2.0 points (25%)
        (8.0, 6.01, 0.5, 3.5, "small"),  # 1.99 points, 24.9%: below important
        (5.0, 3.5, 0.2, 2.8, "important"),  # exactly 30% (1.5 points)
        (5.0, 3.55, 0.2, 2.8, "small"),  # 29%
        (6.0, 3.0, 0.5, 5.5, "substantial"),  # exactly 50%
        (6.0, 3.05, 0.5, 5.5, "important"),  # 49.2% (2.95 points)
        (5.0, 4.5, 0.1, 0.9, "small"),  # 10%: never important (IMMPACT's band is not LBP)
        (4.0, 2.0, 0.5, 3.5, "substantial"),  # baseline 4.0: percentages count (50%)
        (3.9, 1.95, 0.5, 3.4, "small"),  # baseline 3.9: 50% not used, 1.95 points < 2
        (3.9, 1.9, 0.5, 3.5, "important"),  # baseline 3.9: 2.0 points still count
        (8.0, 5.0, -0.5, 6.5, "unclear"),  # 3 points, but the interval includes 0
        (5.0, 4.5, -0.5, 1.5, "none"),  # small and within noise
        (5.0, 7.0, -3.5, -0.5, "worse"),  # interval wholly on the side of more pain
        (5.0, 7.0, -3.5, 0.5, "unclear"),  # 2 points worse, within noise
        (5.0, 5.5, -1.5, 0.5, "none"),
        (0.0, 0.0, None, None, "none"),
    ],
)
def test_clinical_class_boundaries(baseline, latest, low, high, expected):
    klass, points, percent = stats.classify_change(baseline, latest, low, high)
    assert klass == expected
    assert klass in stats.CLASSES
    assert points == pytest.approx(baseline - latest)
    if baseline:
        assert percent == pytest.approx(100 * (baseline - latest) / baseline)
    else:
        assert percent is None


def test_clinical_class_rejects_values_off_the_scale():
    with pytest.raises(FieldError, match="baseline"):
        stats.classify_change(11, 3)


def test_change_interval_by_hand_under_the_ar1_noise():
    """The interval is the contrast's AR(1) variance, written out with scipy and a
    least-squares line from numpy.polyfit."""
    rng = np.random.default_rng(3)
    pains = [int(np.clip(round(6 + e), 0, 10)) for e in rng.normal(0, 1.3, 40)]
    pains[20] = None
    daily = pain_daily(pains)
    change = stats.change_vs_baseline(daily)
    pain = daily["pain"].to_numpy()
    rated = np.flatnonzero(~np.isnan(pain))
    slope, intercept = np.polyfit(rated, pain[rated], 1)
    resid = np.full(len(pain), np.nan)
    resid[rated] = pain[rated] - (intercept + slope * rated)
    n = len(rated)
    ss = np.nansum(resid**2)
    both = ~np.isnan(resid[1:]) & ~np.isnan(resid[:-1])
    raw = np.sum((resid[1:] * resid[:-1])[both]) / (both.sum() * ss / n)
    rho = min(max(raw + (2 + 5.5 * raw) / n, 0), 0.98)
    sd = math.sqrt(ss / (n - 2))
    base, late = rated[:7], rated[rated >= len(pain) - 7]
    pos = np.r_[base, late]
    w = np.r_[np.full(7, 1 / 7), np.full(len(late), -1 / len(late))]
    se = sd * math.sqrt(w @ (rho ** np.abs(pos[:, None] - pos[None, :])) @ w)
    t = scipy.stats.t.ppf(0.975, max(n * (1 - rho) / (1 + rho) - 2, 2))
    points = pain[base].mean() - pain[late].mean()
    assert change.estimate == pytest.approx(points)
    assert (change.low, change.high) == pytest.approx((points - t * se, points + t * se))
    assert change.clinical_class in stats.CLASSES
    assert "does not prove" in change.sentence


def test_change_on_constant_pain_is_none_not_a_crash():
    change = stats.change_vs_baseline(pain_daily([5] * 30))
    assert change.estimate == 0 and change.clinical_class == "none"


def test_change_needs_a_baseline_and_separate_latest_days():
    short = stats.change_vs_baseline(pain_daily([6, 6, 5]))
    assert short.estimate is None and short.clinical_class is None
    assert "needs 7 rated days, has 3" in short.sentence
    overlap = stats.change_vs_baseline(pain_daily([6] * 10))
    assert overlap.estimate is None and "overlap" in overlap.sentence


# ----------------------------------------------------------------------------- Theil–Sen


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_theil_sen_matches_scipy_on_demo_data(seed):
    daily = demo_daily(200, seed)
    weekly = stats.weekly_means_for_trend(daily, max_weeks=52)
    x = ((weekly.index - weekly.index[0]).days // 7).to_numpy(dtype=float)
    ours = stats.theil_sen(x, weekly.to_numpy())
    ref = scipy.stats.theilslopes(weekly.to_numpy(), x, alpha=0.95)
    assert ours == pytest.approx((ref.slope, ref.low_slope, ref.high_slope))
    # integer daily ratings (many ties), with gaps in x
    rated = daily["pain"].dropna().iloc[:90]
    days = ((rated.index - rated.index[0]).days).to_numpy(dtype=float)
    ours = stats.theil_sen(days, rated.to_numpy())
    ref = scipy.stats.theilslopes(rated.to_numpy(), days, alpha=0.95)
    assert ours == pytest.approx((ref.slope, ref.low_slope, ref.high_slope))


def test_trend_is_in_points_per_week_and_finds_a_planted_slope():
    # falls 0.5 points a week (one point every 14 days), plus rating noise (SD 1 point)
    rng = np.random.default_rng(7)
    pains = [int(np.clip(round(8 - i / 14 + rng.normal(0, 1)), 0, 10)) for i in range(84)]
    result = stats.trend(pain_daily(pains))
    assert result.low <= -0.5 <= result.high
    assert result.estimate == pytest.approx(-0.5, abs=0.1)
    assert result.high < 0
    assert result.direction == "decreasing"
    assert result.unit == "points per week" and result.n == 12
    assert "fell" in result.sentence


def test_mann_kendall_on_a_degenerate_series_is_not_computable_like_pymannkendall():
    weekly = [7.86, 8.0, 7.14, 6.86, 6.0, 6.14, 4.86, 5.0, 4.14, 3.86, 3.0, 3.14]
    ours = stats.mann_kendall_hamed_rao(weekly, lags=3)
    with pytest.warns(RuntimeWarning):
        ref = pymannkendall.hamed_rao_modification_test(weekly, lag=3)
    assert math.isnan(ref.z) and math.isnan(ours.z) and math.isnan(ours.p)
    assert ours.trend == ref.trend == "no trend"


def test_trend_with_too_few_weeks_says_what_it_needs():
    result = stats.trend(pain_daily([5] * 20))
    assert result.estimate is None and result.low is None
    assert result.sentence.startswith("Not enough data: needs 6 weeks")
    assert "has 3" in result.sentence


# ----------------------------------------------------------------------------- Mann–Kendall


def test_mann_kendall_small_case_by_hand():
    # S = 5 concordant - 1 discordant = 4; Var(S) = 4·3·13/18; no lag of the detrended
    # ranks (2, 4, 1, 3) is beyond ±1.96/√4, so no correction; z = (S−1)/√Var(S)
    result = stats.mann_kendall_hamed_rao([1.0, 3.0, 2.0, 4.0])
    assert stats.mann_kendall_hamed_rao([1.0, 3.0, 2.0, 4.0], lags=3) == result
    var_s = 4 * 3 * 13 / 18
    z = 3 / math.sqrt(var_s)
    assert result.s == 4
    assert result.var_s == pytest.approx(var_s)
    assert result.z == pytest.approx(z)
    assert result.p == pytest.approx(2 * (1 - scipy.stats.norm.cdf(z)))
    assert result.trend == "no trend"


@pytest.mark.parametrize("lags", [None, 3])
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_mann_kendall_matches_pymannkendall_on_demo_data(seed, lags):
    daily = demo_daily(150, seed)
    corrected = 0
    for values in (daily["pain"].to_numpy()[:120], metrics.weekly_pain(daily)["mean"].to_numpy()):
        ours = stats.mann_kendall_hamed_rao(values, lags=lags)
        ref = pymannkendall.hamed_rao_modification_test(values, lag=lags)
        assert ours.s == ref.s
        assert ours.var_s == pytest.approx(ref.var_s)
        assert ours.z == pytest.approx(ref.z)
        assert ours.p == pytest.approx(ref.p)
        assert ours.trend == ref.trend
        plain = pymannkendall.original_test(values)
        corrected += not math.isclose(ours.var_s, plain.var_s)
    assert corrected >= 1  # the autocorrelation correction is actually exercised


# ----------------------------------------------------------------------------- lagged links


def _pairs_by_hand(daily: pd.DataFrame) -> pd.DataFrame:
    """Consecutive-day pairs built independently of stats.lag_frame (daily has every
    calendar day, so shift(1) is yesterday)."""
    previous = daily.shift(1)
    both = daily["logged"] & previous["logged"].astype("boolean").fillna(False).astype(bool)
    return pd.DataFrame(
        {
            "pain": daily["pain"],
            "credit": daily["credit"],
            "routine": daily["day"] == "routine",
            "pain_prev": previous["pain"],
            "credit_prev": previous["credit"],
        }
    )[both & ~daily["flare"] & ~previous["flare"].astype("boolean").fillna(False).astype(bool)]


def _statsmodels_fit(frame: pd.DataFrame, y: str, x: list[str]):
    data = frame[[y, *x]].dropna()
    n = len(data)
    lags = int(math.floor(4 * (n / 100) ** (2 / 9)))
    model = sm.OLS(data[y], sm.add_constant(data[x]))
    fit = model.fit(cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True}, use_t=True)
    return fit, n


@pytest.mark.parametrize("seed", [1, 5])
def test_lagged_link_matches_statsmodels_ols_with_hac(seed):
    daily = demo_daily(240, seed)
    fit, n = _statsmodels_fit(_pairs_by_hand(daily), "pain", ["pain_prev", "credit_prev"])
    low, high = fit.conf_int(0.05).loc["credit_prev"]
    # alone, and with the pairs shared with the reverse link (as the summary does)
    for ours in (stats.lagged_link(daily), stats.lagged_link(daily, stats.link_pairs(daily))):
        assert ours.n == n
        assert ours.estimate == pytest.approx(fit.params["credit_prev"])
        assert (ours.low, ours.high) == pytest.approx((low, high))
        assert ours.p_value == pytest.approx(fit.pvalues["credit_prev"])


def test_reverse_link_matches_statsmodels_on_routine_days():
    daily = demo_daily(240, 2)
    pairs = _pairs_by_hand(daily)
    fit, n = _statsmodels_fit(pairs[pairs["routine"]], "credit", ["credit_prev", "pain_prev"])
    low, high = fit.conf_int(0.05).loc["pain_prev"]
    for ours in (stats.reverse_link(daily), stats.reverse_link(daily, stats.link_pairs(daily))):
        assert ours.n == n
        assert (ours.estimate, ours.low, ours.high) == pytest.approx(
            (fit.params["pain_prev"], low, high)
        )


def test_lagged_link_with_too_little_data_says_needs_and_has():
    result = stats.lagged_link(demo_daily(12, 1))
    assert result.estimate is None and result.needs == 28
    assert result.sentence.startswith("Not enough data: needs 28 pairs")
    assert f"has {result.n}" in result.sentence


def _lag_estimate(seed: int, effect: float) -> stats.Estimate:
    return stats.lagged_link(demo_daily(365, seed, lag_effect=effect))


def test_a_planted_lagged_effect_is_found():
    results = [_lag_estimate(seed, -0.8) for seed in range(10)]
    contains = sum(r.low <= -0.8 <= r.high for r in results)
    excludes_zero = sum(r.high < 0 for r in results)
    assert contains >= 8, [(r.low, r.high) for r in results]
    assert excludes_zero >= 8
    assert np.mean([r.estimate for r in results]) == pytest.approx(-0.8, abs=0.25)


def test_no_planted_effect_gives_intervals_containing_zero():
    results = [_lag_estimate(seed, 0.0) for seed in range(100, 110)]
    assert sum(r.low <= 0 <= r.high for r in results) >= 8, [(r.low, r.high) for r in results]


def test_exercise_links_are_fitted_jointly_with_holm():
    daily = demo_daily(240, 3)
    links = stats.exercise_links(daily)
    assert list(links.table.index) == list(ROUTINE.ids)
    pairs = _pairs_by_hand(daily)
    columns = []
    for e in ROUTINE.ids:
        pairs[e] = (daily.shift(1)["credit_" + e] > 0).astype(float)[pairs.index]
        columns.append(e)
    corr = np.corrcoef(pairs[columns].to_numpy(), rowvar=False)
    np.fill_diagonal(corr, 0)
    if np.abs(corr).max() > stats.TOGETHER:
        assert not links.separable and "cannot be told apart" in links.warning
        return
    assert links.separable and "5 exercises" in links.warning and "23%" in links.warning
    fit, n = _statsmodels_fit(pairs, "pain", ["pain_prev", *columns])
    valid = links.table["p_value"].notna()
    expected = multipletests(links.table["p_value"][valid], method="holm")[1]
    assert links.table["p_holm"][valid].to_numpy() == pytest.approx(expected)
    for e in columns:
        assert links.table.loc[e, "n"] == n
        assert links.table.loc[e, "estimate"] == pytest.approx(fit.params[e])


def test_exercises_done_together_cannot_be_told_apart():
    rng = np.random.default_rng(1)
    done = rng.random(80) < 0.7
    frame = simulate.daily_frame(
        np.clip(np.round(5 + rng.normal(0, 1, 80)), 0, 10), np.ones(80, dtype=bool)
    )
    for e in ("a", "b"):
        frame["credit_" + e] = done.astype(float)  # always done together
    links = stats.exercise_links(frame)
    assert not links.separable and "cannot be told apart" in links.warning
    assert links.table["estimate"].isna().all()


def test_degenerate_designs_say_not_computable():
    # identical full-routine pain 5, one day with pain 6 and nothing done: collinear
    frame = simulate.daily_frame(np.full(36, 5.0), np.ones(36, dtype=bool))
    frame.iloc[20, frame.columns.get_loc("pain")] = 6
    frame.iloc[20, frame.columns.get_loc("credit")] = 0
    result = stats.lagged_link(frame)
    assert result.estimate is None and result.sentence.startswith("Not computable: ")
    assert "moved together" in result.sentence


def test_weekly_link_matches_statsmodels_ols_and_reports_a_detectable_effect():
    daily = demo_daily(365, 4)
    frame = daily.copy()
    calm = ~frame["flare"]
    weekly = pd.DataFrame(
        {
            "pain": frame["pain"].where(calm),
            "credit": frame["credit"].where(calm & (frame["day"] == "routine") & frame["logged"]),
        }
    ).resample("W-SUN")
    table = weekly.mean()
    table["pain"] = table["pain"].where(weekly["pain"].count() >= 4)
    table["next_pain"] = table["pain"].shift(-1)
    data = table[["next_pain", "pain", "credit"]].dropna()
    n = len(data)
    fit = sm.OLS(data["next_pain"], sm.add_constant(data[["pain", "credit"]])).fit()
    result = stats.weekly_link(daily)
    assert result.n == n
    assert result.estimate == pytest.approx(fit.params["credit"])
    assert (result.low, result.high) == pytest.approx(tuple(fit.conf_int(0.05).loc["credit"]))
    assert result.mde == pytest.approx(2.8 * fit.bse["credit"])
    if result.low <= 0 <= result.high:
        assert "would usually be missed" in result.sentence
        assert "not evidence that there is none" in result.sentence


# ----------------------------------------------------------------------------- phases


def test_phase_comparison_nap_and_difference_by_hand():
    before = [7, 6, 7, 8, 6, 7, 7, 6]
    after = [5, 6, 4, 5, 7, 5, 4, 5, 6]
    daily = pain_daily(before + after)
    start = date(2026, 1, 5) + timedelta(days=len(before))
    result = stats.phase_comparison(daily, start)
    pairs = list(itertools.product(before, after))
    nap = sum((b > a) + 0.5 * (b == a) for b, a in pairs) / len(pairs)
    assert result.nap.estimate == pytest.approx(nap)
    assert result.nap.low <= nap <= result.nap.high
    diff = np.mean(before) - np.mean(after)  # + = less pain after, as the change
    assert result.difference.estimate == pytest.approx(diff)
    pain = daily["pain"].to_numpy()
    se, t, noise = stats.change_interval(pain, np.arange(8), np.arange(8, 17))
    assert noise.ok
    assert (result.difference.low, result.difference.high) == pytest.approx(
        (diff - t * se, diff + t * se)
    )
    assert "lower" in result.difference.sentence
    assert "cannot separate" in result.sentence


def test_phase_comparison_needs_days_in_both_phases():
    result = stats.phase_comparison(pain_daily([5] * 10), date(2026, 1, 10))
    assert result.nap.estimate is None
    assert "needs 7" in result.nap.sentence and "has 5" in result.nap.sentence


def test_variability_by_hand():
    pains = [4, 6, 5, None, 7, 5, 6, 4, 5, 6]
    table = stats.variability(pain_daily(pains))
    rated = [p for p in pains if p is not None]
    assert table.loc["sd", "estimate"] == pytest.approx(np.std(rated, ddof=1))
    steps = [2, -1, -2, 1, -2, 1, 1]  # consecutive rated days only (the gap is skipped)
    assert table.loc["mssd", "estimate"] == pytest.approx(np.mean(np.square(steps)))
    assert -1 <= table.loc["lag1_autocorrelation", "estimate"] <= 1


# ----------------------------------------------------------------------------- noise model


def test_daily_noise_recovers_a_planted_ar1():
    rng = np.random.default_rng(11)
    noise = simulate.ar1(5000, 0.6, 1.5, rng) + 4 + 0.001 * np.arange(5000)
    noise[rng.random(5000) < 0.1] = np.nan
    fit = stats.daily_noise(noise)
    assert fit.persistence == pytest.approx(0.6, abs=0.03)
    assert fit.sd == pytest.approx(1.5, rel=0.05)
    assert stats.daily_noise(np.full(10, 5.0)).reason.startswith("needs 14 rated days")


def test_mann_kendall_without_a_factor_matches_pymannkendall():
    rng = np.random.default_rng(2)
    values = np.round(rng.normal(5, 1, 26) + np.linspace(0, 1, 26))
    ours = stats.mann_kendall(values)
    ref = pymannkendall.original_test(values)
    assert (ours.s, ours.var_s, ours.z, ours.p) == pytest.approx((ref.s, ref.var_s, ref.z, ref.p))
    assert ours.trend == ref.trend
    inflated = stats.mann_kendall(values, 2.0)
    assert inflated.var_s == pytest.approx(2 * ref.var_s)


def test_trend_variance_factor_matches_a_monte_carlo_of_the_slope():
    """The factor's slope variance under AR(1) days, checked by drawing 20,000 series of
    182 days (some unrated) and fitting the slope through their weekly means."""
    rng = np.random.default_rng(5)
    days = 182
    rated = rng.random(days) > 0.1
    pain = np.where(rated, 5.0, np.nan)
    noise = stats.DailyNoise(1.5, 0.8, int(rated.sum()))
    factor = stats.trend_variance_factor(pain, noise)
    week = np.arange(days) // 7
    draws = np.empty((20000, days))
    draws[:, 0] = rng.normal(0, 1.5, 20000)
    shocks = rng.normal(0, 1.5 * math.sqrt(1 - 0.8**2), (20000, days))
    for t in range(1, days):
        draws[:, t] = 0.8 * draws[:, t - 1] + shocks[:, t]
    weekly = np.stack([draws[:, (week == w) & rated].mean(axis=1) for w in range(26)], axis=1)
    x = np.arange(26) - 12.5
    slopes = weekly @ x / (x @ x)
    independent = (weekly.var(axis=0) * x**2).sum() / (x @ x) ** 2
    assert factor == pytest.approx(slopes.var() / independent, rel=0.05)
    assert factor > 1.5  # persistence 0.8 does inflate it
