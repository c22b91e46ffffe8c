"""The function measures' wording, scoring and schedule (issue 28 items 1 and 3): the
items checked against their primary sources (tests/measures/items.toml), scores against
hand-computed cases and exact fractions, and when each is due on a simulated calendar."""

from __future__ import annotations

import tomllib
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backtrack import measures
from backtrack.errors import FieldError
from backtrack.measures import (
    PEG_ITEMS,
    PGIC_CATEGORIES,
    PSFS_SCALE,
    Answers,
    parse_peg,
    parse_pgic,
    parse_psfs,
    peg_due,
    peg_score,
    pgic_due,
    psfs_by_activity,
    psfs_due,
    psfs_score,
    score,
)

SOURCES = tomllib.loads((Path(__file__).parent / "measures" / "items.toml").read_text("utf-8"))
DAY = date(2026, 12, 7)  # a Monday


def test_the_peg_items_are_worded_as_krebs_2009():
    quoted = SOURCES["peg"]["item"]
    assert "J Gen Intern Med 2009;24(6):733-738" in SOURCES["peg"]["source"]
    assert len(PEG_ITEMS) == len(quoted) == 3
    for item, source in zip(PEG_ITEMS, quoted, strict=True):
        assert (item.key, item.text, item.low, item.high) == (
            source["key"],
            source["text"],
            source["low"],
            source["high"],
        )
        assert (item.low_anchor, item.high_anchor) == (source["low_anchor"], source["high_anchor"])


def test_the_psfs_scale_and_the_pgic_answers_are_worded_as_their_sources():
    psfs = SOURCES["psfs"]
    assert (PSFS_SCALE.low, PSFS_SCALE.high) == (psfs["low"], psfs["high"])
    assert (PSFS_SCALE.low_anchor, PSFS_SCALE.high_anchor) == (
        psfs["low_anchor"],
        psfs["high_anchor"],
    )
    assert psfs["activities_max"] == measures.PSFS_ACTIVITIES_MAX
    assert list(PGIC_CATEGORIES) == SOURCES["pgic"]["categories"]
    stem = SOURCES["pgic"]["stem"]  # the study is the routine here, the rest as published
    assert stem.replace("the start of the study", "starting the routine") == measures.PGIC_QUESTION


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ((6, 5, 7), 6.0),  # (6 + 5 + 7) / 3
        ((3, 4, 4), 11 / 3),
        ((0, 0, 0), 0.0),
        ((10, 10, 10), 10.0),
        ((10, 0, 5), 5.0),
    ],
)
def test_the_peg_score_is_the_mean_of_its_three_items(values, expected):
    value, reason = peg_score(values)
    assert value == pytest.approx(expected, abs=1e-12) and reason == ""


def test_a_peg_with_an_item_missing_has_no_score_and_says_which():
    value, reason = peg_score((6, None, 7))
    assert value is None and "enjoyment not answered" in reason
    value, reason = peg_score((None, None, 7))
    assert value is None and "pain, enjoyment not answered" in reason
    result = score(Answers("peg", DAY, (None, 4, 4)))
    assert result.value is None and "pain not answered" in result.reason


@given(st.tuples(*[st.integers(0, 10)] * 3))
def test_the_peg_score_equals_the_exact_fraction(values):
    assert peg_score(values)[0] == pytest.approx(float(Fraction(sum(values), 3)), abs=1e-12)


@pytest.mark.parametrize(
    ("values", "expected"),
    [((4, 3), 3.5), ((4, None, 3), 3.5), ((0,), 0.0), ((10, 9, 8, 7, 6), 8.0), ((1, 2, 2), 5 / 3)],
)
def test_the_psfs_score_is_the_mean_of_the_activities_rated(values, expected):
    value, reason = psfs_score(values)
    assert value == pytest.approx(expected, abs=1e-12) and reason == ""


def test_a_psfs_with_no_activity_rated_has_no_score():
    value, reason = psfs_score((None, None))
    assert value is None and "no activity was rated" in reason


def test_the_pgic_score_is_its_category():
    assert score(Answers("pgic", DAY, (2,))).value == 2.0
    assert PGIC_CATEGORIES[2 - 1] == "Much improved"


def test_psfs_activities_are_kept_by_their_text():
    sets = [
        Answers("psfs", DAY, (4, 3), ("walk the dog", "sit through a film")),
        Answers("psfs", DAY + timedelta(14), (6, None), ("walk the dog", "sit through a film")),
        Answers("psfs", DAY + timedelta(28), (7, 5), ("walk the dog", "watch a whole film")),
    ]
    found = psfs_by_activity(list(reversed(sets)))
    assert found == {
        "walk the dog": [(DAY, 4), (DAY + timedelta(14), 6), (DAY + timedelta(28), 7)],
        "sit through a film": [(DAY, 3)],  # not rated on the 2nd: no rating, not a 0
        "watch a whole film": [(DAY + timedelta(28), 5)],  # renamed: a new activity
    }


def test_the_command_texts_are_read_exactly():
    assert parse_peg("6,5,7") == (6, 5, 7)
    assert parse_peg(" 6, 5 ,7 ") == (6, 5, 7)
    assert parse_peg("6,,7") == (6, None, 7)
    assert parse_psfs("walk the dog=4,sit through a film=3") == (
        ("walk the dog", 4),
        ("sit through a film", 3),
    )
    assert parse_psfs("2+2=4 in my head=3,lift=") == (("2+2=4 in my head", 3), ("lift", None))
    assert parse_pgic("5") == 5


@pytest.mark.parametrize(
    ("parse", "text", "message"),
    [
        (parse_peg, "6,5", "peg: expected 3 values 0-10 joined by ','"),
        (parse_peg, "6,5,7,1", "peg: expected 3 values"),
        (parse_peg, "6,5,11", "found '6,5,11'"),
        (parse_peg, "6,5,-1", "peg: expected"),
        (parse_peg, "6,5,6.5", "peg: expected"),
        (parse_peg, "6,5,٣", "peg: expected"),
        (parse_peg, ",,", "at least one answered"),
        (parse_psfs, "walk the dog", "psfs: expected 1-5 'activity=rating' pairs"),
        (parse_psfs, "walk=11", "psfs: expected"),
        (parse_psfs, "=4", "psfs.activity: expected an activity's name"),
        (parse_psfs, "a=1,b=1,c=1,d=1,e=1,f=1", "psfs: expected 1-5"),
        (parse_psfs, "walk=1, walk =2", "psfs: expected each activity once, found 'walk'"),
        (parse_pgic, "0", "pgic: expected a number 1-7"),
        (parse_pgic, "8", "pgic: expected a number 1-7"),
        (parse_pgic, "", "pgic: expected a number 1-7"),
    ],
)
def test_bad_answers_are_refused_naming_field_expected_found(parse, text, message):
    with pytest.raises(FieldError, match="found") as caught:
        parse(text)
    assert message in str(caught.value)


@given(st.text(max_size=20))
def test_any_peg_text_is_read_or_refused_with_a_field_error(text):
    try:
        values = parse_peg(text)
    except FieldError as exc:
        assert str(exc).startswith("peg: expected")
    else:
        assert len(values) == 3 and all(v is None or 0 <= v <= 10 for v in values)
        assert text.count(",") == 2


# ------------------------------------------------------------------- when each is due


def test_the_peg_is_due_at_the_start_and_then_weekly():
    assert peg_due([], DAY).due
    assert not peg_due([DAY], DAY).due
    assert not peg_due([DAY], DAY + timedelta(6)).due
    assert peg_due([DAY], DAY + timedelta(7)).due
    assert peg_due([DAY], DAY + timedelta(12)).due  # missed: asked until answered


def test_the_peg_on_a_chosen_day():
    friday = 4
    assert peg_due([DAY], DAY + timedelta(4), weekday=friday).due  # Fri, a new week
    assert not peg_due([DAY], DAY + timedelta(3), weekday=friday).due  # Thu
    late = DAY + timedelta(6)  # answered on a Sunday, in the week from Friday 11 Dec
    assert not peg_due([late], DAY + timedelta(10), weekday=friday).due  # Thu 17: same week
    assert peg_due([late], DAY + timedelta(11), weekday=friday).due  # Fri 18: the day again
    with pytest.raises(FieldError, match="weekday"):
        peg_due([], DAY, weekday=7)


def test_the_psfs_at_the_start_then_every_two_weeks_and_the_pgic_every_four():
    assert psfs_due([], DAY).due and not psfs_due([DAY], DAY + timedelta(13)).due
    assert psfs_due([DAY], DAY + timedelta(14)).due
    assert not pgic_due([], DAY, start=None).due  # nothing logged yet
    assert not pgic_due([], DAY + timedelta(27), start=DAY).due  # nothing to judge yet
    assert pgic_due([], DAY + timedelta(28), start=DAY).due
    assert not pgic_due([DAY + timedelta(28)], DAY + timedelta(55), start=DAY).due
    assert pgic_due([DAY + timedelta(28)], DAY + timedelta(56), start=DAY).due


def _simulate(due, days: int, answers_when_due: list[bool], first: date = DAY) -> list[date]:
    """The dates answered on a simulated calendar from ``first``: each day the measure
    is due, the patient answers or skips (a skip writes nothing)."""
    answered: list[date] = []
    skips = iter(answers_when_due)
    for offset in range(days):
        today = first + timedelta(offset)
        if due(answered, today).due and next(skips, True):
            answered.append(today)
    return answered


@settings(max_examples=60, deadline=None)
@given(
    weekday=st.one_of(st.none(), st.integers(0, 6)),
    start=st.integers(0, 6),
    choices=st.lists(st.booleans(), max_size=60),
)
def test_a_simulated_calendar_asks_the_peg_once_a_week(weekday, start, choices):
    def due(answered, today):
        return peg_due(answered, today, weekday=weekday)

    answered = _simulate(due, 120, choices, first=DAY + timedelta(start))
    gaps = [(b - a).days for a, b in zip(answered, answered[1:], strict=False)]
    assert all(gap >= 1 for gap in gaps)
    if weekday is not None:  # never two answers in one week (weeks start on the day)
        weeks = [(d - timedelta((d.weekday() - weekday) % 7)) for d in answered]
        assert len(weeks) == len(set(weeks))
    else:
        assert all(gap >= 7 for gap in gaps)
    if all(choices):  # answered whenever asked
        if weekday is None:
            assert set(gaps) <= {7}
        else:
            assert all(d.weekday() == weekday for d in answered[1:])
            assert set(gaps[1:]) <= {7} and all(1 <= gap <= 7 for gap in gaps[:1])


def test_a_simulated_calendar_asks_the_psfs_fortnightly_and_the_pgic_monthly():
    psfs = _simulate(psfs_due, 100, [])
    assert [(d - DAY).days for d in psfs] == [0, 14, 28, 42, 56, 70, 84, 98]
    pgic = _simulate(lambda answered, today: pgic_due(answered, today, DAY), 100, [])
    assert [(d - DAY).days for d in pgic] == [28, 56, 84]
    skipped = _simulate(lambda answered, today: pgic_due(answered, today, DAY), 100, [False])
    assert [(d - DAY).days for d in skipped] == [29, 57, 85]  # skipped once: asked next day
