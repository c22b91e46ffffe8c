"""Make the README figures from demo data: docs/trend-chart.png and docs/report-page1.png.

Run from the repository root: .venv/bin/python docs/make_figures.py
The report page is rendered from the PDF with ``pdftoppm`` (Debian: poppler-utils).
Fixed seed and dates, so the figures only change when the charts do.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from backtrack import plots, report  # noqa: E402
from backtrack.demo import demo_log  # noqa: E402
from backtrack.routine import default_routine  # noqa: E402

DOCS = Path(__file__).resolve().parent
END = date(2026, 11, 24)
DAYS = 120


def main() -> int:
    log = demo_log(DAYS, seed=1, end=END)
    routine = default_routine()
    daily = plots.daily_for(log, routine)
    chart = DOCS / "trend-chart.png"
    figure = plots.trend_figure(daily, title="Pain and exercise (demo data)")
    chart.write_bytes(plots.png_bytes(figure, dpi=100))  # as the notebook shows it
    print(f"wrote {chart}")

    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        print("pdftoppm not found: apt-get install poppler-utils", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as folder:
        pdf = Path(folder, "report.pdf")
        report.write_report(pdf, log, routine=routine, name="Alex Example", today=END)
        target = DOCS / "report-page1"
        subprocess.run(
            [pdftoppm, "-png", "-r", "90", "-f", "1", "-l", "1", "-singlefile", pdf, target],
            check=True,
        )
    print(f"wrote {target}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
