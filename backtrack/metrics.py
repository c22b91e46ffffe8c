"""Metrics from the log: pure DataFrame → DataFrame/Series functions (pandas/numpy only).

Everything starts from :func:`daily_series`, one row per calendar day. Its treatment of
the four kinds of day (see :mod:`backtrack.schema`):

* **not logged** (no row for the date): pain and credit are NaN; never counted as "not
  done" — it is left out of pain means and adherence, and only logging completeness
  counts it. A past unlogged day does end a streak (we cannot know it was done); today,
  not yet logged, does not.
* **logged, nothing done**: credit 0.
* **rest** (planned): left out of adherence; does not break a streak; habit strength is
  carried over unchanged (a not-logged day lowers it, as in Loop).
* **flare** (marked by the person): adherence on flare days is reported apart; like a
  rest day it does not break a streak and carries habit strength over.

Units: pain in points on the 0-10 NRS; dose credit and adherence as fractions 0-1.
Definitions and sources: ``docs/analysis.md``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import date
from typing import Any, overload

import numpy as np
import pandas as pd

from .errors import FieldError
from .routine import Routine
from .schema import exercise_pairs
from .store import latest_positions

FULL_CREDIT = 1.0 - 1e-9
"""A day (or exercise) at or above this credit counts as fully done."""
FLARE_POINTS = 2.7
"""A flare: pain at least this many points above the person's own 28-day median (Suri 2011)."""
FLARE_WINDOW_DAYS = 28
FLARE_MIN_RATED = 7
"""Rated days needed in the 28 days before a day to detect a flare from pain alone."""
ROLLING_DAYS = 7
ROLLING_MIN_RATED = 4
BASELINE_DAYS = 7
HIGH_ADHERENCE = 0.8
"""Adherence at or above this fraction is labelled high (Jones et al. 2025: 80-100%)."""
LOW_ADHERENCE = 0.6
"""Below this 28-day adherence (fraction) a patient is flagged (Jones et al. 2025: < 60%)."""
HABIT_HALF_LIFE = 13.0
"""Loop Habit Tracker: m = 0.5 ** (sqrt(f) / 13)."""
CHRONIC_MONTHS = 3

NOT_LOGGED = "not_logged"
CREDIT_PREFIX = "credit_"
_REQUIRED = ("line", "recorded_at", "date", "pain", "exercises", "day")


@dataclass(frozen=True)
class WindowMean:
    """A mean over a window of days: ``value`` (None when too few days), ``n`` days it
    rests on, the window's first and last day, and ``reason`` when ``value`` is None."""

    value: float | None
    n: int
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    reason: str = ""


@dataclass(frozen=True)
class Ratio:
    """``value`` = ``numerator`` / ``denominator`` (None when the denominator is 0)."""

    value: float | None
    numerator: int
    denominator: int


def _check_entries(entries: pd.DataFrame) -> None:
    if not isinstance(entries, pd.DataFrame):
        raise FieldError("entries", "a DataFrame (LogData.entries)", type(entries).__name__)
    missing = [name for name in _REQUIRED if name not in entries.columns]
    if missing:
        raise FieldError("entries", f"columns {', '.join(_REQUIRED)}", list(entries.columns))


@overload
def _day(value: None) -> None: ...
@overload
def _day(value: date | str | pd.Timestamp) -> pd.Timestamp: ...
@overload
def _day(value: date | str | pd.Timestamp | None) -> pd.Timestamp | None: ...
def _day(value: date | str | pd.Timestamp | None) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        return pd.Timestamp(value).normalize()
    except (TypeError, ValueError):
        raise FieldError("date", "a date YYYY-MM-DD", value) from None


def day_window(daily: pd.DataFrame, start: pd.Timestamp | None, end: pd.Timestamp | None) -> slice:
    """Positions of the days ``start``-``end`` (both included; None = open), as
    ``daily.loc[start:end]`` would select them."""
    index = daily.index
    lo = 0 if start is None else int(index.searchsorted(start, side="left"))
    hi = len(index) if end is None else int(index.searchsorted(end, side="right"))
    return slice(lo, max(lo, hi))


def daily_column(
    daily: pd.DataFrame, name: str, window: slice = slice(None), dtype: type = float
) -> np.ndarray:
    """The column ``name`` of the daily series (:func:`daily_series`) over ``window`` (row
    positions, e.g. :func:`day_window`) as a numpy array of ``dtype``: float (the
    column's unit, e.g. pain in points; NaN for missing), bool, or object for ``day``."""
    return daily[name].to_numpy(dtype=dtype)[window]


def paused_days(routine: Routine, index: pd.DatetimeIndex) -> np.ndarray:
    """Days (rows of ``index``) × the routine's exercises: True where the exercise is
    not prescribed that day (:attr:`Routine.pauses`, e.g. a self-trial's B blocks)."""
    paused = np.zeros((len(index), len(routine.ids)), dtype=bool)
    column = {eid: j for j, eid in enumerate(routine.ids)}
    for pause in routine.pauses:
        if pause.exercise_id in column:
            inside = (index >= pd.Timestamp(pause.start)) & (index <= pd.Timestamp(pause.end))
            paused[np.asarray(inside, dtype=bool), column[pause.exercise_id]] = True
    return paused


def prescribed_credit(
    per_exercise: np.ndarray, routine: Routine, index: pd.DatetimeIndex
) -> np.ndarray:
    """A day's dose credit (0-1): the mean over the exercises prescribed that day of
    each one's credit (``per_exercise``: days × the routine's exercises, NaN = not
    logged). Exercises paused that day (:func:`paused_days`) do not count."""
    if not len(routine.ids):
        return np.full(len(index), np.nan)
    if not routine.pauses:
        mean: np.ndarray = per_exercise.mean(axis=1)
        return mean
    paused = paused_days(routine, index)
    counted = np.where(paused, np.nan, per_exercise)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a day with every exercise paused
        mean = np.nanmean(counted, axis=1)
        return mean


def dose_credits(exercises: pd.Series | np.ndarray, routine: Routine) -> np.ndarray:
    """Dose credit 0-1 per row and routine exercise (rows x exercises)."""
    doses = routine.doses()
    position = {eid: j for j, eid in enumerate(doses)}
    texts = np.asarray(exercises, dtype=object)
    codes, distinct = pd.factorize(texts, use_na_sentinel=False)  # a few hundred patterns
    done = [  # (pattern, exercise column, minutes or None) for the routine's exercises
        (row, position[exercise_id], minutes)
        for row, text in enumerate(distinct)
        if isinstance(text, str) and text  # nothing done (empty, or missing) earns 0
        for exercise_id, minutes in exercise_pairs(text)  # memoised: parsed once on load
        if exercise_id in position  # not in the routine: ignored
    ]
    table = np.zeros((len(distinct), len(doses)))
    if done:
        row_numbers, column_numbers, minute_values = zip(*done, strict=True)
        rows = np.array(row_numbers)
        columns = np.array(column_numbers)
        minutes = np.array(minute_values, dtype=float)  # None (not timed) -> NaN
        dose = np.array([np.nan if d is None else d for d in doses.values()])[columns]
        with np.errstate(invalid="ignore"):
            credit = np.minimum(minutes / dose, 1.0)
        table[rows, columns] = np.where(np.isnan(credit), 1.0, credit)
    return table[codes]


def daily_series(
    entries: pd.DataFrame,
    routine: Routine,
    *,
    start: date | str | pd.Timestamp | None = None,
    end: date | str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """One row per calendar day (index ``date``), from the latest save of each date.

    Columns: ``logged`` (bool); ``day`` (routine / rest / flare / not_logged); ``pain``
    (0-10 NRS, NaN = not rated or not logged); ``credit`` (dose credit 0-1: mean over the
    routine's exercises of min(minutes / prescribed, 1); an exercise with no dose, or done
    without minutes, earns 1; ids not in the routine are ignored; NaN when not logged);
    ``full`` (logged with credit 1); ``pain_median_28d`` (median of rated days in the 28
    days before, ≥ 7 rated); ``flare_marked``, ``flare_detected`` (pain ≥ 2.7 points above
    that median), ``flare`` (either); one ``credit_<id>`` column (0-1) per exercise.

    The range runs from the first logged day (or ``start``) to the last logged day (or
    ``end``; days after the last save appear as not logged). Flare medians use days before
    ``start`` too.
    """
    _check_entries(entries)
    ids = routine.ids
    latest = latest_positions(entries)
    dates = entries["date"].to_numpy(dtype="datetime64[ns]")[latest]
    first = pd.Timestamp(dates[0]) if len(dates) else None
    last = pd.Timestamp(dates[-1]) if len(dates) else None
    start_day, end_day = _day(start), _day(end)
    lo = start_day if first is None or (start_day is not None and start_day < first) else first
    hi = end_day if last is None or (end_day is not None and end_day > last) else last
    if lo is None or hi is None or hi < lo:
        index = pd.DatetimeIndex([], name="date", dtype="datetime64[ns]")
    else:
        index = pd.date_range(lo, hi, freq="D", name="date").as_unit("ns")
    n = len(index)
    if n:  # dates are midnights: the day number from the first day is the position
        position = (dates - index[0].to_datetime64()) // np.timedelta64(1, "D")
        keep = (position >= 0) & (position < n)
    else:
        position = keep = np.zeros(0, dtype=bool)
    rows = position[keep]
    latest = latest[keep]

    logged = np.zeros(n, dtype=bool)
    logged[rows] = True
    day = np.repeat(np.array([NOT_LOGGED], dtype=object), n)
    day[rows] = entries["day"].to_numpy(dtype=object)[latest]
    pain = np.full(n, np.nan)
    pain[rows] = entries["pain"].to_numpy(dtype=float, na_value=np.nan)[latest]
    per_exercise = np.full((n, len(ids)), np.nan)
    per_exercise[rows] = dose_credits(entries["exercises"].to_numpy(dtype=object)[latest], routine)
    credit = prescribed_credit(per_exercise, routine, index)

    median = (
        pd.Series(pain, index=index)
        .rolling(f"{FLARE_WINDOW_DAYS}D", min_periods=FLARE_MIN_RATED, closed="left")
        .median()
        .to_numpy()
    )
    flare_marked = day == "flare"
    with np.errstate(invalid="ignore"):
        flare_detected = pain - median >= FLARE_POINTS - 1e-9
    frame = pd.DataFrame(  # built in one go: inserting columns one by one costs more
        {
            "logged": logged,
            "day": pd.array(day, dtype="str"),
            "pain": pain,
            "credit": credit,
            "full": logged & (np.nan_to_num(credit) >= FULL_CREDIT),
            "pain_median_28d": median,
            "flare_marked": flare_marked.astype(bool),
            "flare_detected": flare_detected,
            "flare": flare_marked.astype(bool) | flare_detected,
            **{CREDIT_PREFIX + eid: per_exercise[:, j] for j, eid in enumerate(ids)},
        },
        index=index,
    )
    if start_day is not None or end_day is not None:
        frame = frame.loc[start_day:end_day]
    return frame


def daily_since(
    entries: pd.DataFrame, routine: Routine, since: date | str | pd.Timestamp | None = None
) -> pd.DataFrame:
    """The :func:`daily_series` an analysis from ``since`` on uses (all days when None):
    it starts on the first day logged on or after ``since``."""
    daily = daily_series(entries, routine, start=since)
    if since is not None:
        logged = daily["logged"].to_numpy(dtype=bool)
        daily = daily.iloc[logged.argmax() :] if logged.any() else daily.iloc[:0]
    return daily


def exercise_ids(daily: pd.DataFrame) -> list[str]:
    """The routine's exercise ids present in a daily series (its ``credit_<id>`` columns)."""
    return [c[len(CREDIT_PREFIX) :] for c in daily.columns if c.startswith(CREDIT_PREFIX)]


# ----------------------------------------------------------------------------- pain


def pain_7day_mean(daily: pd.DataFrame) -> pd.Series:
    """Rolling mean pain (points, 0-10) over 7 calendar days; NaN unless ≥ 4 days rated."""
    return (
        daily["pain"]
        .rolling(f"{ROLLING_DAYS}D", min_periods=ROLLING_MIN_RATED)
        .mean()
        .rename("pain_7day_mean")
    )


def last_logged_day(daily: pd.DataFrame) -> pd.Timestamp | None:
    """The last date with a save, or None for an empty log."""
    logged = daily.index[daily["logged"].to_numpy(dtype=bool)]
    return logged[-1] if len(logged) else None


def latest_pain_mean(
    daily: pd.DataFrame, end: date | str | pd.Timestamp | None = None
) -> WindowMean:
    """Mean pain (points) over the 7 calendar days ending on ``end`` (default: the last
    logged day); None unless ≥ 4 of them are rated."""
    end_day = _day(end) or last_logged_day(daily)
    if end_day is None:
        return WindowMean(None, 0, None, None, "no days logged yet")
    start_day = end_day - pd.Timedelta(days=ROLLING_DAYS - 1)
    rated = rated_pain(daily, start_day, end_day).to_numpy()
    if len(rated) < ROLLING_MIN_RATED:
        reason = (
            f"7-day mean pain needs {ROLLING_MIN_RATED} rated days in the 7 days ending "
            f"{end_day.date()}, has {len(rated)}"
        )
        return WindowMean(None, len(rated), start_day, end_day, reason)
    return WindowMean(float(rated.mean()), len(rated), start_day, end_day)


def weekly_pain(daily: pd.DataFrame) -> pd.DataFrame:
    """Mean pain (points) and count of rated days per ISO week (weeks end on Sunday)."""
    week_ending, mean, count = weekly_pain_arrays(daily)
    index = pd.DatetimeIndex(week_ending, name="week_ending")
    return pd.DataFrame({"mean": mean, "count": count}, index=index)


def weekly_pain_arrays(
    daily: pd.DataFrame, window: slice = slice(None)
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`weekly_pain` over the days in ``window`` as numpy arrays: each week's Sunday
    (datetime64), mean pain (points, NaN when no day is rated) and rated days."""
    days = day_index(daily)[window]
    dtype = _numpy_dtype(days)
    if len(days) == 0:
        return np.array([], dtype=dtype), np.array([]), np.array([], dtype=np.int64)
    # week number of each day, counted from the Sunday ending the first week
    first_sunday = days[0] + pd.Timedelta(days=(6 - days[0].day_of_week))
    week = ((days - first_sunday).days.to_numpy() + 6) // 7
    values = daily_column(daily, "pain", window)
    rated = ~np.isnan(values)
    weeks = int(week[-1]) + 1
    count = np.bincount(week[rated], minlength=weeks)
    total = np.bincount(week[rated], weights=values[rated], minlength=weeks)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    sundays = first_sunday.to_datetime64() + np.arange(weeks) * np.timedelta64(7, "D")
    return sundays.astype(dtype), mean, count


def week_numbers(index: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """For a daily index: the Sunday ending each ISO week it touches (datetime64) and each
    day's week number (0 = the first week)."""
    dtype = _numpy_dtype(index)
    if len(index) == 0:
        return np.array([], dtype=dtype), np.array([], dtype=np.int64)
    first_sunday = index[0] + pd.Timedelta(days=(6 - index[0].day_of_week))
    week = ((index - first_sunday).days.to_numpy() + 6) // 7
    sundays = first_sunday.to_datetime64() + np.arange(int(week[-1]) + 1) * np.timedelta64(7, "D")
    return sundays.astype(dtype), week


def day_index(daily: pd.DataFrame) -> pd.DatetimeIndex:
    """The index of a daily frame (:func:`daily_series`: one row per calendar day)."""
    index = daily.index
    if not isinstance(index, pd.DatetimeIndex):
        raise FieldError("daily", "a frame indexed by day (daily_series)", type(index).__name__)
    return index


def days_from(days: pd.Index, first: pd.Timestamp) -> np.ndarray:
    """Whole days from ``first`` to each date of ``days`` (a DatetimeIndex), as integers."""
    numbers: np.ndarray = (pd.DatetimeIndex(days) - first).days.to_numpy()
    return numbers


def _numpy_dtype(index: pd.DatetimeIndex) -> np.dtype[Any]:
    """The datetime64 dtype of a daily (time-zone-naive) index."""
    dtype = index.dtype
    if not isinstance(dtype, np.dtype):
        raise FieldError("daily", "days without a time zone", str(dtype))
    return dtype


def baseline(
    daily: pd.DataFrame,
    start: date | str | pd.Timestamp | None = None,
    end: date | str | pd.Timestamp | None = None,
) -> WindowMean:
    """Baseline pain (points): mean of the first 7 rated days, or of the rated days in a
    chosen period ``start``-``end`` (needs ≥ 4 rated days there)."""
    if start is None and end is None:
        pain = daily_column(daily, "pain")
        rated = np.flatnonzero(~np.isnan(pain))
        if len(rated) < BASELINE_DAYS:
            reason = f"baseline needs {BASELINE_DAYS} rated days, has {len(rated)}"
            return WindowMean(None, len(rated), None, None, reason)
        first = rated[:BASELINE_DAYS]
        return WindowMean(
            float(pain[first].mean()),
            BASELINE_DAYS,
            daily.index[first[0]],
            daily.index[first[-1]],
        )
    start_day, end_day = _day(start), _day(end)
    chosen = rated_pain(daily, start_day, end_day)
    if len(chosen) < ROLLING_MIN_RATED:
        reason = f"baseline period needs {ROLLING_MIN_RATED} rated days, has {len(chosen)}"
        return WindowMean(None, len(chosen), start_day, end_day, reason)
    return WindowMean(
        float(chosen.mean()),
        len(chosen),
        start_day or chosen.index[0],
        end_day or chosen.index[-1],
    )


def rated_pain(
    daily: pd.DataFrame, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None
) -> pd.Series:
    """Pain ratings (points) of the rated days from ``start`` to ``end`` (both included;
    None = open)."""
    window = day_window(daily, start, end)
    pain = daily_column(daily, "pain", window)
    rated = ~np.isnan(pain)
    return pd.Series(pain[rated], index=daily.index[window][rated], name="pain")


def flare_episodes(daily: pd.DataFrame) -> pd.DataFrame:
    """Runs of consecutive flare days: ``start``, ``end``, ``days``, ``peak_pain``
    (points), ``marked`` (any day marked flare by the person)."""
    flare = daily["flare"].to_numpy(dtype=bool)
    groups = np.cumsum(np.r_[True, flare[1:] != flare[:-1]])[flare] if len(flare) else flare
    first, last, days = _group_bounds(groups)
    pain = daily["pain"].to_numpy(dtype=float)[flare]
    marked = daily["flare_marked"].to_numpy(dtype=bool)[flare]
    dates = daily.index[flare]
    return pd.DataFrame(
        {
            "start": dates[first],
            "end": dates[last],
            "days": days,
            "peak_pain": [
                np.nanmax(pain[a : b + 1], initial=np.nan)
                for a, b in zip(first, last, strict=True)
            ],
            "marked": [bool(marked[a : b + 1].any()) for a, b in zip(first, last, strict=True)],
        }
    )


def _group_bounds(groups: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For sorted group labels: position of each group's first and last member, and size."""
    if len(groups) == 0:
        empty = np.array([], dtype=int)
        return empty, empty, empty
    _, first, size = np.unique(groups, return_index=True, return_counts=True)
    return first, first + size - 1, size


def chronic_span(daily: pd.DataFrame) -> tuple[bool, int]:
    """(chronic, span in days): whether days rated pain ≥ 1 span more than 3 months
    (IASP), and the span from the first to the last such day."""
    painful = daily.index[(daily["pain"] >= 1).to_numpy(dtype=bool)]
    if len(painful) == 0:
        return False, 0
    first, last = painful[0], painful[-1]
    return bool(last > first + pd.DateOffset(months=CHRONIC_MONTHS)), int((last - first).days)


# ----------------------------------------------------------------------------- adherence


def _routine_days(daily: pd.DataFrame) -> pd.Series:
    return pd.Series(routine_day_mask(daily), index=daily.index)


def routine_day_mask(daily: pd.DataFrame, window: slice = slice(None)) -> np.ndarray:
    """True on the logged routine days of the daily series (not rest, flare, withdrawn or
    unlogged days) over ``window`` (row positions): the days adherence is counted on."""
    logged = daily_column(daily, "logged", window, bool)
    mask: np.ndarray = logged & (daily_column(daily, "day", window, object) == "routine")
    return mask


def _bridge_mask(daily: pd.DataFrame) -> np.ndarray:
    """Planned rest and marked flare days."""
    day = daily_column(daily, "day", dtype=object)
    mask: np.ndarray = (day == "rest") | (day == "flare")
    return mask


def adherence_window(
    daily: pd.DataFrame, days: int, end: date | str | pd.Timestamp | None = None
) -> WindowMean:
    """Mean dose credit (fraction 0-1) of the logged routine days among the ``days``
    calendar days ending on ``end`` (default: the last logged day). Rest, flare and
    unlogged days are left out; None when there is no logged routine day."""
    end_day = _day(end) or last_logged_day(daily)
    if end_day is None:
        return WindowMean(None, 0, None, None, "no days logged yet")
    start_day = end_day - pd.Timedelta(days=days - 1)
    window = day_window(daily, start_day, end_day)
    credit = daily_column(daily, "credit", window)[routine_day_mask(daily, window)]
    if len(credit) == 0:
        reason = f"no logged routine day in the {days} days ending {end_day.date()}"
        return WindowMean(None, 0, start_day, end_day, reason)
    return WindowMean(float(credit.mean()), len(credit), start_day, end_day)


def adherence_by_week(daily: pd.DataFrame) -> pd.DataFrame:
    """Per ISO week (ending Sunday): ``adherence`` (mean credit 0-1 over logged routine
    days), ``routine_days``, ``high`` (≥ 0.8), ``flare_adherence`` and ``flare_days``
    (marked flare days, apart), ``rest_days``, ``not_logged`` days."""
    routine_days = _routine_days(daily)
    flare_days = daily["day"].eq("flare")
    frame = pd.DataFrame(
        {
            "routine_credit": daily["credit"].where(routine_days),
            "flare_credit": daily["credit"].where(flare_days),
            "rest": daily["day"].eq("rest").astype(int),
            "not_logged": (~daily["logged"]).astype(int),
        },
        index=daily.index,
    )
    weekly = frame.resample("W-SUN").agg(
        {
            "routine_credit": ["mean", "count"],
            "flare_credit": ["mean", "count"],
            "rest": "sum",
            "not_logged": "sum",
        }
    )
    result = pd.DataFrame(
        {
            "adherence": weekly[("routine_credit", "mean")],
            "routine_days": weekly[("routine_credit", "count")].astype(int),
            "flare_adherence": weekly[("flare_credit", "mean")],
            "flare_days": weekly[("flare_credit", "count")].astype(int),
            "rest_days": weekly[("rest", "sum")].astype(int),
            "not_logged": weekly[("not_logged", "sum")].astype(int),
        }
    )
    result.insert(2, "high", result["adherence"] >= HIGH_ADHERENCE - 1e-12)
    result.index.name = "week_ending"
    return result


def adherence_by_exercise(daily: pd.DataFrame) -> pd.DataFrame:
    """Per exercise: ``adherence`` (mean credit 0-1 over logged routine days),
    ``days_done`` (credit > 0), ``routine_days``, ``high`` (≥ 0.8), and
    ``flare_adherence`` over marked flare days (apart)."""
    routine_days = _routine_days(daily).to_numpy(dtype=bool)
    flare_days = daily["day"].eq("flare").to_numpy(dtype=bool)
    rows = []
    for exercise_id in exercise_ids(daily):
        credit = daily[CREDIT_PREFIX + exercise_id]
        on_routine = credit[routine_days]
        on_flare = credit[flare_days]
        rows.append(
            {
                "exercise": exercise_id,
                "adherence": float(on_routine.mean()) if len(on_routine) else np.nan,
                "days_done": int((on_routine > 0).sum()),
                "routine_days": len(on_routine),
                "flare_adherence": float(on_flare.mean()) if len(on_flare) else np.nan,
            }
        )
    table = pd.DataFrame.from_records(
        rows,
        columns=["exercise", "adherence", "days_done", "routine_days", "flare_adherence"],
    ).set_index("exercise")
    table.insert(1, "high", table["adherence"] >= HIGH_ADHERENCE - 1e-12)
    return table


def logging_completeness(
    daily: pd.DataFrame, today: date | str | pd.Timestamp | None = None
) -> Ratio:
    """Days logged ÷ days elapsed, from the first logged day to ``today`` (default: the
    last logged day), both included (fraction 0-1)."""
    logged = daily.index[daily["logged"].to_numpy(dtype=bool)]
    if len(logged) == 0:
        return Ratio(None, 0, 0)
    end_day = _day(today) or logged[-1]
    end_day = max(end_day, logged[-1])
    elapsed = int((end_day - logged[0]).days) + 1
    return Ratio(len(logged) / elapsed, len(logged), elapsed)


# ----------------------------------------------------------------------------- habits


def _streak_status(daily: pd.DataFrame) -> np.ndarray:
    """Per day: 1 full routine, 0 bridge (rest or flare day not fully done), -1 break
    (not logged, or logged and not fully done)."""
    full = daily["full"].to_numpy(dtype=bool)
    bridge = _bridge_mask(daily)
    return np.where(full, 1, np.where(bridge, 0, -1))


def streaks(daily: pd.DataFrame) -> pd.DataFrame:
    """Every streak: runs of full-routine days (rest and marked flare days inside a run
    neither break nor count). Columns ``start``, ``end`` (first and last full day),
    ``days`` (full days). A day not logged, or logged without the full routine, ends it."""
    status = _streak_status(daily)
    full = status == 1
    first, last, days = _group_bounds(np.cumsum(status == -1)[full])
    dates = daily.index[full]
    return pd.DataFrame({"start": dates[first], "end": dates[last], "days": days})


STREAK_RULE = (
    "a day with the whole routine adds 1; a rest or flare day neither adds nor ends it; a "
    "day with part of the routine (or none), or a past day not logged, ends it; today "
    "never ends it, whatever is logged so far"
)
"""How :func:`current_streak` counts, in words (what the form's confirmation says)."""


def current_streak(daily: pd.DataFrame, today: date | str | pd.Timestamp | None = None) -> int:
    """Full-routine days in the streak still running on ``today`` (default: the last
    logged day), by :data:`STREAK_RULE`: rest and flare days bridge it; a past day not
    logged, or logged without the full routine, ends it; ``today`` (the day is not over)
    adds 1 once the whole routine is logged and otherwise neither adds nor ends it, as
    in Loop Habit Tracker."""
    today_day = _day(today)
    last = last_logged_day(daily)
    if last is None:
        return 0
    status = _streak_status(daily)
    index = daily.index
    if today_day is not None:
        if today_day < index[0]:
            return 0
        keep = index <= today_day
        status, index = status[keep], index[keep]
        gap = int((today_day - index[-1]).days) if len(index) else 0
        if gap > 1:  # unlogged days between the last row of the series and today
            return 0
        if len(index) and index[-1] == today_day and status[-1] != 1:
            status = status[:-1]  # today, not (yet) the whole routine: not over
    count = 0
    for value in status[::-1]:
        if value == -1:
            break
        count += int(value == 1)
    return count


STALE_DAYS = 3
"""A view says so when the latest entry is older than this many days."""


def days_since_entry(daily: pd.DataFrame, today: date | str | pd.Timestamp) -> int | None:
    """Whole days from the last logged day to ``today`` (None for an empty log)."""
    last = last_logged_day(daily)
    return None if last is None else int((_day(today) - last).days)


def stale_message(daily: pd.DataFrame, today: date | str | pd.Timestamp) -> str:
    """A sentence when the latest entry is more than 3 days before ``today``, else ""."""
    age = days_since_entry(daily, today)
    last = last_logged_day(daily)
    if age is None or last is None or age <= STALE_DAYS:
        return ""
    return (
        f"Your latest entry is {age} days old ({last.date()}): the numbers "
        "describe you up to then, not today."
    )


def habit_strength(
    daily: pd.DataFrame,
    frequency: float = 1.0,
    today: date | str | pd.Timestamp | None = None,
) -> pd.Series:
    """Loop Habit Tracker's score (0-1), as its ``ScoreList``: S_t = m·S_{t-1} +
    (1-m)·c_t with m = 0.5 ** (sqrt(f) / 13), f the target frequency per day (1 =
    daily), c_t the day's dose credit. A day not logged counts 0, as a day without an
    entry does in Loop, so the score decays when logging stops; rest and marked flare
    days are skipped (score carried over, as Loop's SKIP). With ``today``, the series
    runs to the day before it (today, not yet logged, does not count). Starts at 0. (Only
    this score treats an unlogged day as not done; adherence leaves such days out.)"""
    if not frequency > 0:
        raise FieldError("frequency", "a target frequency per day above 0", frequency)
    m = 0.5 ** (np.sqrt(frequency) / HABIT_HALF_LIFE)
    index = daily.index
    today_day = _day(today)
    if today_day is not None and len(index) and today_day - pd.Timedelta(days=1) > index[-1]:
        index = pd.date_range(index[0], today_day - pd.Timedelta(days=1), name=index.name)
        index = index.as_unit("ns") if hasattr(index, "as_unit") else index
    logged = np.zeros(len(index), dtype=bool)
    logged[: len(daily)] = daily["logged"].to_numpy(dtype=bool)
    credit = np.zeros(len(index))
    credit[: len(daily)] = np.nan_to_num(daily["credit"].to_numpy(dtype=float))
    skip = np.zeros(len(index), dtype=bool)
    skip[: len(daily)] = _bridge_mask(daily) & logged[: len(daily)]
    values = np.where(logged, credit, 0.0)
    updates = np.flatnonzero(~skip)
    scores = np.zeros(len(index))
    if len(updates):
        after_update = _exponential_smoothing(values[updates], m)
        last_update = np.full(len(index), -1)
        last_update[updates] = np.arange(len(updates))
        last_update = np.maximum.accumulate(last_update)  # the update each day carries over
        seen = last_update >= 0
        scores[seen] = after_update[last_update[seen]]
    return pd.Series(scores, index=index, name="habit_strength")


def _exponential_smoothing(values: np.ndarray, m: float, chunk: int = 256) -> np.ndarray:
    """S_j = m·S_{j-1} + (1-m)·values_j from S = 0, vectorised: within a chunk,
    S_j = m^(j+1)·S_before + (1-m)·m^j·Σ_{i≤j} m^(-i)·values_i (chunks keep m^(-i) small)."""
    smoothed = np.empty(len(values))
    before = 0.0
    for start in range(0, len(values), chunk):
        part = values[start : start + chunk]
        powers = m ** np.arange(len(part))
        smoothed[start : start + len(part)] = (1 - m) * powers * np.cumsum(
            part / powers
        ) + before * m * powers
        before = smoothed[start + len(part) - 1]
    return smoothed


def adherence_by_exercise_week(daily: pd.DataFrame) -> pd.DataFrame:
    """Per ISO week (rows, ``week_ending`` Sunday) and exercise (columns, ids): adherence
    (mean credit 0-1 over the week's logged routine days, as :func:`adherence_by_exercise`
    for each week); NaN for a week without a logged routine day."""
    ids = exercise_ids(daily)
    columns = [CREDIT_PREFIX + e for e in ids]
    weekly = daily[columns].where(_routine_days(daily), axis=0).resample("W-SUN").mean()
    weekly.columns = ids
    weekly.index.name = "week_ending"
    return weekly
