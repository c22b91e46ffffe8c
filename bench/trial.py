"""Benchmark: the self-trial's exact test and ``backtrack trial result``; calibration.

Prints, from one run: the exact randomisation test over 2**16 schedules (median of
repeats) beside a plain numpy mean of the same differences (the baseline); a fresh
``backtrack trial result --json`` process on a 1-year log beside a fresh ``python -c
pass`` (interpreter start-up); and the calibration of 6-pair, 7-day-block trials
simulated as in tests/test_trial.py (coverage of the interval, rate of p < 0.05 with
and without a planted effect). Not a test. Run: .venv/bin/python bench/trial.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_trial import ROUTINE, calibrate  # noqa: E402  (the test's model)

from backtrack.demo import generate, to_csv_text  # noqa: E402
from backtrack.trial import exact_p_value, plan_trial, write_plan  # noqa: E402


def timed(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def fresh(argv: list[str], repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    d = np.random.default_rng(1).normal(-1, 1, size=16)
    exact = timed(lambda: exact_p_value(d), 20)
    bare = timed(lambda: d.mean(), 20)
    print(
        f"exact test, 16 pairs (65,536 schedules): {exact:.1f} ms median (target <= 50 ms); "
        f"numpy mean of the same 16 numbers {bare * 1000:.1f} us"
    )

    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder, "backtrack.csv")
        end = date.today() - timedelta(days=1)
        log.write_text(to_csv_text(generate(365, seed=2, end=end)))
        start = end - timedelta(days=83)
        write_plan(
            Path(folder, "trial.toml"),
            plan_trial(
                a="full",
                b="without wall squat",
                pairs=6,
                start=start,
                seed=3,
                b_without=("wall_squat",),
                routine=ROUTINE,
            ),
        )
        command = [
            sys.executable,
            "-m",
            "backtrack",
            "trial",
            "result",
            "--json",
            "--csv",
            str(log),
        ]
        ours = fresh(command)
        python = fresh([sys.executable, "-c", "pass"])
        print(
            f"fresh `backtrack trial result --json`, 1-year log: {ours:.2f} s median "
            f"(target <= 1.0 s); bare interpreter start {python:.2f} s ({ours / python:.1f}x)"
        )

    runs = 400
    for effect in (0.0, -1.5):
        coverage, rate = calibrate(effect, runs)
        print(
            f"calibration, B {-effect:+.1f} points less painful, {runs} simulated 6-pair trials: "
            f"interval covers the truth {coverage:.1%}, p < 0.05 in {rate:.1%}"
        )


if __name__ == "__main__":
    main()
