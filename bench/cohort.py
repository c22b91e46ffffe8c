"""Benchmark: the cohort view on 1000 patients × 10 years (≈ 3.5 M saves), three engines.

Usage: ``.venv/bin/python bench/cohort.py [--patients 1000] [--days 3650] [--fresh]``

The demo logs are generated once (two processes, with ``backtrack.demo``) into
``$TMPDIR/backtrack-bench-cohort-<patients>x<days>/`` and reused by later runs
(``--fresh`` regenerates); generation is never timed. Each engine then runs in its own
fresh process doing the same work — load every log with validation, keep each date's
latest save, dose credit, per-patient days logged, baseline, latest 7-day mean, change
and class, 28-day adherence, weekly means and the Theil–Sen trend — and reports:

* ``in process``: seconds from the first read to the finished table (imports excluded);
* ``process``: wall seconds of the whole child process (interpreter and imports too);
* ``peak``: the child's peak resident memory (``ru_maxrss``).

Engines: ``scan`` (the floor: a bare polars read of the same files as text, no
validation or analysis; the polars pipeline is printed as a ratio of it), ``polars``
(:func:`backtrack.cohort.summarise`, the one the package uses), ``duckdb`` (the same
steps in SQL, below, validated the same way: each distinct text once with the schema's
parsers, ``recorded_at`` by pattern per row), ``pandas`` (the single-patient reference:
:func:`backtrack.store.read_log` and :mod:`backtrack.metrics` / :mod:`backtrack.stats`
per file). The tables are checked to agree before timings are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

END = date(2026, 3, 1)
ENGINES = ("scan", "polars", "duckdb", "pandas")
CHECKED = ("days_logged", "baseline", "pain_7day_mean", "change_points", "adherence_28day")


def _write_one(job: tuple[str, int, int]) -> int:
    from backtrack.demo import generate, to_csv_text

    path, days, seed = job
    entries = generate(days, seed, end=END - timedelta(days=seed % 30))
    text = to_csv_text(entries)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    return len(entries)


def cohort_folder(patients: int, days: int, fresh: bool) -> Path:
    """The folder of demo logs, generated on first use (not timed)."""
    folder = Path(tempfile.gettempdir()) / f"backtrack-bench-cohort-{patients}x{days}"
    done = folder / "COMPLETE"
    if done.exists() and not fresh:
        return folder
    folder.mkdir(mode=0o700, exist_ok=True)
    done.unlink(missing_ok=True)
    jobs = [(str(folder / f"patient{i:04d}.csv"), days, i) for i in range(patients)]
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        rows = sum(pool.map(_write_one, jobs, chunksize=16))
    done.write_text(f"{rows}\n", encoding="utf-8")
    print(f"generated {patients} logs, {rows} saves, in {time.perf_counter() - start:.0f} s")
    return folder


# ----------------------------------------------------------------------------- engines


def run_scan(paths: list[str]) -> None:
    """The floor: polars reading the same files as text (explicit schema, all columns,
    no validation, no analysis)."""
    import polars as pl

    from backtrack.schema import COLUMNS

    pl.scan_csv(paths, schema=dict.fromkeys(COLUMNS, pl.String)).collect()


def run_polars(paths: list[str]):
    from backtrack.cohort import summarise

    return summarise(paths)


DUCKDB_LOAD = """
CREATE TEMP TABLE raw AS
SELECT filename AS path, row_number() OVER () AS row, * EXCLUDE (filename, note)
FROM read_csv(
    $paths, header = true, filename = true, all_varchar = true, strict_mode = true,
    quote = '"', escape = '"', null_padding = false, parallel = true,
    columns = {'recorded_at': 'VARCHAR', 'date': 'VARCHAR', 'pain': 'VARCHAR',
               'exercises': 'VARCHAR', 'day': 'VARCHAR', 'where': 'VARCHAR',
               'note': 'VARCHAR'})
"""

DUCKDB_CHECKS = """
SELECT list(DISTINCT date), list(DISTINCT pain), list(DISTINCT exercises), list(DISTINCT day),
       list(DISTINCT "where"),
       count(*) FILTER (NOT coalesce(regexp_full_match(recorded_at, $recorded), false))
FROM raw
"""

DUCKDB_DAYS = """
CREATE TEMP TABLE days AS
SELECT *, max(date) OVER (PARTITION BY path) AS last FROM (
    SELECT path, CAST(date AS DATE) AS date, CAST(nullif(pain, '') AS INTEGER) AS pain,
           coalesce(nullif(day, ''), 'routine') AS day, credits.credit
    FROM raw JOIN credits ON coalesce(raw.exercises, '') = credits.exercises
    QUALIFY row_number() OVER (
        PARTITION BY path, date ORDER BY CAST(recorded_at AS TIMESTAMPTZ) DESC, row DESC) = 1
)
"""

DUCKDB_PATIENTS = """
WITH summary AS (
    SELECT path, count(*) AS days_logged, min(date) AS first_day, max(date) AS last_day,
           avg(pain) FILTER (date >= last - 6) AS pain_7day_mean,
           count(pain) FILTER (date >= last - 6) AS pain_7day_n,
           avg(credit) FILTER (date >= last - 27 AND day = 'routine') AS adherence_28day,
           count(*) FILTER (date >= last - 27 AND day = 'routine') AS adherence_28day_n
    FROM days GROUP BY path),
baseline AS (
    SELECT path, avg(pain) AS baseline, count(*) AS baseline_n, max(date) AS baseline_end
    FROM (SELECT path, date, pain, row_number() OVER (PARTITION BY path ORDER BY date) AS k
          FROM days WHERE pain IS NOT NULL) WHERE k <= 7 GROUP BY path),
weeks AS (
    SELECT path, list(week ORDER BY week) AS week, list(mean ORDER BY week) AS mean FROM (
        SELECT path, week, avg(pain) AS mean, count(pain) AS n FROM (
            SELECT path, pain, CAST(date_trunc('week', date) + INTERVAL 6 DAY AS DATE) AS week,
                   max(CAST(date_trunc('week', date) + INTERVAL 6 DAY AS DATE))
                       OVER (PARTITION BY path) AS last_week
            FROM days)
        WHERE week > last_week - INTERVAL 26 WEEK AND pain IS NOT NULL
        GROUP BY path, week) WHERE n >= 4 GROUP BY path)
SELECT * FROM summary LEFT JOIN baseline USING (path) LEFT JOIN weeks USING (path)
"""


def run_duckdb(paths: list[str]):
    """The same steps in SQL, validated the same way as the polars path: each distinct
    field text once with the schema's parsers, ``recorded_at`` by pattern per row; dose
    credit per distinct ``exercises`` text, joined back."""
    import duckdb
    import pandas as pd

    from backtrack import cohort, metrics, stats
    from backtrack.errors import FieldError
    from backtrack.routine import default_routine

    con = duckdb.connect()
    con.execute(DUCKDB_LOAD, {"paths": paths})
    *distinct, bad = con.execute(DUCKDB_CHECKS, {"recorded": cohort._RECORDED}).fetchone()
    for values, parser in zip(distinct, cohort._PARSERS.values(), strict=True):
        for value in values:
            try:
                parser(value or "")  # DuckDB reads an empty field as NULL
            except FieldError:
                bad += 1
    if bad:
        raise SystemExit(f"duckdb bench expects clean logs; {bad} bad value(s) found")
    texts = pd.Series([text or "" for text in distinct[2]], dtype=object)
    credits = pd.DataFrame(  # noqa: F841 (read by the SQL below)
        {"exercises": texts, "credit": metrics.dose_credits(texts, default_routine()).mean(axis=1)}
    )
    con.execute(DUCKDB_DAYS)
    rows = {r["path"]: r for r in con.execute(DUCKDB_PATIENTS).df().to_dict("records")}
    table = []
    for path in paths:
        row = rows[path]
        first, last, base_end = (
            pd.Timestamp(row[k]).date() for k in ("first_day", "last_day", "baseline_end")
        )
        weeks = [pd.Timestamp(w).date() for w in row["week"]]
        baseline = row["baseline"] if row["baseline_n"] >= 7 else None
        latest = row["pain_7day_mean"] if row["pain_7day_n"] >= 4 else None
        points = None
        if baseline is not None and latest is not None and last - timedelta(days=6) > base_end:
            points = stats.classify_change(baseline, latest)[1]
        slope = None
        if len(weeks) >= stats.MIN_WEEKS:
            x = [(w - weeks[0]).days // 7 for w in weeks]
            slope = stats.theil_sen(x, row["mean"])[0]
        table.append(
            {
                **row,
                "baseline": baseline,
                "pain_7day_mean": latest,
                "change_points": points,
                "trend_per_week": slope,
                "first_day": first,
            }
        )
    return pd.DataFrame.from_records(table)


def run_pandas(paths: list[str]):
    import pandas as pd

    from backtrack import metrics, stats
    from backtrack.routine import default_routine
    from backtrack.store import read_log

    routine = default_routine()
    rows = []
    for path in paths:
        log = read_log(path, strict=False, known_exercises=routine.ids)
        daily = metrics.daily_series(log.entries, routine)
        change = stats.change_vs_baseline(daily)
        rows.append(
            {
                "path": path,
                "days_logged": int(daily["logged"].sum()),
                "baseline": change.baseline if change.baseline is not None else None,
                "pain_7day_mean": metrics.latest_pain_mean(daily).value,
                "change_points": change.estimate,
                "change_class": change.clinical_class,
                "adherence_28day": metrics.adherence_window(daily, 28).value,
                "trend_per_week": stats.trend(daily).estimate,
            }
        )
    return pd.DataFrame.from_records(rows)


def child(engine: str, folder: str, result_path: str) -> None:
    """Run one engine on the folder; write timing, peak memory and the table."""
    from backtrack.cohort import log_files

    paths = [str(p) for p in log_files(folder)]
    runner = {"scan": run_scan, "polars": run_polars, "duckdb": run_duckdb, "pandas": run_pandas}[
        engine
    ]
    start = time.perf_counter()
    table = runner(paths)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    rows = None
    if table is not None:
        columns = ["path", *[c for c in CHECKED if c in table.columns], "trend_per_week"]
        records = table[columns].astype(object).where(table[columns].notna(), None)
        rows = records.to_dict("records")
    with open(result_path, "w", encoding="utf-8") as handle:
        json.dump(
            {"seconds": seconds, "peak": peak, "rows": rows},
            handle,
            default=float,
        )


def _agree(a: list[dict], b: list[dict]) -> int:
    """How many (patient, number) pairs differ by more than 1e-9."""
    differ = 0
    for x, y in zip(a, b, strict=True):
        for key in (*CHECKED, "trend_per_week"):
            u, v = x.get(key), y.get(key)
            if (u is None) != (v is None) or (u is not None and abs(u - v) > 1e-9):
                differ += 1
    return differ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--days", type=int, default=3650)
    parser.add_argument("--fresh", action="store_true", help="regenerate the demo logs")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--repeat", type=int, default=1, help="runs per engine; best is shown")
    parser.add_argument("--child", nargs=3, metavar=("ENGINE", "FOLDER", "OUT"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    folder = cohort_folder(args.patients, args.days, args.fresh)
    rows = int((folder / "COMPLETE").read_text().strip())
    print(f"{args.patients} patients x {args.days} days: {rows} saves in {folder}")
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} cores, load {load:.2f}; each engine in a fresh process")
    results = {}
    for engine in args.engines.split(","):
        runs = []
        for _ in range(args.repeat):
            with tempfile.NamedTemporaryFile(suffix=".json") as out:
                start = time.perf_counter()
                command = [sys.executable, __file__, "--child", engine, str(folder), out.name]
                subprocess.run(command, check=True)
                wall = time.perf_counter() - start
                runs.append(
                    {**json.loads(Path(out.name).read_text(encoding="utf-8")), "wall": wall}
                )
        results[engine] = min(runs, key=lambda run: run["seconds"])
    base = results.get("polars") or next(iter(results.values()))
    best = f" (best of {args.repeat})" if args.repeat > 1 else ""
    print(
        f"{'engine':<8} {'in process':>11} {'process':>9} {'peak':>10} {'vs polars':>10}  "
        f"agrees{best}"
    )
    for engine, result in results.items():
        ratio = result["seconds"] / base["seconds"]
        if result["rows"] is None:
            verdict = "(bare read of the text, no validation or analysis)"
        else:
            differ = _agree(base["rows"], result["rows"])
            verdict = "yes" if differ == 0 else f"NO ({differ} numbers differ)"
        print(
            f"{engine:<8} {result['seconds']:>9.2f} s {result['wall']:>7.2f} s "
            f"{result['peak'] / 2**30:>6.2f} GiB {ratio:>9.2f}x  {verdict}"
        )
    if "scan" in results and "polars" in results:
        floor, full = results["scan"]["seconds"], results["polars"]["seconds"]
        print(
            f"polars / bare scan: {full / floor:.2f}x; {full - floor:+.2f} s for validation, "
            "latest save per date and the per-patient analysis"
        )


if __name__ == "__main__":
    main()
