"""A clinic's self-trials collected: one record per patient, grouped by what B changes.

Layout (``docs/clinic.md``): a clinic folder holds one sub-folder per patient, each with
the patient's log (one ``*.csv``), the ``trial.toml`` that ``backtrack trial plan`` wrote
beside it and maybe a ``routine.toml``. A log directly in the clinic folder (a flat log,
as the plain cohort reads) cannot have a plan of its own: it is listed as ``no trial``.
Entries are read under :func:`backtrack.cohort.scan_folder`'s rules (a link leaving the
folder, a FIFO, an unreadable file are skipped with the reason); a patient folder that
is a link out of the clinic folder, holds no log or more than one, is skipped with why.

Each record is ``backtrack trial result``'s answer for that log, from the same code:
the routine it uses (:func:`backtrack.routine.load_routine`: ``--routine``,
``$BACKTRACK_ROUTINE``, ``routine.toml`` beside the log, else the default; resolved where
the run starts and sent with each task, as the cohort does), :func:`backtrack.trial.load_plan`,
the store's lenient reader and :func:`backtrack.trial.analyse`. One difference: a relative
``b_routine`` in a plan is read beside the plan (``trial result`` reads it from the
folder it is run in; a clinic run has no such folder). Columns: :data:`RECORD_COLUMNS`;
``effect`` is A − B in points (positive = less pain with B), ``se`` its standard error
(``df`` = complete pairs − 1), ``low``/``high`` the 95% t interval, ``p_value`` the exact
randomisation test, ``prob_b_better_1`` P(B less painful by ≥ 1 point),
``baseline_pain`` the summary's baseline (:func:`backtrack.metrics.baseline`: the mean of
the first 7 rated days of the log, points). A running trial keeps its interim numbers
(as ``trial result`` shows them, "So far") but is never ``analysed``; only ``analysed``
records are for pooling. A bad plan or log gives a record with the reason, never a crash.

The batches run as the cohort's do (:func:`backtrack.cohort.pool_map` locally,
:func:`backtrack.cohort.dask_map` on a Dask scheduler), with the same results.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import metrics
from ._files import SETTINGS_LIMIT, read_user_file, write_private
from .cohort import BATCH_PATIENTS, Skipped, dask_map, pool_batch_size, pool_map, scan_folder
from .demo import DEMO_LOG, generate, to_csv_text
from .errors import FieldError
from .routine import Routine, default_routine, load_routine
from .schema import Entry
from .store import read_log
from .trial import (
    TrialPlan,
    analyse,
    load_plan,
    outcome_answers,
    plan_trial,
    stop_trial,
    trial_path,
    write_plan,
)
from .units import finite_or_none

PLANNED = "planned"
RUNNING = "running"
COMPLETED = "completed"
STOPPED = "stopped early"
NOT_ANALYSABLE = "not analysable"
NO_TRIAL = "no trial"
STATUSES = (PLANNED, RUNNING, COMPLETED, STOPPED, NOT_ANALYSABLE, NO_TRIAL)
"""A record's ``status``: not started yet; still going (never pooled); over as planned;
stopped before its end (``stop_reason``; ``analysed`` says whether its pairs suffice);
over or unusable but without an effect and standard error (``status_reason`` says why:
fewer than 2 complete pairs, pairs that do not vary, a plan or log that cannot be used);
no plan (a flat log, or a patient folder without ``trial.toml``)."""
UNUSABLE_PLAN = "(plan cannot be used)"
"""The comparison of a record whose plan cannot be read: what B changes is unknown."""

RECORD_COLUMNS = (
    "patient",
    "path",
    "status",
    "status_reason",
    "comparison",
    "a",
    "b",
    "start",
    "end",
    "stopped",
    "stop_reason",
    "started",
    "finished",
    "planned_pairs",
    "complete_pairs",
    "block_days",
    "washout_days",
    "effect",
    "se",
    "df",
    "low",
    "high",
    "p_value",
    "prob_b_better_1",
    "adherence_a",
    "adherence_b",
    "deviations",
    "baseline_pain",
    "analysed",
    "problems",
)
"""The records' columns (stable snake_case; units in the module docstring)."""
_FLOATS = (
    "effect",
    "se",
    "low",
    "high",
    "p_value",
    "prob_b_better_1",
    "adherence_a",
    "adherence_b",
    "baseline_pain",
)
_INTS = ("planned_pairs", "complete_pairs", "block_days", "washout_days", "df", "deviations")
_DAYS = ("start", "end", "stopped")
_BOOLS = ("started", "finished", "analysed")
FLOW_COLUMNS = (
    "comparison",
    "planned",
    "started",
    "running",
    "completed",
    "stopped_early",
    "stop_reasons",
    "not_analysable",
    "analysed",
)
"""The CENT 2015 flow per comparison (counts of trials; ``stop_reasons`` the reasons
recorded by ``trial stop``, one per trial stopped early)."""


@dataclass(frozen=True)
class PatientLog:
    """A patient of the clinic folder: ``patient`` (the sub-folder's name, or a flat
    log's name without ``.csv``), the ``log`` path, and whether it is in the patient's
    own folder (``own_folder``: only then can a plan sit beside it)."""

    patient: str
    log: str
    own_folder: bool


@dataclass
class ClinicScan:
    """The patients of a clinic folder (sorted by name) and every entry skipped."""

    patients: list[PatientLog] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def _outside(entry: Path, inside: str) -> bool:
    target = os.path.realpath(entry)
    return os.path.commonpath([inside, target]) != inside


def scan_clinic(folder: str | os.PathLike[str]) -> ClinicScan:
    """The patients of the local clinic ``folder`` (layout in the module docstring): each
    sub-folder's one log (:func:`backtrack.cohort.scan_folder`'s rules inside it) and the
    flat ``*.csv`` logs; names starting with ``.`` and other files are ignored."""
    text = os.fspath(folder)
    if "://" in text or not Path(text).is_dir():
        raise FieldError("folder", "a local clinic folder (a sub-folder per patient)", text)
    inside = os.path.realpath(text)
    flat = scan_folder(text)
    scan = ClinicScan(
        [PatientLog(Path(log).stem, log, own_folder=False) for log in flat.logs],
        [s for s in flat.skipped if s.reason != "a folder, not a log"],
    )
    for entry in sorted(Path(text).iterdir()):
        if entry.name.startswith(".") or entry.name.endswith(".csv") and not entry.is_dir():
            continue
        if entry.is_symlink() and _outside(entry, inside):
            scan.skipped.append(Skipped(entry.name, "a link to a folder outside the clinic"))
            continue
        if not entry.is_dir():
            continue
        if not os.access(entry, os.R_OK | os.X_OK):
            scan.skipped.append(Skipped(entry.name, "a patient folder that cannot be read"))
            continue
        own = scan_folder(entry)
        scan.skipped += [Skipped(f"{entry.name}/{s.name}", s.reason) for s in own.skipped]
        if len(own.logs) == 1:
            scan.patients.append(PatientLog(entry.name, own.logs[0], own_folder=True))
        elif own.logs:
            names = ", ".join(Path(log).name for log in own.logs)
            reason = f"more than one log ({names}): one log per patient folder"
            scan.skipped.append(Skipped(entry.name, reason))
        else:
            scan.skipped.append(Skipped(entry.name, "a patient folder without a log (*.csv)"))
    scan.patients.sort(key=lambda p: (p.patient, p.log))
    return scan


# ----------------------------------------------------------------------------- one record


def comparison_key(plan: TrialPlan) -> str:
    """What B changes, for grouping trials: ``without hip_stretch, wall_squat`` (the
    sorted exercise ids B leaves out), ``routine NAME sha256:HASH`` (B's routine file by
    name and the first 12 hex digits of its content's SHA-256: an edited file is another
    comparison), else ``B = LABEL`` (only B's label says what it is); a trial whose
    outcome is the PEG adds ``, PEG outcome`` (its effects are PEG points, never pooled
    with daily pain's)."""
    suffix = ", PEG outcome" if plan.outcome == "peg" else ""
    if plan.b_without:
        return "without " + ", ".join(sorted(set(plan.b_without))) + suffix
    if plan.b_routine:
        data = read_user_file(plan.b_routine, limit=SETTINGS_LIMIT, what="a routine TOML")
        digest = hashlib.sha256(data).hexdigest()[:12]
        return f"routine {Path(plan.b_routine).name} sha256:{digest}{suffix}"
    return f"B = {plan.b}{suffix}"


def _b_routine_beside(plan: TrialPlan, plan_file: Path) -> TrialPlan:
    """The plan with a relative ``b_routine`` made a path beside the plan file."""
    if plan.b_routine and not Path(plan.b_routine).is_absolute():
        return dataclasses.replace(plan, b_routine=str(plan_file.parent / plan.b_routine))
    return plan


def _blank(patient: PatientLog) -> dict[str, Any]:
    record: dict[str, Any] = dict.fromkeys(RECORD_COLUMNS)
    record.update(patient=patient.patient, path=patient.log, problems=[], analysed=False)
    return record


def _unusable(record: dict[str, Any], reason: str) -> dict[str, Any]:
    record.update(status=NOT_ANALYSABLE, status_reason=reason)
    record["problems"] = [*record["problems"], reason]
    return record


def trial_record(patient: PatientLog, routine: Routine | str, today: date) -> dict[str, Any]:
    """The record (:data:`RECORD_COLUMNS`) of one patient, from ``trial result``'s code;
    ``routine`` is the one ``trial result`` uses for the log, or why it cannot be read."""
    record = _blank(patient)
    if not patient.own_folder:
        reason = "a log directly in the clinic folder: a trial needs the patient's own folder"
        record.update(status=NO_TRIAL, status_reason=reason)
        return record
    plan_file = trial_path(patient.log)
    if not plan_file.exists():
        record.update(status=NO_TRIAL, status_reason=f"no {plan_file.name} beside the log")
        return record
    record["comparison"] = UNUSABLE_PLAN
    if isinstance(routine, str):
        return _unusable(record, f"the routine cannot be used: {routine}")
    try:
        plan = _b_routine_beside(load_plan(plan_file, routine), plan_file)
        record["comparison"] = comparison_key(plan)
    except (OSError, ValueError) as exc:
        return _unusable(record, f"the trial plan cannot be used: {exc}")
    record.update(
        a=plan.a,
        b=plan.b,
        start=plan.start,
        end=plan.end,
        stopped=plan.stopped,
        stop_reason=plan.stop_reason,
        started=plan.start <= today,
        finished=False,
        planned_pairs=plan.pairs,
        block_days=plan.block_days,
        washout_days=plan.washout_days,
    )
    try:
        log = read_log(patient.log, strict=False, known_exercises=routine.ids)
        measures = outcome_answers(plan, patient.log)
        result = analyse(plan, log.entries, routine, today=today, measures=measures)
        baseline = metrics.baseline(metrics.daily_since(log.entries, routine)).value
    except (OSError, ValueError) as exc:
        return _unusable(record, f"the log cannot be analysed: {exc}")
    record["problems"] = [str(p) for p in log.problems]
    record.update(
        finished=result.finished,
        complete_pairs=result.complete_pairs,
        effect=result.effect,
        se=result.se,
        df=result.complete_pairs - 1 if result.complete_pairs >= 2 else None,
        low=result.low,
        high=result.high,
        p_value=result.p_value,
        prob_b_better_1=result.prob_b_better_1,
        adherence_a=result.adherence["A"],
        adherence_b=result.adherence["B"],
        deviations=sum(result.deviations.values()),
        baseline_pain=baseline,
    )
    if today < plan.start:
        record.update(status=PLANNED, status_reason=f"starts on {plan.start.isoformat()}")
        return record
    if not result.finished:
        reason = (
            f"ends on {plan.end.isoformat()}; {result.complete_pairs} of {plan.pairs} pairs "
            "complete so far (a running trial is never pooled)"
        )
        record.update(status=RUNNING, status_reason=reason)
        return record
    why = ""
    if result.se is None:
        why = (
            f"{result.complete_pairs} complete pair(s): at least 2 are needed for an "
            "effect with a standard error"
        )
    elif result.se == 0:
        why = "every complete pair differs by the same amount: no standard error"
    record["analysed"] = not why
    if result.stopped_early:
        record.update(status=STOPPED, status_reason=why or None)
    else:
        record.update(status=NOT_ANALYSABLE if why else COMPLETED, status_reason=why or None)
    return record


def batch_records(
    job: tuple[list[tuple[PatientLog, Routine | str]], date],
) -> list[dict[str, Any]]:
    """:func:`trial_record` for each (patient, routine) of a batch (one task)."""
    patients, today = job
    return [trial_record(patient, routine, today) for patient, routine in patients]


# ----------------------------------------------------------------------------- many


def _routine_or_problem(patient: PatientLog, routine_path: str | None) -> Routine | str:
    try:
        return load_routine(routine_path, log_path=patient.log)
    except (OSError, ValueError) as exc:
        return str(exc)


def iter_records(
    patients: Iterable[PatientLog],
    *,
    routine_path: str | os.PathLike[str] | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    today: date | None = None,
) -> Iterator[dict[str, Any]]:
    """:func:`trial_record` of each patient, as the batches finish (in no set order on a
    cluster): one task per batch of patients, in a local process pool (``workers``,
    default the CPU count; one runs here) or on the Dask ``scheduler``. ``today``
    (default: the real today) is the day trials are analysed to, as ``trial result``."""
    path = os.fspath(routine_path) if routine_path is not None else None
    jobs = [(patient, _routine_or_problem(patient, path)) for patient in patients]
    today = today or date.today()
    workers = workers or os.cpu_count() or 1
    if scheduler or workers == 1 or len(jobs) < 2:
        size = BATCH_PATIENTS
    else:
        workers = min(workers, len(jobs))
        size = pool_batch_size(len(jobs), workers)
    batches = [(jobs[i : i + size], today) for i in range(0, len(jobs), size)]
    if scheduler:
        yield from dask_map(batch_records, batches, scheduler, "backtrack-clinic-trials")
    elif workers == 1 or len(jobs) < 2:
        for batch in batches:
            yield from batch_records(batch)
    else:
        yield from pool_map(batch_records, batches, workers)


def records_table(records: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """The records as a DataFrame with :data:`RECORD_COLUMNS` (days as datetime64, counts
    as nullable integers, numbers as float with NaN when missing, flags as booleans)."""
    table = pd.DataFrame(list(records), columns=list(RECORD_COLUMNS))
    for column in _DAYS:
        table[column] = pd.to_datetime(table[column])
    for column in _FLOATS:
        table[column] = table[column].astype(float)
    for column in _INTS:
        table[column] = table[column].astype("Int64")
    for column in _BOOLS:
        table[column] = table[column].astype("boolean")
    for column in ("patient", "path", "status", "status_reason", "comparison", "a", "b"):
        table[column] = table[column].astype(object)
    table["stop_reason"] = table["stop_reason"].astype(object)
    return table


def trial_records(
    folder: str | os.PathLike[str] | ClinicScan,
    *,
    routine_path: str | os.PathLike[str] | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    today: date | None = None,
) -> pd.DataFrame:
    """One record per patient of the clinic ``folder`` (or of a :func:`scan_clinic`),
    sorted by patient: :data:`RECORD_COLUMNS`, the table pooling consumes (only rows
    with ``analysed``). Options as :func:`iter_records`."""
    scan = folder if isinstance(folder, ClinicScan) else scan_clinic(folder)
    order = {(p.patient, p.log): i for i, p in enumerate(scan.patients)}
    records = iter_records(
        scan.patients, routine_path=routine_path, scheduler=scheduler, workers=workers, today=today
    )
    ordered = sorted(records, key=lambda r: order[(r["patient"], r["path"])])
    return records_table(ordered)


def trial_flow(records: pd.DataFrame) -> pd.DataFrame:
    """The CENT 2015 flow of each comparison (:data:`FLOW_COLUMNS`, sorted by
    comparison): trials planned (every plan), started (first day reached), running,
    completed (reached their planned end), stopped early (with the reasons recorded),
    not analysable (over, or unusable, without an effect and standard error) and
    analysed (an effect and its standard error, for pooling). Patients without a trial
    are not counted."""
    trials = records[records["status"] != NO_TRIAL]
    rows = []
    for comparison, group in trials.groupby("comparison", sort=True):
        status = group["status"]
        stopped = group[status == STOPPED]
        rows.append(
            {
                "comparison": comparison,
                "planned": len(group),
                "started": int(group["started"].fillna(False).sum()),
                "running": int((status == RUNNING).sum()),
                "completed": int((group["finished"].fillna(False) & (status != STOPPED)).sum()),
                "stopped_early": len(stopped),
                "stop_reasons": [
                    r if isinstance(r, str) else "no reason recorded"
                    for r in stopped["stop_reason"]
                ],
                "not_analysable": int((status == NOT_ANALYSABLE).sum()),
                "analysed": int(group["analysed"].fillna(False).sum()),
            }
        )
    return pd.DataFrame(rows, columns=list(FLOW_COLUMNS))


def json_value(value: object) -> object:
    """A table cell as JSON: days as ``YYYY-MM-DD``, a missing number as None."""
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, list):
        return value
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer | int):
        return int(value)
    if isinstance(value, float | np.floating):
        return finite_or_none(float(value))
    return value


def json_rows(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a records or flow table as JSON-ready dicts, at full precision."""
    return [{str(k): json_value(v) for k, v in row.items()} for row in table.to_dict("records")]


# ----------------------------------------------------------------------------- demo


DEMO_PAIRS = 6
DEMO_BLOCK_DAYS = 7
_HARMED = (4, 11)
"""Demo patients for whom B raises pain."""


def _with_b_effect(
    entries: list[Entry], plan: TrialPlan, effect: float, rng: np.random.Generator
) -> list[Entry]:
    """The demo entries with B's effect planted: on each B day up to the plan's last day,
    pain lowered by ``effect`` points (built up over the block's first two days), and the
    exercises B leaves out mostly not done (one day in ten: a deviation)."""
    last = plan.stopped or plan.end
    days = {}
    for block in plan.blocks:
        if block.condition == "B":
            for offset in range((block.end - block.start).days + 1):
                days[block.start + timedelta(days=offset)] = min(1.0, (offset + 1) / 2)
    out = []
    for entry in entries:
        ramp = days.get(entry.date) if entry.date <= last else None
        if ramp is None:
            out.append(entry)
            continue
        pain = entry.pain
        if pain is not None:
            pain = int(np.clip(np.rint(pain - effect * ramp), 0, 10))
        done = dict(entry.exercises)
        if rng.random() < 0.9:
            done = {k: v for k, v in done.items() if k not in plan.b_without}
        out.append(dataclasses.replace(entry, pain=pain, exercises=done))
    return out


def write_demo_clinic(
    folder: str | os.PathLike[str],
    patients: int = 12,
    *,
    days: int = 140,
    seed: int = 1,
    end: date | None = None,
) -> list[Path]:
    """Write a demo clinic into ``folder`` (new or without these patients): one
    sub-folder per patient (``patient01/`` …) with a demo log (``backtrack.csv``,
    ``days`` days ending on ``end``, default yesterday) and a 6-pair trial plan of 7-day
    blocks over its last weeks. B leaves out the wall squat (every fourth patient: the
    hip stretch instead); B's true effect differs by patient (some respond by 1-1.5
    points, some not at all, patients 4 and 11 are harmed); every fifth patient's trial
    is still running, patient 3's was stopped early with a reason, and with 8 patients or
    more the last one's has not started. Returns the log paths; nothing is overwritten."""
    if days < DEMO_PAIRS * 2 * DEMO_BLOCK_DAYS + 7:
        raise FieldError("days", f"at least {DEMO_PAIRS * 2 * DEMO_BLOCK_DAYS + 7}", days)
    rng = np.random.default_rng(seed)
    end = end or date.today() - timedelta(days=1)
    root = Path(folder)
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    length = DEMO_PAIRS * 2 * DEMO_BLOCK_DAYS
    routine = default_routine()
    paths = []
    for number in range(1, patients + 1):
        start = end - timedelta(days=length - 1 + int(rng.integers(0, 8)))
        if number % 5 == 0:  # still running: 2-4 weeks to go
            start = end - timedelta(days=length - 1) + timedelta(weeks=int(rng.integers(2, 5)))
        if number == patients and patients >= 8:  # not started yet
            start = end + timedelta(days=3)
        effect = float(rng.choice([1.5, 1.0, 0.3, 0.0]))
        if number in _HARMED:
            effect = -1.0
        without = ("hip_stretch",) if number % 4 == 0 else ("wall_squat",)
        plan = plan_trial(
            a="full routine",
            b=f"without {without[0].replace('_', ' ')}",
            pairs=DEMO_PAIRS,
            block_days=DEMO_BLOCK_DAYS,
            start=start,
            seed=int(rng.integers(0, 2**31)),
            b_without=without,
            routine=routine,
        )
        entries = generate(
            days,
            seed * 1000 + number,
            end=end,
            baseline=float(rng.uniform(4.5, 7.5)),
            lag_effect=float(rng.choice([-1.2, -0.8, -0.3])),
            missing_rate=float(rng.uniform(0.03, 0.15)),
        )
        if number == 3:
            plan = dataclasses.replace(plan, stopped=plan.blocks[5].end)
        entries = _with_b_effect(entries, plan, effect, rng)
        patient = root / f"patient{number:02d}"
        patient.mkdir(mode=0o700)  # an existing patient folder: FileExistsError
        log = write_private(
            patient / "backtrack.csv", to_csv_text(entries).encode("utf-8"), kind=DEMO_LOG
        )
        keep = {log: "the log"}
        plan_file = write_plan(
            patient / "trial.toml", dataclasses.replace(plan, stopped=None), keep=keep
        )
        if plan.stopped is not None:
            reason = "flare-up in week 6; stopped on the physiotherapist's advice"
            stop_trial(plan_file, plan.stopped, reason=reason, keep=keep)
        paths.append(log)
    return paths
