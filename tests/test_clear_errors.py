"""Issue 23 items 4 and 5: every refusal is one clear sentence and exit 2 (a closed pipe
a quiet exit), never a traceback; every user file is read with a bound, and only when it
is a regular file (a FIFO never blocks). Through the real command in a subprocess."""

from __future__ import annotations

import io
import os
import resource
import socket
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure
from pypdf import PdfReader

from backtrack import plots
from backtrack._files import LOG_LIMIT, SETTINGS_LIMIT, read_user_file
from backtrack.cli import CLOSED_PIPE
from backtrack.demo import write_demo
from backtrack.errors import TrialPlanError, UserFileError
from backtrack.schema import MAX_DATE, MIN_DATE
from backtrack.trial import MAX_PAIRS, plan_toml, plan_trial

HANG_GUARD = 120  # seconds: only so that a hang fails the test instead of the whole run
MEMORY_GUARD = 2 * 1024**3  # bytes of address space: an unbounded read fails, not the machine


def _guard_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_GUARD, MEMORY_GUARD))


def backtrack(*args: str, cwd: Path, stdout: int | None = subprocess.PIPE) -> tuple[int, str]:
    """Run ``python -m backtrack ARGS``; returns (exit code, stderr)."""
    done = subprocess.run(
        [sys.executable, "-m", "backtrack", *args],
        cwd=cwd,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=HANG_GUARD,
        preexec_fn=_guard_memory,
        env={**os.environ, "BACKTRACK_CSV": "", "BACKTRACK_ROUTINE": ""},
    )
    return done.returncode, done.stderr


def refused(code: int, err: str, command: str, *fragments: str) -> None:
    """Exit 2, one line on stderr (``backtrack COMMAND: ...``) holding ``fragments``."""
    assert "Traceback" not in err, err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"backtrack {command}: "), err
    for fragment in fragments:
        assert fragment in lines[0], err


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return write_demo(tmp_path / "log.csv", days=40, seed=3, end=date(2026, 3, 1))


# ----------------------------------------------------------------------------- one reader


def _special(tmp_path: Path, kind: str) -> Path:
    if kind == "folder":
        path = tmp_path / "folder.csv"
        path.mkdir()
    elif kind == "FIFO":
        path = tmp_path / "fifo.csv"
        os.mkfifo(path)
    elif kind == "character device":
        path = Path("/dev/null")
    else:  # socket
        path = tmp_path / "s.csv"
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
        server.close()
    return path


KINDS = {
    "folder": "a folder",
    "FIFO": "a FIFO (named pipe)",
    "character device": "a character device",
    "socket": "a socket",
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_anything_but_a_regular_file_is_refused_without_blocking(tmp_path, kind):
    path = _special(tmp_path, kind)
    with pytest.raises(UserFileError) as caught:
        read_user_file(path, limit=100, what="a log (CSV)")
    message = str(caught.value)
    assert message.startswith(f"{path}: expected a log (CSV): a regular file of at most")
    assert message.endswith(f"found {KINDS[kind]}; nothing was read")


@settings(max_examples=60, deadline=None)
@given(size=st.integers(0, 40), limit=st.integers(0, 40))
def test_a_regular_file_is_read_whole_up_to_the_bound_and_refused_beyond(
    tmp_path_factory, size, limit
):
    path = tmp_path_factory.mktemp("bound") / "f"
    data = bytes(range(size))
    path.write_bytes(data)
    if size <= limit:
        assert read_user_file(path, limit=limit, what="x") == data
    else:
        with pytest.raises(UserFileError, match=f"found {size} bytes"):
            read_user_file(path, limit=limit, what="x")


def test_the_bounds_are_stated_in_the_error(tmp_path):
    for limit, text in ((LOG_LIMIT, "256 MiB"), (SETTINGS_LIMIT, "1 MiB"), (10, "10 bytes")):
        with pytest.raises(UserFileError, match=text):
            read_user_file(tmp_path, limit=limit, what="x")


def test_a_missing_file_is_the_usual_error_naming_it(tmp_path):
    with pytest.raises(FileNotFoundError) as caught:
        read_user_file(tmp_path / "nowhere.csv", limit=10, what="x")
    assert caught.value.filename == str(tmp_path / "nowhere.csv")


# ----------------------------------------------------------------------------- item 5 via the CLI


@pytest.mark.parametrize("csv", ["/", ".", "//"])
def test_log_into_a_folder_is_one_sentence(tmp_path, csv):
    code, err = backtrack("log", "--pain", "3", "--csv", csv, cwd=tmp_path)
    refused(code, err, "log", f"{csv}: expected a log (CSV)", "found a folder")


@pytest.mark.parametrize(
    "command", [["log", "--pain", "3"], ["summary"], ["validate"], ["history"]]
)
@pytest.mark.parametrize("kind", ["FIFO", "character device"])
def test_a_fifo_or_device_log_is_refused_not_read(tmp_path, command, kind):
    path = "/dev/zero" if kind == "character device" else str(_special(tmp_path, kind))
    code, err = backtrack(*command, "--csv", path, cwd=tmp_path)
    refused(code, err, command[0], f"{path}: expected a log (CSV)", f"found {KINDS[kind]}")


def test_a_routine_that_is_a_device_or_fifo_is_refused(tmp_path, log):
    os.mkfifo(tmp_path / "routine.toml")  # beside the log: read by every command
    code, err = backtrack("summary", "--csv", str(log), cwd=tmp_path)
    refused(code, err, "summary", "routine.toml: (file): expected a TOML file", "FIFO")
    code, err = backtrack("summary", "--csv", str(log), "--routine", "/dev/zero", cwd=tmp_path)
    refused(code, err, "summary", "/dev/zero: (file): expected a TOML file", "character device")


def test_a_trial_whose_b_routine_is_dev_zero_is_refused(tmp_path, log):
    plan = plan_trial(a="full", b="other", start=date(2026, 2, 1), seed=1, b_routine="/dev/zero")
    (tmp_path / "trial.toml").write_text(plan_toml(plan), encoding="utf-8")
    code, err = backtrack("trial", "result", "--csv", str(log), cwd=tmp_path)
    refused(code, err, "trial", "/dev/zero: (file): expected a TOML file", "character device")


@pytest.mark.parametrize("kind", ["FIFO", "character device", "folder"])
def test_import_and_repair_inputs_are_refused_unless_regular_files(tmp_path, log, kind):
    path = "/dev/zero" if kind == "character device" else str(_special(tmp_path, kind))
    code, err = backtrack("repair", path, "-o", str(tmp_path / "out.csv"), cwd=tmp_path)
    refused(code, err, "repair", f"{path}: expected a log (CSV)", f"found {KINDS[kind]}")
    if kind != "folder":  # a folder is an unpacked export: its *.csv files are read
        code, err = backtrack(
            "import-loop", path, "--map", "A=hip_stretch", "--csv", str(log), cwd=tmp_path
        )
        refused(code, err, "import-loop", f"{path}: expected a Loop export", KINDS[kind])


# ----------------------------------------------------------------------------- item 4 via the CLI


def test_history_of_a_log_with_a_cp1252_byte_warns_at_its_line(tmp_path, log):
    data = log.read_bytes().split(b"\n")
    data[5] = data[5] + b"caf\xe9"  # the note of line 6, saved as cp1252
    log.write_bytes(b"\n".join(data))
    day = data[5].split(b",")[1].decode()
    code, err = backtrack("history", "--date", day, "--csv", str(log), cwd=tmp_path)
    assert code == 0 and "Traceback" not in err
    assert f"{log}:6:note: expected UTF-8 text" in err


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf"], ids=["empty", "BOM only"])
def test_history_of_an_empty_log_says_nothing_is_recorded(tmp_path, content):
    path = tmp_path / "log.csv"
    path.write_bytes(content)
    done = subprocess.run(
        [sys.executable, "-m", "backtrack", "history", "--date", "2026-01-02", "--csv", str(path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=HANG_GUARD,
        preexec_fn=_guard_memory,
    )
    assert done.returncode == 0 and "Traceback" not in done.stderr
    assert done.stdout == "nothing recorded for 2026-01-02\n"


def _plan_file(tmp_path: Path, **changes: str) -> Path:
    plan = plan_trial(
        a="full", b="without squat", b_without=["wall_squat"], start=date(2026, 2, 1), seed=5
    )
    text = plan_toml(plan)
    for key, value in changes.items():
        text = "\n".join(
            f"{key} = {value}" if line.startswith(f"{key} =") else line
            for line in text.split("\n")
        )
    path = tmp_path / "trial.toml"
    path.write_text(text, encoding="utf-8")
    return path


BROKEN_PLANS = {
    "start 9999-12-01": (
        "trial.toml: start: expected a date from 1900-01-01 to",
        "found '9999-12-01'",
    ),
    "binary": ("trial.toml: (file): expected UTF-8 text, found 'byte 0xff at offset 0'",),
}


def _broken_plan(tmp_path: Path, which: str) -> None:
    if which == "binary":
        (tmp_path / "trial.toml").write_bytes(b"\xff\xfe\x00binary\x93")
    else:
        _plan_file(tmp_path, start="9999-12-01")


@pytest.mark.parametrize("which", sorted(BROKEN_PLANS))
@pytest.mark.parametrize(
    "command", [["trial", "result"], ["trial", "report", "-o", "t.pdf"], ["trial", "stop"]]
)
def test_a_broken_trial_plan_is_one_sentence(tmp_path, log, which, command):
    _broken_plan(tmp_path, which)
    code, err = backtrack(*command, "--csv", str(log), cwd=tmp_path)
    refused(code, err, "trial", *BROKEN_PLANS[which])


@pytest.mark.parametrize("which", sorted(BROKEN_PLANS))
def test_a_broken_trial_plan_never_stops_the_daily_log(tmp_path, log, which):
    _broken_plan(tmp_path, which)
    before = log.read_bytes()
    code, err = backtrack(
        "log", "--pain", "4", "--date", "2026-03-02", "--csv", str(log), cwd=tmp_path
    )
    assert code == 0 and "Traceback" not in err
    assert err.startswith("warning: the self-trial plan cannot be read: ")
    assert BROKEN_PLANS[which][0] in err
    added = log.read_bytes()[len(before) :].decode()
    assert ",2026-03-02,4," in added and added.count("\n") == 1
    for command in (["summary"], ["validate"]):  # the trial's pauses are left out, with no error
        code, err = backtrack(*command, "--csv", str(log), cwd=tmp_path)
        assert code == 0 and "Traceback" not in err


def test_summary_into_a_closed_pipe_exits_quietly(tmp_path, log):
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first byte: every write fails
    try:
        code, err = backtrack(
            "summary", "--json", "--csv", str(log), cwd=tmp_path, stdout=write_end
        )
    finally:
        os.close(write_end)
    assert (code, err) == (CLOSED_PIPE, "")


# ----------------------------------------------------------------------------- trial dates


@pytest.mark.parametrize("pairs", range(1, MAX_PAIRS + 1))
def test_a_plan_must_end_by_the_last_day_a_log_holds(pairs):
    for block_days in range(2, 61):
        length = 2 * pairs * block_days
        latest = MAX_DATE - timedelta(days=length - 1)
        for start in (MIN_DATE, latest):
            plan = plan_trial(
                a="a",
                b="b",
                pairs=pairs,
                block_days=block_days,
                washout_days=0,
                start=start,
                seed=1,
            )
            assert plan.end == start + timedelta(days=length - 1) <= MAX_DATE
        for start in (
            MIN_DATE - timedelta(days=1),
            latest + timedelta(days=1),
            date.max,
            date.min,
        ):
            with pytest.raises(
                TrialPlanError, match=f"start: expected a date from {MIN_DATE} to {latest}"
            ):
                plan_trial(
                    a="a",
                    b="b",
                    pairs=pairs,
                    block_days=block_days,
                    washout_days=0,
                    start=start,
                    seed=1,
                )


# ----------------------------------------------------------------------------- literal text

NAMES = ["$^$", "$x$", "\ufeff", "\\", "a\\$b$", "$\\frac{1}{0}$", "50$ and 20$", "\\\\$"]


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.mark.parametrize("name", NAMES)
def test_a_patient_name_is_printed_as_typed(tmp_path, log, name):
    code, err = backtrack("report", "--csv", str(log), "--name", name, "-o", "r.pdf", cwd=tmp_path)
    assert code == 0 and "Traceback" not in err, err
    assert plots.drawable(name) in _pdf_text((tmp_path / "r.pdf").read_bytes())


@pytest.mark.parametrize("label", ["A $^$", "$x$ and \\"])
def test_trial_labels_are_printed_as_typed(tmp_path, log, label):
    plan = plan_trial(
        a=label, b="other \ufeff$", start=date(2026, 1, 20), seed=2, b_without=["wall_squat"]
    )
    (tmp_path / "trial.toml").write_text(plan_toml(plan), encoding="utf-8")
    code, err = backtrack("trial", "report", "-o", "t.pdf", "--csv", str(log), cwd=tmp_path)
    assert code == 0 and "Traceback" not in err, err
    text = _pdf_text((tmp_path / "t.pdf").read_bytes())
    assert f"A: {label}" in text and "B: other \u2060$" in text


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet="$\\^_{}ab\ufeff", min_size=1, max_size=12))
def test_any_text_is_drawn_literally(text):
    """Mathtext's own characters in any order: drawn as typed into a PDF and a PNG."""
    fig = Figure()
    fig.text(0.1, 0.5, text)
    ax = fig.add_subplot()
    ax.set_title(text)
    ax.legend(ax.plot([0, 1]), [text])  # named: a label starting with _ is otherwise hidden
    plots.literal_text(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="pdf")
    # pypdf's extraction may add a space beside an invisible glyph: compare without spaces
    drawn = "".join(_pdf_text(buffer.getvalue()).split())
    assert drawn.count(plots.drawable(text)) == 3  # the figure text, the title, the legend
    assert plots.png_bytes(fig).startswith(b"\x89PNG")


def _drawn_as_pyplot_would(fig: Figure) -> str:
    """The figure saved by matplotlib itself, outside backtrack's savers (as a notebook
    shows a pyplot figure), under the default settings; its text, without spaces."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="pdf")
    return "".join(_pdf_text(buffer.getvalue()).split())


def test_patient_names_in_the_clinic_chart_are_drawn_as_typed():
    """04-clinic draws change_vs_adherence on a pyplot figure: the names are file names."""
    import matplotlib.pyplot as plt
    import pandas as pd

    table = pd.DataFrame(
        {
            "patient": NAMES,
            "change": [float(i) for i in range(len(NAMES))],
            "change_low": [float(i) - 1 for i in range(len(NAMES))],
            "change_high": [float(i) + 1 for i in range(len(NAMES))],
            "adherence_28day": [0.1 * i for i in range(len(NAMES))],
            "trend_low": [-1.0] * len(NAMES),
        }
    )
    fig, ax = plt.subplots()
    try:
        plots.change_vs_adherence(table, ax=ax)
        drawn = _drawn_as_pyplot_would(fig)
    finally:
        plt.close(fig)
    for name in NAMES:
        assert "".join(plots.drawable(name).split()) in drawn


def test_exercise_names_from_a_routine_are_drawn_as_typed():
    import matplotlib.pyplot as plt

    from backtrack.demo import demo_log
    from backtrack.routine import default_routine

    routine = default_routine()
    daily = plots.daily_for(demo_log(60, seed=4, end=date(2026, 3, 1)), routine)
    names = dict(zip(routine.ids, ["$^$", "$x$", "a\ufeffb", "\\", "50$ and 20$"], strict=True))
    fig, ax = plt.subplots(figsize=(8, 4))
    try:
        plots.exercise_adherence(daily, ax=ax, labels=names)
        drawn = _drawn_as_pyplot_would(fig)
    finally:
        plt.close(fig)
    for name in names.values():
        assert "".join(plots.drawable(name).split()) in drawn


def test_remote_cohort_files_are_read_with_the_same_bounds_and_checks(tmp_path, log, monkeypatch):
    """A log or routine.toml behind an fsspec URL (memory:// here): bounded, and a
    routine that is not UTF-8 TOML is a RoutineError naming it, as for a local one."""
    import fsspec

    from backtrack import cohort
    from backtrack.errors import RoutineError
    from backtrack.routine import default_routine

    fs = fsspec.filesystem("memory")
    fs.pipe("/clinic/p1.csv", log.read_bytes())
    fs.pipe("/clinic/routine.toml", b"\xff\xfe binary")
    with pytest.raises(RoutineError, match="routine.toml: \\(file\\): expected UTF-8 text"):
        cohort.routine_for("memory:///clinic/p1.csv")
    assert len(cohort.read_patient_log("memory:///clinic/p1.csv", default_routine()).entries)
    monkeypatch.setattr(cohort, "LOG_LIMIT", log.stat().st_size - 1)
    with pytest.raises(UserFileError, match=f"found more than {log.stat().st_size - 1} bytes"):
        cohort.read_patient_log("memory:///clinic/p1.csv", default_routine())


@pytest.mark.parametrize("kind", ["FIFO", "folder"])
def test_trial_plan_beside_an_unreadable_log_writes_nothing(tmp_path, kind):
    """The log is read before the plan is written: a refusal leaves no trial.toml."""
    path = _special(tmp_path, kind)
    code, err = backtrack(
        "trial", "plan", "--a", "x", "--b", "y", "--csv", str(path), cwd=tmp_path
    )
    refused(code, err, "trial", f"{path}: expected a log (CSV)", f"found {KINDS[kind]}")
    assert not (tmp_path / "trial.toml").exists()


def test_notes_and_exercise_names_in_the_report_are_printed_as_typed(tmp_path, log):
    """A flare day's note is listed on page 1, the routine's names in its table."""
    note = "$^$ and $x$ \\ a\ufeffb"
    code, err = backtrack(
        "log", "--pain", "8", "--day", "flare", "--note", note, "--date", "2026-03-01",
        "--replace", "--csv", str(log), cwd=tmp_path,
    )  # fmt: skip
    assert code == 0, err
    routine = tmp_path / "routine.toml"  # beside the log: the report's routine
    routine.write_text(
        '[[exercise]]\nid = "hip_stretch"\nname = "$\\\\frac{1}{0}$ stretch"\ndose_minutes = 2\n',
        encoding="utf-8",
    )
    code, err = backtrack("report", "--csv", str(log), "-o", "r.pdf", cwd=tmp_path)
    assert code == 0 and "Traceback" not in err, err
    drawn = "".join(_pdf_text((tmp_path / "r.pdf").read_bytes()).split())
    assert "".join(plots.drawable(note).split()) in drawn
    assert "$\\frac{1}{0}$stretch" in drawn
