"""A clinic's self-trials (issue 29): each record is trial result's answer; statuses,
comparison keys, the CENT flow, the folder's safety rules, bad plans as problems."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import UTC, date, datetime, time, timedelta

import pytest

from backtrack.cli import main
from backtrack.clinic_trials import (
    NO_TRIAL,
    NOT_ANALYSABLE,
    RECORD_COLUMNS,
    UNUSABLE_PLAN,
    scan_clinic,
    trial_flow,
    trial_records,
    write_demo_clinic,
)
from backtrack.demo import to_csv_text
from backtrack.routine import default_routine
from backtrack.schema import Entry
from backtrack.trial import plan_trial, stop_trial, write_plan

END = date(2026, 3, 1)
TODAY = END + timedelta(days=1)


@pytest.fixture(scope="module")
def demo_clinic(tmp_path_factory):
    """8 patients ending yesterday (as ``trial result`` analyses to the real today)."""
    folder = tmp_path_factory.mktemp("clinic")
    write_demo_clinic(folder, 8, seed=3)
    return folder


@pytest.fixture(scope="module")
def records(demo_clinic):
    return trial_records(demo_clinic, workers=1).set_index("patient")


def _json(capsys, *argv: str) -> dict:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("patient", ["patient01", "patient03", "patient05"])
def test_a_record_is_what_trial_result_and_summary_say(demo_clinic, records, patient, capsys):
    """Completed, stopped early with a reason, and running: the command's own numbers."""
    log = str(demo_clinic / patient / "backtrack.csv")
    result = _json(capsys, "trial", "result", "--json", "--csv", log)
    row = records.loc[patient]
    assert row["complete_pairs"] == result["complete_pairs"] >= 2
    for mine, theirs in (
        ("effect", "pain_lower_with_b"),
        ("se", "se"),
        ("low", "low"),
        ("high", "high"),
        ("p_value", "p_value"),
        ("prob_b_better_1", "prob_b_better_by_1"),
    ):
        assert row[mine] == pytest.approx(result[theirs], abs=1e-12), mine
    assert row["adherence_a"] == pytest.approx(result["adherence"]["A"], abs=1e-12)
    assert row["adherence_b"] == pytest.approx(result["adherence"]["B"], abs=1e-12)
    assert row["deviations"] == sum(result["deviations"].values())
    assert row["df"] == result["complete_pairs"] - 1
    assert (row["planned_pairs"], row["block_days"]) == (result["pairs"], result["block_days"])
    assert row["finished"] == result["finished"]
    assert (row["stop_reason"] if isinstance(row["stop_reason"], str) else None) == result[
        "stop_reason"
    ]
    summary = _json(capsys, "summary", "--json", "--csv", log)
    assert row["baseline_pain"] == pytest.approx(summary["baseline"], abs=1e-12)


def test_each_status_and_the_stop_reason(demo_clinic, records):
    status = records["status"].to_dict()
    assert status == {
        "patient01": "completed",
        "patient02": "completed",
        "patient03": "stopped early",
        "patient04": "completed",
        "patient05": "running",
        "patient06": "completed",
        "patient07": "completed",
        "patient08": "planned",
    }
    assert records.loc["patient03", "stop_reason"].startswith("flare-up in week 6")
    assert records.loc["patient03", "stopped"] < records.loc["patient03", "end"]
    assert records["analysed"].to_dict() == {
        p: s in ("completed", "stopped early") for p, s in status.items()
    }
    assert "never pooled" in records.loc["patient05", "status_reason"]
    assert list(trial_records(demo_clinic, workers=1).columns) == list(RECORD_COLUMNS)


def test_a_finished_trial_without_two_pairs_is_not_analysable(tmp_path):
    patient = tmp_path / "clinic" / "empty"
    patient.mkdir(parents=True)
    (patient / "log.csv").write_text(to_csv_text([]), encoding="utf-8")  # no day logged
    plan = plan_trial(
        a="full",
        b="less",
        pairs=4,
        start=END - timedelta(days=90),
        seed=1,
        b_without=["hip_stretch"],
    )
    write_plan(patient / "trial.toml", plan)
    row = trial_records(tmp_path / "clinic", workers=1, today=TODAY).iloc[0]
    assert (row["status"], row["complete_pairs"], row["analysed"]) == (NOT_ANALYSABLE, 0, False)
    assert "at least 2 are needed" in row["status_reason"]
    flow = trial_flow(trial_records(tmp_path / "clinic", workers=1, today=TODAY))
    assert flow[
        ["planned", "started", "completed", "not_analysable", "analysed"]
    ].values.tolist() == [[1, 1, 1, 1, 0]]


def _patient(folder, name: str, plan, entries=()) -> None:
    (folder / name).mkdir(parents=True)
    (folder / name / "log.csv").write_text(to_csv_text(list(entries)), encoding="utf-8")
    write_plan(folder / name / "trial.toml", plan)


def test_stopped_early_or_without_spread_is_never_analysed(tmp_path):
    """A stop with no complete pair stays 'stopped early' (the flow counts it, with no
    reason recorded); pairs that all differ by the same amount have no standard error."""
    folder = tmp_path / "clinic"
    plan = plan_trial(
        a="full",
        b="less",
        pairs=3,
        start=END - timedelta(days=60),
        seed=1,
        b_without=["hip_stretch"],
    )
    _patient(folder, "stopped", plan)
    stop_trial(folder / "stopped" / "trial.toml", plan.blocks[1].end)
    same = [  # pain 5 on every A day, 4 on every B day: every pair differs by exactly 1
        Entry(datetime.combine(d, time(20), UTC), d, 5 if block.condition == "A" else 4)
        for block in plan.blocks
        for d in (block.start + timedelta(days=i) for i in range(plan.block_days))
    ]
    _patient(folder, "flat_effect", plan, same)
    table = trial_records(folder, workers=1, today=TODAY).set_index("patient")
    stopped, flat = table.loc["stopped"], table.loc["flat_effect"]
    assert (stopped["status"], stopped["analysed"], stopped["complete_pairs"]) == (
        "stopped early",
        False,
        0,
    )
    assert "at least 2 are needed" in stopped["status_reason"]
    assert (flat["status"], flat["analysed"], flat["complete_pairs"]) == (NOT_ANALYSABLE, False, 3)
    assert (
        flat["effect"] == 1.0
        and flat["se"] == 0.0
        and "no standard error" in flat["status_reason"]
    )
    flow = trial_flow(table.reset_index()).iloc[0]
    assert (flow["planned"], flow["completed"], flow["stopped_early"], flow["analysed"]) == (
        2,
        1,
        1,
        0,
    )
    assert flow["stop_reasons"] == ["no reason recorded"]


def test_the_flow_counts_each_comparison(records):
    """Patients 4 and 8 leave out the hip stretch, the others the wall squat; 3 stopped,
    5 is running, 8 has not started (write_demo_clinic's docstring)."""
    flow = trial_flow(records.reset_index()).set_index("comparison")
    counts = ["planned", "started", "running", "completed", "stopped_early", "analysed"]
    assert flow.loc["without wall_squat", counts].tolist() == [6, 6, 1, 4, 1, 5]
    assert flow.loc["without hip_stretch", counts].tolist() == [2, 1, 0, 1, 0, 1]
    assert flow.loc["without wall_squat", "stop_reasons"] == [
        records.loc["patient03", "stop_reason"]
    ]


def _b_routine_patient(folder, text: str):
    patient = folder / "routine_b"
    patient.mkdir(parents=True, exist_ok=True)
    (patient / "lighter.toml").write_text(text, encoding="utf-8")
    if not (patient / "log.csv").exists():
        (patient / "log.csv").write_text(to_csv_text([]), encoding="utf-8")
        plan = plan_trial(
            a="full",
            b="lighter",
            pairs=2,
            start=END - timedelta(days=60),
            seed=2,
            b_routine="lighter.toml",
        )
        write_plan(patient / "trial.toml", plan)
    return patient / "lighter.toml"


def default_routine_file():
    from importlib import resources

    return resources.files("backtrack").joinpath("default_routine.toml")


def test_comparison_keys_name_what_b_changes_and_hash_the_routine_file(tmp_path):
    folder = tmp_path / "clinic"
    text = default_routine_file().read_text("utf-8")
    lighter = _b_routine_patient(folder, text)
    two = folder / "two"
    two.mkdir()
    (two / "log.csv").write_text(to_csv_text([]), encoding="utf-8")
    plan = plan_trial(
        a="full",
        b="less",
        pairs=2,
        start=END - timedelta(days=60),
        seed=1,
        b_without=["wall_squat", "hip_stretch"],
        routine=default_routine(),
    )
    write_plan(two / "trial.toml", plan)
    keys = trial_records(folder, workers=1, today=TODAY).set_index("patient")["comparison"]
    digest = hashlib.sha256(lighter.read_bytes()).hexdigest()[:12]
    assert keys.to_dict() == {
        "routine_b": f"routine lighter.toml sha256:{digest}",
        "two": "without hip_stretch, wall_squat",
    }
    _b_routine_patient(folder, text.replace("Wall squat", "Wall squat, slowly", 1))
    again = trial_records(folder, workers=1, today=TODAY).set_index("patient")["comparison"]
    assert again["routine_b"].startswith("routine lighter.toml sha256:")
    assert again["routine_b"] != keys["routine_b"]
    assert again["two"] == keys["two"]


def test_flat_logs_have_no_trial_and_unsafe_entries_are_skipped(tmp_path, demo_clinic):
    folder = tmp_path / "clinic"
    outside = tmp_path / "outside"
    shutil.copytree(demo_clinic / "patient01", folder / "patient01")
    shutil.copytree(demo_clinic / "patient02", outside)
    shutil.copy(demo_clinic / "patient02" / "backtrack.csv", folder / "flat.csv")
    os.symlink(outside, folder / "elsewhere")
    (folder / "nolog").mkdir()
    (folder / "twologs").mkdir()
    for name in ("a.csv", "b.csv"):
        shutil.copy(demo_clinic / "patient02" / "backtrack.csv", folder / "twologs" / name)
    os.mkfifo(folder / "patient01" / "pipe.csv")
    (folder / ".ipynb_checkpoints").mkdir()
    scan = scan_clinic(folder)
    assert [(p.patient, p.own_folder) for p in scan.patients] == [
        ("flat", False),
        ("patient01", True),
    ]
    reasons = {s.name: s.reason for s in scan.skipped}
    assert reasons["elsewhere"] == "a link to a folder outside the clinic"
    assert reasons["nolog"] == "a patient folder without a log (*.csv)"
    assert reasons["twologs"].startswith("more than one log (a.csv, b.csv)")
    assert "FIFO" in reasons["patient01/pipe.csv"]
    assert set(reasons) == {"elsewhere", "nolog", "twologs", "patient01/pipe.csv"}
    table = trial_records(scan, workers=1).set_index("patient")
    assert table.loc["flat", "status"] == NO_TRIAL and not table.loc["flat", "analysed"]
    assert table.loc["patient01", "status"] == "completed"
    assert trial_flow(table.reset_index())["planned"].tolist() == [1]  # no-trial not counted


def test_a_bad_plan_is_a_problem_line_not_a_crash(tmp_path, demo_clinic, capsys):
    folder = tmp_path / "clinic"
    shutil.copytree(demo_clinic / "patient01", folder / "good")
    shutil.copytree(demo_clinic / "patient02", folder / "broken")
    plan = folder / "broken" / "trial.toml"
    plan.write_text(plan.read_text(encoding="utf-8").replace("seed = ", "seed = 1"), "utf-8")
    assert main(["cohort", str(folder), "--trials"]) == 0
    out, err = capsys.readouterr()
    assert "warning: broken: the trial plan cannot be used:" in err and "blocks" in err
    assert "Traceback" not in err
    broken = next(line for line in out.splitlines() if line.startswith("broken"))
    assert "not analysable" in broken and UNUSABLE_PLAN in out
    document = _json(capsys, "cohort", str(folder), "--trials", "--json")
    rows = {r["patient"]: r for r in document["trials"]}
    assert rows["broken"]["status"] == NOT_ANALYSABLE and rows["broken"]["effect"] is None
    assert rows["good"]["status"] == "completed" and isinstance(rows["good"]["effect"], float)
    flows = {f["comparison"]: f for f in document["flow"]}
    assert flows[UNUSABLE_PLAN]["planned"] == 1 and flows[UNUSABLE_PLAN]["analysed"] == 0


def test_the_demo_clinic_never_overwrites(tmp_path):
    folder = tmp_path / "clinic"
    paths = write_demo_clinic(folder, 2, seed=1, end=END)
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    with pytest.raises(FileExistsError):
        write_demo_clinic(folder, 2, seed=2, end=END)
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    assert [p.name for p in paths] == ["backtrack.csv", "backtrack.csv"]
    assert all(oct(p.stat().st_mode)[-3:] == "600" for p in before)
