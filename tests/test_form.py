"""The "log a day" form without a browser: set widget values, click, check the CSV."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap
from datetime import UTC, date, datetime, time, timedelta
from functools import partial

import ipywidgets as widgets
import pandas as pd
import pytest
from filelock import FileLock
from hypothesis import given, settings
from hypothesis import strategies as st

from backtrack import actions, store
from backtrack.form import LogForm, LogFormModel, log_form
from backtrack.form.view import NOT_SET
from backtrack.routine import Pause, default_routine
from backtrack.store import read_log
from backtrack.trial import analyse, assignment_on, left_out_in_b, plan_trial, write_plan


def make_form(log_path, today, **kwargs):
    return log_form(log_path, today=today, **kwargs).form


def rows(log_path):
    return read_log(log_path).entries


def test_save_writes_exactly_the_form(log_path, today):
    form = make_form(log_path, today)
    form.pain.value = 6
    form.ticks["floor_relaxation"].value = True
    form.ticks["hip_stretch"].value = True
    form.minutes["hip_stretch"].value = "1.5"
    form.day_type.value = "flare"
    form.where["lower_back"].value = True
    form.where["hips"].value = True
    form.note.value = 'Slept badly, "stiff"\nsecond line'
    form.save.click()

    saved = rows(log_path)
    assert len(saved) == 1
    row = saved.iloc[0]
    assert row["date"].date() == today
    assert row["pain"] == 6
    assert row["exercises"] == "floor_relaxation=5;hip_stretch=1.5"
    assert row["day"] == "flare"
    assert row["where"] == "lower_back;hips"
    assert row["note"] == 'Slept badly, "stiff"\nsecond line'
    assert "bt-saved" in form.status.value
    # the confirmation names the day once, in words (not the save's own time as well)
    assert f"Saved: {today:%A} {today.day} {today:%B %Y} (today)." in form.status.value
    assert "saved 2026" not in form.status.value.split("</b>", 1)[1]
    assert "Current streak" in form.status.value
    assert "7-day mean pain" in form.status.value


def test_demo_banner_then_first_save_creates_only_the_users_row(log_path, today):
    form = make_form(log_path, today)
    assert not log_path.exists()
    assert "DEMO DATA" in form.banner.value
    # a past date shows the demo history, labelled, and does not prefill the form
    form.date.value = today - timedelta(days=2)
    assert "Demo data for this date" in form.history.value
    assert form.pain.value == NOT_SET and form.pain_text.value == ""
    form.date.value = today
    form.pain_text.value = "3"
    form.whole.click()
    form.save.click()
    lines = log_path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(store.COLUMNS)
    assert len(lines) == 2
    assert lines[1].split(",")[1:3] == [today.isoformat(), "3"]
    assert "DEMO DATA" not in form.banner.value
    assert "Your own log starts here" in form.status.value


def test_whole_routine_shortcut_ticks_all_at_their_doses(log_path, today, routine):
    form = make_form(log_path, today)
    form.minutes["hip_stretch"].value = "0.5"
    form.whole.click()
    assert all(box.value for box in form.ticks.values())
    for exercise in routine.exercises:
        expected = "" if exercise.dose_minutes is None else f"{exercise.dose_minutes:g}"
        assert form.minutes[exercise.id].value == expected
    form.pain.value = 0
    form.save.click()
    assert rows(log_path).iloc[0]["exercises"] == (
        "floor_relaxation=5;hip_stretch=2;legs_up_wall=2;seated_stretch=1;wall_squat="
    )
    assert rows(log_path).iloc[0]["pain"] == 0


def test_wall_squat_says_no_dose_and_minutes_are_optional(log_path, today):
    form = make_form(log_path, today)
    row_html = [
        child.value
        for row in form.widget.children
        if "bt-exercise" in row._dom_classes
        for child in row.children[0].children
        if isinstance(child, widgets.HTML)
    ]
    assert sum("no dose set — ask your physio" in h for h in row_html) == 1
    form.pain.value = 4
    form.ticks["wall_squat"].value = True
    form.save.click()
    form.date.value = today - timedelta(days=1)
    form.pain.value = 4
    form.ticks["wall_squat"].value = True
    form.minutes["wall_squat"].value = "3"
    form.save.click()
    assert list(rows(log_path)["exercises"]) == ["wall_squat=", "wall_squat=3"]


def test_correction_prefills_and_adds_a_second_row(log_path, today, now, routine):
    past = today - timedelta(days=3)
    actions.log_day(
        log_path,
        routine=routine,
        pain=5,
        done={"hip_stretch": 1},
        day=past,
        note="first",
        now=now - timedelta(days=1),
    )
    form = make_form(log_path, today)
    assert "Nothing logged" in form.history.value
    form.date.value = past
    assert "Already logged for this date (1 save(s)" in form.history.value
    assert form.pain.value == 5 and form.pain_text.value == "5"
    assert form.ticks["hip_stretch"].value and not form.ticks["floor_relaxation"].value
    assert form.minutes["hip_stretch"].value == "1"
    assert form.note.value == "first"
    assert form.save.description == "Save correction"
    form.pain.value = 7
    form.save.click()
    history = store.history_for(rows(log_path), past)
    assert list(history["pain"]) == [5, 7]
    assert list(history["exercises"]) == ["hip_stretch=1", "hip_stretch=1"]
    assert "(2 save(s)" in form.history.value
    assert "This date now has 2 saves" in form.status.value


def test_rest_day_needs_no_pain(log_path, today):
    form = make_form(log_path, today)
    form.day_type.value = "rest"
    assert form.pain_text.description == "Pain (optional)"
    form.save.click()
    assert rows(log_path).iloc[0]["day"] == "rest"
    assert rows(log_path)["pain"].isna().all()


@pytest.fixture
def existing_log(log_path, today, now, routine):
    """A log with one earlier day, so refused saves can be checked byte for byte."""
    actions.log_day(log_path, routine=routine, pain=4, day=today - timedelta(days=5), now=now)
    return log_path


def _fill_valid(form):
    form.pain.value = 6
    form.ticks["hip_stretch"].value = True
    form.note.value = "typed by the user"


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (lambda f, t: setattr(f.pain_text, "value", ""), "pain", "Set your pain"),
        (lambda f, t: setattr(f.pain_text, "value", "11"), "pain", "from 0 (no pain) to 10"),
        (lambda f, t: setattr(f.date, "value", t + timedelta(days=1)), "date", "in the future"),
        (lambda f, t: setattr(f.date, "value", None), "date", "Pick the date"),
        (
            lambda f, t: setattr(f.minutes["hip_stretch"], "value", "0"),
            "exercises.hip_stretch",
            "Minutes for Hip stretch",
        ),
        (
            lambda f, t: setattr(f.minutes["hip_stretch"], "value", "-1"),
            "exercises.hip_stretch",
            "Untick the exercise if you did not do it",
        ),
        (
            lambda f, t: setattr(f.minutes["hip_stretch"], "value", "241"),
            "exercises.hip_stretch",
            "240",
        ),
        (
            lambda f, t: setattr(f.minutes["hip_stretch"], "value", "two"),
            "exercises.hip_stretch",
            "type a number such as 2 or 1,5 (you typed “two”)",
        ),
    ],
    ids=[
        "pain-missing",
        "pain-11",
        "future-date",
        "no-date",
        "minutes-0",
        "minutes-neg",
        "minutes-241",
        "minutes-text",
    ],
)
def test_refused_input_shows_plain_words_next_to_the_field_and_writes_nothing(
    existing_log, today, change, field, words
):
    before = existing_log.read_bytes()
    form = make_form(existing_log, today)
    if field == "date":  # picking a date comes first (switching it clears the form)
        change(form, today)
    _fill_valid(form)
    if field != "date":
        change(form, today)
    typed_minutes = form.minutes["hip_stretch"].value
    form.save.click()
    assert existing_log.read_bytes() == before
    assert "bt-error" in form.status.value
    assert words in form.errors[field].value  # next to its field, in plain words
    assert "expected an integer" not in form.errors[field].value
    others = [name for name, line in form.errors.items() if line.value and name != field]
    assert others == []
    # what was typed stays in the form
    assert form.note.value == "typed by the user"
    assert form.ticks["hip_stretch"].value
    assert form.minutes["hip_stretch"].value == typed_minutes
    # the error goes once the field is fixed and the day saved
    form.date.value = today
    _fill_valid(form)
    form.minutes["hip_stretch"].value = "2"
    form.save.click()
    assert "bt-saved" in form.status.value and form.errors[field].value == ""


def test_locked_log_shows_message_and_writes_nothing(existing_log, today, monkeypatch):
    monkeypatch.setattr(actions, "append_entry", partial(store.append_entry, timeout=0.2))
    before = existing_log.read_bytes()
    form = make_form(existing_log, today)
    _fill_valid(form)
    with FileLock(f"{existing_log}.lock"):
        form.save.click()
    assert existing_log.read_bytes() == before
    assert "bt-error" in form.status.value and "locked by another save" in form.status.value
    assert form.note.value == "typed by the user"
    form.save.click()  # the lock is free again: the same form saves
    assert len(rows(existing_log)) == 2


def test_bad_rows_are_listed_in_a_warning_banner(existing_log, today):
    with existing_log.open("a", encoding="utf-8") as handle:
        handle.write("2026-11-19T08:00:00+01:00,2026-11-19,12,,routine,,\n")
    form = make_form(existing_log, today)
    assert "bt-warning" in form.banner.value
    assert f"{existing_log}:3:pain: expected" in form.banner.value
    _fill_valid(form)
    form.save.click()  # the good rows and the new one still count
    assert "bt-saved" in form.status.value


def test_bad_header_refuses_the_save(log_path, today):
    log_path.parent.mkdir(parents=True)
    log_path.write_text("when,what\n2026-11-19,x\n", encoding="utf-8")
    before = log_path.read_bytes()
    form = make_form(log_path, today)
    assert "bt-warning" in form.banner.value
    _fill_valid(form)
    form.save.click()
    assert log_path.read_bytes() == before
    assert "bt-error" in form.status.value
    assert f"{log_path}:1:recorded_at" in form.status.value


def test_callback_errors_are_not_swallowed(log_path, today, monkeypatch):
    form = make_form(log_path, today)

    def broken() -> bool:
        raise RuntimeError("boom")

    monkeypatch.setattr(form.model, "save", broken)
    assert form.out.outputs == ()
    form.save.click()  # ipywidgets logs button-callback errors; the form must show them
    shown = "".join(o.get("text", "") for o in form.out.outputs)
    assert "RuntimeError: boom" in shown and "Traceback" in shown
    with pytest.raises(RuntimeError, match="boom"):  # value callbacks raise to the setter
        monkeypatch.setattr(form.model, "set_done", lambda *a: broken())
        form.ticks["hip_stretch"].value = True


def _controls(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _controls(child)


def test_every_control_has_a_visible_text_label(log_path, today):
    form = make_form(log_path, today)
    controls = [
        w
        for w in _controls(form.widget)
        if isinstance(
            w,
            widgets.Checkbox
            | widgets.Text
            | widgets.Textarea
            | widgets.DatePicker
            | widgets.ToggleButtons
            | widgets.Button,
        )
    ]
    assert len(controls) > 15
    for control in controls:
        assert control.description.strip(), control
        if isinstance(control, widgets.Button):
            assert not control.icon


def test_model_alone(log_path, today, routine):
    from datetime import datetime

    clock = lambda: datetime.combine(today, datetime.min.time()).astimezone()  # noqa: E731
    model = LogFormModel(log_path, routine, clock)
    assert model.demo and model.day == today and model.pain_text == ""
    assert model.pain_required
    model.tick_all()
    assert model.done_minutes() == {
        e.id: None if e.dose_minutes is None else f"{e.dose_minutes:g}" for e in routine.exercises
    }
    model.set_minutes("hip_stretch", " 1.5 ")
    model.set_done("wall_squat", False)
    assert model.done_minutes()["hip_stretch"] == "1.5"
    assert "wall_squat" not in model.done_minutes()
    assert not model.save()  # pain not set
    assert model.message.kind == "error" and not log_path.exists()
    model.pain_text = "2"
    assert model.save()
    assert not model.demo and model.correcting and len(model.history) == 1
    model.select_date(today - timedelta(days=1))  # values loaded from today do not carry over
    assert not model.correcting and model.history == [] and model.pain_text == ""
    model.note = "typed before picking the date"
    model.select_date(today - timedelta(days=2))  # nor do typed ones, silently
    assert model.note == "" and model.draft.values["note"] == "typed before picking the date"
    assert model.message.kind == "warning" and "was not saved" in model.message.title
    model.restore_draft()  # unless asked for
    assert model.note == "typed before picking the date" and model.draft is None
    model.select_date(today)
    assert model.pain_text == "2" and model.minutes["hip_stretch"] == "1.5"


def test_logging_path_imports_no_matplotlib_or_scipy_until_confirmed(tmp_path):
    """Opening the form and saving up to the confirmation import none; the 4-week
    sparkline drawn once the confirmation is out imports matplotlib."""
    script = textwrap.dedent(
        f"""
        import json, sys
        from backtrack.form import log_form
        def heavy():
            return sorted(m for m in sys.modules if m.split(".")[0] in
                          ("matplotlib", "scipy", "statsmodels"))
        form = log_form({str(tmp_path / "log.csv")!r}).form
        opened = heavy()
        at_confirmation = []
        form.model.observe(lambda change: at_confirmation.append(heavy()), names="message")
        form.pain.value = 5
        form.whole.click()
        form.save.click()
        assert "bt-saved" in form.status.value, form.status.value
        assert form.glance.value[1:4] == b"PNG"  # the sparkline, drawn after
        print(json.dumps([opened, at_confirmation[-1], "matplotlib" in sys.modules]))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    opened, at_confirmation, afterwards = json.loads(done.stdout.strip().splitlines()[-1])
    assert opened == [] and at_confirmation == []  # open and Save → confirmation: none
    assert afterwards  # the sparkline after the confirmation draws with matplotlib
    assert (tmp_path / "log.csv").exists()


def test_typed_minutes_tick_their_exercise_and_are_saved(log_path, today):
    """Issue 13: minutes typed for an unticked exercise were dropped ("no exercises")."""
    form = make_form(log_path, today)
    form.pain.value = 3
    assert not form.ticks["legs_up_wall"].value
    form.minutes["legs_up_wall"].value = "1.5"
    assert form.ticks["legs_up_wall"].value  # the view shows the tick at once
    form.minutes["wall_squat"].value = "3"
    form.save.click()
    assert rows(log_path).iloc[0]["exercises"] == "legs_up_wall=1.5;wall_squat=3"
    # unticking afterwards is respected (typing is what ticks, not the text being there)
    form.ticks["wall_squat"].value = False
    form.save.click()
    assert rows(log_path).iloc[-1]["exercises"] == "legs_up_wall=1.5"


def test_switching_the_date_never_carries_unsaved_values_over(existing_log, today):
    """Issue 13: after refused saves a leftover pain was saved on a rest day meant to be
    unrated. Switching the date shows that date's save (or an empty form) and says that
    the typed values were not saved; they come back only when asked for."""
    form = make_form(existing_log, today)
    form.pain_text.value = "5"
    form.minutes["hip_stretch"].value = "two"
    form.save.click()
    form.save.click()  # refused twice
    assert "bt-error" in form.status.value
    logged = today - timedelta(days=5)  # has a save: pain 4, nothing done
    form.date.value = logged
    assert form.pain_text.value == "4" and not any(t.value for t in form.ticks.values())
    assert "was not saved" in form.status.value
    assert form.restore.layout.display == ""
    form.date.value = today - timedelta(days=1)  # nothing logged: an empty form
    assert form.pain_text.value == "" and form.minutes["hip_stretch"].value == ""
    assert form.restore.layout.display == ""  # today's typing can still be put back
    form.day_type.value = "rest"
    form.save.click()
    assert form.restore.layout.display == "none"  # saving ends the offer
    saved = rows(existing_log).iloc[-1]
    assert saved["day"] == "rest" and saved["exercises"] == ""
    assert pd.isna(saved["pain"])  # not rated: no leftover 5


def test_put_back_what_i_typed(log_path, today):
    form = make_form(log_path, today)
    form.pain.value = 7
    form.ticks["seated_stretch"].value = True
    form.note.value = "meant for yesterday"
    form.date.value = today - timedelta(days=1)
    assert form.pain_text.value == "" and form.note.value == ""
    form.restore.click()
    assert form.pain_text.value == "7" and form.note.value == "meant for yesterday"
    assert form.ticks["seated_stretch"].value and form.restore.layout.display == "none"
    form.save.click()
    row = rows(log_path).iloc[0]
    assert row["date"].date() == today - timedelta(days=1) and row["pain"] == 7


def test_save_is_disabled_while_it_runs(log_path, today, monkeypatch):
    from backtrack.form import model as form_model

    seen = []
    real = form_model.log_day

    def watching(*args, **kwargs):
        seen.append((form.save.disabled, form.model.saving))
        return real(*args, **kwargs)

    monkeypatch.setattr(form_model, "log_day", watching)
    form = make_form(log_path, today)
    form.pain.value = 2
    form.save.click()
    assert seen == [(True, True)]
    assert not form.save.disabled and "bt-saved" in form.status.value


@pytest.mark.parametrize(
    "error",
    [OSError(28, "No space left on device"), OSError(5, "Input/output error")],
    ids=["disk-full", "fsync-failed"],
)
def test_a_failing_write_is_shown_in_plain_words(existing_log, today, monkeypatch, error):
    """Issue 11: saves can raise OSError; the form says so and keeps what was typed."""

    def failing(*args, **kwargs):
        raise error

    monkeypatch.setattr(actions, "append_entry", failing)
    before = existing_log.read_bytes()
    form = make_form(existing_log, today)
    _fill_valid(form)
    form.save.click()  # no traceback: the message is in the form
    assert existing_log.read_bytes() == before
    assert "bt-error" in form.status.value
    assert "could not be written" in form.status.value and error.strerror in form.status.value
    assert form.out.outputs == ()
    assert form.note.value == "typed by the user" and form.ticks["hip_stretch"].value


def test_a_double_click_on_save_gives_one_row(log_path, today):
    """Issue 11: a double-click gave two identical rows 32 ms apart."""
    form = make_form(log_path, today)
    form.pain.value = 5
    form.whole.click()
    form.save.click()
    form.save.click()  # the second click of a double-click, after the first save ended
    assert len(rows(log_path)) == 1
    assert "Already saved" in form.status.value and "not saved twice" in form.status.value
    form.pain.value = 6  # a real change a moment later is a correction, appended
    form.save.click()
    assert list(rows(log_path)["pain"]) == [5, 6]


def test_decimal_comma_minutes(log_path, today):
    form = make_form(log_path, today)
    form.pain_text.value = "2"
    form.minutes["hip_stretch"].value = "2,5"
    form.save.click()
    assert rows(log_path).iloc[0]["exercises"] == "hip_stretch=2.5"


def test_remove_this_day_asks_first_then_withdraws_it(log_path, today, now, routine):
    """Issue 11 item 10: a day saved on the wrong date can be taken back in the form."""
    day = today - timedelta(days=5)
    actions.log_day(log_path, routine=routine, pain=4, day=day, now=now - timedelta(days=1))
    existing_log = log_path
    form = make_form(existing_log, today)
    assert form.remove.layout.display == "none"  # today: nothing to remove
    form.date.value = day
    assert form.remove.layout.display == "" and form.remove_confirm.layout.display == "none"
    form.remove.click()
    assert form.remove_confirm.layout.display == ""
    assert f"Remove {day:%A} {day.day} {day:%B %Y} from your log?" in form.remove_question.value
    form.remove_no.click()  # kept
    assert form.remove_confirm.layout.display == "none" and len(rows(existing_log)) == 1
    form.remove.click()
    form.remove_yes.click()
    history = store.history_for(rows(existing_log), day)
    assert list(history["day"]) == ["routine", "void"]  # appended, history kept
    assert "now counts as not logged" in form.status.value
    assert "Removed from the log" in form.history.value
    assert form.save.description == "Save" and form.pain_text.value == ""
    assert form.remove.layout.display == "none"
    form.pain_text.value = "3"  # saving the date again logs it again
    form.save.click()
    assert list(store.history_for(rows(existing_log), day)["day"]) == [
        "routine",
        "void",
        "routine",
    ]


def test_a_page_left_open_overnight_does_not_save_for_yesterday(log_path, routine, now):
    """The form's date is today *when it was opened*; a tab kept open until the next
    evening would silently save for the day before."""
    clock = {"now": now}
    form = LogForm(LogFormModel(log_path, routine, lambda: clock["now"]))
    form.pain.value = 3
    form.whole.click()
    clock["now"] = now + timedelta(days=1)  # the next evening, same page
    form.save.click()
    assert not log_path.exists()  # not saved for yesterday, nor yet for today
    assert form.date.value == now.date() + timedelta(days=1)
    assert "the date now shows today" in form.errors["date"].value
    assert form.pain_text.value == "3" and all(t.value for t in form.ticks.values())
    form.save.click()  # the second Save saves for today
    row = rows(log_path).iloc[0]
    assert row["date"].date() == now.date() + timedelta(days=1) and row["pain"] == 3


def test_a_date_picked_by_the_user_is_kept_whatever_the_clock(log_path, routine, now):
    clock = {"now": now}
    form = LogForm(LogFormModel(log_path, routine, lambda: clock["now"]))
    form.date.value = now.date() - timedelta(days=1)  # chosen on purpose
    form.pain.value = 2
    clock["now"] = now + timedelta(days=1)
    form.save.click()
    assert rows(log_path).iloc[0]["date"].date() == now.date() - timedelta(days=1)


def test_unsaved_values_survive_several_date_switches(log_path, today):
    """Typing a date digit by digit passes through several dates: the values typed
    before are still there to put back at the end."""
    form = make_form(log_path, today)
    form.pain.value = 8
    form.note.value = "typed first"
    for days in (30, 3, 1):
        form.date.value = today - timedelta(days=days)
        assert form.note.value == "" and form.restore.layout.display == ""
    form.restore.click()
    assert form.note.value == "typed first" and form.pain_text.value == "8"
    assert form.date.value == today - timedelta(days=1)


# ----------------------------------------------------------------- issue 24: typed = saved


def test_minutes_boxes_are_empty_with_the_dose_as_placeholder(log_path, today, now, routine):
    """Issue 24 item 1: the boxes held the dose as a value, so typing the dose changed
    nothing and ticked nothing. Empty form and a correction's unticked rows alike."""
    form = make_form(log_path, today)
    for exercise in routine.exercises:
        box = form.minutes[exercise.id]
        assert box.value == ""
        dose = "optional" if exercise.dose_minutes is None else f"{exercise.dose_minutes:g}"
        assert box.placeholder == dose
    past = today - timedelta(days=2)
    actions.log_day(log_path, routine=routine, pain=3, done={"hip_stretch": 1}, day=past, now=now)
    form = make_form(log_path, today)
    form.date.value = past
    assert {eid: box.value for eid, box in form.minutes.items()} == {
        eid: "1" if eid == "hip_stretch" else "" for eid in routine.ids
    }


@pytest.mark.parametrize("day_type", ["routine", "rest", "flare"])
def test_typing_the_dose_into_an_unticked_box_ticks_it_and_saves_it(
    log_path, today, routine, day_type
):
    """Issue 24 item 1, as reproduced: flare day, pain 8, type Legs up the wall's dose
    "2" into its box, Save → was "no exercises". Every exercise, every day type."""
    for n, exercise in enumerate(routine.exercises):
        form = make_form(log_path, today)
        form.date.value = today - timedelta(days=n)
        form.day_type.value = day_type
        form.pain_text.value = "8"
        typed = "3" if exercise.dose_minutes is None else f"{exercise.dose_minutes:g}"
        form.minutes[exercise.id].value = typed
        assert form.ticks[exercise.id].value
        form.save.click()
        assert "bt-saved" in form.status.value, form.status.value
        row = rows(log_path).iloc[-1]
        assert (row["day"], row["pain"]) == (day_type, 8)
        assert row["exercises"] == f"{exercise.id}={typed}"


def test_any_text_typed_ticks_its_exercise_and_is_what_a_save_sends(log_path, now, routine):
    """Whatever is typed (valid or not: the save judges it) ticks the exercise and is
    exactly what goes to the save; blank text leaves the tick as it was."""
    model = LogFormModel(log_path, routine, lambda: now)

    @settings(max_examples=300, deadline=None)
    @given(
        exercise=st.sampled_from(routine.ids),
        text=st.text(st.sampled_from("0123456789.,- a"), max_size=6),
        ticked=st.booleans(),
    )
    def check(exercise, text, ticked):
        model.clear()
        model.set_done(exercise, ticked)
        model.set_minutes(exercise, text)
        assert model.minutes[exercise] == text
        assert model.done[exercise] == (ticked or bool(text.strip()))
        sent = model.done_minutes()
        if model.done[exercise]:
            assert sent[exercise] == (text.strip() or None)
        else:
            assert exercise not in sent
        assert set(sent) <= {exercise}  # no other exercise moved
        model.set_done(exercise, False)  # unticking leaves no number that is not saved
        assert model.minutes[exercise] == "" and exercise not in model.done_minutes()

    check()


def _trial_log(tmp_path):
    log = tmp_path / "backtrack.csv"
    plan = plan_trial(
        a="full routine",
        b="without wall squat",
        start=TRIAL_START,
        seed=2,
        b_without=("wall_squat",),
        routine=default_routine(),
    )
    write_plan(tmp_path / "trial.toml", plan)
    return log, plan


TRIAL_START = date(2026, 6, 1)


def test_whole_routine_on_a_trial_day_ticks_that_days_routine_only(tmp_path):
    """Issue 24 item 2: on a B day that leaves out wall squat the button ticked it, so
    every one-tap B day was a protocol deviation. Every day of the trial, and around it."""
    log, plan = _trial_log(tmp_path)
    everything = set(default_routine().ids)
    for offset in range(-2, plan.total_days + 2):
        day = TRIAL_START + timedelta(days=offset)
        model = LogFormModel(log, clock=lambda day=day: datetime.combine(day, time(20), UTC))
        model.tick_all()
        ticked = {eid for eid, on in model.done.items() if on}
        assigned = assignment_on(plan, day)
        expected = everything - set(
            left_out_in_b(plan, model.routine)
            if assigned is not None and assigned.block.condition == "B"
            else ()
        )
        assert ticked == expected, (day, assigned)


def test_one_tap_b_days_are_no_deviation(tmp_path):
    """A B day (after its washout) and an A day logged with the button: the trial's own
    analysis counts no deviation, and the A day has every exercise."""
    log, plan = _trial_log(tmp_path)
    b = next(b for b in plan.blocks if b.condition == "B")
    a = next(b for b in plan.blocks if b.condition == "A")
    days = [block.start + timedelta(days=plan.washout_days) for block in (b, a)]
    for day in days:
        form = log_form(log, today=day).form
        form.pain_text.value = "4"
        form.whole.click()
        form.save.click()
        assert "bt-saved" in form.status.value, form.status.value
    entries = rows(log)
    saved = dict(zip(entries["date"].dt.date, entries["exercises"], strict=True))
    assert "wall_squat" not in saved[days[0]]
    assert saved[days[1]].count("=") == 5
    result = analyse(plan, entries, default_routine(), today=plan.end)
    assert result.deviations == {"A": 0, "B": 0}


def test_whole_routine_follows_a_routine_file_and_its_pauses(tmp_path):
    """A routine.toml's exercises, less those paused that day, never the default five."""
    (tmp_path / "routine.toml").write_text(
        'title = "Short"\n'
        '[[exercise]]\nid = "hip_stretch"\nname = "Hip stretch"\ndose_minutes = 3\n'
        '[[exercise]]\nid = "bridge"\nname = "Glute bridge"\n',
        encoding="utf-8",
    )
    log = tmp_path / "backtrack.csv"
    form = log_form(log, today=TRIAL_START).form
    form.pain_text.value = "2"
    form.whole.click()
    form.save.click()
    assert rows(log).iloc[-1]["exercises"] == "hip_stretch=3;bridge="
    model = form.model  # a pause on one day, e.g. a self-trial's B block
    paused = TRIAL_START - timedelta(days=2)
    model.routine = dataclasses.replace(
        model.routine, pauses=(Pause("bridge", paused, paused, "test"),)
    )
    for offset in range(1, 4):  # days with no save yet
        day = TRIAL_START - timedelta(days=offset)
        expected = {"hip_stretch"} if day == paused else {"hip_stretch", "bridge"}
        model.select_date(day)
        model.tick_all()
        assert {eid for eid, on in model.done.items() if on} == expected


def test_the_confirmation_says_which_streak(log_path, today, now, routine):
    """Issue 24 item 8: a backfilled full day read "Current streak: 0" (yesterday not
    logged); a partial day today broke the streak. The confirmation names each streak's
    end date and the rule; today, only partly done so far, ends nothing."""
    full = dict.fromkeys(routine.ids)
    for back in (5, 4):  # two full days, then a gap
        day = today - timedelta(days=back)
        actions.log_day(log_path, routine=routine, pain=3, done=full, day=day, now=now)
    form = make_form(log_path, today)
    form.date.value = today - timedelta(days=3)  # backfill the day after them, in full
    form.pain_text.value = "3"
    form.whole.click()
    form.save.click()
    status = form.status.value
    assert "Current streak: 0 full-routine days, up to today" in status  # days 2, 1 missed
    saved = today - timedelta(days=3)
    assert f"Streak up to {saved:%A} {saved.day} {saved:%B %Y}: 3 full-routine days." in status
    assert "How a streak counts: a day with the whole routine adds 1" in status
    for back in (2, 1):
        actions.log_day(
            log_path, routine=routine, pain=3, done=full, day=today - timedelta(days=back), now=now
        )
    form = make_form(log_path, today)
    form.pain_text.value = "3"
    form.ticks["hip_stretch"].value = True  # today, part of the routine so far
    form.save.click()
    status = form.status.value
    assert "Current streak: 5 full-routine days, up to today" in status
    assert "Streak up to" not in status  # the saved day is today: one streak


def test_banners_and_confirmations_name_no_file_path(log_path, today):
    """Issue 24 item 10: full file paths in the banners read as jargon to a patient."""
    form = make_form(log_path, today)
    shown = [form.banner.value]
    form.pain_text.value = "3"
    form.save.click()  # the first save: the user's own log starts
    shown.append(form.status.value)
    assert "Your own log starts here" in form.status.value
    form.pain_text.value = "4"
    form.save.click()  # a correction
    shown.append(form.status.value)
    assert all("bt-" in html for html in shown)
    for html in shown:
        assert str(log_path) not in html and str(log_path.parent) not in html


def test_the_save_bar_says_what_the_last_save_did(log_path, today):
    """Deliver 3: after Save, the bar that stays on the screen says so, with the streak;
    a refusal says so there too (its reason sits next to its field)."""
    form = make_form(log_path, today)
    assert form.bar_note.value == ""
    form.save.click()  # pain not set
    assert "Not saved: one entry needs a look" in form.bar_note.value
    form.pain_text.value = "2"
    form.whole.click()
    form.save.click()
    note = form.bar_note.value
    assert f"Saved: {today:%A} {today.day} {today:%B %Y} (today)." in note
    assert "Current streak: 1 full-routine day, up to today" in note


# ----------------------------------------------------------------------------- at a glance


def test_after_save_the_form_shows_the_sparkline_of_the_last_28_days(log_path, today):
    from matplotlib.figure import Figure

    from backtrack import metrics, plots

    for back in (40, 30, 20, 9, 3, 2):  # days before the 4 weeks too, and gaps
        actions.log_day(log_path, routine=default_routine(), pain=back % 11, done={},
                        day=today - timedelta(days=back), day_type="routine")  # fmt: skip
    form = make_form(log_path, today)
    assert form.glance.value == b"" and form.glance_box.layout.display == "none"
    form.pain.value = 5
    form.whole.click()
    form.save.click()
    assert form.glance_box.layout.display == "" and form.glance.value[:4] == b"\x89PNG"
    model = form.model
    daily = metrics.daily_series(rows(log_path), model.routine, end=today)
    pd.testing.assert_frame_equal(model.glance_daily(), daily)
    fig = model.glance()
    assert isinstance(fig, Figure)
    pain = next(line for line in fig.axes[0].lines if line.get_gid() == "pain")
    recent = daily.iloc[-28:]
    assert recent.index[-1].date() == today and len(recent) == 28
    assert pain.get_ydata().tolist() == pytest.approx(
        recent["pain"].tolist(), nan_ok=True
    )  # 9 and 3 days ago, today 5; not logged = NaN
    assert form.glance.value == plots.png_bytes(fig, dpi=90)


def test_the_sparkline_of_a_first_save_after_the_demo(log_path, today):
    form = make_form(log_path, today)
    assert form.model.demo
    form.pain.value = 2
    form.whole.click()
    form.save.click()
    pain = next(line for line in form.model.glance().axes[0].texts)
    assert pain.get_text() == "Not enough data yet: needs 2 logged days in 4 weeks, has 1"


# ----------------------------------------------------------------------------- same as usual

HIP, SEATED = {"hip_stretch": "2", "seated_stretch": "1"}, {"seated_stretch": "1.5"}
PATTERNS = {"hip+seated": HIP, "seated": SEATED, "none": {}}


def usual_by_hand(days: list[tuple[str, str]]) -> dict[str, str]:
    """The definition read plainly: routine days with an exercise, 3+ of one pattern, more
    than any other."""
    counts: dict[str, int] = {}
    for kind, name in days:
        if kind == "routine" and PATTERNS[name]:
            counts[name] = counts.get(name, 0) + 1
    best = sorted(counts.values(), reverse=True)
    if not best or best[0] < 3 or (len(best) > 1 and best[1] == best[0]):
        return {}
    return dict(PATTERNS[next(n for n, c in counts.items() if c == best[0])])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["routine", "rest", "flare", "gap"]), st.sampled_from(list(PATTERNS))
        ),
        max_size=17,
    )
)
def test_usual_is_the_most_common_pattern_of_the_14_days_before(tmp_path_factory, days):
    """Days 17..1 before the chosen date (the first 3 outside the 14-day window), each a
    routine, rest or flare day with one of three patterns, or not logged."""
    from backtrack.form.model import usual_pattern

    path = tmp_path_factory.mktemp("usual") / "log.csv"
    chosen = date(2026, 11, 30)
    for back, (kind, name) in zip(range(len(days), 0, -1), days, strict=True):
        if kind != "gap":
            actions.log_day(path, routine=default_routine(), pain=None if kind == "rest" else 3,
                            done=PATTERNS[name], day=chosen - timedelta(days=back),
                            day_type=kind)  # fmt: skip
    entries = read_log(path).entries if path.exists() else pd.DataFrame()
    window = days[-14:]
    assert usual_pattern(entries, default_routine(), chosen) == usual_by_hand(window)


def test_same_as_usual_fills_the_usual_day_and_still_needs_the_pain(log_path, today):
    for back in (1, 2, 3):
        actions.log_day(log_path, routine=default_routine(), pain=4, done=HIP,
                        day=today - timedelta(days=back), day_type="routine")  # fmt: skip
    actions.log_day(log_path, routine=default_routine(), pain=4, done=SEATED,
                    day=today - timedelta(days=4), day_type="routine")  # fmt: skip
    form = make_form(log_path, today)
    assert form.model.usual == HIP and form.usual.layout.display == ""
    assert "Hip stretch 2 min" in form.usual.tooltip
    form.ticks["wall_squat"].value = True
    form.day_type.value = "flare"
    form.usual.click()  # 1 tap
    assert form.model.day_type == "routine"
    assert {e for e, ticked in form.model.done.items() if ticked} == set(HIP)
    form.save.click()  # no pain: refused, nothing written
    assert "bt-error" in form.status.value and "Set your pain" in form.errors["pain"].value
    assert len(rows(log_path)) == 4
    form.pain_text.value = "3"  # pain
    form.save.click()  # 2 taps
    saved = store.history_for(rows(log_path), today)
    assert list(saved["exercises"]) == ["hip_stretch=2;seated_stretch=1"]
    assert list(saved["pain"]) == [3] and list(saved["day"]) == ["routine"]


def test_no_same_as_usual_in_the_demo_or_without_a_usual_day(log_path, today):
    form = make_form(log_path, today)
    assert form.model.demo and form.model.usual == {} and form.usual.layout.display == "none"
    form.model.same_as_usual()  # nothing to fill: nothing changes
    assert not any(form.model.done.values())


def test_removing_a_day_redraws_the_sparkline_without_it(log_path, today):
    actions.log_day(log_path, routine=default_routine(), pain=6, done={},
                    day=today - timedelta(days=1), day_type="routine")  # fmt: skip
    form = make_form(log_path, today)
    form.pain.value = 2
    form.whole.click()
    form.save.click()
    with_today = form.glance.value
    form.remove.click()
    form.remove_yes.click()
    assert "Removed" in form.status.value
    assert form.glance.value != with_today
    pain = next(x for x in form.model.glance().axes[0].texts)  # one logged day left
    assert pain.get_text().startswith("Not enough data yet")


@pytest.mark.parametrize("day_type", ["routine", "rest", "flare"])
@pytest.mark.parametrize("pain", [None, "", "  ", "no rating", " No Rating ", "4", "11"])
def test_check_pain_no_rating_only_when_said(day_type, pain):
    """Pain may be left out on a rest day, or on any day when the person says "no rating";
    never by leaving it empty on a routine or flare day."""
    said = isinstance(pain, str) and pain.strip().casefold() == actions.NO_RATING
    empty = pain is None or (isinstance(pain, str) and not pain.strip())
    if pain == "11" or (empty and day_type != "rest"):
        with pytest.raises(actions.InputError):
            actions.check_pain(pain, day_type)
    else:
        assert actions.check_pain(pain, day_type) == (None if said or empty else 4)


def test_same_as_usual_saves_without_pain_only_after_no_rating(log_path, today):
    for back in (1, 2, 3):
        actions.log_day(log_path, routine=default_routine(), pain=4, done=HIP,
                        day=today - timedelta(days=back), day_type="routine")  # fmt: skip
    form = make_form(log_path, today)
    form.usual.click()
    form.save.click()
    assert "No pain rating today" in form.errors["pain"].value and len(rows(log_path)) == 3
    form.unrated.value = True  # the person says so
    assert form.pain_text.description == "Pain (optional)"
    form.save.click()
    saved = store.history_for(rows(log_path), today).iloc[-1]
    assert pd.isna(saved["pain"]) and saved["exercises"] == "hip_stretch=2;seated_stretch=1"
    reopened = make_form(log_path, today)  # a correction shows what was said
    assert reopened.unrated.value and reopened.pain_text.value == ""
    reopened.pain_text.value = "5"  # typing a pain takes it back
    assert not reopened.model.unrated and not reopened.unrated.value
    reopened.unrated.value = True
    assert reopened.model.pain_text == "" and reopened.pain.value == NOT_SET
