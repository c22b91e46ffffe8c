"""Realistic synthetic logs for the demo, the tests and the benchmarks (seeded).

The model, per day t (all pain on the 0-10 NRS):

* adherence: the person's habit grows over the first weeks; on a routine day each
  exercise is done with that probability, sometimes at a partial dose; about one planned
  rest day a week; about 8% of days are not logged at all;
* pain: a latent level ``x_t = c + persistence * x_{t-1} + lag_effect * credit_{t-1} + e_t``
  (``credit`` is yesterday's dose credit 0-1, ``e_t`` normal noise), so adherence lowers
  *next-day* pain by ``lag_effect`` points per full routine day; recorded pain is
  ``x_t`` plus any flare, rounded and clipped to 0-10;
* flares: start on about 3.5 days per 6 weeks (Suri et al. 2011), last 1-3 days, add about
  2.7 points; most are marked ``flare`` and on them people mostly do the floor relaxation;
* some days are corrected later (a second row), a few carry notes with commas and quotes;
* function answers (:func:`demo_answers`, beside a demo log): a weekly PEG whose items
  follow that week's mean daily pain with their own noise, a PSFS every 2 weeks on three
  activities that get easier as pain falls, a PGIC every 4 weeks read from the PEG's
  change. They are a separate series from the daily pain, as a person's would be.
"""

from __future__ import annotations

import os
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._files import Kept, OutputKind, check_output
from .errors import FieldError
from .measures import PEG, PGIC, PSFS, Answers
from .measures_file import ACTIVITY_COLUMNS, answers_row, measures_path
from .measures_file import COLUMNS as MEASURES_COLUMNS
from .routine import Routine, default_routine
from .schema import COLUMNS, Entry, csv_line
from .store import LogData, parse_log_text, row_line

DEMO_TZ = timezone(timedelta(hours=1))
NOTES = (
    "Slept badly, stiff in the morning",
    'Physio said "keep going, slowly"',
    "Long drive today, sat for 3 hours",
    "-2 after the walk, felt good",
    "Gardening, bent over a lot; sore evening",
    "=worse after lifting boxes (rounded back, I know)",
    "Felt loose after the wall exercise 🙂",
    "Work deadline, little sleep\nback tight by evening",
)
LOCATIONS = ("lower_back", "lower_back", "lower_back", "hips", "between_shoulder_blades")


def generate(
    days: int = 120,
    seed: int = 1,
    *,
    end: date | None = None,
    routine: Routine | None = None,
    baseline: float = 6.5,
    persistence: float = 0.6,
    lag_effect: float = -0.8,
    noise_sd: float = 0.7,
    flare_rate: float = 3.5 / 42,
    flare_size: float = 2.7,
    missing_rate: float = 0.08,
) -> list[Entry]:
    """A synthetic log of ``days`` days ending on ``end`` (default: yesterday), oldest first.

    Deterministic for a given ``seed`` and ``end``. ``lag_effect`` is the planted change
    in next-day pain (points) per full routine day; ``baseline`` the pain level with no
    exercise at all.
    """
    if days < 1:
        raise FieldError("days", "at least 1", days)
    routine = routine or default_routine()
    rng = np.random.default_rng(seed)
    end = end or (date.today() - timedelta(days=1))
    start = end - timedelta(days=days - 1)
    doses = routine.doses()
    intercept = baseline * (1 - persistence)
    latent = baseline + rng.normal(0, 0.5)
    credit_yesterday = 0.0
    flare_left = 0
    rest_weekday = int(rng.integers(0, 7))
    entries: list[Entry] = []
    for t in range(days):
        day = start + timedelta(days=t)
        latent = (
            intercept
            + persistence * latent
            + lag_effect * credit_yesterday
            + rng.normal(0, noise_sd)
        )
        if flare_left == 0 and rng.random() < flare_rate:
            flare_left = int(rng.integers(1, 4))
        in_flare = flare_left > 0
        flare_left = max(flare_left - 1, 0)
        pain = int(np.clip(np.rint(latent + (flare_size if in_flare else 0.0)), 0, 10))
        habit = 0.45 + 0.45 * (1 - np.exp(-t / 21))
        is_rest = day.weekday() == rest_weekday and rng.random() < 0.7
        day_type = (
            "rest" if is_rest else ("flare" if in_flare and rng.random() < 0.8 else "routine")
        )
        done: dict[str, float | None] = {}
        if day_type == "flare":
            if rng.random() < 0.7:
                done["floor_relaxation"] = doses.get("floor_relaxation") or 5.0
        elif day_type == "routine":
            for exercise_id, dose in doses.items():
                if rng.random() < habit:
                    if dose is None:
                        done[exercise_id] = (
                            float(rng.integers(1, 4)) if rng.random() < 0.5 else None
                        )
                    elif rng.random() < 0.15:
                        done[exercise_id] = (
                            round(dose * float(rng.uniform(0.3, 0.9)) * 2) / 2 or 0.5
                        )
                    else:
                        done[exercise_id] = dose
        credit = _credit(done, doses) if day_type != "rest" else 0.0
        credit_yesterday = credit
        if rng.random() < missing_rate:
            continue
        where = (LOCATIONS[int(rng.integers(0, len(LOCATIONS)))],) if pain > 0 else ()
        note = NOTES[int(rng.integers(0, len(NOTES)))] if rng.random() < 0.06 else ""
        saved_at = datetime.combine(day, time(20, 0), DEMO_TZ) + timedelta(
            minutes=int(rng.integers(0, 150)), seconds=int(rng.integers(0, 60))
        )
        entry = Entry(saved_at, day, pain, done, day_type, where, note)
        entries.append(entry)
        if rng.random() < 0.03 and day < end:  # a correction is never in the future
            corrected = Entry(
                saved_at + timedelta(hours=13),
                day,
                int(np.clip(pain + rng.choice([-1, 1]), 0, 10)),
                done,
                day_type,
                where,
                "corrected the next morning",
            )
            entries.append(corrected)
    return entries


def _credit(done: dict[str, float | None], doses: dict[str, float | None]) -> float:
    """Dose credit of one day: mean over exercises of min(minutes / dose, 1)."""
    total = 0.0
    for exercise_id, dose in doses.items():
        if exercise_id not in done:
            continue
        minutes = done[exercise_id]
        total += 1.0 if dose is None or minutes is None else min(minutes / dose, 1.0)
    return total / len(doses)


def to_csv_text(entries: list[Entry]) -> str:
    """The entries as a log file's text (header first), each row as the store writes it
    (:func:`backtrack.store.row_line`)."""
    return csv_line(list(COLUMNS)) + "".join(row_line(COLUMNS, e.to_row()) for e in entries)


DEMO_ACTIVITIES = ("walk the dog", "sit through a film", "carry the shopping")
"""The demo's PSFS activities, in a person's own words."""


def demo_answers(entries: pd.DataFrame, seed: int = 1) -> list[Answers]:
    """Demo function answers for a demo log's ``entries`` (see the module docstring):
    a PEG on every 7th day from the first logged day, a PSFS every 14th, a PGIC every
    28th from day 28; deterministic for a ``seed``. None for an empty log."""
    pain = entries.dropna(subset=["pain"]).groupby("date")["pain"].last().astype(float)
    if pain.empty:
        return []
    rng = np.random.default_rng(seed + 7919)
    first, last = pain.index[0].date(), pain.index[-1].date()
    answers: list[Answers] = []
    first_peg: float | None = None
    for week in range((last - first).days // 7 + 1):
        day = first + timedelta(days=7 * week)
        window = pain.loc[pd.Timestamp(day - timedelta(days=6)) : pd.Timestamp(day)]
        if window.empty:
            continue
        level = float(window.mean())
        items = np.clip(np.rint(level + np.array([0.0, -0.8, 0.4]) + rng.normal(0, 0.6, 3)), 0, 10)
        values = tuple(int(v) for v in items)
        answers.append(Answers(PEG, day, values))
        peg = sum(values) / 3
        first_peg = peg if first_peg is None else first_peg
        if week % 2 == 0:
            ratings = np.clip(
                np.rint(10.5 - level + np.array([-1.0, 0.5, -2.0]) + rng.normal(0, 0.7, 3)), 0, 10
            )
            answers.append(Answers(PSFS, day, tuple(int(r) for r in ratings), DEMO_ACTIVITIES))
        if week and week % 4 == 0:
            fall = first_peg - peg
            category = 2 if fall >= 2 else 3 if fall >= 0.5 else 4 if fall > -0.5 else 5
            answers.append(Answers(PGIC, day, (category,)))
    return answers


def demo_answers_text(answers: list[Answers]) -> str:
    """The demo answers as a measures file's text, each saved the evening of its day."""
    rows = (answers_row(one, datetime.combine(one.date, time(20, 30), DEMO_TZ)) for one in answers)
    return csv_line(list(MEASURES_COLUMNS)) + "".join(
        row_line(MEASURES_COLUMNS, row, ACTIVITY_COLUMNS) for row in rows
    )


DEMO_LOG = OutputKind("a demo log")
"""What ``demo`` writes: only ever a new file."""


def write_demo(
    path: str | os.PathLike[str],
    days: int = 120,
    seed: int = 1,
    *,
    keep: Kept | None = None,
    answers: bool = False,
    **kwargs: Any,
) -> Path:
    """Write a demo log to a new file (mode 0600; missing folders are made 0700).
    Refuses to overwrite any file, and a new name in ``keep``
    (:func:`backtrack._files.check_output`). With ``answers``, demo function answers
    (:func:`demo_answers`) go into a new measures file beside it; an existing one is
    refused before the log is written."""
    path = Path(path)
    entries = generate(days, seed, **kwargs)
    text = to_csv_text(entries)
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
    check_output(path, kind=DEMO_LOG, keep=keep or {})
    beside = measures_path(path)
    if answers:  # refused before the log is written: nothing is overwritten
        check_output(beside, kind=DEMO_LOG, keep=keep or {})
    _write_new(path, text)
    if answers:
        log = parse_log_text(text, str(path))
        _write_new(beside, demo_answers_text(demo_answers(log.entries, seed)))
    return path


def _write_new(path: Path, text: str) -> None:
    """``text`` into a new file ``path`` (never an existing one), mode 0600, fsynced."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def demo_log(days: int = 120, seed: int = 1, *, end: date | None = None) -> LogData:
    """An in-memory demo log, labelled as demo (nothing is written)."""
    text = to_csv_text(generate(days, seed, end=end))
    log = parse_log_text(text, "<demo data>")
    log.demo = True
    return log
