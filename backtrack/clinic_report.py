"""A clinic's pooled self-trials shown: the forest plot, the clinic's PDF pages and the
notebook view (``notebooks/06-clinic-trials.ipynb``).

``forest_plot(pooled, ax=None) -> Axes`` draws, for one comparison, each patient's own
trial effect (A − B, points; + = less pain with B) with its 95% interval, the same
patient's shrunken estimate (:mod:`backtrack.pooling`) with its interval, the pooled
mean with its interval and the 95% prediction interval for a new patient; the lines at
0 and at ±1 point (:data:`backtrack.pooling.MARGIN`) frame what matters.
"""

from __future__ import annotations

import html
import io
import os
import tempfile
import textwrap
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Polygon

from . import fonts, plots, wording
from ._files import PDF, Kept, check_output, write_private
from .clinic_pooled import MODERATORS, ComparisonPooled, pool_comparisons
from .clinic_trials import trial_records, write_demo_clinic
from .pooling import MARGIN, PooledEffects

if TYPE_CHECKING:
    import ipywidgets

OWN = "0.45"
SHRUNKEN = plots.BLUE
POOLED = plots.VERMILLION


def forest_plot(pooled: PooledEffects, *, ax: Axes | None = None, title: str = "") -> Axes:
    """One comparison's forest plot (points, A − B, + = less pain with B): per patient
    (top to bottom in the order of ``pooled.patients``) the own estimate and 95% interval
    (grey square) and the shrunken one (blue dot); the pooled mean as a diamond spanning
    its 95% interval and the prediction interval as a bar under it. No patients gives
    empty axes that say so."""
    if ax is None:
        ax = Figure(figsize=(7, 4)).add_subplot()
    patients = pooled.patients
    ax.set_xlabel("pain lower with B (points; + = less pain with B)")
    if title:
        ax.set_title(title, loc="left", fontsize="medium")
    if patients.empty:
        ax.text(
            0.5,
            0.5,
            "No finished trial of this comparison yet",
            transform=ax.transAxes,
            ha="center",
            va="center",
            color="0.3",
        )
        ax.set_xticks([])
        ax.set_yticks([])
        return ax
    k = len(patients)
    rows = np.arange(k, 0, -1, dtype=float) + 1.5  # first patient at the top
    own = patients["effect"].to_numpy(dtype=float)
    low, high = patients["low"].to_numpy(dtype=float), patients["high"].to_numpy(dtype=float)
    ax.hlines(rows + 0.15, low, high, color=OWN, lw=1.2, gid="own-interval")
    ax.plot(own, rows + 0.15, "s", color=OWN, ms=4, gid="own-effect")
    shrunken = patients["shrunken"].to_numpy(dtype=float)
    if np.isfinite(shrunken).any():
        ax.hlines(
            rows - 0.15,
            patients["shrunken_low"].to_numpy(dtype=float),
            patients["shrunken_high"].to_numpy(dtype=float),
            color=SHRUNKEN,
            lw=1.6,
            gid="shrunken-interval",
        )
        ax.plot(shrunken, rows - 0.15, "o", color=SHRUNKEN, ms=4, gid="shrunken-effect")
    mean = pooled.mean
    if mean.estimate is not None and mean.low is not None and mean.high is not None:
        centre = float(mean.estimate)
        ax.add_patch(
            Polygon(
                [(mean.low, 1.0), (centre, 1.3), (mean.high, 1.0), (centre, 0.7)],
                closed=True,
                color=POOLED,
                gid="pooled-mean",
            )
        )
        ax.axvline(centre, color=POOLED, lw=0.6, ls=":", zorder=0)
    if pooled.prediction_low is not None and pooled.prediction_high is not None:
        ax.hlines(
            0.3,
            pooled.prediction_low,
            pooled.prediction_high,
            color=POOLED,
            lw=3,
            alpha=0.45,
            gid="prediction-interval",
        )
    ax.axvline(0, color="black", lw=0.8)
    for edge in (-MARGIN, MARGIN):
        ax.axvline(edge, color="0.6", lw=0.8, ls="--")
    ax.set_yticks(
        [*rows, 1.0, 0.3],
        [str(p) for p in patients.index] + ["pooled mean", "new patient (95%)"],
        fontsize=7,
    )
    plots.literal_text(ax)  # patients are named by their folders
    ax.set_ylim(0, rows[0] + 0.8)
    ends = np.concatenate([low, high, [pooled.prediction_low or 0, pooled.prediction_high or 0]])
    ends = ends[np.isfinite(ends)]
    reach = max(MARGIN + 0.5, float(np.abs(ends).max()) + 0.3) if ends.size else MARGIN + 0.5
    ax.set_xlim(-reach, reach)
    ax.spines[["top", "right"]].set_visible(False)
    for row, own_label, pooled_label, chance in zip(
        rows,
        patients["own_label"],
        patients["pooled_label"],
        patients["p_benefit"],
        strict=True,
    ):
        ax.annotate(
            f"{own_label} → {pooled_label}" + (f" · {chance:.0%}" if np.isfinite(chance) else ""),
            (1.02, row),
            xycoords=("axes fraction", "data"),
            va="center",
            fontsize=6.5,
            color="0.25",
            annotation_clip=False,
            gid="labels",
        )
    ax.annotate(
        f"own → pooled label · P(benefit ≥ {MARGIN:g})",
        (1.02, rows[0] + 0.75),
        xycoords=("axes fraction", "data"),
        va="center",
        fontsize=6.5,
        weight="bold",
        annotation_clip=False,
    )
    ax.legend(
        handles=[
            Line2D([], [], color=OWN, marker="s", ms=4, label="own trial (95%)"),
            Line2D([], [], color=SHRUNKEN, marker="o", ms=4, label="borrowing from the clinic"),
            Patch(color=POOLED, label="pooled mean (95%)"),
            Line2D([], [], color=POOLED, lw=3, alpha=0.45, label="a new patient (95%)"),
            Line2D([], [], color="0.6", ls="--", label=f"±{MARGIN:g} point"),
        ],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.16),
        ncol=5,
        fontsize=6.5,
        frameon=False,
    )
    return ax


def patients_table(pooled: PooledEffects) -> pd.DataFrame:
    """The per-patient rows a physio reads beside the plot, rounded for display only."""
    frame = pooled.patients
    return pd.DataFrame(
        {
            "own effect": frame["effect"].round(1),
            "own 95%": [
                f"{lo:+.1f} to {hi:+.1f}"
                for lo, hi in zip(frame["low"], frame["high"], strict=True)
            ],
            "own label": frame["own_label"],
            "pooled estimate": frame["shrunken"].round(1),
            "pooled label": frame["pooled_label"],
            "P(benefit ≥ 1)": frame["p_benefit"].round(2),
        },
        index=frame.index,
    )


def comparison_lines(comparison: ComparisonPooled) -> list[str]:
    """One comparison in words (:mod:`backtrack.wording`): the CENT flow, the pooled
    mean, how much patients differ, the moderators, and what pooling cannot show."""
    flow = comparison.flow
    reasons = list(flow.get("stop_reasons") or [])
    lines = [
        f"Flow (CENT 2015): planned {flow['planned']}, started {flow['started']}, still "
        f"running {flow['running']} (never pooled), completed {flow['completed']}, stopped "
        f"early {flow['stopped_early']}"
        + (f" ({'; '.join(reasons)})" if reasons else "")
        + f", not analysable {flow['not_analysable']}, analysed {flow['analysed']}"
        + (f", pooled {comparison.pooled.k}" if comparison.not_pooled else "")
        + ".",
    ]
    lines += [f"Not pooled: {p}: {why}." for p, why in comparison.not_pooled.items()]
    pooled = comparison.pooled
    lines.append(wording.pooled_mean(pooled.mean))
    lines.append(
        wording.between_patients(pooled.tau, pooled.prediction_low, pooled.prediction_high)
    )
    for key, result in comparison.moderators.items():
        name, unit = MODERATORS[key]
        lines.append(wording.moderator(result, name, unit))
    lines.append(POOLING_CAVEAT)
    return lines


def patient_lines(pooled: PooledEffects) -> list[str]:
    """Each pooled patient's two answers side by side, in words: their own trial's and
    the one borrowing from the clinic, with P(benefit ≥ 1 point)."""
    return [
        f"{patient}: own trial: "
        + wording.responder(row["own_label"], row["low"], row["high"], MARGIN)
        + "; with the clinic: "
        + wording.responder(row["pooled_label"], row["shrunken_low"], row["shrunken_high"], MARGIN)
        + "; "
        + wording.chance_of_benefit(row["p_benefit"], MARGIN)
        for patient, row in pooled.patients.iterrows()
    ]


POOLING_CAVEAT = (
    "Each patient's own trial answers 'does B help me?' by an exact test; the pooled view "
    "borrows strength from the clinic's other trials of the same comparison, assuming "
    "patients are alike enough to be pooled. Neither is blinded."
)


PER_PAGE = 2
"""Comparisons on one A4 page, when each has at most :data:`HALF_PAGE_PATIENTS`."""
HALF_PAGE_PATIENTS = 15
"""A comparison with more patients gets a page of its own (a row per patient)."""


def _pages(comparisons: Sequence[ComparisonPooled]) -> list[list[ComparisonPooled]]:
    """The comparisons of each page: two small ones, or one large one."""
    pages: list[list[ComparisonPooled]] = []
    for comparison in comparisons:
        if (
            pages
            and not _large(comparison)
            and len(pages[-1]) < PER_PAGE
            and not _large(pages[-1][0])
        ):
            pages[-1].append(comparison)
        else:
            pages.append([comparison])
    return pages


def _large(comparison: ComparisonPooled) -> bool:
    return comparison.pooled.patients.shape[0] > HALF_PAGE_PATIENTS


def clinic_figures(comparisons: Sequence[ComparisonPooled], *, title: str = "") -> list[Figure]:
    """The clinic's pages (A4 portrait), :data:`PER_PAGE` comparisons each: a forest
    plot, the flow and the worded results per comparison. No comparison gives one page
    that says so."""
    pages = []
    chunks = _pages(comparisons)
    for number, chunk in enumerate(chunks or [[]], start=1):
        fig = Figure(figsize=(8.27, 11.69))
        fig.text(
            0.06,
            0.965,
            title or "backtrack: the clinic's self-trials",
            fontsize=14,
            weight="bold",
            va="top",
        )
        fig.text(
            0.06,
            0.94,
            textwrap.fill(
                "Each patient's randomised self-trial (N-of-1), pooled per comparison by a "
                "random-effects model. Effects are pain lower with B (points, 0-10; + = "
                f"less pain with B). Page {number} of {max(1, len(chunks))}.",
                125,
            ),
            fontsize=8,
            va="top",
            color="#444444",
        )
        if not chunk:
            fig.text(0.06, 0.9, "No self-trials in this folder yet.", fontsize=9, va="top")
        for slot, comparison in enumerate(chunk):
            top = 0.90 - slot * 0.45
            height = 0.62 if _large(comparison) else 0.21
            ax = fig.add_axes((0.14, top - height - 0.02, 0.56, height))
            heading = f"B {comparison.comparison}: {comparison.pooled.k} trial(s) pooled"
            forest_plot(comparison.pooled, ax=ax, title=heading)
            wrapped = "\n".join(textwrap.fill(line, 135) for line in comparison_lines(comparison))
            fig.text(0.06, top - height - 0.085, wrapped, fontsize=7.5, va="top")
        pages.append(plots.literal_text(fig))
    return pages


def write_clinic_pdf(
    path: str | os.PathLike[str],
    comparisons: Sequence[ComparisonPooled],
    *,
    force: bool = False,
    keep: Kept | None = None,
) -> Path:
    """Write the clinic's self-trial pages as a PDF (0600, written whole; ``keep`` (the
    patients' logs and plans) is never replaced, another kind of file only with
    ``force``)."""
    check_output(path, kind=PDF, force=force, keep=keep or {})  # before drawing
    buffer = io.BytesIO()
    metadata = {"Title": "backtrack clinic self-trials", "Creator": "backtrack"}
    style = {"font.size": 8, **plots.LITERAL_TEXT, **fonts.font_style()}
    with matplotlib.rc_context(style), PdfPages(buffer, metadata=metadata) as pdf:
        for page in clinic_figures(comparisons):
            pdf.savefig(page)
    return write_private(path, buffer.getvalue(), kind=PDF, force=force, keep=keep or {})


def clinic_trials_view(
    folder: str | os.PathLike[str] | None = None, *, today: date | None = None
) -> ipywidgets.VBox:
    """A clinic's self-trials in a notebook: for each comparison, the flow and the pooled
    results in words, the forest plot (a PNG) and each patient's two answers side by
    side. Without ``folder``, a labelled demo clinic written to a new temporary folder.
    Returns an ipywidgets box; the notebook displays it."""
    import ipywidgets as widgets  # lazy: the notebook view only; the PDF needs no widgets

    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix="backtrack-clinic-trials-demo-")) / "clinic"
        write_demo_clinic(folder, patients=24, seed=2)
        title = (
            f"DEMO clinic ({folder}): 24 simulated patients. Point the view at your clinic "
            "folder (a sub-folder per patient, docs/clinic.md) or run backtrack cohort "
            "FOLDER --trials."
        )
    else:
        title = f"Self-trials in {folder}"
    comparisons = pool_comparisons(trial_records(folder, today=today))
    children: list[widgets.Widget] = [widgets.HTML(f"<h3>{html.escape(title)}</h3>")]
    if not comparisons:
        children.append(widgets.HTML("No self-trials in this folder yet."))
    for comparison in comparisons:
        fig = Figure(figsize=(9, 1.6 + 0.3 * max(1, comparison.pooled.k)))
        heading = f"B {comparison.comparison}: {comparison.pooled.k} trial(s) pooled"
        forest_plot(comparison.pooled, ax=fig.add_subplot(), title=heading)
        fig.subplots_adjust(left=0.14, right=0.62, bottom=0.5 / fig.get_figheight() + 0.12)
        lines = [html.escape(line) for line in comparison_lines(comparison)]
        patients = [f"<li>{html.escape(line)}</li>" for line in patient_lines(comparison.pooled)]
        children += [
            widgets.HTML("<br>".join(lines)),
            widgets.Image(
                value=plots.png_bytes(fig, dpi=90),
                format="png",
                layout=widgets.Layout(max_width="900px"),
            ),
            widgets.HTML(f"<ul>{''.join(patients)}</ul>"),
        ]
    return widgets.VBox(children)
