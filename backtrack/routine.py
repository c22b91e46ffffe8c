"""The exercise routine: ids, prescribed doses (minutes per day), purpose and how-to.

The default is the source article's five exercises (``default_routine.toml``, beside
this module). A physiotherapist replaces it with a TOML file of the same shape, chosen by
``--routine``/``$BACKTRACK_ROUTINE`` or found as ``routine.toml`` beside the log. Ids are
stable: the log stores them, and entries naming ids no longer in the routine still load.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from ._files import SETTINGS_LIMIT, read_user_file
from .errors import RoutineError, SettingsFileError, UserFileError
from .schema import MAX_MINUTES, is_identifier

ENV_VAR = "BACKTRACK_ROUTINE"
ROUTINE_FILE_NAME = "routine.toml"

RED_FLAGS: tuple[str, ...] = (
    "Numbness in the saddle area (between the legs, buttocks, inner thighs)",
    "New trouble controlling your bladder or bowels",
    "Leg weakness that is getting worse",
    "A history of cancer, weight loss you cannot explain, or pain that is worse at night",
    "Age over 50 with back pain that is new",
    "Fever or chills with the back pain",
    "A significant fall or blow, or a minor one if you have osteoporosis or take steroids",
)
"""Signs that need a clinician now (a fixed checklist; never inferred from the log)."""

CHRONIC_NOTICE = (
    "Pain that lasts or keeps coming back for more than 3 months is chronic pain. "
    "It is harder to treat: see a specialist rather than managing it alone."
)


@dataclass(frozen=True)
class Exercise:
    """One exercise of the routine.

    ``dose_minutes`` is the prescribed time per day in minutes, or None when no dose is
    prescribed (then "done" earns full credit, whatever the minutes).
    """

    id: str
    name: str
    dose_minutes: float | None
    dose_text: str
    purpose: str
    how_to: str
    works: str = ""

    @property
    def dose_label(self) -> str:
        """The dose in words, e.g. "about 5 minutes" or "no dose set"."""
        if self.dose_text:
            return self.dose_text
        return "no dose set" if self.dose_minutes is None else f"{self.dose_minutes:g} min"


@dataclass(frozen=True)
class Pause:
    """An exercise not prescribed from ``start`` to ``end`` (inclusive), e.g. during the
    B blocks of a self-trial that leaves it out; ``reason`` says why."""

    exercise_id: str
    start: date
    end: date
    reason: str


@dataclass(frozen=True)
class Routine:
    """The prescribed routine: its exercises in order, safety points and where it came
    from; ``pauses``: days an exercise is not prescribed (dose credit then counts only
    the exercises that are)."""

    title: str
    exercises: tuple[Exercise, ...]
    safety: tuple[str, ...]
    source: str
    pauses: tuple[Pause, ...] = ()

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(e.id for e in self.exercises)

    def get(self, exercise_id: str) -> Exercise:
        """The exercise with this id; raises KeyError naming the known ids."""
        for exercise in self.exercises:
            if exercise.id == exercise_id:
                return exercise
        raise KeyError(f"{exercise_id!r} is not in the routine (known: {', '.join(self.ids)})")

    def doses(self) -> dict[str, float | None]:
        """Prescribed minutes per exercise id (None: no dose set)."""
        return {e.id: e.dose_minutes for e in self.exercises}

    def prescribed_on(self, day: date) -> Routine:
        """The routine of one day: without the exercises paused that day (the rule of
        :func:`backtrack.metrics.paused_days`, for one date) and without pauses."""
        paused = {p.exercise_id for p in self.pauses if p.start <= day <= p.end}
        kept = tuple(e for e in self.exercises if e.id not in paused)
        return dataclasses.replace(self, exercises=kept, pauses=())


def _text(where: str, table: dict[str, Any], key: str, *, required: bool, name: str) -> str:
    value = table.get(key, None if required else "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise RoutineError(
            name, f"{where}{key}", "a non-empty text" if required else "text", value
        )
    return value


def parse_routine(document: dict[str, Any], name: str = "<routine>") -> Routine:
    """Validate a routine document (the parsed TOML); errors name the key."""
    known = {"title", "source", "safety", "exercise"}
    for key in document:
        if key not in known:
            raise RoutineError(name, key, f"one of {', '.join(sorted(known))}", key)
    title = _text("", document, "title", required=False, name=name) or "Routine"
    source = _text("", document, "source", required=False, name=name) or name
    safety = document.get("safety", [])
    if not isinstance(safety, list) or not all(isinstance(s, str) for s in safety):
        raise RoutineError(name, "safety", "a list of texts", safety)
    tables = document.get("exercise")
    if not isinstance(tables, list) or not tables:
        raise RoutineError(name, "exercise", "one or more [[exercise]] tables", tables)
    exercises = []
    seen: set[str] = set()
    allowed = {"id", "name", "dose_minutes", "dose_text", "purpose", "how_to", "works"}
    for index, table in enumerate(tables, start=1):
        where = f"exercise[{index}]."
        if not isinstance(table, dict):
            raise RoutineError(name, f"exercise[{index}]", "a table", table)
        for key in table:
            if key not in allowed:
                raise RoutineError(
                    name, f"{where}{key}", f"one of {', '.join(sorted(allowed))}", key
                )
        exercise_id = table.get("id")
        if not isinstance(exercise_id, str) or not is_identifier(exercise_id):
            raise RoutineError(
                name, f"{where}id", "an id of lower-case letters, digits and _", exercise_id
            )
        if exercise_id in seen:
            raise RoutineError(name, f"{where}id", "a unique id", exercise_id)
        seen.add(exercise_id)
        dose = table.get("dose_minutes")
        if dose is not None and (
            isinstance(dose, bool)
            or not isinstance(dose, int | float)
            or math.isnan(dose)
            or not 0 < dose <= MAX_MINUTES
        ):
            raise RoutineError(
                name, f"{where}dose_minutes", "minutes per day above 0 and at most 240", dose
            )
        exercises.append(
            Exercise(
                id=exercise_id,
                name=_text(where, table, "name", required=True, name=name),
                dose_minutes=None if dose is None else float(dose),
                dose_text=_text(where, table, "dose_text", required=False, name=name),
                purpose=_text(where, table, "purpose", required=False, name=name),
                how_to=_text(where, table, "how_to", required=False, name=name),
                works=_text(where, table, "works", required=False, name=name),
            )
        )
    return Routine(title, tuple(exercises), tuple(safety), source)


def read_toml(path: str | os.PathLike[str], error: type[SettingsFileError]) -> dict[str, Any]:
    """The document of a settings file (a routine, a trial plan): a regular file of at
    most :data:`~backtrack._files.SETTINGS_LIMIT` bytes of UTF-8 TOML. Anything else is
    an ``error`` (e.g. :class:`RoutineError`) naming the file and what was found; a
    missing file raises ``FileNotFoundError``."""
    name = str(path)
    try:
        data = read_user_file(path, limit=SETTINGS_LIMIT, what="a TOML file")
    except UserFileError as exc:
        raise error(name, "(file)", exc.expected, exc.found) from None
    return toml_document(data, name, error)


def toml_document(data: bytes, name: str, error: type[SettingsFileError]) -> dict[str, Any]:
    """The document of the TOML file ``name`` holding ``data``; bytes that are not UTF-8
    or not TOML are an ``error`` naming the file (see :func:`read_toml`)."""
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        found = f"byte 0x{data[exc.start]:02x} at offset {exc.start}"
        raise error(name, "(file)", "UTF-8 text", found) from None
    except tomllib.TOMLDecodeError as exc:
        raise error(name, "(file)", "valid TOML", str(exc)) from None


def load_routine_file(path: str | os.PathLike[str]) -> Routine:
    """Read and validate a routine TOML file."""
    return parse_routine(read_toml(path, RoutineError), str(path))


@lru_cache(maxsize=1)
def default_routine() -> Routine:
    """The source article's five exercises."""
    text = resources.files(__package__).joinpath("default_routine.toml").read_text("utf-8")
    return parse_routine(tomllib.loads(text), "built-in routine")


def load_routine(
    path: str | os.PathLike[str] | None = None, *, log_path: str | os.PathLike[str] | None = None
) -> Routine:
    """The routine in force: ``path``, else ``$BACKTRACK_ROUTINE``, else ``routine.toml``
    beside the log at ``log_path``, else the default. It reads no self-trial plan: a view
    that counts adherence asks for the trial's pauses
    (:func:`backtrack.trial.load_routine_with_pauses`)."""
    chosen = path or os.environ.get(ENV_VAR)
    if not chosen and log_path is not None:
        beside = Path(log_path).parent / ROUTINE_FILE_NAME
        if beside.exists():
            chosen = beside
    return load_routine_file(chosen) if chosen else default_routine()
