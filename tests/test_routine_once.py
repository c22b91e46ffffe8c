"""One routine answer everywhere: with a ``routine.toml`` beside the log, every public
entry point (summary, report, plots, cohort, form, CLI) gives the same adherence."""

from __future__ import annotations

import json
from datetime import date

import pytest

from backtrack import metrics, plots, report
from backtrack.cli import main
from backtrack.cohort import summarise
from backtrack.demo import write_demo
from backtrack.overview import summary
from backtrack.routine import default_routine, load_routine_file
from backtrack.store import read_log
from backtrack.trial import routine_of

CUSTOM = (
    'title = "One long exercise"\nsource = "test"\nsafety = []\n\n[[exercise]]\n'
    'id = "floor_relaxation"\nname = "Relaxation"\ndose_minutes = 50\n'
)


@pytest.fixture
def log_path(tmp_path):
    path = write_demo(tmp_path / "clinic" / "log.csv", days=120, seed=6, end=date(2026, 3, 1))
    (path.parent / "routine.toml").write_text(CUSTOM, encoding="utf-8")
    return path


def adherence(path, routine) -> float:
    daily = metrics.daily_since(read_log(path, strict=False).entries, routine)
    return metrics.adherence_window(daily, 28).value


def test_every_entry_point_uses_the_routine_beside_the_log(log_path, capsys):
    custom = load_routine_file(log_path.parent / "routine.toml")
    want = adherence(log_path, custom)
    assert want < adherence(log_path, default_routine()) - 0.3  # the routine matters here
    log = read_log(log_path, strict=False)
    assert routine_of(log).title == routine_of(log_path).title == "One long exercise"

    assert summary(log_path).adherence_28day.value == want
    assert summary(log).adherence_28day.value == want
    data = report.report_data(log)
    assert data.routine.title == "One long exercise"
    assert data.summary.adherence_28day.value == want
    assert metrics.adherence_window(plots.daily_for(log), 28).value == want
    assert summarise([log_path]).loc[0, "adherence_28day"] == want
    assert main(["summary", "--json", "--csv", str(log_path)]) == 0
    assert json.loads(capsys.readouterr().out)["adherence_28day"] == want
    assert main(["cohort", "--json", str(log_path.parent)]) == 0
    assert json.loads(capsys.readouterr().out)[0]["adherence_28day"] == want

    from backtrack.form import LogFormModel

    form = LogFormModel(csv=log_path)
    assert form.routine.title == "One long exercise"


def test_a_routine_given_still_wins_everywhere(log_path):
    default = default_routine()
    want = adherence(log_path, default)
    log = read_log(log_path, strict=False)
    assert summary(log, routine=default).adherence_28day.value == want
    assert report.report_data(log, routine=default).summary.adherence_28day.value == want
    assert metrics.adherence_window(plots.daily_for(log, default), 28).value == want
    assert summarise([log_path], routine=default).loc[0, "adherence_28day"] == want
