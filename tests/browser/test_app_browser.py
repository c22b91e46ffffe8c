"""``make app``: the form alone (no JupyterLab, no terminals), through its own server.

The printed address opens the form at once; no request leaves the server; JupyterLab and
terminals are not there; the token is required. ``LAN=1``: ``test_lan_browser.py``.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from datetime import date

import pytest
from test_log_form_browser import (
    open_form,
    opening_prints,
    outside,
    record_console_errors,
    record_requests,
    screenshot,
)

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


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
