"""Simulated daily series with a known truth, for the calibration tests and the bench.

The model (pain on the 0-10 NRS): a true level ``mu_t`` (constant, or falling by
``effect`` points, linearly or building up over the first weeks) plus AR(1) noise
``e_t = persistence · e_{t−1} + u_t`` of marginal SD ``sd``, plus optional flares; the
rating is rounded and clipped to 0-10; a share ``missing`` of days is not logged.
:func:`daily_frame` gives the columns the analyses read (``logged``, ``day``, ``pain``,
``credit``, ``flare``); the truth comes alongside.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

START = pd.Timestamp("2026-01-05")  # a Monday


@dataclass(frozen=True)
class Simulated:
    """A simulated daily series and its truth: ``level`` (true mean pain per day, points)
    and ``credit`` (dose credit 0-1 per day)."""

    daily: pd.DataFrame
    level: np.ndarray


def ar1(n: int, persistence: float, sd: float, rng: np.random.Generator) -> np.ndarray:
    """A stationary AR(1) series of ``n`` values with marginal SD ``sd``."""
    noise = np.empty(n)
    noise[0] = rng.normal(0, sd)
    shocks = rng.normal(0, sd * np.sqrt(1 - persistence**2), n)
    for t in range(1, n):
        noise[t] = persistence * noise[t - 1] + shocks[t]
    return noise


def simulate(
    days: int = 120,
    seed: int = 0,
    *,
    level: float = 6.0,
    effect: float = 0.0,
    build_days: float = 0.0,
    persistence: float = 0.7,
    sd: float = 1.5,
    missing: float = 0.08,
    flare_rate: float = 0.0,
    flare_size: float = 2.7,
    bad_start: bool = False,
    credit_effect: float = 0.0,
    flare_credit: float | None = None,
) -> Simulated:
    """One simulated person. ``effect``: points the true level falls by the end, linearly
    (``build_days`` 0) or as 1 − exp(−t / build_days); ``bad_start``: the log starts on
    the worst week of a longer series (the person starts tracking in a bad week; the
    true level does not change); ``credit_effect``: points of next-week pain per full
    week of the routine (0 = none); flares start on ``flare_rate`` of days, last 1-3 days
    and add ``flare_size`` points; ``flare_credit``: the dose credit on flare days (people
    do less in a flare; None = as on other days)."""
    rng = np.random.default_rng(seed)
    lead = 56 if bad_start else 0
    total = days + lead
    t = np.arange(total, dtype=float)
    if build_days > 0:
        shape = 1 - np.exp(-t / build_days)
        shape /= shape[-1]
    else:
        shape = t / max(total - 1, 1)
    mu = level - effect * shape
    credit = np.clip(rng.beta(4, 1.5, total), 0, 1)
    if credit_effect:
        weekly = pd.Series(credit).groupby(np.arange(total) // 7).transform("mean").to_numpy()
        lagged = np.r_[np.full(7, weekly[0]), weekly[:-7]]
        mu = mu + credit_effect * (lagged - lagged.mean())
    pain = mu + ar1(total, persistence, sd, rng)
    flare = np.zeros(total, dtype=bool)
    if flare_rate:
        for start in np.flatnonzero(rng.random(total) < flare_rate):
            flare[start : start + int(rng.integers(1, 4))] = True
        pain = pain + flare_size * flare
        if flare_credit is not None:
            credit = np.where(flare, flare_credit, credit)
    if bad_start:  # start on the worst 7-day stretch of the first 8 weeks
        weekly = np.convolve(pain[: lead + 7], np.ones(7) / 7, mode="valid")
        first = int(np.argmax(weekly[:lead]))
        keep = slice(first, first + days)
        pain, mu, credit, flare = pain[keep], mu[keep], credit[keep], flare[keep]
    rating = np.clip(np.round(pain), 0, 10)
    logged = rng.random(days) >= missing
    logged[:7] = True  # the baseline week is complete
    logged[-1] = True
    return Simulated(daily_frame(rating, logged, credit, flare), mu)


def daily_frame(
    rating: np.ndarray,
    logged: np.ndarray,
    credit: np.ndarray | None = None,
    flare: np.ndarray | None = None,
    start: pd.Timestamp = START,
) -> pd.DataFrame:
    """A daily series (see :func:`backtrack.metrics.daily_series`) from arrays: pain
    (points; NaN where not ``logged``), dose credit 0-1, flare days."""
    n = len(rating)
    credit = np.ones(n) if credit is None else credit
    flare = np.zeros(n, dtype=bool) if flare is None else flare
    index = pd.date_range(start, periods=n, freq="D", name="date").as_unit("ns")
    day = np.where(logged, np.where(flare, "flare", "routine"), "not_logged")
    return pd.DataFrame(
        {
            "logged": logged,
            "day": pd.array(day, dtype="str"),
            "pain": np.where(logged, rating, np.nan),
            "credit": np.where(logged, credit, np.nan),
            "full": logged & (credit >= 1 - 1e-9),
            "flare_marked": flare & logged,
            "flare_detected": np.zeros(n, dtype=bool),
            "flare": flare & logged,
        },
        index=index,
    )


def skip_bad_days(
    rating: np.ndarray, threshold: float, skip: float, seed: int, keep_first: int = 7
) -> np.ndarray:
    """Which days are logged (bool) when ratings ≥ ``threshold`` (points) go unlogged with
    probability ``skip`` (missing not at random); the first ``keep_first`` days and the
    last are always logged."""
    draws = np.random.default_rng(10_000 + seed).random(len(rating))
    logged = ~((np.asarray(rating) >= threshold) & (draws < skip))
    logged[:keep_first] = True
    logged[-1] = True
    return logged


@dataclass(frozen=True)
class Clinics:
    """Simulated clinics of self-trials, arrays of shape (clinics, patients): each
    patient's ``effect`` (mean of the pair differences A − B, points, + = less pain with
    B), its ``se`` (sd of the differences / √pairs), ``df`` (pairs − 1) and ``truth``
    (the patient's true effect θ_i ~ N(``mu``, ``tau``²))."""

    effect: np.ndarray
    se: np.ndarray
    df: np.ndarray
    truth: np.ndarray
    mu: float
    tau: float


def clinic_trials(
    clinics: int,
    patients: int,
    pairs: int | tuple[int, int],
    *,
    mu: float = 0.8,
    tau: float = 0.5,
    seed: int = 0,
    block_days: int = 7,
    washout_days: int = 2,
    persistence: float = 0.6,
    sd: float = 1.5,
    sd_spread: float = 0.3,
    level: float = 6.0,
) -> Clinics:
    """Self-trials of many patients (vectorised): AR(1) days of marginal SD ``sd``·exp(
    N(0, ``sd_spread``²)) (each patient their own noise), ``pairs`` pairs (or a number
    drawn uniformly from the inclusive range) of blocks in a random order, B days
    ``θ_i`` points lower; each block's mean over its days after the washout."""
    rng = np.random.default_rng(seed)
    shape = (clinics, patients)
    if isinstance(pairs, tuple):
        n_pairs = rng.integers(pairs[0], pairs[1] + 1, size=shape)
    else:
        n_pairs = np.full(shape, pairs)
    most = int(n_pairs.max())
    truth = mu + tau * rng.standard_normal(shape)
    scale = sd * np.exp(sd_spread * rng.standard_normal(shape))
    b_first = rng.random((*shape, most)) < 0.5
    shock_sd = scale * np.sqrt(1 - persistence**2)
    noise = scale * rng.standard_normal(shape)
    sums = np.zeros((*shape, most, 2))  # per pair: [A block, B block] sums after washout
    analysed = block_days - washout_days
    for day in range(2 * most * block_days):
        if day:
            noise = persistence * noise + shock_sd * rng.standard_normal(shape)
        pair, in_pair = divmod(day, 2 * block_days)
        second, in_block = divmod(in_pair, block_days)
        if in_block < washout_days:
            continue
        is_b = b_first[:, :, pair] != bool(second)
        pain = level + noise - truth * is_b
        sums[:, :, pair, 1] += np.where(is_b, pain, 0)
        sums[:, :, pair, 0] += np.where(is_b, 0, pain)
    differences = (sums[..., 0] - sums[..., 1]) / analysed
    counted = np.arange(most) < n_pairs[..., None]
    d = np.where(counted, differences, np.nan)
    effect = np.nanmean(d, axis=-1)
    se = np.nanstd(d, axis=-1, ddof=1) / np.sqrt(n_pairs)
    return Clinics(effect, se, (n_pairs - 1).astype(float), truth, mu, tau)
