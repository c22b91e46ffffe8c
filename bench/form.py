"""Time the daily moment in a real browser, through ``make lab``'s own server.

Starts ``python -m backtrack.serve lab`` (what ``make lab`` runs) on a temporary copy of
the notebooks and measures, on a quiet machine and again with 4 busy processes
(``python -c "while True: pass"``, on this 2-core machine):

- cold: bookmark opened → form usable (its Save button there) after the server was
  restarted (same address, the browser's cache kept, as after a reboot), one restart
  per repeat: once it has heated the next page's kernel (the tracker started at login,
  the bookmark opened later) and, the worst case, as soon as it answers (the page then
  waits for the kernel being heated);
- warm: the same on a running server, once the kernel for the next page is heated
  (``backtrack/kernels.py``; as when a person opens the bookmark hours after the last
  time), then Save → confirmation on that page;
- interactions a typical day takes ('Same as usual'), counted in the browser.

Prints each median (and fastest) and the load average before each part. Targets (issue
24 Deliver 2): open → usable ≤ 0.8 s quiet, cold or warm, ≤ 2 s with 4 busy processes;
Save → confirmation ≤ 0.3 s; pain + 2 interactions a day.

Usage: ``.venv/bin/python bench/form.py [repeats]`` (Debian chromium at /usr/bin/chromium).
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from conftest import CHROMIUM_ARGS, _tracker  # noqa: E402  (the browser tests' server)

TYPICAL_DAY = (
    "type the pain (0-10) in its box",
    "click 'Did the whole routine'",
    "click Save",
)
BUSY = 4
"""Busy processes of the loaded runs (issue 24: 5-10 s were seen at load 9)."""


def _open(page, address: str) -> tuple[object, float]:
    started = time.monotonic()
    page.goto(address)
    form = page.locator(".bt-log-form")
    form.get_by_role("button", name="Save", exact=True).or_(
        form.get_by_role("button", name="Save correction")
    ).wait_for(timeout=60_000)
    return form, time.monotonic() - started


@contextlib.contextmanager
def busy(processes: int) -> Iterator[None]:
    """``processes`` busy loops for the duration (none for 0), ended by their ids."""
    loops = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(processes)
    ]
    try:
        time.sleep(1 if loops else 0)
        yield
    finally:
        for loop in loops:
            loop.terminate()
            loop.wait(timeout=10)


def _settle(lab) -> None:
    """Until the kernel for the next page is heated (a server without heated kernels,
    before ``backtrack/kernels.py``: a 3 s pause, for its last page's kernel to end)."""
    if any("backtrack_heated" in kernel for kernel in lab.kernels()):
        lab.wait_heated()
    else:
        time.sleep(3)


def _load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def measure(browser, repeats: int) -> dict[str, list[float]]:
    """On one server (its address, so the browser's cache, kept): cold opens after a
    restart (as soon as it answers, and once it heated its kernel), then warm opens and
    saves."""
    found: dict[str, list[float]] = {"cold": [], "cold heated": [], "warm": [], "save": []}
    with tempfile.TemporaryDirectory(prefix="backtrack-bench-form-") as folder:
        servers = _tracker("lab", Path(folder))
        lab = next(servers)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            _open(page, lab.address)  # the browser has the page's scripts, as a person's has
            for _ in range(repeats):
                for kind in ("cold", "cold heated"):
                    lab.restart()  # it answers
                    if kind == "cold heated":
                        _settle(lab)
                    found[kind].append(_open(page, lab.address)[1])
            for number in range(repeats):
                _settle(lab)  # as when the bookmark is opened hours after the last time
                form, took = _open(page, lab.address)
                found["warm"].append(took)
                # the typical day, scripted: pain, whole routine, Save (3 interactions)
                form.get_by_label("Pain (0-10)").fill(str(number % 11))
                form.get_by_role("button", name="Did the whole routine").click()
                before = form.locator(".bt-saved").count()
                started = time.monotonic()
                form.get_by_role("button", name="Save", exact=True).or_(
                    form.get_by_role("button", name="Save correction")
                ).click()
                form.locator(".bt-saved").nth(before).wait_for()
                found["save"].append(time.monotonic() - started)
            page.close()
        finally:
            next(servers, None)
    return found


def _line(what: str, values: list[float], unit: str = "s", target: str = "") -> str:
    scale, digits = (1000, 0) if unit == "ms" else (1, 2)
    median, fastest = statistics.median(values) * scale, min(values) * scale
    return (
        f"  {what}, {len(values)}: median {median:.{digits}f} {unit}, "
        f"fastest {fastest:.{digits}f} {unit}" + (f" (target {target})" if target else "")
    )


def main(repeats: int = 5) -> int:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=os.environ.get("BACKTRACK_CHROMIUM", "/usr/bin/chromium"),
            args=CHROMIUM_ARGS,
            headless=True,
        )
        for processes, target in ((0, "≤ 0.8 s"), (BUSY, "≤ 2 s")):
            with busy(processes):
                print(f"{processes} busy processes, {_load()} at the start (2 cores)", flush=True)
                found = measure(browser, repeats)
                print(_line("bookmark → usable, cold: as the new server answers", found["cold"]))
                print(
                    _line(
                        "bookmark → usable, cold: new server, kernel heated",
                        found["cold heated"],
                        "s",
                        target,
                    )  # fmt: skip
                )
                print(_line("bookmark → usable, warm", found["warm"], "s", target))
                print(_line("Save → confirmation", found["save"], "ms", "≤ 300 ms"))
                print(f"  {_load()} at the end", flush=True)
        browser.close()
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
