"""Benchmark: one person's 10-year log (3,650 days), read and summarised.

In process, timed in interleaved rounds (each round runs every case once, so a busy
spell of this shared machine slows them alike): a bare ``pandas.read_csv`` of the file
(no validation), the validated read with the store's strict reader alone (the fast path
switched off: what ``read_log`` did before it) and as ``read_log`` does it now, and load
+ summary both ways; each as a median and as a ratio to the bare read of the same run.
Then, in fresh processes: ``python -X importtime -c "import backtrack.cli"`` (the
cumulative import time of ``backtrack.cli``, median of 7) and ``backtrack summary
--json`` on the log (wall time, median of 5). Prints measured numbers; not a test.

Run: ``.venv/bin/python bench/load.py [--before DIR]``. ``--before DIR``: also the fresh-
process figures of the package in ``DIR`` (e.g. ``git archive main backtrack | tar -x
-C DIR``), run alternately with this checkout's, and the modules one imports at start-up
that the other does not.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from unittest import mock

import pandas as pd

import backtrack
from backtrack import store
from backtrack.actions import load_log
from backtrack.demo import write_demo
from backtrack.routine import default_routine

DAYS = 3650
ROUNDS = 21
IMPORT_RUNS = 7
PROCESS_RUNS = 5
TODAY = date(2026, 11, 25)


def strict_only(function: Callable[[], object]) -> Callable[[], object]:
    """``function`` run with the store's fast path switched off (the strict reader alone)."""

    def run() -> object:
        with mock.patch.object(store, "parse_clean_log", return_value=None):
            return function()

    return run


def interleaved_ms(
    cases: dict[str, Callable[[], object]], rounds: int
) -> dict[str, tuple[float, float, float]]:
    """Median and fastest wall time and median CPU time (ms) of each case over ``rounds``
    rounds, after one warm-up each. The fastest run and the CPU time show the cost with
    the least interference from the rest of this shared machine; the median wall time is
    what a user typically waits."""
    for function in cases.values():
        function()
    walls: dict[str, list[float]] = {name: [] for name in cases}
    cpus: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, function in cases.items():
            cpu, start = time.process_time(), time.perf_counter()
            function()
            walls[name].append(time.perf_counter() - start)
            cpus[name].append(time.process_time() - cpu)
    return {
        name: tuple(
            1000 * x
            for x in (
                statistics.median(walls[name]),
                min(walls[name]),
                statistics.median(cpus[name]),
            )
        )
        for name in cases
    }


def fresh(args: list[str], source: str | None, folder: str) -> subprocess.CompletedProcess[str]:
    """``args`` in a fresh process started in ``folder``, with the package from ``source``
    (a folder holding ``backtrack/``) when given, else this checkout's."""
    env = dict(os.environ)
    if source:
        env["PYTHONPATH"] = source
    return subprocess.run(args, check=True, capture_output=True, text=True, cwd=folder, env=env)


def import_time(source: str | None, folder: str) -> tuple[float, set[str]]:
    """Cumulative ``import backtrack.cli`` time (ms, from ``-X importtime``) and the
    modules imported."""
    done = fresh(
        [sys.executable, "-X", "importtime", "-c", "import backtrack.cli"], source, folder
    )
    modules = set()
    cumulative = float("nan")
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, total, name = (part.strip() for part in line.split(":", 1)[1].split("|"))
        if not total.isdigit():
            continue  # the header line
        modules.add(name)
        if name == "backtrack.cli":
            cumulative = int(total) / 1000
    return cumulative, modules


def wall_seconds(args: list[str], source: str | None, folder: str) -> float:
    start = time.perf_counter()
    fresh(args, source, folder)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--before", help="a folder holding the previous backtrack/ package")
    before = parser.parse_args().before
    routine = default_routine()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "backtrack.csv"
        write_demo(path, days=DAYS, seed=1, end=date(2026, 11, 24))
        log = load_log(path, routine=routine)
        assert store.parse_clean_log(path.read_bytes(), str(path)) is not None  # fast path

        def load_and_summarize() -> None:
            backtrack.summary(load_log(path, routine=routine), routine=routine, today=TODAY)

        print(f"log: {DAYS} days, {len(log.entries)} rows, {path.stat().st_size / 1024:.0f} KiB")
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        cases = {
            "bare pandas.read_csv": lambda: pd.read_csv(path),
            "validated read, strict reader alone (before)": strict_only(
                lambda: load_log(path, routine=routine)
            ),
            "validated read, read_log now": lambda: load_log(path, routine=routine),
            "load + summary, strict reader alone (before)": strict_only(load_and_summarize),
            "load + summary now": load_and_summarize,
        }
        timed = interleaved_ms(cases, ROUNDS)
        bare = timed["bare pandas.read_csv"]
        print(
            f"in process, {ROUNDS} interleaved rounds; ratio to the bare read in brackets:\n"
            f"  {'':46s}   median wall     fastest wall      median CPU"
        )
        for name, figures in timed.items():
            shown = (
                f"{ms:7.2f} ms ({ms / base:5.2f}x)" for ms, base in zip(figures, bare, strict=True)
            )
            print(f"  {name:46s} " + " ".join(shown))
        before_read = timed["validated read, strict reader alone (before)"]
        now_read = timed["validated read, read_log now"]
        speedups = " ".join(f"{b / n:.2f}x" for b, n in zip(before_read, now_read, strict=True))
        print(f"  validated read, strict reader alone / now (wall, fastest, CPU): {speedups}")

        sources = {"this checkout": None} | ({"before": before} if before else {})
        imports: dict[str, list[float]] = {name: [] for name in sources}
        modules: dict[str, set[str]] = {}
        for _ in range(IMPORT_RUNS):
            for name, source in sources.items():
                milliseconds, modules[name] = import_time(source, folder)
                imports[name].append(milliseconds)
        command = [sys.executable, "-m", "backtrack.cli", "summary", "--csv", str(path), "--json"]
        walls: dict[str, list[float]] = {name: [] for name in sources}
        for _ in range(PROCESS_RUNS):
            for name, source in sources.items():
                walls[name].append(wall_seconds(command, source, folder))
        print(f"fresh processes (import: median of {IMPORT_RUNS}; command: of {PROCESS_RUNS}):")
        for name in sources:
            print(
                f"  {name:14s} import backtrack.cli {statistics.median(imports[name]):6.1f} ms"
                f" ({len(modules[name])} modules); backtrack summary --json "
                f"{statistics.median(walls[name]):5.2f} s"
            )
        if before:
            now, then = modules["this checkout"], modules["before"]
            print(f"  modules imported only now: {sorted(now - then)}")
            print(f"  modules imported only before: {sorted(then - now)}")
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
