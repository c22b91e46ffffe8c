"""The cohort view: one row per patient log, over a folder of logs, computed with polars.

The columnar part runs in polars (chosen over DuckDB on ``bench/cohort.py``: faster on
this machine for the same work): read every log at once with an explicit all-text
schema, validate each field with the same rules as :mod:`backtrack.schema`, keep each
date's latest save, compute dose credit, and aggregate per patient. Only a few numbers
per patient are left to Python: the clinical class (:func:`backtrack.stats.classify_change`)
and the Theil–Sen trend over at most 26 weekly means (:func:`backtrack.stats.theil_sen`).

Each number has the definition of the single-patient :func:`backtrack.summary` (the tests
check they agree): ``days_logged`` (dates with a save); ``baseline`` (mean pain of the
first 7 rated days, points 0-10); ``pain_7day_mean`` (the 7 calendar days ending on the
last logged day, ≥ 4 rated); ``change_points`` = baseline − latest (positive = better),
``change_percent`` (% of baseline) and ``change_class``; ``adherence_28day`` (mean dose
credit 0-1 of logged routine days in the 28 days ending on the last logged day; rest,
flare and unlogged days left out); ``trend_per_week`` (Theil–Sen slope of weekly mean
pain, points per week, weeks with ≥ 4 rated days among the last 26, ≥ 6 such weeks) with
its 95% interval. One routine (default: the article's) applies to every patient.

A file the fast path cannot vouch for (a header in another order, a BOM, a torn or
malformed row) is read by :func:`backtrack.store.read_log`: its problems are reported
by file, line and column, and its valid rows still count, as in ``backtrack summary``.
A file that is not a log at all gets a row with its problem and no numbers; the other
patients are computed regardless.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

from . import metrics, stats
from .errors import FieldError, LogProblem
from .routine import Routine, default_routine
from .schema import COLUMNS, parse_date, parse_day, parse_exercises, parse_where
from .store import read_log

LOW_ADHERENCE = 0.6
"""Below this 28-day adherence (fraction) a patient is flagged (Jones et al. 2025: < 60%)."""
_HEADER = ",".join(COLUMNS)
_RECORDED = (
    r"^\d{4}-\d{2}-\d{2}T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,6})?"
    r"[+-](?:[01]\d|2[0-3]):[0-5]\d$"
)
COLUMNS_OUT = (
    "patient",
    "path",
    "days_logged",
    "first_day",
    "last_day",
    "baseline",
    "pain_7day_mean",
    "pain_7day_n",
    "change_points",
    "change_percent",
    "change_class",
    "adherence_28day",
    "adherence_28day_n",
    "trend_per_week",
    "trend_low",
    "trend_high",
    "trend_weeks",
    "problems",
)


def log_files(folder: str | os.PathLike[str]) -> list[Path]:
    """The ``*.csv`` logs directly inside ``folder``, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FieldError("folder", "a folder of patient logs (*.csv)", str(folder))
    return sorted(p for p in folder.glob("*.csv") if p.is_file())


# ----------------------------------------------------------------------------- loading


def _fast_candidates(paths: list[str]) -> tuple[list[str], list[str]]:
    """Split into files whose header, last byte and quotes allow the fast path, and the
    rest (read with :func:`read_log`)."""
    fast, careful = [], []
    for path in paths:
        try:
            with open(path, "rb") as handle:
                head = handle.read(len(_HEADER) + 2)
                handle.seek(0, os.SEEK_END)
                size = handle.tell()
                handle.seek(max(size - 1, 0))
                last = handle.read(1)
        except OSError:
            careful.append(path)
            continue
        first_line = head.split(b"\n", 1)[0].rstrip(b"\r")
        if first_line == _HEADER.encode() and last == b"\n" and size > len(_HEADER) + 1:
            fast.append(path)
        else:
            careful.append(path)
    return fast, careful


def _read_fast(paths: list[str]) -> tuple[pl.DataFrame, list[str]]:
    """All ``paths`` read as text in one polars call; files polars refuses are returned
    apart (then each is tried alone, so one bad file does not stop the others)."""
    if not paths:
        return _empty_text(), []
    try:
        return _read_text(paths), []
    except (pl.exceptions.PolarsError, OSError):
        pass
    frames, refused = [], []
    for path in paths:
        try:
            frames.append(_read_text([path]))
        except (pl.exceptions.PolarsError, OSError):
            refused.append(path)
    return (pl.concat(frames) if frames else _empty_text()), refused


def _read_text(paths: list[str]) -> pl.DataFrame:
    return (
        pl.scan_csv(
            paths,
            schema=dict.fromkeys(COLUMNS, pl.String),
            has_header=True,
            empty_string_is_null=False,
            include_file_paths="path",
            row_index_name="row",
            raise_if_empty=False,
        )
        .drop("note")  # parsed (so it must be a proper CSV field) but never needed here
        .collect()
    )


def _empty_text() -> pl.DataFrame:
    names = [c for c in COLUMNS if c != "note"]
    return pl.DataFrame(
        schema={"row": pl.UInt32, **dict.fromkeys(names, pl.String), "path": pl.String}
    )


def _valid(values: pl.Series, parser: Callable[[str], object]) -> list[str]:
    """The distinct texts of a column that ``parser`` (a schema rule) accepts."""
    good = []
    for text in values.unique().drop_nulls().to_list():
        try:
            parser(text)
        except FieldError:
            continue
        good.append(text)
    return good


def _typed(text: pl.DataFrame, routine: Routine) -> pl.DataFrame:
    """Parse and validate every field with the rules of :mod:`backtrack.schema`, and add
    each save's dose credit; ``ok`` per row. A log repeats a few texts (exercises, day,
    where) millions of times: each distinct text is checked once, by the schema's own
    parser, and the verdict joined back."""
    exercises = _valid(text["exercises"], parse_exercises)
    credit = metrics._credits(pd.Series(exercises, dtype=object), routine).mean(axis=1)
    stamp_days = _valid(text["recorded_at"].str.slice(0, 10), parse_date)
    frame = text.with_columns(
        date=pl.col("date").str.to_date("%Y-%m-%d", strict=False),
        pain=pl.col("pain").cast(pl.Int64, strict=False),
        credit=pl.col("exercises").replace_strict(
            exercises, credit.tolist(), default=None, return_dtype=pl.Float64
        ),
        ok=pl.all_horizontal(pl.col(c).is_not_null() for c in text.columns)
        & pl.col("recorded_at").str.contains(_RECORDED)
        & pl.col("recorded_at").str.slice(0, 10).is_in(stamp_days)
        & pl.col("date").str.contains(r"^\d{4}-\d{2}-\d{2}$")
        & pl.col("pain").str.contains(r"^\d{0,2}$")
        & pl.col("day").is_in(_valid(text["day"], parse_day))
        & pl.col("where").is_in(_valid(text["where"], parse_where)),
    )
    return frame.with_columns(
        ok=pl.col("ok")
        & pl.col("date").is_not_null()
        & pl.col("credit").is_not_null()
        & (pl.col("pain").is_null() | pl.col("pain").is_between(0, 10)),
        day=pl.when(pl.col("day") == "").then(pl.lit("routine")).otherwise(pl.col("day")),
    ).select("path", "row", "recorded_at", "date", "pain", "credit", "day", "ok")


def _from_log(path: str, entries: pd.DataFrame, routine: Routine) -> pl.DataFrame:
    """Valid rows loaded by :func:`read_log`, in the engine's shape."""
    stamps = entries["recorded_at"].dt.tz_convert("UTC")
    return pl.DataFrame(
        {
            "path": [path] * len(entries),
            "row": entries["line"].to_numpy(dtype="int64"),
            "recorded_at": [t.isoformat(timespec="microseconds") for t in stamps],
            "date": entries["date"].to_numpy(dtype="datetime64[ns]"),
            "pain": entries["pain"].astype("Float64").to_numpy(dtype=float, na_value=np.nan),
            "credit": metrics._credits(entries["exercises"], routine).mean(axis=1),
            "day": entries["day"].astype(str).tolist(),
        },
        nan_to_null=True,
    ).with_columns(
        pl.col("row").cast(pl.UInt32),
        pl.col("date").cast(pl.Date),
        pl.col("pain").cast(pl.Int64),
        ok=pl.lit(True),
    )


def load(
    paths: Iterable[str | os.PathLike[str]], routine: Routine
) -> tuple[pl.DataFrame, dict[str, list]]:
    """Every valid save of every log (``path``, ``row``, ``recorded_at`` as stored,
    ``date``, ``pain``, ``credit`` 0-1, ``day``), files in the order given, and the
    problems per file (file, line, column)."""
    names = [str(p) for p in paths]
    fast, careful = _fast_candidates(names)
    text, refused = _read_fast(fast)
    typed = _typed(text, routine)
    bad = typed.filter(~pl.col("ok"))["path"].unique().to_list()
    careful = sorted({*careful, *refused, *bad}, key=names.index)
    frames = [typed.filter(~pl.col("path").is_in(careful))] if careful else [typed]
    problems: dict[str, list] = {}
    for path in careful:
        try:
            log = read_log(path, strict=False)
        except (OSError, ValueError) as exc:
            problems[path] = [LogProblem(path, 1, "(file)", f"expected a log, found: {exc}")]
            continue
        problems[path] = list(log.problems)
        if not log.entries.empty:
            frames.append(_from_log(path, log.entries, routine))
    return pl.concat(frames, how="vertical_relaxed").drop("ok"), problems


# ----------------------------------------------------------------------------- analysis


def latest_per_date(saves: pl.DataFrame) -> pl.DataFrame:
    """Each file's dates with their latest save (latest ``recorded_at`` in UTC; ties to
    the later row), sorted by file and date; ``file`` numbers the files in order.

    Only dates saved more than once need their time stamps compared, so only those are
    parsed (a few percent of rows)."""
    frame = (
        saves.with_columns(file=pl.col("path").rle_id())
        .sort("file", "date", "row")
        .with_columns(position=pl.int_range(pl.len()))
    )
    same = [
        (pl.col("file") == pl.col("file").shift(n)) & (pl.col("date") == pl.col("date").shift(n))
        for n in (1, -1)
    ]
    frame = frame.with_columns(repeated=pl.any_horizontal(same).fill_null(False))
    keep = (
        frame.filter("repeated")
        .with_columns(
            stamp=pl.col("recorded_at").str.to_datetime(
                "%Y-%m-%dT%H:%M:%S%.f%:z", time_zone="UTC", strict=False
            )
        )
        .sort("file", "date", "stamp", "row")
        .unique(subset=["file", "date"], keep="last", maintain_order=True)["position"]
    )
    return frame.filter(~pl.col("repeated") | pl.col("position").is_in(keep.implode())).drop(
        "position", "repeated"
    )


def per_patient(saves: pl.DataFrame) -> pl.DataFrame:
    """The columnar aggregates per file (see the module docstring)."""
    days = latest_per_date(saves).with_columns(last=pl.col("date").max().over("file"))
    week_end = pl.col("date") + pl.duration(days=7 - pl.col("date").dt.weekday())
    latest_window = pl.col("date") >= pl.col("last") - timedelta(days=metrics.ROLLING_DAYS - 1)
    adherence_window = pl.col("date") >= pl.col("last") - timedelta(days=27)
    routine_day = adherence_window & (pl.col("day") == "routine")
    rated = pl.col("pain").is_not_null()
    summary = days.group_by("file").agg(
        path=pl.col("path").first(),
        days_logged=pl.len(),
        first_day=pl.col("date").min(),
        last_day=pl.col("date").max(),
        pain_7day_mean=pl.col("pain").filter(latest_window & rated).mean(),
        pain_7day_n=(latest_window & rated).sum(),
        adherence_28day=pl.col("credit").filter(routine_day).mean(),
        adherence_28day_n=routine_day.sum(),
    )
    baseline = (
        days.filter(rated)
        .filter(pl.int_range(pl.len()).over("file") < metrics.BASELINE_DAYS)
        .group_by("file")
        .agg(
            baseline=pl.col("pain").mean(),
            baseline_n=pl.len(),
            baseline_end=pl.col("date").max(),
        )
    )
    weeks = (
        days.with_columns(week=week_end)
        .with_columns(last_week=pl.col("week").max().over("file"))
        .filter(pl.col("week") > pl.col("last_week") - timedelta(weeks=stats.MAX_WEEKS))
        .filter(rated)
        .group_by("file", "week")
        .agg(mean=pl.col("pain").mean(), n=pl.len())
        .filter(pl.col("n") >= metrics.ROLLING_MIN_RATED)
        .sort("file", "week")
        .group_by("file", maintain_order=True)
        .agg("week", "mean")
    )
    return summary.join(baseline, on="file", how="left").join(weeks, on="file", how="left")


def _trend(weeks: list[date] | None, means: list[float] | None) -> tuple:
    """(slope, low, high, n weeks): Theil–Sen over the weekly means, points per week."""
    n = len(weeks or [])
    if n < stats.MIN_WEEKS:
        return None, None, None, n
    x = np.array([(w - weeks[0]).days // 7 for w in weeks], dtype=float)
    slope, low, high = stats.theil_sen(x, np.asarray(means, dtype=float))
    return slope, low, high, n


def _change(row: dict) -> tuple:
    """(points, percent, class) as in :func:`backtrack.stats.change_vs_baseline`."""
    base, latest = row["baseline"], row["pain_7day_mean"]
    if base is None or (row["baseline_n"] or 0) < metrics.BASELINE_DAYS:
        return None, None, None
    if latest is None or row["pain_7day_n"] < metrics.ROLLING_MIN_RATED:
        return None, None, None
    latest_start = row["last_day"] - timedelta(days=metrics.ROLLING_DAYS - 1)
    if latest_start <= row["baseline_end"]:
        return None, None, None
    klass, points, percent = stats.classify_change(base, latest)
    return points, percent, klass


def summarise(
    paths: Iterable[str | os.PathLike[str]], *, routine: Routine | None = None
) -> pd.DataFrame:
    """One row per patient log (columns :data:`COLUMNS_OUT`; units in the module
    docstring). ``patient`` is the file name without ``.csv``; ``problems`` lists each
    problem as ``path:line:column: message`` (the file's valid rows still count; a file
    that is no log has no numbers). Rows are in the order of ``paths``."""
    routine = routine or default_routine()
    names = [str(p) for p in paths]
    saves, problems = load(names, routine)
    aggregates = {row["path"]: row for row in per_patient(saves).iter_rows(named=True)}
    rows = []
    for path in names:
        row = aggregates.get(path)
        found = [str(p) for p in problems.get(path, [])]
        result: dict[str, object] = dict.fromkeys(COLUMNS_OUT)
        result.update(patient=Path(path).stem, path=path, days_logged=0, problems=found)
        if row is not None:
            points, percent, klass = _change(row)
            slope, low, high, n_weeks = _trend(row["week"], row["mean"])
            result.update(
                {key: row[key] for key in COLUMNS_OUT if key in row and key != "path"},
                baseline=row["baseline"]
                if (row["baseline_n"] or 0) >= metrics.BASELINE_DAYS
                else None,
                pain_7day_mean=row["pain_7day_mean"]
                if row["pain_7day_n"] >= metrics.ROLLING_MIN_RATED
                else None,
                change_points=points,
                change_percent=percent,
                change_class=klass,
                trend_per_week=slope,
                trend_low=low,
                trend_high=high,
                trend_weeks=n_weeks,
            )
        rows.append(result)
    table = pd.DataFrame.from_records(rows, columns=list(COLUMNS_OUT))
    for column in ("first_day", "last_day"):
        table[column] = pd.to_datetime(table[column])
    return table


def needs_attention(table: pd.DataFrame) -> pd.DataFrame:
    """The cohort sorted by who needs attention first, with an ``attention`` column
    naming why: pain rising (trend interval above 0), pain worse than baseline, 28-day
    adherence below 60%, or problems in the file. Then by change (worst first) and
    adherence (lowest first)."""
    rising = table["trend_low"].astype(float) > 0
    worse = table["change_points"].astype(float) < 0
    adherence = table["adherence_28day"].astype(float)
    low = adherence < LOW_ADHERENCE
    broken = table["problems"].map(len) > 0
    reasons = []
    for flags in zip(rising, worse, low, broken, strict=True):
        words = ["pain rising", "worse than baseline", "adherence < 60%", "file problems"]
        reasons.append(", ".join(w for w, f in zip(words, flags, strict=True) if f))
    ranked = table.assign(
        attention=reasons,
        _score=rising.astype(int) * 4 + worse.astype(int) * 2 + low.astype(int) + broken,
        _change=table["change_points"].astype(float).fillna(math.inf),
        _adherence=adherence.fillna(math.inf),
    )
    ranked = ranked.sort_values(
        ["_score", "_change", "_adherence"], ascending=[False, True, True], kind="stable"
    )
    return ranked.drop(columns=["_score", "_change", "_adherence"]).reset_index(drop=True)


def write_demo_cohort(
    folder: str | os.PathLike[str],
    patients: int = 12,
    days: int = 120,
    *,
    seed: int = 1,
    end: date | None = None,
) -> list[Path]:
    """Write a small demo cohort (one log per patient, ``patient01.csv`` …) into a new or
    empty ``folder``; patients differ in how much exercise helps, in adherence and in
    baseline pain, and a few get worse. Returns the paths. Never overwrites a file."""
    from .demo import write_demo

    rng = np.random.default_rng(seed)
    paths = []
    for number in range(1, patients + 1):
        paths.append(
            write_demo(
                Path(folder) / f"patient{number:02d}.csv",
                days=int(rng.integers(days // 2, days + 1)),
                seed=seed * 1000 + number,
                end=end,
                baseline=float(rng.uniform(4.5, 8.0)),
                lag_effect=float(rng.choice([-1.2, -0.8, -0.3, 1.5])),
                missing_rate=float(rng.uniform(0.03, 0.25)),
            )
        )
    return paths


def plot_change_vs_adherence(table: pd.DataFrame, *, ax=None):
    """Change vs baseline (points, + = better) against 28-day adherence (%), one dot per
    patient, labelled; the 2-point line of a clinically important change and the 60%
    adherence line are drawn. Patients without both numbers are left out (and counted
    in the title). Returns the matplotlib Axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        ax = plt.gca()
    both = table.dropna(subset=["change_points", "adherence_28day"])
    x = both["adherence_28day"].astype(float) * 100
    y = both["change_points"].astype(float)
    rising = both["trend_low"].astype(float) > 0
    ax.scatter(x[~rising], y[~rising], color="tab:blue", label="patients")
    ax.scatter(x[rising], y[rising], color="tab:red", marker="^", label="pain rising")
    for patient, xi, yi in zip(both["patient"], x, y, strict=True):
        ax.annotate(str(patient), (xi, yi), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.axhline(stats.IMPORTANT_POINTS, color="grey", linestyle="--", linewidth=0.8)
    ax.axhline(0, color="black", linewidth=0.6)
    ax.axvline(LOW_ADHERENCE * 100, color="grey", linestyle=":", linewidth=0.8)
    ax.set_xlabel("adherence, last 28 days (% of prescribed dose)")
    ax.set_ylabel("change vs baseline (points, + = less pain)")
    left_out = len(table) - len(both)
    ax.set_title(
        "Change vs adherence" + (f" ({left_out} patient(s) without both)" if left_out else "")
    )
    ax.legend(loc="best", fontsize=8)
    return ax
