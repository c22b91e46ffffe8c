"""Timing helpers shared by the benchmark scripts (run as ``python bench/NAME.py``)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def timings_ms(function: Callable[[], object], repeats: int = 30) -> tuple[float, float]:
    """Median and fastest wall time of ``function()`` in milliseconds, after one warm-up
    call. The fastest run shows the cost with the least interference from the rest of
    this shared machine; the median is what a user typically waits."""
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times), 1000 * min(times)


def median_ms(function: Callable[[], object], repeats: int = 30) -> float:
    """Median wall time of ``function()`` in milliseconds, after one warm-up call."""
    return timings_ms(function, repeats)[0]
