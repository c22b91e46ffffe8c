"""The append-only log: creation, appends, validation, torn rows, spreadsheet re-saves."""

from __future__ import annotations

import os
import stat
from datetime import UTC, date, datetime, timedelta, timezone

import pandas as pd
import pytest
from filelock import FileLock

from backtrack.errors import LogFormatError, LogLockedError
from backtrack.schema import COLUMNS, Entry
from backtrack.store import (
    append_entry,
    append_row,
    exercise_table,
    history_for,
    latest_per_date,
    read_log,
    resolve_log_path,
)

UTC = UTC
HEADER = ",".join(COLUMNS) + "\n"


def entry(day: int, pain: int | None = 4, note: str = "", minute: int = 0, **kw) -> Entry:
    return Entry(
        recorded_at=datetime(2026, 11, day, 20, minute, tzinfo=UTC),
        date=date(2026, 11, day),
        pain=pain,
        exercises=kw.pop("exercises", {"floor_relaxation": 5.0}),
        note=note,
        **kw,
    )


def write(path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)


def test_new_log_has_header_mode_0600_and_folder_0700(log_path):
    append_entry(log_path, entry(1))
    assert log_path.read_text().startswith(HEADER)
    assert stat.S_IMODE(os.stat(log_path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(log_path.parent).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(f"{log_path}.lock").st_mode) & 0o077 == 0


def test_appends_keep_every_row_in_order(log_path):
    for day in range(1, 6):
        append_entry(log_path, entry(day, pain=day))
    log = read_log(log_path)
    assert log.entries["pain"].tolist() == [1, 2, 3, 4, 5]
    assert log.entries["line"].tolist() == [2, 3, 4, 5, 6]
    assert not log.problems


def test_append_does_not_read_rows_it_does_not_need(log_path):
    """A bad row in the middle does not stop an append: appends read only the header."""
    append_entry(log_path, entry(1))
    with open(log_path, "a") as handle:
        handle.write("garbage,row\n")
    append_entry(log_path, entry(2))
    log = read_log(log_path, strict=False)
    assert len(log.entries) == 2
    assert [str(p) for p in log.problems] == [f"{log_path}:3:pain: expected 7 fields, found 2"]


def test_bad_value_reported_with_path_line_column_expected_found(log_path):
    write(
        log_path,
        HEADER
        + "2026-11-01T20:00:00+00:00,2026-11-01,4,,routine,,\n"
        + "2026-11-02T20:00:00+00:00,2026-11-02,11,,routine,,\n"
        + "2026-11-03T20:00:00+00:00,2026-11-03,3,hip_stretch=2,holiday,,ok\n",
    )
    with pytest.raises(LogFormatError) as info:
        read_log(log_path)
    error = info.value
    assert isinstance(error, ValueError)
    assert (error.path, error.line, error.column) == (str(log_path), 3, "pain")
    assert str(error).startswith(
        f"{log_path}:3:pain: expected an integer 0-10 or empty, found '11'"
    )
    assert [str(p) for p in error.problems] == [
        f"{log_path}:3:pain: expected an integer 0-10 or empty, found '11'",
        f"{log_path}:4:day: expected one of routine, rest, flare, void, found 'holiday'",
    ]
    lenient = read_log(log_path, strict=False)
    assert lenient.entries["line"].tolist() == [2]
    assert len(lenient.problems) == 2


def test_line_numbers_count_physical_lines_of_multiline_notes(log_path):
    append_entry(log_path, entry(1, note="first\nsecond\nthird"))
    with open(log_path, "a") as handle:
        handle.write("2026-11-02T20:00:00+00:00,2026-11-02,x,,routine,,\n")
    problems = read_log(log_path, strict=False).problems
    assert [(p.line, p.column) for p in problems] == [(5, "pain")]


def test_missing_column_in_header(log_path):
    write(log_path, "recorded_at,date,pain,exercises,day,note\n")
    with pytest.raises(LogFormatError) as info:
        read_log(log_path)
    assert (info.value.line, info.value.column) == (1, "where")
    with pytest.raises(LogFormatError):
        append_entry(log_path, entry(1))
    assert log_path.read_text() == "recorded_at,date,pain,exercises,day,note\n"


def test_torn_last_row_reported_kept_and_next_append_starts_fresh(log_path):
    append_entry(log_path, entry(1))
    append_entry(log_path, entry(2))
    with open(log_path, "a") as handle:  # a crash mid-write: no newline at the end
        handle.write("2026-11-03T20:00:00+00:00,2026-11-03,5,floor_rel")
    torn = log_path.read_bytes()
    log = read_log(log_path, strict=False)
    assert len(log.entries) == 2
    assert [p.line for p in log.problems] == [4]
    assert "unfinished last row" in log.problems[0].message
    with pytest.raises(LogFormatError, match=":4:"):
        read_log(log_path)

    append_entry(log_path, entry(4, pain=7))
    assert log_path.read_bytes().startswith(torn), "the torn row is kept as it was"
    log = read_log(log_path, strict=False)
    assert log.entries["pain"].tolist() == [4, 4, 7]
    assert [p.line for p in log.problems] == [4]


def test_torn_row_inside_a_quoted_note_does_not_swallow_the_next_append(log_path):
    append_entry(log_path, entry(1))
    with open(log_path, "a") as handle:
        handle.write('2026-11-02T20:00:00+00:00,2026-11-02,5,,routine,,"a note, with\nnewl')
    log = read_log(log_path, strict=False)
    assert [p.line for p in log.problems] == [3]
    append_entry(log_path, entry(3, pain=8, note="after the crash"))
    log = read_log(log_path, strict=False)
    assert log.entries["pain"].tolist() == [4, 8]
    assert log.entries["note"].tolist() == ["", "after the crash"]
    assert [p.line for p in log.problems] == [3]


def test_spreadsheet_resave_loads_equal(log_path, tmp_path):
    """What a spreadsheet does on re-save: BOM, CRLF, every field quoted, other order."""
    notes = ["=1+1", 'says "hi", ok', "two\nlines", "ünïcødé 🙂", "", "-3 better", "@x"]
    for day, note in enumerate(notes, start=1):
        append_entry(log_path, entry(day, pain=day % 11, note=note, where=("hips",)))
    original = read_log(log_path)
    order = ["note", "date", "day", "pain", "where", "exercises", "recorded_at"]
    text = pd.read_csv(log_path, dtype=str, keep_default_na=False)[order].to_csv(
        index=False, quoting=1, lineterminator="\r\n"
    )
    resaved = tmp_path / "resaved.csv"
    resaved.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert resaved.read_bytes().count(b"\r\n") >= len(notes) + 1
    again = read_log(resaved)
    columns = ["recorded_at", "date", "pain", "exercises", "day", "where", "note"]
    pd.testing.assert_frame_equal(again.entries[columns], original.entries[columns])
    assert again.entries["note"].tolist() == notes
    append_entry(resaved, entry(20, pain=2, note="appended after"))
    last = read_log(resaved).entries.iloc[-1]
    assert (last["pain"], last["note"]) == (2, "appended after")


def test_unknown_columns_kept_warned_and_filled_on_append(log_path):
    write(
        log_path,
        "recorded_at,date,mood,pain,exercises,day,where,note\n"
        "2026-11-01T20:00:00+00:00,2026-11-01,good,4,,routine,,\n",
    )
    append_entry(log_path, entry(2, pain=5))
    log = read_log(log_path)
    assert log.entries["mood"].tolist() == ["good", ""]
    assert log.entries["pain"].tolist() == [4, 5]
    assert any("unknown column 'mood' is kept" in w for w in log.warnings)


def test_undecodable_bytes_reported_at_line_and_column(log_path):
    write(
        log_path,
        HEADER.encode()
        + b"2026-11-01T20:00:00+00:00,2026-11-01,4,,routine,,ok\n"
        + b"2026-11-02T20:00:00+00:00,2026-11-02,4,,routine,,caf\xe9\n",
    )
    log = read_log(log_path, strict=False)
    assert [(p.line, p.column) for p in log.problems] == [(3, "note")]
    assert len(log.entries) == 1


def test_locked_log_refuses_and_writes_nothing(log_path):
    append_entry(log_path, entry(1))
    before = log_path.read_bytes()
    with FileLock(f"{log_path}.lock"), pytest.raises(LogLockedError, match="locked"):
        append_entry(log_path, entry(2), timeout=0.2)
    assert log_path.read_bytes() == before


def test_latest_per_date_and_history(log_path):
    append_entry(log_path, entry(1, pain=4, minute=0))
    append_entry(log_path, entry(2, pain=6, minute=0))
    append_entry(log_path, entry(1, pain=3, minute=30))  # a correction
    entries = read_log(log_path).entries
    latest = latest_per_date(entries)
    assert latest["pain"].tolist() == [3, 6]
    hist = history_for(entries, date(2026, 11, 1))
    assert hist["pain"].tolist() == [4, 3]


def test_same_recorded_at_tie_goes_to_the_later_line(log_path):
    append_entry(log_path, entry(1, pain=4))
    append_entry(log_path, entry(1, pain=5))
    assert latest_per_date(read_log(log_path).entries)["pain"].tolist() == [5]


def test_recorded_at_offsets_compared_in_utc(log_path):
    plus2 = timezone(timedelta(hours=2))
    append_entry(log_path, entry(1, pain=4))  # 20:00 UTC
    early = Entry(datetime(2026, 11, 1, 21, 30, tzinfo=plus2), date(2026, 11, 1), pain=9)
    append_entry(log_path, early)  # 19:30 UTC: earlier, although written later
    assert latest_per_date(read_log(log_path).entries)["pain"].tolist() == [4]


def test_exercise_table_long_format(log_path):
    append_entry(log_path, entry(1, exercises={"floor_relaxation": 5.0, "wall_squat": None}))
    append_entry(log_path, entry(2, exercises={}))
    table = exercise_table(read_log(log_path).entries)
    assert table["exercise"].tolist() == ["floor_relaxation", "wall_squat"]
    assert table["minutes"].iloc[0] == 5.0 and pd.isna(table["minutes"].iloc[1])


def test_unknown_exercise_ids_load_with_warning(log_path):
    append_entry(log_path, entry(1, exercises={"plank": 3.0}))
    log = read_log(log_path, known_exercises={"floor_relaxation"})
    assert len(log.entries) == 1
    assert any("'plank' is not in the current routine" in w for w in log.warnings)


def test_unknown_exercise_ids_are_warned_at_their_first_kept_line(log_path):
    """An id named only on a row left out for another reason is not warned about (that row
    is a problem, not kept); otherwise the warning names the first kept line naming it
    (it used to crash with StopIteration on the first, found by differential fuzzing)."""
    append_entry(log_path, entry(1, exercises={"plank": 3.0}))  # line 2: bad pain below
    append_entry(log_path, entry(2, exercises={"bridge": 1.0, "plank": 2.0}))  # line 3
    append_entry(log_path, entry(3, exercises={"plank": 3.0}))  # line 4, same text as line 2
    lines = log_path.read_text(encoding="utf-8").splitlines(keepends=True)
    fields = lines[1].split(",")
    fields[2] = "11"
    write(log_path, "".join([lines[0], ",".join(fields), *lines[2:]]))
    log = read_log(log_path, strict=False, known_exercises={"floor_relaxation", "bridge"})
    assert [(p.line, p.column) for p in log.problems] == [(2, "pain")]
    assert log.entries["line"].tolist() == [3, 4]
    named = [w for w in log.warnings if "is not in the current routine" in w]
    assert named == [
        f"{log_path}:3:exercises: 'plank' is not in the current routine; the rows are kept "
        "and the exercise is not counted in adherence"
    ]
    append_entry(log_path, entry(4, exercises={"yoga": 1.0}))
    text = log_path.read_text(encoding="utf-8")
    write(log_path, text.replace(",yoga=1,", ",yoga=1,holiday"))  # its day is refused
    only_bad = read_log(log_path, strict=False, known_exercises={"floor_relaxation", "plank"})
    assert [(p.line, p.column) for p in only_bad.problems] == [(2, "pain"), (5, "day")]
    assert not any("'yoga'" in w for w in only_bad.warnings)


def test_log_readable_by_others_is_warned(log_path):
    append_entry(log_path, entry(1))
    os.chmod(log_path, 0o644)
    assert any("readable by others" in w for w in read_log(log_path).warnings)


def test_resolve_log_path(monkeypatch):
    monkeypatch.delenv("BACKTRACK_CSV", raising=False)
    assert str(resolve_log_path()) == "data/backtrack.csv"
    monkeypatch.setenv("BACKTRACK_CSV", "/tmp/x.csv")
    assert str(resolve_log_path()) == "/tmp/x.csv"
    assert str(resolve_log_path("mine.csv")) == "mine.csv"


def test_empty_file_is_an_empty_log(log_path):
    write(log_path, "")
    assert read_log(log_path).entries.empty
    append_row(log_path, entry(1).to_row())
    assert log_path.read_text().startswith(HEADER)


def test_row_torn_inside_the_note_never_loads_as_a_shorter_note(log_path):
    """Our writer always quotes a note, so a save cut anywhere inside it is torn."""
    append_entry(log_path, entry(1))
    append_entry(log_path, entry(2, pain=5, note="Slept badly after the long drive"))
    data = log_path.read_bytes()
    log_path.write_bytes(data[: data.index(b"Slept bad") + len("Slept bad")])
    append_entry(log_path, entry(3, pain=8))
    log = read_log(log_path, strict=False)
    assert log.entries["pain"].tolist() == [4, 8]
    assert [(p.line, "unfinished" in p.message) for p in log.problems] == [(3, True)]
    assert "Slept bad" in log_path.read_text()


def test_a_complete_last_row_without_a_final_newline_is_a_row(log_path):
    """Many editors and exporters end a file without a newline (issue 11, defect 3)."""
    write(log_path, HEADER + "2026-11-02T20:00:00+00:00,2026-11-02,5,,routine,,Slept bad")
    append_entry(log_path, entry(3, pain=8))
    log = read_log(log_path)
    assert log.entries["pain"].tolist() == [5, 8]
    assert log.entries["note"].tolist() == ["Slept bad", ""]


def test_a_stray_comma_in_the_header_is_named_by_position(log_path):
    """Found by hypothesis: a header with an empty column name still names each problem."""
    header = "recorded_at,date,pain,exercises,day,where,note,\n"  # a trailing comma
    write(log_path, header + "2026-11-01T20:00:00+00:00,2026-11-01,4,,routine,,\n")
    log = read_log(log_path, strict=False)
    assert [str(p) for p in log.problems] == [f"{log_path}:2:#8: expected 8 fields, found 7"]
    assert any(":1:#8: unknown column ''" in w for w in log.warnings)
