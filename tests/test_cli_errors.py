"""Exit codes that mean what they say: 2 for what the user can fix (with the message),
1 with a traceback and a request to report it for anything else (a bug)."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from datetime import date

import pytest

from backtrack import metrics, store
from backtrack.cli import main
from backtrack.demo import write_demo


@pytest.fixture
def log(tmp_path):
    return write_demo(tmp_path / "log.csv", days=30, seed=2, end=date(2026, 3, 1))


@pytest.mark.parametrize(
    "error",
    [ValueError("boom"), KeyError("boom"), OSError("boom"), TypeError("boom")],
    ids=["ValueError", "KeyError", "OSError without a file", "TypeError"],
)
def test_an_internal_error_is_a_bug_exit_1_with_a_traceback(log, capsys, monkeypatch, error):
    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr(metrics, "daily_since", broken)
    assert main(["summary", "--csv", str(log)]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "boom" in err
    assert "internal error" in err and "report it" in err


def test_an_internal_error_in_a_real_process_exits_1(log, tmp_path):
    """The installed command, not only main(): a bug in a command exits 1."""
    script = (
        "import sys; from backtrack import metrics; from backtrack.cli import main\n"
        "metrics.daily_since = lambda *a, **k: 1 / 0\n"
        f"sys.exit(main(['summary', '--csv', {str(log)!r}]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 1
    assert "ZeroDivisionError" in done.stderr and "report it" in done.stderr


def test_bad_input_is_still_exit_2_without_a_traceback(log, tmp_path, capsys):
    cases = [
        ["log", "--pain", "11", "--csv", str(log)],  # InputError
        ["summary", "--csv", str(log), "--routine", str(tmp_path / "missing.toml")],
        ["cohort", str(tmp_path / "nowhere")],  # FieldError
        ["report", "--csv", str(log), "-o", str(tmp_path / "no" / "such" / "r.pdf")],
    ]
    bad_routine = tmp_path / "routine.toml"
    bad_routine.write_text("this is = = not toml", encoding="utf-8")
    cases.append(["summary", "--csv", str(log), "--routine", str(bad_routine)])
    for argv in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith(f"backtrack {argv[0]}: ") and "Traceback" not in err, argv


def test_a_failed_save_is_the_users_problem_exit_2(log, capsys, monkeypatch):
    before = log.read_bytes()

    def failing_fsync(fd):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(store.os, "fsync", failing_fsync)
    assert main(["log", "--pain", "3", "--csv", str(log)]) == 2
    err = capsys.readouterr().err
    assert "nothing was saved" in err and "Traceback" not in err
    monkeypatch.undo()
    assert log.read_bytes() == before


def test_a_full_disk_naming_a_file_is_exit_2(log, tmp_path, capsys, monkeypatch):
    from backtrack import report

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "r.pdf"))

    monkeypatch.setattr(report, "write_report", full)
    assert main(["report", "--csv", str(log), "-o", str(tmp_path / "r.pdf")]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "Traceback" not in err
