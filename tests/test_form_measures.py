"""The form's "This week's questions" (issue 28 item 1) without a browser: the PEG, PSFS
and PGIC asked on the right days by a simulated clock, never blocking the daily save,
and saved through ``actions.save_answers`` into the measures file."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest

from backtrack import actions
from backtrack.cli import main
from backtrack.form import LogForm, LogFormModel
from backtrack.form import measures_model as measures_model_module
from backtrack.form.measures_model import TITLE, MeasuresModel
from backtrack.measures_file import current_answers, measures_path, read_measures
from backtrack.store import read_log
from backtrack.trial import plan_trial, trial_path, write_plan


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def days(self, n: int) -> None:
        self.now += timedelta(days=n)


@pytest.fixture
def now():
    """A simulated 'now' months in the past: the readers refuse saves from the future,
    and the simulated clock runs on for weeks."""
    return datetime(2026, 6, 1, 20, 15, tzinfo=timezone(timedelta(hours=1)))


@pytest.fixture
def started(log_path, routine, now):
    """A log with its first day logged ``now`` (the PGIC counts from it)."""
    actions.log_day(log_path, routine=routine, now=now, day=now.date(), pain=5, done=[])
    return log_path


def stored(log_path):
    return current_answers(read_measures(measures_path(log_path), strict=True))


def answer_everything_due(model: MeasuresModel) -> None:
    if "peg" in model.due:
        for item, value in enumerate((6, 5, 7)):
            model.set_peg(item, value)
    if "psfs" in model.due:
        if model.naming:
            model.set_activity(0, "walk the dog")
            model.set_activity(1, "sit through a film")
        model.set_rating(0, 4)
        model.set_rating(1, 3)
    if "pgic" in model.due:
        model.set_pgic(3)
    assert model.save(), model.message


def test_asked_on_the_right_days_over_a_simulated_month(started, now):
    """Answering whatever is asked each day for 30 days: the PEG every 7 days from the
    first, the PSFS at the start (named) then every 14, the PGIC from day 28 (hand-made
    schedule: day numbers since the first day logged)."""
    clock = Clock(now)
    model = MeasuresModel(started, clock, start=lambda: now.date())
    asked: dict[str, list[int]] = {"peg": [], "psfs": [], "pgic": []}
    named = []
    for day in range(30):
        model.reload()
        for measure in model.due:
            asked[measure].append(day)
        if "psfs" in model.due:
            named.append((day, model.naming, tuple(model.activities)))
        if model.due:
            answer_everything_due(model)
        assert model.due == [], (day, model.reasons, model.message)  # nothing more today
        clock.days(1)
    assert asked == {"peg": [0, 7, 14, 21, 28], "psfs": [0, 14, 28], "pgic": [28]}
    assert named[0] == (0, True, ("",) * 5)
    carried = ("walk the dog", "sit through a film")
    assert named[1:] == [(14, False, carried), (28, False, carried)]
    sets = stored(started)
    others = sorted((a.measure, (a.date - now.date()).days) for a in sets if a.measure != "peg")
    assert others == [("pgic", 28), ("psfs", 0), ("psfs", 14), ("psfs", 28)]
    assert {a.values for a in sets if a.measure == "peg"} == {(6, 5, 7)}


def test_a_pgic_is_not_asked_before_four_weeks_and_a_peg_trial_asks_at_block_ends(
    started, now, routine
):
    clock = Clock(now)
    start = now.date() + timedelta(days=1)
    plan = plan_trial(a="x", b="y", pairs=2, start=start, seed=1, outcome="peg")
    write_plan(trial_path(started), plan)
    model = MeasuresModel(started, clock, start=lambda: now.date(), trial=lambda: plan)
    answer_everything_due(model)  # day 0: the baseline PEG and PSFS
    first = plan.blocks[0]
    asked = []
    for _ in range(14):
        clock.days(1)
        model.reload()
        assert "pgic" not in model.due  # not before 4 weeks from the first day
        if "peg" in model.due:
            asked.append(clock.now.date())
            assert "self-trial" in model.reasons[0] or "days since" in model.reasons[0]
            answer_everything_due(model)
    # day 7 by the weekly rule is the first block's last day; the trial window (a block's
    # last 3 days, after washout) asks from 2 days before that, once per block
    second = plan.blocks[1]
    assert asked == [first.end - timedelta(days=2), second.end - timedelta(days=2)]


def test_a_daily_save_never_needs_the_questions(started, now, routine, monkeypatch):
    calls = []
    original = measures_model_module.save_answers
    monkeypatch.setattr(
        measures_model_module,
        "save_answers",
        lambda *a, **k: calls.append(k) or original(*a, **k),
    )
    clock = Clock(now + timedelta(days=1))
    form = LogForm(LogFormModel(started, routine, clock))
    questions = form.measures
    assert questions.widget.selected_index is None  # collapsed below the daily Save
    assert questions.widget.get_title(0) == TITLE
    children = form.widget.children
    assert children.index(questions.widget) > children.index(form.save_bar)
    assert questions.model.due == ["peg", "psfs"]  # the PSFS: never named yet
    questions.peg[0].value = "7"  # half answered, then the daily save
    form.pain_text.value = "4"
    form.save.click()
    assert len(read_log(started).entries) == 2 and "bt-saved" in form.status.value
    assert not measures_path(started).exists()
    assert questions.peg[0].value == "7"  # what was typed is still there
    questions.save.click()  # a PEG answered in part is refused, nothing written
    assert "all three PEG questions" in questions.status.value
    assert not measures_path(started).exists() and calls == []
    questions.peg[1].value = "5"
    questions.peg[2].value = "6"
    questions.save.click()
    assert [a.values for a in stored(started)] == [(7, 5, 6)]
    assert calls and calls[0]["peg"] == [7, 5, 6]
    assert "score 6.0/10" in questions.status.value


def test_psfs_named_in_the_form_is_what_the_command_writes(started, now, routine, tmp_path):
    form = LogForm(LogFormModel(started, routine, Clock(now)))
    q = form.measures
    assert q.model.due == ["peg", "psfs"] and q.model.naming
    shown = lambda: [row.layout.display != "none" for row in q.psfs_rows]  # noqa: E731
    assert shown() == [True, False, False, False, False]  # one box, then one more per name
    q.names[0].value = "  walk the dog "
    q.ratings[0].value = "4"
    assert shown() == [True, True, False, False, False]
    q.names[1].value = "=sit through a film"
    q.ratings[1].value = "3"
    q.save.click()
    other = tmp_path / "cli" / "backtrack.csv"
    code = main(["log", "--psfs", "walk the dog=4,=sit through a film=3", "--csv", str(other)])
    assert code == 0
    form_rows = measures_path(started).read_text(encoding="utf-8").splitlines()
    cli_rows = measures_path(other).read_text(encoding="utf-8").splitlines()
    assert form_rows[0] == cli_rows[0]  # header
    assert form_rows[1].split(",", 2)[2] == cli_rows[1].split(",", 2)[2]  # all but the times
    assert q.model.due == ["peg"]  # the PSFS is answered for today; the PEG skipped
    assert not q.model.naming and q.model.activities == ["walk the dog", "=sit through a film"]


def test_not_now_and_an_empty_save_write_nothing(started, now, routine):
    form = LogForm(LogFormModel(started, routine, Clock(now)))
    q = form.measures
    q.save.click()
    assert "Nothing answered" in q.status.value and not measures_path(started).exists()
    q.not_now.click()
    assert q.widget.layout.display == "none" and not measures_path(started).exists()


def test_the_demo_asks_nothing_until_the_first_save(log_path, now, routine):
    form = LogForm(LogFormModel(log_path, routine, Clock(now)))
    assert form.model.demo and form.measures.widget.layout.display == "none"
    form.pain_text.value = "3"
    form.save.click()
    assert form.measures.model.due == ["peg", "psfs"]
    assert form.measures.widget.layout.display == ""


def test_a_clock_at_midnight_asks_for_the_day_it_is(started, now):
    late = Clock(datetime.combine(now.date() + timedelta(days=7), time(0, 1), now.tzinfo))
    assert MeasuresModel(started, late, start=lambda: now.date()).due == ["peg", "psfs"]


def test_a_measures_file_that_cannot_be_read_never_blocks_the_daily_log(started, now, routine):
    measures_path(started).mkdir()  # a folder where the file should be: unreadable
    form = LogForm(LogFormModel(started, routine, Clock(now + timedelta(days=1))))
    assert form.measures.model.due == [] and "cannot be read" in form.measures.status.value
    form.pain_text.value = "3"
    form.save.click()
    assert len(read_log(started).entries) == 2
