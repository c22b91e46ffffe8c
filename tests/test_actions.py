"""User actions: log, correct, backfill; refused input writes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backtrack.actions import build_entry, load_log, log_day
from backtrack.errors import InputError
from backtrack.store import history_for, latest_per_date, read_log


def test_ticked_exercise_defaults_to_its_dose(log_path, routine, now):
    saved = log_day(
        log_path,
        routine=routine,
        now=now,
        pain=4,
        done={"floor_relaxation": None, "hip_stretch": 1.5},
    )
    assert saved.row["exercises"] == "floor_relaxation=5;hip_stretch=1.5"
    assert saved.row["date"] == "2026-11-20"
    assert saved.row["recorded_at"] == "2026-11-20T20:15:00.000+01:00"


def test_wall_squat_without_dose_is_done_minutes_not_given(log_path, routine, now):
    saved = log_day(log_path, routine=routine, now=now, pain=3, done=["wall_squat"])
    assert saved.row["exercises"] == "wall_squat="
    saved = log_day(log_path, routine=routine, now=now, pain=3, done={"wall_squat": 2})
    assert saved.row["exercises"] == "wall_squat=2"


def test_correct_and_backfill_keep_history(log_path, routine, now, today):
    yesterday = today - timedelta(days=1)
    log_day(log_path, routine=routine, now=now, pain=5, day=yesterday, done=["hip_stretch"])
    log_day(
        log_path,
        routine=routine,
        now=now + timedelta(minutes=5),
        pain=3,
        day=yesterday.isoformat(),
        day_type="flare",
        note="correction",
    )
    entries = read_log(log_path).entries
    assert history_for(entries, yesterday)["pain"].tolist() == [5, 3]
    state = latest_per_date(entries).iloc[0]
    assert (state["pain"], state["day"], state["note"]) == (3, "flare", "correction")


def test_rest_day_may_leave_pain_unrated(log_path, routine, now):
    saved = log_day(log_path, routine=routine, now=now, pain=None, day_type="rest")
    assert saved.row["pain"] == "" and saved.row["day"] == "rest"


@pytest.mark.parametrize(
    "fields,field,found",
    [
        ({"pain": 11}, "pain", 11),
        ({"pain": -1}, "pain", -1),
        ({"pain": 4.5}, "pain", 4.5),
        ({"pain": True}, "pain", True),
        ({"pain": None}, "pain", None),
        ({"pain": "seven"}, "pain", "seven"),
        ({"pain": 3, "day": "2026-11-21"}, "date", "2026-11-21"),
        ({"pain": 3, "day": "21/11/2026"}, "date", "21/11/2026"),
        ({"pain": 3, "done": ["plank"]}, "exercises", "plank"),
        ({"pain": 3, "done": {"hip_stretch": -1}}, "exercises.hip_stretch", -1),
        ({"pain": 3, "done": {"hip_stretch": 0}}, "exercises.hip_stretch", 0),
        ({"pain": 3, "done": {"hip_stretch": 241}}, "exercises.hip_stretch", 241),
        ({"pain": 3, "done": {"hip_stretch": "lots"}}, "exercises.hip_stretch", "lots"),
        ({"pain": 3, "day_type": "holiday"}, "day", "holiday"),
        ({"pain": 3, "where": "lower back"}, "where", "lower back"),
        ({"pain": 3, "note": "x" * 5001}, "note", "5001 characters"),
    ],
)
def test_refused_input_names_field_and_writes_nothing(
    log_path, routine, now, fields, field, found
):
    log_day(log_path, routine=routine, now=now, pain=2)
    before = log_path.read_bytes()
    with pytest.raises(InputError) as info:
        log_day(log_path, routine=routine, now=now, **fields)
    assert info.value.field == field
    assert info.value.found == found
    assert str(info.value).startswith(f"{field}: expected ")
    assert log_path.read_bytes() == before


def test_refused_first_save_creates_no_file(log_path, routine, now):
    with pytest.raises(InputError):
        log_day(log_path, routine=routine, now=now, pain=12)
    assert not log_path.exists()
    assert not log_path.parent.exists()


def test_build_entry_requires_aware_now(routine, now):
    with pytest.raises(InputError, match="recorded_at"):
        build_entry(pain=3, routine=routine, now=now.replace(tzinfo=None))


def test_notes_kept_exactly(log_path, routine, now):
    note = '=HYPERLINK("x"), then\r\n"quoted"; ünï 🙂'
    log_day(log_path, routine=routine, now=now, pain=1, note=note)
    assert load_log(log_path, routine=routine).entries["note"].tolist() == [note]
