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
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

from . import metrics, stats
from .errors import FieldError, LogProblem
from .routine import Routine, default_routine
from .schema import COLUMNS, parse_date, parse_day, parse_exercises, parse_pain, parse_where
from .store import latest_per_date as store_latest_per_date
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
    """Split into files whose header and last byte allow the fast path, and the rest
    (read with :func:`read_log`)."""
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


def _scan(paths: list[str]) -> pl.LazyFrame:
    """All ``paths`` as one lazy table: ``file`` (position in ``paths``), the stored texts,
    and the typed
    values the analysis needs, valid wherever :func:`_suspect_files` finds nothing:
    ``day_number`` (days since 1970-01-01), ``rating`` (pain, -1 = not rated),
    ``routine`` (a routine day) and ``stamp_ok`` (``recorded_at`` has the strict form)."""
    return pl.scan_csv(
        paths,
        schema=dict.fromkeys(COLUMNS, pl.String),
        has_header=True,
        empty_string_is_null=False,
        include_file_paths="path",
        raise_if_empty=False,
    ).select(
        pl.col("path").cast(pl.Enum(paths)).to_physical().alias("file"),
        *COLUMNS,
        day_number=pl.col("date").str.to_date("%Y-%m-%d", strict=False).to_physical(),
        rating=pl.col("pain").cast(pl.Int8, strict=False).fill_null(-1),
        routine=pl.col("day").is_in(["", "routine"]),
        stamp_ok=pl.col("recorded_at").str.contains(_RECORDED),
    )


_KEPT = ("file", "recorded_at", "exercises", "day_number", "rating", "routine")
_PARSERS: dict[str, Callable[[str], object]] = {
    "date": parse_date,
    "pain": parse_pain,
    "exercises": parse_exercises,
    "day": parse_day,
    "where": parse_where,
    "stamp_day": parse_date,
}


def _checks(table: pl.LazyFrame) -> pl.LazyFrame:
    """One row: the distinct texts of each field :data:`_PARSERS` checks (``stamp_day``:
    the day part of ``recorded_at``), rows whose ``recorded_at`` lacks the strict form
    (``stamp_bad``) and missing fields (``nulls``: a row too short). Every column is read,
    ``note`` too: only then does polars refuse a row with too many fields (with some
    columns left out it drops the extra fields silently)."""
    return table.select(
        *(pl.col(c).unique().implode() for c in _PARSERS if c != "stamp_day"),
        stamp_day=pl.col("recorded_at").str.slice(0, 10).unique().implode(),
        stamp_bad=(~pl.col("stamp_ok")).sum(),
        nulls=pl.sum_horizontal(pl.col(COLUMNS).null_count()),
    )


def _read(paths: list[str]) -> tuple[pl.DataFrame | None, dict[str, object], list[int]]:
    """All ``paths`` in one streaming polars pass: the columns :data:`_KEPT` of
    :func:`_scan`, the :func:`_checks` of all rows, and the positions of files polars
    refuses (then each file is tried alone, so one bad file does not stop the others)."""
    checks: dict[str, object] = {"stamp_bad": 0, "nulls": 0}
    if not paths:
        return None, checks, []
    table = _scan(paths)
    try:
        rows, found = pl.collect_all([table.select(_KEPT), _checks(table)], engine="streaming")
        return rows, found.row(0, named=True), []
    except (pl.exceptions.PolarsError, OSError):
        pass
    frames, refused = [], []
    for position, path in enumerate(paths):
        table = _scan([path]).with_columns(file=pl.lit(position, pl.UInt32))
        try:
            rows, found = pl.collect_all([table.select(_KEPT), _checks(table)])
        except (pl.exceptions.PolarsError, OSError):
            refused.append(position)
            continue
        frames.append(rows)
        for name, value in found.row(0, named=True).items():
            checks[name] = (
                checks.get(name, []) + value if name in _PARSERS else checks[name] + value
            )
    return (pl.concat(frames) if frames else None), checks, refused


def _suspect_files(paths: list[str], checks: dict[str, object], skip: list[int]) -> list[int]:
    """Files (positions in ``paths``, those in ``skip`` aside) with a field the schema
    might refuse; these are read by :func:`read_log` instead.

    Every row's ``recorded_at`` must have the strict form; the other fields, and the day
    part of ``recorded_at``, repeat a few thousand texts millions of times, so each
    distinct text is checked once by the schema's own parser (:func:`_checks`). A file
    passes only if all its fields pass, so no bad row is ever counted. Only when
    something fails are the files read again, to find which ones."""
    bad: dict[str, list[str]] = {}
    for name, parser in _PARSERS.items():
        for value in checks.get(name, []):
            if value is None:
                continue
            try:
                parser(value)
            except FieldError:
                bad.setdefault(name, []).append(value)
    if not bad and not checks["stamp_bad"] and not checks["nulls"]:
        return []
    suspect = pl.any_horizontal(pl.col(COLUMNS).is_null()) | ~pl.col("stamp_ok")
    for name, values in bad.items():
        column = pl.col("recorded_at").str.slice(0, 10) if name == "stamp_day" else pl.col(name)
        suspect = suspect | column.is_in(values)
    others = [i for i in range(len(paths)) if i not in set(skip)]
    found = (
        _scan([paths[i] for i in others])
        .filter(suspect)
        .select(pl.col("file").unique())
        .collect(engine="streaming")["file"]
    )
    return sorted(others[i] for i in found.to_list())


_DAY_BITS = 32
_DAY_SHIFT = 1 << 31
_FIELDS = ("key", "pain", "routine", "credit", "row")


def _key(file: np.ndarray, day: np.ndarray) -> np.ndarray:
    """(file, day) as one sortable int64: file << 32 | (days since 1970-01-01 + 2**31)."""
    return (file.astype(np.int64) << _DAY_BITS) | (day.astype(np.int64) + _DAY_SHIFT)


def _day(key: np.ndarray) -> np.ndarray:
    """The day (days since 1970-01-01) of :func:`_key` values."""
    return (key & ((1 << _DAY_BITS) - 1)) - _DAY_SHIFT


@dataclass
class _Days:
    """Each file's logged dates with their latest save, sorted by ``key`` (numpy arrays
    of equal length): ``key`` (:func:`_key` of the file's index in the list of paths and
    the date), ``pain`` (0-10, -1 = not rated), ``routine`` (a routine day), ``credit``
    (dose credit 0-1 for files read by :func:`read_log`; NaN for the fast path's rows,
    see :func:`_fill_credit`) and ``row`` (row of the save in the fast path's table, -1
    for files read by :func:`read_log`)."""

    key: np.ndarray
    pain: np.ndarray
    routine: np.ndarray
    credit: np.ndarray
    row: np.ndarray

    def without(self, files: Collection[int]) -> _Days:
        """The same without the rows of ``files``."""
        keep = ~np.isin(self.key >> _DAY_BITS, list(files))
        return _Days(**{name: getattr(self, name)[keep] for name in _FIELDS})


def _latest_fast(text: pl.DataFrame, position: np.ndarray) -> tuple[_Days, list[int]]:
    """Each date's latest save in the fast path's table (its ``file`` mapped through
    ``position`` to the list of paths), and the table's files whose time stamps could not
    be compared (for :func:`read_log`). Only dates saved more than once need their time
    stamps parsed (a few percent of rows); ties go to the later row. Logs are usually in
    date order already; then nothing is sorted."""
    file = text["file"].to_numpy()
    key = _key(position[file], text["day_number"].to_numpy())
    order = None if (key[1:] >= key[:-1]).all() else np.argsort(key, kind="stable")
    if order is not None:
        key = key[order]
    new = key[1:] != key[:-1]
    keep = np.append(new, True)  # the last save of each (file, day)
    repeated = ~(keep & np.insert(new, 0, True))
    failed: list[int] = []
    if repeated.any():
        at = np.flatnonzero(repeated)
        rows = at if order is None else order[at]
        parsed = (
            text["recorded_at"]
            .gather(rows)
            .str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%:z", time_zone="UTC", strict=False)
            .dt.epoch("us")
        )
        if parsed.null_count():
            failed = np.unique(file[rows[parsed.is_null().to_numpy()]]).tolist()
            parsed = parsed.fill_null(0)
        by_stamp = np.lexsort((rows, parsed.to_numpy(), key[at]))
        group = key[at][by_stamp]
        winner = np.append(group[1:] != group[:-1], True)
        keep[at] = False
        keep[at[by_stamp[winner]]] = True
    selected = np.flatnonzero(keep)
    rows = selected if order is None else order[selected]
    days = _Days(
        key=key[selected],
        pain=text["rating"].to_numpy()[rows],
        routine=text["routine"].to_numpy()[rows],
        credit=np.full(len(rows), np.nan),
        row=rows,
    )
    return (days.without(position[failed].tolist()) if failed else days), failed


def _latest_careful(file: int, entries: pd.DataFrame, routine: Routine) -> _Days:
    """Each date's latest save in rows loaded by :func:`read_log` (as ``summary`` does)."""
    latest = store_latest_per_date(entries)
    n = len(latest)
    day = latest["date"].to_numpy(dtype="datetime64[D]").view(np.int64)
    return _Days(
        key=_key(np.full(n, file), day),
        pain=latest["pain"].fillna(-1).to_numpy(dtype=np.int8),
        routine=latest["day"].eq("routine").to_numpy(dtype=bool),
        credit=metrics._credits(latest["exercises"], routine).mean(axis=1),
        row=np.full(n, -1, dtype=np.int64),
    )


def _concat(parts: list[_Days]) -> _Days:
    """The parts as one, sorted by key."""
    fields = {name: np.concatenate([getattr(p, name) for p in parts]) for name in _FIELDS}
    order = np.argsort(fields["key"], kind="stable")
    return _Days(**{name: values[order] for name, values in fields.items()})


def load(
    paths: Iterable[str | os.PathLike[str]], routine: Routine
) -> tuple[_Days, dict[str, list[LogProblem]], pl.DataFrame | None]:
    """Each log's dates with their latest valid save (see :class:`_Days`; files numbered
    in the order of ``paths``), the problems per file (file, line, column), and the fast
    path's table (for :func:`_fill_credit`)."""
    names = list(dict.fromkeys(str(p) for p in paths))
    index = {name: i for i, name in enumerate(names)}
    fast, careful = _fast_candidates(names)
    text, checks, refused = _read(fast)
    parts: list[_Days] = []
    if text is not None and len(text):
        suspect = _suspect_files(fast, checks, refused)
        if suspect:
            text = text.filter(~pl.col("file").is_in(suspect))
        position = np.array([index[p] for p in fast], dtype=np.int64)
        days, failed = _latest_fast(text, position)
        refused += suspect + failed
        parts.append(days)
    careful += [fast[i] for i in refused]
    problems: dict[str, list[LogProblem]] = {}
    for path in sorted(set(careful), key=index.__getitem__):
        try:
            log = read_log(path, strict=False)
        except (OSError, ValueError) as exc:
            problems[path] = [LogProblem(path, 1, "(file)", f"expected a log, found: {exc}")]
            continue
        problems[path] = list(log.problems)
        if not log.entries.empty:
            parts.append(_latest_careful(index[path], log.entries, routine))
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        parts = [_Days(empty, empty.astype(np.int8), empty.astype(bool), empty * 1.0, empty)]
    return (_concat(parts) if len(parts) > 1 else parts[0]), problems, text


# ----------------------------------------------------------------------------- analysis


def _ranges(start: np.ndarray, stop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The positions start[i] <= p < stop[i] for every i, and the i each belongs to."""
    length = np.maximum(stop - start, 0)
    owner = np.repeat(np.arange(len(start)), length)
    offset = np.arange(int(length.sum())) - np.repeat(np.cumsum(length) - length, length)
    return start[owner] + offset, owner


def _fill_credit(days: _Days, at: np.ndarray, text: pl.DataFrame | None, routine: Routine) -> None:
    """Dose credit (0-1) of the fast path's saves at positions ``at``, from their texts."""
    rows = days.row[at]
    fast = rows >= 0
    if text is None or not fast.any():
        return
    exercises = pd.Series(text["exercises"].gather(rows[fast]).to_list(), dtype=object)
    days.credit[at[fast]] = metrics._credits(exercises, routine).mean(axis=1)


def _theil_sen_rows(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`backtrack.stats.theil_sen` of each row of ``y`` against its column number
    (NaN = no value), for all rows at once: (slope, low, high), units of y per column.
    Every row needs at least two values."""
    rows, width = y.shape
    x = np.where(np.isnan(y), np.nan, np.arange(width, dtype=float))
    dx = x[:, :, None] - x[:, None, :]
    pair = dx > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        slopes = np.where(pair, (y[:, :, None] - y[:, None, :]) / dx, np.nan)
    slopes = np.sort(slopes.reshape(rows, -1), axis=1)  # NaN last
    m = pair.reshape(rows, -1).sum(axis=1)
    n = (~np.isnan(y)).sum(axis=1)
    pick = np.arange(rows)
    middle = np.where(
        m % 2 == 1,
        slopes[pick, (m - 1) // 2],
        (slopes[pick, m // 2 - 1] + slopes[pick, m // 2]) / 2,
    )  # as np.median
    equal = (y[:, :, None] == y[:, None, :]).sum(axis=2)  # equal values, itself included
    ties = np.where(np.isnan(y), 0, (equal - 1) * (2 * equal + 5)).sum(axis=1)
    sigma = np.sqrt((n * (n - 1) * (2 * n + 5) - ties) / 18.0)
    z = stats._z()
    upper = np.minimum(np.round((m + z * sigma) / 2.0).astype(np.int64), m - 1)
    lower = np.maximum(np.round((m - z * sigma) / 2.0).astype(np.int64) - 1, 0)
    return middle, slopes[pick, lower], slopes[pick, upper]


def per_patient(
    days: _Days, files: int, text: pl.DataFrame | None, routine: Routine
) -> dict[str, np.ndarray]:
    """The numbers of :data:`COLUMNS_OUT` per file (arrays of length ``files``; days as
    days since 1970-01-01, NaN where a number cannot be computed). Each window (the first
    rated days, the latest 7 and 28 days, the last 26 weeks) is found per file by binary
    search in the sorted keys, so only the rows inside windows are touched."""
    key = days.key
    everyone = np.arange(files, dtype=np.int64)
    start = np.searchsorted(key, everyone << _DAY_BITS)
    stop = np.searchsorted(key, (everyone + 1) << _DAY_BITS)
    count = stop - start
    logged = count > 0
    day = _day(key[np.concatenate([start, stop - 1])[np.concatenate([logged, logged])]])
    first_day = np.full(files, -1, dtype=np.int64)
    last_day = first_day.copy()
    first_day[logged], last_day[logged] = np.split(day, 2)

    def window(days_back: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows of each file's ``days_back`` + 1 calendar days ending on its last day."""
        begin = np.searchsorted(key, _key(everyone, last_day - days_back))
        return _ranges(np.where(logged, begin, stop), stop)

    def mean(values: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = np.bincount(owner, minlength=files)
        total = np.bincount(owner, weights=values, minlength=files)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, total / np.maximum(n, 1), np.nan), n

    at, owner = window(metrics.ROLLING_DAYS - 1)
    rated = days.pain[at] >= 0
    pain_7day, pain_7day_n = mean(days.pain[at][rated], owner[rated])

    at, owner = window(27)
    routine_day = days.routine[at]
    _fill_credit(days, at[routine_day], text, routine)
    adherence, adherence_n = mean(days.credit[at][routine_day], owner[routine_day])

    # baseline: the first 7 rated days (files have few unrated days at the start; look
    # further only for files that need it)
    baseline = np.full(files, np.nan)
    baseline_end = np.full(files, np.iinfo(np.int64).min)
    reach = np.minimum(count, 4 * metrics.BASELINE_DAYS)
    pending = logged.copy()
    while pending.any():
        at, owner = _ranges(start[pending], (start + reach)[pending])
        owner = np.flatnonzero(pending)[owner]
        rated = days.pain[at] >= 0
        at, owner = at[rated], owner[rated]
        rank = np.arange(len(at)) - np.searchsorted(owner, owner)
        first = rank < metrics.BASELINE_DAYS
        value, n = mean(days.pain[at][first], owner[first])
        done = pending & ((n >= metrics.BASELINE_DAYS) | (reach >= count))
        full = done & (n >= metrics.BASELINE_DAYS)
        baseline[full] = value[full]
        seventh = rank == metrics.BASELINE_DAYS - 1
        baseline_end[owner[seventh]] = _day(key[at[seventh]])
        pending &= ~done
        reach = np.minimum(count, reach * 4)

    # weekly means of the last 26 ISO weeks (ending on Sunday; 1970-01-01 was a Thursday)
    last_week = last_day + 6 - (last_day + 3) % 7
    begin = np.searchsorted(key, _key(everyone, last_week - 7 * stats.MAX_WEEKS + 1))
    at, owner = _ranges(np.where(logged, begin, stop), stop)
    rated = days.pain[at] >= 0
    at, owner = at[rated], owner[rated]
    day = _day(key[at])
    slot = stats.MAX_WEEKS - 1 - (last_week[owner] - (day + 6 - (day + 3) % 7)) // 7
    cell = owner * stats.MAX_WEEKS + slot
    size = files * stats.MAX_WEEKS
    n_week = np.bincount(cell, minlength=size).reshape(files, -1)
    sums = np.bincount(cell, weights=days.pain[at], minlength=size).reshape(files, -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        weekly = np.where(n_week >= metrics.ROLLING_MIN_RATED, sums / n_week, np.nan)
    weeks = (~np.isnan(weekly)).sum(axis=1)
    slope = np.full(files, np.nan)
    low, high = slope.copy(), slope.copy()
    enough = weeks >= stats.MIN_WEEKS
    if enough.any():
        slope[enough], low[enough], high[enough] = _theil_sen_rows(weekly[enough])

    return {
        "days_logged": count,
        "first_day": first_day,
        "last_day": last_day,
        "baseline": baseline,
        "baseline_end": baseline_end,
        "pain_7day_mean": np.where(pain_7day_n >= metrics.ROLLING_MIN_RATED, pain_7day, np.nan),
        "pain_7day_n": pain_7day_n,
        "adherence_28day": adherence,
        "adherence_28day_n": adherence_n,
        "trend_per_week": slope,
        "trend_low": low,
        "trend_high": high,
        "trend_weeks": weeks,
    }


def _change(baseline: float, latest: float, baseline_end: int, last_day: int) -> tuple:
    """(points, percent, class) as in :func:`backtrack.stats.change_vs_baseline`: None
    unless both means exist and the latest 7 days start after the baseline days."""
    if math.isnan(baseline) or math.isnan(latest):
        return None, None, None
    if last_day - (metrics.ROLLING_DAYS - 1) <= baseline_end:
        return None, None, None
    klass, points, percent = stats.classify_change(baseline, latest)
    return points, percent, klass


def summarise(
    paths: Iterable[str | os.PathLike[str]], *, routine: Routine | None = None
) -> pd.DataFrame:
    """One row per patient log (columns :data:`COLUMNS_OUT`; units in the module
    docstring). ``patient`` is the file name without ``.csv``; ``problems`` lists each
    problem as ``path:line:column: message`` (the file's valid rows still count; a file
    that is no log has no numbers). Rows are in the order of ``paths``."""
    routine = routine or default_routine()
    names = list(dict.fromkeys(str(p) for p in paths))
    days, problems, text = load(names, routine)
    numbers = per_patient(days, len(names), text, routine)
    changes = [
        _change(*values)
        for values in zip(
            numbers["baseline"].tolist(),
            numbers["pain_7day_mean"].tolist(),
            numbers["baseline_end"].tolist(),
            numbers["last_day"].tolist(),
            strict=True,
        )
    ]
    points, percent, klass = zip(*changes, strict=True) if changes else ((), (), ())

    def dates(values: np.ndarray) -> np.ndarray:
        return np.where(values >= 0, values, np.iinfo(np.int64).min).astype("datetime64[D]")

    table = pd.DataFrame(
        {
            "patient": [Path(p).stem for p in names],
            "path": names,
            "days_logged": numbers["days_logged"].astype(np.int64),
            "first_day": dates(numbers["first_day"]),
            "last_day": dates(numbers["last_day"]),
            "baseline": numbers["baseline"],
            "pain_7day_mean": numbers["pain_7day_mean"],
            "pain_7day_n": numbers["pain_7day_n"].astype(np.int64),
            "change_points": np.array(points, dtype=float),
            "change_percent": np.array(percent, dtype=float),
            "change_class": pd.array(klass, dtype="str"),
            "adherence_28day": numbers["adherence_28day"],
            "adherence_28day_n": numbers["adherence_28day_n"].astype(np.int64),
            "trend_per_week": numbers["trend_per_week"],
            "trend_low": numbers["trend_low"],
            "trend_high": numbers["trend_high"],
            "trend_weeks": numbers["trend_weeks"].astype(np.int64),
            "problems": [[str(p) for p in problems.get(path, [])] for path in names],
        },
        columns=list(COLUMNS_OUT),
    )
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
