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


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5))
