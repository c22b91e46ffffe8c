"""Import from Loop Habit Tracker: a small export zip built here, every value kind."""

from __future__ import annotations

import zipfile
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from backtrack.actions import log_day
from backtrack.cli import main
from backtrack.errors import InputError, LogFormatError
from backtrack.loop_import import IMPORT_NOTE, import_loop, parse_mapping, read_loop_export
from backtrack.store import latest_per_date, read_log

D = date(2026, 11, 1)
MAP = "relax=floor_relaxation, Hip Stretch=hip_stretch,Legs=legs_up_wall"
HABITS = (
    "\ufeffPosition,Name,Type,Question,Description,FrequencyNumerator,FrequencyDenominator,"
    "Color,Unit,Target Type,Target Value,Archived?\r\n"
    "001,Relax,YES_NO,Did you relax?,,1,1,#FF0000,,,,false\r\n"
    "002,Hip stretch,NUMERICAL,,,1,1,#00FF00,min,AT_LEAST,2,false\r\n"
    "003,Meditate,YES_NO,,,1,1,#0000FF,,,,false\r\n"
)


def day(n: int) -> str:
    return (D + timedelta(n)).isoformat()


def write_export(path, relax_rows=None):
    """Days 0-7: 0 yes (+1.5 min hip), 1 no/0, 2 skip/unknown (rest), 3 unknown/unknown,
    4 yes-auto/unknown, 5 yes with a note + 2 min + Legs (wide file only), 6 yes (logged in
    backtrack already), 7 skip + 1 min hip. 'Meditate' is not mapped."""
    relax = relax_rows or [
        f"{day(0)},YES_MANUAL,",
        f"{day(1)},NO,",
        f"{day(2)},SKIP,",
        f"{day(3)},UNKNOWN,",
        f"{day(4)},YES_AUTO,",
        f'{day(5)},YES_MANUAL,"felt good, really"',
        f"{day(6)},YES_MANUAL,",
        f"{day(7)},SKIP,",
    ]
    hips = [f"{day(0)},1500", f"{day(1)},0", f"{day(2)},-1", f"{day(3)},-1", f"{day(4)},-1"]
    hips += [f"{day(5)},2000", f"{day(7)},1000"]
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("Habits.csv", HABITS)
        archive.writestr("001 Relax/Checkmarks.csv", "Date,Value,Notes\r\n" + "\r\n".join(relax))
        archive.writestr("002 Hip stretch/Checkmarks.csv", "date,VALUE,\n" + "\n".join(hips))
        archive.writestr("003 Meditate/Checkmarks.csv", f"Date,Value,Notes\n{day(0)},2,\n")
        archive.writestr(  # wide: trailing commas; Relax/Hip here are ignored (own folders)
            "Checkmarks.csv",
            f"Date,Relax,Hip stretch,Meditate,Legs,\n{day(5)},NO,0,-1,2,\n{day(0)},2,1500,2,0,\n",
        )
        archive.writestr(
            "Scores.csv", f"Date,Relax,Hip stretch,Meditate,Legs,\n{day(5)},0.5,,,,\n"
        )
    return path


@pytest.fixture
def export(tmp_path):
    return write_export(tmp_path / "loop.zip")


@pytest.fixture
def now():
    return datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def test_read_export_kinds_and_types(export):
    loop = read_loop_export(export)
    habits = {h.name: h for h in loop.habits}
    assert set(habits) == {"Relax", "Hip stretch", "Meditate", "Legs"}
    assert habits["Hip stretch"].numeric and habits["Hip stretch"].counts_minutes
    assert not habits["Relax"].numeric
    relax = {m.day: m.kind for m in loop.marks if m.habit == "Relax"}
    assert [relax[D + timedelta(n)] for n in range(8)] == [
        "yes",
        "no",
        "skip",
        "unknown",
        "auto",
        "yes",
        "yes",
        "skip",
    ]
    hips = {m.day: m.minutes for m in loop.marks if m.habit == "Hip stretch" and m.kind == "yes"}
    assert hips == {D: 1.5, D + timedelta(5): 2.0, D + timedelta(7): 1.0}
    legs = {m.day: m.kind for m in loop.marks if m.habit == "Legs"}
    assert legs == {D + timedelta(5): "yes", D: "no"}


def test_import_appends_each_kind_as_documented(export, log_path, routine, now):
    log_day(log_path, routine=routine, now=now, day=D + timedelta(6), pain=4, done=["hip_stretch"])
    plan = import_loop(export, log_path, parse_mapping(MAP), routine, now=now)
    assert plan.unmapped == ["Meditate"]
    assert plan.already_logged == [D + timedelta(6)]
    assert plan.not_logged == [D + timedelta(3), D + timedelta(4)]  # unknown, yes-auto
    log = read_log(log_path)
    latest = latest_per_date(log.entries).set_index("date")
    rows = {d.date(): r for d, r in latest.iterrows()}
    assert sorted(rows) == [D + timedelta(n) for n in (0, 1, 2, 5, 6, 7)]
    dose = routine.doses()
    expected = {
        0: (f"floor_relaxation={dose['floor_relaxation']:g};hip_stretch=1.5", "routine"),
        1: ("", "routine"),  # NO: logged, nothing done
        2: ("", "rest"),  # SKIP (and unknown): a planned rest day
        5: (f"floor_relaxation={dose['floor_relaxation']:g};hip_stretch=2;legs_up_wall=2", ""),
        7: ("hip_stretch=1", "routine"),  # SKIP beside something done: not done
    }
    for n, (exercises, day_type) in expected.items():
        row = rows[D + timedelta(n)]
        assert row["exercises"] == exercises
        assert row["day"] == (day_type or "routine")
        assert row["note"].startswith(IMPORT_NOTE)
        assert row["pain"] is pd.NA
    assert rows[D + timedelta(5)]["note"] == f"{IMPORT_NOTE}; Relax: felt good, really"
    assert rows[D + timedelta(6)]["pain"] == 4  # the day already logged is untouched
    assert (log.entries["date"] == str(D + timedelta(6))).sum() == 1


def test_second_run_appends_nothing(export, log_path, routine, now):
    import_loop(export, log_path, parse_mapping(MAP), routine, now=now)
    before = log_path.read_bytes()
    plan = import_loop(export, log_path, parse_mapping(MAP), routine, now=now)
    assert plan.entries == []
    assert len(plan.already_logged) == 6
    assert log_path.read_bytes() == before


def test_dry_run_writes_nothing(export, log_path, routine, now, capsys):
    plan = import_loop(export, log_path, parse_mapping(MAP), routine, now=now, dry_run=True)
    assert len(plan.entries) == 6
    assert not log_path.exists()
    code = main(["import-loop", str(export), "--map", MAP, "--csv", str(log_path), "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0 and not log_path.exists()
    assert "not imported: habit 'Meditate'" in out
    assert "would append 6 day(s)" in out
    assert f"{day(2)},,,rest,," in out


def test_cli_import_then_again(export, log_path, capsys):
    assert main(["import-loop", str(export), "--map", MAP, "--csv", str(log_path)]) == 0
    assert "appended 6 day(s)" in capsys.readouterr().out
    assert main(["import-loop", str(export), "--map", MAP, "--csv", str(log_path)]) == 0
    assert "appended 0 day(s)" in capsys.readouterr().out
    assert len(read_log(log_path).entries) == 6


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ("Relx=floor_relaxation", "a habit of the export"),
        ("Relax=nope", "an exercise of the routine"),
        ("Relax=hip_stretch,Hip stretch=hip_stretch", "one habit per exercise"),
    ],
)
def test_bad_map_is_refused_before_writing(export, log_path, mapping, message, capsys):
    assert main(["import-loop", str(export), "--map", mapping, "--csv", str(log_path)]) == 2
    assert message in capsys.readouterr().err
    assert not log_path.exists()


def test_parse_mapping():
    assert parse_mapping(" A = x ,B b=y,") == {"A": "x", "B b": "y"}
    for text in ("", "Relax", "=x", "a=x,A=y"):
        with pytest.raises(InputError):
            parse_mapping(text)


def test_bad_value_reported_with_file_and_line(tmp_path, log_path, routine, now):
    path = write_export(tmp_path / "bad.zip", [f"{day(0)},YES_MANUAL,", f"{day(1)},MAYBE,"])
    with pytest.raises(LogFormatError) as error:
        import_loop(path, log_path, parse_mapping(MAP), routine, now=now)
    assert error.value.path == "bad.zip!001 Relax/Checkmarks.csv"
    assert error.value.line == 3
    assert "MAYBE" in str(error.value)
    assert not log_path.exists()


def test_not_a_zip_is_refused(tmp_path, log_path, routine, now):
    wrong = tmp_path / "x.zip"
    wrong.write_text("Date,Value\n", encoding="utf-8")
    with pytest.raises(InputError, match="Loop Habit Tracker"):
        import_loop(wrong, log_path, parse_mapping(MAP), routine, now=now)
