"""Benchmark: one durable append to the log at 1, 10 and 100 years of rows.

Beside it, in the same run and on the same disk: a bare open-append-write-fsync of the
same bytes (the floor), and a pandas read-modify-write of the whole file (what an
append-only store avoids). Prints medians, p99s and ratios; not a test.
Run: .venv/bin/python bench/append.py
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import pandas as pd

from backtrack.demo import generate, to_csv_text
from backtrack.schema import COLUMNS, csv_line
from backtrack.store import append_row

REPEATS = 300


def bare_append(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def pandas_rewrite(path: Path, row: dict[str, str]) -> None:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame = pd.concat([frame, pd.DataFrame([row])], ignore_index=True)
    frame.to_csv(path, index=False)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    entries = generate(36500, seed=7, end=date(2026, 11, 1))
    row = entries[-1].to_row()
    line = csv_line([row[c] for c in COLUMNS]).encode()
    print(f"one durable append, {REPEATS} repeats per size, same run (ms)")
    print(
        f"{'rows':>7} {'ours med':>9} {'ours p99':>9} {'bare med':>9} {'bare p99':>9} "
        f"{'ratio med':>9} {'pandas rw':>10}"
    )
    with tempfile.TemporaryDirectory() as folder:
        for rows in (365, 3650, 36500):
            text = to_csv_text(entries[-rows:])
            ours_path, bare_path = Path(folder, f"ours{rows}.csv"), Path(folder, f"bare{rows}.csv")
            ours_path.write_text(text)
            bare_path.write_text(text)
            ours, bare = [], []
            for _ in range(REPEATS):  # interleaved, so both see the same disk weather
                start = time.perf_counter()
                append_row(ours_path, row)
                ours.append((time.perf_counter() - start) * 1000)
                start = time.perf_counter()
                bare_append(bare_path, line)
                bare.append((time.perf_counter() - start) * 1000)
            rw_path = Path(folder, f"rw{rows}.csv")
            rw_path.write_text(text)
            rewrites = []
            for _ in range(10):
                start = time.perf_counter()
                pandas_rewrite(rw_path, row)
                rewrites.append((time.perf_counter() - start) * 1000)
            om, bm = statistics.median(ours), statistics.median(bare)
            rw = statistics.median(rewrites)
            print(
                f"{rows:>7} {om:>9.3f} {percentile(ours, 0.99):>9.3f} {bm:>9.3f} "
                f"{percentile(bare, 0.99):>9.3f} {om / bm:>8.2f}x {rw:>10.1f}"
            )


if __name__ == "__main__":
    main()
