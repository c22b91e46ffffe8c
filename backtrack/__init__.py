"""backtrack: a private, local tracker for a home back-pain exercise routine.

The log is a CSV the person owns (see :mod:`backtrack.schema`); :mod:`backtrack.store`
appends to it durably and reads it with validation; :mod:`backtrack.actions` holds the
user actions shared by the ``backtrack`` command and the widget form;
:func:`summary` answers "is it working?" (:mod:`backtrack.metrics`, :mod:`backtrack.stats`).
"""

from __future__ import annotations

import os
from datetime import date
from typing import TYPE_CHECKING

from .errors import (
    FieldError,
    InputError,
    LogFormatError,
    LogLockedError,
    LogProblem,
    RoutineError,
)

__all__ = [
    "FieldError",
    "InputError",
    "LogFormatError",
    "LogLockedError",
    "LogProblem",
    "RoutineError",
    "summary",
]
__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Sequence

    import pandas as pd

    from .measures import Answers
    from .overview import Summary
    from .routine import Routine
    from .store import LogData


def summary(
    log: LogData | pd.DataFrame | str | os.PathLike[str],
    *,
    routine: Routine | None = None,
    today: date | None = None,
    since: date | str | None = None,
    baseline: tuple[date | str | None, date | str | None] | None = None,
    phase_start: date | str | None = None,
    answers: Sequence[Answers] | None = None,
) -> Summary:
    """Is it working? Pain, change vs baseline, adherence, streak, trend and the links
    for a log (a ``LogData``, its ``entries`` frame or a path); ``baseline`` = (start,
    end) a chosen baseline period, ``phase_start`` a before/after date, ``answers`` the
    function measures' answers (default: the measures file beside the log); see
    :func:`backtrack.overview.summary`. Imports the analysis only when called."""
    from .overview import summary as _summary  # lazy: the analysis loads on the first call

    return _summary(
        log,
        routine=routine,
        today=today,
        since=since,
        baseline=baseline,
        phase_start=phase_start,
        answers=answers,
    )
