"""Randomised self-trials (N-of-1): two variants of the routine in random pairs of blocks.

A plan (``trial.toml`` beside the log) splits the weeks ahead into consecutive pairs of
blocks of ``block_days`` days; each pair's order, AB or BA, is drawn by a fair coin from
a seeded generator (the seed is kept in the plan, so the schedule can be checked and
redrawn). The first ``washout_days`` of every block are not analysed (carry-over from
the block before). The outcome (``outcome`` in the plan) is daily pain (0-10 NRS) as
logged, or ``peg``: the weekly PEG score (:mod:`backtrack.measures`, points 0-10), allowed
only when blocks are whole weeks; a block's PEG is the latest PEG answered in its last
:data:`PEG_LAST_DAYS` days and after its washout (its one-week recall then covers that
block), and the same exact test compares the blocks. A plan written before outcomes were
kept has none and is a pain trial.

Analysis (definitions in ``docs/analysis.md``, section *Self-trials*):

- analysed days (pain outcome): the rated days of a block after its washout (a block needs at least
  :data:`MIN_RATED_DAYS` of them); a pair is complete when both its blocks are;
- ``effect``: mean of the A-block means − mean of the B-block means over complete pairs
  (points; positive = less pain with B), the mean of the pair differences A − B. The
  sign is the summary's (its change is baseline − latest: positive = pain fell), so
  "lower pain = better" reads the same everywhere; ``se`` is its standard error,
  sd(differences) / √pairs;
- ``p_value``: the exact randomisation test: the share of the ``2**pairs`` schedules
  (each pair's order flipped or not, which flips the sign of its difference) whose
  |effect| is at least the observed |effect| (1e-9 tolerance), two-sided;
- ``low``/``high``: the 95% t interval from the pair differences (pairs − 1 degrees of
  freedom): each block mean is one number, so the day-to-day autocorrelation inside a
  block does not make the interval too narrow, and a slow drift hits both blocks of a
  pair alike;
- ``prob_b_better_1``: the probability that B is less painful than A by at least 1
  point, under the model "pair differences are normal with unknown mean and spread"
  with the usual non-informative prior (its posterior for the mean is that same t
  distribution);
- intention to treat: days count under their assigned condition, whatever was done;
  deviations (an exercise B drops, done on a B day anyway) are counted beside it.

A self-trial is a self-experiment with a home routine, not a substitute for a clinician:
red flags end it (see the form's safety panel). Nothing here changes the log.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._files import Kept, OutputKind, check_output, write_private
from .demo import demo_log
from .errors import TrialPlanError
from .measures import PEG, Answers, peg_score
from .measures_file import current_answers, measures_path, read_measures
from .metrics import dose_credits
from .routine import Pause, Routine, default_routine, load_routine, load_routine_file, read_toml
from .schema import MAX_DATE, MIN_DATE, exercise_pairs, parse_date
from .stats import t_cdf, t_quantile
from .store import latest_per_date

TRIAL_FILE_NAME = "trial.toml"
_PLAN_FIRST_LINE = "# backtrack self-trial plan: randomised pairs of blocks (see docs/analysis.md)"
PLAN_KIND = OutputKind("a self-trial plan", (_PLAN_FIRST_LINE.encode(),))
"""A plan file, known by its first line: what ``trial plan`` may replace."""
MAX_PAIRS = 20
"""2**20 schedules: the exact test stays quick, and no home trial needs more."""
MIN_RATED_DAYS = 2
PAIN, PEG_OUTCOME = "pain", "peg"
OUTCOMES = (PAIN, PEG_OUTCOME)
"""A trial's outcomes: daily pain (the default) or the weekly PEG score."""
PEG_LAST_DAYS = 3
"""A block's PEG is the latest answered in its last 3 days (and after its washout): the
PEG asks about the past week, so an answer there recalls mostly that block."""
"""A block counts when at least this many of its analysed days are rated."""
TOLERANCE = 1e-9
MAX_REASON = 300
"""The longest reason for stopping a trial early that the plan keeps (characters)."""
SAFETY = (
    "This is a self-experiment with your home routine, not a substitute for a clinician. "
    "Stop the trial and get help if any red-flag sign appears (see the safety panel), or "
    "if the pain gets much worse. Stopping early is allowed; the result then says so."
)


@dataclass(frozen=True)
class Block:
    """One block of the schedule: days ``start``..``end`` (inclusive) under
    ``condition`` ("A" or "B"), the ``pair`` it belongs to (1-based)."""

    pair: int
    start: date
    end: date
    condition: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "pair": self.pair,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "condition": self.condition,
        }


@dataclass(frozen=True)
class TrialPlan:
    """A randomised pairs plan; see the module docstring. ``b_without``: exercise ids B
    leaves out; ``b_routine``: a routine TOML for B instead (path); ``stopped``: the
    last day of a trial stopped early, ``stop_reason`` why (as the patient gave it; an
    older plan has none); ``outcome``: ``pain`` (daily pain) or ``peg`` (the weekly PEG
    score, blocks of whole weeks only)."""

    a: str
    b: str
    pairs: int
    block_days: int
    washout_days: int
    start: date
    seed: int
    blocks: tuple[Block, ...]
    b_without: tuple[str, ...] = ()
    b_routine: str | None = None
    stopped: date | None = None
    stop_reason: str | None = None
    outcome: str = PAIN

    @property
    def end(self) -> date:
        return self.blocks[-1].end

    @property
    def total_days(self) -> int:
        return (self.end - self.start).days + 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "b_without": list(self.b_without),
            "b_routine": self.b_routine,
            "outcome": self.outcome,
            "pairs": self.pairs,
            "block_days": self.block_days,
            "washout_days": self.washout_days,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "seed": self.seed,
            "randomisation": "randomised pairs: each pair's order (AB or BA) by a fair coin "
            "from numpy.random.default_rng(seed)",
            "schedules": 2**self.pairs,
            "smallest_p_value": smallest_p_value(self.pairs),
            "stopped": self.stopped.isoformat() if self.stopped else None,
            "stop_reason": self.stop_reason,
            "blocks": [b.to_dict() for b in self.blocks],
        }


def smallest_p_value(pairs: int) -> float:
    """The smallest two-sided p-value an exact randomisation test over ``pairs`` pairs
    can reach: the observed order and its mirror image, 2 of the 2**pairs schedules."""
    smallest: float = 2 / 2**pairs
    return min(1.0, smallest)


def pairs_needed(alpha: float = 0.05) -> int:
    """The fewest pairs whose exact test can reach ``alpha``."""
    pairs = 1
    while smallest_p_value(pairs) > alpha:
        pairs += 1
    return pairs


def draw_orders(pairs: int, seed: int) -> tuple[str, ...]:
    """Each pair's order, "AB" or "BA", by a fair coin from ``default_rng(seed)``."""
    coins = np.random.default_rng(seed).integers(0, 2, size=pairs)
    return tuple("AB" if coin == 0 else "BA" for coin in coins.tolist())


def schedule(start: date, pairs: int, block_days: int, seed: int) -> tuple[Block, ...]:
    """The contiguous blocks of a randomised pairs design starting on ``start``."""
    blocks = []
    day = start
    for pair, order in enumerate(draw_orders(pairs, seed), start=1):
        for condition in order:
            end = day + timedelta(days=block_days - 1)
            blocks.append(Block(pair, day, end, condition))
            day = end + timedelta(days=1)
    return tuple(blocks)


def new_seed() -> int:
    """A seed from the operating system's randomness (printed and kept in the plan)."""
    return int.from_bytes(os.urandom(4), "big")


def plan_trial(
    *,
    a: str,
    b: str,
    pairs: int = 6,
    block_days: int = 7,
    washout_days: int = 2,
    start: date,
    seed: int | None = None,
    b_without: Sequence[str] = (),
    b_routine: str | None = None,
    routine: Routine | None = None,
    path: str = "<plan>",
    outcome: str = PAIN,
) -> TrialPlan:
    """Check the settings and draw the schedule (nothing is written). ``outcome``:
    ``pain`` or ``peg`` (refused unless ``block_days`` is a multiple of 7)."""
    plan = TrialPlan(
        a=a,
        b=b,
        pairs=pairs,
        block_days=block_days,
        washout_days=washout_days,
        start=start,
        seed=new_seed() if seed is None else seed,
        blocks=(),
        b_without=tuple(b_without),
        b_routine=b_routine,
        outcome=outcome,
    )
    _check(plan, path, routine)
    return dataclasses.replace(plan, blocks=schedule(start, pairs, block_days, plan.seed))


def _check(plan: TrialPlan, path: str, routine: Routine | None) -> None:
    def need(ok: bool, key: str, expected: str, found: object) -> None:
        if not ok:
            raise TrialPlanError(path, key, expected, found)

    for key in ("a", "b"):
        label = getattr(plan, key)
        need(isinstance(label, str) and 0 < len(label.strip()) <= 80, key, "a label", label)
    need(plan.a.strip() != plan.b.strip(), "b", "a label other than A's", plan.b)
    for key, low, high in (("pairs", 1, MAX_PAIRS), ("block_days", 2, 60)):
        value = getattr(plan, key)
        ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
        need(ok, key, f"a whole number {low}-{high}", value)
    washout = plan.washout_days
    need(
        isinstance(washout, int)
        and not isinstance(washout, bool)
        and 0 <= washout <= plan.block_days - MIN_RATED_DAYS,
        "washout_days",
        f"a whole number 0-{plan.block_days - MIN_RATED_DAYS} (each block keeps at least "
        f"{MIN_RATED_DAYS} analysed days)",
        washout,
    )
    need(isinstance(plan.seed, int) and plan.seed >= 0, "seed", "a whole number ≥ 0", plan.seed)
    days = 2 * plan.pairs * plan.block_days  # the schedule's length
    latest = MAX_DATE - timedelta(days=days - 1)
    need(
        isinstance(plan.start, date) and MIN_DATE <= plan.start <= latest,
        "start",
        f"a date from {MIN_DATE.isoformat()} to {latest.isoformat()} (the {days}-day "
        f"schedule must end by {MAX_DATE.isoformat()}, the last day a log can hold)",
        plan.start.isoformat() if isinstance(plan.start, date) else plan.start,
    )
    need(plan.outcome in OUTCOMES, "outcome", "pain or peg", plan.outcome)
    need(
        plan.outcome != PEG_OUTCOME or plan.block_days % 7 == 0,
        "block_days",
        "whole weeks (7, 14, 21, ... days) for a PEG outcome: the PEG asks about the past "
        "week, so a shorter or broken week would mix blocks (use --block-days 7, or the "
        "daily pain outcome)",
        plan.block_days,
    )
    if plan.b_without and plan.b_routine:
        raise TrialPlanError(path, "b_routine", "either b_without or b_routine", "both")
    if routine is not None:
        for exercise_id in plan.b_without:
            need(
                exercise_id in routine.ids,
                "b_without",
                f"exercises of the routine ({', '.join(routine.ids)})",
                exercise_id,
            )


# ----------------------------------------------------------------------------- the file


def trial_path(log_path: str | os.PathLike[str], trial: str | None = None) -> Path:
    """The plan file: ``trial``, else ``trial.toml`` beside the log."""
    return Path(trial) if trial else Path(log_path).parent / TRIAL_FILE_NAME


def _toml_value(value: object) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(value)


def plan_toml(plan: TrialPlan) -> str:
    """The plan as TOML: the settings, the seed, and the drawn blocks (checked against
    the seed on load, so an edited schedule is refused)."""
    lines = [
        _PLAN_FIRST_LINE,
        "# The blocks below are drawn from the seed; editing them by hand is refused.",
    ]
    settings: dict[str, object] = {
        "a": plan.a,
        "b": plan.b,
        "b_without": list(plan.b_without),
        "outcome": plan.outcome,
        "pairs": plan.pairs,
        "block_days": plan.block_days,
        "washout_days": plan.washout_days,
        "start": plan.start,
        "seed": plan.seed,
    }
    if plan.b_routine:
        settings["b_routine"] = plan.b_routine
    if plan.stopped:
        settings["stopped"] = plan.stopped
    if plan.stop_reason:
        settings["stop_reason"] = plan.stop_reason
    lines += [f"{key} = {_toml_value(value)}" for key, value in settings.items()]
    for block in plan.blocks:
        lines += [
            "",
            "[[blocks]]",
            f"pair = {block.pair}",
            f"start = {block.start.isoformat()}",
            f"end = {block.end.isoformat()}",
            f'condition = "{block.condition}"',
        ]
    return "\n".join(lines) + "\n"


def write_plan(
    path: str | os.PathLike[str],
    plan: TrialPlan,
    *,
    replace: bool = False,
    keep: Kept | None = None,
) -> Path:
    """Write the plan file (0600). Refuses to replace a plan whose trial has begun and is
    not over, or a file that is not a plan (``replace`` to start over), and always
    ``keep`` (the log and its files: :func:`backtrack._files.check_output`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    check_output(path, kind=PLAN_KIND, force=True, keep=keep or {})  # before reading it
    if path.exists() and not replace:
        try:
            current = load_plan(path)
        except (TrialPlanError, OSError):
            current = None
        running = current is None or (current.stopped is None and current.end >= date.today())
        if running:
            raise TrialPlanError(
                str(path),
                "plan",
                "no running trial (give --replace to start a new one)",
                "a trial planned already" if current else "a plan file that cannot be read",
            )
    data = plan_toml(plan).encode("utf-8")
    return write_private(path, data, kind=PLAN_KIND, force=replace, keep=keep or {})


def load_plan(path: str | os.PathLike[str], routine: Routine | None = None) -> TrialPlan:
    """Read and check a plan file: every key, and the blocks against the seed."""
    name = str(path)
    document = read_toml(path, TrialPlanError)
    known = {
        "a",
        "b",
        "b_without",
        "b_routine",
        "outcome",
        "pairs",
        "block_days",
        "washout_days",
        "start",
        "seed",
        "stopped",
        "stop_reason",
        "blocks",
    }
    for key in document:
        if key not in known:
            raise TrialPlanError(name, key, f"one of {', '.join(sorted(known))}", key)
    for key in ("a", "b", "pairs", "block_days", "washout_days", "start", "seed", "blocks"):
        if key not in document:
            raise TrialPlanError(name, key, "a value", "nothing")

    def day(key: str, value: object) -> date:
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        try:
            return parse_date(str(value))
        except ValueError:
            raise TrialPlanError(name, key, "a date YYYY-MM-DD", value) from None

    b_without = document.get("b_without", [])
    if not isinstance(b_without, list) or not all(isinstance(e, str) for e in b_without):
        raise TrialPlanError(name, "b_without", "a list of exercise ids", b_without)
    b_routine = document.get("b_routine")
    if b_routine is not None and not isinstance(b_routine, str):
        raise TrialPlanError(name, "b_routine", "a path to a routine TOML", b_routine)
    outcome = document.get("outcome", PAIN)  # a plan from before outcomes: pain
    if not isinstance(outcome, str):
        raise TrialPlanError(name, "outcome", "pain or peg", outcome)
    plan = plan_trial(
        a=document["a"] if isinstance(document["a"], str) else "",
        b=document["b"] if isinstance(document["b"], str) else "",
        pairs=document["pairs"],
        block_days=document["block_days"],
        washout_days=document["washout_days"],
        start=day("start", document["start"]),
        seed=document["seed"],
        b_without=b_without,
        b_routine=b_routine,
        routine=routine,
        path=name,
        outcome=outcome,
    )
    blocks = document["blocks"]
    found = []
    if isinstance(blocks, list):
        for item in blocks:
            if not isinstance(item, dict):
                break
            strange = set(item) - {"pair", "start", "end", "condition"}
            if strange:
                key = sorted(strange)[0]
                raise TrialPlanError(name, f"blocks.{key}", "pair, start, end, condition", key)
            try:
                found.append(
                    Block(
                        item["pair"],
                        day("blocks.start", item["start"]),
                        day("blocks.end", item["end"]),
                        item["condition"],
                    )
                )
            except KeyError as exc:
                raise TrialPlanError(name, f"blocks.{exc.args[0]}", "a value", "nothing") from None
    if tuple(found) != plan.blocks:
        raise TrialPlanError(
            name,
            "blocks",
            f"the schedule drawn from seed {plan.seed} (a randomised plan is not edited by "
            "hand: plan a new trial instead)",
            "a different schedule",
        )
    stopped = document.get("stopped")
    if stopped is not None:
        plan = dataclasses.replace(plan, stopped=day("stopped", stopped))
    reason = document.get("stop_reason")
    if reason is not None:
        if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON:
            raise TrialPlanError(
                name, "stop_reason", f"a text of 1-{MAX_REASON} characters", reason
            )
        if plan.stopped is None:
            raise TrialPlanError(name, "stop_reason", "a stopped trial (stopped = day)", "no stop")
        plan = dataclasses.replace(plan, stop_reason=reason)
    return plan


def stop_trial(
    path: str | os.PathLike[str],
    day: date,
    *,
    reason: str | None = None,
    keep: Kept | None = None,
) -> TrialPlan:
    """Record that the trial ended early on ``day`` (its last day) and, if given, why
    (``reason``: 1-:data:`MAX_REASON` characters, kept in the plan as ``stop_reason``);
    the result says so. The plan file is replaced whole, never ``keep``."""
    if reason is not None:
        reason = " ".join(reason.split())  # one line in the TOML file and every table
        if not reason or len(reason) > MAX_REASON:
            raise TrialPlanError(
                str(path), "stop_reason", f"a text of 1-{MAX_REASON} characters", reason
            )
    check_output(path, kind=PLAN_KIND, force=True, keep=keep or {})  # before reading it
    plan = load_plan(path)
    if plan.stopped is not None:
        raise TrialPlanError(str(path), "stopped", "a running trial", plan.stopped.isoformat())
    if not plan.start <= day <= plan.end:
        raise TrialPlanError(
            str(path),
            "stopped",
            f"a day of the trial ({plan.start.isoformat()} to {plan.end.isoformat()})",
            day.isoformat(),
        )
    stopped = dataclasses.replace(plan, stopped=day, stop_reason=reason)
    write_private(path, plan_toml(stopped).encode("utf-8"), kind=PLAN_KIND, keep=keep or {})
    return stopped


# ----------------------------------------------------------------------------- today


@dataclass(frozen=True)
class Assignment:
    """What the plan says for one day."""

    day: date
    day_number: int
    total_days: int
    block: Block
    block_number: int
    washout: bool
    label: str
    plan: TrialPlan

    def text(self) -> str:
        """E.g. "Trial day 10 of 84 — block 2 (B: without wall squat), washout day: not
        analysed"."""
        kind = (
            "washout day: not analysed"
            if self.washout
            else f"day {(self.day - self.block.start).days + 1} of {self.plan.block_days}"
        )
        return (
            f"Trial day {self.day_number} of {self.total_days} — block {self.block_number} "
            f"({self.block.condition}: {self.label}), {kind}"
        )


def assignment_on(plan: TrialPlan, day: date) -> Assignment | None:
    """The plan's assignment for ``day``, or None outside the trial (or after a stop)."""
    if day < plan.start or day > plan.end or (plan.stopped and day > plan.stopped):
        return None
    for number, block in enumerate(plan.blocks, start=1):
        if block.start <= day <= block.end:
            return Assignment(
                day=day,
                day_number=(day - plan.start).days + 1,
                total_days=plan.total_days,
                block=block,
                block_number=number,
                washout=(day - block.start).days < plan.washout_days,
                label=plan.a if block.condition == "A" else plan.b,
                plan=plan,
            )
    return None


def routine_with_pauses(routine: Routine, log_path: str | os.PathLike[str]) -> Routine:
    """``routine`` with a :class:`~backtrack.routine.Pause` for each exercise the B
    blocks of the trial planned beside the log leave out (``b_without``, or those not in
    ``b_routine``), so that adherence on B days counts what B prescribes. Without a plan
    (or with one that cannot be read: the trial commands and the form say why) the
    routine is returned as it is."""
    path = trial_path(log_path)
    if not path.exists():
        return routine
    try:
        plan = load_plan(path)
        left_out = left_out_in_b(plan, routine)
    except (TrialPlanError, OSError, ValueError):
        return routine
    last = plan.stopped or plan.end
    pauses = tuple(
        Pause(exercise_id, block.start, min(block.end, last), f"self-trial: {plan.b}")
        for block in plan.blocks
        if block.condition == "B" and block.start <= last
        for exercise_id in left_out
    )
    return dataclasses.replace(routine, pauses=routine.pauses + pauses)


def load_routine_with_pauses(
    path: str | os.PathLike[str] | None = None, *, log_path: str | os.PathLike[str]
) -> Routine:
    """The routine adherence is counted against for the log at ``log_path``: the routine
    in force (:func:`backtrack.routine.load_routine`: ``path``, ``$BACKTRACK_ROUTINE``,
    ``routine.toml`` beside the log or the default) with the pauses of the self-trial
    planned beside the log (:func:`routine_with_pauses`)."""
    return routine_with_pauses(load_routine(path, log_path=log_path), log_path)


def routine_of(log: object, routine: Routine | None = None) -> Routine:
    """The one routine every view that counts adherence uses for ``log`` (a
    :class:`~backtrack.store.LogData`, its ``entries`` frame, or a path): ``routine``
    when given; for a log read from a file, :func:`load_routine_with_pauses` for that
    file (``routine.toml`` and a self-trial plan beside it); otherwise (demo data, a bare
    frame) :func:`backtrack.routine.load_routine`."""
    if routine is not None:
        return routine
    if isinstance(log, str | os.PathLike):
        return load_routine_with_pauses(log_path=log)
    path = getattr(log, "path", None)
    if isinstance(path, str) and path and not path.startswith("<"):
        return load_routine_with_pauses(log_path=path)
    return load_routine()


def left_out_in_b(plan: TrialPlan, routine: Routine) -> tuple[str, ...]:
    """The exercises of ``routine`` that condition B does not prescribe (``b_without``,
    or those missing from ``b_routine``), in the routine's order: doing one on a B day is
    a deviation, and it is not counted in a B day's dose credit."""
    prescribed = set(routine_for(plan, "B", routine).ids)
    return tuple(eid for eid in routine.ids if eid not in prescribed)


def routine_for(plan: TrialPlan, condition: str, routine: Routine) -> Routine:
    """The routine a condition prescribes: A's is ``routine``; B's leaves out
    ``b_without`` or is read from ``b_routine``."""
    if condition == "A":
        return routine
    if plan.b_routine:
        return load_routine_file(plan.b_routine)
    kept = tuple(e for e in routine.exercises if e.id not in plan.b_without)
    return dataclasses.replace(
        routine, exercises=kept, title=f"{routine.title} ({plan.b})", pauses=()
    )


# ----------------------------------------------------------------------------- result


def exact_p_value(differences: Sequence[float] | np.ndarray) -> float:
    """Two-sided exact randomisation p-value of the mean pair difference: the share of
    the 2**k sign flips whose |mean| is at least the observed |mean| (1e-9 tolerance)."""
    d = np.asarray(differences, dtype=float)
    k = len(d)
    if k == 0:
        return float("nan")
    if k > MAX_PAIRS:
        raise ValueError(f"pairs: expected at most {MAX_PAIRS}, found {k}")
    return float(exact_p_values(d[None, :], _sign_flips(k))[0])


def _sign_flips(k: int, most: int | None = None, seed: int = 0) -> np.ndarray:
    """All 2**k rows of ±1 (or, beyond ``most`` rows, that many drawn at random with the
    identity first: a Monte Carlo randomisation test)."""
    if most is None or 2**k <= most:
        return ((np.arange(2**k)[:, None] >> np.arange(k)) & 1) * -2 + 1
    rng = np.random.default_rng(seed)
    flips = rng.choice((-1, 1), size=(most, k))
    flips[0] = 1
    return flips


def exact_p_values(differences: np.ndarray, flips: np.ndarray) -> np.ndarray:
    """:func:`exact_p_value` of each row of ``differences`` (trials × pairs) over the
    sign ``flips`` (:func:`_sign_flips`)."""
    k = differences.shape[1]
    observed = np.abs(differences.mean(axis=1))
    means = np.abs(differences @ flips.T) / k  # trials × flips
    p: np.ndarray = np.mean(means >= observed[:, None] - TOLERANCE, axis=1)
    return p


EXACT_POWER_DRAWS = 1000
"""Simulated trials per step when solving for the exact test's power (fixed seed)."""
EXACT_POWER_FLIPS = 1024
"""Beyond 10 pairs, the sign flips are this many drawn at random (a Monte Carlo test)."""


def exact_test_power(effect: float, pairs: int, seed: int = 0) -> float:
    """P(exact p < 0.05) for ``pairs`` pair differences drawn N(``effect``, 1) (effect in
    SDs of a pair difference), by simulation (:data:`EXACT_POWER_DRAWS`, fixed seed)."""
    rng = np.random.default_rng(seed)
    draws = rng.standard_normal((EXACT_POWER_DRAWS, pairs)) + effect
    p = exact_p_values(draws, _sign_flips(pairs, EXACT_POWER_FLIPS, seed))
    return float(np.mean(p < 0.05))


def exact_detectable_ratio(pairs: int, power: float = 0.8) -> float | None:
    """The smallest effect, in SDs of a pair difference, that the exact test on ``pairs``
    pairs detects with ``power`` (bisection on :func:`exact_test_power`, same draws at each
    step); None when it can never reach p < 0.05 (:func:`smallest_p_value`)."""
    if pairs < 1 or smallest_p_value(pairs) >= 0.05:
        return None
    low, high = 0.0, 20.0
    if exact_test_power(high, pairs) < power:
        return None
    for _ in range(16):  # to 20 / 2**16 SD
        middle = (low + high) / 2
        low, high = (middle, high) if exact_test_power(middle, pairs) < power else (low, middle)
    return high


@dataclass(frozen=True)
class BlockResult:
    """One block: its days, how many were analysed (rated, after washout), its mean pain,
    flare days, deviations and mean dose credit under its condition's routine; ``peg``
    its PEG score (points 0-10; None: none answered in its last days, or a pain trial)
    and ``outcome`` the value the test compares (the mean pain, or the PEG score)."""

    block: Block
    analysed_days: int
    mean_pain: float | None
    flare_days: int
    deviations: int
    adherence: float | None
    complete: bool
    peg: float | None = None
    outcome: float | None = None


@dataclass(frozen=True)
class TrialResult:
    """The answer; see the module docstring for each number. ``effect`` > 0: B less
    painful (A − B, points). Values that cannot be computed are None, with the reason in
    ``sentence``."""

    plan: TrialPlan
    blocks: tuple[BlockResult, ...]
    complete_pairs: int
    differences: tuple[float, ...]
    effect: float | None
    low: float | None
    high: float | None
    p_value: float | None
    prob_b_better_1: float | None
    order_effect: float | None
    se: float | None
    deviations: dict[str, int]
    adherence: dict[str, float | None]
    stopped_early: bool
    finished: bool
    sentence: str
    cannot_conclude: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            **{k: v for k, v in self.plan.to_dict().items() if k != "blocks"},
            "blocks": [
                {
                    **r.block.to_dict(),
                    "analysed_days": r.analysed_days,
                    "mean_pain": r.mean_pain,
                    "peg": r.peg,
                    "outcome": r.outcome,
                    "flare_days": r.flare_days,
                    "deviations": r.deviations,
                    "adherence": r.adherence,
                    "complete": r.complete,
                }
                for r in self.blocks
            ],
            "complete_pairs": self.complete_pairs,
            "pair_differences_a_minus_b": list(self.differences),
            "outcome": self.plan.outcome,
            "pain_lower_with_b": self.effect,
            "low": self.low,
            "high": self.high,
            "se": self.se,
            "p_value": self.p_value,
            "prob_b_better_by_1": self.prob_b_better_1,
            "order_effect": self.order_effect,
            "deviations": self.deviations,
            "adherence": self.adherence,
            "stopped_early": self.stopped_early,
            "finished": self.finished,
            "analysis": "intention to treat by assignment",
            "sentence": self.sentence,
            "cannot_conclude": list(self.cannot_conclude),
        }


@dataclass(frozen=True)
class PairStatistics:
    """The numbers of a trial from its pair differences (A − B, points; positive = less
    pain with B): ``effect`` (their mean), the 95% t interval ``low``-``high``, the exact
    two-sided ``p_value``, ``prob_b_better_1`` and the standard error ``se`` of the mean
    (pairs − 1 df); None where the pairs are too few (or do not vary)."""

    effect: float | None
    low: float | None
    high: float | None
    p_value: float | None
    prob_b_better_1: float | None
    se: float | None = None

    def __iter__(self) -> Iterator[float | None]:
        return iter((self.effect, self.low, self.high, self.p_value, self.prob_b_better_1))


def pair_statistics(differences: Sequence[float] | np.ndarray) -> PairStatistics:
    """Effect, interval, exact p-value and P(B better by ≥ 1 point) from the pair
    differences (see the module docstring)."""
    d = np.asarray(differences, dtype=float)
    k = len(d)
    if k == 0:
        return PairStatistics(None, None, None, None, None)
    effect = float(d.mean())
    p_value = exact_p_value(d)
    if k < 2:
        return PairStatistics(effect, None, None, p_value, None)
    if np.std(d, ddof=1) == 0:  # every pair differs by the same amount: no spread
        return PairStatistics(effect, effect, effect, p_value, None, 0.0)
    low, high, se = _t_interval(d)
    prob = t_cdf((effect - 1) / se, k - 1)  # P(true A − B ≥ 1 point)
    return PairStatistics(effect, low, high, p_value, prob, se)


def _t_interval(d: np.ndarray) -> tuple[float, float, float]:
    """(low, high, standard error) of the mean of ``d``: 95% t, len - 1 df."""
    se = float(np.std(d, ddof=1) / math.sqrt(len(d)))
    half = t_quantile(len(d) - 1) * se
    return float(d.mean()) - half, float(d.mean()) + half, se


def block_peg(plan: TrialPlan, block: Block, answers: Sequence[Answers]) -> float | None:
    """A block's PEG score (points 0-10): the latest scored PEG dated in the block's last
    :data:`PEG_LAST_DAYS` days and after its washout; None when there is none."""
    first = max(
        block.start + timedelta(days=plan.washout_days),
        block.end - timedelta(days=PEG_LAST_DAYS - 1),
    )
    found = None
    for one in sorted((a for a in answers if a.measure == PEG), key=lambda a: a.date):
        value, _ = peg_score(one.values)
        if first <= one.date <= block.end and value is not None:
            found = value
    return found


def outcome_answers(plan: TrialPlan, log_path: str | os.PathLike[str]) -> list[Answers]:
    """What :func:`analyse` needs beside the log for ``plan``'s outcome: a PEG trial's
    current answers from the measures file beside the log (none for a pain trial)."""
    if plan.outcome != PEG_OUTCOME:
        return []
    return current_answers(read_measures(measures_path(log_path)))


def analyse(
    plan: TrialPlan,
    entries: pd.DataFrame,
    routine: Routine,
    *,
    today: date | None = None,
    measures: Sequence[Answers] = (),
) -> TrialResult:
    """The trial's result from the log's entries (see the module docstring); a PEG
    trial's outcome comes from ``measures`` (the current answers,
    :func:`backtrack.measures_file.current_answers`)."""
    today = today or date.today()
    last_day = min(plan.stopped or plan.end, today)
    latest = latest_per_date(entries)
    by_day = latest.set_index(latest["date"].dt.date)
    day_numbers = latest["date"].to_numpy(dtype="datetime64[D]")  # sorted, one per date
    routines = {c: routine_for(plan, c, routine) for c in "AB"}
    dropped = set(left_out_in_b(plan, routine))
    results = []
    for block in plan.blocks:
        first = block.start + timedelta(days=plan.washout_days)
        inside = (day_numbers >= np.datetime64(first, "D")) & (
            day_numbers <= np.datetime64(min(block.end, last_day), "D")
        )
        days = by_day[inside]
        rated = days["pain"].dropna()
        over = block.end <= last_day
        peg = None
        if plan.outcome == PEG_OUTCOME:
            peg = block_peg(plan, block, [a for a in measures if a.date <= last_day])
        mean_pain = float(rated.mean()) if len(rated) else None
        enough = len(rated) >= MIN_RATED_DAYS
        credits = _credits(days["exercises"], routines[block.condition])
        deviations = 0
        if block.condition == "B" and dropped:
            deviations = sum(
                any(eid in dropped for eid, _ in exercise_pairs(text))
                for text in days["exercises"]
                if text
            )
        results.append(
            BlockResult(
                block=block,
                analysed_days=len(rated),
                mean_pain=mean_pain,
                flare_days=int((days["day"] == "flare").sum()),
                deviations=deviations,
                adherence=float(np.mean(credits)) if len(credits) else None,
                complete=over and (enough if plan.outcome == PAIN else peg is not None),
                peg=peg,
                outcome=peg if plan.outcome == PEG_OUTCOME else mean_pain,
            )
        )
    pairs: dict[int, dict[str, BlockResult]] = {}
    for r in results:
        pairs.setdefault(r.block.pair, {})[r.block.condition] = r
    complete: list[dict[str, BlockResult]] = []
    differences: list[float] = []
    for p in pairs.values():
        a, b = p["A"].outcome, p["B"].outcome  # a complete block has its outcome
        if p["A"].complete and p["B"].complete and a is not None and b is not None:
            complete.append(p)
            differences.append(a - b)  # positive: less pain with B
    d = np.array(differences)
    orders = [p["A"].block.start < p["B"].block.start for p in complete]  # True: AB
    k = len(d)
    statistics = pair_statistics(d)
    effect, low, high, p_value, prob = statistics
    order = None
    ab = d[np.array(orders, dtype=bool)] if k else d
    ba = d[~np.array(orders, dtype=bool)] if k else d
    if len(ab) and len(ba):
        order = float((ab.mean() - ba.mean()) / 2)
    deviations_by_condition = {
        c: sum(r.deviations for r in results if r.block.condition == c) for c in "AB"
    }
    adherence = {}
    for c in "AB":
        values = [
            r.adherence for r in results if r.block.condition == c and r.adherence is not None
        ]
        adherence[c] = float(np.mean(values)) if values else None
    stopped_early = plan.stopped is not None and plan.stopped < plan.end
    finished = last_day >= plan.end or stopped_early
    result = TrialResult(
        plan=plan,
        blocks=tuple(results),
        complete_pairs=k,
        differences=tuple(float(x) for x in d),
        effect=effect,
        low=low,
        high=high,
        p_value=p_value,
        prob_b_better_1=prob,
        order_effect=order,
        se=statistics.se,
        deviations=deviations_by_condition,
        adherence=adherence,
        stopped_early=stopped_early,
        finished=finished,
        sentence="",
        cannot_conclude=_cannot_conclude(plan, k),
    )
    return dataclasses.replace(result, sentence=_sentence(result))


def _credits(texts: pd.Series, routine: Routine) -> np.ndarray:
    if texts.empty or not routine.ids:
        return np.zeros(0)
    credits: np.ndarray = dose_credits(texts.to_numpy(dtype=object), routine).mean(axis=1)
    return credits


def _cannot_conclude(plan: TrialPlan, complete: int) -> tuple[str, ...]:
    return (
        "It was not blinded: you knew which variant you were doing, and expecting a "
        "difference can change how pain feels.",
        "It describes you, over this period only; it says nothing about other people, "
        "and your back may change later.",
        f"With {complete} complete pair(s) the exact test cannot give a p-value below "
        f"{smallest_p_value(complete) if complete else 1:.3g}.",
        "Days count under their assigned variant, whatever was done (intention to "
        "treat); a block done half-heartedly pulls the two variants together.",
    )


def _what(plan: TrialPlan) -> str:
    """What the trial compares, in words: ``pain`` or ``PEG score``."""
    return "PEG score" if plan.outcome == PEG_OUTCOME else "pain"


def _lowered(effect: float, what: str = "pain") -> str:
    """``lowered your pain by 0.8 points`` / ``raised …`` / ``left your pain the same``
    for an A − B difference (points; positive = less pain with B)."""
    if round(effect, 1) == 0:
        return f"left your {what} the same"
    return f"{'lowered' if effect > 0 else 'raised'} your {what} by {_points(effect)}"


def _points(value: float) -> str:
    return f"{abs(value):.1f} point{'s' if round(abs(value), 1) != 1 else ''}"


def _lower_with_b(value: float) -> str:
    """A signed A − B value as words: ``1.2 lower`` / ``0.4 higher`` / ``0.0``."""
    if round(value, 1) == 0:
        return "0.0"
    return f"{abs(value):.1f} {'lower' if value > 0 else 'higher'}"


def _interval_words(low: float, high: float, what: str = "pain") -> str:
    """``95% CI: pain 0.2 higher to 1.8 lower with B`` (points, A − B)."""
    return f"95% CI: {what} {_lower_with_b(low)} to {_lower_with_b(high)} with B"


def _sentence(r: TrialResult) -> str:
    text = _sentence_text(r)
    return text[:1].upper() + text[1:]


def _sentence_text(r: TrialResult) -> str:
    plan = r.plan
    needed = pairs_needed()
    what = _what(plan)
    if r.complete_pairs == 0:
        needs = (
            f"a PEG answered in its last {PEG_LAST_DAYS} days after its washout"
            if plan.outcome == PEG_OUTCOME
            else f"at least {MIN_RATED_DAYS} rated days after its washout"
        )
        return (
            f"No complete pair yet: a block counts once it is over and has {needs}; "
            f"{plan.pairs} pair(s) planned."
        )
    prefix = "Stopped early: " if r.stopped_early else ("" if r.finished else "So far: ")
    if r.low is None or r.high is None or r.p_value is None or r.effect is None:
        return (  # one pair: an effect, no interval or p-value yet
            f"{prefix}one complete pair: B {_lowered(r.effect or 0.0, what)}; at least 2 pairs "
            f"are needed for an interval, {needed} to be able to reach p < 0.05."
        )
    interval = _interval_words(r.low, r.high, what)
    if r.p_value >= 0.05:
        return (
            f"{prefix}over {r.complete_pairs} complete pairs, B ({plan.b}) "
            f"{_lowered(r.effect, what)} compared with A ({plan.a}) ({interval}; exact p = "
            f"{r.p_value:.3g}): consistent with no difference. A "
            "difference as large as "
            f"{max(abs(r.low), abs(r.high)):.1f} points cannot be ruled out."
            + (
                f" With {r.complete_pairs} pairs the test cannot reach 0.05."
                if smallest_p_value(r.complete_pairs) > 0.05
                else ""
            )
        )
    better = plan.b if r.effect > 0 else plan.a
    return (
        f"{prefix}over {r.complete_pairs} complete pairs, {'' if what == 'pain' else 'the '}"
        f"{what} was {_points(r.effect)} lower "
        f"with {better} ({interval}; exact p = {r.p_value:.3g}). "
        "For you, in this period, the difference is unlikely to be chance alone."
    )


def minimum_detectable_effect(
    entries: pd.DataFrame, pairs: int, block_days: int, washout_days: int
) -> float | None:
    """The smallest difference between A and B (points) a trial of this shape would detect 80% of
    the time with the exact test it is analysed by (p < 0.05; :func:`exact_detectable_ratio`),
    from the person's own logged pain: the SD of the difference between the means of
    adjacent blocks of this length in the log so far (None with fewer than 4 such blocks,
    or when the pairs can never reach p < 0.05)."""
    latest = latest_per_date(entries)
    if latest.empty:
        return None
    pain = latest.set_index("date")["pain"].astype("float").asfreq("D")
    values = pain.to_numpy(dtype=float)
    means = []
    for start in range(0, len(values) - block_days + 1, block_days):
        window = values[start + washout_days : start + block_days]
        window = window[~np.isnan(window)]
        if len(window) >= MIN_RATED_DAYS:
            means.append(window.mean())
    if len(means) < 4:
        return None
    diffs = np.diff(np.array(means))[::2]
    if len(diffs) < 2:
        return None
    sd = float(np.std(diffs, ddof=1))
    ratio = exact_detectable_ratio(pairs)
    return None if ratio is None else ratio * sd


def demo_trial(seed: int = 1) -> tuple[TrialPlan, pd.DataFrame]:
    """A finished 6-pair demo trial over the last 84 days of a demo log (in memory,
    nothing is written): what a trial looks like before you run one."""
    end = date.today() - timedelta(days=1)
    plan = plan_trial(
        a="full routine",
        b="without wall squat",
        pairs=6,
        start=end - timedelta(days=83),
        seed=seed,
        b_without=("wall_squat",),
        routine=default_routine(),
    )
    return plan, demo_log(120, seed=seed, end=end).entries
