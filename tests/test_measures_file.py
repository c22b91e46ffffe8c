"""The measures file beside the log (issue 28 item 2): the command's round trip, the
daily log untouched, corrections and void, 0600, validation at file:line:column, a torn
last record at every byte never read as an answer (as tests/test_store_tear.py does for
the log), and no output command replacing it."""

from __future__ import annotations

import csv
import io
import os
import stat
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backtrack import store
from backtrack.actions import save_answers, void_answers
from backtrack.cli import main
from backtrack.demo import write_demo
from backtrack.errors import FieldError, InputError
from backtrack.measures import Answers
from backtrack.measures_file import (
    COLUMNS,
    answers_row,
    current_answers,
    measures_path,
    parse_measures_bytes,
    read_measures,
)
from backtrack.outputs import kept_files
from backtrack.schema import csv_line
from backtrack.store import APPENDED_SUFFIX, LOCK_SUFFIX, read_log

TODAY = date.today()
HEADER = csv_line(list(COLUMNS))


def _cli(*argv: str) -> int:
    return main(list(argv))


def _current(path: Path) -> dict[tuple[str, str], tuple[object, ...]]:
    return {
        (a.date.isoformat(), a.measure): (a.values, a.activities)
        for a in current_answers(read_measures(path))
    }


def test_the_command_saves_the_day_to_the_log_and_the_answers_beside_it(tmp_path, capsys):
    log = tmp_path / "data" / "backtrack.csv"
    argv = ["log", "--csv", str(log), "--pain", "3", "--done", "all", "--peg", "6,5,7"]
    argv += ["--psfs", "walk the dog=4,sit through a film=3", "--pgic", "2"]
    assert _cli(*argv) == 0
    out = capsys.readouterr().out
    assert "score 6.00" in out and "score 3.50" in out and "2 (much improved)" in out
    measures = tmp_path / "data" / "backtrack.measures.csv"
    assert measures_path(log) == measures
    assert _current(measures) == {
        (TODAY.isoformat(), "peg"): ((6, 5, 7), ()),
        (TODAY.isoformat(), "psfs"): ((4, 3), ("walk the dog", "sit through a film")),
        (TODAY.isoformat(), "pgic"): ((2,), ()),
    }
    entries = read_log(log).entries
    assert len(entries) == 1 and int(entries["pain"].iloc[0]) == 3
    assert list(entries.columns) == ["line", *store.COLUMNS]  # the log's columns, unchanged
    for path in (measures, Path(f"{measures}{LOCK_SUFFIX}"), Path(f"{measures}{APPENDED_SUFFIX}")):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
    assert read_measures(measures).problems == [] and read_measures(measures).warnings == []


def test_answers_alone_write_no_daily_row(tmp_path):
    log = tmp_path / "backtrack.csv"
    assert _cli("log", "--csv", str(log), "--date", "yesterday", "--peg", "6,,7") == 0
    assert not log.exists()
    yesterday = (TODAY - timedelta(days=1)).isoformat()
    assert _current(measures_path(log)) == {(yesterday, "peg"): ((6, None, 7), ())}


@pytest.mark.parametrize(
    "bad",
    [
        ["--peg", "6,5"],
        ["--peg", "6,5,11"],
        ["--psfs", "walk the dog"],
        ["--pgic", "8"],
        ["--peg", "6,5,7", "--pgic", "0"],  # a good set beside a bad one: nothing either
        ["--peg", "6,5,7", "--date", "2199-12-31"],  # a date after today
    ],
)
def test_bad_answers_write_nothing_anywhere(tmp_path, capsys, bad):
    log = tmp_path / "backtrack.csv"
    assert _cli("log", "--csv", str(log), "--pain", "2", "--psfs", "lift=5") == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    capsys.readouterr()
    assert _cli("log", "--csv", str(log), "--pain", "3", *bad) == 2
    err = capsys.readouterr().err
    assert "expected" in err and "found" in err, err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    fresh = tmp_path / "fresh" / "backtrack.csv"
    assert _cli("log", "--csv", str(fresh), "--pain", "3", *bad) == 2
    assert not fresh.parent.exists()


def test_a_correction_is_a_later_row_and_void_withdraws(tmp_path, capsys):
    log = tmp_path / "backtrack.csv"
    day = TODAY.isoformat()
    assert _cli("log", "--csv", str(log), "--peg", "6,5,7") == 0
    assert _cli("log", "--csv", str(log), "--peg", "4,4,4") == 0  # corrected
    assert _current(measures_path(log)) == {(day, "peg"): ((4, 4, 4), ())}
    assert _cli("log", "--csv", str(log), "--void-measure", "peg") == 0
    assert _current(measures_path(log)) == {}
    assert _cli("log", "--csv", str(log), "--void-measure", "peg") == 2  # nothing to withdraw
    assert "expected a date with peg answers to withdraw" in capsys.readouterr().err
    assert _cli("log", "--csv", str(log), "--peg", "3,3,3") == 0  # answered again
    assert _current(measures_path(log)) == {(day, "peg"): ((3, 3, 3), ())}
    rows = read_measures(measures_path(log)).rows
    assert [r.status for r in rows] == ["answered", "answered", "void", "answered"]
    assert [r.line for r in rows] == [2, 3, 4, 5]  # every row is kept as history


def test_a_void_of_a_measure_leaves_the_others(tmp_path):
    now = datetime(2026, 12, 7, 20, 0, tzinfo=datetime.now().astimezone().tzinfo)
    save_answers(tmp_path / "b.csv", peg="1,2,3", pgic="4", now=now)
    void_answers(tmp_path / "b.csv", measure="pgic", day=now.date(), now=now)
    assert _current(tmp_path / "b.measures.csv") == {("2026-12-07", "peg"): ((1, 2, 3), ())}
    with pytest.raises(InputError, match="measure: expected one of peg, psfs, pgic"):
        void_answers(tmp_path / "b.csv", measure="odi", day=now.date(), now=now)


def test_a_v1_log_reads_unchanged_beside_a_measures_file(tmp_path):
    log = tmp_path / "backtrack.csv"
    write_demo(log, days=60, seed=3, end=TODAY - timedelta(days=1))
    data = log.read_bytes()
    alone = read_log(log)
    assert _cli("log", "--csv", str(log), "--peg", "5,5,5", "--pgic", "3") == 0
    assert _cli("log", "--csv", str(log), "--psfs", "garden=6") == 0
    beside = read_log(log)
    assert log.read_bytes() == data
    assert beside.entries.equals(alone.entries)
    assert (beside.problems, beside.warnings) == (alone.problems, alone.warnings)
    assert len(current_answers(read_measures(measures_path(log)))) == 3


def test_hand_edited_rows_are_reported_at_line_and_column(tmp_path):
    path = tmp_path / "b.measures.csv"
    good = "2026-12-01T08:00:00.000+00:00,2026-12-01,peg,answered,6,5,7,,,,,,,\n"
    rows = [
        "2026-12-02T08:00:00.000+00:00,2026-12-02,peg,answered,6,11,7,,,,,,,\n",
        "2026-12-02T08:00:00.000+00:00,2026-12-02,odi,answered,6,,,,,,,,,\n",
        "2026-12-02T08:00:00.000+00:00,2026-12-02,pgic,answered,9,,,,,,,,,\n",
        "2026-12-02T08:00:00.000+00:00,2026-12-02,psfs,answered,4,,,,,,,,,\n",
        "2026-12-02T08:00:00.000+00:00,2026-12-02,pgic,void,3,,,,,,,,,\n",
        "2026-12-02T08:00:00.000+00:00,2026-12-03,pgic,answered,3,,,,,,,,,\n",
        "2026-12-02T08:00:00.000+00:00,2026-12-02,peg,answered,6,5,7\n",
        "2199-01-01T08:00:00.000+00:00,2026-12-02,peg,answered,6,5,7,,,,,,,\n",  # a wrong clock
    ]
    path.write_text(HEADER + good + "".join(rows))
    os.chmod(path, 0o644)
    found = read_measures(path)
    assert [str(p).split(": expected")[0] for p in found.problems] == [
        f"{path}:3:value_2",
        f"{path}:4:measure",
        f"{path}:5:value_1",
        f"{path}:6:activity_1",
        f"{path}:7:value_1",
        f"{path}:8:date",
        f"{path}:9:value_4",
        f"{path}:10:recorded_at",
    ]
    assert "expected an integer 0-10 or empty (peg), found '11'" in str(found.problems[0])
    assert len(found.rows) == 1 and found.rows[0].answers.values == (6, 5, 7)
    assert any("chmod 600" in w for w in found.warnings)


@settings(max_examples=40, deadline=None)
@given(names=st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=5, unique=True))
def test_any_activity_name_round_trips_exactly_or_is_refused(tmp_path_factory, names):
    path = tmp_path_factory.mktemp("names") / "b.csv"
    now = datetime.now().astimezone()
    pairs = [(name, index) for index, name in enumerate(names)]
    try:
        saved = save_answers(path, psfs=pairs, now=now)
    except FieldError as exc:
        assert exc.field.startswith("psfs") and not path.with_name("b.measures.csv").exists()
        return
    (one,) = saved.answers
    assert all(a == b.strip() for a, b in zip(one.activities, names, strict=True))
    loaded = read_measures(path.with_name("b.measures.csv"))
    assert loaded.problems == [] and [r.answers for r in loaded.rows] == [one]


# -------------------------------------------------------------------- torn last rows

FIRST = ["log", "--date", "2026-12-01", "--peg", "2,2,2"]
NEXT = ["log", "--date", "2026-12-02", "--pgic", "3"]
LAST_SAVES = {
    "peg": ["--peg", "9,8,10"],
    "psfs": ["--psfs", 'say "hi" ok=4,é ✓ 日本語=10,=SUM(A1)=,walk=0'],
    "pgic": ["--pgic", "7"],
    "void": ["--void-measure", "peg"],
}


class Killed(BaseException):
    """The process died (nothing after this point runs: no undo, no note)."""


def _in_place(path: Path, data: bytes) -> None:
    with open(path, "r+b") as handle:
        handle.write(data)
        handle.truncate(len(data))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    made = {}
    for kind, fields in LAST_SAVES.items():
        log = tmp_path_factory.mktemp(kind) / "log.csv"
        path = measures_path(log)
        assert _cli(*FIRST, "--csv", str(log)) == 0
        before, note_before = path.read_bytes(), Path(f"{path}{APPENDED_SUFFIX}").read_bytes()
        command = ["log", "--date", "2026-12-01", *fields, "--csv", str(log)]
        assert _cli(*command) == 0
        record = path.read_bytes()[len(before) :]
        made[kind] = (log, before, note_before, command, record)
    return made


@pytest.mark.parametrize("model", ["crash", "cut"])
@pytest.mark.parametrize("kind", list(LAST_SAVES))
def test_a_torn_last_record_is_never_read_as_an_answer(saved, monkeypatch, kind, model):
    log, before, note_before, command, record = saved[kind]
    path = measures_path(log)
    note = Path(f"{path}{APPENDED_SUFFIX}")
    note_after = None
    torn_line = before.count(b"\n") + 1
    real_write = os.write
    for keep in range(1, len(record)):
        _in_place(path, before)
        _in_place(note, note_before)
        if model == "crash":

            def write(fd: int, data: bytes, keep: int = keep) -> int:
                real_write(fd, data[:keep])
                raise Killed

            with monkeypatch.context() as patch:
                patch.setattr(store.os, "write", write)
                with pytest.raises(Killed):
                    _cli(*command)
        else:
            if note_after is None:
                assert _cli(*command) == 0
                note_after = note.read_bytes()
            _in_place(path, before + record)
            _in_place(note, note_after)
            os.truncate(path, len(before) + keep)
            if keep == len(record) - 1:
                continue  # only its final newline gone: still whole
        where = f"{kind} {model}: {keep} of {len(record)} bytes"
        found = read_measures(path)
        assert _current(path) == {("2026-12-01", "peg"): ((2, 2, 2), ())}, where
        assert [p.line for p in found.problems] == [torn_line], (where, found.problems)
        if keep % 7 and keep != len(record) - 2:
            continue  # the next save after a tear: every 7th byte, and the closing quote
        torn = path.read_bytes()
        assert _cli(*NEXT, "--csv", str(log)) == 0, where
        assert path.read_bytes().startswith(torn), where
        assert _current(path) == {
            ("2026-12-01", "peg"): ((2, 2, 2), ()),
            ("2026-12-02", "pgic"): ((3,), ()),
        }, where
        assert [p.line for p in read_measures(path).problems] == [torn_line], where


@pytest.mark.parametrize("kind", list(LAST_SAVES))
def test_the_whole_record_is_its_answers(saved, kind):
    log, before, note_before, command, record = saved[kind]
    found = parse_measures_bytes(before + record, "m.csv")
    assert found.problems == [] and len(found.rows) == 2
    expected = {
        "peg": (9, 8, 10),
        "psfs": (4, 10, None, 0),
        "pgic": (7,),
        "void": (),
    }[kind]
    assert found.rows[1].answers.values == expected
    if kind == "psfs":
        assert found.rows[1].answers.activities == (
            'say "hi" ok',
            "é ✓ 日本語",
            "=SUM(A1)",
            "walk",
        )
        assert b'"\'=SUM(A1)"' in record  # a spreadsheet shows it as text


# ------------------------------------------------------------------ no output over it


def test_the_measures_file_and_its_companions_are_kept(tmp_path):
    log = tmp_path / "backtrack.csv"
    kept = kept_files(log)
    measures = tmp_path / "backtrack.measures.csv"
    assert kept[measures] == "the measures file"
    assert {Path(f"{measures}{LOCK_SUFFIX}"), Path(f"{measures}{APPENDED_SUFFIX}")} <= set(kept)


@pytest.mark.parametrize(
    "argv",
    [
        ["demo", "--days", "10", "-o", "{out}"],
        ["repair", "{log}", "-o", "{out}"],
        ["export", "--fhir", "--no-subject", "--csv", "{log}", "-o", "{out}", "--force"],
        ["remind", "--ics", "--csv", "{log}", "-o", "{out}", "--force"],
    ],
    ids=lambda argv: argv[0],
)
def test_no_output_command_overwrites_the_measures_file(tmp_path, monkeypatch, capsys, argv):
    log = tmp_path / "backtrack.csv"
    monkeypatch.setenv("BACKTRACK_CSV", str(log))
    assert _cli("log", "--csv", str(log), "--pain", "3", "--peg", "6,5,7") == 0
    measures = measures_path(log)
    for out in (measures, Path(f"{measures}{LOCK_SUFFIX}"), Path(f"{measures}{APPENDED_SUFFIX}")):
        before = out.read_bytes()
        capsys.readouterr()
        assert _cli(*[a.format(log=log, out=out) for a in argv]) == 2
        assert "the measures file" in capsys.readouterr().err
        assert out.read_bytes() == before


def test_answers_refuse_a_row_that_would_load_as_something_else():
    with pytest.raises(FieldError, match="value_1"):
        answers_row(Answers("pgic", TODAY, (9,)), datetime.now().astimezone())


def test_validate_checks_the_measures_file_too(tmp_path, capsys):
    log = tmp_path / "backtrack.csv"
    assert _cli("log", "--csv", str(log), "--pain", "3", "--pgic", "4") == 0
    capsys.readouterr()
    assert _cli("validate", "--csv", str(log)) == 0
    assert "1 rows, 1 current answer sets, no problems" in capsys.readouterr().out
    with open(measures_path(log), "a", encoding="utf-8") as handle:
        handle.write("2026-12-01T08:00:00.000+00:00,2026-12-01,pgic,answered,0,,,,,,,,,\n")
    assert _cli("validate", "--csv", str(log)) == 1
    assert f"{measures_path(log)}:3:value_1: expected an integer 1-7" in capsys.readouterr().out


def test_a_first_save_torn_anywhere_leaves_a_file_that_takes_the_next(tmp_path, monkeypatch):
    """The first save writes the header and the row at once: torn anywhere, nothing is
    an answer, and the next save completes the file."""
    log = tmp_path / "log.csv"
    path = measures_path(log)
    assert _cli(*FIRST, "--csv", str(log)) == 0
    length = path.stat().st_size
    header_end = path.read_bytes().index(b"\n") + 1
    real_write = os.write
    for keep in range(1, length, 3):
        path.unlink()
        Path(f"{path}{APPENDED_SUFFIX}").unlink()

        def write(fd: int, data: bytes, keep: int = keep) -> int:
            real_write(fd, data[:keep])
            raise Killed

        with monkeypatch.context() as patch:
            patch.setattr(store.os, "write", write)
            with pytest.raises(Killed):
                _cli(*FIRST, "--csv", str(log))
        assert _current(path) == {}, keep
        expected = [2] if keep > header_end else []
        assert [p.line for p in read_measures(path).problems] == expected, keep
        assert _cli(*NEXT, "--csv", str(log)) == 0, keep
        assert _current(path) == {("2026-12-02", "pgic"): ((3,), ())}, (keep, path.read_bytes())


def test_a_psfs_activity_that_is_the_torn_marker_is_refused_before_any_write(tmp_path):
    with pytest.raises(FieldError, match="psfs.activity"):
        save_answers(tmp_path / "b.csv", peg="1,1,1", psfs=[(store.TORN_MARKER, 3)])
    assert list(tmp_path.iterdir()) == []


def test_a_spreadsheet_re_save_reads_the_same_answers_and_takes_the_next(tmp_path):
    """BOM, CRLF, every field quoted, columns in another order: as the log allows."""
    log = tmp_path / "b.csv"
    path = measures_path(log)
    assert _cli("log", "--csv", str(log), "--date", "2026-12-01", "--peg", "6,5,7") == 0
    assert _cli("log", "--csv", str(log), "--date", "2026-12-01", "--psfs", "=lift=2,walk=") == 0
    before = _current(path)
    rows = list(csv.reader(io.StringIO(path.read_text("utf-8"), newline="")))
    order = list(reversed(range(len(rows[0]))))
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerows([[row[i] for i in order] for row in rows])
    path.write_bytes(b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8"))
    assert _current(path) == before and read_measures(path).problems == []
    assert _cli("log", "--csv", str(log), "--date", "2026-12-02", "--pgic", "4") == 0
    assert _current(path) == {**before, ("2026-12-02", "pgic"): ((4,), ())}
    assert read_measures(path).problems == []
