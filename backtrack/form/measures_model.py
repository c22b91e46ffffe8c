"""The logic of the form's "This week's questions": the PEG, the PSFS and the PGIC when due.

A traitlets model with no widgets (the view is :mod:`backtrack.form.measures_view`),
beside :class:`backtrack.form.model.LogFormModel` and independent of it: the daily Save
never looks at these answers, so a question left half answered never blocks the daily
log. When each is due is :mod:`backtrack.measures`' schedule (``peg_due``, ``psfs_due``,
``pgic_due``) over the answers already in the measures file and today by the model's
clock; during a self-trial whose outcome is the PEG, the PEG is also due in each block's
last days (:data:`backtrack.trial.PEG_LAST_DAYS`) until that block has one. A save goes
through :func:`backtrack.actions.save_answers`, as ``backtrack log --peg/--psfs/--pgic``
does; skipping writes nothing (the measure is simply due again next time).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from traitlets import Bool, HasTraits, Instance, List, Unicode

from ..actions import save_answers
from ..errors import FieldError, LogFormatError, LogLockedError
from ..measures import (
    PEG,
    PEG_ITEMS,
    PGIC,
    PGIC_CATEGORIES,
    PSFS,
    PSFS_ACTIVITIES_MAX,
    Answers,
    Due,
    peg_due,
    pgic_due,
    psfs_due,
    score,
)
from ..measures_file import current_answers, measures_path, read_measures
from .model import Message

if TYPE_CHECKING:
    from ..trial import TrialPlan

TITLE = "This week's questions (1 minute)"


class MeasuresModel(HasTraits):
    """What "This week's questions" asks today and what the person has answered so far.

    ``csv``: the daily log (the answers go to the measures file beside it); ``clock``:
    the current time with its UTC offset; ``start``: returns the first day logged (None
    before any), from which the PGIC counts its 4 weeks; ``trial``: returns the self-trial
    plan in force, if any; ``weekday``: the PEG's chosen day (0 Monday … 6 Sunday; None:
    every 7 days)."""

    due: List[str] = List()
    """The measures asked today, in the order PEG, PSFS, PGIC (empty: nothing is asked)."""
    reasons: List[str] = List()
    """Why each of :attr:`due` is asked, in words."""
    peg: List[int | None] = List()
    """The PEG's three answers 0-10 (pain, enjoyment, activity); None = not answered."""
    naming = Bool(False)
    """True when the PSFS has never been answered: the person names the activities."""
    activities: List[str] = List()
    """The PSFS activities: typed when :attr:`naming`, else the last PSFS's, carried over."""
    ratings: List[int | None] = List()
    """One PSFS rating 0-10 per activity slot; None = not rated."""
    pgic = Instance(int, allow_none=True)
    """The PGIC answer 1-7 (:data:`backtrack.measures.PGIC_CATEGORIES`); None = not given."""
    message = Instance(Message, allow_none=True)
    hidden = Bool(False)
    """True after "Not now": the section is put away until the form is opened again."""
    title = Unicode(TITLE)

    def __init__(
        self,
        csv: str | os.PathLike[str],
        clock: Callable[[], datetime],
        start: Callable[[], date | None],
        trial: Callable[[], TrialPlan | None] = lambda: None,
        weekday: int | None = None,
        *,
        offered: Callable[[], bool] = lambda: True,
    ) -> None:
        super().__init__()
        self.path = measures_path(csv)
        self.log_path = csv
        self.clock = clock
        self.start = start
        self.trial = trial
        self.weekday = weekday
        self.offered = offered
        self.answers: list[Answers] = []
        self.problems: list[str] = []
        self.reload()

    @property
    def today(self) -> date:
        return self.clock().date()

    # ------------------------------------------------------------------ what is due

    def reload(self) -> None:
        """Read the measures file and work out what is due today; clears the answers
        typed (the slots are refilled: PSFS names carried over)."""
        try:
            data = read_measures(self.path)
        except (OSError, ValueError) as exc:  # never in the way of the daily log
            self.answers, self.due, self.reasons = [], [], []
            self.peg = [None] * len(PEG_ITEMS)
            self.activities = [""] * PSFS_ACTIVITIES_MAX
            self.ratings = [None] * PSFS_ACTIVITIES_MAX
            self.problems = [f"{self.path}: cannot be read: {exc}"]
            self.message = Message(
                "warning",
                "This week's questions are not asked: their file cannot be read.",
                tuple(self.problems),
            )
            return
        self.answers = current_answers(data)
        self.problems = [str(p) for p in data.problems]
        today = self.today
        dues = [self._peg_due(today), self._psfs_due(today), self._pgic_due(today)]
        asked = [d for d in dues if d.due] if self.offered() else []
        self.peg = [None] * len(PEG_ITEMS)
        last_psfs = self._dates_and_sets(PSFS)
        self.naming = not last_psfs
        carried = list(last_psfs[-1].activities) if last_psfs else []
        self.activities = carried if carried else [""] * PSFS_ACTIVITIES_MAX
        self.ratings = [None] * len(self.activities)
        self.pgic = None
        self.due = [d.measure for d in asked]
        self.reasons = [d.reason for d in asked]

    def _dates_and_sets(self, measure: str) -> list[Answers]:
        return [a for a in self.answers if a.measure == measure and a.date <= self.today]

    def _peg_due(self, today: date) -> Due:
        answered = [a.date for a in self._dates_and_sets(PEG)]
        plan = self.trial()
        if plan is not None and plan.outcome == "peg":
            from ..trial import PEG_LAST_DAYS, assignment_on  # lazy: only during a PEG trial

            now = assignment_on(plan, today)
            if now is not None:
                block = now.block
                first = max(
                    block.start + timedelta(days=plan.washout_days),
                    block.end - timedelta(days=PEG_LAST_DAYS - 1),
                )
                if first <= today and not any(first <= d <= block.end for d in answered):
                    return Due(
                        PEG,
                        True,
                        "your self-trial compares the PEG: this block's answer is asked in "
                        f"its last {PEG_LAST_DAYS} days (it ends {block.end.isoformat()})",
                    )
        return peg_due(answered, today, self.weekday)

    def _psfs_due(self, today: date) -> Due:
        return psfs_due([a.date for a in self._dates_and_sets(PSFS)], today)

    def _pgic_due(self, today: date) -> Due:
        return pgic_due([a.date for a in self._dates_and_sets(PGIC)], today, self.start())

    # ------------------------------------------------------------------ answering

    def set_peg(self, item: int, value: int | None) -> None:
        """The PEG's ``item`` (0 pain, 1 enjoyment, 2 activity) answered 0-10 (None: not)."""
        self.peg = [value if n == item else v for n, v in enumerate(self.peg)]

    def set_activity(self, slot: int, name: str) -> None:
        """A PSFS activity named in the person's words (only while :attr:`naming`)."""
        if self.naming:
            self.activities = [name if n == slot else a for n, a in enumerate(self.activities)]

    def set_rating(self, slot: int, value: int | None) -> None:
        """The rating 0-10 of the PSFS activity in ``slot`` (None: not rated)."""
        self.ratings = [value if n == slot else r for n, r in enumerate(self.ratings)]

    def set_pgic(self, value: int | None) -> None:
        self.pgic = value

    def not_now(self) -> None:
        """ "Not now": put the questions away; nothing is written (still due next time)."""
        self.hidden = True
        self.message = None

    def given(self) -> dict[str, Any]:
        """What a save would send to :func:`backtrack.actions.save_answers` (measures
        left empty are left out: a skip, not an answer). Raises :class:`FieldError` for
        a PEG answered in part (all 3 or none) or a rating without its activity."""
        found: dict[str, Any] = {}
        if PEG in self.due and any(v is not None for v in self.peg):
            if any(v is None for v in self.peg):
                raise FieldError(
                    PEG, "all 3 PEG questions answered (or none, to skip the PEG)", self.peg
                )
            found["peg"] = list(self.peg)
        if PSFS in self.due:
            pairs = []
            for name, rating in zip(self.activities, self.ratings, strict=True):
                if name.strip():
                    pairs.append((name, rating))
                elif rating is not None:
                    raise FieldError("psfs.activity", "the activity this rating is for", "")
            if any(rating is not None for _, rating in pairs) or (self.naming and pairs):
                found["psfs"] = pairs
        if PGIC in self.due and self.pgic is not None:
            found["pgic"] = self.pgic
        return found

    def save(self) -> bool:
        """Save what was answered (:meth:`given`) as today's answers; True when saved.
        Nothing answered: nothing is written, and the message says so."""
        try:
            given = self.given()
            if not given:
                self.message = Message(
                    "info", "Nothing answered: nothing saved (the questions stay for later)."
                )
                return False
            saved = save_answers(self.log_path, now=self.clock(), **given)
        except FieldError as exc:
            self.message = Message("error", "Not saved: one answer needs a look.", (_plain(exc),))
            return False
        except (LogFormatError, LogLockedError, OSError) as exc:
            self.message = Message(
                "error", "Not saved: the answers could not be written.", (str(exc),)
            )
            return False
        lines = [_described(one) for one in saved.answers]
        self.reload()
        self.message = Message(
            "saved", "Answers saved (the daily log is not changed).", tuple(lines)
        )
        return True


def _plain(exc: FieldError) -> str:
    if exc.field == PEG:
        return "Answer all three PEG questions, or leave all three empty to skip the PEG."
    if exc.field.startswith("psfs"):
        return f"Activities: expected {exc.expected}, found {exc.found!r}."
    return f"{exc.field}: expected {exc.expected}, found {exc.found!r}."


def _described(answers: Answers) -> str:
    """One saved set in words, with its score (or why there is none)."""
    result = score(answers)
    if answers.measure == PEG:
        shown = f"{result.value:.1f}/10" if result.value is not None else result.reason
        return f"PEG {', '.join(str(v) for v in answers.values)}: score {shown}"
    if answers.measure == PSFS:
        rated = ", ".join(
            f"{name} {'not rated' if v is None else f'{v}/10'}"
            for name, v in zip(answers.activities, answers.values, strict=True)
        )
        mean = f"mean {result.value:.1f}/10" if result.value is not None else result.reason
        return f"Activities: {rated} ({mean})"
    value = answers.values[0]
    return f"Overall change: {PGIC_CATEGORIES[value - 1] if value else value}"
