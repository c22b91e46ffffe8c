"""Benchmark: load + full summary of 10 years (3650 days) of one person's log.

Prints, from one run: the median (and fastest) in-process time of ``load_log`` +
``backtrack.summary`` beside a bare ``pandas.read_csv`` of the same file (and their
ratio), the split between loading and analysis, and the wall time of a fresh
``backtrack summary`` process beside a bare ``python -c "import pandas"``. Not a timed
test; targets: ≤ 25 ms in process, ≤ 1.0 s for the fresh process.
Run: ``.venv/bin/python bench/analysis.py``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import pandas as pd
from timing import timings_ms  # bench/timing.py, beside this script

import backtrack
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
            "   (target <= 25 ms)"
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


if __name__ == "__main__":
    main()
