"""Schema v1: parsing and formatting of one row's fields."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from backtrack.errors import FieldError
from backtrack.schema import (
    COLUMNS,
    Entry,
    decode_note,
    encode_note,
    format_exercises,
    parse_date,
    parse_day,
    parse_exercises,
    parse_pain,
    parse_recorded_at,
    parse_row,
    parse_where,
)


def test_columns_are_schema_v1():
    assert COLUMNS == ("recorded_at", "date", "pain", "exercises", "day", "where", "note")


@pytest.mark.parametrize("text,expected", [("", None), ("0", 0), ("7", 7), ("10", 10)])
def test_pain_accepts_empty_and_integers_0_to_10(text, expected):
    assert parse_pain(text) == expected


@pytest.mark.parametrize("text", ["11", "-1", "4.5", "four", " 4", "100", "1e1"])
def test_pain_refuses_others_naming_field_expected_found(text):
    with pytest.raises(FieldError) as info:
        parse_pain(text)
    assert info.value.field == "pain"
    assert "integer 0-10" in info.value.expected
    assert info.value.found == text
    assert str(info.value) == f"pain: expected an integer 0-10 or empty, found {text!r}"


def test_recorded_at_needs_utc_offset():
    assert parse_recorded_at("2026-11-20T08:15:00+01:00").utcoffset() == timedelta(hours=1)
    for bad in ["2026-11-20T08:15:00", "2026-11-20", "yesterday", ""]:
        with pytest.raises(FieldError, match="recorded_at: expected an ISO 8601"):
            parse_recorded_at(bad)


@pytest.mark.parametrize("bad", ["2026-13-01", "2026-02-30", "20261120", "2026-1-2", "", "x"])
def test_date_strict_yyyy_mm_dd(bad):
    with pytest.raises(FieldError, match="date: expected a date YYYY-MM-DD"):
        parse_date(bad)
    assert parse_date("2026-02-28") == date(2026, 2, 28)


def test_exercises_pairs_and_untimed():
    assert parse_exercises("") == {}
    assert parse_exercises("floor_relaxation=5;hip_stretch=1.5;wall_squat=") == {
        "floor_relaxation": 5.0,
        "hip_stretch": 1.5,
        "wall_squat": None,
    }


@pytest.mark.parametrize(
    "bad",
    ["floor_relaxation", "Floor=5", "a=5;a=3", "a=-1", "a=241", "a=five", "a=5;", "=5", "a=nan"],
)
def test_exercises_refuses_malformed(bad):
    with pytest.raises(FieldError) as info:
        parse_exercises(bad)
    assert info.value.field.startswith("exercises")


def test_exercises_format_round_trips():
    done = {"floor_relaxation": 5.0, "hip_stretch": 1.5, "wall_squat": None}
    assert format_exercises(done) == "floor_relaxation=5;hip_stretch=1.5;wall_squat="
    assert parse_exercises(format_exercises(done)) == done


def test_day_and_where():
    assert parse_day("") == "routine"
    assert parse_day("flare") == "flare"
    with pytest.raises(FieldError, match="day: expected one of routine, rest, flare"):
        parse_day("sick")
    assert parse_where("lower_back;hips") == ("lower_back", "hips")
    with pytest.raises(FieldError, match="where"):
        parse_where("lower back")


@pytest.mark.parametrize(
    "note", ["=1+1", "+1", "-2 after walk", "@SUM(A1)", "'quoted", "''", "\tx", "plain", ""]
)
def test_note_formula_guard_round_trips(note):
    stored = encode_note(note)
    assert not stored.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert decode_note(stored) == note


def test_entry_to_row_and_back():
    entry = Entry(
        recorded_at=datetime(2026, 11, 20, 8, 15, 2, 123000, tzinfo=UTC),
        date=date(2026, 11, 19),
        pain=4,
        exercises={"floor_relaxation": 5.0, "wall_squat": None},
        day="flare",
        where=("lower_back",),
        note="=SUM(A1)",
    )
    row = entry.to_row()
    assert row["recorded_at"] == "2026-11-20T08:15:02.123+00:00"
    assert row["note"] == "'=SUM(A1)"
    assert parse_row(row) == entry


@pytest.mark.parametrize(
    "text",
    [
        "2000-01-01T00.000+00:00",
        "2026-11-20 08:15:00+01:00",
        "2026-11-20T08+01:00",
        "2026-11-20T08:15:00+0100x",
    ],
)
def test_recorded_at_refuses_what_python_half_accepts(text):
    with pytest.raises(FieldError, match="recorded_at"):
        parse_recorded_at(text)


@pytest.mark.parametrize(
    "text", ["2026-11-20T08:15Z", "2026-11-20T08:15:00.5-05:00", "2026-11-20T08:15:02.123+01:00"]
)
def test_recorded_at_accepts_iso_forms_pandas_reads(text):
    import pandas as pd

    assert (
        pd.Timestamp(parse_recorded_at(text))
        == pd.to_datetime([text], format="ISO8601", utc=True)[0]
    )
