"""A save that was not confirmed never becomes a row, at any byte of any last record (issue 23).

The tear is made at every byte offset of the last save's record, for every kind of
record (every field filled, a note with quotes, commas, CRLF and newlines, an empty
note, a rest day, a formula-guarded note, a withdrawn day, non-ASCII text), in two ways:

- ``crash``: the process died inside the write, so ``<log>.appended`` still notes the save
  before (what a real crash leaves);
- ``cut``: the file was cut back after the save was confirmed (``truncate -s -N``, what
  the attack did), so the note names a save the file no longer holds whole.

Each time: the torn record is not a row and is named by one problem at its line; the
day keeps its last confirmed save; the next save goes through the real command (in
process, :func:`backtrack.cli.main`) and is visible; the torn bytes stay in the file.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from backtrack import store
from backtrack.cli import main
from backtrack.store import APPENDED_SUFFIX, TORN_MARKER, read_log

FIRST = ["log", "--date", "2026-12-01", "--pain", "2", "--where", "lower_back"]
NEXT = ["log", "--date", "2026-12-02", "--pain", "3"]
LAST_SAVES = {
    "every_field": [
        "--pain", "9", "--day", "flare", "--where", "lower_back,hips",
        "--done", "floor_relaxation,hip_stretch=1.5",
        "--note", 'say "hi", ok\r\nline two\nthree ""',
    ],
    "empty_note": ["--pain", "4", "--done", "all", "--where", "lower_back"],
    "rest_day": ["--day", "rest"],
    "formula_note": ["--pain", "0", "--note", "=SUM(A1:A3)"],
    "unicode_note": ["--pain", "5", "--note", 'é ✓ 日本語, "q"\r'],
    "withdrawn": ["--void"],
}  # fmt: skip


def _in_place(path: Path, data: bytes) -> None:
    """Write ``data`` over the file without changing its identity (as a crash or
    ``truncate`` leaves it: the same inode)."""
    with open(path, "r+b") as handle:
        handle.write(data)
        handle.truncate(len(data))


def _cli(*argv: str) -> int:
    return main(list(argv))


class Killed(BaseException):
    """The process died (nothing after this point runs: no undo, no note)."""


def _dies_inside_its_write(monkeypatch, keep: int, *argv: str) -> None:
    """Run the command, which dies after ``keep`` bytes of the log's write reach the file."""
    real_write = os.write

    def write(fd: int, data: bytes) -> int:
        real_write(fd, data[:keep])
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(store.os, "write", write)
        with pytest.raises(Killed):
            _cli(*argv)


def _day_states(path: Path) -> dict[str, tuple[str, int]]:
    log = read_log(path, strict=False)
    latest = log.entries.sort_values("recorded_at").groupby(log.entries["date"].dt.date).last()
    return {str(day): (row.day, int(row.pain)) for day, row in latest.iterrows()}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """For each kind: the log and its note before the last save, the command of the last
    save, its record and the note after it."""
    made = {}
    for kind, fields in LAST_SAVES.items():
        path = tmp_path_factory.mktemp(kind) / "log.csv"
        assert _cli(*FIRST, "--csv", str(path)) == 0
        before = path.read_bytes()
        note_before = Path(f"{path}{APPENDED_SUFFIX}").read_bytes()
        extra = [] if kind == "withdrawn" else ["--replace"]
        command = ["log", "--date", "2026-12-01", *fields, *extra, "--csv", str(path)]
        assert _cli(*command) == 0
        record = path.read_bytes()[len(before) :]
        note_after = Path(f"{path}{APPENDED_SUFFIX}").read_bytes()
        made[kind] = (path, before, note_before, command, record, note_after)
    return made


def _confirmed_first(log) -> None:
    """Only the first save of 1 Dec loads, as itself."""
    rows = log.entries[log.entries["date"].dt.strftime("%Y-%m-%d") == "2026-12-01"]
    assert len(rows) == 1, rows
    assert int(rows["pain"].iloc[0]) == 2 and rows["day"].iloc[0] == "routine"
    assert rows["where"].iloc[0] == "lower_back" and rows["note"].iloc[0] == ""


@pytest.mark.parametrize("model", ["crash", "cut"])
@pytest.mark.parametrize("kind", list(LAST_SAVES))
def test_a_save_torn_at_any_byte_never_becomes_a_row(saved, monkeypatch, kind, model):
    path, before, note_before, command, record, note_after = saved[kind]
    note = Path(f"{path}{APPENDED_SUFFIX}")
    torn_line = before.count(b"\n") + 1  # our records end in \n; the torn one starts here
    for keep in range(1, len(record)):
        if model == "crash":  # the save dies inside its write
            _in_place(path, before)
            _in_place(note, note_before)
            _dies_inside_its_write(monkeypatch, keep, *command)
        else:  # the confirmed save is cut back afterwards
            _in_place(path, before + record)
            _in_place(note, note_after)
            os.truncate(path, len(before) + keep)
            if keep == len(record) - 1:
                continue  # only its final newline gone: still whole (the test below)
        torn = path.read_bytes()
        assert len(torn) == len(before) + keep
        where = (
            f"{kind} {model}: torn after {keep} of {len(record)} bytes: {torn[len(before) :]!r}"
        )

        log = read_log(path, strict=False)  # before any other save
        assert len(log.entries) == 1, where
        _confirmed_first(log)
        assert [p.line for p in log.problems] == [torn_line], (where, log.problems)

        assert _cli(*NEXT, "--csv", str(path)) == 0, where
        data = path.read_bytes()
        assert data.startswith(torn), where  # the torn bytes are kept as they were
        log = read_log(path, strict=False)
        assert len(log.entries) == 2, (where, log.entries, data[len(before) :])
        _confirmed_first(log)
        last = log.entries.iloc[-1]
        assert (last["date"].strftime("%Y-%m-%d"), int(last["pain"])) == ("2026-12-02", 3)
        assert [p.line for p in log.problems] == [torn_line], (where, log.problems)


@pytest.mark.parametrize("kind", list(LAST_SAVES))
def test_the_whole_record_and_no_record_are_not_tears(saved, kind):
    """The edges of the walk: nothing of the save written (the log as before) and all of
    it written (the save itself) load with no problem."""
    path, before, note_before, command, record, note_after = saved[kind]
    note = Path(f"{path}{APPENDED_SUFFIX}")
    for data, sidecar, rows in ((before, note_before, 1), (before + record, note_after, 2)):
        _in_place(path, data)
        _in_place(note, sidecar)
        log = read_log(path, strict=False)
        assert log.problems == [] and len(log.entries) == rows


def test_a_confirmed_save_that_lost_only_its_final_newline_is_still_itself(saved):
    """An editor that drops the final newline (in place) leaves the confirmed save whole:
    it loads, and the next save starts a line of its own after it."""
    for path, before, _, _, record, note_after in saved.values():
        _in_place(path, before + record[:-1])
        _in_place(Path(f"{path}{APPENDED_SUFFIX}"), note_after)
        log = read_log(path, strict=False)
        assert log.problems == [] and len(log.entries) == 2
        assert _cli(*NEXT, "--csv", str(path)) == 0
        log = read_log(path, strict=False)
        assert log.problems == [] and len(log.entries) == 3
        assert path.read_bytes().startswith(before + record)


def test_a_first_save_torn_anywhere_leaves_a_log_that_takes_the_next(tmp_path, monkeypatch):
    """The first save writes the header and the row at once: torn inside the header, it
    leaves an empty log (no row, nothing that blocks logging) and the next save completes
    the header; torn inside the row, the row is a torn one at line 2."""
    path = tmp_path / "log.csv"
    assert _cli(*FIRST, "--csv", str(path)) == 0
    length = path.stat().st_size
    header_end = path.read_bytes().index(b"\n") + 1
    note = Path(f"{path}{APPENDED_SUFFIX}")
    for keep in range(1, length):
        path.unlink()
        note.unlink()
        _dies_inside_its_write(monkeypatch, keep, *FIRST, "--csv", str(path))
        torn = path.read_bytes()
        log = read_log(path, strict=False)
        assert len(log.entries) == 0, keep
        expected = [2] if keep > header_end else []
        assert [p.line for p in log.problems] == expected, (keep, torn, log.problems)
        assert _cli(*NEXT, "--csv", str(path)) == 0, keep
        log = read_log(path, strict=False)
        assert len(log.entries) == 1, (keep, path.read_bytes())
        assert [p.line for p in log.problems] == expected, (keep, log.problems)
        assert path.read_bytes().startswith(torn)


def test_a_hand_edited_file_without_a_final_newline_still_loads(tmp_path):
    """Rows a person typed (no note of ours, or a file saved anew by an editor or a
    spreadsheet: another file) load as today, final newline or not."""
    path = tmp_path / "log.csv"
    assert _cli(*FIRST, "--csv", str(path)) == 0
    typed = b"2026-12-02T20:00:00+01:00,2026-12-02,6,,routine,,typed by hand"
    resaved = path.read_bytes() + typed
    replacement = tmp_path / "new.csv"
    replacement.write_bytes(resaved)
    os.replace(replacement, path)  # an editor's save: a new file at the log's path
    log = read_log(path, strict=False)
    assert log.problems == [] and list(log.entries["note"]) == ["", "typed by hand"]
    Path(f"{path}{APPENDED_SUFFIX}").unlink()  # a copy of the log without our note
    path.write_bytes(resaved)
    log = read_log(path, strict=False)
    assert log.problems == [] and list(log.entries["note"]) == ["", "typed by hand"]


def test_the_torn_marker_closes_a_row_of_full_width_too(tmp_path):
    """A row whose last field is the marker is torn whatever its width (the attack: a
    six-field fragment plus the marker made seven fields and passed)."""
    path = tmp_path / "log.csv"
    assert _cli(*FIRST, "--csv", str(path)) == 0
    data = path.read_bytes()
    fragment = b'2026-12-01T21:00:00.000+01:00,2026-12-01,9,,flare,lower_back;h,"' + (
        TORN_MARKER.encode() + b'"\n'
    )
    path.write_bytes(data + fragment)
    log = read_log(path, strict=False)
    assert len(log.entries) == 1 and [p.line for p in log.problems] == [3]


def test_a_note_that_is_the_marker_is_refused(tmp_path, capsys):
    path = tmp_path / "log.csv"
    assert _cli(*FIRST, "--csv", str(path)) == 0
    before = path.read_bytes()
    assert _cli(*NEXT, "--note", TORN_MARKER, "--csv", str(path)) == 2
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("second", "cut"),
    [
        (["--pain", "9", "--day", "flare", "--where", "lower_back,hips", "--replace"], 5),
        (["--pain", "9", "--note", 'say "hi" ok', "--replace"], 10),
        (["--pain", "9", "--where", "lower_back", "--replace"], 2),
    ],
)
def test_the_attack_through_the_command(tmp_path, second, cut):
    """The issue's reproduction, as a person runs it: separate processes, `truncate`."""
    path = tmp_path / "l.csv"

    def backtrack(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "backtrack", *argv, "--csv", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )

    assert backtrack(*FIRST).returncode == 0
    assert backtrack("log", "--date", "2026-12-01", *second).returncode == 0
    os.truncate(path, path.stat().st_size - cut)
    assert backtrack(*NEXT).returncode == 0
    done = backtrack("validate")
    assert done.returncode == 1 and "no problems" not in done.stdout, done.stdout
    states = _day_states(path)
    assert states["2026-12-01"] == ("routine", 2)
    assert states["2026-12-02"] == ("routine", 3)
