"""Issue 11: no accepted save is ever invisible, and every input means one thing.

Each test reproduces one defect found on the old code (a save that exited 0, said
"saved", and was then never counted, or an input silently read as something else).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
import sys
from datetime import UTC, date, datetime, timedelta

import pytest

from backtrack.actions import log_day, void_day
from backtrack.cli import main
from backtrack.errors import FieldError, InputError
from backtrack.metrics import daily_series
from backtrack.routine import default_routine
from backtrack.schema import COLUMNS, FIELD_LIMIT, MAX_NOTE_CHARS, Entry
from backtrack.store import append_entry, append_row, read_log

HEADER = ",".join(COLUMNS) + "\n"
CONTEXT = multiprocessing.get_context("fork")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def days_logged(capsys, path) -> int:
    code, out, _ = run(capsys, "summary", "--csv", str(path), "--json")
    assert code == 0
    return json.loads(out)["days_logged"]


def saved(day: int, pain: int = 5, note: str = "") -> Entry:
    return Entry(
        recorded_at=datetime(2026, 11, day, 20, 0, tzinfo=UTC),
        date=date(2026, 11, day),
        pain=pain,
        exercises={"floor_relaxation": 5.0},
        note=note,
    )


# ------------------------------------------------------------- 1. torn inside a quote


def test_1_a_save_torn_after_a_newline_inside_a_note_does_not_swallow_later_saves(
    capsys, tmp_path
):
    path = tmp_path / "x.csv"
    note = "first line\nsecond"
    assert (
        run(
            capsys,
            "log",
            "--pain",
            "4",
            "--date",
            "2026-11-02",
            "--note",
            note,
            "--csv",
            str(path),
        )[0]
        == 0
    )
    data = path.read_bytes()
    path.write_bytes(data[: data.rindex(b"first line\n") + 11])  # cut just after the \n
    for day in ("03", "04", "05"):
        assert (
            run(capsys, "log", "--pain", "5", "--date", f"2026-11-{day}", "--csv", str(path))[0]
            == 0
        )
    assert days_logged(capsys, path) == 3
    log = read_log(path, strict=False)
    assert [p.line for p in log.problems] == [2]
    assert "unfinished" in log.problems[0].message
    assert b"first line\n" in path.read_bytes()  # the torn bytes are kept


def test_1_the_tail_check_reads_the_file_only_when_someone_else_changed_it(log_path, monkeypatch):
    """Flat append cost: after our own append the next one reads the header only."""
    import backtrack.store as store

    append_entry(log_path, saved(1, note="line one\nline two"))
    reads = []
    real = store.tail_separator
    monkeypatch.setattr(store, "tail_separator", lambda *a: reads.append(1) or real(*a))
    append_entry(log_path, saved(2))
    append_entry(log_path, saved(3))
    assert reads == []
    with open(log_path, "ab") as handle:  # another program touches the file
        handle.write(b"")
        os.utime(log_path, ns=(0, 0))
    append_entry(log_path, saved(4))
    assert reads == [1]
    assert read_log(log_path).entries["pain"].tolist() == [5, 5, 5, 5]


# ------------------------------------------------------------- 2. over-long fields


def test_2_a_field_over_the_csv_limit_is_reported_and_later_rows_still_load(log_path):
    log_path.parent.mkdir(parents=True)
    long_note = "x" * (FIELD_LIMIT + 10)
    log_path.write_text(
        HEADER
        + "2026-11-01T20:00:00+00:00,2026-11-01,4,,routine,,ok\n"
        + f'2026-11-02T20:00:00+00:00,2026-11-02,5,,routine,,"{long_note}"\n'
        + "2026-11-03T20:00:00+00:00,2026-11-03,6,,routine,,later\n"
    )
    log = read_log(log_path, strict=False)
    assert log.entries["pain"].tolist() == [4, 6]
    assert [(p.line, p.column) for p in log.problems] == [(3, "note")]
    assert "131,072 characters" in log.problems[0].message
    append_entry(log_path, saved(4, pain=7))
    assert read_log(log_path, strict=False).entries["pain"].tolist() == [4, 6, 7]


def test_2_every_write_path_caps_notes(capsys, log_path):
    code, _, err = run(
        capsys, "log", "--pain", "3", "--note", "n" * (MAX_NOTE_CHARS + 1), "--csv", str(log_path)
    )
    assert code == 2 and "note: expected at most 5000 characters, found '5001 characters'" in err
    with pytest.raises(FieldError, match="note: expected at most 131072 characters"):
        append_row(log_path, {**saved(1).to_row(), "note": "n" * (FIELD_LIMIT + 1)})
    assert not log_path.exists()


# ------------------------------------------------------------- 3. no final newline


def test_3_a_complete_file_without_a_final_newline_keeps_its_last_row(capsys, log_path):
    log_path.parent.mkdir(parents=True)
    log_path.write_text(HEADER + "2026-11-01T20:00:00+00:00,2026-11-01,4,hip_stretch=2,routine,,")
    assert (
        run(capsys, "log", "--pain", "5", "--date", "2026-11-02", "--csv", str(log_path))[0] == 0
    )
    log = read_log(log_path)
    assert log.entries["pain"].tolist() == [4, 5]
    assert days_logged(capsys, log_path) == 2


def test_3_a_header_without_a_newline_does_not_swallow_the_first_save(capsys, log_path):
    log_path.parent.mkdir(parents=True)
    log_path.write_text(HEADER.rstrip("\n"))
    assert (
        run(capsys, "log", "--pain", "5", "--date", "2026-11-02", "--csv", str(log_path))[0] == 0
    )
    assert read_log(log_path).entries["pain"].tolist() == [5]


def test_3_a_row_cut_mid_field_without_newline_is_torn_and_closed_off(log_path):
    append_entry(log_path, saved(1))
    with open(log_path, "a") as handle:
        handle.write("2026-11-02T20:00:00+00:00,2026-11-0")
    append_entry(log_path, saved(3, pain=8))
    log = read_log(log_path, strict=False)
    assert log.entries["pain"].tolist() == [5, 8]
    assert [p.line for p in log.problems] == [3]


# ------------------------------------------------------------- 4. a bare quote


def test_4_a_bare_quote_in_a_hand_edited_row_is_reported_and_later_saves_count(capsys, log_path):
    log_path.parent.mkdir(parents=True)
    log_path.write_text(
        HEADER
        + '2026-11-01T20:00:00+00:00,2026-11-01,4,,routine,,used the 10" roller\n'
        + '2026-11-02T20:00:00+00:00,2026-11-02,5,,routine,,"a ""quoted"" word"\n'
    )
    assert (
        run(capsys, "log", "--pain", "6", "--date", "2026-11-03", "--csv", str(log_path))[0] == 0
    )
    log = read_log(log_path, strict=False)
    assert log.entries["pain"].tolist() == [5, 6]
    assert log.entries["note"].tolist() == ['a "quoted" word', ""]
    assert [(p.line, p.column) for p in log.problems] == [(2, "note")]
    assert "quote inside an unquoted field" in log.problems[0].message
    code, out, _ = run(capsys, "validate", "--csv", str(log_path))
    assert code == 1 and f"{log_path}:2:note:" in out


def test_4_an_unclosed_quote_mid_file_does_not_hide_the_rows_after_it(log_path):
    log_path.parent.mkdir(parents=True)
    log_path.write_text(
        HEADER
        + '2026-11-01T20:00:00+00:00,2026-11-01,4,,routine,,"never closed\n'
        + "2026-11-02T20:00:00+00:00,2026-11-02,5,,routine,,\n"
        + "2026-11-03T20:00:00+00:00,2026-11-03,6,,routine,,fine\n"
    )
    append_entry(log_path, saved(4, pain=7))
    log = read_log(log_path, strict=False)
    assert log.entries["pain"].tolist() == [5, 6, 7]
    assert [(p.line, p.column) for p in log.problems] == [(2, "note")]
    assert "never closed" in log.problems[0].message


# ------------------------------------------------------------- 5. dates in range


@pytest.mark.parametrize("typed", ["1700-01-01", "0206-01-05", "1899-12-31"])
def test_5_dates_the_analysis_cannot_represent_are_refused_when_typed(capsys, log_path, typed):
    code, _, err = run(capsys, "log", "--pain", "3", "--date", typed, "--csv", str(log_path))
    assert code == 2 and "between 1900-01-01 and 2199-12-31" in err and typed in err
    with pytest.raises(InputError, match="date: expected a date between"):
        log_day(log_path, pain=3, day=typed)
    assert not log_path.exists()


def test_5_out_of_range_and_impossible_dates_in_a_file_are_problems_and_nothing_crashes(
    capsys, log_path
):
    log_path.parent.mkdir(parents=True)
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat(timespec="seconds")
    log_path.write_text(
        HEADER
        + "1700-01-01T20:00:00+00:00,1700-01-01,4,,routine,,\n"
        + "2026-11-02T20:00:00+00:00,0206-01-05,4,,routine,,\n"
        + "2026-11-03T20:00:00+00:00,2026-11-04,4,,routine,,\n"  # after its own save
        + f"{future},{future[:10]},4,,routine,,\n"  # saved in the future
        + "2026-11-05T20:00:00+00:00,2026-11-05,6,,routine,,\n"
    )
    log = read_log(log_path, strict=False)
    assert [(p.line, p.column) for p in log.problems] == [
        (2, "recorded_at"),
        (2, "date"),
        (3, "date"),
        (4, "date"),
        (5, "recorded_at"),
    ]
    assert "no later than the day it was saved (2026-11-03)" in log.problems[3].message
    assert "no later than now" in log.problems[4].message
    for command in ("summary", "report"):
        extra = ["-o", str(log_path.parent / "r.pdf")] if command == "report" else []
        code, out, err = run(capsys, command, "--csv", str(log_path), *extra)
        assert code == 0, err
    assert days_logged(capsys, log_path) == 1


# ------------------------------------------------------------- 6. a failed fsync


def _save_with_failing(path: str, failing: str, queue) -> None:
    def fail(*args, **kwargs):
        raise OSError(5, "Input/output error")

    setattr(os, failing, fail)
    try:
        append_entry(path, saved(2))
    except OSError as exc:
        queue.put(str(exc))
    else:
        queue.put("saved")


@pytest.mark.parametrize("failing", ["fsync", "write"])
def test_6_a_failed_write_or_fsync_leaves_the_file_byte_identical(log_path, failing):
    append_entry(log_path, saved(1, note="before"))
    before = log_path.read_bytes()
    queue = CONTEXT.Queue()
    child = CONTEXT.Process(target=_save_with_failing, args=(str(log_path), failing, queue))
    child.start()
    child.join(60)
    message = queue.get(timeout=5)
    assert child.exitcode == 0
    assert "nothing was saved (the file is as it was)" in message
    assert log_path.read_bytes() == before
    append_entry(log_path, saved(3))  # the next save is fine
    assert read_log(log_path).entries["pain"].tolist() == [5, 5]


def test_6_a_failed_fsync_of_the_first_save_leaves_no_empty_log(log_path):
    queue = CONTEXT.Queue()
    child = CONTEXT.Process(target=_save_with_failing, args=(str(log_path), "fsync", queue))
    child.start()
    child.join(60)
    assert "nothing was saved" in queue.get(timeout=5)
    assert not log_path.exists()


# ------------------------------------------------------------- 7. one meaning per input


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--pain", "٣"], "pain: expected an integer 0-10, found '٣'"),
        (["--pain", "３"], "pain: expected an integer 0-10, found '３'"),
        (["--pain", "³"], "pain: expected an integer 0-10, found '³'"),
        (["--pain", "0010"], "pain: expected an integer 0-10, found '0010'"),
        (["--pain", "9" * 5000], "pain: expected an integer 0-10, found '999"),
        (["--pain", "3", "--done", "hip_stretch=5_0"], "exercises.hip_stretch: expected minutes"),
        (["--pain", "3", "--done", "hip_stretch=0.001"], "with at most 2 decimals"),
        (["--pain", "3", "--done", "hip_stretch=٣"], "found '٣'"),
        (["--pain", "3", "--done", "hip_stretch=1e2"], "found '1e2'"),
        (["--pain", "3", "--date", "2026-W01-1"], "expected a date YYYY-MM-DD"),
        (["--pain", "3", "--date", "20260105"], "expected a date YYYY-MM-DD"),
        (["--pain", "3", "--date", "２０２６-01-05"], "expected a date YYYY-MM-DD"),
        (["--pain", "3", "--note", "bad \udcff byte"], "note: expected text (no unpaired"),
        (["--pain", "3", "--where", "back"], "where: expected one of lower_back"),
    ],
)
def test_7_inputs_are_refused_not_reinterpreted(capsys, log_path, argv, message):
    code, out, err = run(capsys, "log", *argv, "--csv", str(log_path))
    assert code == 2, out
    assert message in err
    assert "Traceback" not in err
    assert not log_path.exists()  # not even an empty file


def test_7_a_decimal_comma_is_read_as_a_point_and_nothing_is_rounded(log_path, now):
    row = log_day(log_path, pain=3, done={"hip_stretch": "1,25"}, now=now).row
    assert row["exercises"] == "hip_stretch=1.25"
    with pytest.raises(InputError, match="with at most 2 decimals"):
        log_day(log_path, pain=3, done={"hip_stretch": 0.001}, now=now)


def test_7_the_reader_refuses_non_ascii_digits_in_a_file(log_path):
    log_path.parent.mkdir(parents=True)
    log_path.write_text(
        HEADER
        + "2026-11-01T20:00:00+00:00,2026-11-01,٣,,routine,,\n"
        + "2026-11-02T20:00:00+00:00,2026-11-02,4,hip_stretch=٢,routine,,\n"
    )
    log = read_log(log_path, strict=False)
    assert log.entries.empty
    assert [(p.line, p.column) for p in log.problems] == [
        (2, "pain"),
        (3, "exercises"),
    ]


# ------------------------------------------------------------- 8. double saves


def test_8_the_same_save_twice_within_seconds_is_one_row(log_path, now):
    first = log_day(log_path, pain=3, done=["hip_stretch"], now=now)
    again = log_day(log_path, pain=3, done=["hip_stretch"], now=now + timedelta(milliseconds=32))
    third = log_day(log_path, pain=3, done=["hip_stretch"], now=now + timedelta(seconds=1))
    assert (first.duplicate, again.duplicate, third.duplicate) == (False, True, True)
    assert len(read_log(log_path).entries) == 1
    changed = log_day(log_path, pain=4, done=["hip_stretch"], now=now + timedelta(seconds=2))
    later = log_day(log_path, pain=4, done=["hip_stretch"], now=now + timedelta(seconds=60))
    assert (changed.duplicate, later.duplicate) == (False, False)
    assert len(read_log(log_path).entries) == 3


def test_8_the_command_says_it_did_not_save_twice(capsys, log_path):
    args = ["log", "--pain", "3", "--date", "2026-11-02", "--csv", str(log_path)]
    assert run(capsys, *args)[0] == 0
    code, out, _ = run(capsys, *args)
    assert code == 0 and "not saved twice" in out
    assert len(read_log(log_path).entries) == 1


# ------------------------------------------------------------- 9. partial corrections


def test_9_a_partial_correction_keeps_the_fields_not_given_and_says_which(capsys, log_path):
    day = (date.today() - timedelta(days=1)).isoformat()
    base = ["--date", day, "--csv", str(log_path)]
    assert run(capsys, "log", "--pain", "5", "--done", "all", "--note", "stiff", *base)[0] == 0
    code, out, _ = run(capsys, "log", "--pain", "3", *base)
    assert code == 0
    assert "kept from the earlier save" in out and "--done" in out and "--note" in out
    latest = read_log(log_path).entries.iloc[-1]
    assert latest["pain"] == 3
    assert latest["exercises"].count("=") == 5 and latest["note"] == "stiff"
    code, out, _ = run(capsys, "log", "--pain", "2", "--replace", *base)
    latest = read_log(log_path).entries.iloc[-1]
    assert (latest["pain"], latest["exercises"], latest["note"]) == (2, "", "")
    assert "kept from" not in out


# ------------------------------------------------------------- 10. withdrawing a day


def test_10_a_day_saved_on_the_wrong_date_can_be_withdrawn(capsys, log_path):
    routine = default_routine()
    wrong = (date.today() - timedelta(days=2)).isoformat()
    right = (date.today() - timedelta(days=1)).isoformat()
    for day in (wrong, right):
        assert run(capsys, "log", "--pain", "4", "--date", day, "--csv", str(log_path))[0] == 0
    before = log_path.read_bytes()
    code, out, _ = run(capsys, "log", "--date", wrong, "--void", "--csv", str(log_path))
    assert code == 0 and "not logged" in out
    assert log_path.read_bytes().startswith(before)  # appended, nothing rewritten
    log = read_log(log_path)
    daily = daily_series(log.entries, routine, start=wrong)
    assert daily["logged"].tolist() == [False, True]
    assert days_logged(capsys, log_path) == 1
    code, out, _ = run(capsys, "history", "--date", wrong, "--csv", str(log_path))
    assert "2 save(s)" in out and "void" in out
    code, _, err = run(capsys, "log", "--date", wrong, "--void", "--csv", str(log_path))
    assert code == 2 and "not withdrawn already" in err
    with pytest.raises(InputError, match="a date that has a save to withdraw"):
        void_day(log_path, day=date.today() - timedelta(days=9))
    assert run(capsys, "log", "--pain", "6", "--date", wrong, "--csv", str(log_path))[0] == 0
    assert days_logged(capsys, log_path) == 2


def test_10_a_void_row_that_holds_data_is_a_problem(log_path):
    log_path.parent.mkdir(parents=True)
    log_path.write_text(HEADER + "2026-11-01T20:00:00+00:00,2026-11-01,4,,void,,\n")
    log = read_log(log_path, strict=False)
    assert [(p.line, p.column) for p in log.problems] == [(2, "day")]


# ------------------------------------------------------------- 11. small ones


def test_11_folders_made_for_a_log_are_private(tmp_path):
    path = tmp_path / "a" / "b" / "log.csv"
    append_entry(path, saved(1))
    for folder in (tmp_path / "a", tmp_path / "a" / "b"):
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700


def test_11_a_log_where_none_can_be_written_says_so(capsys):
    code, _, err = run(capsys, "log", "--pain", "3", "--csv", "/proc/backtrack.csv")
    assert code == 2
    assert "cannot save a log here" in err and "locked" not in err


@pytest.mark.parametrize("separator,name", [(";", "semicolons"), ("\t", "tabs")])
def test_11_a_european_spreadsheet_csv_gets_one_clear_message(capsys, log_path, separator, name):
    log_path.parent.mkdir(parents=True)
    rows = [list(COLUMNS), ["2026-11-01T20:00:00+00:00", "2026-11-01", "4", "", "routine", "", ""]]
    log_path.write_text("".join(separator.join(r) + "\r\n" for r in rows))
    code, out, _ = run(capsys, "validate", "--csv", str(log_path))
    assert code == 1
    assert out.count("\n") == 1 and f"separated by {name}" in out and "CSV UTF-8" in out


def test_11_unknown_pain_locations_in_a_file_are_warned_about(capsys, log_path):
    log_path.parent.mkdir(parents=True)
    log_path.write_text(HEADER + "2026-11-01T20:00:00+00:00,2026-11-01,4,,routine,back,\n")
    code, _, err = run(capsys, "validate", "--csv", str(log_path))
    assert code == 0
    assert f"{log_path}:2:where: 'back' is not a known pain location" in err


def test_the_logging_path_still_imports_no_plotting(tmp_path):
    import subprocess

    script = (
        "import sys, backtrack.cli; backtrack.cli.build_parser(); "
        "print('matplotlib' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_the_cohort_reads_withdrawn_days_and_impossible_dates_as_the_summary_does(
    tmp_path, routine
):
    """The cohort's fast path must not count what the store leaves out (void dates,
    dates after their save, saves in the future, years outside 1900-2199)."""
    from backtrack.cohort import summarise
    from backtrack.demo import generate, to_csv_text
    from backtrack.overview import summary

    end = date.today() - timedelta(days=1)
    clean = to_csv_text(generate(60, seed=4, end=end))
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat(timespec="seconds")
    odd = {
        "void": f"{end.isoformat()}T23:59:00+00:00,{end.isoformat()},,,void,,\n",
        "after": f"{end.isoformat()}T21:00:00+00:00,{date.today().isoformat()},2,,routine,,\n",
        "future": f"{future},{future[:10]},1,,routine,,\n",
        "old": "1899-06-01T10:00:00+00:00,1899-06-01,1,,routine,,\n",
    }
    for name, row in odd.items():
        (tmp_path / f"{name}.csv").write_text(clean + row)
    table = summarise(sorted(tmp_path.glob("*.csv")), routine=routine).set_index("patient")
    for name in odd:
        one = summary(tmp_path / f"{name}.csv", routine=routine)
        assert table.loc[name, "days_logged"] == one.days_logged, name
        assert table.loc[name, "last_day"] == one.last_logged_day, name
    assert table.loc["void", "days_logged"] == summary(tmp_path / "after.csv").days_logged - 1


def test_validate_points_to_repair_for_a_spreadsheets_regional_values(capsys, log_path):
    log_path.parent.mkdir(parents=True)
    log_path.write_text(
        HEADER
        + "2026-11-01T20:00:00+00:00,20.11.2026,4,,routine,,\n"
        + "2026-11-02 20:00,2026-11-02,4,hip_stretch=1,routine,,\n"
    )
    code, _, err = run(capsys, "validate", "--csv", str(log_path))
    assert code == 1 and f"backtrack repair {log_path} -o FIXED.csv" in err
    log_path.write_text(HEADER + "2026-11-01T20:00:00+00:00,2026-11-01,11,,routine,,\n")
    code, _, err = run(capsys, "validate", "--csv", str(log_path))
    assert code == 1 and "backtrack repair" not in err  # an ordinary bad value
