"""Time the logging form in a real browser: page open → form usable, Save → confirmation.

Runs the browser tests (JupyterLab and Voila, Debian chromium) and prints their TIMING
lines. Usage: ``.venv/bin/python bench/form.py [repeats]``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(repeats: int = 1) -> int:
    for _ in range(repeats):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "no:cacheprovider",
                "-q",
                "-s",
                "tests/browser",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        lines = [line for line in done.stdout.splitlines() if line.startswith("TIMING")]
        print("\n".join(lines) or done.stdout[-2000:])
        if done.returncode != 0:
            return done.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1))
