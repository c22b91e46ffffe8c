"""The files no output command replaces: the log and what backtrack keeps beside it
(the measures file among them).

Every command that writes a file (``report``, ``trial report``, ``export``, ``remind
--ics``, ``repair``, ``trial plan``/``stop``) passes :func:`kept_files` to
:func:`backtrack._files.write_private`, which refuses them even with ``--force``.
"""

from __future__ import annotations

import os
from pathlib import Path

from .measures_file import kept_measures_files
from .routine import ROUTINE_FILE_NAME
from .store import APPENDED_SUFFIX, LOCK_SUFFIX
from .trial import TRIAL_FILE_NAME


def kept_files(log_path: str | os.PathLike[str], *, plan: bool = True) -> dict[Path, str]:
    """The log, its lock and append note, the measures file beside it (and its lock and
    note), the routine and (``plan``; the trial commands write it) the trial plan beside
    it, each with what it is (for the refusal's message)."""
    log = Path(log_path)
    kept = {
        log: "the log",
        Path(f"{log}{LOCK_SUFFIX}"): "the log's lock file",
        Path(f"{log}{APPENDED_SUFFIX}"): "the log's append note",
        log.with_name(ROUTINE_FILE_NAME): "the routine beside the log",
        **kept_measures_files(log),
    }
    if plan:
        kept[log.with_name(TRIAL_FILE_NAME)] = "the self-trial plan beside the log"
    return kept
