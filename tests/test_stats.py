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
    ("baseline", "latest", "expected"),
    [
        (8.0, 6.0, "moderate-important"),  # exactly 2.0 points (25%)
        (8.0, 6.01, "minimal"),  # 1.99 points, 24.9%
        (5.0, 3.5, "moderate-important"),  # exactly 30% (1.5 points)
        (5.0, 3.55, "minimal"),  # 29%
        (6.0, 3.0, "substantial"),  # exactly 50%
        (6.0, 3.05, "moderate-important"),  # 49.2% (2.95 points)
        (5.0, 4.5, "minimal"),  # exactly 10%
        (5.0, 4.55, "none"),  # 9%
        (4.0, 2.0, "substantial"),  # baseline 4.0: percentages count (50%)
        (3.9, 1.95, "none"),  # baseline 3.9: 50% is not classed, 1.95 points < 2
        (3.9, 1.9, "moderate-important"),  # baseline 3.9: 2.0 points still count
        (4.0, 3.6, "minimal"),  # baseline 4.0: 10%
        (3.9, 3.5, "none"),  # baseline 3.9: 10.3% not classed
        (5.0, 7.0, "none"),  # worse
        (0.0, 0.0, "none"),
    ],
)
def test_clinical_class_boundaries(baseline, latest, expected):
    klass, points, percent = stats.classify_change(baseline, latest)
    assert klass == expected
    assert points == pytest.approx(baseline - latest)
    if baseline:
        assert percent == pytest.approx(100 * (baseline - latest) / baseline)
    else:
        assert percent is None


def test_clinical_class_rejects_values_off_the_scale():
    with pytest.raises(FieldError, match="baseline"):
        stats.classify_change(11, 3)


def test_change_vs_baseline_by_hand():
    daily = pain_daily([7, 6, 6, 5, 6, 6, 6] + [5] * 7 + [4, 4, 3, 4, 4, None, 4])
    change = stats.change_vs_baseline(daily)
    assert change.baseline == pytest.approx(6.0)
    assert change.latest == pytest.approx(23 / 6)  # 6 rated days in the last 7
    assert change.estimate == pytest.approx(6 - 23 / 6)
    assert change.percent == pytest.approx(100 * (6 - 23 / 6) / 6)
    assert change.clinical_class == "moderate-important"  # 2.17 points, 36%
    welch = scipy.stats.ttest_ind([7, 6, 6, 5, 6, 6, 6], [4, 4, 3, 4, 4, 4], equal_var=False)
    ci = welch.confidence_interval(0.95)
    assert (change.low, change.high) == pytest.approx((ci.low, ci.high))
    assert "does not prove" in change.sentence


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
    )[both]


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


def test_exercise_links_carry_a_multiple_comparisons_warning_and_holm():
    daily = demo_daily(240, 3)
    links = stats.exercise_links(daily)
    assert list(links.table.index) == list(ROUTINE.ids)
    assert "5 exercises" in links.warning and "23%" in links.warning
    valid = links.table["p_value"].notna()
    expected = multipletests(links.table["p_value"][valid], method="holm")[1]
    assert links.table["p_holm"][valid].to_numpy() == pytest.approx(expected)
    pairs = _pairs_by_hand(daily)
    pairs["done"] = (daily.shift(1)["credit_hip_stretch"] > 0).astype(float)[pairs.index]
    fit, n = _statsmodels_fit(pairs, "pain", ["pain_prev", "done"])
    row = links.table.loc["hip_stretch"]
    assert row["n"] == n
    assert row["estimate"] == pytest.approx(fit.params["done"])


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
    diff = np.mean(after) - np.mean(before)
    va, vb = np.var(after, ddof=1) / len(after), np.var(before, ddof=1) / len(before)
    df = (va + vb) ** 2 / (va**2 / (len(after) - 1) + vb**2 / (len(before) - 1))
    half = scipy.stats.t.ppf(0.975, df) * math.sqrt(va + vb)
    assert result.difference.estimate == pytest.approx(diff)
    assert (result.difference.low, result.difference.high) == pytest.approx(
        (diff - half, diff + half)
    )
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
