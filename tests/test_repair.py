"""`backtrack repair` (#15 item 13): a log a spreadsheet re-saved in its own dialect is one
command from valid again; the original is never touched; every change and every loss is
listed."""

from __future__ import annotations

import csv
import io
import os
import time
from datetime import datetime, timedelta

import pytest

from backtrack.actions import load_log, log_day
from backtrack.cli import main
from backtrack.interop.repair import repair_log
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


def test_slash_dates_that_cannot_be_told_apart_are_said(tmp_path, log_path, routine):
    stamp = "2026-11-05T10:00:00.000+01:00"
    log_path.parent.mkdir()
    log_path.write_text(
        f"recorded_at,date,pain,exercises,day,where,note\n{stamp},11/03/2026,4,,routine,,\n",
        encoding="utf-8",
    )
    report = repair_log(log_path, tmp_path / "fixed.csv")
    assert any("order cannot be told" in c.why for c in report.unrecoverable)
    assert _state(tmp_path / "fixed.csv", routine)[0]["date"].date().isoformat() == "2026-11-03"


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
