"""Import from Loop Habit Tracker: exports written the way Loop writes them
(``tests/loop_writer.py``, v2.3.1 and v2.3.0), every value kind, every defect of #15."""

from __future__ import annotations

import struct
import tracemalloc
import zipfile
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from loop_writer import NO, SKIP, YES_MANUAL, LoopHabit, write_loop_export

from backtrack.actions import log_day, void_day
from backtrack.cli import main
from backtrack.errors import InputError, LogFormatError
from backtrack.interop import loop as loop_module
from backtrack.interop.loop import (
    CUT_MARK,
    IMPORT_NOTE,
    import_loop,
    parse_mapping,
    read_loop_export,
)
from backtrack.schema import MAX_NOTE_CHARS
from backtrack.store import latest_per_date, read_log

D = date(2026, 11, 1)
TODAY = D + timedelta(18)
MAP = "relax=floor_relaxation, Hip Stretch=hip_stretch,Legs=legs_up_wall"


def day(n: int) -> date:
    return D + timedelta(n)


def habits() -> list[LoopHabit]:
    """Days 0-7: 0 yes (+1.5 min hip), 1 no/0, 2 skip (rest), 3 a note only, 5 yes with a
    note + 2 min + Legs, 6 yes (logged in backtrack already), 7 skip + 1 min hip.
    'Meditate' is not mapped."""
    relax = LoopHabit(
        "Relax",
        {day(0): YES_MANUAL, day(1): NO, day(2): SKIP, day(5): YES_MANUAL},
        notes={day(3): "sore", day(5): "felt good, really"},
    )
    relax.entries |= {day(6): YES_MANUAL, day(7): SKIP}
    hips = LoopHabit(
        "Hip stretch",
        {day(0): 1500, day(1): 0, day(5): 2000, day(7): 1000},
        numerical=True,
        unit="min",
    )
    meditate = LoopHabit("Meditate", {day(0): YES_MANUAL})
    legs = LoopHabit("Legs", {day(5): YES_MANUAL, day(0): NO})
    return [relax, hips, meditate, legs]


@pytest.fixture
def export(tmp_path):
    return write_loop_export(tmp_path / "loop.zip", habits(), today=TODAY)


@pytest.fixture
def now():
    return datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _rows(log_path):
    latest = latest_per_date(read_log(log_path).entries).set_index("date")
    return {d.date(): r for d, r in latest.iterrows()}


def test_fixture_is_what_loop_writes(export):
    with zipfile.ZipFile(export) as archive:
        names = archive.namelist()
        texts = {n: archive.read(n) for n in names}
    assert names[:3] == ["Habits.csv", "001 Relax/Scores.csv", "001 Relax/Checkmarks.csv"]
    assert names[-2:] == ["Scores.csv", "Checkmarks.csv"]
    assert not any(n.endswith("/") for n in names)
    assert not any(t.startswith(b"\xef\xbb\xbf") or b"\r" in t for t in texts.values())
    relax = texts["001 Relax/Checkmarks.csv"].decode()
    assert relax.splitlines()[:3] == [
        "Date,Value,Notes",
        "2026-11-08,SKIP,",
        "2026-11-07,YES_MANUAL,",
    ]
    assert '2026-11-06,YES_MANUAL,"felt good, really"' in relax
    assert "2026-11-04,UNKNOWN,sore" in relax  # a note makes an UNKNOWN day appear
    assert texts["Checkmarks.csv"].decode().splitlines()[0] == (
        "Date,Relax,Hip stretch,Meditate,Legs,"
    )
    assert texts["Habits.csv"].decode().splitlines()[2].startswith("002,Hip stretch,NUMERICAL,")


def test_read_export_kinds_and_types(export):
    loop = read_loop_export(export)
    found = {h.name: h for h in loop.habits}
    assert list(found) == ["Relax", "Hip stretch", "Meditate", "Legs"]
    assert found["Hip stretch"].numeric and found["Hip stretch"].counts_minutes
    assert not found["Relax"].numeric
    relax = {m.day: m.value for m in loop.marks if m.habit == "Relax"}
    assert relax == {
        day(n): v for n, v in [(0, 2), (1, 0), (2, 3), (3, -1), (5, 2), (6, 2), (7, 3)]
    }


def test_import_appends_each_kind_as_documented(export, log_path, routine, now):
    log_day(log_path, routine=routine, now=now, day=day(6), pain=4, done=["hip_stretch"])
    plan = import_loop(export, log_path, parse_mapping(MAP), routine, now=now)
    assert plan.unmapped == ["Meditate"]
    assert plan.already_logged == [day(6)]
    assert plan.not_logged == [day(3)]  # a note only: no information
    assert any("1 day(s) with a Loop note but no YES, NO or SKIP" in n for n in plan.notes)
    rows = _rows(log_path)
    assert sorted(rows) == [day(n) for n in (0, 1, 2, 5, 6, 7)]
    dose = routine.doses()
    expected = {
        0: (f"floor_relaxation={dose['floor_relaxation']:g};hip_stretch=1.5", "routine"),
        1: ("", "routine"),  # NO: logged, nothing done
        2: ("", "rest"),  # SKIP: a planned rest day
        5: (f"floor_relaxation={dose['floor_relaxation']:g};hip_stretch=2;legs_up_wall=2", ""),
        7: ("hip_stretch=1", "routine"),  # SKIP beside something done: not done
    }
    for n, (exercises, day_type) in expected.items():
        row = rows[day(n)]
        assert row["exercises"] == exercises
        assert row["day"] == (day_type or "routine")
        assert row["note"].startswith(IMPORT_NOTE)
        assert row["pain"] is pd.NA
    assert rows[day(5)]["note"] == f"{IMPORT_NOTE}; Relax: felt good, really"
    assert rows[day(6)]["pain"] == 4  # the day already logged is untouched
    assert (read_log(log_path).entries["date"] == str(day(6))).sum() == 1


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
    assert parse_mapping("a, b=x,c=y") == {"a, b": "x", "c": "y"}
    assert parse_mapping("Relax=r,Stretch, seated=s") == {"Relax": "r", "Stretch, seated": "s"}
    assert parse_mapping("Walk=10=w") == {"Walk=10": "w"}
    assert parse_mapping(['"x = 1, ""y"""=z', "Hips, left=h"]) == {
        'x = 1, "y"': "z",
        "Hips, left": "h",
    }
    for text in ("", "Relax", "=x", "a=x,a=y"):
        with pytest.raises(InputError):
            parse_mapping(text)


def _replace_member(path, name: str, text: str) -> None:
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    members[name] = text.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)


def test_bad_value_of_a_mapped_habit_is_reported_with_file_and_line(
    export, log_path, routine, now
):
    _replace_member(export, "001 Relax/Checkmarks.csv", "Date,Value,Notes\n2026-11-02,MAYBE,\n")
    with pytest.raises(LogFormatError) as error:
        import_loop(export, log_path, parse_mapping(MAP), routine, now=now)
    assert error.value.path == "loop.zip!001 Relax/Checkmarks.csv"
    assert (error.value.line, error.value.column) == (2, "Value")
    assert "MAYBE" in str(error.value)
    assert not log_path.exists()


def test_not_a_zip_is_refused(tmp_path, log_path, routine, now):
    wrong = tmp_path / "x.zip"
    wrong.write_text("Date,Value\n", encoding="utf-8")
    with pytest.raises(InputError, match="Loop Habit Tracker"):
        import_loop(wrong, log_path, parse_mapping(MAP), routine, now=now)


# ------------------------------------------------------------------ #15 items 1-3: names


def _named(tmp_path, names, **kwargs):
    made = [LoopHabit(name, {day(0): YES_MANUAL, day(1): NO}) for name in names]
    made[-1].entries = {day(0): NO, day(1): YES_MANUAL}  # the last one differs
    return write_loop_export(tmp_path / "names.zip", made, today=TODAY, **kwargs)


def test_item1_a_name_with_a_comma_can_be_mapped(tmp_path, log_path, capsys):
    export = _named(tmp_path, ["Relax", "Stretch, seated", "Stretch seated"])
    args = ["import-loop", str(export), "--csv", str(log_path), "--dry-run"]
    assert (
        main([*args, "--map", "Relax=floor_relaxation", "--map", "Stretch, seated=hip_stretch"])
        == 0
    )
    assert "would append 2 day(s)" in capsys.readouterr().out
    assert main([*args, "--map", '"Stretch, seated"=hip_stretch']) == 0
    out = capsys.readouterr().out
    assert "not imported: habit 'Relax'" in out and "would append 2 day(s)" in out
    assert main([*args, "--map", "stretch,seated=hip_stretch"]) == 2  # never a guess
    assert "one habit ('Stretch, seated', 'Stretch seated' all match)" in capsys.readouterr().err
    assert main([*args, "--map", "Stretch seated=hip_stretch,Walk=legs_up_wall"]) == 2
    err = capsys.readouterr().err  # the habits listed exactly as Loop shows them
    assert "a habit of the export ('Relax', 'Stretch, seated', 'Stretch seated')" in err


def test_item2_wide_file_with_a_comma_in_a_name(tmp_path, log_path, routine, now, capsys):
    export = _named(tmp_path, ["Relax", "Stretch, seated", "Legs"])
    loop = read_loop_export(export)
    assert [h.name for h in loop.habits] == ["Relax", "Stretch, seated", "Legs"]  # no pieces
    legs = {m.day: m.value for m in loop.marks if m.habit == "Legs"}
    assert legs == {day(0): NO, day(1): YES_MANUAL}
    assert loop.notes == []  # every habit has its folder: the wide file is not needed
    partial = _named(
        tmp_path, ["Relax", "Stretch, seated", "Legs"], omit=("003 Legs/Checkmarks.csv",)
    )
    notes = read_loop_export(partial).notes
    assert any("was not read" in note for note in notes)
    assert any("holds no days of: 'Legs'" in note for note in notes)
    wide_only = _named(
        tmp_path,
        ["Relax", "Stretch, seated", "Legs"],
        omit=tuple(
            f"00{n} {s}/Checkmarks.csv"
            for n, s in [(1, "Relax"), (2, "Stretch seated"), (3, "Legs")]
        ),
    )
    code = main(
        ["import-loop", str(wide_only), "--map", "Legs=legs_up_wall", "--csv", str(log_path)]
    )
    err = capsys.readouterr().err
    assert code == 2 and "names with a comma: 'Stretch, seated'" in err
    assert not log_path.exists()


def test_item2_wide_file_alone_is_read_when_unambiguous(tmp_path, log_path, routine, now):
    export = _named(tmp_path, ["Relax", "Legs"], omit=("002 Legs/Checkmarks.csv",))
    plan = import_loop(export, log_path, {"Legs": "legs_up_wall"}, routine, now=now)
    assert [(e.date, dict(e.exercises)) for e in plan.entries] == [
        (day(0), {}),
        (day(1), {"legs_up_wall": routine.doses()["legs_up_wall"]}),
    ]


def test_item3_folders_match_habits_by_position_not_name(tmp_path, log_path, routine, now):
    export = _named(tmp_path, ["Étirement assis", "tirement assis", "Relax", "瑜伽"])
    with zipfile.ZipFile(export) as archive:
        folders = sorted({n.split("/")[0] for n in archive.namelist() if "/" in n})
    assert folders == ["001 tirement assis", "002 tirement assis", "003 Relax", "004"]
    loop = read_loop_export(export)
    assert [h.name for h in loop.habits] == ["Étirement assis", "tirement assis", "Relax", "瑜伽"]
    yoga = {m.day: m.value for m in loop.marks if m.habit == "瑜伽"}
    assert yoga == {day(0): NO, day(1): YES_MANUAL}
    assert {m.day: m.value for m in loop.marks if m.habit == "Étirement assis"} == {
        day(0): YES_MANUAL,
        day(1): NO,
    }
    plan = import_loop(export, log_path, {"瑜伽": "legs_up_wall"}, routine, now=now)
    assert plan.unmapped == ["Étirement assis", "tirement assis", "Relax"]
    assert [list(e.exercises) for e in plan.entries] == [[], ["legs_up_wall"]]


# ---------------------------------------------------- #15 item 4: unmapped habits unchecked


def test_item4_bad_value_in_an_unmapped_habit_does_not_block(export, log_path, routine, now):
    _replace_member(export, "003 Meditate/Checkmarks.csv", "Date,Value,Notes\n2026-11-02,MAYBE,\n")
    plan = import_loop(export, log_path, parse_mapping(MAP), routine, now=now)
    assert len(plan.entries) == 6 and plan.unmapped == ["Meditate"]


# --------------------------------------------------------- #15 item 5: v2.3.0 and older


def _old(tmp_path):
    relax = LoopHabit("Relax", {day(0): YES_MANUAL, day(1): NO, day(2): SKIP})
    walk = LoopHabit("Walk", {day(0): 12000, day(1): 0, day(2): SKIP}, numerical=True)
    steps = LoopHabit("Steps", {day(0): 8500000, day(1): 0}, numerical=True)
    return write_loop_export(
        tmp_path / "old.zip", [relax, walk, steps], today=TODAY, version="2.3.0"
    )


def test_item5_old_export_is_the_old_format(tmp_path):
    with zipfile.ZipFile(_old(tmp_path)) as archive:
        assert archive.read("002 Walk/Checkmarks.csv").decode().splitlines() == [
            "2026-11-03,3",
            "2026-11-02,0",
            "2026-11-01,12000",
        ]
        assert archive.read("Habits.csv").decode().splitlines()[0] == (
            "Position,Name,Question,Description,NumRepetitions,Interval,Color"
        )


def test_item5_old_export_values_and_units_asked(tmp_path, log_path, routine, now, capsys):
    export = _old(tmp_path)
    mapping = {"Relax": "floor_relaxation", "Walk": "hip_stretch"}
    with pytest.raises(InputError, match="--minutes 'Walk'"):
        import_loop(export, log_path, mapping, routine, now=now, dry_run=True)
    plan = import_loop(export, log_path, mapping, routine, now=now, minutes=["Walk"])
    dose = routine.doses()["floor_relaxation"]
    assert [(e.date, dict(e.exercises), e.day) for e in plan.entries] == [
        (day(0), {"floor_relaxation": dose, "hip_stretch": 12.0}, "routine"),
        (day(1), {}, "routine"),
        (day(2), {}, "rest"),  # the numeric SKIP stored as 3 is a skip, not 0.003 min
    ]
    args = ["import-loop", str(export), "--csv", str(tmp_path / "b.csv"), "--dry-run"]
    assert main([*args, "--map", "Steps=legs_up_wall"]) == 2
    assert "--minutes 'Steps'" in capsys.readouterr().err  # not 8500 minutes
    assert main([*args, "--map", "Steps=legs_up_wall", "--not-minutes", "Steps"]) == 0
    out = capsys.readouterr().out
    assert "'Steps' counts an unknown unit, not minutes" in out
    assert f"{day(0)},,legs_up_wall={routine.doses()['legs_up_wall']:g},routine" in out


# --------------------------------------------------------------- #15 item 6: YES_AUTO


def test_item6_a_no_inside_a_met_weekly_target_comes_in_as_not_logged(tmp_path, log_path, capsys):
    walk = LoopHabit(
        "Walk 3x a week",
        {day(10): YES_MANUAL, day(11): YES_MANUAL, day(12): YES_MANUAL, day(13): NO},
        numerator=3,
        denominator=7,
    )
    export = write_loop_export(tmp_path / "w.zip", [walk], today=TODAY)
    with zipfile.ZipFile(export) as archive:
        assert f"{day(13)},YES_AUTO," in archive.read("001 Walk 3x a week/Checkmarks.csv").decode()
    args = [
        "import-loop",
        str(export),
        "--map",
        "Walk 3x a week=hip_stretch",
        "--csv",
        str(log_path),
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "4 of the days not logged were YES_AUTO" in out
    assert sorted(_rows(log_path)) == [day(10), day(11), day(12)]


# ------------------------------------------------------------ #15 item 7: notes capped


def test_item7_notes_of_several_habits_joined_are_capped(tmp_path, log_path, routine, now, capsys):
    long = "x" * 3000
    made = [
        LoopHabit("Relax", {day(0): YES_MANUAL}, notes={day(0): long}),
        LoopHabit("Legs", {day(0): YES_MANUAL}, notes={day(0): "y" * 3000}),
    ]
    export = write_loop_export(tmp_path / "n.zip", made, today=TODAY)
    args = ["import-loop", str(export), "--map", "Relax=floor_relaxation,Legs=legs_up_wall"]
    assert main([*args, "--csv", str(log_path)]) == 0
    assert "cut to the log's 5000" in capsys.readouterr().out
    note = _rows(log_path)[day(0)]["note"]
    assert len(note) == MAX_NOTE_CHARS and note.endswith(CUT_MARK)
    assert note.startswith(f"{IMPORT_NOTE}; Relax: xxx")


def test_item7_readme_skip_rule_matches_the_code():
    """The documented SKIP rule (docs/clinic.md, linked from the README) is the code's."""
    from pathlib import Path

    docs = (Path(__file__).parents[1] / "docs" / "clinic.md").read_text("utf-8")
    assert "every mapped habit that day is SKIP" not in docs
    assert "YES_AUTO and UNKNOWN are ignored" in docs


# ------------------------------------------------------------------ #15 item 8: zip safety


def _patch(path, *, flags: int | None = None, method: int | None = None, size: int | None = None):
    """Change every member's flag bits, compression method or declared size in place."""
    data = bytearray(path.read_bytes())
    for signature, at_flags, at_size in ((b"PK\x03\x04", 6, 22), (b"PK\x01\x02", 8, 24)):
        start = 0
        while (start := data.find(signature, start)) != -1:
            if flags is not None:
                struct.pack_into("<H", data, start + at_flags, flags)
            if method is not None:
                struct.pack_into("<H", data, start + at_flags + 2, method)
            if size is not None:
                struct.pack_into("<I", data, start + at_size, size)
            start += 4
    path.write_bytes(bytes(data))


def _one_member(path, size: int, chunk: bytes = b"2026-11-01,YES_MANUAL,\n"):
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("001 Relax/Checkmarks.csv", "w") as member,
    ):
        member.write(b"Date,Value,Notes\n")
        block = chunk * (1024 * 1024 // len(chunk))
        for _ in range(size // len(block)):
            member.write(block)
    return path


def test_item8_a_header_that_lies_about_the_size_is_bounded_and_refused(
    tmp_path, log_path, capsys
):
    bomb = _one_member(tmp_path / "bomb.zip", 200 * 1024 * 1024)
    _patch(bomb, size=1000)
    tracemalloc.start()
    try:
        code = main(
            ["import-loop", str(bomb), "--map", "Relax=floor_relaxation", "--csv", str(log_path)]
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 2
    assert peak < 32 * 1024 * 1024, f"peak {peak / 2**20:.0f} MiB"
    assert "bomb.zip!001 Relax/Checkmarks.csv: damaged" in capsys.readouterr().err
    assert not log_path.exists()


def test_item8_bytes_actually_inflated_are_capped(tmp_path, log_path, monkeypatch, capsys):
    big = _one_member(tmp_path / "big.zip", 4 * 1024 * 1024)
    monkeypatch.setattr(loop_module, "MAX_EXPORT_BYTES", 1024 * 1024)
    assert (
        main(["import-loop", str(big), "--map", "Relax=floor_relaxation", "--csv", str(log_path)])
        == 2
    )
    assert "at most 1048576 bytes of CSV once inflated" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"flags": 1}, "encrypted"),
        ({"method": 99}, "compression method 99"),
        ({"method": 14}, "compression method 14"),
    ],
)
def test_item8_encrypted_or_unsupported_members_are_refused(
    export, log_path, patch, message, capsys
):
    _patch(export, **patch)
    assert main(["import-loop", str(export), "--map", MAP, "--csv", str(log_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not log_path.exists()


def test_item8_bad_crc_is_refused(export, log_path, capsys):
    with zipfile.ZipFile(export) as archive:
        info = archive.getinfo("Habits.csv")
    data = bytearray(export.read_bytes())
    struct.pack_into("<I", data, 14, info.CRC ^ 0xFFFF)  # the local header of Habits.csv
    start = data.find(b"PK\x01\x02")
    struct.pack_into("<I", data, start + 16, info.CRC ^ 0xFFFF)
    export.write_bytes(bytes(data))
    assert main(["import-loop", str(export), "--map", MAP, "--csv", str(log_path)]) == 2
    assert "loop.zip!Habits.csv: damaged (Bad CRC-32" in capsys.readouterr().err


def test_item8_an_over_long_field_is_reported_not_a_traceback(export, log_path, capsys):
    text = f'Date,Value,Notes\n2026-11-01,YES_MANUAL,"{"z" * 200_000}"\n2026-11-02,NO,\n'
    _replace_member(export, "001 Relax/Checkmarks.csv", text)
    assert main(["import-loop", str(export), "--map", MAP, "--csv", str(log_path)]) == 2
    err = capsys.readouterr().err
    assert "loop.zip!001 Relax/Checkmarks.csv:2:#record: expected a CSV field" in err
    assert "field larger than field limit" in err


def test_the_unpacked_folder_imports_like_the_zip(export, tmp_path, log_path, routine, now):
    folder = tmp_path / "unpacked"
    with zipfile.ZipFile(export) as archive:
        archive.extractall(folder)
    from_zip = import_loop(export, log_path, parse_mapping(MAP), routine, now=now, dry_run=True)
    from_folder = import_loop(folder, log_path, parse_mapping(MAP), routine, now=now, dry_run=True)
    assert from_folder.entries == from_zip.entries and from_folder.unmapped == from_zip.unmapped


def test_without_habits_csv_the_folders_and_wide_file_name_the_habits(
    tmp_path, log_path, routine, now
):
    made = [LoopHabit("Relax", {day(0): YES_MANUAL}), LoopHabit("Legs", {day(1): YES_MANUAL})]
    export = write_loop_export(
        tmp_path / "x.zip", made, today=TODAY, omit=("Habits.csv", "002 Legs/Checkmarks.csv")
    )
    loop = read_loop_export(export)
    assert [h.name for h in loop.habits] == ["Relax", "Legs"]
    plan = import_loop(
        export, log_path, {"Relax": "floor_relaxation", "Legs": "legs_up_wall"}, routine, now=now
    )
    assert [(e.date, list(e.exercises)) for e in plan.entries] == [
        (day(0), ["floor_relaxation"]),
        (day(1), ["legs_up_wall"]),
    ]


def test_loop_notes_come_in_exactly(tmp_path, log_path, routine, now):
    note = '  two spaces first, a "quote", a comma,\nand a second line  '
    made = [LoopHabit("Relax", {day(0): YES_MANUAL}, notes={day(0): note})]
    export = write_loop_export(tmp_path / "n.zip", made, today=TODAY)
    import_loop(export, log_path, {"Relax": "floor_relaxation"}, routine, now=now)
    assert _rows(log_path)[day(0)]["note"] == f"{IMPORT_NOTE}; Relax: {note}"


def test_two_habits_of_one_name_are_told_apart_by_position(
    tmp_path, log_path, routine, now, capsys
):
    export = _named(tmp_path, ["Walk", "Walk"])  # the second: NO then YES
    loop = read_loop_export(export)
    assert [h.name for h in loop.habits] == ["Walk (#001)", "Walk (#002)"]
    args = ["import-loop", str(export), "--csv", str(log_path)]
    assert main([*args, "--map", "Walk=hip_stretch"]) == 2
    assert "'Walk (#001)', 'Walk (#002)'" in capsys.readouterr().err
    assert main([*args, "--map", "Walk (#002)=hip_stretch"]) == 0
    assert "not imported: habit 'Walk (#001)'" in capsys.readouterr().out
    assert [r["exercises"] for r in _rows(log_path).values()] == ["", "hip_stretch=2"]


# --- issue 25 item 6 ---------------------------------------------------------------


def _rezipped_under(export, target, top: str):
    """The export unzipped and zipped again from its parent folder: every member under
    one top folder (with its folder entry), as a desktop archiver makes it."""
    with zipfile.ZipFile(export) as source, zipfile.ZipFile(target, "w") as out:
        out.writestr(f"{top}/", b"")
        for info in source.infolist():
            out.writestr(f"{top}/{info.filename}", source.read(info))
    return target


@pytest.mark.parametrize("given", ["zip", "parent folder"])
def test_issue25_a_single_top_folder_is_looked_through(
    export, tmp_path, log_path, routine, now, given
):
    top = "Loop Habits CSV 2026-11-30"
    if given == "zip":
        path = _rezipped_under(export, tmp_path / "again.zip", top)
    else:
        path = tmp_path / "parent"
        with zipfile.ZipFile(export) as archive:
            archive.extractall(path / top)
    want = import_loop(export, log_path, parse_mapping(MAP), routine, now=now, dry_run=True)
    got = import_loop(path, log_path, parse_mapping(MAP), routine, now=now, dry_run=True)
    assert got.entries == want.entries and got.unmapped == want.unmapped
    assert any(f"inside its one top folder {top!r}" in n for n in got.notes)


def test_issue25_a_listed_habit_the_partial_export_left_out_is_named(tmp_path, log_path, capsys):
    export = write_loop_export(tmp_path / "part.zip", habits(), today=TODAY, selected=[0, 1])
    args = ["import-loop", str(export), "--csv", str(log_path)]
    assert main([*args, "--map", "Legs=legs_up_wall"]) == 2
    err = capsys.readouterr().err
    assert "'Legs'" in err and "listed in Habits.csv" in err and "no days" in err
    assert not log_path.exists()
    assert main([*args, "--map", "Relax=floor_relaxation"]) == 0
    out = capsys.readouterr().out
    assert "Habits.csv lists 2 habit(s) this export holds no days of: 'Meditate', 'Legs'" in out
    assert "not imported: habit 'Legs'" not in out  # named once, as absent


def test_issue25_disambiguated_names_are_unique_and_each_mappable(
    tmp_path, log_path, routine, now
):
    export = _named(tmp_path, ["Walk", "Walk (#001)", "Walk"])
    loop = read_loop_export(export)
    names = [h.name for h in loop.habits]
    assert len(set(names)) == 3 and loop.notes == []
    for name in names:
        plan = import_loop(export, log_path, {name: "hip_stretch"}, routine, now=now, dry_run=True)
        assert set(plan.unmapped) == set(names) - {name}
    last = import_loop(export, log_path, {names[2]: "hip_stretch"}, routine, now=now, dry_run=True)
    assert [list(e.exercises) for e in last.entries] == [[], ["hip_stretch"]]  # NO then YES


@pytest.mark.parametrize(
    "names", [["Walk", "Walk"], [" Walk ", "Relax"], ["Walk  fast", "瑜伽", "Étirement assis"]]
)
def test_issue25_no_folder_note_when_the_folder_is_what_loop_writes(tmp_path, names):
    assert read_loop_export(_named(tmp_path, names)).notes == []


def test_a_folder_whose_name_differs_from_its_habit_is_noted(tmp_path):
    export = _named(tmp_path, ["Walk", "Relax"])
    renamed = tmp_path / "renamed.zip"
    with zipfile.ZipFile(export) as source, zipfile.ZipFile(renamed, "w") as out:
        for info in source.infolist():
            out.writestr(info.filename.replace("002 Relax/", "002 Rest/"), source.read(info))
    notes = read_loop_export(renamed).notes
    assert notes == ["folder '002 Rest' holds habit 002 of Habits.csv, 'Relax', by its number"]


def test_issue25_a_void_day_is_imported_again(export, log_path, routine, now):
    import_loop(export, log_path, parse_mapping(MAP), routine, now=now)
    void_day(log_path, day=day(5), now=now + timedelta(minutes=1))
    assert day(5) not in _rows(log_path)
    plan = import_loop(
        export, log_path, parse_mapping(MAP), routine, now=now + timedelta(minutes=2)
    )
    assert [e.date for e in plan.entries] == [day(5)]
    assert _rows(log_path)[day(5)]["note"] == f"{IMPORT_NOTE}; Relax: felt good, really"


def test_issue25_long_lists_in_messages_are_capped(tmp_path, log_path, capsys):
    made = [LoopHabit(f"Habit {n}") for n in range(30_000)]
    made[0].entries = {day(0): YES_MANUAL}
    export = write_loop_export(tmp_path / "many.zip", made, today=TODAY, selected=[0])
    args = ["import-loop", str(export), "--csv", str(log_path), "--dry-run"]
    assert main([*args, "--map", "Relx=floor_relaxation"]) == 2
    err = capsys.readouterr().err
    assert "… and 29,990 more" in err and err.count("'Habit ") == 10 and len(err) < 1000
    assert main([*args, "--map", "Habit 0=floor_relaxation"]) == 0
    out = capsys.readouterr().out
    assert "… and 29,989 more" in out and len(out) < 3000


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    names=st.lists(
        st.sampled_from(
            ["Walk", " Walk ", "Walk (#001)", "Walk (#002)", "walk", "瑜伽", "Walk, slow"]
        ),
        min_size=1,
        max_size=6,
    )
)
def test_any_names_come_out_unique_without_spurious_notes(tmp_path_factory, names):
    """Walks duplicate, padded, suffixed, non-ASCII and comma names: every habit gets a
    unique name that maps to exactly it, and no folder note is made."""
    export = _named(tmp_path_factory.mktemp("names"), names)
    loop = read_loop_export(export)
    got = [h.name for h in loop.habits]
    assert len(got) == len(names) == len(set(got))
    assert not [n for n in loop.notes if "by its number" in n]
    for position, name in enumerate(got, start=1):
        assert loop_module._resolve(loop.habits, name).position == position
