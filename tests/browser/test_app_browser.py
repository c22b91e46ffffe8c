"""``make app``: the form alone (no JupyterLab, no terminals), through its own server.

The printed address opens the form at once; no request leaves the server; JupyterLab and
terminals are not there; the token is required; this week's questions are answered below
the daily Save. ``LAN=1``: ``test_lan_browser.py``.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from datetime import date, datetime

import pytest
from playwright.sync_api import expect
from test_log_form_browser import (
    PHONE,
    open_form,
    opening_prints,
    outside,
    record_console_errors,
    record_requests,
    screenshot,
)

from backtrack.actions import log_day
from backtrack.measures_file import current_answers, measures_path, read_measures
from backtrack.routine import default_routine
from backtrack.store import read_log

pytestmark = pytest.mark.browser


def test_printed_address_opens_the_form_alone(page, app):
    assert "demo data" in app.printed and "/lab?" not in app.printed
    urls = record_requests(page)
    errors = record_console_errors(page)
    form, usable = open_form(page, app.address)
    assert form.get_by_role("link", name="JupyterLab: trends, analysis, report").count() == 0
    form.get_by_label("Pain (0-10)").fill("2")
    form.get_by_role("button", name="Did the whole routine").click()
    form.get_by_role("button", name="Save", exact=True).click()
    form.locator(".bt-saved").wait_for()
    row = read_log(app.csv).entries.iloc[-1]
    assert row["date"].date() == date.today() and row["pain"] == 2
    assert outside(urls, app.port) == []
    page.wait_for_load_state("networkidle")
    assert errors == []
    screenshot(page, "form-app.png")
    print(f"\nTIMING app form: open → usable {usable:.2f} s")


def test_the_start_prints_no_warnings(app):
    """A warning at each start (jupyter-server's about the deprecated ServerApp.token,
    read by notebook_shim) teaches a person to ignore what the server prints."""
    assert app.startup_warnings() == []


def test_the_start_prints_only_the_address_and_what_to_do(app):
    """Issue 24: the terminal shows backtrack's lines (the address, what to do), none of
    jupyter-server's start-up log (20 INFO lines, a second address)."""
    assert app.startup_server_lines() == []
    assert "/voila/render/01-log.ipynb?token=" in app.printed


def test_opening_the_form_prints_no_server_line(page, app):
    """See the lab's test of the same name: no kernel or notebook warning at an open."""
    assert opening_prints(page, app) == []


def test_no_jupyterlab_no_terminals_and_the_token_is_required(app):
    opener = urllib.request.build_opener(_NoRedirect)
    for path in ("/lab", "/api/terminals"):
        with pytest.raises(urllib.error.HTTPError) as missing:
            opener.open(f"{app.url}{path}?{app.query}", timeout=30)
        assert missing.value.code == 404, path
    with pytest.raises(urllib.error.HTTPError) as refused:
        opener.open(f"{app.url}/voila/render/01-log.ipynb", timeout=30)
    assert refused.value.code in (302, 403)


def test_the_form_shows_todays_self_trial_condition(page, app):
    """Issue 14: during a self-trial the form says what today is (block, condition,
    washout) and what B leaves out."""
    from datetime import timedelta

    from backtrack.routine import default_routine
    from backtrack.trial import assignment_on, plan_trial, trial_path, write_plan

    plan = plan_trial(
        a="full routine",
        b="without wall squat",
        pairs=6,
        start=date.today() - timedelta(days=9),
        seed=2,
        b_without=("wall_squat",),
        routine=default_routine(),
    )
    path = write_plan(trial_path(app.csv), plan, replace=True)
    try:
        today = assignment_on(plan, date.today())
        form, _ = open_form(page, app.address)
        text = form.inner_text()
        assert "Self-trial" in text
        assert today.text() in text
        assert text.count("Trial day 10 of 84") == 1
        if today.block.condition == "B":
            assert "B leaves out: Wall squat" in text
        screenshot(page, "form-trial.png")
    finally:
        path.unlink()


def test_answer_the_peg_below_the_daily_save(browser, app):
    """Issue 28 item 1: with a log begun, the PEG is offered in a collapsed panel below
    the daily Save (which stays on a phone's first screen); answered there, it is in
    the measures file and the daily log is unchanged."""
    now = datetime.now().astimezone()
    if not app.csv.exists():  # run alone: the first test of this module saves a day
        log_day(app.csv, routine=default_routine(), now=now, day=now.date(), pain=4, done=[])
    before = len(read_log(app.csv).entries)
    page = browser.new_context(viewport=PHONE).new_page()
    page.set_default_timeout(30_000)
    try:
        form, _ = open_form(page, app.address)
        save = form.get_by_role("button", name="Save correction")
        assert save.bounding_box()["y"] + save.bounding_box()["height"] <= PHONE["height"]
        panel = form.locator(".bt-measures")
        panel.get_by_text("This week's questions (1 minute)").click()
        for key, value in (("pain", "6"), ("enjoyment", "5"), ("activity", "7")):
            row = panel.locator(f".bt-q-PEG-{key}")
            row.get_by_role("button", name=value, exact=True).click()
            expect(row.locator(".mod-active")).to_have_text(value)
        panel.get_by_role("button", name="Save answers").click()
        expect(panel.locator(".bt-measures-saved")).to_contain_text("score 6.0/10")
        panel.scroll_into_view_if_needed()
        screenshot(page, "form-questions-phone.png", full_page=False)
        sets = current_answers(read_measures(measures_path(app.csv), strict=True))
        assert [(a.measure, a.date, a.values) for a in sets] == [("peg", now.date(), (6, 5, 7))]
        assert len(read_log(app.csv).entries) == before  # the daily log is not touched
        wide = page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        assert wide, "the questions make the phone page pan sideways"
    finally:
        page.context.close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
