"""Benchmark: load + full summary of 10 years (3650 days) of one person's log.

Prints, from one run: the median (and fastest) in-process time of ``load_log`` +
``backtrack.summary`` beside a bare ``pandas.read_csv`` of the same file (and their
ratio), the split between loading and analysis, and the wall time of a fresh
``backtrack summary`` process beside a bare ``python -c "import pandas"``; then the
calibration figures on simulated logs with a known truth (:mod:`backtrack._simulate`):
coverage of the change interval, improvement classes with no effect, regression-to-the-
mean notes, trend false positives at persistence 0.6 / 0.9 / 0.97 on 26 weeks, link false
positives. Not a timed test; targets: ≤ 30 ms in process, ≤ 1.0 s for the fresh process.
Run: ``.venv/bin/python bench/analysis.py [replicates]`` (default 1000); the calibration
only: ``--calibration [replicates]``; the missing-days bound only: ``--missing [replicates]``;
pooled self-trials (issue 29): ``--pooled [clinics]`` (default 400 per cell) and the
calibration of P(benefit >= 1 point): ``--pooled-chance [clinics]`` (default 400).
"""

from __future__ import annotations

import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from timing import timings_ms  # bench/timing.py, beside this script

import backtrack
from backtrack import pooling, stats
from backtrack._simulate import Simulated, clinic_trials, daily_frame, simulate, skip_bad_days
from backtrack.actions import load_log
from backtrack.demo import write_demo
from backtrack.routine import default_routine

DAYS = 3650
REPEATS = 21
PROCESS_REPEATS = 5
TODAY = date(2026, 11, 25)


def process_seconds(args: list[str]) -> float:
    times = []
    for _ in range(PROCESS_REPEATS):
        start = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    routine = default_routine()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "backtrack.csv"
        write_demo(path, days=DAYS, seed=1, end=date(2026, 11, 24))
        rows = sum(1 for _ in path.open()) - 1
        log = load_log(path, routine=routine)

        bare = timings_ms(lambda: pd.read_csv(path, dtype=str, keep_default_na=False), REPEATS)
        load = timings_ms(lambda: load_log(path, routine=routine), REPEATS)
        analysis = timings_ms(
            lambda: backtrack.summary(log, routine=routine, today=TODAY), REPEATS
        )

        def load_and_summarize() -> None:
            backtrack.summary(load_log(path, routine=routine), routine=routine, today=TODAY)

        total = timings_ms(load_and_summarize, REPEATS)
        print(f"log: {DAYS} days, {rows} rows, {path.stat().st_size / 1024:.0f} KiB")
        print(f"load average before: {os.getloadavg()[0]:.2f} (figures are noisy above ~1)")
        print(f"in process, {REPEATS} runs:            median   fastest")
        print(f"  pandas.read_csv (bare)          {bare[0]:7.1f} ms {bare[1]:6.1f} ms")
        print(f"  load_log (validating read)      {load[0]:7.1f} ms {load[1]:6.1f} ms")
        print(f"  summary (analysis only)         {analysis[0]:7.1f} ms {analysis[1]:6.1f} ms")
        print(
            f"  load + summary                  {total[0]:7.1f} ms {total[1]:6.1f} ms"
            "   (target <= 30 ms)"
        )
        ratios = f"{total[0] / bare[0]:7.1f} x {total[1] / bare[1]:6.1f} x"
        print(f"  ratio load + summary / read_csv {ratios}")

        python = sys.executable
        pandas_only = process_seconds([python, "-c", "import pandas"])
        command = process_seconds(
            [python, "-m", "backtrack.cli", "summary", "--csv", str(path), "--json"]
        )
        print(f"fresh process, median of {PROCESS_REPEATS} runs:")
        print(f"  python -c 'import pandas'       {pandas_only:7.2f} s")
        print(f"  backtrack summary --json        {command:7.2f} s   (target <= 1.0 s)")
    calibration(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)


def calibration_only() -> None:
    """``bench/analysis.py --calibration [replicates]``: the calibration figures only."""
    calibration(int(sys.argv[2]) if len(sys.argv) > 2 else 1000)


def _change_rates(reps: int, **kwargs) -> tuple[float, float, float, float, int]:
    """(coverage, share improved, share none/unclear, share with the regression-to-the-
    mean note, computable logs) of the change vs baseline on simulated 120-day logs."""
    covered, improved, quiet, rtm = [], [], [], []
    for seed in range(reps):
        sim = simulate(seed=seed, **kwargs)
        change = stats.change_vs_baseline(sim.daily)
        if not change.ok:
            continue
        truth = _true_change(sim)
        covered.append(change.low <= truth <= change.high)
        improved.append(change.clinical_class in stats.IMPROVED)
        quiet.append(change.clinical_class in ("none", "unclear"))
        rtm.append(change.regression_to_mean)
    means = (float(np.mean(v)) for v in (covered, improved, quiet, rtm))
    return (*means, len(covered))


def _true_change(sim: Simulated) -> float:
    """The true change (points) between the first 7 rated days and the rated days of the
    last 7: the simulated level's means over the same days the change uses."""
    pain = sim.daily["pain"].to_numpy()
    rated = np.flatnonzero(~np.isnan(pain))
    base, latest = rated[:7], rated[rated >= len(pain) - 7]
    return float(sim.level[base].mean() - sim.level[latest].mean())


def _small_n(reps: int) -> None:
    """Issue 27: coverage and shown intervals by length, power at the printed minimum
    detectable change, false trends on 8 weeks."""
    error = 100 * math.sqrt(0.95 * 0.05 / reps)
    print(f"  change vs baseline by length, no effect (Monte Carlo error ±{error:.1f} points)")
    print("    days  persistence  with interval  coverage  improvement class")
    for days in (14, 21, 28, 56, 84, 120):
        for persistence in (0.0, 0.3, 0.7, 0.9):
            changes, covered = [], []
            for seed in range(reps):
                sim = simulate(days, seed, persistence=persistence)
                change = stats.change_vs_baseline(sim.daily)
                changes.append(change)
                if change.low is None or change.high is None:
                    continue
                truth = _true_change(sim)
                covered.append(change.low <= truth <= change.high)
            shown = np.mean([c.low is not None for c in changes])
            improved = np.mean([c.clinical_class in stats.IMPROVED for c in changes])
            coverage = f"{np.mean(covered):7.1%}" if covered else "      -"
            print(
                f"    {days:4d}  {persistence:11.1f}  {shown:13.0%}  {coverage}  {improved:17.1%}"
            )
    print("  power at the printed minimum detectable change (level 6.5, a linear fall)")
    for days, persistence in ((56, 0.3), (56, 0.7), (120, 0.3), (120, 0.7), (120, 0.9)):
        printed = [
            c.mde
            for c in (
                stats.change_vs_baseline(
                    simulate(days, s, persistence=persistence, level=6.5).daily
                )
                for s in range(reps)
            )
            if c.mde is not None
        ]
        size = float(np.median(printed))
        if size > 6.5 - 1.5:
            print(
                f"    {days} days, persistence {persistence}: {size:.1f} points, beyond the scale"
            )
            continue
        effect = size * (days - 1) / (days - 7)
        found = [
            (c.low or 0) > 0
            for c in (
                stats.change_vs_baseline(
                    simulate(
                        days, reps + s, persistence=persistence, level=6.5, effect=effect
                    ).daily
                )
                for s in range(reps)
            )
        ]
        print(
            f"    {days} days, persistence {persistence}: {size:.2f} points, "
            f"found {np.mean(found):.1%}"
        )
    for persistence in (0.0, 0.6, 0.9, 0.97):
        calls = [
            stats.trend(simulate(56, seed, persistence=persistence).daily).direction != "no trend"
            for seed in range(reps)
        ]
        print(
            f"  trend on 8 weeks, no trend, persistence {persistence}: false {np.mean(calls):.1%}"
        )


def missing_days(reps: int) -> None:
    """Issue 27 item 7: coverage of the change's interval and of [missing-days bound,
    high] on 84-day logs (persistence 0.5, level 5.5, no effect) whose bad days go
    unlogged (missing not at random) or whose days are missed at random; the bound
    counts only where shown (> 10% unrated), the plain low end elsewhere."""
    print(f"  missing days, 84 days, persistence 0.5, {reps} simulated logs per line")
    print("    scenario                          logs  shown  plain  bound")
    cases: dict[str, tuple[float, float, float]] = {
        "ratings >= 7 unlogged 70%": (7, 0.7, 0.0),
        "ratings >= 7 unlogged 90%": (7, 0.9, 0.0),
        "ratings >= 6 unlogged 50%": (6, 0.5, 0.0),
        "8% missed at random": (11, 0.0, 0.08),
        "20% missed at random": (11, 0.0, 0.2),
    }
    for label, (threshold, skip, missing) in cases.items():
        plain, bound, shown = [], [], []
        for seed in range(reps):
            sim = simulate(84, seed, missing=missing, persistence=0.5, level=5.5)
            daily = sim.daily
            if skip:
                rating = daily["pain"].to_numpy()
                daily = daily_frame(rating, skip_bad_days(rating, threshold, skip, seed))
            change = stats.change_vs_baseline(daily)
            if change.low is None or change.high is None:
                continue
            truth = float(sim.level[:7].mean() - sim.level[-7:].mean())
            low = change.missing_adjusted_low
            shown.append(low is not None)
            low = change.low if low is None else low
            plain.append(change.low <= truth <= change.high)
            bound.append(low <= truth <= change.high)
        print(
            f"    {label:<32} {len(plain):5d} {np.mean(shown):6.1%} {np.mean(plain):6.1%} "
            f"{np.mean(bound):6.1%}"
        )


def calibration(reps: int) -> None:
    start = time.perf_counter()
    _small_n(reps)
    missing_days(reps)
    print(f"calibration, {reps} simulated logs per line (AR(1) days, 8% not logged):")
    print("  change vs baseline, 120 days     coverage  improved  none/unclear  RTM note")
    cases = {
        "no effect, persistence 0.3": {"persistence": 0.3},
        "no effect, persistence 0.7": {"persistence": 0.7},
        "no effect, persistence 0.9": {"persistence": 0.9},
        "no effect, with flares": {"flare_rate": 3.5 / 42},
        "no effect, bad first week": {"bad_start": True},
        "2.5-point effect (builds ~20 d)": {"effect": 2.5, "build_days": 20},
    }
    for label, kwargs in cases.items():
        coverage, improved, quiet, rtm, n = _change_rates(reps, **kwargs)
        print(
            f"    {label:<31} {coverage:7.1%}  {improved:8.1%}  {quiet:11.1%}  {rtm:8.1%}"
            f"   (n={n})"
        )
    print("  trend on 26 weeks, no trend: false 'falling'/'rising'")
    for persistence in (0.6, 0.9, 0.97):
        calls = [
            stats.trend(simulate(182, seed, persistence=persistence).daily).direction != "no trend"
            for seed in range(reps)
        ]
        print(f"    persistence {persistence:<4}                {np.mean(calls):7.1%}")
    calls = [
        not (r.low <= 0 <= r.high)
        for r in (
            stats.lagged_link(
                simulate(1000, seed, persistence=0.6, flare_rate=3.5 / 42, flare_credit=0.2).daily
            )
            for seed in range(reps)
        )
    ]
    print(f"  next-day link, no effect, flares, 1000 days: false positives {np.mean(calls):.1%}")
    calls = [
        not (r.low <= 0 <= r.high)
        for r in (
            stats.weekly_link(simulate(365, seed, persistence=0.6).daily) for seed in range(reps)
        )
    ]
    print(f"  weekly link, no effect, 365 days: false positives {np.mean(calls):.1%}")
    print(f"  ({time.perf_counter() - start:.0f} s)")


def _pooled_cell(
    clinics: int, patients: int, tau: float, pairs: int | tuple[int, int], moderate: bool, **kw
) -> tuple[float, float, float, float, float]:
    """(coverage of the mean's interval, of tau's, of the prediction interval (the
    chance a new patient's true effect falls inside, averaged), share of patients whose
    shrunken interval covers their true effect, share of clinics where some patient is
    marked as differing from the rest) over ``clinics`` simulated clinics."""
    sim = clinic_trials(
        clinics, patients, pairs, tau=tau, mu=0.8, seed=patients + int(10 * tau), **kw
    )
    mean, spread, predicted, shrunk, zero = [], [], [], [], []
    for j in range(clinics):
        r = pooling.pool_effects(sim.effect[j], sim.se[j], sim.df[j], moderate=moderate)
        assert r.mean.low is not None and r.mean.high is not None
        assert r.tau.low is not None and r.tau.high is not None
        mean.append(r.mean.low <= sim.mu <= r.mean.high)
        spread.append(r.tau.low <= tau <= r.tau.high)
        zero.append(bool(r.patients["differs"].any()))
        low, high = r.prediction_low, r.prediction_high
        assert low is not None and high is not None
        if tau == 0:
            predicted.append(float(low <= sim.mu <= high))
        else:
            new = stats.NormalDist(sim.mu, tau)
            predicted.append(new.cdf(high) - new.cdf(low))
        p = r.patients
        truth = sim.truth[j]
        shrunk.append(float(np.mean((p["shrunken_low"] <= truth) & (truth <= p["shrunken_high"]))))
    return (
        float(np.mean(mean)),
        float(np.mean(spread)),
        float(np.mean(predicted)),
        float(np.mean(shrunk)),
        float(np.mean(zero)),
    )


def pooled(clinics: int) -> None:
    """Issue 29: pooled self-trials on simulated clinics (``backtrack._simulate.
    clinic_trials``: 7-day blocks, 2 washout days, AR(1) days with persistence 0.6, each
    patient's own noise SD 1.5 x exp(N(0, 0.3^2)), true effects N(0.8, tau^2)), with the
    SEs moderated (the package's default) and taken as known (the textbook model)."""
    start = time.perf_counter()
    error = 100 * math.sqrt(0.95 * 0.05 / clinics)
    print(f"pooled self-trials, {clinics} simulated clinics per line (Monte Carlo error of a")
    print(f"coverage near 95%: +-{error:.1f} points; tau 0 lines: 'tau' = its interval reaches 0;")
    print("'apart': clinics where some patient is marked as differing from the rest)")
    for moderate in (True, False):
        print("  SEs moderated, t variance (default)" if moderate else "  SEs as known (textbook)")
        print("    patients   tau  pairs   mean    tau  predict  shrunken  apart")
        for patients in (20, 50, 200):
            for tau in (0.0, 0.5, 1.5):
                for pairs in (4, 6, 10):
                    m, t, pr, sh, ap = _pooled_cell(clinics, patients, tau, pairs, moderate)
                    print(
                        f"    {patients:8d}  {tau:4.1f}  {pairs:5d}  {m:6.1%} {t:6.1%}  "
                        f"{pr:6.1%}   {sh:6.1%} {ap:6.1%}"
                    )
    print("  4-10 pairs each, SEs moderated, noise spread (log SD of each patient's noise)")
    print("    patients   tau  spread   mean    tau  predict  shrunken  apart")
    for spread in (0.0, 0.5):
        for patients, tau in ((20, 0.0), (200, 0.0), (200, 0.5), (50, 1.5)):
            m, t, pr, sh, ap = _pooled_cell(
                clinics, patients, tau, (4, 10), True, sd_spread=spread
            )
            print(
                f"    {patients:8d}  {tau:4.1f}  {spread:6.1f}  {m:6.1%} {t:6.1%}  "
                f"{pr:6.1%}   {sh:6.1%} {ap:6.1%}"
            )
    print(f"  ({time.perf_counter() - start:.0f} s)")


def pooled_chance(clinics: int) -> None:
    """Issue 29: is P(true effect >= 1 point) from the shrunken posterior calibrated?
    Patients of ``clinics`` simulated clinics (50 patients, 4-10 pairs, true effects
    N(0.8, tau^2)), by fifths of the printed chance: its mean beside the share whose
    true effect is >= 1 point."""
    print(f"pooled self-trials: P(benefit >= 1 point), {clinics} clinics of 50 patients")
    print("    tau  printed chance  mean printed  observed  patients")
    for tau in (0.5, 1.0, 1.5):
        sim = clinic_trials(clinics, 50, (4, 10), tau=tau, mu=0.8, seed=77 + int(10 * tau))
        chance, truth = [], []
        for j in range(clinics):
            r = pooling.pool_effects(sim.effect[j], sim.se[j], sim.df[j])
            chance.append(r.patients["p_benefit"].to_numpy())
            truth.append(sim.truth[j] >= pooling.MARGIN)
        p, t = np.concatenate(chance), np.concatenate(truth)
        for low in np.arange(0, 1, 0.2):
            inside = (p >= low) & (p < low + 0.2 + 1e-12 * (low >= 0.8))
            if inside.any():
                print(
                    f"    {tau:3.1f}  {low:.1f}-{low + 0.2:.1f}       {p[inside].mean():12.3f}  "
                    f"{t[inside].mean():8.3f}  {int(inside.sum()):8d}"
                )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--calibration"]:
        calibration_only()
    elif sys.argv[1:2] == ["--pooled"]:
        pooled(int(sys.argv[2]) if len(sys.argv) > 2 else 400)
    elif sys.argv[1:2] == ["--pooled-chance"]:
        pooled_chance(int(sys.argv[2]) if len(sys.argv) > 2 else 400)
    elif sys.argv[1:2] == ["--missing"]:
        missing_days(int(sys.argv[2]) if len(sys.argv) > 2 else 1000)
    else:
        main()
