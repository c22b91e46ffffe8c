"""Time the daily moment in a real browser, through ``make lab``'s own server.

Starts ``python -m backtrack.serve lab`` (what ``make lab`` runs) on a temporary copy of
the notebooks, opens the printed address once to warm it up, then ``repeats`` times:
address opened → form usable (its Save button there), and Save → confirmation. Prints
medians and fastest, the load average, and the interactions a scripted typical day needs.
Targets (issue 13): open → usable ≤ 3 s on a warm server, save → confirmation ≤ 0.3 s.

Usage: ``.venv/bin/python bench/form.py [repeats]`` (Debian chromium at /usr/bin/chromium).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from conftest import CHROMIUM_ARGS, _tracker  # noqa: E402  (the browser tests' server)

TYPICAL_DAY = (
    "type the pain (0-10) in its box",
    "click 'Did the whole routine'",
    "click Save",
)


def _open(page, address: str) -> tuple[object, float]:
    started = time.monotonic()
    page.goto(address)
    form = page.locator(".bt-log-form")
    form.get_by_role("button", name="Save", exact=True).or_(
        form.get_by_role("button", name="Save correction")
    ).wait_for(timeout=60_000)
    return form, time.monotonic() - started


def main(repeats: int = 5) -> int:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="backtrack-bench-form-") as folder:
        servers = _tracker("lab", Path(folder))
        lab = next(servers)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=os.environ.get("BACKTRACK_CHROMIUM", "/usr/bin/chromium"),
                    args=CHROMIUM_ARGS,
                    headless=True,
                )
                page = browser.new_page(viewport={"width": 1280, "height": 1000})
                _, cold = _open(page, lab.address)  # the server's first page
                opens, saves = [], []
                for number in range(repeats):
                    form, took = _open(page, lab.address)
                    opens.append(took)
                    # the typical day, scripted: pain, whole routine, Save (3 interactions)
                    form.get_by_label("Pain (0-10)").fill(str(number % 11))
                    form.get_by_role("button", name="Did the whole routine").click()
                    before = form.locator(".bt-saved").count()
                    started = time.monotonic()
                    form.get_by_role("button", name="Save", exact=True).or_(
                        form.get_by_role("button", name="Save correction")
                    ).click()
                    form.locator(".bt-saved").nth(before).wait_for()
                    saves.append(time.monotonic() - started)
                # the alternative measured against: the notebook in JupyterLab, Run All
                lab_page = browser.new_page(viewport={"width": 1280, "height": 1000})
                started = time.monotonic()
                lab_page.goto(f"{lab.url}/lab/tree/01-log.ipynb?{lab.query}")
                lab_page.locator("#jp-main-statusbar >> text=Idle").wait_for(timeout=60_000)
                lab_page.locator('.lm-MenuBar-itemLabel:text-is("Run")').click()
                lab_page.locator('.lm-Menu-itemLabel:text-is("Run All Cells")').click()
                lab_page.locator(".jp-OutputArea .bt-log-form").get_by_role(
                    "button", name="Save correction"
                ).wait_for(timeout=60_000)
                in_lab = time.monotonic() - started
                browser.close()
        finally:
            next(servers, None)
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (2 cores)")
    print(f"first open of a fresh server (cold): {cold:.2f} s")
    print(
        f"open → form usable, warm server, {repeats} opens: median "
        f"{statistics.median(opens):.2f} s, fastest {min(opens):.2f} s (target ≤ 3 s)"
    )
    print(
        f"Save → confirmation, {repeats} saves: median {statistics.median(saves) * 1000:.0f} ms,"
        f" fastest {min(saves) * 1000:.0f} ms (target ≤ 300 ms)"
    )
    print(
        f"the alternative, same warm server: JupyterLab on 01-log.ipynb, Run All → form "
        f"usable {in_lab:.2f} s (and 2 more clicks: Run, Run All Cells)"
    )
    print(f"a typical day: {len(TYPICAL_DAY)} interactions: " + "; ".join(TYPICAL_DAY))
    return 0


USUAL = {"hip_stretch": "2", "seated_stretch": "1"}
"""The usual day of the interaction count: part of the routine, so "Same as usual" is
the one tap that fills it (the whole routine is "Did the whole routine")."""


def count_interactions(days: int = 7) -> list[int]:
    """Interactions per day for ``days`` normal days, counted as a person makes them in
    the browser (each fill or click on the form; picking the date being logged is left
    out, since on the day itself the form opens on it): after 3 earlier days of
    :data:`USUAL`, each day is pain, "Same as usual", Save, and the CSV row must be
    exactly that day. Its own server, so the timing part above is not disturbed."""
    from datetime import date, timedelta

    from playwright.sync_api import sync_playwright

    from backtrack.actions import log_day
    from backtrack.routine import default_routine
    from backtrack.store import history_for, read_log

    today = date.today()
    counts = []
    with tempfile.TemporaryDirectory(prefix="backtrack-bench-taps-") as folder:
        servers = _tracker("lab", Path(folder))
        lab = next(servers)
        try:
            for back in range(days + 3, days, -1):
                log_day(lab.csv, routine=default_routine(), pain=4, done=USUAL,
                        day=today - timedelta(days=back), day_type="routine")  # fmt: skip
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=os.environ.get("BACKTRACK_CHROMIUM", "/usr/bin/chromium"),
                    args=CHROMIUM_ARGS,
                    headless=True,
                )
                page = browser.new_page(viewport={"width": 390, "height": 844})
                form, _ = _open(page, lab.address)
                for back in range(days, 0, -1):
                    day = today - timedelta(days=back)
                    form.get_by_label("Date").fill(day.isoformat())
                    form.get_by_text("Nothing logged for this date yet.").wait_for()
                    taps = 0
                    form.get_by_label("Pain (0-10)").fill(str(back % 11))
                    taps += 1
                    form.get_by_role("button", name="Same as usual").click()
                    taps += 1
                    form.get_by_role("button", name="Save", exact=True).click()
                    taps += 1
                    form.locator(".bt-bar-note").get_by_text(
                        f"Saved: {day:%A} {day.day} {day:%B %Y}", exact=False
                    ).wait_for()
                    saved = history_for(read_log(lab.csv).entries, day)
                    if list(saved["exercises"]) != ["hip_stretch=2;seated_stretch=1"]:
                        raise SystemExit(f"{day}: saved {list(saved['exercises'])}")
                    if list(saved["pain"]) != [back % 11]:
                        raise SystemExit(f"{day}: pain {list(saved['pain'])}")
                    counts.append(taps)
                browser.close()
        finally:
            next(servers, None)
    print(
        f"interactions per normal day ('Same as usual'), {days} days in the browser: "
        f"{counts} (target: pain + 2 = 3)"
    )
    return counts


if __name__ == "__main__":
    code = main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
    count_interactions()
    sys.exit(code)
