"""The cohort view: one row per patient log, over a folder (or a URL) of logs.

The cohort computes nothing of its own. Each task reads a batch of patients' logs with
the store's one validator (:func:`backtrack.store.read_log`, or
:func:`backtrack.store.parse_log_bytes` on the bytes of a remote file) and runs every
registered statistic over them as one batch (:func:`backtrack.registry.compute`), the
same units :func:`backtrack.summary` runs on a batch of one, so the two views cannot
drift. The tasks run in a local process pool (default) or on a Dask cluster
(``scheduler`` = its address); logs are found and read through fsspec, so
``s3://bucket/logs/`` works where ``s3fs`` is installed.

Columns: ``patient``, ``path``, ``first_day``/``last_day``, then every registered
statistic's columns (:data:`backtrack.registry.COLUMNS`; definitions in
``docs/analysis.md``, "Registered statistics"): e.g. ``change`` = baseline − latest
(points, positive = better) with ``change_low``/``change_high`` (95%), ``change_mde``,
``change_class`` and ``change_regression_to_mean``; then ``problems``
(``path:line:column: message``; the file's valid rows still count, a file that is no
log has no numbers).

The routine is the one :func:`backtrack.summary` would use for each log
(:func:`backtrack.routine.load_routine` with ``log_path``: ``routine.toml`` and a
self-trial plan beside it), resolved once on the machine that starts the run, unless
one routine is given for every patient.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import stat
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import function, metrics, registry, stats
from ._files import LOG_LIMIT, SETTINGS_LIMIT, read_stream
from .demo import write_demo
from .errors import FieldError, LogProblem, RoutineError
from .measures import Answers
from .measures_file import MEASURES_SUFFIX, current_answers, measures_path, read_measures
from .routine import (
    ENV_VAR,
    ROUTINE_FILE_NAME,
    Routine,
    load_routine,
    parse_routine,
    toml_document,
)
from .schema import COLUMNS
from .store import LogData, parse_log_bytes, parse_log_text, read_log
from .trial import load_routine_with_pauses
from .units import Batch, Options, finite_or_none

LOW_ADHERENCE = metrics.LOW_ADHERENCE
"""Below this 28-day adherence (fraction) a patient is flagged (Jones et al. 2025: < 60%)."""
COLUMNS_OUT = ("patient", "path", "first_day", "last_day", *registry.COLUMNS, "problems")
"""The cohort table's columns: every registered statistic's (:mod:`backtrack.units`
says how a unit's columns are named), between the patient and the file's problems."""
BATCH_PATIENTS = 16
"""Patients per task: each task reads its logs and runs every unit over them as one
batch (:func:`backtrack.registry.compute`)."""


def _is_url(path: str) -> bool:
    return "://" in path


def _local(path: str) -> str | None:
    """The local path of ``path`` (a plain path or a ``file://`` URL), else None."""
    if not _is_url(path):
        return path
    if path.startswith("file://"):
        return path[len("file://") :]
    return None


@dataclass(frozen=True)
class Skipped:
    """A ``*.csv`` entry of the folder that is not read, and why (never its content)."""

    name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


@dataclass
class FolderScan:
    """The logs of a cohort folder (sorted by name) and every ``*.csv`` entry skipped."""

    logs: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


_NOT_A_FILE = {
    stat.S_ISDIR: "a folder, not a log",
    stat.S_ISFIFO: "a FIFO (named pipe), not a log file",
    stat.S_ISCHR: "a device, not a log file",
    stat.S_ISBLK: "a device, not a log file",
    stat.S_ISSOCK: "a socket, not a log file",
}


def _skip_reason(entry: Path, inside: str) -> str | None:
    """Why the entry ``entry`` of the folder ``inside`` (resolved) is not read, or None."""
    if entry.is_symlink():
        target = os.path.realpath(entry)
        if os.path.commonpath([inside, target]) != inside:
            return "a link to a file outside the folder: not read"
        if not os.path.lexists(target):
            return "a link to nothing (dangling)"
    try:
        info = os.stat(entry)
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    for test, what in _NOT_A_FILE.items():
        if test(info.st_mode):
            return what
    try:
        os.close(os.open(entry, os.O_RDONLY | os.O_NONBLOCK))
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    return None


def _is_measures_file(name: str) -> bool:
    """Whether ``name`` is the measures file beside a log (``<patient>.measures.csv``):
    read with that log (:func:`patient_answers`), never as a patient of its own."""
    suffix = f"{MEASURES_SUFFIX}.csv"
    return name.endswith(suffix) and len(name) > len(suffix)


def scan_folder(folder: str | os.PathLike[str]) -> FolderScan:
    """The ``*.csv`` logs directly inside ``folder`` (a path or an fsspec URL such as
    ``file:///srv/logs`` or ``s3://bucket/logs``): local paths for a local folder, URLs
    otherwise. A local link is followed only to a file inside the folder; each entry
    not read (a link out of the folder or to nothing, a folder or a FIFO named ``*.csv``,
    an unreadable file) is named in ``skipped``. A measures file beside a log
    (``<patient>.measures.csv``) is no patient: it is read with that log."""
    text = os.fspath(folder)
    local = _local(text)
    scan = FolderScan()
    if local is not None:
        if not Path(local).is_dir():
            raise FieldError("folder", "a folder of patient logs (*.csv)", text)
        inside = os.path.realpath(local)
        for entry in sorted(Path(local).glob("*.csv")):
            if _is_measures_file(entry.name):
                continue
            reason = _skip_reason(entry, inside)
            if reason is None:
                scan.logs.append(str(entry))
            else:
                scan.skipped.append(Skipped(entry.name, reason))
        return scan
    import fsspec  # lazy: only for a URL

    fs, root = fsspec.core.url_to_fs(text)
    if not fs.isdir(root):
        raise FieldError("folder", "a folder of patient logs (*.csv)", text)
    for entry in sorted(fs.glob(root.rstrip("/") + "/*.csv")):
        if _is_measures_file(entry.rsplit("/", 1)[-1]):
            continue
        if fs.isfile(entry):
            scan.logs.append(fs.unstrip_protocol(entry))
        else:
            reason = "a folder, not a log" if fs.isdir(entry) else "not a file"
            scan.skipped.append(Skipped(entry.rsplit("/", 1)[-1], reason))
    return scan


def log_files(folder: str | os.PathLike[str]) -> list[str]:
    """The logs :func:`scan_folder` finds (what it skips is not listed: see there)."""
    return scan_folder(folder).logs


def routine_for(path: str, routine_path: str | os.PathLike[str] | None = None) -> Routine:
    """The routine :func:`backtrack.summary` uses for the log at ``path``: ``routine_path``
    if given, else ``$BACKTRACK_ROUTINE``, else ``routine.toml`` beside the log, else the
    default (with a self-trial's pauses for a local log). Beside a remote log (a URL),
    ``routine.toml`` is read through fsspec."""
    local = _local(path)
    if local is not None:
        return load_routine_with_pauses(routine_path, log_path=local)
    if routine_path or os.environ.get(ENV_VAR):
        return load_routine(routine_path)
    import fsspec  # lazy: only for a URL

    beside = path.rsplit("/", 1)[0] + "/" + ROUTINE_FILE_NAME
    fs, inner = fsspec.core.url_to_fs(beside)
    if not fs.exists(inner):
        return load_routine()
    with fs.open(inner, "rb") as handle:
        data = read_stream(handle, beside, limit=SETTINGS_LIMIT, what="a TOML file")
    return parse_routine(toml_document(data, beside, RoutineError), beside)


def read_patient_log(path: str, routine: Routine) -> LogData:
    """The log at ``path`` (local or fsspec URL), validated by the store, lenient."""
    local = _local(path)
    if local is not None:
        return read_log(local, strict=False, known_exercises=routine.ids)
    import fsspec  # lazy: only for a URL

    with fsspec.open(path, "rb") as handle:
        data = read_stream(handle, path, limit=LOG_LIMIT, what="a log (CSV)")
    return parse_log_bytes(data, path, known_exercises=routine.ids)


def _read_or_problem(path: str, routine: Routine) -> LogData:
    """The validated log at ``path``; a file that cannot be read as a log gives a log of
    no days with the reason as its one problem."""
    try:
        return read_patient_log(path, routine)
    except (OSError, ValueError) as exc:
        empty = parse_log_text(",".join(COLUMNS) + "\n", path)
        problem = LogProblem(path, 1, "(file)", f"expected a log, found: {exc}")
        return LogData(path, empty.entries, [problem])


def patient_answers(path: str) -> tuple[tuple[Answers, ...], tuple[str, ...]]:
    """The function measures' current answers in the measures file beside a local log
    (:func:`backtrack.measures_file.measures_path`, read by its one reader, lenient) and
    its problems as text (``path:line:column: message`` for each row left out, or why
    the file cannot be read); ((), ()) for a remote log or when there is none."""
    local = _local(path)
    if local is None:
        return (), ()
    where = measures_path(local)
    try:
        found = read_measures(where)
    except (OSError, ValueError) as exc:
        return (), (f"{where}: expected a measures file (CSV), found: {exc}",)
    return tuple(current_answers(found)), tuple(str(p) for p in found.problems)


def batch_rows(jobs: Sequence[tuple[str, Routine]], today: date) -> list[dict[str, Any]]:
    """The rows of :data:`COLUMNS_OUT` for the logs of ``jobs`` ((path, routine) pairs),
    each read by the store's one validator with the measures file beside it, then
    :func:`rows_of`."""
    logs = [_read_or_problem(path, routine) for path, routine in jobs]
    measures = [patient_answers(path) for path, _ in jobs]
    return rows_of(
        logs,
        [routine for _, routine in jobs],
        today,
        [answers for answers, _ in measures],
        [problems for _, problems in measures],
    )


def rows_of(
    logs: Sequence[LogData],
    routines: Sequence[Routine],
    today: date,
    answers: Sequence[Sequence[Answers]] = (),
    answer_problems: Sequence[Sequence[str]] = (),
) -> list[dict[str, Any]]:
    """The rows of :data:`COLUMNS_OUT` for validated logs (each with its routine and,
    optionally, its function-measure ``answers`` and the problems of the file they came
    from): every registered unit over them as one batch. Days as
    :class:`datetime.date` (None for an empty log), None for a number that cannot be
    computed, ``problems`` as text (the log's, then its measures file's)."""
    daily = tuple(
        metrics.daily_since(log.entries, routine)
        for log, routine in zip(logs, routines, strict=True)
    )
    given = tuple(tuple(one) for one in answers)
    batch = Batch(tuple(log.path for log in logs), daily, Options(today), given)
    extra = list(answer_problems) or [()] * len(logs)
    rows = []
    for log, days, results, more in zip(logs, daily, registry.compute(batch), extra, strict=True):
        last = metrics.last_logged_day(days)
        rows.append(
            {
                "patient": Path(log.path).stem,
                "path": log.path,
                "first_day": days.index[0].date() if last is not None else None,
                "last_day": None if last is None else last.date(),
                **registry.columns_of(results),
                "problems": [str(p) for p in log.problems] + list(more),
            }
        )
    return rows


def patient_row(path: str, routine: Routine, today: date | None = None) -> dict[str, Any]:
    """One row of :data:`COLUMNS_OUT` for the log at ``path`` (a batch of one)."""
    return batch_rows([(path, routine)], today or date.today())[0]


def _batch_task(job: tuple[list[tuple[str, Routine]], date]) -> list[dict[str, Any]]:
    return batch_rows(*job)


_ONE_THREAD = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
"""Set to 1 for the pool's processes (unless already set), as Dask's nanny does for its
workers: one BLAS thread per process, as many processes as cores."""


def _batches(
    jobs: list[tuple[str, Routine]], today: date, size: int
) -> list[tuple[list[tuple[str, Routine]], date]]:
    return [(jobs[i : i + size], today) for i in range(0, len(jobs), size)]


def pool_batch_size(jobs: int, workers: int) -> int:
    """Patients per task in a local pool: at most :data:`BATCH_PATIENTS`, and small
    enough that each of the ``workers`` processes gets about 4 tasks (none idle)."""
    return max(1, min(BATCH_PATIENTS, jobs // (workers * 4)))


def pool_map(
    task: Callable[[Any], list[Any]], batches: Sequence[Any], workers: int
) -> Iterator[Any]:
    """The items of ``task(batch)`` for each batch, in order, from a local process pool
    (forkserver: safe beside threads, the task's module imported once in the server; one
    BLAS thread per process). ``task`` is a module-level function."""
    added = [name for name in _ONE_THREAD if name not in os.environ]
    os.environ.update(dict.fromkeys(added, "1"))  # read by the processes as they start
    try:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([task.__module__])
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            for items in pool.map(task, batches):
                yield from items
    finally:
        for name in added:
            os.environ.pop(name, None)


def dask_map(
    task: Callable[[Any], list[Any]], batches: Sequence[Any], scheduler: str, name: str
) -> Iterator[Any]:
    """The items of ``task(batch)``, one Dask task per batch on the cluster at
    ``scheduler``, as they finish. A worker lost mid-run has its tasks run again
    elsewhere by the scheduler; each future's result is taken once, so no batch is lost
    or counted twice. ``name`` starts the task keys (with a key of this run only)."""
    from distributed import Client, as_completed  # lazy: only with --scheduler

    try:
        client = Client(scheduler, timeout="10s")  # type: ignore[no-untyped-call]  # unannotated
    except (OSError, ValueError) as exc:  # unreachable, or not an address
        raise FieldError("--scheduler", "a Dask scheduler reachable from here", scheduler) from exc
    run = uuid.uuid4().hex  # keys of this run only: another run's are other tasks
    with client:
        futures = client.map(task, batches, key=[f"{name}-{run}-{i}" for i in range(len(batches))])
        for future in as_completed(futures):  # type: ignore[no-untyped-call]  # unannotated
            yield from future.result()


def _pool_rows(
    jobs: list[tuple[str, Routine]], workers: int, today: date
) -> Iterator[dict[str, Any]]:
    """Rows from a local process pool (:func:`pool_map`)."""
    size = pool_batch_size(len(jobs), workers)
    yield from pool_map(_batch_task, _batches(jobs, today, size), workers)


def _dask_rows(
    jobs: list[tuple[str, Routine]], scheduler: str, today: date
) -> Iterator[dict[str, Any]]:
    """Rows from one Dask task per batch of patients (:func:`dask_map`), as they finish:
    no patient is lost or counted twice when a worker is lost."""
    batches = _batches(jobs, today, BATCH_PATIENTS)
    yield from dask_map(_batch_task, batches, scheduler, "backtrack-cohort")


def iter_rows(
    paths: Iterable[str | os.PathLike[str]],
    *,
    routine: Routine | None = None,
    routine_path: str | os.PathLike[str] | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    today: date | None = None,
) -> Iterator[dict[str, Any]]:
    """:func:`patient_row` for each distinct log in ``paths``, as the rows finish (in no
    set order on a cluster). ``routine`` applies to every patient; otherwise each log's
    own (:func:`routine_for`, with ``routine_path`` if given). ``scheduler``: a Dask
    scheduler address (``tcp://host:8786``); None runs locally, on ``workers`` processes
    (default: the CPU count; one runs in this process). ``today`` (default: the real
    today) is the day streaks and habit strength are counted to."""
    names = list(dict.fromkeys(os.fspath(p) for p in paths))
    jobs = [(name, routine or routine_for(name, routine_path)) for name in names]
    today = today or date.today()
    if scheduler:
        yield from _dask_rows(jobs, scheduler, today)
        return
    workers = workers or os.cpu_count() or 1
    if workers == 1 or len(jobs) < 2:
        for batch, day in _batches(jobs, today, BATCH_PATIENTS):
            yield from batch_rows(batch, day)
        return
    yield from _pool_rows(jobs, min(workers, len(jobs)), today)


def table_of(rows: Sequence[dict[str, Any]], order: Sequence[str] | None = None) -> pd.DataFrame:
    """The cohort table (columns :data:`COLUMNS_OUT`) of :func:`patient_row` rows, in the
    order of the paths ``order`` (default: as given)."""
    if order is not None:
        position = {path: i for i, path in enumerate(order)}
        rows = sorted(rows, key=lambda r: position[r["path"]])
    table = pd.DataFrame(list(rows), columns=list(COLUMNS_OUT))
    for column in ("first_day", "last_day"):
        table[column] = pd.to_datetime(table[column])
    for column, kind in registry.TYPES.items():
        values = table[column]
        if kind is float:
            table[column] = values.astype(float)
        elif kind is int:  # nullable where some patient has none (no PGIC yet)
            table[column] = values.astype("Int64" if values.isna().any() else np.int64)
        elif kind is date:
            table[column] = pd.to_datetime(values)
        elif kind is bool:
            table[column] = values.astype("boolean")
        else:
            table[column] = pd.array(values.to_numpy(dtype=object), dtype="str")
    return table


def summarise(
    paths: Iterable[str | os.PathLike[str]],
    *,
    routine: Routine | None = None,
    routine_path: str | os.PathLike[str] | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    today: date | None = None,
) -> pd.DataFrame:
    """One row per patient log (columns :data:`COLUMNS_OUT`; units in the module
    docstring), in the order of ``paths``; ``patient`` is the file name without
    ``.csv``. Options as :func:`iter_rows`."""
    names = list(dict.fromkeys(os.fspath(p) for p in paths))
    rows = list(
        iter_rows(
            names,
            routine=routine,
            routine_path=routine_path,
            scheduler=scheduler,
            workers=workers,
            today=today,
        )
    )
    return table_of(rows, names)


def json_records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The table as JSON-ready records at full precision (as ``backtrack summary
    --json``): days as ``YYYY-MM-DD``, a missing number as None."""
    records = []
    for row in table.to_dict("records"):
        record: dict[str, Any] = {}
        for key, value in row.items():
            if isinstance(value, pd.Timestamp):
                value = value.date().isoformat()
            elif isinstance(value, np.bool_ | bool):
                value = bool(value)
            elif isinstance(value, np.integer):
                value = int(value)
            elif isinstance(value, float | np.floating):
                value = finite_or_none(float(value))
            elif value is pd.NaT or (not isinstance(value, list | str) and pd.isna(value)):
                value = None
            record[str(key)] = value
        records.append(record)
    return records


def _numbers(table: pd.DataFrame, column: str) -> pd.Series:
    """``table[column]`` as floats; all NaN when the table has no such column."""
    if column not in table:
        return pd.Series(math.nan, index=table.index)
    return table[column].astype(float)


def needs_attention(table: pd.DataFrame, today: date | None = None) -> pd.DataFrame:
    """The cohort sorted by who needs attention first, with an ``attention`` column
    naming why: pain rising (trend interval above 0), pain clinically worse than baseline
    (by at least the worsening threshold, 1 point or 15%: ``stats.change_thresholds``; a
    smaller rise only sorts the list), function worse (the PEG up by 1 point or more:
    ``peg_change`` ≤ −1; or the PSFS down by 2 points or more: ``psfs_change`` ≤ −2;
    :mod:`backtrack.function`), 28-day adherence below 60%, problems in the file, or
    (with ``today``) no entry for more than 3 days (the numbers are old). Then by
    change (worst first) and adherence (lowest first)."""
    rising = table["trend_low"].astype(float) > 0
    points = table["change"].astype(float)
    limit = (
        table["baseline"]
        .astype(float)
        .map(
            lambda baseline: (
                stats.change_thresholds(baseline).worse if baseline == baseline else math.nan
            )
        )
    )
    worse = points <= -limit + 1e-9
    peg_worse = _numbers(table, "peg_change") <= -function.PEG_IMPORTANT + 1e-9
    psfs_worse = _numbers(table, "psfs_change") <= -function.PSFS_IMPORTANT + 1e-9
    function_worse = peg_worse | psfs_worse
    adherence = table["adherence_28day"].astype(float)
    low = adherence < LOW_ADHERENCE
    broken = table["problems"].map(len) > 0
    age = pd.Series(np.nan, index=table.index)
    if today is not None and "last_day" in table:
        age = (pd.Timestamp(today) - pd.to_datetime(table["last_day"])).dt.days.astype(float)
    stale = age > metrics.STALE_DAYS
    reasons = []
    flagged = zip(rising, worse, function_worse, low, broken, stale, strict=True)
    for flags, days in zip(flagged, age, strict=True):
        words = [
            "pain rising",
            "clinically worse than baseline",
            "function worse (PEG or PSFS)",
            "adherence < 60%",
            "file problems",
            f"no entry for {days:.0f} days" if days == days else "",
        ]
        reasons.append(", ".join(w for w, f in zip(words, flags, strict=True) if f))
    ranked = table.assign(
        attention=reasons,
        _score=rising.astype(int) * 4
        + worse.astype(int) * 2
        + function_worse.astype(int) * 2
        + low.astype(int)
        + broken
        + stale.astype(int),
        _change=table["change"].astype(float).fillna(math.inf),
        _adherence=adherence.fillna(math.inf),
    )
    ranked = ranked.sort_values(
        ["_score", "_change", "_adherence"], ascending=[False, True, True], kind="stable"
    )
    return ranked.drop(columns=["_score", "_change", "_adherence"]).reset_index(drop=True)


def write_demo_cohort(
    folder: str | os.PathLike[str],
    patients: int = 12,
    days: int = 120,
    *,
    seed: int = 1,
    end: date | None = None,
) -> list[Path]:
    """Write a small demo cohort (one log per patient, ``patient01.csv`` …) into a new or
    empty ``folder``; patients differ in how much exercise helps, in adherence and in
    baseline pain, and a few get worse. Returns the paths. Never overwrites a file."""

    rng = np.random.default_rng(seed)
    paths = []
    for number in range(1, patients + 1):
        paths.append(
            write_demo(
                Path(folder) / f"patient{number:02d}.csv",
                days=int(rng.integers(days // 2, days + 1)),
                seed=seed * 1000 + number,
                end=end,
                baseline=float(rng.uniform(4.5, 8.0)),
                lag_effect=float(rng.choice([-1.2, -0.8, -0.3, 1.5])),
                missing_rate=float(rng.uniform(0.03, 0.25)),
            )
        )
    return paths
