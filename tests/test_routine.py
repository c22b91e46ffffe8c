"""The routine: the article's five exercises, and a physio's TOML file replacing them."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backtrack.errors import RoutineError
from backtrack.metrics import paused_days
from backtrack.routine import (
    RED_FLAGS,
    Pause,
    default_routine,
    load_routine,
    load_routine_file,
)


def test_default_routine_is_the_articles_five_exercises():
    routine = default_routine()
    assert routine.ids == (
        "floor_relaxation",
        "hip_stretch",
        "legs_up_wall",
        "seated_stretch",
        "wall_squat",
    )
    assert routine.doses() == {
        "floor_relaxation": 5.0,
        "hip_stretch": 2.0,
        "legs_up_wall": 2.0,
        "seated_stretch": 1.0,
        "wall_squat": None,
    }
    squat = routine.get("wall_squat")
    assert squat.dose_minutes is None
    assert "no time given" in squat.dose_label
    for exercise in routine.exercises:
        assert exercise.purpose and exercise.how_to and exercise.name


def test_safety_points_from_the_article():
    text = " ".join(default_routine().safety)
    assert "3 months" in text
    assert "rounded back" in text
    assert "clinician" in text
    assert len(RED_FLAGS) >= 6


def write(tmp_path, text):
    path = tmp_path / "routine.toml"
    path.write_text(text)
    return path


def test_physio_file_replaces_the_routine(tmp_path, monkeypatch):
    path = write(
        tmp_path,
        """
title = "After week 4"
[[exercise]]
id = "wall_squat"
name = "Wall squat"
dose_minutes = 1.5
[[exercise]]
id = "bridge"
name = "Glute bridge"
dose_minutes = 3
""",
    )
    routine = load_routine_file(path)
    assert routine.ids == ("wall_squat", "bridge")
    assert routine.doses() == {"wall_squat": 1.5, "bridge": 3.0}
    monkeypatch.delenv("BACKTRACK_ROUTINE", raising=False)
    assert load_routine(log_path=tmp_path / "backtrack.csv").ids == ("wall_squat", "bridge")
    monkeypatch.setenv("BACKTRACK_ROUTINE", str(path))
    assert load_routine().title == "After week 4"


@pytest.mark.parametrize(
    "body,key",
    [
        ('[[exercise]]\nid = "Bad Id"\nname = "x"\n', "exercise[1].id"),
        ('[[exercise]]\nid = "a"\nname = "x"\ndose_minutes = -2\n', "exercise[1].dose_minutes"),
        (
            '[[exercise]]\nid = "a"\nname = "x"\ndose_minutes = "five"\n',
            "exercise[1].dose_minutes",
        ),
        ('[[exercise]]\nid = "a"\n', "exercise[1].name"),
        (
            '[[exercise]]\nid = "a"\nname = "x"\n[[exercise]]\nid = "a"\nname = "y"\n',
            "exercise[2].id",
        ),
        ('[[exercise]]\nid = "a"\nname = "x"\nreps = 3\n', "exercise[1].reps"),
        ('title = "t"\n', "exercise"),
        ("colour = 1\n", "colour"),
        ("[[exercise]\n", "(file)"),
    ],
)
def test_invalid_routine_names_the_key(tmp_path, body, key):
    path = write(tmp_path, body)
    with pytest.raises(RoutineError) as info:
        load_routine_file(path)
    assert isinstance(info.value, ValueError)
    assert info.value.key == key
    assert str(info.value).startswith(f"{path}: {key}: expected ")


@settings(max_examples=200, deadline=None)
@given(
    pauses=st.lists(
        st.tuples(
            st.sampled_from(default_routine().ids + ("retired",)),
            st.integers(0, 20),
            st.integers(0, 5),
        ),
        max_size=6,
    ),
    offset=st.integers(-2, 28),
)
def test_the_routine_of_a_day_is_the_pause_rule_of_the_daily_series(pauses, offset):
    """``Routine.prescribed_on`` (the form's "whole routine") and ``metrics.paused_days``
    (adherence) say the same for every day: the exercises not paused that day."""
    start = date(2026, 3, 1)
    routine = dataclasses.replace(
        default_routine(),
        pauses=tuple(
            Pause(eid, start + timedelta(days=s), start + timedelta(days=s + n), "test")
            for eid, s, n in pauses
        ),
    )
    day = start + timedelta(days=offset)
    paused = paused_days(routine, pd.DatetimeIndex([pd.Timestamp(day)]))[0]
    of_the_day = routine.prescribed_on(day)
    assert of_the_day.ids == tuple(e for e, p in zip(routine.ids, paused, strict=True) if not p)
    assert of_the_day.pauses == () and of_the_day.doses().items() <= routine.doses().items()
