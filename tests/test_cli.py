"""The backtrack command: exit codes, messages, and what it writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from backtrack.actions import log_day
from backtrack.cli import main
from backtrack.store import read_log


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_log_prints_the_saved_row(capsys, log_path):
    code, out, err = run(
        capsys,
        "log",
        "--pain",
        "4",
        "--done",
        "floor_relaxation,hip_stretch=1.5",
        "--where",
        "lower_back",
        "--note",
        "=not a formula",
        "--csv",
        str(log_path),
    )
    assert (code, err) == (0, "")
    assert f"saved to {log_path}" in out
    assert "floor_relaxation=5;hip_stretch=1.5" in out
    assert "  note         =not a formula   (stored with a leading '" in out  # as typed
    row = read_log(log_path).entries.iloc[0]
    assert (row["pain"], row["where"], row["note"]) == (4, "lower_back", "=not a formula")


def test_log_all_and_env_var(capsys, tmp_path, monkeypatch):
    path = tmp_path / "env.csv"
    monkeypatch.setenv("BACKTRACK_CSV", str(path))
    code, out, _ = run(capsys, "log", "--pain", "2", "--done", "all")
    assert code == 0
    assert read_log(path).entries.iloc[0]["exercises"] == (
        "floor_relaxation=5;hip_stretch=2;legs_up_wall=2;seated_stretch=1;wall_squat="
    )


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--pain", "11"], "backtrack log: pain: expected an integer 0-10, found '11'"),
        (["--pain", "3", "--done", "plank"], "backtrack log: exercises: expected an exercise"),
        (["--pain", "3", "--done", "hip_stretch=300"], "exercises.hip_stretch: expected minutes"),
        (["--pain", "3", "--date", "2199-01-01"], "date: expected today"),
        (["--pain", "3", "--date", "2999-01-01"], "expected a date between 1900-01-01 and"),
        (["--pain", "3", "--date", "2026-W01-1"], "expected a date YYYY-MM-DD"),
        (["--pain", "3", "--date", "20260105"], "expected a date YYYY-MM-DD"),
        (["--pain", "3", "--day", "holiday"], "invalid choice: 'holiday'"),
        (["--done", "all"], "pain: expected an integer 0-10 (required unless"),
    ],
)
def test_refused_input_exits_2_with_reason_and_writes_nothing(capsys, log_path, argv, message):
    code, out, err = run(capsys, "log", *argv, "--csv", str(log_path))
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert not log_path.exists()


def test_validate_clean_then_broken(capsys, log_path):
    run(capsys, "log", "--pain", "4", "--csv", str(log_path))
    code, out, _ = run(capsys, "validate", "--csv", str(log_path))
    assert code == 0 and "no problems" in out
    with open(log_path, "a") as handle:
        handle.write("2026-11-02T20:00:00+00:00,2026-11-02,11,,routine,,\n")
        handle.write("2026-11-03T20:00:00+00:00,2026-13-03,1,,routine,,\n")
    code, out, err = run(capsys, "validate", "--csv", str(log_path))
    assert code == 1
    assert out.splitlines() == [
        f"{log_path}:3:pain: expected an integer 0-10 or empty, found '11'",
        f"{log_path}:4:date: expected a date YYYY-MM-DD, found '2026-13-03'",
    ]
    assert "2 problem(s)" in err


def test_validate_missing_log_is_a_usage_error(capsys, tmp_path):
    code, _, err = run(capsys, "validate", "--csv", str(tmp_path / "none.csv"))
    assert code == 2 and "no log there yet" in err


def test_history_shows_corrections_oldest_first(capsys, log_path):
    day = (date.today() - timedelta(days=2)).isoformat()
    run(capsys, "log", "--pain", "6", "--date", day, "--csv", str(log_path))
    run(capsys, "log", "--pain", "4", "--date", day, "--note=-better", "--csv", str(log_path))
    code, out, _ = run(capsys, "history", "--date", day, "--json", "--csv", str(log_path))
    assert code == 0
    rows = json.loads(out)
    assert [r["pain"] for r in rows] == [6, 4]
    assert rows[1]["note"] == "-better"
    assert rows[0]["date"] == day and rows[0]["recorded_at"] < rows[1]["recorded_at"]
    code, out, _ = run(capsys, "history", "--date", day, "--csv", str(log_path))
    assert "2 save(s)" in out and "pain 4/10" in out


def test_demo_is_deterministic_and_never_overwrites(capsys, tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert (
        run(capsys, "demo", "--days", "60", "--seed", "3", "--end", "2026-10-01", "-o", str(a))[0]
        == 0
    )
    assert (
        run(capsys, "demo", "--days", "60", "--seed", "3", "--end", "2026-10-01", "-o", str(b))[0]
        == 0
    )
    assert a.read_bytes() == b.read_bytes()
    code, _, err = run(capsys, "demo", "-o", str(a))
    assert code == 2 and "exists already (nothing is overwritten)" in err
    log = read_log(a)
    assert log.entries["date"].max() == __import__("pandas").Timestamp("2026-10-01")
    assert oct(os.stat(a).st_mode & 0o777) == "0o600"


def test_usage_error_exit_2(capsys):
    assert run(capsys, "frobnicate")[0] == 2
    assert run(capsys, "--help")[0] == 0


def test_console_script_runs_as_a_process(tmp_path):
    script = Path(sys.executable).with_name("backtrack")
    result = subprocess.run(
        [str(script), "log", "--pain", "3", "--csv", str(tmp_path / "p.csv")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "backtrack",
            "log",
            "--pain",
            "x",
            "--csv",
            str(tmp_path / "p.csv"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_refused_minutes_are_quoted_as_typed(capsys, log_path):
    code, _, err = run(
        capsys, "log", "--pain", "3", "--done", "hip_stretch=-1", "--csv", str(log_path)
    )
    assert code == 2
    assert err.strip().endswith("found '-1'")
    code, _, err = run(
        capsys, "log", "--pain", "3", "--done", "hip_stretch=nan", "--csv", str(log_path)
    )
    assert code == 2 and "found 'nan'" in err
    assert not log_path.exists()


def test_demo_with_no_days_is_refused_input_not_a_bug(capsys, tmp_path):
    code, _, err = run(capsys, "demo", "--days", "0", "-o", str(tmp_path / "d.csv"))
    assert code == 2 and "days: expected at least 1, found 0" in err
    assert "Traceback" not in err


NO_FIELD_OPTIONS = [
    [],
    ["--date", "yesterday"],
    ["--replace"],
    ["--date", "yesterday", "--replace"],
]


@pytest.mark.parametrize("has_log", [False, True], ids=["no-log", "log"])
@pytest.mark.parametrize("extra", NO_FIELD_OPTIONS, ids=lambda a: " ".join(a) or "bare")
def test_log_without_a_field_option_refuses_and_appends_nothing(tmp_path, has_log, extra):
    """Issue 24 item 5: ``backtrack log`` with no field option appended a copy of the
    date's latest save (exit 0). Through the real command, every combination of the
    options that give no field, with and without a save for the date."""
    log = tmp_path / "backtrack.csv"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKTRACK_")}
    if has_log:  # saved an hour ago: a repeat would not be taken for a double-click
        earlier = datetime.now().astimezone() - timedelta(hours=1)
        for day in (earlier.date(), earlier.date() - timedelta(days=1)):
            log_day(log, pain=4, done=["hip_stretch"], day=day, now=earlier)
    before = log.read_bytes() if has_log else None
    done = subprocess.run(
        [sys.executable, "-m", "backtrack", "log", *extra, "--csv", str(log)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "backtrack log: nothing to save: give at least one of --pain, --done, --day, "
        "--where, --note (e.g. --pain 3 --done all), or --peg, --psfs, --pgic; nothing was "
        "written"
    ]
    assert (log.read_bytes() if log.exists() else None) == before


@pytest.mark.parametrize(
    "field",
    [["--pain", "5"], ["--done", "none"], ["--day", "flare"], ["--where", "hips"], ["--note", ""]],
    ids=lambda a: a[0],
)
def test_log_with_any_one_field_option_saves(capsys, log_path, field):
    """The other side of the refusal: each field option alone is enough to save a
    correction (the fields not given are kept from the earlier save)."""
    first = ["--pain", "4", "--done", "all", "--note", "x"]  # each field below differs
    assert run(capsys, "log", *first, "--csv", str(log_path))[0] == 0
    code, out, err = run(capsys, "log", *field, "--csv", str(log_path))
    assert (code, err) == (0, ""), err
    assert len(read_log(log_path).entries) == 2
