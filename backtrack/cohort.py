"""The cohort view: one row per patient log, over a folder of logs, computed with polars.

How (measured on ``bench/cohort.py``, 1000 patients x 10 years): one streaming polars
pass reads every log with an explicit all-text schema; the fields that repeat a few
thousand texts millions of times (date, pain, exercises, day, where) come out as
categorical codes, so each distinct text is checked and typed once by the schema's own
parser and looked up per row in numpy; ``recorded_at`` is checked per row by a pattern
that accepts exactly what :func:`backtrack.schema.parse_recorded_at` accepts in the form
the app writes. Each date's latest save (time stamps parsed only for dates saved twice),
the windows per patient (found by binary search in sorted (file, day) keys) and the
Theil–Sen trends (all patients at once) are numpy. The day-to-day noise of each patient
(for the change's interval and the trend's variance factor) and the clinical class
(:func:`backtrack.stats.classify_change`) are left to Python, once per patient.

Each number has the definition of the single-patient :func:`backtrack.summary` (the tests
check they agree): ``days_logged`` (dates with a save); ``baseline`` (mean pain of the
first 7 rated days, points 0-10); ``pain_7day_mean`` (the 7 calendar days ending on the
last logged day, ≥ 4 rated); ``change_points`` = baseline − latest (positive = better),
``change_percent`` (% of baseline) and ``change_class`` (its interval from the same
day-to-day noise model, :func:`backtrack.stats.change_interval`); ``adherence_28day`` (mean dose
credit 0-1 of logged routine days in the 28 days ending on the last logged day; rest,
flare and unlogged days left out); ``trend_per_week`` (Theil–Sen slope of weekly mean
pain, points per week, weeks with ≥ 4 rated days among the last 26, ≥ 6 such weeks) with
its autocorrelation-aware 95% interval (:func:`backtrack.stats.trend_variance_factor`).
Definitions: ``docs/analysis.md``. One routine (default: the article's) applies to every patient.

A file the fast path cannot vouch for (a header in another order, a BOM, a torn last
row, a row with too many or too few fields, a field the schema refuses) is read by
:func:`backtrack.store.read_log`: its problems are reported
by file, line and column, and its valid rows still count, as in ``backtrack summary``.
A file that is not a log at all gets a row with its problem and no numbers; the other
patients are computed regardless.
"""

from __future__ import annotations

import math
import mmap
import os
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

from . import metrics, stats
from .errors import FieldError, LogProblem
from .routine import Routine, default_routine
from .schema import (
    COLUMNS,
    VOID,
    parse_date,
    parse_day,
    parse_exercises,
    parse_pain,
    parse_recorded_at,
    parse_where,
)
from .store import FUTURE_TOLERANCE, read_log
from .store import latest_per_date as store_latest_per_date

LOW_ADHERENCE = metrics.LOW_ADHERENCE
"""Below this 28-day adherence (fraction) a patient is flagged (Jones et al. 2025: < 60%)."""
_HEADER = ",".join(COLUMNS)
_YEAR = r"(?:19[0-9]{2}|2[01][0-9]{2})"  # schema.MIN_DATE to MAX_DATE: 1900-2199
_LEAP_YEAR = r"(?:(?:19|2[01])(?:0[48]|[2468][048]|[13579][26])|2000)"
_RECORDED = (
    rf"^(?:{_YEAR}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)"
    rf"|(?:0[13578]|1[02])-31)|{_LEAP_YEAR}-02-29)"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?[+-](?:[01][0-9]|2[0-3]):[0-5][0-9]$"
)
"""``recorded_at`` as the app writes it, a real calendar day included: every text it
matches passes :func:`backtrack.schema.parse_recorded_at` (others go to :func:`read_log`)."""
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


def _fast_day(text: str) -> str:
    """``day`` for the fast path: a ``void`` row sends its file to :func:`read_log`."""
    day = parse_day(text)
    if day == VOID:
        raise FieldError("day", "a day the fast path reads", text)
    return day


_CODED = ("date", "pain", "exercises", "day", "where")
_PARSERS: dict[str, Callable[[str], object]] = {
    "date": parse_date,
    "pain": parse_pain,
    "exercises": parse_exercises,
    "day": _fast_day,
    "where": parse_where,
}


def _scan(paths: list[str], categories: pl.Categories) -> pl.LazyFrame:
    """All ``paths`` as one lazy table: ``file`` (position in ``paths``), ``recorded_at``
    as stored, the fields of :data:`_CODED` as codes of ``categories`` (a log repeats a
    few thousand texts millions of times), ``stamp_ok`` (``recorded_at`` matches
    :data:`_RECORDED`) and ``note_commas`` (commas inside the note). ``note`` is read:
    only when every column is read does polars refuse a row with too many fields (with
    some left out it drops the extra fields silently). A row with too few fields reads
    as if its last fields were empty: :func:`_miscounted_files` finds those."""
    coded = pl.Categorical(categories)
    return pl.scan_csv(
        paths,
        schema=dict.fromkeys(COLUMNS, pl.String),
        has_header=True,
        empty_string_is_null=False,
        include_file_paths="path",
        raise_if_empty=False,
    ).select(
        pl.col("path").cast(pl.Enum(paths)).to_physical().alias("file"),
        "recorded_at",
        *(pl.col(name).cast(coded) for name in _CODED),
        stamp_ok=pl.col("recorded_at").str.contains(_RECORDED)
        & (pl.col("date") <= pl.col("recorded_at").str.slice(0, 10)),  # schema.row_problem
        recent=pl.col("recorded_at").str.slice(0, 10) >= _recent_from(),
        note_commas=pl.col("note").str.count_matches(",", literal=True).fill_null(0),
    )


def _recent_from() -> str:
    """Saves from this day on may be in the future (checked one by one, as
    :func:`read_log` does); older ones cannot be."""
    return (date.today() - timedelta(days=2)).isoformat()


def _future_rows(frame: pl.DataFrame) -> np.ndarray:
    """Rows whose ``recorded_at`` is later than now (beyond the store's tolerance)."""
    recent = frame["recent"].fill_null(False).to_numpy()
    future = np.zeros(len(frame), dtype=bool)
    if recent.any():
        limit = datetime.now().astimezone() + FUTURE_TOLERANCE
        for row in np.flatnonzero(recent).tolist():
            try:
                future[row] = parse_recorded_at(frame["recorded_at"][row]) > limit
            except FieldError:
                future[row] = True
    return future


def _read(paths: list[str], categories: pl.Categories) -> tuple[pl.DataFrame | None, list[int]]:
    """:func:`_scan` of all ``paths`` in one streaming polars pass, and the positions of
    files polars refuses (then each file is read alone, so one bad file does not stop the
    others)."""
    if not paths:
        return None, []
    try:
        return _scan(paths, categories).collect(engine="streaming"), []
    except (pl.exceptions.PolarsError, OSError):
        pass
    frames, refused = [], []
    for position, path in enumerate(paths):
        try:
            frame = _scan([path], categories).collect()
        except (pl.exceptions.PolarsError, OSError):
            refused.append(position)
            continue
        frames.append(frame.with_columns(file=pl.lit(position, frame["file"].dtype)))
    return (pl.concat(frames) if frames else None), refused


@dataclass
class _Coded:
    """The fast path's rows as numpy arrays (``file``, ``codes`` per field of
    :data:`_CODED`), the codes ``present`` per field, and what each code means (arrays
    indexed by code): ``valid`` per field (the schema's parser accepts the text),
    ``day_number`` (days since 1970-01-01), ``pain`` (0-10, -1 = not rated), ``routine``
    (a routine day) and ``credit`` (dose credit 0-1)."""

    file: np.ndarray
    codes: dict[str, np.ndarray]
    present: dict[str, np.ndarray]
    valid: dict[str, np.ndarray]
    day_number: np.ndarray
    pain: np.ndarray
    routine: np.ndarray
    credit: np.ndarray


def _texts_from(frame: pl.DataFrame) -> list[str]:
    """Each code's text, from the distinct values of the coded columns themselves."""
    texts: dict[int, str] = {}
    for name in _CODED:
        distinct = frame[name].drop_nulls().unique()
        texts.update(zip(distinct.to_physical().to_list(), distinct.to_list(), strict=True))
    return [texts.get(code, "") for code in range(max(texts, default=-1) + 1)]


def _decode(frame: pl.DataFrame, categories: pl.Categories, routine: Routine) -> _Coded:
    """Check each distinct text once with the schema's own parser and type it."""
    texts = categories.to_series().to_list()
    physical = {name: frame[name].to_physical() for name in _CODED}
    if max(p.max() or 0 for p in physical.values()) >= len(texts):
        texts = _texts_from(frame)  # the categories did not list every code (never seen)
    size = len(texts) + 1  # the last code stands for a missing field (never seen either:
    # polars reads a missing field as an empty one)
    codes, present, valid, values = {}, {}, {}, {}
    for name, column in physical.items():
        codes[name] = (column.fill_null(size - 1) if column.null_count() else column).to_numpy()
        present[name] = np.flatnonzero(np.bincount(codes[name], minlength=size)[:-1])
        ok = np.zeros(size, dtype=bool)
        parsed: dict[int, object] = {}
        for code in present[name].tolist():
            try:
                parsed[code] = _PARSERS[name](texts[code])
            except FieldError:
                continue
            ok[code] = True
        valid[name], values[name] = ok, parsed

    def table(name: str, value: Callable[[object], float], dtype: type, missing: float):
        out = np.full(size, missing, dtype=dtype)
        for code, parsed in values[name].items():
            out[code] = value(parsed)
        return out

    credits = np.full(size, np.nan)
    exercises = list(values["exercises"])
    if exercises:
        texts_done = pd.Series([texts[code] for code in exercises], dtype=object)
        credits[exercises] = metrics.dose_credits(texts_done, routine).mean(axis=1)
    return _Coded(
        file=frame["file"].to_numpy(),
        codes=codes,
        present=present,
        valid=valid,
        day_number=table("date", lambda d: d.toordinal() - _EPOCH, np.int64, 0),
        pain=table("pain", lambda p: -1 if p is None else p, np.int8, -1),
        routine=table("day", lambda d: d == "routine", bool, False),
        credit=credits,
    )


def _suspect_rows(frame: pl.DataFrame, coded: _Coded) -> np.ndarray | None:
    """Rows with a field the schema might refuse (None when there are none): a
    ``recorded_at`` not matching :data:`_RECORDED`, a missing field, or a text the
    schema's parser refuses. Their files are read by :func:`read_log` instead, so no bad
    row is ever counted."""
    stamp_ok = frame["stamp_ok"].fill_null(False)
    future = _future_rows(frame)
    if (
        stamp_ok.all()
        and not future.any()
        and all(coded.valid[n][coded.present[n]].all() for n in _CODED)
    ):
        return None
    bad = ~stamp_ok.to_numpy() | future
    for name in _CODED:
        bad |= ~coded.valid[name][coded.codes[name]]
    return bad


def _comma_counts(paths: list[str]) -> np.ndarray:
    """The number of commas in each file (-1 when it cannot be read)."""
    counts = np.full(len(paths), -1, dtype=np.int64)
    for position, path in enumerate(paths):
        try:
            with (
                open(path, "rb") as handle,
                mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as view,
            ):
                data = np.frombuffer(view, dtype=np.uint8)
                counts[position] = np.count_nonzero(data == ord(","))
                del data  # release the buffer before the map closes
        except (OSError, ValueError):
            continue
    return counts


def _miscounted_files(frame: pl.DataFrame, coded: _Coded, commas: np.ndarray) -> list[int]:
    """Files with a row of fewer than 7 fields (polars reads its missing last fields as
    empty ones). Every field but the note is comma-free when valid, so a file of whole
    rows has exactly 6 commas per row (header too) plus those inside notes."""
    files = len(commas)
    rows = np.bincount(coded.file, minlength=files)
    in_notes = np.zeros(files)
    if frame["note_commas"].sum():
        weights = frame["note_commas"].to_numpy()
        in_notes = np.bincount(coded.file, weights=weights, minlength=files)
    return np.flatnonzero(commas != 6 * (rows + 1) + in_notes).tolist()


_DAY_BITS = 32
_DAY_SHIFT = 1 << 31
_EPOCH = date(1970, 1, 1).toordinal()
_FIELDS = ("key", "pain", "routine", "exercise")


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
    the date), ``pain`` (0-10, -1 = not rated), ``routine`` (a routine day) and
    ``exercise`` (code of the ``exercises`` text: its dose credit is ``credit[exercise]``
    for the ``credit`` table that :func:`load` returns)."""

    key: np.ndarray
    pain: np.ndarray
    routine: np.ndarray
    exercise: np.ndarray

    def without(self, files: Collection[int]) -> _Days:
        """The same without the rows of ``files``."""
        keep = ~np.isin(self.key >> _DAY_BITS, list(files))
        return _Days(**{name: getattr(self, name)[keep] for name in _FIELDS})


def _no_days() -> _Days:
    empty = np.zeros(0, dtype=np.int64)
    return _Days(empty, empty.astype(np.int8), empty.astype(bool), empty.astype(np.uint32))


def _latest_fast(
    frame: pl.DataFrame, coded: _Coded, position: np.ndarray, rows: np.ndarray | None
) -> tuple[_Days, list[int]]:
    """Each date's latest save among the fast path's ``rows`` (None: all), files numbered
    by ``position`` (the list of paths' index of each fast file), and the fast files
    whose time stamps could not be compared (for :func:`read_log`). Only dates saved more
    than once need their time stamps parsed (a few percent of rows); ties go to the later
    row. Logs are usually in date order already; then nothing is sorted."""
    file, dates = coded.file, coded.codes["date"]
    if rows is not None:
        file, dates = file[rows], dates[rows]
    key = _key(position, np.zeros(len(position)))[file] + coded.day_number[dates]
    if len(key) == 0:  # every fast file needs the careful path
        return _no_days(), []
    order = None if (key[1:] >= key[:-1]).all() else np.argsort(key, kind="stable")
    if order is not None:
        key = key[order]
    new = key[1:] != key[:-1]
    keep = np.append(new, True)  # the last save of each (file, day)
    repeated = ~(keep & np.insert(new, 0, True))
    failed: list[int] = []
    if repeated.any():
        at = np.flatnonzero(repeated)
        where = at if order is None else order[at]
        source = where if rows is None else rows[where]
        parsed = (
            frame["recorded_at"]
            .gather(source)
            .str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%:z", time_zone="UTC", strict=False)
            .dt.epoch("us")
        )
        if parsed.null_count():
            failed = np.unique(coded.file[source[parsed.is_null().to_numpy()]]).tolist()
            parsed = parsed.fill_null(0)
        by_stamp = np.lexsort((where, parsed.to_numpy(), key[at]))
        group = key[at][by_stamp]
        winner = np.append(group[1:] != group[:-1], True)
        keep[at] = False
        keep[at[by_stamp[winner]]] = True
    selected = np.flatnonzero(keep)
    picked = selected if order is None else order[selected]
    if rows is not None:
        picked = rows[picked]
    days = _Days(
        key=key[selected],
        pain=coded.pain[coded.codes["pain"][picked]],
        routine=coded.routine[coded.codes["day"][picked]],
        exercise=coded.codes["exercises"][picked],
    )
    return (days.without(position[failed].tolist()) if failed else days), failed


def _latest_careful(file: int, entries: pd.DataFrame, first_code: int) -> tuple[_Days, pd.Series]:
    """Each date's latest save in rows loaded by :func:`read_log` (as ``summary`` does),
    and their ``exercises`` texts (coded ``first_code``, ``first_code`` + 1, ...)."""
    latest = store_latest_per_date(entries)
    n = len(latest)
    day = latest["date"].to_numpy(dtype="datetime64[D]").view(np.int64)
    return _Days(
        key=_key(np.full(n, file), day),
        pain=latest["pain"].fillna(-1).to_numpy(dtype=np.int8),
        routine=latest["day"].eq("routine").to_numpy(dtype=bool),
        exercise=np.arange(first_code, first_code + n, dtype=np.uint32),
    ), latest["exercises"]


def _concat(parts: list[_Days]) -> _Days:
    """The parts as one, sorted by key."""
    fields = {name: np.concatenate([getattr(p, name) for p in parts]) for name in _FIELDS}
    order = np.argsort(fields["key"], kind="stable")
    return _Days(**{name: values[order] for name, values in fields.items()})


def load(
    paths: Iterable[str | os.PathLike[str]], routine: Routine
) -> tuple[_Days, dict[str, list[LogProblem]], np.ndarray]:
    """Each log's dates with their latest valid save (see :class:`_Days`; files numbered
    in the order of ``paths``), the problems per file (file, line, column), and the dose
    credit (0-1) of each ``exercises`` code."""
    names = list(dict.fromkeys(str(p) for p in paths))
    index = {name: i for i, name in enumerate(names)}
    fast, careful = _fast_candidates(names)
    categories = pl.Categories.random()
    with ThreadPoolExecutor(max_workers=1) as pool:  # counting overlaps the polars read
        counting = pool.submit(_comma_counts, fast)
        frame, refused = _read(fast, categories)
        commas = counting.result()
    parts: list[_Days] = []
    credits = [np.zeros(0)]
    if frame is not None and len(frame):
        coded = _decode(frame, categories, routine)
        credits = [coded.credit]
        rows = None
        bad = _suspect_rows(frame, coded)
        suspect = set(_miscounted_files(frame, coded, commas)) - set(refused)
        if bad is not None:
            suspect |= set(np.unique(coded.file[bad]).tolist())
        if suspect:
            refused += sorted(suspect)
            rows = np.flatnonzero(~np.isin(coded.file, sorted(suspect)))
        position = np.array([index[p] for p in fast], dtype=np.int64)
        days, failed = _latest_fast(frame, coded, position, rows)
        refused += failed
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
            first_code = sum(len(c) for c in credits)
            days, exercises = _latest_careful(index[path], log.entries, first_code)
            parts.append(days)
            credits.append(metrics.dose_credits(exercises, routine).mean(axis=1))
    if not parts:
        parts = [_no_days()]
    days = _concat(parts) if len(parts) > 1 else parts[0]
    return days, problems, np.concatenate(credits)


# ----------------------------------------------------------------------------- analysis


def _ranges(start: np.ndarray, stop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The positions start[i] <= p < stop[i] for every i, and the i each belongs to."""
    length = np.maximum(stop - start, 0)
    owner = np.repeat(np.arange(len(start)), length)
    offset = np.arange(int(length.sum())) - np.repeat(np.cumsum(length) - length, length)
    return start[owner] + offset, owner


def _theil_sen_rows(
    y: np.ndarray, factor: np.ndarray | None = None, quantile: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`backtrack.stats.theil_sen` of each row of ``y`` against its column number
    (NaN = no value), for all rows at once: (slope, low, high), units of y per column;
    ``factor`` and ``quantile`` per row as its ``variance_factor`` and ``quantile``
    (default 1 and the normal z). Every row needs at least two values."""
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
    factor = np.ones(rows) if factor is None else factor
    sigma = np.sqrt(np.maximum(n * (n - 1) * (2 * n + 5) - ties, 0) / 18.0 * factor)
    z = np.full(rows, stats.normal_quantile()) if quantile is None else quantile
    upper = np.minimum(np.round((m + z * sigma) / 2.0).astype(np.int64), m - 1)
    lower = np.maximum(np.round((m - z * sigma) / 2.0).astype(np.int64) - 1, 0)
    return middle, slopes[pick, lower], slopes[pick, upper]


def per_patient(days: _Days, files: int, credit: np.ndarray) -> dict[str, np.ndarray]:
    """The numbers of :data:`COLUMNS_OUT` per file (arrays of length ``files``; days as
    days since 1970-01-01, NaN where a number cannot be computed); ``credit``: dose
    credit (0-1) per ``exercises`` code, from :func:`load`. Each window (the first
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
    done = credit[days.exercise[at[routine_day]]]
    adherence, adherence_n = mean(done, owner[routine_day])

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

    def grid(i: int, begin: int) -> np.ndarray:
        """Pain (points, NaN = not rated) of file i per calendar day, ``begin`` to its
        last day, as the summary's daily series holds it."""
        rows = slice(int(start[i]), int(stop[i]))
        values = np.full(int(last_day[i] - begin) + 1, np.nan)
        offset = _day(key[rows]) - begin
        pain = days.pain[rows].astype(float)
        inside = (offset >= 0) & (pain >= 0)
        values[offset[inside]] = pain[inside]
        return values

    factor = np.full(files, np.nan)
    for i in np.flatnonzero(enough):  # the trend's noise, as stats.trend_days
        first_slot = int(np.flatnonzero(~np.isnan(weekly[i]))[0])
        monday = int(last_week[i] - 7 * (stats.MAX_WEEKS - 1 - first_slot) - 6)
        factor[i] = stats.trend_variance_factor(grid(i, monday))
    enough &= np.isfinite(factor)
    if enough.any():
        quantile = np.array(
            [
                stats.trend_quantile(w, f)
                for w, f in zip(weeks[enough], factor[enough], strict=True)
            ]
        )
        slope[enough], low[enough], high[enough] = _theil_sen_rows(
            weekly[enough], factor[enough], quantile
        )

    # the change's interval: noise over all days to the last, as stats.change_vs_baseline
    change_low = np.full(files, np.nan)
    change_high = change_low.copy()
    latest_ok = pain_7day_n >= metrics.ROLLING_MIN_RATED
    for i in np.flatnonzero(~np.isnan(baseline) & latest_ok):
        if last_day[i] - (metrics.ROLLING_DAYS - 1) <= baseline_end[i]:
            continue
        pain = grid(i, int(first_day[i]))
        rated = np.flatnonzero(~np.isnan(pain))
        base_days = rated[: metrics.BASELINE_DAYS]
        latest_days = rated[rated >= len(pain) - metrics.ROLLING_DAYS]
        se, t, noise = stats.change_interval(pain, base_days, latest_days)
        if noise.ok:
            points = baseline[i] - pain[latest_days].mean()
            change_low[i], change_high[i] = points - t * se, points + t * se

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
        "change_low": change_low,
        "change_high": change_high,
    }


def _change(baseline: float, latest: float, low: float, high: float) -> tuple:
    """(points, percent, class) as in :func:`backtrack.stats.change_vs_baseline`: None
    unless both means and the interval ``low``-``high`` exist (the latest 7 days start
    after the baseline days, and the noise could be estimated)."""
    if math.isnan(baseline) or math.isnan(latest) or math.isnan(low):
        return None, None, None
    klass, points, percent = stats.classify_change(baseline, latest, low, high)
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
    days, problems, credit = load(names, routine)
    numbers = per_patient(days, len(names), credit)
    changes = [
        _change(*values)
        for values in zip(
            numbers["baseline"].tolist(),
            numbers["pain_7day_mean"].tolist(),
            numbers["change_low"].tolist(),
            numbers["change_high"].tolist(),
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


def needs_attention(table: pd.DataFrame, today: date | None = None) -> pd.DataFrame:
    """The cohort sorted by who needs attention first, with an ``attention`` column
    naming why: pain rising (trend interval above 0), pain clinically worse than baseline
    (by at least the 2 points or 30% that count as an important change the other way;
    a smaller rise is within day-to-day noise and only sorts the list), 28-day adherence
    below 60%, problems in the file, or (with ``today``) no entry for more than 3 days
    (the numbers are old). Then by change (worst first) and adherence (lowest first)."""
    rising = table["trend_low"].astype(float) > 0
    points = table["change_points"].astype(float)
    percent = (
        table["change_percent"]
        .astype(float)
        .where(table["baseline"].astype(float) >= stats.PERCENT_MIN_BASELINE)
    )
    worse = (points <= -stats.IMPORTANT_POINTS) | (percent <= -stats.IMPORTANT_PERCENT)
    adherence = table["adherence_28day"].astype(float)
    low = adherence < LOW_ADHERENCE
    broken = table["problems"].map(len) > 0
    age = pd.Series(np.nan, index=table.index)
    if today is not None and "last_day" in table:
        age = (pd.Timestamp(today) - pd.to_datetime(table["last_day"])).dt.days
    stale = age > metrics.STALE_DAYS
    reasons = []
    for flags, days in zip(zip(rising, worse, low, broken, stale, strict=True), age, strict=True):
        words = [
            "pain rising",
            "clinically worse than baseline",
            "adherence < 60%",
            "file problems",
            f"no entry for {days:.0f} days" if days == days else "",
        ]
        reasons.append(", ".join(w for w, f in zip(words, flags, strict=True) if f))
    ranked = table.assign(
        attention=reasons,
        _score=rising.astype(int) * 4
        + worse.astype(int) * 2
        + low.astype(int)
        + broken
        + stale.astype(int),
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
