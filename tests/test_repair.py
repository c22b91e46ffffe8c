"""`backtrack repair` (#15 item 13): a log a spreadsheet re-saved in its own dialect is one
command from valid again; the original is never touched; every change and every loss is
listed."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spreadsheet_writer import assert_changes_listed

from backtrack.actions import load_log, log_day
from backtrack.cli import main
from backtrack.errors import InputError
from backtrack.interop.repair import repair_log
from backtrack.schema import encode_note
from backtrack.store import latest_per_date


@pytest.fixture
def original(log_path, routine, now):
    """Five days: decimals, a note '007', a formula-like note, a flare day, a rest day."""
    day = now.date()
    log_day(
        log_path,
        routine=routine,
        now=now,
        day=day - timedelta(4),
        pain=6,
        done={"hip_stretch": 1.5},
    )
    log_day(log_path, routine=routine, now=now, day=day - timedelta(3), pain=5, note="007")
    log_day(
        log_path,
        routine=routine,
        now=now,
        day=day - timedelta(2),
        pain=8,
        day_type="flare",
        where="lower_back;hips",
        note="=SUM(A1) is not a formula; neither is -5",
    )
    log_day(log_path, routine=routine, now=now, day=day - timedelta(1), pain=None, day_type="rest")
    log_day(log_path, routine=routine, now=now, day=day, pain=3, done=routine.ids, note="ok, fine")
    return log_path


def spreadsheet_save(path, out, *, separator=";", dates="d.m.yyyy", bom=True) -> None:
    """What a spreadsheet in a German (or US) locale writes when it saves the log again:
    its separator, CRLF, a BOM; dates and times in its own format, without offset or
    seconds; decimal commas; numbers that look like numbers turned into numbers; the
    ' in front of a formula-like note dropped (the spreadsheet treats it as a text mark)."""
    rows = list(csv.reader(io.StringIO(path.read_text("utf-8"), newline="")))
    header, body = rows[0], rows[1:]

    def day_text(iso: str) -> str:
        y, m, d = (int(p) for p in iso.split("-"))
        if dates == "d/m/yyyy":
            return f"{d}/{m}/{y}"
        return f"{d}.{m}.{y}" if dates == "d.m.yyyy" else f"{m}/{d}/{y}"

    mangled = [header]
    for row in body:
        record = dict(zip(header, row, strict=True))
        stamp = datetime.fromisoformat(record["recorded_at"])
        if dates != "m/d/yyyy":
            record["recorded_at"] = f"{day_text(stamp.date().isoformat())} {stamp:%H:%M}"
        else:
            hour = stamp.hour % 12 or 12
            suffix = "PM" if stamp.hour >= 12 else "AM"
            record["recorded_at"] = (
                f"{day_text(stamp.date().isoformat())} {hour}:{stamp:%M} {suffix}"
            )
        record["date"] = day_text(record["date"])
        if separator == ";":
            record["exercises"] = record["exercises"].replace(".", ",")
        record["note"] = record["note"].removeprefix("'")
        if record["note"].isdigit():
            record["note"] = str(int(record["note"]))
        mangled.append([record[name] for name in header])
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=separator, lineterminator="\r\n").writerows(mangled)
    out.write_bytes(("\ufeff" if bom else "").encode() + buffer.getvalue().encode("utf-8"))


def _state(path, routine):
    latest = latest_per_date(load_log(path, routine=routine).entries)
    return latest.drop(columns=["line"]).to_dict("records")


def test_validate_names_the_dialect_and_points_to_repair(tmp_path, original, capsys):
    mangled = tmp_path / "excel.csv"
    spreadsheet_save(original, mangled)
    assert main(["validate", "--csv", str(mangled)]) == 1
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert "separated by semicolons" in out and "backtrack repair" in out


def test_repair_a_german_spreadsheet_save(tmp_path, original, routine, capsys):
    mangled = tmp_path / "excel.csv"
    spreadsheet_save(original, mangled)
    before = mangled.read_bytes()
    fixed = tmp_path / "fixed.csv"
    code = main(["repair", str(mangled), "-o", str(fixed), "--utc-offset", "+01:00"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert mangled.read_bytes() == before  # never touched
    assert os.stat(fixed).st_mode & 0o777 == 0o600
    assert "columns separated by semicolons" in out and "byte order mark" in out
    assert "changed: line 2: date: '16.11.2026' -> '2026-11-16' (a d.m.yyyy date)" in out
    assert "changed: line 2: exercises: 'hip_stretch=1,5' -> 'hip_stretch=1.5'" in out
    assert "the ' that keeps a formula from running, put back" in out
    assert "cannot be recovered: line 3: note: '7': a note that is a number" in out
    assert "its seconds were cut" in out
    assert "wrote 5 row(s)" in out and "passes validate" in out
    assert main(["validate", "--csv", str(fixed)]) == 0
    want, got = _state(original, routine), _state(fixed, routine)
    for a, b in zip(want, got, strict=True):
        assert b["recorded_at"] == a["recorded_at"].replace(second=0, microsecond=0)
        if a["note"] == "007":
            assert b["note"] == "7"  # listed above as not recoverable
            continue
        assert {k: v for k, v in b.items() if k != "recorded_at"} == {
            k: v for k, v in a.items() if k != "recorded_at"
        }


@pytest.mark.parametrize("separator", ["\t", ","])
def test_repair_us_dates_12_hour_times_and_tabs(
    tmp_path, original, routine, separator, monkeypatch
):
    monkeypatch.setenv("TZ", "Europe/Berlin")  # times without offset: this computer's zone
    time.tzset()
    try:
        mangled = tmp_path / "us.csv"
        spreadsheet_save(original, mangled, separator=separator, dates="m/d/yyyy", bom=False)
        report = repair_log(mangled, tmp_path / "fixed.csv")
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert report.rows == 5 and not report.left_out
    assert any("m/d/yyyy" in c.why for c in report.changes)
    assert any("12-hour" in c.why and "this computer's time zone" in c.why for c in report.changes)
    got = _state(tmp_path / "fixed.csv", routine)
    rows = list(csv.DictReader(io.StringIO((tmp_path / "fixed.csv").read_text("utf-8"))))
    assert [r["recorded_at"] for r in rows] == ["2026-11-20T20:15:00+01:00"] * 5
    assert [r["pain"] for r in got] == [r["pain"] for r in _state(original, routine)]


def test_unreadable_rows_are_left_out_and_named(tmp_path, original, capsys):
    mangled = tmp_path / "excel.csv"
    spreadsheet_save(original, mangled)
    text = mangled.read_text("utf-8-sig").replace(";5;", ";five;", 1)
    mangled.write_text(text, encoding="utf-8")
    fixed = tmp_path / "fixed.csv"
    assert main(["repair", str(mangled), "-o", str(fixed), "--utc-offset", "+01:00"]) == 1
    out = capsys.readouterr().out
    assert "left out: line 3: pain: expected an integer 0-10 or empty, found 'five'" in out
    assert "wrote 4 row(s)" in out
    assert main(["validate", "--csv", str(fixed)]) == 0


def test_repair_refuses_to_overwrite(tmp_path, original, capsys):
    assert main(["repair", str(original), "-o", str(original)]) == 2
    assert "is the log being repaired" in capsys.readouterr().err
    other = tmp_path / "exists.csv"
    other.write_text("x", encoding="utf-8")
    assert main(["repair", str(original), "-o", str(other)]) == 2
    assert "does not exist yet" in capsys.readouterr().err
    assert other.read_text("utf-8") == "x"
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("a;b;c\n1;2;3\n", encoding="utf-8")
    assert main(["repair", str(wrong), "-o", str(tmp_path / "n.csv")]) == 2
    assert "header: expected the log's columns" in capsys.readouterr().err
    assert (
        main(["repair", str(original), "-o", str(tmp_path / "n.csv"), "--utc-offset", "1h"]) == 2
    )


def test_a_valid_log_repairs_to_itself(tmp_path, original, routine):
    report = repair_log(original, tmp_path / "same.csv")
    assert report.changes == [] and report.dialect == [] and report.rows == 5
    assert _state(tmp_path / "same.csv", routine) == _state(original, routine)
    assert [c.found for c in report.unrecoverable] == ["007"]  # a number-like note, flagged


def test_saves_that_now_share_a_time_are_named(tmp_path, log_path, routine, now):
    log_day(log_path, routine=routine, now=now, day=now.date(), pain=5)
    log_day(log_path, routine=routine, now=now + timedelta(seconds=30), day=now.date(), pain=2)
    mangled = tmp_path / "excel.csv"
    spreadsheet_save(log_path, mangled)
    report = repair_log(mangled, tmp_path / "fixed.csv", utc_offset=now.tzinfo)
    assert [c.line for c in report.unrecoverable if "the same time as" in c.why] == [3]
    assert [r["pain"] for r in _state(tmp_path / "fixed.csv", routine)] == [2]  # file order


def test_uk_slash_dates_are_told_from_us_ones(tmp_path, original, routine, capsys):
    mangled = tmp_path / "uk.csv"
    spreadsheet_save(original, mangled, separator=",", dates="d/m/yyyy")
    fixed = tmp_path / "fixed.csv"
    assert main(["repair", str(mangled), "-o", str(fixed), "--utc-offset", "+01:00"]) == 0
    assert "dates d/m/yyyy" in capsys.readouterr().out
    assert [r["date"] for r in _state(fixed, routine)] == [
        r["date"] for r in _state(original, routine)
    ]


def test_slash_dates_that_cannot_be_told_apart_are_refused(tmp_path, log_path, routine):
    stamp = "2026-11-05T10:00:00.000+01:00"
    log_path.parent.mkdir()
    log_path.write_text(
        f"recorded_at,date,pain,exercises,day,where,note\n{stamp},11/03/2026,4,,routine,,\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="--date-order dmy|mdy"):
        repair_log(log_path, tmp_path / "fixed.csv")
    assert not (tmp_path / "fixed.csv").exists()
    for order, day in (("mdy", "2026-11-03"), ("dmy", "2026-03-11")):
        repair_log(log_path, tmp_path / f"{order}.csv", date_order=order)
        assert _state(tmp_path / f"{order}.csv", routine)[0]["date"].date().isoformat() == day


def test_columns_in_another_order_are_written_the_logs_way(tmp_path, original, routine):
    rows = list(csv.reader(io.StringIO(original.read_text("utf-8"), newline="")))
    order = [6, 0, 1, 2, 3, 4, 5]
    shuffled = tmp_path / "shuffled.csv"
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow([rows[0][i].upper() for i in order] + ["Mood"])
    writer.writerows([[r[i] for i in order] + ["fine"] for r in rows[1:]])
    shuffled.write_text(buffer.getvalue(), encoding="utf-8")
    report = repair_log(shuffled, tmp_path / "fixed.csv")
    assert "columns in another order or spelling (written the log's way)" in report.dialect
    assert "extra columns 'mood' (kept, at the end)" in report.dialect
    header = (tmp_path / "fixed.csv").read_text("utf-8").splitlines()[0]
    assert header == "recorded_at,date,pain,exercises,day,where,note,mood"
    got = [
        {k: v for k, v in r.items() if k != "mood"}
        for r in _state(tmp_path / "fixed.csv", routine)
    ]
    assert got == _state(original, routine)


# --- issue 25: repair never guesses wrong (through the real command) -----------------

HEADER = "recorded_at,date,pain,exercises,day,where,note\n"


def _cli(*args: str, cwd) -> subprocess.CompletedProcess[str]:
    """``backtrack ARGS`` in a child process, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "backtrack", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "TZ": "UTC"},
        check=False,
    )


def _rows(path) -> list[dict[str, str]]:
    """The rows as written (bytes decoded: read_text would turn a note's CRLF into LF)."""
    return list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8"), newline="")))


def test_issue25_pain_written_7_comma_0_is_repaired_and_said(tmp_path):
    source = tmp_path / "a.csv"
    source.write_text(
        HEADER + '2026-11-20T20:15:02.123+01:00,2026-11-20,"7,0",hip_stretch=2,routine,,\n',
        encoding="utf-8",
    )
    done = _cli("repair", "a.csv", "-o", "out.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "changed: line 2: pain: '7,0' -> '7'" in done.stdout
    assert [r["pain"] for r in _rows(tmp_path / "out.csv")] == ["7"]


def test_the_reason_a_pain_was_rewritten_is_said_whole(tmp_path):
    """The change's reason names every spelling it covers, its brackets closed (the
    sentence was cut after "written with" by a stray line break in the source)."""
    source = tmp_path / "a.csv"
    source.write_text(HEADER + "2026-11-20T20:15:02+01:00,2026-11-20,07,,routine,,\n")
    (change,) = [c for c in repair_log(source, tmp_path / "out.csv").changes if c.column == "pain"]
    assert "written with decimals, a leading zero or spaces" in change.why
    assert str(change).count("(") == str(change).count(")")


PAIN_SPELLINGS = ("{}", "0{}", "{},0", "{}.0", " {} ", "{},00", "{}.000", "\u00a0{}")


@pytest.mark.parametrize("spelling", PAIN_SPELLINGS)
def test_every_pain_with_one_reading_is_recovered(tmp_path, spelling):
    """Exhaustive over 0-10 and the spellings a spreadsheet writes: each comes back as the
    integer it reads as, and each rewrite is listed for its line."""
    source = tmp_path / "a.csv"
    rows = [
        f'2026-11-{day:02d}T20:15:00+01:00,2026-11-{day:02d},"{spelling.format(pain)}",,routine,,\n'
        for day, pain in enumerate(range(11), start=1)
    ]
    source.write_text(HEADER + "".join(rows), encoding="utf-8")
    report = repair_log(source, tmp_path / "out.csv")
    assert not report.left_out
    assert [r["pain"] for r in _rows(tmp_path / "out.csv")] == [str(p) for p in range(11)]
    changed = {c.line: (c.found, c.wrote) for c in report.changes if c.column == "pain"}
    for line, pain in enumerate(range(11), start=2):
        typed = spelling.format(pain)
        assert changed.get(line) == ((typed, str(pain)) if typed != str(pain) else None)


@pytest.mark.parametrize("pain", ["7,5", "7.5", "6-7", "7/10", "1.000,5", "11", "7,0,0", "٧"])
def test_a_pain_without_one_whole_reading_is_never_chosen(tmp_path, pain):
    source = tmp_path / "a.csv"
    source.write_text(
        HEADER + f'2026-11-20T20:15:00+01:00,2026-11-20,"{pain}",,routine,,\n', encoding="utf-8"
    )
    report = repair_log(source, tmp_path / "out.csv")
    assert [line for line, _ in report.left_out] == [2]
    assert _rows(tmp_path / "out.csv") == []
    assert not [c for c in report.changes if c.column == "pain"]


def _us_file(path, note: str) -> None:
    """A US save: 12/1/2025 ... 12/11/2025 (every one reads as a day both ways)."""
    lines = [
        f'12/{d}/2025 8:15 PM,12/{d}/2025,{d % 10},,routine,,"{note if d == 5 else ""}"\n'
        for d in range(1, 12)
    ]
    path.write_text(HEADER + "".join(lines), encoding="utf-8")


@pytest.mark.parametrize("note", ["flight home 25/12/26", "physio on 25/12/2026?", "13/13/13"])
def test_issue25_notes_never_decide_the_day_month_order(tmp_path, note):
    _us_file(tmp_path / "us.csv", note)
    done = _cli("repair", "us.csv", "-o", "out.csv", "--utc-offset", "+00:00", cwd=tmp_path)
    assert done.returncode == 2, done.stdout
    assert "--date-order dmy|mdy" in done.stderr and "'12/1/2025' at line 2" in done.stderr
    assert done.stderr.count("\n") == 1 and not (tmp_path / "out.csv").exists()
    done = _cli(
        "repair",
        "us.csv",
        "-o",
        "out.csv",
        "--date-order",
        "mdy",
        "--utc-offset=+00:00",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = _rows(tmp_path / "out.csv")
    assert [r["date"] for r in rows] == [f"2025-12-{d:02d}" for d in range(1, 12)]
    assert [r["recorded_at"] for r in rows] == [
        f"2025-12-{d:02d}T20:15:00+00:00" for d in range(1, 12)
    ]
    assert rows[4]["note"] == note  # never parsed, never changed


@pytest.mark.parametrize("day_text", ["2026-11-05", "5.11.2026"], ids=["iso", "german"])
def test_issue25_a_slash_only_in_a_note_is_no_reason_to_refuse(tmp_path, day_text):
    source = tmp_path / "a.csv"
    source.write_text(
        HEADER + f'2026-11-05T20:15:00+01:00,{day_text},4,,routine,,"physio 25/12/2026, 1/2/27"\n',
        encoding="utf-8",
    )
    done = _cli("repair", "a.csv", "-o", "out.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert [r["date"] for r in _rows(tmp_path / "out.csv")] == ["2026-11-05"]


def test_issue25_a_dropped_time_of_day_keeps_the_row(tmp_path):
    source = tmp_path / "a.csv"
    source.write_text(
        HEADER
        + "08/10/2026,08/10/2026,5,hip_stretch=2,routine,,first\n"
        + "08/10/2026,08/10/2026,3,,routine,,second save of the day\n"
        + "08/13/2026,08/13/2026,2,,rest,,\n",
        encoding="utf-8",
    )
    done = _cli("repair", "a.csv", "-o", "out.csv", "--utc-offset", "+02:00", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = _rows(tmp_path / "out.csv")
    assert [(r["date"], r["pain"], r["note"]) for r in rows] == [
        ("2026-08-10", "5", "first"),
        ("2026-08-10", "3", "second save of the day"),
        ("2026-08-13", "2", ""),
    ]
    assert [r["recorded_at"][:10] for r in rows] == ["2026-08-10", "2026-08-10", "2026-08-13"]
    for line in (2, 3, 4):
        assert f"cannot be recovered: line {line}: recorded_at: '08/" in done.stdout
    assert done.stdout.count("the time of day was lost") == 3
    # the later save of 10 August is still that day's state (file order kept)
    assert main(["validate", "--csv", str(tmp_path / "out.csv")]) == 0
    latest = latest_per_date(load_log(tmp_path / "out.csv").entries)
    assert list(latest["pain"]) == [3, 2]


@pytest.mark.parametrize("offset", ["-05:00", "+05:30", "-00:30"])
def test_issue25_a_negative_utc_offset_is_taken_as_written_in_the_help(tmp_path, offset):
    source = tmp_path / "a.csv"
    source.write_text(HEADER + "20.11.2026 20:15,20.11.2026,4,,routine,,\n", encoding="utf-8")
    done = _cli("repair", "a.csv", "-o", "out.csv", "--utc-offset", offset, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert [r["recorded_at"] for r in _rows(tmp_path / "out.csv")] == [
        f"2026-11-20T20:15:00{offset}"
    ]
    assert "--utc-offset +HH:MM" in _cli("repair", "--help", cwd=tmp_path).stdout


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    days=st.lists(st.dates(date(2000, 1, 1), date(2025, 12, 31)), min_size=1, max_size=8),
    order=st.sampled_from(["dmy", "mdy"]),
    two_digit=st.booleans(),
    timed=st.booleans(),
    notes=st.lists(st.from_regex(r"[0-9/ ?,.a-z]{0,20}", fullmatch=True), min_size=8, max_size=8),
)
def test_slash_dates_are_read_in_the_one_order_they_allow_or_refused(
    tmp_path, days, order, two_digit, timed, notes
):
    """Walks dates, orders, year widths, with and without a time, and notes full of
    '/' dates: the repaired dates are the written ones, or the file is refused naming
    --date-order exactly when every date is a real day both ways. Never a wrong date."""

    def slash(day: date) -> str:
        year = f"{day.year % 100:02d}" if two_digit else str(day.year)
        a, b = (day.day, day.month) if order == "dmy" else (day.month, day.day)
        return f"{a}/{b}/{year}"

    source = tmp_path / f"{uuid.uuid4().hex}.csv"
    lines = [
        f'{slash(d)}{" 8:15" if timed else ""},{slash(d)},4,,routine,,"{notes[i]}"\n'
        for i, d in enumerate(days)
    ]
    source.write_text(HEADER + "".join(lines), encoding="utf-8")
    both_ways = all(d.day <= 12 for d in days)
    out = tmp_path / f"{uuid.uuid4().hex}.csv"
    if both_ways:
        with pytest.raises(InputError, match=r"--date-order dmy\|mdy"):
            repair_log(source, out, utc_offset=UTC)
        assert not out.exists()
        report = repair_log(source, out, utc_offset=UTC, date_order=order)
    else:
        report = repair_log(source, out, utc_offset=UTC)
    assert not report.left_out
    rows = _rows(out)
    assert [r["date"] for r in rows] == [d.isoformat() for d in days]
    assert [r["recorded_at"][:10] for r in rows] == [d.isoformat() for d in days]
    assert [r["note"] for r in rows] == [n for n, _ in zip(notes, days, strict=False)]


def _legacy_save(path, notes: list[str], encoding: str, *, crlf: bool = True) -> None:
    """What a spreadsheet's 'CSV' save in a legacy encoding writes: each character the
    encoding lacks becomes '?' (Python's errors='replace' does the same)."""
    end = "\r\n" if crlf else "\n"
    lines = [
        f'{d + 1}.11.2026 20:15;{d + 1}.11.2026;4;;routine;;"{note}"{end}'
        for d, note in enumerate(notes)
    ]
    text = HEADER.replace(",", ";").replace("\n", end) + "".join(lines)
    path.write_bytes(text.encode(encoding, errors="replace"))


@pytest.mark.parametrize("encoding", ["cp1252", "ascii"])
def test_issue25_question_marks_a_legacy_save_wrote_are_flagged(tmp_path, encoding):
    notes = ["Müde 😀", "ヨガ", "שלום, ok", "plain"]
    _legacy_save(tmp_path / "a.csv", notes, encoding)
    done = _cli("repair", "a.csv", "-o", "out.csv", "--utc-offset", "+01:00", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    lost = [line for line in done.stdout.splitlines() if "cannot be recovered" in line]
    flagged = [line for line in lost if "'?'" in line and ": note: " in line]
    assert [line.split(":")[1].strip() for line in flagged] == ["line 2", "line 3", "line 4"]
    assert all("character the encoding could not hold" in line for line in flagged)
    written = [r["note"] for r in _rows(tmp_path / "out.csv")]
    assert written == [n.encode(encoding, errors="replace").decode(encoding) for n in notes]


def test_a_question_mark_in_a_log_no_spreadsheet_touched_is_not_flagged(tmp_path):
    source = tmp_path / "a.csv"
    source.write_text(
        HEADER + '2026-11-20T20:15:00.000+01:00,2026-11-20,4,,routine,,"better? yes, 😀"\n',
        encoding="utf-8",
    )
    report = repair_log(source, tmp_path / "out.csv")
    assert report.changes == [] and report.unrecoverable == [] and report.dialect == []


def test_issue25_line_breaks_inside_a_note_a_spreadsheet_wrote_are_flagged(tmp_path):
    source = tmp_path / "a.csv"
    body = (
        '20.11.2026 20:15;20.11.2026;4;;routine;;"line one\nline two"\r\n'
        '21.11.2026 20:15;21.11.2026;4;;routine;;"kept\r\nas CRLF"\r\n'
        '22.11.2026 20:15;22.11.2026;4;;routine;;"one line"\r\n'
    )
    source.write_bytes((HEADER.replace(",", ";").replace("\n", "\r\n") + body).encode())
    report = repair_log(source, tmp_path / "out.csv", utc_offset=timezone(timedelta(hours=1)))
    flagged = [c for c in report.unrecoverable if "line break" in c.why]
    assert [(c.line, c.column) for c in flagged] == [(2, "note")]
    assert [r["note"] for r in _rows(tmp_path / "out.csv")] == [
        "line one\nline two",
        "kept\r\nas CRLF",
        "one line",
    ]


def test_issue25_check_prints_the_report_and_writes_nothing(tmp_path, original):
    mangled = tmp_path / "excel.csv"
    spreadsheet_save(original, mangled)
    os.chmod(mangled, 0o640)
    os.utime(mangled, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    before = (mangled.read_bytes(), os.stat(mangled).st_mode, os.stat(mangled).st_mtime_ns)
    listing = sorted(p.name for p in tmp_path.iterdir())
    for extra in ([], ["-o", "out.csv"]):
        done = _cli(
            "repair", "excel.csv", "--check", "--utc-offset", "+01:00", *extra, cwd=tmp_path
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "changed: line 2: date: '16.11.2026' -> '2026-11-16'" in done.stdout
        assert "cannot be recovered: line 3: note: '7'" in done.stdout
        assert "nothing was written (--check)" in done.stdout
        after = (mangled.read_bytes(), os.stat(mangled).st_mode, os.stat(mangled).st_mtime_ns)
        assert after == before
        assert sorted(p.name for p in tmp_path.iterdir()) == listing
    done = _cli("repair", "excel.csv", cwd=tmp_path)
    assert done.returncode == 2 and "-o" in done.stderr and "--check" in done.stderr


def test_every_field_the_output_differs_in_is_listed_by_line(tmp_path, original):
    """The report's changes account for every field of OUT that is not IN's text."""
    mangled = tmp_path / "excel.csv"
    spreadsheet_save(original, mangled)
    out = tmp_path / "out.csv"
    report = repair_log(mangled, out, utc_offset=timezone(timedelta(hours=1)))
    assert_changes_listed(mangled, out, report)


@pytest.mark.parametrize("note", ["'a", "'7", "' leading"])
def test_a_note_whose_own_quote_a_spreadsheet_dropped_is_said(tmp_path, note):
    """The log stores a note starting with ' as ''…; a spreadsheet drops one ', and the
    file then holds a ' the log never writes: kept, and said (two readings)."""
    stored = encode_note(note)
    assert stored == "'" + note
    source = tmp_path / "a.csv"
    saved = stored[1:]  # what the spreadsheet wrote
    source.write_text(
        HEADER.replace(",", ";") + f'20.11.2026 20:15;20.11.2026;4;;routine;;"{saved}"\n',
        encoding="utf-8",
    )
    report = repair_log(source, tmp_path / "out.csv", utc_offset=timezone(timedelta(hours=1)))
    assert [r["note"] for r in _rows(tmp_path / "out.csv")] == [saved]
    assert any(c.column == "note" and "never writes" in c.why for c in report.unrecoverable)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(pain=st.text(alphabet="0123456789.,- \u00a0", min_size=1, max_size=7))
def test_a_pain_is_written_only_as_its_one_whole_reading(tmp_path, pain):
    """Walks pains of digits, separators, signs and spaces: a row is kept only when the
    text reads as one whole number 0-10 (decimal point or comma alike), written as it."""
    source = tmp_path / f"{uuid.uuid4().hex}.csv"
    source.write_text(
        HEADER + f'2026-11-20T20:15:00+01:00,2026-11-20,"{pain}",,routine,,\n', encoding="utf-8"
    )
    out = tmp_path / f"{uuid.uuid4().hex}.csv"
    report = repair_log(source, out)
    rows = _rows(out)
    typed = pain.strip()  # spaces (also no-break ones) around a number are not part of it
    shape = re.fullmatch(r"[0-9]+(?:[.,][0-9]+)?", typed)
    value = float(typed.replace(",", ".")) if shape else None
    if value is not None and value.is_integer() and 0 <= value <= 10:
        assert not report.left_out and [r["pain"] for r in rows] == [str(int(value))]
    else:  # no reading, or one that is not a whole 0-10: never a chosen one
        assert [line for line, _ in report.left_out] == [2] and rows == []
