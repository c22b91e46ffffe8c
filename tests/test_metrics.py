"""Metrics: hand-computed cases and properties (row order, corrections, not logged)."""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backtrack import metrics
from backtrack.demo import demo_log, to_csv_text
from backtrack.errors import FieldError
from backtrack.routine import parse_routine
from backtrack.schema import Entry
from backtrack.store import parse_log_text

TZ = timezone(timedelta(hours=1))
START = date(2026, 3, 2)  # a Monday

ROUTINE = parse_routine(
    {
        "exercise": [
            {"id": "a", "name": "A", "dose_minutes": 4},
            {"id": "b", "name": "B", "dose_minutes": 2},
            {"id": "c", "name": "C"},  # no dose set
        ]
    }
)
FULL = {"a": 4.0, "b": 2.0, "c": None}


def entry(offset: int, pain=None, done=None, day="routine", saved_hours=20.0, note=""):
    day_date = START + timedelta(days=offset)
    saved = datetime.combine(day_date, time(0, 0), TZ) + timedelta(hours=saved_hours)
    return Entry(saved, day_date, pain, dict(done or {}), day, (), note)


def entries_of(rows: list[Entry]) -> pd.DataFrame:
    return parse_log_text(to_csv_text(rows), "<test>").entries


def daily_of(rows: list[Entry], **kwargs) -> pd.DataFrame:
    return metrics.daily_series(entries_of(rows), ROUTINE, **kwargs)


# ----------------------------------------------------------------------------- daily


def test_daily_series_marks_every_calendar_day_and_uses_the_latest_save():
    rows = [
        entry(0, 5, FULL),
        entry(0, 3, {}, saved_hours=30),  # correction next morning: nothing done, pain 3
        entry(3, 4, {"a": 2.0}),
    ]
    daily = daily_of(rows)
    assert list(daily.index) == list(pd.date_range("2026-03-02", "2026-03-05"))
    assert daily["logged"].tolist() == [True, False, False, True]
    assert daily["day"].tolist() == ["routine", "not_logged", "not_logged", "routine"]
    assert daily.loc["2026-03-02", "pain"] == 3
    assert daily.loc["2026-03-02", "credit"] == 0
    assert math.isnan(daily.loc["2026-03-03", "credit"])  # not logged is not "not done"
    assert daily.loc["2026-03-05", "credit"] == pytest.approx((0.5 + 0 + 0) / 3)


def test_daily_series_end_after_the_last_save_adds_unlogged_days():
    daily = daily_of([entry(0, 5, FULL)], end=START + timedelta(days=2))
    assert daily["logged"].tolist() == [True, False, False]
    assert daily["day"].iloc[-1] == "not_logged"


def test_daily_series_rejects_what_is_not_a_log():
    with pytest.raises(FieldError, match="entries"):
        metrics.daily_series(pd.DataFrame({"x": [1]}), ROUTINE)


def test_empty_log_gives_an_empty_series_and_no_values():
    daily = metrics.daily_series(entries_of([]), ROUTINE)
    assert daily.empty
    assert metrics.latest_pain_mean(daily).value is None
    assert metrics.current_streak(daily, START) == 0
    assert metrics.baseline(daily).reason == "baseline needs 7 rated days, has 0"


# ----------------------------------------------------------------------------- pain


def test_7day_mean_across_a_gap_needs_four_rated_days():
    # days 0..9; rated: 0:2, 1:4, (2,3 not logged), 4:6, 5: logged unrated rest, 6:8, 9:3
    rows = [
        entry(0, 2),
        entry(1, 4),
        entry(4, 6),
        entry(5, None, day="rest"),
        entry(6, 8),
        entry(9, 3),
    ]
    mean = metrics.pain_7day_mean(daily_of(rows))
    # window ending day 6 (days 0-6): 2, 4, 6, 8 → 5.0 from 4 rated days
    assert mean.loc["2026-03-08"] == pytest.approx(5.0)
    # window ending day 5: only 3 rated (2, 4, 6) → not shown
    assert math.isnan(mean.loc["2026-03-07"])
    # window ending day 9 (days 3-9): 6, 8, 3 → 3 rated, not shown
    assert math.isnan(mean.loc["2026-03-11"])
    latest = metrics.latest_pain_mean(daily_of(rows))
    assert latest.value is None and latest.n == 3
    assert "needs 4 rated days" in latest.reason and "has 3" in latest.reason


def test_latest_window_ends_on_the_last_logged_day_and_says_so():
    rows = [entry(i, p) for i, p in enumerate([7, 7, 7, 7, 6, 5, 4, 3])]
    latest = metrics.latest_pain_mean(daily_of(rows))
    assert latest.end == pd.Timestamp(START + timedelta(days=7))
    assert latest.value == pytest.approx((7 + 7 + 7 + 6 + 5 + 4 + 3) / 7)
    assert latest.n == 7


def test_baseline_first_seven_rated_days_or_a_chosen_period():
    pains = [8, None, 6, 7, 5, 9, 4, 6, 2, 2]
    rows = [entry(i, p, day="rest" if p is None else "routine") for i, p in enumerate(pains)]
    daily = daily_of(rows)
    base = metrics.baseline(daily)
    assert base.value == pytest.approx((8 + 6 + 7 + 5 + 9 + 4 + 6) / 7)
    assert base.n == 7 and base.end == pd.Timestamp(START + timedelta(days=7))
    chosen = metrics.baseline(daily, START + timedelta(days=6), START + timedelta(days=9))
    assert chosen.value == pytest.approx((4 + 6 + 2 + 2) / 4)
    short = metrics.baseline(daily, START + timedelta(days=8), None)
    assert short.value is None and "has 2" in short.reason


def test_weekly_pain_mean_and_count_per_iso_week():
    rows = [entry(i, p) for i, p in [(0, 4), (2, 6), (6, 5), (7, 1), (8, 3)]]
    weekly = metrics.weekly_pain(daily_of(rows))
    assert weekly["count"].tolist() == [3, 2]
    assert weekly["mean"].tolist() == pytest.approx([5.0, 2.0])
    assert weekly.index[0] == pd.Timestamp("2026-03-08")  # Sunday


def test_flare_detected_from_own_28day_median_or_marked():
    pains = [3] * 10 + [6, 5, 3, 3]  # 6 = 3 + 3 ≥ 2.7 above the median 3; 5 is only 2 above
    rows = [entry(i, p) for i, p in enumerate(pains)]
    rows[12] = entry(12, 3, day="flare")
    daily = daily_of(rows)
    assert daily["flare_detected"].tolist() == [False] * 10 + [True, False, False, False]
    assert daily["flare"].tolist() == [False] * 10 + [True, False, True, False]
    episodes = metrics.flare_episodes(daily)
    assert episodes["days"].tolist() == [1, 1]
    assert episodes["marked"].tolist() == [False, True]


def test_chronic_means_rated_pain_spanning_more_than_three_months():
    short = daily_of([entry(0, 2), entry(92, 3)])  # 2 Mar → 2 Jun: exactly 3 months
    long = daily_of([entry(0, 2), entry(93, 3), entry(150, 0)])
    assert metrics.chronic_span(short) == (False, 92)
    assert metrics.chronic_span(long) == (True, 93)


# ----------------------------------------------------------------------------- adherence


def test_adherence_with_rest_flare_partial_doses_and_unknown_ids():
    rows = [
        entry(0, 5, {"a": 4.0, "b": 1.0, "c": None}),  # (1 + 0.5 + 1) / 3
        entry(1, 5, {"a": 2.0, "zzz": 9.0}),  # (0.5 + 0 + 0) / 3; zzz ignored
        entry(2, 5, {"c": 3.0, "b": 5.0}),  # c has no dose: 1; b capped at 1 → 2/3
        entry(3, None, {}, day="rest"),  # excluded
        entry(4, 8, {"a": 4.0}, day="flare"),  # reported apart: 1/3
        # day 5 not logged: excluded, not "not done"
        entry(6, 5, {}),  # logged, nothing done: 0
    ]
    daily = daily_of(rows)
    expected = [2.5 / 3, 0.5 / 3, 2 / 3, 0.0]
    week = metrics.adherence_by_week(daily).iloc[0]
    assert week["adherence"] == pytest.approx(np.mean(expected))
    assert week["routine_days"] == 4
    assert week["flare_days"] == 1 and week["flare_adherence"] == pytest.approx(1 / 3)
    assert week["rest_days"] == 1 and week["not_logged"] == 1
    assert not week["high"]
    window = metrics.adherence_window(daily, 7)
    assert window.value == pytest.approx(np.mean(expected)) and window.n == 4
    per_exercise = metrics.adherence_by_exercise(daily)
    assert per_exercise.loc["a", "adherence"] == pytest.approx((1 + 0.5 + 0 + 0) / 4)
    assert per_exercise.loc["b", "adherence"] == pytest.approx((0.5 + 0 + 1 + 0) / 4)
    assert per_exercise.loc["c", "adherence"] == pytest.approx((1 + 0 + 1 + 0) / 4)
    assert per_exercise.loc["a", "flare_adherence"] == 1.0
    assert per_exercise.loc["a", "days_done"] == 2
    assert "zzz" not in per_exercise.index


def test_high_adherence_label_at_80_percent():
    rows = [entry(i, 4, FULL) for i in range(4)] + [entry(4, 4, {})]
    assert metrics.adherence_by_week(daily_of(rows))["high"].iloc[0]  # 4/5 = 0.8


def test_adherence_by_exercise_week_by_hand():
    rows = [
        entry(0, 5, {"a": 4.0, "b": 1.0}),  # a 1, b 0.5, c 0
        entry(1, 5, {"a": 2.0, "c": None}),  # a 0.5, b 0, c 1
        entry(2, None, {"a": 4.0}, day="rest"),  # left out
        entry(3, 8, {"b": 2.0}, day="flare"),  # left out (flare days are apart)
        # week 2 (days 7-13): only a rest day, so no logged routine day: NaN
        entry(8, None, {}, day="rest"),
        entry(14, 4, FULL),  # week 3: all done
    ]
    weekly = metrics.adherence_by_exercise_week(daily_of(rows))
    assert list(weekly.columns) == ["a", "b", "c"] and weekly.index.name == "week_ending"
    assert list(weekly.index.day_of_week) == [6, 6, 6]  # weeks end on Sunday
    np.testing.assert_allclose(weekly.iloc[0], [0.75, 0.25, 0.5])
    assert weekly.iloc[1].isna().all()
    np.testing.assert_allclose(weekly.iloc[2], [1.0, 1.0, 1.0])


def test_adherence_by_exercise_week_matches_the_per_exercise_table_each_week():
    from backtrack.routine import default_routine

    log = demo_log(120, seed=3, end=date(2026, 11, 20))
    daily = metrics.daily_series(log.entries, default_routine())
    weekly = metrics.adherence_by_exercise_week(daily)
    for week_end in weekly.index[[0, 5, -1]]:
        week = daily.loc[week_end - pd.Timedelta(days=6) : week_end]
        expected = metrics.adherence_by_exercise(week)["adherence"]
        np.testing.assert_allclose(weekly.loc[week_end, expected.index], expected, equal_nan=True)


def test_logging_completeness_counts_days_up_to_today():
    rows = [entry(0, 5), entry(1, 5), entry(3, 5)]
    ratio = metrics.logging_completeness(daily_of(rows), today=START + timedelta(days=4))
    assert (ratio.numerator, ratio.denominator) == (3, 5)
    assert ratio.value == pytest.approx(0.6)


# ----------------------------------------------------------------------------- habits


def test_streak_over_a_rest_day_and_today_not_yet_logged():
    rows = [
        entry(0, 5, {}),  # not full
        entry(1, 5, FULL),
        entry(2, 5, FULL),
        entry(3, None, {}, day="rest"),  # bridges, does not count
        entry(4, 5, FULL),
    ]
    daily = daily_of(rows)
    today = START + timedelta(days=5)
    assert metrics.current_streak(daily, today) == 3  # today not logged yet
    assert metrics.current_streak(daily, START + timedelta(days=4)) == 3
    assert metrics.current_streak(daily, START + timedelta(days=6)) == 0  # day 5 missed
    table = metrics.streaks(daily)
    assert table["days"].tolist() == [3]
    assert table["start"].iloc[0] == pd.Timestamp(START + timedelta(days=1))


def test_streak_broken_by_a_partial_day_or_an_unlogged_past_day():
    partial = [entry(0, 5, FULL), entry(1, 5, {"a": 4.0, "b": 1.0, "c": None}), entry(2, 5, FULL)]
    assert metrics.current_streak(daily_of(partial), START + timedelta(days=2)) == 1
    gap = [entry(0, 5, FULL), entry(2, 5, FULL)]
    assert metrics.current_streak(daily_of(gap), START + timedelta(days=2)) == 1
    assert metrics.streaks(daily_of(gap))["days"].tolist() == [1, 1]


def test_habit_strength_after_13_perfect_days_is_one_half():
    strength = metrics.habit_strength(daily_of([entry(i, 4, FULL) for i in range(13)]))
    assert strength.iloc[-1] == pytest.approx(0.5)
    assert strength.iloc[0] == pytest.approx(1 - 0.5 ** (1 / 13))


def test_habit_strength_carries_over_rest_days_and_decays_on_unlogged_days():
    """As Loop's ScoreList: a rest (skip) day carries the score over; a day without an
    entry counts 0, so the score decays, up to the day before ``today``."""
    rows = [entry(0, 4, FULL), entry(1, None, {}, day="rest"), entry(3, 4, FULL)]
    strength = metrics.habit_strength(daily_of(rows)).tolist()
    m = 0.5 ** (1 / 13)
    s2 = m * (1 - m)  # day 2 not logged: S = m * S
    assert strength == pytest.approx([1 - m, 1 - m, s2, m * s2 + (1 - m)])
    later = metrics.habit_strength(daily_of(rows), today=START + timedelta(days=44))
    assert len(later) == 44 and later.iloc[-1] == pytest.approx((m * s2 + (1 - m)) * m**40)


def test_stale_data_is_said_after_three_days():
    daily = daily_of([entry(0, 4, FULL)])
    assert metrics.stale_message(daily, START + timedelta(days=3)) == ""
    text = metrics.stale_message(daily, START + timedelta(days=40))
    assert "40 days old" in text


# ----------------------------------------------------------------------------- properties

day_entries = st.lists(
    st.tuples(
        st.integers(0, 20),  # day offset
        st.one_of(st.none(), st.integers(0, 10)),
        st.dictionaries(
            st.sampled_from(["a", "b", "c", "old_id"]),
            st.one_of(st.none(), st.sampled_from([0.5, 1.0, 2.0, 4.0, 6.0])),
            max_size=4,
        ),
        st.sampled_from(["routine", "routine", "rest", "flare"]),
        st.floats(19, 40),  # saved at: hours after the day's midnight
    ),
    min_size=1,
    max_size=25,
    unique_by=lambda spec: (spec[0], spec[4]),  # two saves of a date never share a time
)


def _rows(spec) -> list[Entry]:
    return [entry(o, p, d, t, saved_hours=h) for o, p, d, t, h in spec]


def _summary(daily: pd.DataFrame) -> tuple:
    return (
        daily.to_dict("list"),
        metrics.pain_7day_mean(daily).tolist(),
        metrics.adherence_by_week(daily).to_dict("list"),
        metrics.current_streak(daily, START + timedelta(days=21)),
        metrics.habit_strength(daily).tolist(),
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=day_entries, order=st.randoms(use_true_random=False))
def test_results_do_not_depend_on_row_order(spec, order):
    rows = _rows(spec)
    shuffled = list(rows)
    order.shuffle(shuffled)
    assert repr(_summary(daily_of(rows))) == repr(_summary(daily_of(shuffled)))


@settings(max_examples=40, deadline=None)
@given(spec=day_entries, old_pain=st.integers(0, 10))
def test_a_superseded_row_changes_nothing(spec, old_pain):
    rows = _rows(spec)
    target = rows[0]
    earliest = min(r.recorded_at for r in rows if r.date == target.date)
    older = Entry(  # saved before every other save of that date: never the day's state
        earliest - timedelta(hours=5), target.date, old_pain, {"a": 1.0}, "flare"
    )
    assert repr(_summary(daily_of(rows))) == repr(_summary(daily_of([*rows, older])))


@settings(max_examples=40, deadline=None)
@given(spec=day_entries, drop=st.integers(0, 24))
def test_not_logged_is_never_counted_as_not_done(spec, drop):
    """Removing a day's rows leaves every other day's credit unchanged, and makes that
    day's credit unknown (NaN), never 0; adherence means are over logged days only."""
    rows = _rows(spec)
    dates = sorted({r.date for r in rows})
    gone = dates[drop % len(dates)]
    kept = [r for r in rows if r.date != gone]
    full_daily = daily_of(rows, start=START, end=START + timedelta(days=20))
    part_daily = daily_of(kept, start=START, end=START + timedelta(days=20))
    day = pd.Timestamp(gone)
    assert not part_daily.loc[day, "logged"]
    assert math.isnan(part_daily.loc[day, "credit"])
    others = full_daily.index != day
    pd.testing.assert_series_equal(
        full_daily["credit"][others], part_daily["credit"][others], check_names=False
    )
    routine_days = part_daily["logged"] & part_daily["day"].eq("routine")
    window = metrics.adherence_window(part_daily, 21)
    if routine_days.any():
        assert window.n == int(routine_days.sum())
        assert window.value == pytest.approx(part_daily["credit"][routine_days].mean())
    else:
        assert window.value is None


def test_demo_log_daily_series_is_complete_and_bounded():
    log = demo_log(90, seed=3, end=date(2026, 11, 1))
    from backtrack.routine import default_routine

    daily = metrics.daily_series(log.entries, default_routine())
    assert len(daily) == 90
    assert daily["credit"].dropna().between(0, 1).all()
    assert (daily["day"] == "not_logged").sum() == (~daily["logged"]).sum() > 0


@settings(max_examples=60, deadline=None)
@given(
    credits=st.lists(st.one_of(st.none(), st.floats(0, 1)), min_size=0, max_size=700),
)
def test_habit_strength_equals_the_day_by_day_recurrence(credits):
    """Checked against Loop's recurrence written out day by day (None = a day not logged:
    counts 0, as a day without an entry in Loop's ScoreList)."""
    index = pd.date_range("2026-01-01", periods=len(credits), freq="D", name="date")
    daily = pd.DataFrame(
        {
            "logged": [c is not None for c in credits],
            "day": ["routine" if c is not None else metrics.NOT_LOGGED for c in credits],
            "credit": [np.nan if c is None else c for c in credits],
        },
        index=index,
    )
    m = 0.5 ** (1 / 13)
    expected, score = [], 0.0
    for credit in credits:
        score = m * score + (1 - m) * (0.0 if credit is None else credit)
        expected.append(score)
    got = metrics.habit_strength(daily).to_numpy()
    assert np.allclose(got, expected, rtol=1e-9, atol=1e-12)


KINDS = ("full", "partial", "nothing", "rest", "flare", "full_flare", "not_logged")


def _rows_of(kinds) -> list[Entry]:
    done = {"full": FULL, "partial": {"a": 4.0}, "nothing": {}, "rest": {}, "flare": {}}
    done["full_flare"] = FULL
    return [
        entry(n, 4, done[kind], day={"rest": "rest", "flare": "flare"}.get(kind, "routine"))
        if kind != "full_flare"
        else entry(n, 4, FULL, day="flare")
        for n, kind in enumerate(kinds)
        if kind != "not_logged"
    ]


def _streak_by_the_rule(kinds, today: int) -> int:
    """:data:`metrics.STREAK_RULE` read plainly: back from ``today`` (the offset; beyond
    the logged days means not logged)."""
    count = 0
    for offset in range(today, -1, -1):
        kind = kinds[offset] if offset < len(kinds) else "not_logged"
        whole = kind in ("full", "full_flare")
        if whole:
            count += 1
        elif offset == today or kind in ("rest", "flare"):
            continue  # today never ends it; rest and flare days bridge it
        else:
            break
    return count


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=12), ahead=st.integers(0, 2))
def test_current_streak_follows_its_stated_rule(kinds, ahead):
    """Issue 24: today not yet logged (or only partly) never breaks a streak; partial
    days end it and rest days bridge it, by the one rule the form states. Every mix of
    day kinds, today being the last day or up to two days after it."""
    if all(k == "not_logged" for k in kinds):
        kinds = [*kinds, "full"]
    while kinds[-1] == "not_logged":  # the series ends at the last logged day
        kinds = kinds[:-1]
    daily = daily_of(_rows_of(kinds))
    today = len(kinds) - 1 + ahead
    first = next(n for n, k in enumerate(kinds) if k != "not_logged")
    expected = _streak_by_the_rule(kinds[first:], today - first)
    assert metrics.current_streak(daily, START + timedelta(days=today)) == expected
    if ahead == 0 and kinds[-1] not in ("full", "full_flare"):  # today, not whole yet
        yesterday = daily_of(_rows_of(kinds[:-1])) if len(kinds) > 1 else None
        if yesterday is not None and len(yesterday):
            assert metrics.current_streak(daily, START + timedelta(days=today)) == (
                metrics.current_streak(yesterday, START + timedelta(days=today))
            )
