"""Session-wide test settings, shared by pytest tests and nbval notebook runs.

Notebooks run by nbval inherit this process's environment: point them at a throwaway log
(never the user's data/backtrack.csv) and a non-interactive matplotlib backend.
"""

import os
import tempfile

_SESSION_DIR = tempfile.mkdtemp(prefix="backtrack-tests-")


def pytest_configure(config):
    os.environ["BACKTRACK_CSV"] = os.path.join(_SESSION_DIR, "data", "backtrack.csv")
    os.environ.setdefault("MPLBACKEND", "Agg")
