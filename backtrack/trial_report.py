"""The self-trial's chart and its one-page PDF report (CENT 2015 items, in plain words).

``trial_timeline(result, entries, ax=None) -> Axes`` draws the blocks shaded A/B, the
washout days hatched, daily pain and each block's mean; ``write_trial_report`` puts it
on an A4 page with the planned periods, the randomisation (method and seed), washout,
outcome, analysis, deviations, the answer, and what it cannot tell.
"""

from __future__ import annotations

import html
import io
import os
import textwrap
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, cast

import matplotlib
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from . import fonts, plots
from ._files import PDF, Kept, check_output, write_private
from .actions import load_log
from .routine import load_routine
from .store import latest_per_date, resolve_log_path
from .trial import (
    MIN_RATED_DAYS,
    PEG_LAST_DAYS,
    PEG_OUTCOME,
    SAFETY,
    TrialResult,
    analyse,
    assignment_on,
    demo_trial,
    load_plan,
    outcome_answers,
    smallest_p_value,
    trial_path,
)

if TYPE_CHECKING:
    import ipywidgets


def _x(day: pd.Timestamp) -> float:
    """A day as an x value: matplotlib's stubs take floats only, while its date converter
    (which these axes use) takes Timestamps."""
    return cast(float, day)


COLOURS = {"A": "#4c72b0", "B": "#dd8452"}


def trial_timeline(result: TrialResult, entries: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Blocks shaded by condition (washout hatched), daily pain (0-10) of the latest
    save of each day, and each block's outcome as a line: its mean pain over its
    analysed days, or its PEG score (0-10) in a PEG trial."""
    if ax is None:
        ax = Figure(figsize=(8, 3)).add_subplot()
    plan = result.plan
    for block in result.blocks:
        b = block.block
        start = pd.Timestamp(b.start)
        ax.axvspan(
            _x(start),
            _x(pd.Timestamp(b.end) + pd.Timedelta(days=1)),
            color=COLOURS[b.condition],
            alpha=0.15,
            lw=0,
            gid=f"block-{b.pair}-{b.condition}",
        )
        if plan.washout_days:
            ax.axvspan(
                _x(start),
                _x(start + pd.Timedelta(days=plan.washout_days)),
                facecolor="none",
                edgecolor="#777777",
                hatch="//",
                lw=0,
                gid="washout",
            )
        if block.outcome is not None:
            first = start + pd.Timedelta(days=plan.washout_days)
            ax.plot(
                [_x(first), _x(pd.Timestamp(b.end) + pd.Timedelta(days=1))],
                [block.outcome] * 2,
                color=COLOURS[b.condition],
                lw=2.5,
                gid="block-mean",
            )
    latest = latest_per_date(entries)
    inside = latest[
        (latest["date"] >= pd.Timestamp(plan.start)) & (latest["date"] <= pd.Timestamp(plan.end))
    ]
    rated = inside.dropna(subset=["pain"])
    ax.plot(
        rated["date"] + pd.Timedelta(hours=12),
        rated["pain"].astype(float),
        "o",
        ms=3,
        color="#333333",
        gid="daily-pain",
    )
    ax.set_xlim(_x(pd.Timestamp(plan.start)), _x(pd.Timestamp(plan.end) + pd.Timedelta(days=1)))
    ax.set_ylim(-0.3, 10.3)
    peg = plan.outcome == PEG_OUTCOME
    ax.set_ylabel("pain (0-10); lines: block PEG" if peg else "pain (0-10)")
    if rated.empty:
        ax.text(
            0.5,
            0.5,
            "no rated days in the trial yet",
            transform=ax.transAxes,
            ha="center",
            va="center",
            color="#777777",
        )
    ax.legend(
        handles=[
            Patch(color=COLOURS["A"], alpha=0.3, label=f"A: {plan.a}"),
            Patch(color=COLOURS["B"], alpha=0.3, label=f"B: {plan.b}"),
            Patch(facecolor="none", edgecolor="#777777", hatch="//", label="washout"),
        ],
        loc="upper right",
        fontsize=7,
        frameon=False,
        ncol=3,
    )
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def report_text(result: TrialResult) -> list[tuple[str, str]]:
    """The report's sections (heading, text), CENT 2015 items in plain words."""
    plan = result.plan
    stopped = (
        f" It was stopped early, on {plan.stopped.isoformat()}."
        if result.stopped_early and plan.stopped is not None
        else ""
    )
    b_what = f" (leaves out: {', '.join(plan.b_without)})" if plan.b_without else ""
    incomplete = plan.pairs - result.complete_pairs
    peg = plan.outcome == PEG_OUTCOME
    what = "the PEG score (pain and its interference)" if peg else "pain"
    outcome = (
        f"The PEG score, 0-10 (mean of its 3 items, about the past week): the latest PEG "
        f"answered in each block's last {PEG_LAST_DAYS} days after the washout."
        if peg
        else "Daily pain, 0-10, as logged (the latest save of each day)."
    )
    block_value = (
        "Each block's PEG score"
        if peg
        else f"Each block's mean over its rated days after the washout (at least {MIN_RATED_DAYS})"
    )
    return [
        ("Question", f"Is {what} lower with B ({plan.b}{b_what}) than with A ({plan.a})?"),
        (
            "Planned periods",
            f"{plan.pairs} pairs of {plan.block_days}-day blocks, {plan.start.isoformat()} to "
            f"{plan.end.isoformat()}.{stopped}",
        ),
        (
            "Randomisation",
            f"Each pair's order (AB or BA) by a fair coin, numpy.random.default_rng, seed "
            f"{plan.seed}: one of {2**plan.pairs} possible schedules. Smallest reachable "
            f"p-value: {smallest_p_value(plan.pairs):.3g}.",
        ),
        (
            "Washout",
            f"The first {plan.washout_days} day(s) of each block are not analysed, so "
            "the effect of the block before can fade.",
        ),
        ("Outcome", outcome),
        (
            "Analysis",
            f"{block_value}; effect = mean of A blocks − mean of B blocks (positive: "
            f"lower {'PEG score' if peg else 'pain'} with B) over complete pairs; exact "
            "randomisation test over all schedules; 95% t interval from the pair "
            "differences; intention to treat by assignment. "
            f"Complete pairs: {result.complete_pairs} of {plan.pairs}"
            + (
                f" ({incomplete} incomplete: not over, or "
                f"{'no PEG in its last days' if peg else 'too few rated days'})."
                if incomplete
                else "."
            ),
        ),
        (
            "Deviations and adherence",
            f"{result.deviations['B']} B day(s) with an exercise B leaves out done anyway "
            "(counted under B). Mean dose credit: A "
            + _pct(result.adherence["A"])
            + ", B "
            + _pct(result.adherence["B"])
            + " (each under its own routine).",
        ),
        (
            "Order and carry-over",
            "Pairs done AB and BA differ by "
            + (
                f"{result.order_effect:+.1f} points (half the difference)"
                if result.order_effect is not None
                else "an amount that needs both orders to be measured"
            )
            + "; near 0 means neither the order, carry-over nor a slow trend drove it.",
        ),
        ("Answer", result.sentence),
        ("What it cannot tell you", " ".join(result.cannot_conclude)),
        ("Safety", SAFETY),
    ]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def trial_figure(result: TrialResult, entries: pd.DataFrame) -> Figure:
    """The report page (A4 portrait)."""
    fig = Figure(figsize=(8.27, 11.69))
    fig.text(0.06, 0.965, "backtrack: self-trial report", fontsize=14, weight="bold", va="top")
    fig.text(
        0.06,
        0.94,
        "A randomised self-experiment of one person with a home routine (N-of-1).",
        fontsize=8.5,
        va="top",
        color="#444444",
    )
    ax = fig.add_axes((0.08, 0.70, 0.88, 0.21))
    trial_timeline(result, entries, ax=ax)
    y = 0.665
    for heading, text in report_text(result):
        fig.text(0.06, y, heading, fontsize=8.5, weight="bold", va="top")
        wrapped = textwrap.fill(text, 112)
        fig.text(0.06, y - 0.015, wrapped, fontsize=8, va="top")
        y -= 0.03 + 0.0125 * wrapped.count("\n")
    return fig


def write_trial_pdf(
    path: str | os.PathLike[str],
    result: TrialResult,
    entries: pd.DataFrame,
    *,
    force: bool = False,
    keep: Kept | None = None,
) -> Path:
    """Write the one-page trial report PDF for ``result`` (0600, written whole; ``keep``
    is never replaced, another kind of file only with ``force``)."""
    check_output(path, kind=PDF, force=force, keep=keep or {})  # before the page is drawn
    buffer = io.BytesIO()
    metadata = {"Title": "backtrack self-trial report", "Creator": "backtrack"}
    style = {"font.size": 8, **plots.LITERAL_TEXT, **fonts.font_style()}  # any script
    with matplotlib.rc_context(style), PdfPages(buffer, metadata=metadata) as pdf:
        pdf.savefig(plots.literal_text(trial_figure(result, entries)))
    return write_private(path, buffer.getvalue(), kind=PDF, force=force, keep=keep or {})


def trial_view(csv: str | os.PathLike[str] | None = None) -> ipywidgets.VBox:
    """The self-trial in a notebook: the plan beside the log (or a labelled demo when
    there is none), today's assignment, the answer in words, and the timeline chart.
    Returns an ipywidgets box; the notebook displays it."""
    import ipywidgets as widgets  # lazy: the notebook view only; the PDF needs no widgets

    log_path = resolve_log_path(csv)
    routine = load_routine(log_path=log_path)
    path = trial_path(log_path)
    if path.exists() and log_path.exists():
        plan = load_plan(path, routine)
        entries = load_log(log_path, routine=routine).entries
        title = f"Your self-trial ({path})"
    else:
        plan, entries = demo_trial()
        title = (
            "DEMO: no trial planned yet (plan one with backtrack trial plan --a ... --b ...; "
            "this is what its result looks like)"
        )
    result = analyse(plan, entries, routine, measures=outcome_answers(plan, log_path))
    today = assignment_on(plan, date.today())
    lines = [f"<b>{html.escape(title)}</b>"]
    if today is not None:
        lines.append(html.escape(today.text()))
    lines.append(html.escape(result.sentence))
    lines += [f"<small>{html.escape(line)}</small>" for line in result.cannot_conclude]
    lines.append(f"<small><i>{html.escape(SAFETY)}</i></small>")
    fig = Figure(figsize=(9, 3.2))
    trial_timeline(result, entries, ax=fig.add_subplot())
    fig.tight_layout()
    # a PNG, as the trends view shows its charts: a bare Figure has no image form
    # without an inline backend (it showed as "<Figure size 900x320 with 1 Axes>")
    chart = widgets.Image(
        value=plots.png_bytes(fig, dpi=90), format="png", layout=widgets.Layout(max_width="900px")
    )
    return widgets.VBox([widgets.HTML("<br>".join(lines)), chart])


__all__ = ["report_text", "trial_figure", "trial_timeline", "trial_view", "write_trial_pdf"]
