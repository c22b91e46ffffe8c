"""The project's exceptions.

Every error names what it is about (a field, a file position, a TOML key), what was
expected and what was found, in the style of attrs' validators. Input errors are
``ValueError`` subclasses; a log locked by another save is an ``OSError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

LISTED = 10
"""How many names a message lists before it says how many more there are."""


def listed(names: Sequence[str], limit: int = LISTED) -> str:
    """Names quoted and joined for a message, the first ``limit`` of them, then
    ``… and 29,990 more``: a message never grows with the input."""
    shown = ", ".join(repr(name) for name in names[:limit])
    if len(names) > limit:
        shown += f", … and {len(names) - limit:,} more"
    return shown


class FieldError(ValueError):
    """One value is not what its field allows (e.g. pain 11 on the 0-10 scale)."""

    def __init__(self, field: str, expected: str, found: object) -> None:
        self.field = field
        self.expected = expected
        self.found = found
        super().__init__(f"{field}: expected {expected}, found {found!r}")


class InputError(FieldError):
    """A user action was refused; nothing was written."""


@dataclass(frozen=True)
class LogProblem:
    """A problem at one place in a log file: ``path:line:column: message``.

    ``line`` is the physical line (1-based) where the CSV record starts; ``column`` is the
    column's name (or ``#N`` for a field beyond the header).
    """

    path: str
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.message}"


class OutputError(FieldError):
    """An output file was refused (the log, a device, another kind of file, ...): nothing
    was written and the target is as it was. ``field`` is the target path."""

    def __init__(self, path: str, expected: str, found: str) -> None:
        super().__init__(path, expected, found)
        self.args = (f"{path}: {found}; expected {expected}; nothing was written",)


class LogFormatError(ValueError):
    """A log file has rows that do not follow the schema.

    Carries ``path``, ``line`` and ``column`` of the first problem, and ``problems``, the
    whole list (every bad row is reported, not just the first).
    """

    def __init__(self, problems: list[LogProblem]) -> None:
        if not problems:
            raise TypeError("LogFormatError needs at least one problem")
        first = problems[0]
        self.problems = list(problems)
        self.path = first.path
        self.line = first.line
        self.column = first.column
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        super().__init__(f"{first}{more}")


class SettingsFileError(ValueError):
    """A settings file (TOML) is invalid: names the file, the key, expected and found."""

    def __init__(self, path: str, key: str, expected: str, found: object) -> None:
        self.path = path
        self.key = key
        self.expected = expected
        self.found = found
        super().__init__(f"{path}: {key}: expected {expected}, found {found!r}")


class RoutineError(SettingsFileError):
    """A routine file is invalid."""


class TrialPlanError(SettingsFileError):
    """A self-trial plan is invalid, or would replace a running trial."""


class UserFileError(ValueError):
    """A user's file cannot be read as one: not a regular file (a folder, a FIFO, a
    device), or larger than the bound for its kind. Names the path, what was expected
    and what was found; nothing was read."""

    def __init__(self, path: str, expected: str, found: str) -> None:
        self.path = path
        self.expected = expected
        self.found = found
        super().__init__(f"{path}: expected {expected}, found {found}; nothing was read")


class LogLockedError(OSError):
    """Another save holds the log's lock for longer than we wait."""

    def __init__(self, path: str, waited_seconds: float) -> None:
        self.path = path
        self.waited_seconds = waited_seconds
        super().__init__(
            f"{path}: the log is locked by another save (waited {waited_seconds:g} s); "
            "nothing was written, try again"
        )


class SaveFailedError(OSError):
    """A save could not be completed (the write or fsync failed, or the folder cannot
    hold a log); the message says whether the file was left as it was."""
