"""Statistics: clinical-class boundaries by hand; the trend's slope, interval and p by hand
(numpy, scipy); the HAC regressions against statsmodels; a planted effect found."""

from __future__ import annotations

import itertools
import math
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.optimize
import scipy.stats
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests

from backtrack import _simulate as simulate
from backtrack import metrics, overview, stats
from backtrack.demo import demo_log, generate, to_csv_text
from backtrack.errors import FieldError
from backtrack.routine import default_routine
from backtrack.schema import Entry
from backtrack.store import parse_log_text

ROUTINE = default_routine()
END = date(2026, 10, 31)
TZ = timezone(timedelta(hours=1))


def mde_by_scipy(se: float, df: float) -> float:
    """The effect a two-sided 5% t test (df) detects 80% of the time: solved for with
    scipy's noncentral t, both tails counted."""
    t = scipy.stats.t.ppf(0.975, df)

    def power(effect: float) -> float:
        ncp = effect / se
        return scipy.stats.nct.sf(t, df, ncp) + scipy.stats.nct.cdf(-t, df, ncp) - 0.8

    return scipy.optimize.brentq(power, 0.0, 6 * se)  # 5.65 se at 2 df


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
        # thresholds by hand: important min(2, 30% of max(baseline, 4)), substantial 50%
        # of max(baseline, 4), worse min(1, 15% of max(baseline, 4)); a class names what
        # the interval's bound supports
        (8.0, 6.0, 2.0, 3.5, "important"),  # the low end reaches exactly 2 points
        (8.0, 6.0, 1.99, 3.5, "improved"),  # better, but 2 points not yet supported
        (8.0, 7.0, 0.5, 1.9, "small"),  # the whole interval below important
        (5.0, 3.5, 1.5, 2.8, "important"),  # 30% of 5 = 1.5 points
        (5.0, 3.5, 1.45, 2.8, "improved"),
        (6.0, 3.0, 3.0, 5.5, "substantial"),  # 50% of 6
        (6.0, 3.0, 2.95, 5.5, "important"),
        (5.0, 4.5, 0.1, 0.9, "small"),
        (4.0, 2.0, 2.0, 3.0, "substantial"),  # 50% of 4
        (3.99, 1.99, 2.0, 3.0, "substantial"),  # no jump below 4: 50% of 4 points
        (3.9, 1.95, 1.95, 3.4, "important"),  # 30% of 4 = 1.2 ≤ 1.95 < 2.0
        (3.99, 0.0, 3.5, 3.99, "substantial"),  # pain-free from just under 4
        (2.0, 0.5, 1.2, 1.8, "important"),
        (2.0, 0.8, 1.19, 1.8, "improved"),
        (8.0, 5.0, -0.5, 6.5, "unclear"),  # 3 points, but the interval includes 0
        (5.0, 4.5, -0.5, 1.4, "none"),  # rules out 1.5 better and 0.75 worse
        (5.0, 4.5, -0.8, 1.4, "unclear"),  # reaches the 0.75-point worsening
        (5.0, 7.0, -3.5, -0.5, "worse"),  # interval wholly on the side of more pain
        (5.0, 7.0, -3.5, 0.5, "unclear"),  # 2 points worse, within noise
        (8.0, 8.5, -0.9, 0.4, "none"),  # a 1-point worsening ruled out
        (8.0, 8.5, -1.0, 0.4, "unclear"),
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


def test_thresholds_are_continuous_in_the_baseline_and_cite_their_sources():
    baselines = np.linspace(0, 10, 2001)
    limits = [stats.change_thresholds(b) for b in baselines]
    for name in ("important", "substantial", "worse"):
        values = np.array([getattr(t, name) for t in limits])
        assert np.max(np.abs(np.diff(values))) <= 0.5 * 0.005 + 1e-12  # no jump anywhere
    at = stats.change_thresholds
    assert (at(8).important, at(8).substantial, at(8).worse) == (2.0, 4.0, 1.0)
    assert (at(5).important, at(5).substantial, at(5).worse) == (1.5, 2.5, 0.75)
    assert at(3.9) == at(4.0) == stats.Thresholds(1.2, 2.0, 0.6)
    source = Path(stats.__file__).read_text()
    for cite in ("Ostelo 2008", "Dworkin 2008", "Salaffi et al. 2004"):
        assert cite in source


def test_clinical_class_rejects_values_off_the_scale():
    with pytest.raises(FieldError, match="baseline"):
        stats.classify_change(11, 3)


def test_change_interval_by_hand_under_the_ar1_noise():
    """The interval is the contrast's AR(1) variance, written out with scipy and a
    least-squares line from numpy.polyfit; the SD's degrees of freedom n − tr(H R)."""
    rng = np.random.default_rng(3)
    pains = [int(np.clip(round(6 + e), 0, 10)) for e in rng.normal(0, 1.3, 60)]
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
    rho = min(max(raw + (2 + 5.5 * raw) / n, -0.98), 0.98)
    rho = min(max(rho + 0.5 * math.sqrt((1 - rho**2) / n), 0), 0.98)  # margin, then 0-0.98
    x = np.column_stack([np.ones(n), rated])
    hat = x @ np.linalg.inv(x.T @ x) @ x.T
    sd = math.sqrt(ss / (n - np.trace(hat @ rho ** np.abs(rated[:, None] - rated[None, :]))))
    base, late = rated[:7], rated[rated >= len(pain) - 7]
    pos = np.r_[base, late]
    w = np.r_[np.full(7, 1 / 7), np.full(len(late), -1 / len(late))]
    se = sd * math.sqrt(w @ (rho ** np.abs(pos[:, None] - pos[None, :])) @ w)
    df = max(n * (1 - rho) / (1 + rho) - 2, 2)
    t = scipy.stats.t.ppf(0.975, df)
    points = pain[base].mean() - pain[late].mean()
    assert change.estimate == pytest.approx(points)
    assert (change.low, change.high) == pytest.approx((points - t * se, points + t * se))
    assert change.mde == pytest.approx(mde_by_scipy(se, df), rel=1e-4)  # one tail left out
    assert change.chance_important == pytest.approx(
        scipy.stats.t.sf((stats.change_thresholds(pain[base].mean()).important - points) / se, df)
    )
    assert change.clinical_class in stats.CLASSES
    assert "does not prove" in change.sentence


def test_reliable_change_index_by_hand():
    """Jacobson & Truax: Δ / (√2 · SEM), SEM of a 7-day mean = SD · √(Σ ρ^|i−j|) / 7."""
    noise = stats.DailyNoise(1.5, 0.6, 80)
    lags = np.abs(np.subtract.outer(np.arange(7), np.arange(7)))
    sem = 1.5 * math.sqrt(np.sum(0.6**lags)) / 7
    assert stats.reliable_change_index(2.0, noise) == pytest.approx(2.0 / (math.sqrt(2) * sem))
    assert math.isnan(stats.reliable_change_index(1.0, stats.DailyNoise(0.0, 0.0, 80)))
    daily = pain_daily([7] * 7 + [int(round(7 - 4 * i / 80)) for i in range(80)])
    change = stats.change_vs_baseline(daily)
    assert change.beyond_noise is (abs(change.reliable_change) > 1.96)


def test_a_short_log_gets_no_interval_and_says_how_many_days_it_needs():
    daily = pain_daily([7] * 7 + [4] * 23)  # 30 days, 3 points lower
    change = stats.change_vs_baseline(daily)
    assert change.estimate == pytest.approx(3.0)
    assert change.low is None and change.high is None and change.mde is None
    assert change.clinical_class == "unclear" and change.days_needed == 26
    assert "26 more days" in change.sentence
    assert any("need 56 days" in note for note in change.notes)


@pytest.mark.parametrize(
    ("first", "later"),
    [(8, 0), (9, 1), (1, 9), (0, 8), (10, 10), (0, 0), (10, 0)],
)
def test_change_intervals_stay_inside_the_scale(first, later):
    """From a baseline b the change can only be b - 10 to b (the latest level 0-10)."""
    rng = np.random.default_rng(first * 11 + later)
    pains = [int(np.clip(round(first + e), 0, 10)) for e in rng.normal(0, 1.5, 7)]
    pains += [int(np.clip(round(later + e), 0, 10)) for e in rng.normal(0, 1.5, 80)]
    change = stats.change_vs_baseline(pain_daily(pains))
    assert change.low is not None
    assert change.baseline - 10 - 1e-9 <= change.low <= change.estimate
    assert change.estimate <= change.high <= change.baseline + 1e-9


def test_change_on_constant_pain_is_none_not_a_crash():
    change = stats.change_vs_baseline(pain_daily([5] * 60))
    assert change.estimate == 0 and change.clinical_class == "none"


def test_change_needs_a_baseline_and_separate_latest_days():
    short = stats.change_vs_baseline(pain_daily([6, 6, 5]))
    assert short.estimate is None and short.clinical_class is None
    assert "needs 7 rated days, has 3" in short.sentence
    overlap = stats.change_vs_baseline(pain_daily([6] * 10))
    assert overlap.estimate is None and "overlap" in overlap.sentence


# ----------------------------------------------------------------------------- Theil–Sen


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


def test_trend_by_hand_ols_slope_with_the_ar1_covariance_of_weekly_means():
    """Slope from numpy.polyfit on pandas' weekly means; its variance the OLS sandwich
    x' C x / (x' x)² with C written out from the noise's SD and persistence; p and the
    interval from scipy's t with the stated df."""
    daily = demo_daily(200, 4)
    result = stats.trend(daily)
    pain = daily["pain"]
    weeks = pain.resample("W-SUN").agg(["mean", "count"])
    weeks = weeks[weeks["count"] >= 4].iloc[-stats.MAX_WEEKS :]
    monday = weeks.index[0] - pd.Timedelta(days=6)
    days = pain[monday:].to_numpy()
    noise = stats.daily_noise(days, stats.TREND_PERSISTENCE_MARGIN)
    number = ((weeks.index - weeks.index[0]).days // 7).to_numpy(dtype=float)
    slope = np.polyfit(number, weeks["mean"].to_numpy(), 1)[0]
    rated = np.flatnonzero(~np.isnan(days))
    keep = np.isin(rated // 7, number.astype(int))
    rated = rated[keep]
    a = np.zeros((len(number), len(rated)))
    for j, day in enumerate(rated):
        a[list(number).index(day // 7), j] = 1
    a /= a.sum(axis=1, keepdims=True)
    corr = noise.persistence ** np.abs(rated[:, None] - rated[None, :])
    cov = noise.sd**2 * a @ corr @ a.T
    x = number - number.mean()
    se = math.sqrt(x @ cov @ x) / (x @ x)
    factor = (x @ cov @ x) / (x @ (np.diag(cov) * x))
    df = max(len(number) / factor - 2, 2)
    t = scipy.stats.t.ppf(0.975, df)
    assert result.estimate == pytest.approx(slope)
    assert (result.low, result.high) == pytest.approx((slope - t * se, slope + t * se))
    assert result.p_value == pytest.approx(2 * scipy.stats.t.sf(abs(slope) / se, df))
    power = scipy.stats.nct.sf(t, df, result.mde / se) + scipy.stats.nct.cdf(
        -t, df, result.mde / se
    )
    assert power == pytest.approx(0.8, abs=1e-3)


def test_a_steady_fall_with_only_rounding_noise_is_seen_by_the_change_and_the_trend():
    """Issue 27: 7 → 3 over 8 weeks, one whole-number rating a day; the change called it
    substantial while the trend said "did not clearly change" (a rank test with the
    persistence of rounding)."""
    pains = [int(round(7 - 4 * i / 55)) for i in range(56)]
    daily = pain_daily(pains)
    change, trend = stats.change_vs_baseline(daily), stats.trend(daily)
    assert change.clinical_class in ("important", "substantial")
    assert trend.direction == "decreasing" and trend.high < 0 and trend.p_value < 0.05
    assert "did not clearly change" not in trend.sentence
    assert overview.verdict(change, trend).startswith("Both agree")


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    weeks=st.integers(6, 30),
    persistence=st.sampled_from([0.0, 0.5, 0.9]),
    effect=st.floats(-3, 3),
)
def test_the_trend_verdict_its_p_and_its_interval_are_one_test(seed, weeks, persistence, effect):
    daily = simulate.simulate(7 * weeks, seed, persistence=persistence, effect=effect).daily
    result = stats.trend(daily)
    if not result.ok:
        return
    excludes_zero = result.low > 0 or result.high < 0
    assert (result.p_value < 0.05) == excludes_zero
    expected = (
        "no trend" if not excludes_zero else ("decreasing" if result.high < 0 else "increasing")
    )
    assert result.direction == expected
    span = (result.weeks_to - result.weeks_from).days / 7
    assert -10 / span - 1e-9 <= result.low <= result.estimate <= result.high <= 10 / span + 1e-9


def test_trend_with_too_few_weeks_says_what_it_needs():
    result = stats.trend(pain_daily([5] * 20))
    assert result.estimate is None and result.low is None
    assert result.sentence.startswith("Not enough data: needs 6 weeks")
    assert "has 3" in result.sentence


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
    assert result.mde == pytest.approx(mde_by_scipy(fit.bse["credit"], fit.df_resid), rel=1e-4)
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


def test_missing_days_bound_by_hand():
    """14 days, 12 rated (eight 4s, four 8s), 2 unrated in the latest week: the worst
    quarter is the 8s (W = 8, no spread); the latest week's 5 rated days average 4.8, so
    its mean rises by 2 (8 − 4.8) / 7; the SD² grows by (2/14) (8 − 64/12)²."""
    nan = math.nan
    pain = np.array([4, 4, 4, 4, 8, 8, 8, 8, 4, nan, 4, nan, 4, 4], dtype=float)
    noise = stats.DailyNoise(1.0, 0.5, 12)
    result = stats.missing_sensitivity(pain, 2.0, 0.5, 2.0, noise, -5.0)
    assert (result.unrated, result.days, result.worst) == (2, 14, 8.0)
    assert result.share == pytest.approx(1 / 7)
    assert result.shift == pytest.approx(2 * (8 - 4.8) / 7)
    scale = math.sqrt(1 + (1 / 7) * (8 - 16 / 3) ** 2)
    assert result.sd == pytest.approx(scale)
    assert result.low == pytest.approx(2.0 - 2 * 3.2 / 7 - 2.0 * 0.5 * scale)
    # inside the scale: never below the floor (baseline − 10)
    assert stats.missing_sensitivity(pain, 2.0, 0.5, 2.0, noise, 0.0).low == 0.0
    # a latest week as bad as the worst quarter does not move
    flat = np.array([8] * 12 + [nan, 8], dtype=float)
    assert stats.missing_sensitivity(flat, 0.0, 0.5, 2.0, noise, -5.0).shift == 0.0


def test_missing_days_note_and_column_only_above_ten_percent():
    rating = np.full(84, 5.0) + np.tile([0, 1, -1, 0, 1, 2, 0], 12)
    complete = simulate.daily_frame(rating, np.ones(84, dtype=bool))
    assert stats.change_vs_baseline(complete).missing_adjusted_low is None
    logged = np.ones(84, dtype=bool)
    logged[10:84:6] = False  # 13 of 84 days (15%), 1 in the latest week
    logged[-1] = True
    change = stats.change_vs_baseline(simulate.daily_frame(rating, logged))
    assert change.low is not None and change.missing_adjusted_low is not None
    assert change.missing_adjusted_low < change.low
    unrated = int((~logged).sum())
    note = [n for n in change.notes if n.startswith(f"If your {unrated} unlogged days")]
    assert len(note) == 1
    worst = float(note[0].split("worst quarter (")[1].split(" /10)")[0])
    assert 6.0 <= worst <= 7.0  # the ratings' top quarter: 6s and 7s
    assert f"instead of {abs(change.low):.1f} points more pain" in note[0]


def test_missing_days_bound_needs_an_interval():
    """Before 56 days there is no interval, so no bound either, however many days are
    unrated."""
    rating = np.full(42, 5.0) + np.tile([0, 1, -1, 0, 1, 2, 0], 6)
    logged = np.ones(42, dtype=bool)
    logged[8:42:4] = False  # 9 of 42 days (21%)
    logged[-1] = True
    change = stats.change_vs_baseline(simulate.daily_frame(rating, logged))
    assert change.ok and change.low is None and change.days_needed > 0
    assert change.missing_adjusted_low is None
    assert not any(note.startswith("If your ") for note in change.notes)
