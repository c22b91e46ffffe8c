"""Trials and routines are explicit (issue 26 item 4): the routine module reads no trial
plan; every view that counts adherence asks for the pauses of the self-trial planned
beside the log, and gets the same numbers."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from datetime import date, timedelta

import pytest

from backtrack import metrics, plots, report, trends_view
from backtrack.cli import main
from backtrack.cohort import summarise
from backtrack.demo import write_demo
from backtrack.overview import summary
from backtrack.routine import Pause, default_routine, load_routine
from backtrack.store import read_log
from backtrack.trial import load_routine_with_pauses, plan_trial, routine_of, write_plan

END = date(2026, 3, 1)


@pytest.fixture
def clinic(tmp_path):
    """A 120-day demo log with a self-trial beside it whose B blocks (without wall squat)
    fall in the last 28 days, and the pauses those B blocks mean, written out by hand."""
    path = write_demo(tmp_path / "clinic" / "log.csv", days=120, seed=6, end=END)
    plan = plan_trial(
        a="full routine",
        b="without wall squat",
        pairs=2,
        block_days=7,
        washout_days=2,
        start=END - timedelta(days=27),
        seed=3,
        b_without=("wall_squat",),
        routine=default_routine(),
    )
    write_plan(path.parent / "trial.toml", plan)
    pauses = tuple(
        Pause("wall_squat", b.start, b.end, "by hand") for b in plan.blocks if b.condition == "B"
    )
    return path, pauses


def adherence(path, routine) -> float:
    daily = metrics.daily_since(read_log(path, strict=False).entries, routine)
    return metrics.adherence_window(daily, 28).value


@pytest.fixture
def want(clinic):
    """The 28-day adherence with B's wall squat not prescribed on B days; it differs from
    the plain routine's, so a view that forgets the pauses is caught."""
    path, pauses = clinic
    paused = adherence(path, dataclasses.replace(default_routine(), pauses=pauses))
    assert abs(paused - adherence(path, default_routine())) > 1e-3
    return paused


def test_the_routine_module_imports_no_trial_module(clinic):
    """Neither importing nor using the routine module (with a plan beside the log) loads
    a trial module."""
    path, _ = clinic
    code = (
        "import sys; from backtrack.routine import load_routine; "
        f"load_routine(log_path={str(path)!r}); "
        "print(sorted(m for m in sys.modules if 'trial' in m))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_load_routine_reads_no_trial_plan(clinic):
    path, _ = clinic
    assert load_routine(log_path=path).pauses == ()
    assert load_routine(log_path=path) == default_routine()


def test_the_routine_with_pauses_is_asked_for(clinic):
    path, pauses = clinic
    spans = {
        (p.exercise_id, p.start, p.end) for p in load_routine_with_pauses(log_path=path).pauses
    }
    assert spans == {(p.exercise_id, p.start, p.end) for p in pauses}
    assert routine_of(path).pauses == load_routine_with_pauses(log_path=path).pauses
    assert routine_of(read_log(path, strict=False)).pauses == routine_of(path).pauses


def test_the_summary_counts_b_days_by_what_b_prescribes(clinic, want):
    path, _ = clinic
    assert summary(path).adherence_28day.value == pytest.approx(want, abs=1e-12)
    assert summary(read_log(path, strict=False)).adherence_28day.value == pytest.approx(
        want, abs=1e-12
    )


def test_the_report_and_the_charts_count_the_pauses(clinic, want):
    path, _ = clinic
    log = read_log(path, strict=False)
    assert report.report_data(log).summary.adherence_28day.value == pytest.approx(want, abs=1e-12)
    assert metrics.adherence_window(plots.daily_for(log), 28).value == pytest.approx(
        want, abs=1e-12
    )


def test_the_trends_view_counts_the_pauses(clinic, want):
    path, pauses = clinic
    log, routine = trends_view.open_log(str(path))
    assert {(p.start, p.end) for p in routine.pauses} == {(p.start, p.end) for p in pauses}
    view = trends_view.period_view(log, routine, 28, today=END)
    assert view.summary.adherence_28day.value == pytest.approx(want, abs=1e-12)


def test_the_cohort_counts_the_pauses(clinic, want, capsys):
    path, _ = clinic
    assert summarise([path]).loc[0, "adherence_28day"] == pytest.approx(want, abs=1e-12)
    assert main(["cohort", "--json", str(path.parent)]) == 0
    assert json.loads(capsys.readouterr().out)[0]["adherence_28day"] == pytest.approx(
        want, abs=1e-12
    )


def test_the_summary_command_counts_the_pauses(clinic, want, capsys):
    path, _ = clinic
    assert main(["summary", "--json", "--csv", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["adherence_28day"] == pytest.approx(want, abs=1e-12)


def test_the_form_counts_the_pauses(clinic):
    from backtrack.form import LogFormModel

    path, pauses = clinic
    form = LogFormModel(csv=path)
    assert {(p.start, p.end) for p in form.routine.pauses} == {(p.start, p.end) for p in pauses}
    by_hand = dataclasses.replace(default_routine(), pauses=pauses)
    daily = metrics.daily_series(read_log(path, strict=False).entries, by_hand, end=form.today)
    glance = form.glance_daily()
    assert glance["credit"].to_numpy() == pytest.approx(daily["credit"].to_numpy(), nan_ok=True)
