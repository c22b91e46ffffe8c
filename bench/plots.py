"""Benchmark: the trend chart to PNG and the clinic report to PDF, 1 and 10 years.

Beside the chart, in the same run: a bare matplotlib line plot of the same series (the
daily pain; same figure size, dpi and PNG compression level 1 as ``plots.png_bytes``).
The two are timed alternately, one run each in turn, so a busy spell of this shared
2-core machine slows both alike. Prints medians (and the fastest run: the minimum moves
less), the ratio of the medians and the load average before and after; not a test. The
daily series is computed once, outside the timing (the analysis' cost, see
bench/analysis.py); the report is timed whole (summary, charts, PDF).
Run: .venv/bin/python bench/plots.py
"""

from __future__ import annotations

import io
import os
import statistics
import time
from collections.abc import Callable
from datetime import date

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402
from timing import timings_ms  # noqa: E402  (bench/timing.py, beside this script)

from backtrack import plots, report  # noqa: E402
from backtrack.demo import demo_log  # noqa: E402
from backtrack.routine import default_routine  # noqa: E402

REPEATS = 15
END = date(2026, 11, 1)
DPI = 100


def trend_png(daily) -> bytes:
    return plots.png_bytes(plots.trend_figure(daily), dpi=DPI)


def bare_png(daily) -> bytes:
    fig = Figure(figsize=(9.0, 5.6))
    ax = fig.add_subplot()
    ax.plot(daily.index, daily["pain"])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


def alternating_ms(
    first: Callable[[], object], second: Callable[[], object], repeats: int
) -> tuple[tuple[float, float], tuple[float, float]]:
    """(median, fastest) wall ms of each function, after a warm-up call of each, timed
    one run of each in turn."""
    first(), second()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for function, kept in zip((first, second), times, strict=True):
            start = time.perf_counter()
            function()
            kept.append(1000 * (time.perf_counter() - start))
    (a, b) = ((statistics.median(t), min(t)) for t in times)
    return a, b


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    print(f"load average before: {load_average()} (figures are noisy above ~1 on 2 cores)")
    routine = default_routine()
    for days, label in ((365, "1 year"), (3650, "10 years")):
        log = demo_log(days, seed=3, end=END)
        daily = plots.daily_for(log, routine)
        (ours, ours_min), (bare, bare_min) = alternating_ms(
            lambda daily=daily: trend_png(daily), lambda daily=daily: bare_png(daily), REPEATS
        )
        print(
            f"trend chart to PNG, {label} ({days} days): {ours:.0f} ms median (min "
            f"{ours_min:.0f}); bare matplotlib line plot {bare:.0f} ms (min {bare_min:.0f}); "
            f"ratio {ours / bare:.2f}x (target <= 1.8x)"
        )
        one, one_min = timings_ms(
            lambda log=log: report.write_report(io.BytesIO(), log, routine=routine, today=END),
            5,
        )
        two, two_min = timings_ms(
            lambda log=log: report.write_report(
                io.BytesIO(), log, routine=routine, today=END, details=True
            ),
            5,
        )
        print(
            f"report PDF, {label}: page 1 only {one:.0f} ms median (min {one_min:.0f}; target "
            f"<= 400 ms); with the detail page {two:.0f} ms (min {two_min:.0f})"
        )
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
