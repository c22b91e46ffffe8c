"""Pooled self-trials: many patients' randomised self-trials of the same comparison.

Sign: every effect here is **A − B in points on the 0-10 scale, positive = less pain
with B** (a benefit of B), the same direction as the summary's change (positive = pain
fell). Callers holding B − A differences flip them first.

Model (normal-normal random effects; Higgins, Thompson & Spiegelhalter 2009): patient
``i``'s trial gives ``y_i`` (the mean of its pair differences) with variance ``v_i``
(its SE squared, on ``df_i`` = pairs − 1 degrees of freedom); ``y_i ~ N(θ_i, v_i)``,
``θ_i ~ N(μ, τ²)``. Definitions and sources: ``docs/analysis.md``, *Pooled self-trials*.

- ``v_i``: with ``dfs``, each patient's SE is moderated toward the clinic's (Smyth
  2004's empirical Bayes for variances) and its error taken as Student's t on the
  moderated df, of variance se²·df/(df − 2): an SE from 4-10 pairs is too noisy to
  weight by as if known (docs/analysis.md: the textbook model's τ interval covers 0-45%
  of same-effect clinics); without ``dfs``, the SEs are taken as known;
- τ²: Paule-Mandel (generalised Q = k − 1; statsmodels' ``method_re="iterated"``);
  DerSimonian-Laird only as a comparison; τ's 95% interval by the Q-profile
  (Viechtbauer 2007), Q's χ²(k − 1) matched to its larger variance under t errors
  (Satterthwaite 1946) when the SEs have df;
- μ: the inverse-variance weighted mean with weights 1/(v_i + τ²); its interval is
  Hartung-Knapp-Sidik-Jonkman's with t(k − 1), the scale floored at 1 (Röver, Knapp &
  Friede 2015), so never narrower than the plain random-effects interval;
- prediction interval for a new patient: μ ± t(k − 2)·√(τ² + SE(μ)²), k ≥ 3;
- shrunken estimate (empirical Bayes / BLUP) at the estimated τ²: μ + B_i (y_i − μ),
  B_i = τ²/(τ² + v_i), always between the patient's own effect and μ, never past μ;
  its variance B_i v_i + (1 − B_i)² SE(μ)² (which carries the uncertainty of μ) and
  P(true effect ≥ 1 point) averaged over τ²'s Q-profile confidence distribution, so
  the uncertainty of τ is carried too;
- labels (:func:`responder_label`) from an interval and a margin of 1 point;
- moderators (:func:`meta_regression`) from 10 trials, with a Bonferroni count.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from .errors import FieldError
from .stats import normal_quantile, t_cdf, t_quantile
from .units import Result, Scalar

MARGIN = 1.0
"""Points of pain: the smallest difference that matters to a patient (about 1 point on
the 0-10 NRS, as for the PEG; see docs/analysis.md)."""
MIN_TRIALS = 2
"""Trials needed to pool at all (τ needs two)."""
MIN_PREDICTION = 3
"""Trials needed for a prediction interval (t with k − 2 degrees of freedom)."""
MIN_MODERATOR = 10
"""Trials needed before a moderator is tried (meta-regression)."""
MIN_MODERATION = 3
"""Trials with degrees of freedom needed to estimate the clinic's variance prior."""
MIN_DF = 3
"""Degrees of freedom (pairs − 1) each trial needs to be weighted by its moderated t
error: a t on 2 or fewer df has no variance (4 pairs, the issue's fewest, give 3)."""
METHODS = ("paule-mandel", "dersimonian-laird")
LABELS = ("benefits", "harmed", "no meaningful difference", "inconclusive")

Vector = Sequence[float] | np.ndarray


@dataclass(frozen=True)
class PooledEffects:
    """One comparison pooled over ``k`` patients (points, A − B, + = less pain with B).

    ``mean``: μ with its 95% interval (HKSJ, t with k − 1 df), ``n`` = k, its ``p``
    (t test of μ = 0), ``extra`` ``se`` and ``df``; ``tau``: τ with its Q-profile 95%
    interval; ``tau2`` = τ² (points²); ``prediction_low``/``prediction_high``: where a
    new patient's true effect lies with 95% probability (None when k < 3); ``q``:
    Cochran's Q (fixed-effect weights), ``i2``: I² (0-1); ``method``: the τ²
    estimator; ``variances``: "moderated" or "as given"; ``patients``: one row per
    patient (see :data:`PATIENT_COLUMNS`)."""

    k: int
    mean: Result
    tau: Result
    tau2: float | None
    prediction_low: float | None
    prediction_high: float | None
    q: float | None
    i2: float | None
    method: str
    variances: str
    patients: pd.DataFrame


PATIENT_COLUMNS = {
    "effect": "own effect, points (A − B, + = less pain with B)",
    "se": "own standard error as given, points",
    "df": "own degrees of freedom (pairs − 1; NaN when not given)",
    "se_used": "the standard error the pooling weighted by (moderated or as given)",
    "low": "own 95% interval, low end (t with df, else normal)",
    "high": "own 95% interval, high end",
    "weight": "share of the pooled mean's weight, 0-1",
    "shrunken": "empirical-Bayes estimate, points (between effect and the pooled mean)",
    "shrunken_low": "its 95% interval, low end (carries the uncertainty of the mean)",
    "shrunken_high": "its 95% interval, high end",
    "p_benefit": "P(true effect ≥ margin) from the shrunken posterior",
    "own_label": "responder label from the own interval",
    "pooled_label": "responder label from the shrunken interval",
    "differs": "τ's interval excludes 0 and the shrunken interval excludes the pooled mean",
}
"""The columns of :attr:`PooledEffects.patients`, in order, with their meaning."""


def responder_label(
    estimate: float | None, low: float | None, high: float | None, margin: float = MARGIN
) -> str:
    """One of :data:`LABELS` from a 95% interval (points, + = less pain with B); the
    label never claims more than the interval: "no meaningful difference" when the
    whole interval lies strictly inside ±``margin``; else "benefits" when it lies
    strictly above 0, "harmed" strictly below 0; else (or with no interval)
    "inconclusive". ``estimate`` is only checked to lie inside the interval."""
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return "inconclusive"
    if low > high or (estimate is not None and not low <= estimate <= high):
        raise FieldError("interval", "low ≤ estimate ≤ high", (low, estimate, high))
    if -margin < low and high < margin:
        return "no meaningful difference"
    if low > 0:
        return "benefits"
    if high < 0:
        return "harmed"
    return "inconclusive"


def _vector(name: str, values: Vector, k: int | None, positive: bool) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise FieldError(name, "a sequence of numbers", values) from None
    if array.ndim != 1:
        raise FieldError(name, "a one-dimensional sequence of numbers", f"shape {array.shape}")
    if k is not None and len(array) != k:
        raise FieldError(name, f"{k} values (one per effect)", f"{len(array)} values")
    bad = ~np.isfinite(array) | ((array <= 0) if positive else False)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        what = "finite numbers > 0" if positive else "finite numbers"
        raise FieldError(f"{name}[{first}]", what, float(array[first]))
    return array


def _inputs(
    effects: Vector, ses: Vector, dfs: Vector | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    y = _vector("effects", effects, None, positive=False)
    se = _vector("ses", ses, len(y), positive=True)
    df = None if dfs is None else _vector("dfs", dfs, len(y), positive=True)
    if df is not None and (df < MIN_DF).any():
        first = int(np.flatnonzero(df < MIN_DF)[0])
        expected = f"at least {MIN_DF} degrees of freedom ({MIN_DF + 1} pairs) to pool"
        raise FieldError(f"dfs[{first}]", expected, float(df[first]))
    return y, se, df


# ------------------------------------------------------------------------ variances


def _trigamma_inverse(x: float) -> float:
    """y with trigamma(y) = x (Smyth 2004's Newton iteration, from the left)."""
    if x > 1e7:
        return 1 / math.sqrt(x)
    if x < 1e-6:
        return 1 / x
    y = 0.5 + 1 / x
    for _ in range(50):
        tri = float(special.polygamma(1, y))
        step = tri * (1 - tri / x) / float(special.polygamma(2, y))
        y += step
        if -step / y < 1e-10:
            break
    return y


def variance_prior(variances: Vector, dfs: Vector) -> tuple[float, float]:
    """(d0, s0²): the scaled inverse-χ² prior of per-pair variances ``variances`` each
    on ``dfs`` degrees of freedom, by Smyth's (2004) moments of log variances; d0 is
    infinite when the variances differ no more than their own noise explains."""
    s2 = np.asarray(variances, dtype=float)
    d = np.asarray(dfs, dtype=float)
    e = np.log(s2) - special.digamma(d / 2) + np.log(d / 2)
    e_mean = float(e.mean())
    excess = float(e.var(ddof=1) - special.polygamma(1, d / 2).mean())
    if excess <= 0:
        return math.inf, math.exp(e_mean)
    d0 = 2 * _trigamma_inverse(excess)
    return d0, math.exp(e_mean + float(special.digamma(d0 / 2)) - math.log(d0 / 2))


def moderated_ses(ses: Vector, dfs: Vector) -> tuple[np.ndarray, np.ndarray]:
    """(SEs, their degrees of freedom): each patient's per-pair variance
    s_i² = se_i²·(df_i + 1) moderated toward the clinic's, (d0·s0² + df_i·s_i²)/(d0 +
    df_i) on d0 + df_i degrees of freedom (Smyth 2004), back to an SE (points). Fewer
    than :data:`MIN_MODERATION` SEs stay as they are."""
    se = np.asarray(ses, dtype=float)
    df = np.asarray(dfs, dtype=float)
    if len(se) < MIN_MODERATION:
        return se.copy(), df.copy()
    s2 = se**2 * (df + 1)
    d0, s0 = variance_prior(s2, df)
    moderated = np.full_like(s2, s0) if math.isinf(d0) else (d0 * s0 + df * s2) / (d0 + df)
    return np.sqrt(moderated / (df + 1)), df + d0


def t_variance(se: np.ndarray, df: np.ndarray) -> np.ndarray:
    """The variance (points²) of an error that is ``se`` times Student's t on ``df``
    degrees of freedom: se²·df/(df − 2) (infinite df: se²); df ≤ 2 has none."""
    if (df <= 2).any():
        first = int(np.flatnonzero(df <= 2)[0])
        raise FieldError(
            f"dfs[{first}]", "more than 2 degrees of freedom to weight by", float(df[first])
        )
    factor = np.where(np.isinf(df), 1.0, df / np.where(np.isinf(df), 1.0, df - 2))
    result: np.ndarray = se**2 * factor
    return result


def _weighting(
    se: np.ndarray, df: np.ndarray | None, moderate: bool
) -> tuple[np.ndarray, np.ndarray | None, str]:
    """(the variances the pooling weights by, the degrees of freedom of the t errors
    they are the variances of (None: normal errors), "moderated" or "as given"): with
    ``moderate`` and the degrees of freedom of at least :data:`MIN_MODERATION` SEs, each
    effect's moderated t error (:func:`moderated_ses`, :func:`t_variance`); else the
    SEs squared, as if known."""
    if df is None or not moderate or len(se) < MIN_MODERATION:
        return se**2, None, "as given"
    moderated, total = moderated_ses(se, df)
    return t_variance(moderated, total), total, "moderated"


# ---------------------------------------------------------------------------- τ²


def generalised_q(y: np.ndarray, v: np.ndarray, tau2: float) -> float:
    """Σ w_i (y_i − μ_w)², w_i = 1/(v_i + τ²): the generalised Q (decreasing in τ²)."""
    w = 1 / (v + tau2)
    mu = float(w @ y / w.sum())
    return float(w @ (y - mu) ** 2)


def _tau2_where(y: np.ndarray, v: np.ndarray, target: float | Callable[[float], float]) -> float:
    """The τ² ≥ 0 where the generalised Q equals ``target`` (a number, or a function of
    τ²), 0 when it is below it already at τ² = 0, by bisection on the sign of Q − target
    (Q falls with τ²), from 0 to a τ² where Q is below the target."""
    goal = target if callable(target) else (lambda _: float(target))

    def above(tau2: float) -> bool:
        return generalised_q(y, v, tau2) > goal(tau2)

    if not above(0.0):
        return 0.0
    high = max(float(np.var(y)), float(v.max()), 1e-12)
    while above(high):
        high *= 4
    low = 0.0
    for _ in range(200):
        middle = (low + high) / 2
        if above(middle):
            low = middle
        else:
            high = middle
        if high - low <= 1e-15 * max(high, 1e-300):
            break
    return (low + high) / 2


def tau2_paule_mandel(y: Vector, v: Vector) -> float:
    """Paule-Mandel τ² (points²): the generalised Q equals k − 1."""
    ya, va = np.asarray(y, dtype=float), np.asarray(v, dtype=float)
    return _tau2_where(ya, va, len(ya) - 1.0)


def tau2_dersimonian_laird(y: Vector, v: Vector) -> float:
    """DerSimonian-Laird τ² (points²), truncated at 0 (a comparison only)."""
    ya, va = np.asarray(y, dtype=float), np.asarray(v, dtype=float)
    w = 1 / va
    c = float(w.sum() - (w**2).sum() / w.sum())
    return max(0.0, (generalised_q(ya, va, 0.0) - (len(ya) - 1)) / c)


KURTOSIS_DF = 5.0
"""Student's t on 4 or fewer df has no fourth moment: its excess kurtosis is taken at
this many df (6 / (5 − 4) = 6)."""


def q_variance(v: np.ndarray, tau2: float, dfs: np.ndarray | None) -> float:
    """The variance of the generalised Q at τ² when each effect's error is Student's t
    on ``dfs`` (with variance ``v``) rather than normal: 2(k − 1) plus, per effect, the
    t's excess kurtosis 6/(df − 4) times (v_i/(v_i + τ²))² (the share of the effect's
    variance that is its own error), scaled by (k − 1)/k. Normal errors: 2(k − 1)."""
    k = len(v)
    if dfs is None:
        return 2.0 * (k - 1)
    excess = 6 / (np.maximum(dfs, KURTOSIS_DF) - 4)
    share = v / (v + tau2)
    return 2.0 * (k - 1) + (k - 1) / k * float(np.sum(excess * share**2))


def q_quantile(probability: float, v: np.ndarray, tau2: float, dfs: np.ndarray | None) -> float:
    """The ``probability`` quantile of the generalised Q at τ²: χ²(k − 1) with normal
    errors; with t errors a scaled χ², a·χ²(b), of the same mean k − 1 and the variance
    :func:`q_variance` (Satterthwaite 1946)."""
    k = len(v)
    scale = q_variance(v, tau2, dfs) / (2.0 * (k - 1))
    return scale * float(special.chdtri((k - 1) / scale, 1 - probability))


def tau2_interval(
    y: Vector, v: Vector, dfs: Vector | None = None, confidence: float = 0.95
) -> tuple[float, float]:
    """The Q-profile interval of τ² (Viechtbauer 2007): the τ² where the generalised Q
    equals its 97.5% and 2.5% quantiles (:func:`q_quantile`: χ²(k − 1), or its
    Satterthwaite match when the errors are t on ``dfs``); an end is 0 when Q is
    already below its quantile at τ² = 0."""
    ya, va = np.asarray(y, dtype=float), np.asarray(v, dtype=float)
    da = None if dfs is None else np.asarray(dfs, dtype=float)
    tail = (1 - confidence) / 2

    def where(probability: float) -> float:
        return _tau2_where(ya, va, lambda tau2: q_quantile(probability, va, tau2, da))

    return where(1 - tail), where(tail)


DRAWS = 40
"""Points of τ²'s confidence distribution the shrunken intervals average over."""


def tau2_draws(y: Vector, v: Vector, dfs: Vector | None = None, points: int = DRAWS) -> np.ndarray:
    """τ² (points²) at the ``points`` mid-quantiles of its Q-profile confidence
    distribution: τ²_p solves Q(τ²) = the (1 − p) quantile of Q (:func:`q_quantile`),
    p = (j + ½)/points; 0 where Q(0) is already below it. All solved at once by
    bisection."""
    ya, va = np.asarray(y, dtype=float), np.asarray(v, dtype=float)
    da = None if dfs is None else np.asarray(dfs, dtype=float)
    k = len(ya)
    upper = 1 - (np.arange(points) + 0.5) / points  # the quantile of Q each p targets

    def excess(tau2: np.ndarray) -> np.ndarray:
        w = 1 / (va[None, :] + tau2[:, None])
        mu = (w @ ya) / w.sum(axis=1)
        q = (w * (ya[None, :] - mu[:, None]) ** 2).sum(axis=1)
        if da is None:
            scale = np.ones_like(tau2)
        else:
            share = va[None, :] / (va[None, :] + tau2[:, None])
            extra = (6 / (np.maximum(da, KURTOSIS_DF) - 4))[None, :] * share**2
            scale = (2.0 * (k - 1) + (k - 1) / k * extra.sum(axis=1)) / (2.0 * (k - 1))
        result: np.ndarray = q - scale * special.chdtri((k - 1) / scale, 1 - upper)
        return result

    low = np.zeros(points)
    positive = excess(low) > 0
    high = np.full(points, max(float(np.var(ya)), float(va.max()), 1e-12))
    while (excess(high) > 0).any():
        high = np.where(excess(high) > 0, high * 4, high)
    for _ in range(60):
        middle = (low + high) / 2
        above = excess(middle) > 0
        low, high = np.where(above, middle, low), np.where(above, high, middle)
    return np.where(positive, (low + high) / 2, 0.0)


ESTIMATORS: dict[str, Callable[[Vector, Vector], float]] = {
    "paule-mandel": tau2_paule_mandel,
    "dersimonian-laird": tau2_dersimonian_laird,
}


# -------------------------------------------------------------------------- pooling


def _not_enough(k: int) -> str:
    return f"not enough trials: needs {MIN_TRIALS}, has {k}"


def pool_effects(
    effects: Vector,
    ses: Vector,
    dfs: Vector | None = None,
    *,
    names: Sequence[str] | None = None,
    method: str = "paule-mandel",
    moderate: bool = True,
    margin: float = MARGIN,
) -> PooledEffects:
    """Pool per-patient effects (points, A − B, + = less pain with B) and their SEs
    (points; ``dfs``: pairs − 1 each, optional) by the random-effects model of the
    module docstring. ``moderate``: with ``dfs``, weight by moderated SEs
    (:func:`moderated_ses`); ``names``: the patients' row labels."""
    y, se, df = _inputs(effects, ses, dfs)
    k = len(y)
    if method not in ESTIMATORS:
        raise FieldError("method", f"one of {METHODS}", method)
    if names is not None and len(names) != k:
        raise FieldError("names", f"{k} names (one per effect)", f"{len(names)} names")
    v, t_dfs, variances = _weighting(se, df, moderate)
    used = np.sqrt(v)
    z = normal_quantile()
    own_half = se * (special.stdtrit(df, 0.975) if df is not None else z)
    frame = pd.DataFrame(
        {
            "effect": y,
            "se": se,
            "df": np.full(k, np.nan) if df is None else df,
            "se_used": used,
            "low": y - own_half,
            "high": y + own_half,
        },
        index=pd.Index(list(names) if names is not None else range(k), name="patient"),
    )
    if k < MIN_TRIALS:
        return _too_few(frame, k, method, variances, margin)
    tau2 = ESTIMATORS[method](y, v)
    w = 1 / (v + tau2)
    mu = float(w @ y / w.sum())
    hksj = float(w @ (y - mu) ** 2) / (k - 1)
    se_mu = math.sqrt(max(1.0, hksj) / float(w.sum()))
    half = t_quantile(k - 1) * se_mu
    p = 2 * t_cdf(-abs(mu) / se_mu, k - 1)
    mean = Result(
        mu, mu - half, mu + half, n=k, unit="points", p=p, extra={"se": se_mu, "df": k - 1}
    )
    tau2_low, tau2_high = tau2_interval(y, v, t_dfs)
    tau = Result(math.sqrt(tau2), math.sqrt(tau2_low), math.sqrt(tau2_high), n=k, unit="points")
    prediction: tuple[float | None, float | None] = (None, None)
    if k >= MIN_PREDICTION:
        spread = t_quantile(k - 2) * math.sqrt(tau2 + se_mu**2)
        prediction = (mu - spread, mu + spread)
    q = generalised_q(y, v, 0.0)
    i2 = max(0.0, (q - (k - 1)) / q) if q > 0 else 0.0
    shrunken, sd, p_benefit = shrunken_estimates(y, v, tau2, tau2_draws(y, v, t_dfs), margin)
    frame["weight"] = w / w.sum()
    frame["shrunken"] = shrunken
    frame["shrunken_low"] = shrunken - z * sd
    frame["shrunken_high"] = shrunken + z * sd
    frame["p_benefit"] = p_benefit
    _label(frame, margin)
    apart = (frame["shrunken_low"] > mu) | (frame["shrunken_high"] < mu)
    frame["differs"] = apart & (tau2_low > 0)  # protected: only once patients differ at all
    return PooledEffects(
        k, mean, tau, tau2, *prediction, q, i2, method, variances, frame[list(PATIENT_COLUMNS)]
    )


def _blup(
    y: np.ndarray, v: np.ndarray, tau2: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(μ, BLUP, posterior variance) at each τ² of ``tau2`` (rows) for every effect
    (columns): μ + B (y − μ), B = τ²/(τ² + v), variance B v + (1 − B)² SE(μ)², SE(μ)
    the HKSJ one (scale floored at 1)."""
    t2 = tau2[:, None]
    w = 1 / (v[None, :] + t2)
    mu = (w @ y) / w.sum(axis=1)
    scale = np.maximum(1.0, (w * (y[None, :] - mu[:, None]) ** 2).sum(axis=1) / (len(y) - 1))
    se2 = scale / w.sum(axis=1)
    b = t2 / (t2 + v[None, :])
    estimate = mu[:, None] + b * (y[None, :] - mu[:, None])
    return mu, estimate, b * v[None, :] + (1 - b) ** 2 * se2[:, None]


def shrunken_estimates(
    effects: Vector,
    variances: Vector,
    tau2: float,
    draws: Vector | None = None,
    margin: float = MARGIN,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(shrunken estimates, their SDs, P(true effect ≥ ``margin``)), points: the BLUP
    μ + B_i (y_i − μ) at ``tau2``, with the variance B_i v_i + (1 − B_i)² SE(μ)²; with
    ``draws`` of τ² (:func:`tau2_draws`) the variance and the probability are averaged
    over them, the variance taken around the BLUP (each draw's posterior variance plus
    its shift from the BLUP), so τ's own uncertainty is carried too."""
    y, v = np.asarray(effects, dtype=float), np.asarray(variances, dtype=float)
    _, point, point_variance = _blup(y, v, np.array([tau2]))
    shrunken = point[0]
    if draws is None:
        sd = np.sqrt(point_variance[0])
        return shrunken, sd, special.ndtr((shrunken - margin) / sd)
    _, estimates, each = _blup(y, v, np.asarray(draws, dtype=float))
    sd = np.sqrt((each + (estimates - shrunken[None, :]) ** 2).mean(axis=0))
    return shrunken, sd, special.ndtr((estimates - margin) / np.sqrt(each)).mean(axis=0)


def _label(frame: pd.DataFrame, margin: float) -> None:
    frame["own_label"] = [
        responder_label(e, lo, hi, margin)
        for e, lo, hi in zip(frame["effect"], frame["low"], frame["high"], strict=True)
    ]
    if "shrunken" in frame:
        frame["pooled_label"] = [
            responder_label(e, lo, hi, margin)
            for e, lo, hi in zip(
                frame["shrunken"], frame["shrunken_low"], frame["shrunken_high"], strict=True
            )
        ]


def _too_few(
    frame: pd.DataFrame, k: int, method: str, variances: str, margin: float
) -> PooledEffects:
    why = _not_enough(k)
    for column in ("weight", "shrunken", "shrunken_low", "shrunken_high", "p_benefit"):
        frame[column] = np.nan
    _label(frame, margin)
    frame["pooled_label"] = "inconclusive"
    frame["differs"] = False
    empty = Result(None, n=k, unit="points", why_null=why)
    return PooledEffects(
        k,
        empty,
        empty,
        None,
        None,
        None,
        None,
        None,
        method,
        variances,
        frame[list(PATIENT_COLUMNS)],
    )


# ----------------------------------------------------------------------- moderators


def meta_regression(
    effects: Vector,
    ses: Vector,
    moderator: Vector,
    *,
    dfs: Vector | None = None,
    comparisons: int = 1,
    moderate: bool = True,
) -> Result:
    """Does the effect (points, + = less pain with B) change with ``moderator``? The
    slope (points per moderator unit) of a random-effects meta-regression: weights
    1/(v_i + τ²_res), τ²_res by Paule-Mandel on the residuals (generalised Q = k − 2),
    interval Knapp-Hartung with t(k − 2), the scale floored at 1. Needs
    :data:`MIN_MODERATOR` trials. ``comparisons``: how many moderators were tried; the
    extra ``p_bonferroni`` = min(1, p·comparisons) and ``comparisons`` say so."""
    y, se, df = _inputs(effects, ses, dfs)
    x = _vector("moderator", moderator, len(y), positive=False)
    if comparisons < 1:
        raise FieldError("comparisons", "a whole number ≥ 1", comparisons)
    k = len(y)
    extra: dict[str, Scalar] = {"comparisons": comparisons}
    if k < MIN_MODERATOR:
        why = f"not enough trials: needs {MIN_MODERATOR}, has {k}"
        return Result(None, n=k, unit="points per unit", why_null=why, extra=extra)
    if float(np.ptp(x)) == 0:
        return Result(
            None,
            n=k,
            unit="points per unit",
            extra=extra,
            why_null="the moderator is the same for every patient",
        )
    v, _, _ = _weighting(se, df, moderate)
    design = np.column_stack([np.ones(k), x])

    def fit(tau2: float) -> tuple[np.ndarray, np.ndarray, float]:
        w = 1 / (v + tau2)
        xtwx = design.T @ (design * w[:, None])
        beta = np.linalg.solve(xtwx, design.T @ (w * y))
        residual = float(w @ (y - design @ beta) ** 2)
        return beta, np.linalg.inv(xtwx), residual

    if fit(0.0)[2] <= k - 2:
        tau2 = 0.0
    else:
        low, high = 0.0, max(float(np.var(y)), float(v.max()))
        while fit(high)[2] > k - 2:
            high *= 4
        for _ in range(200):
            middle = (low + high) / 2
            low, high = (middle, high) if fit(middle)[2] > k - 2 else (low, middle)
            if high - low <= 1e-15 * high:
                break
        tau2 = (low + high) / 2
    beta, cov, residual = fit(tau2)
    slope_se = math.sqrt(max(1.0, residual / (k - 2)) * float(cov[1, 1]))
    slope = float(beta[1])
    half = t_quantile(k - 2) * slope_se
    p = 2 * t_cdf(-abs(slope) / slope_se, k - 2)
    extra |= {"p_bonferroni": min(1.0, p * comparisons), "tau2_residual": tau2, "se": slope_se}
    return Result(slope, slope - half, slope + half, n=k, unit="points per unit", p=p, extra=extra)
