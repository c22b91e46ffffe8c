"""The cohort on a real ``distributed.LocalCluster`` (2 worker processes, 127.0.0.1 only):
the same table as the local run, problems reported from a worker, a worker killed mid-run
loses and duplicates no patient."""

from __future__ import annotations

import json
import os
import signal
from datetime import date, timedelta

import distributed
import pandas as pd
import pytest

from backtrack.cli import main
from backtrack.clinic_trials import trial_records, write_demo_clinic
from backtrack.cohort import iter_rows, log_files, summarise
from backtrack.demo import write_demo

END = date(2026, 3, 1)
pytestmark = pytest.mark.slow


def _cluster() -> distributed.LocalCluster:
    return distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",  # health data: nothing listens beyond this machine
        scheduler_port=0,
    )


@pytest.fixture(scope="module")
def cluster():
    with _cluster() as running:
        yield running


@pytest.fixture
def clinic(tmp_path):
    folder = tmp_path / "clinic"
    for i, days in enumerate((12, 40, 90, 200)):
        write_demo(folder / f"p{i}.csv", days=days, seed=i + 3, end=END - timedelta(days=i))
    good = (folder / "p2.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    fields = good[4].split(",")
    fields[2] = "11"  # pain on line 5
    (folder / "bad.csv").write_text("".join([*good[:4], ",".join(fields), *good[5:]]))
    return folder


def test_cli_json_on_the_cluster_equals_the_local_run(clinic, cluster, capsys):
    assert main(["cohort", str(clinic), "--json"]) == 0
    local = capsys.readouterr()
    assert main(["cohort", str(clinic), "--json", "--scheduler", cluster.scheduler_address]) == 0
    remote = capsys.readouterr()
    assert json.loads(remote.out) == json.loads(local.out)
    assert remote.out == local.out
    assert len(json.loads(local.out)) == 5


def test_a_bad_file_is_reported_by_name_and_line_from_a_worker(clinic, cluster, routine):
    table = summarise(
        log_files(clinic), routine=routine, scheduler=cluster.scheduler_address
    ).set_index("patient")
    problems = table.loc["bad", "problems"]
    assert len(problems) == 1 and problems[0].startswith(f"{clinic / 'bad.csv'}:5:pain:")
    assert "found '11'" in problems[0]
    assert table.loc["bad", "days_logged"] > 0  # its valid rows still count
    local = summarise(log_files(clinic), routine=routine, workers=1).set_index("patient")
    pd.testing.assert_frame_equal(table, local)


def test_a_worker_killed_mid_run_loses_and_duplicates_no_patient(tmp_path, routine):
    folder = tmp_path / "many"
    for i in range(60):
        write_demo(folder / f"p{i:02d}.csv", days=400, seed=i, end=END)
    paths = log_files(folder)
    with _cluster() as cluster, distributed.Client(cluster.scheduler_address) as client:
        rows = iter_rows(paths, routine=routine, scheduler=cluster.scheduler_address)
        seen = [next(rows)["path"]]
        processing = client.processing()
        busy = max(processing, key=lambda worker: len(processing[worker]))
        assert processing[busy], "no task was running: the kill would not be mid-run"
        pid = client.run(os.getpid, workers=[busy])[busy]
        os.kill(pid, signal.SIGKILL)
        seen += [row["path"] for row in rows]
    assert len(seen) == len(paths) and sorted(seen) == paths
    assert len(seen) > 1


def test_an_unreachable_scheduler_is_refused_as_input(clinic, capsys):
    assert main(["cohort", str(clinic), "--scheduler", "tcp://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert "--scheduler" in err and "Traceback" not in err


def test_two_clinics_at_once_on_one_cluster_get_their_own_rows(clinic, tmp_path, cluster, routine):
    """Task keys belong to one run: two runs at the same time never share a result."""
    from concurrent.futures import ThreadPoolExecutor

    other = tmp_path / "other"
    for i in range(5):
        write_demo(other / f"q{i}.csv", days=60 + 20 * i, seed=100 + i, end=END)
    folders = [clinic, other]
    with ThreadPoolExecutor(2) as pool:
        tables = list(
            pool.map(
                lambda folder: summarise(
                    log_files(folder), routine=routine, scheduler=cluster.scheduler_address
                ),
                folders,
            )
        )
    for folder, table in zip(folders, tables, strict=True):
        local = summarise(log_files(folder), routine=routine, workers=1)
        pd.testing.assert_frame_equal(table, local)


def test_a_clinics_trials_on_the_cluster_equal_the_local_run(tmp_path, cluster, capsys):
    folder = tmp_path / "trials"
    write_demo_clinic(folder, 8, seed=5, end=END)
    write_demo(folder / "flat.csv", days=30, seed=1, end=END)  # no trial
    today = END + timedelta(days=1)
    remote = trial_records(folder, scheduler=cluster.scheduler_address, today=today)
    pd.testing.assert_frame_equal(remote, trial_records(folder, workers=1, today=today))
    pd.testing.assert_frame_equal(remote, trial_records(folder, workers=2, today=today))
    assert set(remote["status"]) == {
        "completed",
        "running",
        "stopped early",
        "planned",
        "no trial",
    }
    assert main(["cohort", str(folder), "--trials", "--json"]) == 0
    local = capsys.readouterr().out
    address = cluster.scheduler_address
    assert main(["cohort", str(folder), "--trials", "--json", "--scheduler", address]) == 0
    assert capsys.readouterr().out == local
