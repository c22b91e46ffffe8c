"""Benchmark: load and validate 10 years (3650 days) of one person's log.

Beside it, in the same run: a bare ``pandas.read_csv`` of the same file (no validation).
Prints medians and the ratio; not a test. Run: .venv/bin/python bench/load.py
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import pandas as pd
from timing import median_ms  # bench/timing.py, beside this script

from backtrack.demo import generate, to_csv_text
from backtrack.store import read_log

REPEATS = 30


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "ten-years.csv")
        path.write_text(to_csv_text(generate(3650, seed=3, end=date(2026, 11, 1))))
        rows = len(read_log(path).entries)
        ours = median_ms(lambda: read_log(path), REPEATS)
        bare = median_ms(lambda: pd.read_csv(path), REPEATS)
        print(
            f"load + validate {rows} rows (10 years): {ours:.1f} ms median; "
            f"bare pandas.read_csv {bare:.1f} ms; ratio {ours / bare:.1f}x (target <= 25 ms)"
        )


if __name__ == "__main__":
    main()
