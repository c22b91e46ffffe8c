"""The shape every statistic shares: one numbers-only :class:`Result`, computed by a
:class:`Unit` over a :class:`Batch` of patients (a single patient is a batch of one).

A unit is registered once, in :mod:`backtrack.registry`, with its key, label, unit,
definition (and the heading of ``docs/analysis.md`` that defines it) and the function
that words it (:mod:`backtrack.wording`). Every view is generated from the registry:
``backtrack.summary`` and ``summary --json``, the summary's text, the report's key
numbers, the trends view and the cohort's columns. Adding a statistic is one unit in
the registry, its test and one line in ``docs/analysis.md`` (``docs/contributing.md``).

Columns: a unit keyed ``k`` gives ``k`` (the estimate) and, for each field it declares,
``k_low``, ``k_high`` (the 95% interval), ``k_n`` (what it rests on), ``k_p`` (p-value),
``k_mde`` (minimum detectable effect, same unit) and ``k_why_null`` (why the estimate is
missing, "" when it is not), then ``k_<extra>`` for each extra number it declares.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from .measures import Answers

Scalar = float | int | str | bool | None
"""A value of a column: a number, a class or flag, or None."""

FIELDS = ("low", "high", "n", "p", "mde", "why_null")
"""The standard fields a unit may declare, in column order."""


def finite_or_none(value: float | None) -> float | None:
    """``value`` as a float, or None when it is None, NaN or infinite."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


@dataclass(frozen=True)
class Result:
    """One statistic for one patient, numbers only (no words): ``estimate`` in ``unit``
    with its 95% interval ``low``-``high``, the ``n`` it rests on (days, weeks, pairs:
    the unit's docs say which), its ``p`` value, the minimum detectable effect ``mde``
    (same unit), ``why_null`` (why ``estimate`` is None, else ""), ``extra`` numbers the
    unit declares (a percentage, a class, a flag), and ``detail``: the rich result the
    notebooks use (a :class:`backtrack.stats.Change`, a window mean...), never shown as
    a column."""

    estimate: float | int | None
    """A count (days) is an int; every other estimate a float."""
    low: float | None = None
    high: float | None = None
    n: int = 0
    unit: str = ""
    p: float | None = None
    mde: float | None = None
    why_null: str = ""
    extra: Mapping[str, Scalar] = field(default_factory=dict)
    detail: Any = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return self.estimate is not None


@dataclass(frozen=True)
class Options:
    """What every unit of one run shares: ``today`` (streaks, habit strength, stale
    data), a chosen baseline period (``baseline`` = (start, end), else the first 7
    rated days)."""

    today: date
    baseline: tuple[date | str | None, date | str | None] | None = None


@dataclass(frozen=True)
class Batch:
    """The daily series of one or more patients (:func:`backtrack.metrics.daily_since`
    frames, one per patient, in ``patients`` order), the run's :class:`Options` and,
    optionally, each patient's function-measure ``answers`` (the current answer sets of
    :func:`backtrack.measures_file.current_answers`, one tuple per patient; empty: no
    patient has answers, and the function measures' units say "not enough data")."""

    patients: tuple[str, ...]
    daily: tuple[pd.DataFrame, ...]
    options: Options
    answers: tuple[tuple[Answers, ...], ...] = ()

    def __post_init__(self) -> None:
        if len(self.patients) != len(self.daily):
            raise ValueError(
                f"batch: expected one daily series per patient, found {len(self.daily)} "
                f"series for {len(self.patients)} patients"
            )
        if self.answers and len(self.answers) != len(self.patients):
            raise ValueError(
                f"batch: expected one tuple of answers per patient (or none), found "
                f"{len(self.answers)} for {len(self.patients)} patients"
            )

    def __len__(self) -> int:
        return len(self.patients)

    def answers_of(self, index: int) -> tuple[Answers, ...]:
        """The function-measure answers of the patient at ``index`` (() when none)."""
        return self.answers[index] if self.answers else ()

    @classmethod
    def of_one(
        cls,
        daily: pd.DataFrame,
        options: Options,
        patient: str = "",
        answers: Sequence[Answers] = (),
    ) -> Batch:
        """A batch of one patient (with that patient's function-measure ``answers``)."""
        return cls((patient,), (daily,), options, (tuple(answers),) if answers else ())


Compute = Callable[[Batch], Sequence[Result]]
"""A unit's computation: one :class:`Result` per patient of the batch, in order."""


@dataclass(frozen=True)
class Unit:
    """One registered statistic: ``key`` (its column), ``label`` (what a patient reads),
    ``unit`` (points, fraction 0-1, days...), ``definition`` (one sentence, with its
    source), ``docs`` (the heading of ``docs/analysis.md`` that defines it), ``fields``
    (which of :data:`FIELDS` it has), ``extras`` (its extra numbers), ``group`` (the
    row of the report's key numbers it shows in), ``compute`` and ``words`` (the value
    as a patient reads it, from :mod:`backtrack.wording`)."""

    key: str
    label: str
    unit: str
    definition: str
    docs: str
    compute: Compute
    words: Callable[[Result], str]
    group: str
    fields: tuple[str, ...] = ("n", "why_null")
    extras: Mapping[str, type] = field(default_factory=dict)
    """Extra numbers by name and type (float, int, str, bool, or date: an ISO day)."""
    count: bool = False
    """The estimate is a whole number of days (an int column)."""

    def __post_init__(self) -> None:
        unknown = [name for name in self.fields if name not in FIELDS]
        if unknown:
            raise ValueError(f"unit {self.key!r}: fields expected among {FIELDS}, found {unknown}")

    @property
    def columns(self) -> tuple[str, ...]:
        """The unit's columns, in order (see the module docstring)."""
        return (
            self.key,
            *(f"{self.key}_{name}" for name in FIELDS if name in self.fields),
            *(f"{self.key}_{name}" for name in self.extras),
        )

    def types(self) -> dict[str, type]:
        """Each column's type: float, int, str, bool or date (an ISO day in JSON)."""
        standard = {"low": float, "high": float, "n": int, "p": float, "mde": float}
        return {
            self.key: int if self.count else float,
            **{
                f"{self.key}_{name}": standard.get(name, str)
                for name in FIELDS
                if name in self.fields
            },
            **{f"{self.key}_{name}": kind for name, kind in self.extras.items()},
        }

    def values(self, result: Result) -> dict[str, Scalar]:
        """The unit's columns for ``result``, JSON-ready (NaN and infinity become None)."""
        estimate = result.estimate
        values: dict[str, Scalar] = {
            self.key: estimate if isinstance(estimate, int) else finite_or_none(estimate)
        }
        for name in FIELDS:
            if name not in self.fields:
                continue
            value = getattr(result, name)
            if name == "n":
                values[f"{self.key}_n"] = int(value)
            elif name == "why_null":
                values[f"{self.key}_why_null"] = str(value)
            else:
                values[f"{self.key}_{name}"] = finite_or_none(value)
        for name in self.extras:
            value = result.extra.get(name)
            values[f"{self.key}_{name}"] = (
                finite_or_none(value) if isinstance(value, float) else value
            )
        return values


def per_patient(compute_one: Callable[[pd.DataFrame, Options], Result]) -> Compute:
    """A unit's :data:`Compute` from its definition on one patient's daily series."""

    def compute(batch: Batch) -> list[Result]:
        return [compute_one(daily, batch.options) for daily in batch.daily]

    compute.__doc__ = compute_one.__doc__
    return compute


def per_patient_answers(compute_one: Callable[[Sequence[Answers]], Result]) -> Compute:
    """A unit's :data:`Compute` from its definition on one patient's function-measure
    answers (the daily series is not used: the measures are different questions)."""

    def compute(batch: Batch) -> list[Result]:
        return [compute_one(batch.answers_of(index)) for index in range(len(batch))]

    compute.__doc__ = compute_one.__doc__
    return compute
