"""Coverage of the PEG change's 95% interval (docs/analysis.md, "Change in function").

Simulated weekly PEGs: each item = a level falling by 2 points + AR(1) week-to-week
noise (SD 1 point, persistence 0, 0.3, 0.6) + item noise (SD 0.5), rounded to whole
points and clipped to 0-10; the level falls in a straight line or in one step half-way.
Prints, per cell: runs with an interval, coverage of the true change (first − latest
level), the median width and minimum detectable effect (points); then the power at
the printed minimum detectable effect. Not a test (the test is
tests/test_function.py's smaller run). Run: .venv/bin/python bench/peg_coverage.py
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from backtrack import function
from backtrack.measures import PEG, Answers

START = date(2026, 1, 5)


def weekly_answers(
    rng: np.random.Generator,
    weeks: int,
    persistence: float,
    change: float,
    shape: str,
    *,
    sd: float = 1.0,
    start: float = 6.0,
) -> list[Answers]:
    """One simulated patient's weekly PEG answers (see the module docstring; ``sd`` the
    week-to-week SD, ``start`` the first week's level, points)."""
    noise = np.empty(weeks)
    noise[0] = rng.normal(0, sd)
    for week in range(1, weeks):
        noise[week] = persistence * noise[week - 1] + rng.normal(
            0, sd * np.sqrt(1 - persistence**2)
        )
    steps = np.arange(weeks)
    if shape == "line":
        level = start - change * steps / (weeks - 1)
    else:
        level = np.where(steps < weeks // 2, start, start - change)
    items = level[:, None] + noise[:, None] + rng.normal(0, sd / 2, (weeks, 3))
    items = np.clip(np.round(items), 0, 10).astype(int)
    return [
        Answers(PEG, START + timedelta(days=7 * week), tuple(int(v) for v in items[week]))
        for week in range(weeks)
    ]


def cell(weeks: int, persistence: float, shape: str, runs: int, seed: int = 1) -> str:
    rng = np.random.default_rng(seed)
    hits, widths, mdes = 0, [], []
    for _ in range(runs):
        change = function.peg_change(weekly_answers(rng, weeks, persistence, 2.0, shape))
        if change.low is None or change.high is None or change.mde is None:
            continue
        hits += change.low <= 2.0 <= change.high
        widths.append(change.high - change.low)
        mdes.append(change.mde)
    covered = hits / max(len(widths), 1)
    return (
        f"weeks={weeks:2d} persistence={persistence} {shape:4s} runs={len(widths)} "
        f"coverage={covered:.3f} width={np.median(widths):.2f} mde={np.median(mdes):.2f}"
    )


def power_at_the_mde(weeks: int, persistence: float, runs: int, seed: int = 2) -> str:
    """The median minimum detectable effect printed with no effect, then how often an
    interval excludes 0 when the level truly falls by that much (start 8.5 points)."""
    rng = np.random.default_rng(seed)
    flat = [
        function.peg_change(weekly_answers(rng, weeks, persistence, 0.0, "line", start=8.5))
        for _ in range(runs)
    ]
    mde = float(np.median([c.mde for c in flat if c.mde is not None]))
    fall = [
        function.peg_change(weekly_answers(rng, weeks, persistence, mde, "line", start=8.5))
        for _ in range(runs)
    ]
    found = np.mean([c.low is not None and c.low > 0 for c in fall])
    return f"weeks={weeks} persistence={persistence}: mde={mde:.2f} found={found:.3f}"


if __name__ == "__main__":
    for weeks in (8, 12, 16, 26):
        for persistence in (0.0, 0.3, 0.6):
            for shape in ("line", "step"):
                print(cell(weeks, persistence, shape, 400))
    for weeks in (8, 16):
        print(power_at_the_mde(weeks, 0.3, 400))
