"""backtrack: a private, local tracker for a home back-pain exercise routine.

The log is a CSV the person owns (see :mod:`backtrack.schema`); :mod:`backtrack.store`
appends to it durably and reads it with validation; :mod:`backtrack.actions` holds the
user actions shared by the ``backtrack`` command and the widget form.
"""

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
]
__version__ = "0.1.0"
