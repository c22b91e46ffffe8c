"""The logging form in a real browser: JupyterLab (run all) and Voila (the app).

Prints ``TIMING`` lines (run with ``-s``): page open → form usable, Save → confirmation.
Set ``BACKTRACK_SCREENSHOT_DIR`` to also keep a screenshot of each form.
"""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.request
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from backtrack.store import history_for, read_log

pytestmark = pytest.mark.browser


def _screenshot(page, name: str) -> None:
    folder = os.environ.get("BACKTRACK_SCREENSHOT_DIR")
    if folder:
        page.screenshot(path=str(Path(folder) / name), full_page=True)


def _exercise_row(form, name: str):
    return form.locator(".bt-exercise").filter(has=form.page.get_by_label(name, exact=True))


def _set_pain_with_keyboard(form, value: int) -> None:
    handle = form.locator(".widget-slider .noUi-handle")
    handle.focus()
    handle.press("Home")  # the "not set" end
    for _ in range(value + 1):
        handle.press("ArrowRight")


def _first_flow(page, csv: Path, where: str) -> float:
    """Pain 6 by keyboard, tick two exercises, change one's minutes, Save. Returns seconds
    from the Save click to the confirmation."""
    form = page.locator(".bt-log-form")
    pain_box = form.get_by_label("Pain (0-10)")
    assert pain_box.input_value() == ""  # pain starts "not set"
    _set_pain_with_keyboard(form, 6)
    page.wait_for_function("el => el.value === '6'", arg=pain_box.element_handle(), timeout=10_000)
    form.get_by_label("Hip stretch", exact=True).check()
    form.get_by_label("Legs up the wall", exact=True).check()
    minutes = _exercise_row(form, "Hip stretch").get_by_label("minutes")
    minutes.fill("1.5")
    form.get_by_label("Note").fill(f"from {where}, with a comma")
    form.get_by_label("lower back").check()
    started = time.monotonic()
    form.get_by_role("button", name="Save", exact=True).click()
    form.locator(".bt-saved").wait_for()
    took = time.monotonic() - started
    entries = read_log(csv).entries
    assert len(entries) == 1
    row = entries.iloc[0]
    assert row["date"].date() == date.today()
    assert row["pain"] == 6
    assert row["exercises"] == "hip_stretch=1.5;legs_up_wall=2"
    assert row["where"] == "lower_back"
    assert row["note"] == f"from {where}, with a comma"
    assert row["day"] == "routine"
    return took


def test_log_and_correct_in_jupyterlab(page, lab_server):
    started = time.monotonic()
    page.goto(f"{lab_server.url}/lab/tree/01-log.ipynb?{lab_server.query}")
    page.locator("#jp-main-statusbar >> text=Idle").wait_for(timeout=60_000)
    page.locator('.lm-MenuBar-itemLabel:text-is("Run")').click()
    page.locator('.lm-Menu-itemLabel:text-is("Run All Cells")').click()
    form, usable = _form_shown(page, ".jp-OutputArea .bt-log-form", started)
    _screenshot(page, "form-lab.png")
    save_took = _first_flow(page, lab_server.csv, "JupyterLab")
    print(
        f"\nTIMING jupyterlab: open → form usable {usable:.1f} s; save → confirmation "
        f"{save_took:.2f} s"
    )

    # reopen the same date: another date first, then back to today → prefilled
    date_box = form.get_by_label("Date")
    date_box.fill((date.today() - timedelta(days=1)).isoformat())
    form.get_by_text("Nothing logged for this date yet.").wait_for()
    expect(form.get_by_label("Pain (0-10)")).to_have_value("")
    expect(form.get_by_label("Hip stretch", exact=True)).not_to_be_checked()
    date_box.fill(date.today().isoformat())
    form.get_by_text("Already logged for this date (1 save(s)").wait_for()
    expect(form.get_by_label("Pain (0-10)")).to_have_value("6")
    expect(form.get_by_label("Hip stretch", exact=True)).to_be_checked()
    expect(form.get_by_label("Legs up the wall", exact=True)).to_be_checked()
    expect(form.get_by_label("Seated stretch", exact=True)).not_to_be_checked()
    expect(_exercise_row(form, "Hip stretch").get_by_label("minutes")).to_have_value("1.5")
    expect(form.get_by_label("Note")).to_have_value("from JupyterLab, with a comma")

    form.get_by_label("Pain (0-10)").fill("4")
    form.get_by_role("button", name="Save correction").click()
    form.get_by_text("This date now has 2 saves").wait_for()
    form.get_by_text("Already logged for this date (2 save(s)").wait_for()
    form.locator(".bt-saved").scroll_into_view_if_needed()
    _screenshot(page, "form-lab-saved.png")
    history = history_for(read_log(lab_server.csv).entries, date.today())
    assert list(history["pain"]) == [6, 4]
    assert list(history["exercises"]) == ["hip_stretch=1.5;legs_up_wall=2"] * 2


def _form_shown(page, selector: str, started: float):
    """The form once its Save button is there, seconds since ``started``; demo banner shown."""
    form = page.locator(selector)
    form.get_by_role("button", name="Save", exact=True).wait_for(timeout=60_000)
    usable = time.monotonic() - started
    assert "DEMO DATA" in form.inner_text()
    return form, usable


def test_log_a_day_in_voila(page, voila_server):
    started = time.monotonic()
    page.goto(f"{voila_server.url}/?{voila_server.query}")
    form, usable = _form_shown(page, ".bt-log-form", started)
    _screenshot(page, "form-voila.png")
    save_took = _first_flow(page, voila_server.csv, "Voila")
    print(
        f"\nTIMING voila: open → form usable {usable:.1f} s; save → confirmation {save_took:.2f} s"
    )
    assert "Your own log starts here" in form.locator(".bt-saved").inner_text()


@pytest.mark.parametrize("server_fixture", ["lab_server", "voila_server"])
def test_servers_refuse_requests_without_the_token(request, server_fixture):
    """Health data: JupyterLab and Voila answer only with the token, on loopback."""
    server = request.getfixturevalue(server_fixture)
    assert server.url.startswith("http://127.0.0.1:")
    path = "/api/contents/01-log.ipynb" if server_fixture == "lab_server" else "/"
    opener = urllib.request.build_opener(_NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as refused:
        opener.open(server.url + path, timeout=30)
    assert refused.value.code in (302, 403)
    with opener.open(f"{server.url}{path}?{server.query}", timeout=60) as allowed:
        assert allowed.status == 200


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
