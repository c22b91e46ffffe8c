"""Benchmark: one durable append to the log at 1, 10 and 100 years of rows.

Beside it, in the same run and on the same disk: a bare open-append-write-fsync of the
same bytes (the floor), and a pandas read-modify-write of the whole file (what an
append-only store avoids). The last size is run twice: once ending in a one-line row,
once ending in a multi-line quoted note (where an open-quote check could cost). Then the
rare path: the first append after another program changed the file, which reads it
once. Prints medians, p99s and ratios; not a test.
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
from backtrack.schema import COLUMNS
from backtrack.store import append_row, row_line

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
    line = row_line(COLUMNS, row).encode()  # the very bytes append_row writes
    print(f"one durable append, {REPEATS} repeats per size, same run (ms)")
    print(
        f"{'rows':>7} {'ours med':>9} {'ours p99':>9} {'bare med':>9} {'bare p99':>9} "
        f"{'ratio med':>9} {'pandas rw':>10}"
    )
    multi_line = entries[-1].to_row() | {"note": 'slept badly\nwoke at 4, "stiff"\nbetter'}
    cases = [(365, None), (3650, None), (36500, None), (36500, multi_line)]
    with tempfile.TemporaryDirectory() as folder:
        for rows, last in cases:
            text = to_csv_text(entries[-rows:])
            label = f"{rows}" + (" +note" if last else "")
            ours_path = Path(folder, f"ours{label}.csv")
            bare_path = Path(folder, f"bare{label}.csv")
            ours_path.write_text(text)
            bare_path.write_text(text)
            if last:  # the file ends in a multi-line quoted note, written by us
                append_row(ours_path, last)
                bare_append(bare_path, row_line(COLUMNS, last).encode())
                ours_path.touch()  # an outside change: the first timed append reads it
            ours, bare = [], []
            for _ in range(REPEATS):  # interleaved, so both see the same disk weather
                start = time.perf_counter()
                append_row(ours_path, row)
                ours.append((time.perf_counter() - start) * 1000)
                start = time.perf_counter()
                bare_append(bare_path, line)
                bare.append((time.perf_counter() - start) * 1000)
            rw_path = Path(folder, f"rw{label}.csv")
            rw_path.write_text(text)
            rewrites = []
            for _ in range(10):
                start = time.perf_counter()
                pandas_rewrite(rw_path, row)
                rewrites.append((time.perf_counter() - start) * 1000)
            om, bm = statistics.median(ours), statistics.median(bare)
            rw = statistics.median(rewrites)
            print(
                f"{label:>7} {om:>9.3f} {percentile(ours, 0.99):>9.3f} {bm:>9.3f} "
                f"{percentile(bare, 0.99):>9.3f} {om / bm:>8.2f}x {rw:>10.1f}"
            )
        rare = []
        for _ in range(10):
            os.utime(ours_path)  # another program touched it: the next append reads it
            start = time.perf_counter()
            append_row(ours_path, row)
            rare.append((time.perf_counter() - start) * 1000)
        print(
            f"first append after an outside change ({len(ours_path.read_bytes()) >> 20} MiB, "
            f"reads the whole file once): median {statistics.median(rare):.1f} ms"
        )


if __name__ == "__main__":
    main()
