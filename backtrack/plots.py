"""Charts of the log: each ``f(daily, *, ax=None, ...) -> Axes`` (seaborn's convention).

``daily`` is :func:`backtrack.metrics.daily_series` (see :func:`daily_for`). The charts
draw what :mod:`backtrack.metrics` and :mod:`backtrack.stats` compute and never recompute
it. Readable in grayscale and for colour-blind people: Okabe-Ito blue/orange and the
cividis scale, always with a second cue (marker, line style or hatching). Too little
data gives empty axes with a message ("Not enough data yet: needs 2 logged days, has
1"), never an exception. Nothing here changes matplotlib's global settings.

Units: pain in points on the 0-10 NRS; adherence in % of the prescribed dose.

This module imports matplotlib; the logging path (store, actions, form, cli) must
never import it.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar, cast

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib import pyplot as plt
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle, StepPatch
from matplotlib.text import Text
from matplotlib.ticker import FixedLocator, FuncFormatter
from matplotlib.transforms import Affine2DBase, ScaledTranslation, Transform

from . import function, metrics, stats
from .errors import FieldError
from .fonts import ZWNBSP, drawable
from .measures import Answers, psfs_by_activity
from .trial import routine_of

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.typing import RcKeyType

    from .routine import Routine
    from .store import LogData

# Okabe-Ito colours (colour-blind safe) and greys
BLUE = "#0072B2"
SKY = "#56B4E9"
ORANGE = "#E69F00"
VERMILLION = "#D55E00"
GREY = "0.45"
NOT_LOGGED_GREY = "0.88"
"""Days not logged where days are too narrow to hatch: the hatch's mean shade."""

PAIN_LABEL = "pain (0-10 NRS)"
ADHERENCE_LABEL = "adherence\n(% of prescribed dose)"
MIN_DAYS = 2
"""Logged days a chart needs."""
BAND_PAD = 0.06
"""Points the meaningful-improvement band extends beyond its two edges (so a band whose
edges meet, baseline < 4, still shows)."""
RASTER_POINTS = 1000
"""Daily pain dots beyond this many are drawn as an image in vector output (PDF): each
marker costs ~15 µs there, ~50 ms at 10 years; the image costs a few ms."""

ADHERENCE_BINS = (0.0, 1e-9, 0.5, metrics.HIGH_ADHERENCE - 1e-12, metrics.FULL_CREDIT)
"""Lower edges of the display classes: none, under 50%, 50-79%, 80-99%, all."""
ADHERENCE_CLASSES = ("none (0%)", "under 50%", "50-79%", "80-99% (high)", "all (100%)")
ADHERENCE_COLOURS = tuple(plt.get_cmap("cividis_r")(x) for x in (0.08, 0.3, 0.52, 0.76, 1.0))
"""Light (nothing done) to dark (all done): ordered in grayscale too."""
NOT_LOGGED_HATCH = "////"
NOT_LOGGED_LABEL = "not logged"
REST_LABEL = "rest day (planned)"
FLARE_LABEL = "flare day"
DAY_KIND_STYLE: dict[str, dict[str, Any]] = {
    NOT_LOGGED_LABEL: {"facecolor": "white", "hatch": NOT_LOGGED_HATCH, "hatchcolor": "0.6"},
    REST_LABEL: {"marker": "o", "markerfacecolor": "none", "markeredgecolor": GREY},
    FLARE_LABEL: {"marker": "^", "markerfacecolor": VERMILLION, "markeredgecolor": "black"},
}
"""One look per kind of day in every chart (trend chart, calendar, report): not logged
hatched, rest days an open circle, flare days a vermilion triangle; partial and full days
the colour of their adherence class (:data:`ADHERENCE_COLOURS`). Where days are
narrower than a point the hatch is its mean shade, :data:`NOT_LOGGED_GREY`."""
ADHERENCE_PANEL_GID = "adherence_panel"
"""The ``gid`` :func:`trend_chart` gives its adherence panel (:func:`adherence_panel`)."""


# ----------------------------------------------------------------------------- data


def daily_for(
    log: LogData | pd.DataFrame,
    routine: Routine | None = None,
    *,
    since: date | str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """The daily series the charts draw, for a log (or its ``entries``) from ``since``
    on, trimmed to start on the first logged day (as :func:`backtrack.summary` does), with the
    log's routine (:func:`backtrack.trial.routine_of`) unless ``routine`` is given."""
    entries = log if isinstance(log, pd.DataFrame) else log.entries
    return metrics.daily_since(entries, routine_of(log, routine), since)


def _check_daily(daily: pd.DataFrame) -> None:
    if not isinstance(daily, pd.DataFrame) or not {"logged", "day", "pain", "credit"} <= set(
        getattr(daily, "columns", ())
    ):
        raise FieldError(
            "data", "a daily series (backtrack.metrics.daily_series)", type(daily).__name__
        )


def _logged_days(daily: pd.DataFrame) -> int:
    return int(daily["logged"].sum())


def _labelled_axes(
    daily: pd.DataFrame, ax: Axes | None, *, xlabel: str, ylabel: str
) -> tuple[Axes, int]:
    """The start every small chart shares: check ``daily``, take ``ax`` (default: the
    current axes), label both axes (units included), and count the logged days."""
    _check_daily(daily)
    if ax is None:
        ax = plt.gca()
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax, _logged_days(daily)


def _not_enough(ax: Axes, needs: int, has: int, what: str = "logged days") -> Axes:
    """Empty axes saying what is missing."""
    ax.text(
        0.5,
        0.5,
        f"Not enough data yet: needs {needs} {what}, has {has}",
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontsize="medium",
        color="0.3",
        wrap=True,
    )
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def _figure_of(ax: Axes) -> Figure:
    """The figure ``ax`` is drawn in (the root one, if in a subfigure)."""
    fig = ax.get_figure(root=True)
    if fig is None:
        raise FieldError("ax", "an Axes in a figure", "an Axes with no figure")
    return fig


def _day_numbers(index: pd.Index[Any]) -> np.ndarray:
    """Matplotlib date numbers (days) of a daily index, at midnight."""
    if not len(index):
        return np.array([])
    days: np.ndarray = mdates.date2num(  # type: ignore[no-untyped-call]  # no stub for dates
        index.to_numpy(dtype="datetime64[ns]")
    )
    return days


def date_ticks(first: pd.Timestamp, last: pd.Timestamp) -> tuple[np.ndarray, list[str]]:
    """Tick positions (matplotlib date numbers, days) and labels people read, computed once.
    Up to 150 days: "3 Nov" every 1, 2, 7 or 14 days (at most 7 ticks), else on the 1st
    (and 15th) of each month; up to 400 days: monthly, "Jan 2026" on each January and on
    the first tick unless January is next, "Feb" between; up to 4 years: "Nov 2026"
    quarterly; beyond: "2026"."""
    first, last = pd.Timestamp(first).normalize(), pd.Timestamp(last).normalize()
    span = (last - first).days
    if span <= 150:
        step = next((s for s in (1, 2, 7, 14) if span / s <= 6), None)
        if step is None:
            days = pd.date_range(first, last, freq="SMS" if span <= 90 else "MS")
        else:
            start = first if step < 7 else first + pd.Timedelta(days=-first.weekday() % 7)
            days = pd.date_range(start, last, freq=f"{step}D")
        labels = [f"{d.day} {d:%b}" for d in days]
    elif span <= 4 * 366:
        monthly = span <= 400
        days = pd.date_range(first, last, freq="MS" if monthly else "QS-JAN")
        year = np.asarray(days.month == 1) | (not monthly)
        year[0] |= len(days) < 2 or days[1].month != 1  # the first, unless January is next
        labels = [f"{d:%b %Y}" if y else f"{d:%b}" for d, y in zip(days, year, strict=True)]
    else:
        days = pd.date_range(first, last, freq="YS")
        labels = [f"{d:%Y}" for d in days]
    return _day_numbers(days), labels


def format_dates(ax: Axes, first: pd.Timestamp, last: pd.Timestamp) -> None:
    """Fixed date ticks on ``ax``'s x axis from :func:`date_ticks` (a date locator would
    recompute them, through dateutil's rrule, at every draw)."""
    positions, labels = date_ticks(first, last)
    ax.set_xticks(positions, labels)


def period_text(first: pd.Timestamp, last: pd.Timestamp) -> str:
    """ "3 Nov 2026 – 30 Nov 2026 (28 days)"."""
    days = (last - first).days + 1
    return f"{first.day} {first:%b %Y} – {last.day} {last:%b %Y} ({days} days)"


# ----------------------------------------------------------------------------- trend chart


def attach_adherence_panel(ax: Axes, fraction: float = 0.3) -> Axes:
    """Split ``ax``'s box: the pain chart keeps the top, an adherence panel sharing its
    date axis is attached beneath (an inset, so it is ``ax.child_axes[0]`` and moves with
    ``ax``). For figures without a layout engine."""
    pos = ax.get_position()
    gap = 0.04
    top = 1 - fraction
    ax.set_position((pos.x0, pos.y0 + pos.height * fraction, pos.width, pos.height * top))
    panel = ax.inset_axes((0, -(fraction) / top, 1, (fraction - gap) / top), sharex=ax)
    return panel


def adherence_panel(ax: Axes) -> Axes | None:
    """The adherence panel :func:`trend_chart` attached beneath ``ax`` (None if none)."""
    for child in ax.child_axes:
        if isinstance(child, Axes) and child.get_gid() == ADHERENCE_PANEL_GID:
            return child
    return None


def trend_chart(
    daily: pd.DataFrame,
    *,
    ax: Axes | None = None,
    adherence_ax: Axes | None = None,
    legend: bool = True,
    baseline: tuple[date | str | None, date | str | None] | None = None,
) -> Axes:
    """The one picture: is it helping? Returns the pain Axes.

    Top (``ax``, default ``plt.gca()``): daily pain (dots), the 7-day mean
    (:func:`metrics.pain_7day_mean`, ≥ 4 rated days), the baseline
    (:func:`metrics.baseline`: first 7 rated days, or the chosen period ``baseline`` =
    (start, end)) and the band where a clinically
    meaningful improvement begins (2 points or 30% below baseline, Ostelo 2008; below a
    baseline of 4, 30% of 4 points: :func:`stats.change_thresholds`), flare days
    (triangles). Beneath (``adherence_ax``; when
    None, one is carved out of ``ax`` and attached: :func:`adherence_panel`): each day's
    dose credit in % drawn as filled steps (``StepPatch``, what ``stairs`` draws: one
    artist, not a bar per day) in the calendar's colour of its adherence class, rest days
    an open circle, days not logged hatched (so "logged, nothing done" stays blank): the
    day kinds look as in every chart (:data:`DAY_KIND_STYLE`)."""
    _check_daily(daily)
    if ax is None:
        ax = plt.gca()
    if adherence_ax is None:
        adherence_ax = attach_adherence_panel(ax)
    adherence_ax.set_gid(ADHERENCE_PANEL_GID)
    ax.set_ylabel(PAIN_LABEL)
    adherence_ax.set_ylabel(ADHERENCE_LABEL, fontsize="small")
    adherence_ax.set_xlabel("date")
    has = _logged_days(daily)
    if has < MIN_DAYS:
        _not_enough(ax, MIN_DAYS, has)
        adherence_ax.set_xticks([])
        adherence_ax.set_yticks([])
        return ax

    x = _day_numbers(daily.index)
    pain = daily["pain"].to_numpy(dtype=float)
    rated = ~np.isnan(pain)
    ax.plot(
        x[rated],
        pain[rated],
        linestyle="none",
        marker="o",
        markersize=3.2 if len(x) < 400 else 1.6,
        color=SKY,
        label="pain that day",
        gid="pain",
        rasterized=len(x) > RASTER_POINTS,  # in a PDF; PNG: no effect
    )
    mean7 = metrics.pain_7day_mean(daily).to_numpy(dtype=float)
    width = 2.2 if len(x) <= 200 else (1.4 if len(x) <= 800 else 0.8)
    ax.plot(x, mean7, color=BLUE, linewidth=width, label="7-day mean", gid="pain_7day_mean")

    base = metrics.baseline(daily, *(baseline or (None, None)))
    if base.value is not None:
        what = "chosen period" if baseline is not None else "first 7 rated days"
        _baseline_and_band(ax, base.value, x[0] - 0.5, x[-1] + 0.5, what)

    flare = daily["flare"].to_numpy(dtype=bool)
    flare_y = np.where(np.isnan(pain), 10.0, pain)[flare]
    ax.plot(
        x[flare],
        flare_y,
        linestyle="none",
        markersize=6 if len(x) < 400 else 3.5,
        markeredgewidth=0.5,
        label=FLARE_LABEL,
        gid="flare",
        **DAY_KIND_STYLE[FLARE_LABEL],
    )
    ax.set_ylim(-0.3, 10.3)
    ax.set_yticks(range(0, 11, 2))
    ax.grid(axis="y", color="0.9", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.set_xlim(x[0] - 0.5, x[-1] + 0.5)
    ax.tick_params(axis="x", labelbottom=False)
    ax.xaxis.set_visible(False)  # the panel beneath shows the dates (and no ticks: faster)

    hatched = _adherence_stairs(adherence_ax, daily, x)
    adherence_ax.set_xlim(x[0] - 0.5, x[-1] + 0.5)
    format_dates(adherence_ax, daily.index[0], daily.index[-1])
    if legend:
        legends_above(ax, [_pain_legend_handles(ax), _adherence_legend_handles(hatched)])
    return ax


def _baseline_and_band(
    ax: Axes, baseline: float, left: float, right: float, what: str = "first 7 rated days"
) -> None:
    """Baseline line, and the band between the two definitions of a clinically
    meaningful improvement (baseline − 2 points, baseline − 30% of max(baseline, 4)).
    A ``Line2D`` and a ``Rectangle`` (not ``hlines`` and ``fill_between``, whose
    collections draw the same pixels ~5 ms slower at 10 years)."""
    points = baseline - stats.IMPORTANT_POINTS
    ax.add_line(
        Line2D(
            [left, right],
            [baseline, baseline],
            color="black",
            linestyle="--",
            linewidth=1.2,
            label=f"baseline {baseline:.1f} ({what})",
            gid="baseline",
        )
    )
    # the band's top is where an important improvement starts (stats.change_thresholds)
    percent = baseline - stats.percent_reference(baseline) * stats.IMPORTANT_PERCENT / 100
    low, high = sorted((points, percent))
    if baseline >= stats.PERCENT_MIN_BASELINE:
        label = "meaningful improvement starts\n(2 points or 30% below baseline)"
    else:
        label = "meaningful improvement starts\n(2 points, or 30% of 4, below baseline)"
    low, high = max(low, 0.0) - BAND_PAD, max(high, 0.0) + BAND_PAD
    ax.add_patch(
        Rectangle(
            (left, low),
            right - left,
            high - low,
            facecolor=ORANGE,
            alpha=0.35,
            edgecolor=ORANGE,
            linewidth=1.0,
            label=label,
            gid="meaningful_band",
        )
    )


def _adherence_stairs(ax: Axes, daily: pd.DataFrame, x: np.ndarray) -> bool:
    """One filled step layer per adherence class of logged, non-rest days (coloured as
    the calendar colours it, height the % of dose; a filled step of height 0 draws
    nothing, NaN gaps would cost ~8 ms each layer at 10 years) and one for days not
    logged (hatched); rest days are an open circle at mid-height (:data:`DAY_KIND_STYLE`).
    Days narrower than a point cannot show a hatch: "not logged" is then the hatch's
    mean shade, and the steps are not snapped to whole pixels (a day's share of a pixel
    shows as a tint; snapped, some days would vanish and others fill a pixel). Returns
    whether "not logged" is hatched."""
    edges = np.append(x - 0.5, x[-1] + 0.5)
    day_points = ax.get_position().width * _figure_of(ax).get_figwidth() * 72 / len(x)
    hatch = day_points >= 1
    credit = daily["credit"].to_numpy(dtype=float)
    rest = daily["day"].to_numpy(dtype=object) == "rest"
    logged = daily["logged"].to_numpy(dtype=bool)
    not_logged = _not_logged_style(hatch)
    _stairs(ax, np.where(~logged, 100.0, 0.0), edges, gid="not_logged", snap=hatch,
            edgecolor="none", **not_logged)  # fmt: skip
    classes = np.where(logged & ~rest, _class_index(credit), -1)
    height = np.nan_to_num(credit) * 100
    for number, colour in enumerate(ADHERENCE_COLOURS[1:], start=1):  # class 0: height 0
        _stairs(ax, np.where(classes == number, height, 0.0), edges, gid=f"adherence_{number}",
                snap=hatch, facecolor=colour, edgecolor="none")  # fmt: skip
    ax.plot(x[logged & rest], np.full(int((logged & rest).sum()), 50.0), linestyle="none",
            markersize=4 if day_points >= 3 else 1.5, markeredgewidth=0.8 if day_points >= 3
            else 0.5, gid="rest", **DAY_KIND_STYLE[REST_LABEL])  # fmt: skip
    high = metrics.HIGH_ADHERENCE * 100
    ax.axhline(high, color="black", linestyle=":", linewidth=1, gid="high")
    ax.set_ylim(0, 100)
    ax.set_yticks([0, 50, 100], ["0%", "50%", "100%"])
    return hatch


def _not_logged_style(hatched: bool = True) -> dict[str, Any]:
    """How days not logged are filled: hatched, or the hatch's mean shade."""
    return dict(DAY_KIND_STYLE[NOT_LOGGED_LABEL]) if hatched else {"facecolor": NOT_LOGGED_GREY}


def day_kind_handles(*, hatched: bool = True, classes: bool = True) -> list[Artist]:
    """Legend entries of the kinds of day, styled as every chart draws them
    (:data:`DAY_KIND_STYLE`): the adherence classes (when ``classes``), rest days, days
    not logged (hatched unless ``hatched`` is False) and flare days."""
    handles: list[Artist] = (
        [
            Patch(facecolor=c, edgecolor="0.5", linewidth=0.5, label=label)
            for c, label in zip(ADHERENCE_COLOURS, ADHERENCE_CLASSES, strict=True)
        ]
        if classes
        else []
    )
    handles += [
        Line2D([], [], linestyle="none", label=REST_LABEL, **DAY_KIND_STYLE[REST_LABEL]),
        Patch(edgecolor="0.5", linewidth=0.5, label=NOT_LOGGED_LABEL,
              **_not_logged_style(hatched)),
        Line2D([], [], linestyle="none", markeredgewidth=0.5, label=FLARE_LABEL,
               **DAY_KIND_STYLE[FLARE_LABEL]),
    ]  # fmt: skip
    return handles


def _stairs(ax: Axes, values: np.ndarray, edges: np.ndarray, **style: Any) -> StepPatch:
    """What ``ax.stairs(values, edges, fill=True)`` draws, added without autoscaling (the
    caller sets the limits): ``stairs`` spends ~250 ms updating data limits over 3650
    steps. Neighbouring steps of one height are one step (the same area; at 10 years
    ~3 ms less to draw): the patch's values are per run of equal days, not per day."""
    starts = np.flatnonzero(np.diff(values, prepend=np.nan) != 0)  # NaN != anything
    patch = StepPatch(values[starts], np.append(edges[starts], edges[-1]), baseline=0,
                      fill=True, **style)  # fmt: skip
    ax.add_artist(patch)
    return patch


def _pain_legend_handles(ax: Axes) -> list[Artist]:
    """Legend entries of the pain panel, styled as drawn (sizes as on a short chart)."""
    handles: list[Artist] = [
        Line2D([], [], linestyle="none", marker="o", markersize=3.2, color=SKY,
               label="pain that day"),
        Line2D([], [], color=BLUE, linewidth=2.2, label="7-day mean"),
    ]  # fmt: skip
    drawn = {artist.get_gid(): artist for artist in ax.get_children()}
    if "baseline" in drawn:
        handles.append(
            Line2D([], [], color="black", linestyle="--", linewidth=1.2,
                   label=drawn["baseline"].get_label())
        )  # fmt: skip
        handles.append(
            Patch(facecolor=ORANGE, alpha=0.35, edgecolor=ORANGE,
                  label=drawn["meaningful_band"].get_label())
        )  # fmt: skip
    handles.append(day_kind_handles(classes=False)[-1])  # the flare day, as everywhere
    return handles


def _adherence_legend_handles(hatched: bool = True) -> list[Artist]:
    """Legend entries of the adherence panel, styled as drawn (:func:`day_kind_handles`):
    the classes a bar can show (none done draws no bar), rest days, days not logged
    (hatched only where the panel hatches them), and the 80% line."""
    kinds = day_kind_handles(hatched=hatched)
    return [
        *kinds[1 : len(ADHERENCE_COLOURS)],
        *kinds[len(ADHERENCE_COLOURS) : -1],
        Line2D([], [], color="black", linestyle=":", label="80% = high adherence"),
    ]


# ----------------------------------------------------------------------------- legends


LEGEND_STYLE: dict[str, Any] = {
    "frameon": False,
    "fontsize": "x-small",
    "borderpad": 0.0,
    "borderaxespad": 0.0,
    "labelspacing": 0.35,
    "handlelength": 2.5,
    "handletextpad": 0.45,
    "columnspacing": 1.6,
}
"""What the charts' legends share (lengths in font sizes): small, no frame, compact."""


def _inches_from(ax: Axes, corner: tuple[float, float]) -> Transform:
    """Inches from a corner of ``ax`` in axes coordinates ((0, 1): its top left)."""
    # transAxes is a BboxTransformTo, an Affine2DBase (the stub says only Transform)
    axes = cast(Affine2DBase, ax.transAxes)
    return _figure_of(ax).dpi_scale_trans + ScaledTranslation(*corner, axes)


def _reading_order(handles: list[Artist], ncols: int) -> list[Artist]:
    """``handles`` reordered so a legend of ``ncols`` columns (filled column by column,
    the first columns one longer) reads left to right, then row by row."""
    rows = -(-len(handles) // ncols)
    return [
        handles[r * ncols + c]
        for c in range(ncols)
        for r in range(rows)
        if r * ncols + c < len(handles)
    ]


def _columns_that_fit(widths: list[float], room: float, spacing: float) -> int:
    """Most columns for entries of ``widths`` in reading order whose columns (each as
    wide as its widest entry, ``spacing`` apart) fit in ``room``; at least 1."""
    for ncols in range(len(widths), 1, -1):
        columns = [max(widths[c::ncols]) for c in range(ncols)]
        if sum(columns) + (ncols - 1) * spacing <= room:
            return ncols
    return 1


def measuring_renderer(dpi: float) -> RendererBase:
    """A 1x1 pixel Agg renderer at ``dpi``, to measure texts and legends before a figure is
    drawn (``artist.get_window_extent(renderer)``); it draws nothing."""
    renderer: RendererBase = RendererAgg(1, 1, dpi)  # type: ignore[no-untyped-call]  # no stub
    return renderer


@functools.lru_cache(maxsize=512)
def _text_width(text: str, points: float, dpi: float) -> float:
    """Pixels of the widest line of ``text`` at ``points`` and ``dpi``, as Agg lays it out
    with matplotlib's default hinting (as a notebook draws; the unhinted PNG and PDF text
    is 1-5% narrower). Cached, as :func:`_legend_height`."""
    renderer = measuring_renderer(dpi)
    prop = FontProperties(size=points)
    return max(renderer.get_text_width_height_descent(line, prop, False)[0]
               for line in text.split("\n"))  # fmt: skip


@functools.lru_cache(maxsize=512)
def _legend_height(lines: tuple[int, ...], ncols: int, points: float, dpi: float) -> float:
    """Inches of a legend in :data:`LEGEND_STYLE` whose entries have ``lines`` lines of
    text, in ``ncols`` columns, measured by matplotlib on an unseen figure (the height
    depends only on these: a line is as tall as "lp" whatever it says, a handle as tall
    as ``handleheight``). Cached: measuring the trend chart's two legends costs ~15 ms
    the first time (autohinted glyphs, a legend laid out), ~0 after (thread CPU time)."""
    fig = Figure(dpi=dpi)
    handles = [Patch(label="\n".join(["lp"] * n)) for n in lines]
    legend = Legend(fig.add_axes((0, 0, 1, 1)), handles, [str(h.get_label()) for h in handles],
                    **{**LEGEND_STYLE, "fontsize": points, "ncols": ncols})  # fmt: skip
    return legend.get_window_extent(measuring_renderer(dpi)).height / dpi


def legends_above(
    ax: Axes, groups: list[list[Artist]], *, gap: float = 0.04, between: float = 0.03
) -> list[Legend]:
    """One matplotlib legend per group of handles (Patch or Line2D with a label), stacked
    above ``ax`` (the first group on top; inches: ``gap`` above the axes, ``between``
    the legends), each with as many columns as fit in the axes' width (1% spare): entries
    read left to right and wrap onto more rows in narrow figures. The top one is
    ``ax.get_legend()``."""
    fig = _figure_of(ax)
    points = FontProperties(size=LEGEND_STYLE["fontsize"]).get_size_in_points()
    size = points * fig.dpi / 72  # pixels
    handle = (LEGEND_STYLE["handlelength"] + LEGEND_STYLE["handletextpad"]) * size
    room = 0.99 * ax.get_position().width * fig.get_figwidth() * fig.dpi
    transform = _inches_from(ax, (0, 1))
    made: list[Legend] = []
    bottom = gap
    for number, handles in enumerate(reversed(groups)):
        labels = [str(h.get_label()) for h in handles]
        widths = [handle + _text_width(label, points, fig.dpi) for label in labels]
        ncols = _columns_that_fit(widths, room, LEGEND_STYLE["columnspacing"] * size)
        ordered = _reading_order(handles, ncols)
        ordered_labels = [str(h.get_label()) for h in ordered]
        style: dict[str, Any] = {
            **LEGEND_STYLE, "fontsize": points, "loc": "lower left", "ncols": ncols,
            "bbox_to_anchor": (0, bottom), "bbox_transform": transform,
        }  # fmt: skip
        if number == len(groups) - 1:  # the top one: ax.get_legend()
            legend = ax.legend(handles=ordered, **style)
        else:
            legend = Legend(ax, ordered, ordered_labels, **style)
            ax.add_artist(legend)
        lines = tuple(label.count("\n") + 1 for label in ordered_labels)
        bottom += _legend_height(lines, ncols, points, fig.dpi) + between
        made.append(legend)
    return made[::-1]


def legend_right(ax: Axes, handles: list[Artist], *, title: str, gap: float = 0.08) -> Legend:
    """A matplotlib legend right of ``ax`` (``gap`` inches), one entry per line from its
    top, under ``title`` (aligned left); ``ax.get_legend()``."""
    return ax.legend(
        handles=handles,
        title=title,
        title_fontsize=LEGEND_STYLE["fontsize"],
        alignment="left",
        loc="upper left",
        bbox_to_anchor=(gap, 0),
        bbox_transform=_inches_from(ax, (1, 1)),
        **{**LEGEND_STYLE, "handlelength": 1.9, "labelspacing": 0.3},
    )


# ----------------------------------------------------------------------------- PNG


LITERAL_TEXT: dict[RcKeyType, Any] = {"text.parse_math": False, "text.usetex": False}
"""Texts drawn as typed, never as mathtext or LaTeX: the settings for texts matplotlib
makes while it draws (tick labels); :func:`literal_text` sets the ones already made."""

_A = TypeVar("_A", bound=Artist)


def literal_text(artist: _A) -> _A:
    """Every text of ``artist`` (a figure, or axes) drawn literally: names, trial labels,
    notes and exercise names come from the user, and ``$x$``, ``$^$`` or a backslash are
    shown as typed, never parsed as mathtext (``$^$`` made matplotlib raise) or sent to
    LaTeX; each is made :func:`drawable`. The savers (:func:`png_bytes`, the reports)
    apply it and save under :data:`LITERAL_TEXT`, for the tick labels drawing makes; a
    chart that draws user text on any axes applies it to them. Returns ``artist``."""
    for text in artist.findobj(Text):
        text.set_parse_math(False)
        text.set_usetex(False)
        shown = text.get_text()
        if ZWNBSP in shown:
            text.set_text(drawable(shown))
    return artist


PNG_STYLE: dict[RcKeyType, Any] = {"text.hinting": "no_hinting", **LITERAL_TEXT}
"""Glyphs without FreeType's autohinter: each is rendered on its own, ~15 ms less for the
trend chart; looks the same at 90-100 dpi. Texts as typed (:data:`LITERAL_TEXT`)."""


def png_bytes(fig: Figure, dpi: float = 100) -> bytes:
    """The figure as PNG (matplotlib's own ``savefig``), with :data:`PNG_STYLE` and zlib
    level 1 (Pillow's ``compress_level``: about 30 ms less than the default at 10
    years, files about a third bigger)."""
    buffer = io.BytesIO()
    literal_text(fig)
    with matplotlib.rc_context(PNG_STYLE):
        fig.savefig(buffer, format="png", dpi=dpi, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


def trend_figure(
    daily: pd.DataFrame,
    *,
    width: float = 9.0,
    height: float = 5.6,
    title: str | None = None,
    baseline: tuple[date | str | None, date | str | None] | None = None,
) -> Figure:
    """A figure holding :func:`trend_chart` (``baseline`` as there) with fixed margins
    (no layout engine: fast). Not registered with pyplot: save it, or display it; nothing
    to close."""
    fig = Figure(figsize=(width, height))
    left, right = 1.15 / width, 0.25 / width
    top = 1 - (1.05 if title else 0.7) / height
    bottom = 0.55 / height
    span = top - bottom
    ax = fig.add_axes((left, bottom + 0.36 * span, 1 - left - right, 0.64 * span))
    panel = fig.add_axes((left, bottom, 1 - left - right, 0.30 * span), sharex=ax)
    trend_chart(daily, ax=ax, adherence_ax=panel, baseline=baseline)
    if title:
        fig.text(left, 1 - 0.12 / height, title, fontsize="large", fontweight="bold", va="top")
    return fig


# ----------------------------------------------------------------------------- sparkline


GLANCE_DAYS = 28
"""Days the form's sparkline shows (4 weeks)."""


def sparkline(daily: pd.DataFrame, *, ax: Axes | None = None, days: int = GLANCE_DAYS) -> Axes:
    """Progress at a glance, for the form after a Save: the last ``days`` days of
    ``daily`` (its last rows), pain that day (line and dots, 0-10, gid ``pain``) above and,
    in an attached panel beneath (:func:`adherence_panel`), each day's adherence drawn as
    the trend chart draws it (:data:`DAY_KIND_STYLE`: class colours, rest an open circle,
    not logged hatched); flare days a triangle. No legend or dates: small enough for a
    phone's save bar. Returns the pain Axes; too few logged days give the message."""
    _check_daily(daily)
    if ax is None:
        ax = plt.gca()
    recent = daily.iloc[-days:] if days > 0 else daily.iloc[:0]
    panel = attach_adherence_panel(ax, fraction=0.42)
    panel.set_gid(ADHERENCE_PANEL_GID)
    has = _logged_days(recent)
    if has < MIN_DAYS:
        _not_enough(ax, MIN_DAYS, has, "logged days in 4 weeks")
        ax.set_xticks([])
        ax.set_yticks([])
        panel.set_axis_off()
        return ax
    x = _day_numbers(recent.index)
    pain = recent["pain"].to_numpy(dtype=float)
    ax.plot(x, pain, color=BLUE, linewidth=1.4, marker="o", markersize=2.6, gid="pain")
    flare = recent["flare"].to_numpy(dtype=bool)
    ax.plot(x[flare], np.where(np.isnan(pain), 10.0, pain)[flare], linestyle="none",
            markersize=4.5, markeredgewidth=0.5, gid="flare",
            **DAY_KIND_STYLE[FLARE_LABEL])  # fmt: skip
    ax.set_ylim(-0.5, 10.5)
    ax.set_xlim(x[0] - 0.5, x[-1] + 0.5)
    ax.set_yticks([0, 10], ["0", "10"], fontsize="x-small")
    ax.set_ylabel("pain", fontsize="x-small", labelpad=1)
    ax.xaxis.set_visible(False)
    _adherence_stairs(panel, recent, x)
    panel.set_xlim(x[0] - 0.5, x[-1] + 0.5)
    panel.set_yticks([])
    panel.set_ylabel("done", fontsize="x-small", labelpad=9)
    panel.xaxis.set_visible(False)
    for axes in (ax, panel):
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
    return ax


def sparkline_figure(daily: pd.DataFrame, *, width: float = 3.9, height: float = 1.0) -> Figure:
    """A small figure holding :func:`sparkline` with fixed margins (no layout engine)."""
    fig = Figure(figsize=(width, height))
    sparkline(daily, ax=fig.add_axes((0.42 / width, 0.04, 1 - 0.48 / width, 0.92)))
    return fig


# ----------------------------------------------------------------------------- calendar


def _grid_over_hatching(ax: Axes, colours: np.ndarray, *, gid: str) -> None:
    """Draw an RGBA grid (rows x weeks x 4) as one image over the "not logged" hatching:
    cells left transparent show the hatch, so not logged never looks like not done."""
    rows, weeks = colours.shape[:2]
    ax.add_patch(
        Rectangle(
            (-0.5, -0.5),
            weeks,
            rows,
            edgecolor="none",
            linewidth=0,
            zorder=0,
            **DAY_KIND_STYLE[NOT_LOGGED_LABEL],
        )
    )
    ax.imshow(
        colours,
        aspect="auto",
        interpolation="nearest",
        extent=(-0.5, weeks - 0.5, rows - 0.5, -0.5),
        zorder=1,
        gid=gid,
    )


def _class_index(credit: np.ndarray) -> np.ndarray:
    """Display class 0-4 of each credit (NaN → -1)."""
    index = np.searchsorted(np.asarray(ADHERENCE_BINS), credit, side="right") - 1
    return np.where(np.isnan(credit), -1, index)


def _class_colours(credit: np.ndarray) -> np.ndarray:
    """RGBA per credit; NaN transparent (shows the hatched "not logged" background)."""
    palette = np.array(ADHERENCE_COLOURS + ((1.0, 1.0, 1.0, 0.0),))
    colours: np.ndarray = palette[_class_index(credit)]
    return colours


def _class_legend(with_rest: bool = True, what: str = NOT_LOGGED_LABEL) -> list[Artist]:
    """The adherence classes, rest days (when ``with_rest``) and the hatched cells, named
    ``what``, as :func:`day_kind_handles` draws them."""
    kinds = day_kind_handles()[:-1]
    if not with_rest:
        kinds = [h for h in kinds if h.get_label() != REST_LABEL]
    kinds[-1].set_label(what)
    return kinds


def calendar(daily: pd.DataFrame, *, ax: Axes | None = None, legend: bool = True) -> Axes:
    """Calendar of adherence: one square per day (weeks left to right, Monday on top),
    coloured by the day's dose credit (% of prescribed dose, light = none done, dark =
    all done). Rest days are white with a circle, days not logged are hatched (never shown
    as "not done"); flare days carry a triangle: as in every chart (:data:`DAY_KIND_STYLE`)."""
    ax, has = _labelled_axes(daily, ax, xlabel="week starting", ylabel="day of week")
    if has < MIN_DAYS:
        return _not_enough(ax, MIN_DAYS, has)
    first = daily.index[0] - pd.Timedelta(days=daily.index[0].weekday())
    offset = (daily.index - first).days.to_numpy()
    column, row = offset // 7, offset % 7
    weeks = int(column[-1]) + 1
    credit = daily["credit"].to_numpy(dtype=float)
    logged = daily["logged"].to_numpy(dtype=bool)
    rest = daily["day"].eq("rest").to_numpy(dtype=bool)
    colours = np.ones((7, weeks, 4))  # outside the period: white
    cells = _class_colours(np.where(rest, np.nan, credit))
    cells[rest] = (1.0, 1.0, 1.0, 1.0)
    cells[~logged] = (1.0, 1.0, 1.0, 0.0)  # transparent: hatched background
    colours[row, column] = cells
    _grid_over_hatching(ax, colours, gid="calendar")
    if weeks <= 60:  # cell borders while cells are big enough to see them
        ax.vlines(np.arange(weeks + 1) - 0.5, -0.5, 6.5, colors="white", linewidth=1, zorder=2)
        ax.hlines(np.arange(8) - 0.5, -0.5, weeks - 0.5, colors="white", linewidth=1, zorder=2)
    small = weeks <= 60
    rest_here = rest & logged
    ax.plot(
        column[rest_here],
        row[rest_here],
        linestyle="none",
        markersize=4 if small else 1.5,
        markeredgewidth=0.8 if small else 0.5,
        zorder=3,
        gid="rest",
        **DAY_KIND_STYLE[REST_LABEL],
    )
    flare = daily["flare"].to_numpy(dtype=bool)
    ax.plot(
        column[flare],
        row[flare],
        linestyle="none",
        markersize=5 if weeks <= 60 else 2.5,
        markeredgewidth=0.5,
        zorder=3,
        gid="flare",
        **DAY_KIND_STYLE[FLARE_LABEL],
    )
    ax.set_xlim(-0.5, weeks - 0.5)
    ax.set_ylim(6.5, -0.5)
    _limit_cell_width(ax, weeks, 7)
    ax.set_yticks([0, 2, 4, 6], ["Mon", "Wed", "Fri", "Sun"], fontsize="small")
    _week_ticks(ax, first, weeks)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if legend:
        legend_right(ax, day_kind_handles(), title="routine done\n(% of dose)")
    return ax


def _limit_cell_width(ax: Axes, columns: int, rows: int, most: float = 2.5) -> None:
    """Keep cells at most ``most`` times wider than tall, or half an inch wide (few
    weeks in a wide box): the axes then shrinks to the left."""
    box = ax.get_position()
    width, height = _figure_of(ax).get_size_inches()
    cell_height = box.height * height / rows
    most = max(most, 0.5 / cell_height)  # room for a date label under each week
    ratio = (box.width * width / columns) / cell_height
    if ratio > most:
        ax.set_aspect(1 / most, adjustable="box", anchor="W")


def _week_ticks(ax: Axes, first_monday: pd.Timestamp, weeks: int) -> None:
    """Ticks at the first week of each month (or year), labelled for people."""
    mondays = pd.date_range(first_monday, periods=weeks, freq="7D")
    if weeks <= 20:
        positions = np.arange(weeks)
        labels = [f"{d.day} {d:%b}" for d in mondays]
        step = 1 if weeks <= 10 else 2
        positions, labels = positions[::step], labels[::step]
    elif weeks <= 4 * 53:
        new_month = np.r_[True, mondays.month[1:] != mondays.month[:-1]]
        positions = np.flatnonzero(new_month)
        step = 1 if weeks <= 60 else 3
        positions = positions[::step]
        labels = [f"{mondays[int(p)]:%b %Y}" if weeks > 60 else f"{mondays[int(p)]:%b}"
                  for p in positions]  # fmt: skip
    else:
        new_year = np.r_[True, mondays.year[1:] != mondays.year[:-1]]
        positions = np.flatnonzero(new_year)
        labels = [f"{mondays[int(p)]:%Y}" for p in positions]
    gaps = np.diff(positions)
    if len(gaps) > 1 and gaps[0] < np.median(gaps):  # the grid starts inside a month or
        positions, labels = positions[1:], labels[1:]  # year: its label runs into the next
    ax.xaxis.set_major_locator(FixedLocator(positions.tolist()))
    ax.set_xticklabels(labels, fontsize="small")


# ----------------------------------------------------------------------------- next-day pain


ADHERENCE_LEVELS = ("none (0%)", "some (1-79%)", "high (80-100%)")


def next_day_groups(daily: pd.DataFrame) -> dict[str, np.ndarray]:
    """Next-day pain (points) grouped by the dose credit of the day before, from
    :func:`stats.lag_frame` (both days logged, pain rated; a rest day counts what was
    done, usually nothing, as in the lagged-link model)."""
    pairs = stats.lag_frame(daily)[["pain", "credit_prev"]].dropna()
    credit = pairs["credit_prev"].to_numpy(dtype=float)
    pain = pairs["pain"].to_numpy(dtype=float)
    none = credit <= 0
    high = credit >= metrics.HIGH_ADHERENCE - 1e-12
    return dict(zip(ADHERENCE_LEVELS, (pain[none], pain[~none & ~high], pain[high]), strict=True))


def next_day_pain(daily: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Next-day pain by how much of the routine was done the day before: every pair of
    days as a dot (spread sideways so they do not hide each other) over a box (median
    and quartiles), with n per group. A picture, not proof: see the lagged link."""
    ax, has = _labelled_axes(
        daily,
        ax,
        xlabel="routine done the day before (% of prescribed dose)",
        ylabel="next-day " + PAIN_LABEL,
    )
    if has < MIN_DAYS:
        return _not_enough(ax, MIN_DAYS, has)
    groups = next_day_groups(daily)
    total = sum(len(v) for v in groups.values())
    if total < MIN_DAYS:
        return _not_enough(ax, MIN_DAYS, total, "pairs of consecutive logged days")
    rng = np.random.default_rng(0)  # fixed spread: the same picture every time
    positions = np.arange(len(ADHERENCE_LEVELS))
    for position, (name, values) in zip(positions, groups.items(), strict=True):
        spread = rng.uniform(-0.18, 0.18, len(values))
        ax.plot(
            position + spread,
            values + rng.uniform(-0.12, 0.12, len(values)),
            linestyle="none",
            marker="o",
            markersize=3,
            color=SKY,
            alpha=0.55,
            gid=f"points:{name}",
        )
    filled = [(p, v) for p, v in zip(positions, groups.values(), strict=True) if len(v)]
    ax.boxplot(
        [v for _, v in filled],
        positions=[p for p, _ in filled],
        widths=0.5,
        showfliers=False,
        patch_artist=True,
        boxprops={"facecolor": "none", "edgecolor": BLUE, "linewidth": 1.5},
        medianprops={"color": VERMILLION, "linewidth": 2},
        whiskerprops={"color": BLUE},
        capprops={"color": BLUE},
    )
    ax.set_xticks(
        positions, [f"{name}\nn = {len(v)}" for name, v in groups.items()], fontsize="small"
    )
    ax.set_xlim(-0.6, len(positions) - 0.4)
    ax.set_ylim(-0.5, 10.5)
    ax.set_yticks(range(0, 11, 2))
    ax.grid(axis="y", color="0.9")
    ax.set_axisbelow(True)
    ax.set_title("Pain the day after, by what was done", fontsize="medium", loc="left")
    return ax


# ----------------------------------------------------------------------------- per exercise


def _exercise_label(exercise_id: str, labels: Mapping[str, str] | None) -> str:
    if labels and exercise_id in labels:
        return drawable(labels[exercise_id])  # a tick label: made while drawing
    return exercise_id.replace("_", " ").capitalize()


def exercise_adherence(
    daily: pd.DataFrame,
    *,
    ax: Axes | None = None,
    labels: Mapping[str, str] | None = None,
    legend: bool = True,
) -> Axes:
    """Per-exercise adherence by week (:func:`metrics.adherence_by_exercise_week`): one
    row per exercise, one column per week, in the calendar's classes; weeks without a
    logged routine day are hatched. ``labels`` maps exercise ids to names."""
    ax, has = _labelled_axes(daily, ax, xlabel="week starting", ylabel="exercise")
    ids = metrics.exercise_ids(daily)
    if has < MIN_DAYS or not ids:
        return _not_enough(ax, MIN_DAYS, has)
    weekly = metrics.adherence_by_exercise_week(daily)
    colours = _class_colours(weekly.to_numpy(dtype=float).T)
    weeks = len(weekly)
    _grid_over_hatching(ax, colours, gid="exercise_weeks")
    if weeks <= 60:
        ax.vlines(np.arange(weeks + 1) - 0.5, -0.5, len(ids) - 0.5, colors="white", zorder=2)
        ax.hlines(np.arange(len(ids) + 1) - 0.5, -0.5, weeks - 0.5, colors="white", zorder=2)
    _limit_cell_width(ax, weeks, len(ids), most=4)
    ax.set_yticks(range(len(ids)), [_exercise_label(e, labels) for e in ids], fontsize="small")
    literal_text(ax.yaxis)  # the names may come from a routine.toml
    first_monday = weekly.index[0] - pd.Timedelta(days=6)
    _week_ticks(ax, first_monday, weeks)
    ax.set_title("Each exercise, week by week", fontsize="medium", loc="left")
    if legend:
        legend_right(ax, _class_legend(False, "no routine day logged"),
                     title="mean that week\n(% of dose)")  # fmt: skip
    return ax


# ----------------------------------------------------------------------------- habit


def habit_chart(daily: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Habit strength over time (:func:`metrics.habit_strength`, Loop Habit Tracker's
    score, in %): rises with each routine day done, fades slowly when days are missed;
    rest, flare and unlogged days leave it unchanged."""
    ax, has = _labelled_axes(daily, ax, xlabel="date", ylabel="habit strength (%, 0-100)")
    if has < MIN_DAYS:
        return _not_enough(ax, MIN_DAYS, has)
    x = _day_numbers(daily.index)
    strength = metrics.habit_strength(daily).to_numpy(dtype=float) * 100
    ax.plot(x, strength, color=BLUE, linewidth=2, gid="habit_strength")
    ax.fill_between(x, 0, strength, color=BLUE, alpha=0.12, linewidth=0)
    ax.set_ylim(0, 100)
    ax.set_xlim(x[0] - 0.5, x[-1] + 0.5)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0f}%"))
    ax.grid(axis="y", color="0.9")
    ax.set_axisbelow(True)
    format_dates(ax, daily.index[0], daily.index[-1])
    ax.set_title("Habit strength (grows with each routine day)", fontsize="medium", loc="left")
    return ax


def change_vs_adherence(table: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """A cohort (:func:`backtrack.cohort.summarise`): change vs baseline (points,
    + = better) with its 95% interval against 28-day adherence (%), one labelled dot per
    patient, triangles where pain is rising; the 2-point line of a clinically important
    change and the 60% adherence line are drawn. Patients without both numbers are left
    out (and counted in the title); none with both gives empty axes saying so."""
    ax = plt.gca() if ax is None else ax
    both = table.dropna(subset=["change", "adherence_28day"])
    ax.set_xlabel("adherence, last 28 days (% of prescribed dose)")
    ax.set_ylabel("change vs baseline (points, + = less pain)")
    if both.empty:
        return _not_enough(ax, 1, 0, "patient with a change and an adherence")
    x = both["adherence_28day"].astype(float) * 100
    y = both["change"].astype(float)
    rising = both["trend_low"].astype(float) > 0
    low, high = both["change_low"].astype(float), both["change_high"].astype(float)
    ax.errorbar(  # the change's 95% interval (no bar where it is not computable)
        x,
        y,
        yerr=[y - low, high - y],
        fmt="none",
        ecolor="0.6",
        elinewidth=0.8,
        label="95% interval of the change",
    )
    ax.scatter(x[~rising], y[~rising], color=BLUE, label="patient")
    ax.scatter(x[rising], y[rising], color=VERMILLION, marker="^", label="patient, pain rising")
    for patient, xi, yi in zip(both["patient"], x, y, strict=True):
        ax.annotate(str(patient), (xi, yi), fontsize=7, xytext=(3, 3), textcoords="offset points")
    literal_text(ax)  # patients are named by their log files
    ax.axhline(
        stats.IMPORTANT_POINTS,
        color="grey",
        linestyle="--",
        linewidth=0.8,
        label=f"important improvement ({stats.IMPORTANT_POINTS:g} points)",
    )
    ax.axhline(0, color="black", linewidth=0.6, label="no change")
    ax.axvline(
        metrics.LOW_ADHERENCE * 100,
        color="grey",
        linestyle=":",
        linewidth=0.8,
        label=f"low adherence (< {metrics.LOW_ADHERENCE:.0%})",
    )
    left_out = len(table) - len(both)
    ax.set_title(
        "Change vs adherence" + (f" ({left_out} patient(s) without both)" if left_out else "")
    )
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return ax


__all__ = [
    "ADHERENCE_CLASSES",
    "ADHERENCE_PANEL_GID",
    "adherence_panel",
    "attach_adherence_panel",
    "calendar",
    "change_vs_adherence",
    "daily_for",
    "exercise_adherence",
    "date_ticks",
    "format_dates",
    "habit_chart",
    "legend_right",
    "legends_above",
    "measuring_renderer",
    "next_day_groups",
    "next_day_pain",
    "period_text",
    "drawable",
    "literal_text",
    "png_bytes",
    "day_kind_handles",
    "trend_chart",
    "trend_figure",
]


# ----------------------------------------------------------------------------- function


PEG_LABEL = "PEG (0-10, lower = better)"
PSFS_LABEL = "PSFS (0-10, higher = better)"
ACTIVITY_STYLES = (("o", "-"), ("s", "--"), ("^", "-."), ("D", ":"), ("v", (0, (5, 1, 1, 1))))
"""Marker and line style of each PSFS activity (up to 5), a second cue beside colour."""
ACTIVITY_COLOURS = (BLUE, ORANGE, VERMILLION, SKY, "0.25")


def _no_answers(ax: Axes, what: str) -> Axes:
    """Empty axes saying that no answer has been given yet (two lines: small axes)."""
    _not_enough(ax, 1, 0, what)
    ax.texts[-1].set_text(f"Not enough data yet:\nneeds 1 {what}, has 0")
    ax.texts[-1].set_fontsize("small")
    return ax


def _below(ax: Axes, **style: Any) -> Legend:
    """The legend under the axes' date ticks, in columns."""
    return ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.14), fontsize="x-small",
                     frameon=False, ncols=2, borderaxespad=0.0, **style)  # fmt: skip


def _few_dates(ax: Axes, first: date, last: date, most: int = 7) -> None:
    """:func:`format_dates` on a small chart: every other label past ``most``."""
    positions, labels = date_ticks(pd.Timestamp(first), pd.Timestamp(last))
    if len(positions) > most:
        positions, labels = positions[::2], labels[::2]
    ax.set_xticks(positions, labels)


def _dates(days: list[date]) -> np.ndarray:
    return _day_numbers(pd.DatetimeIndex(pd.to_datetime(days)))


def peg_chart(answers: Sequence[Answers], *, ax: Axes | None = None) -> Axes:
    """The weekly PEG scores (points 0-10: line and dots, gid ``peg``) over their dates,
    with the band of less than a meaningful change from the first week (first score ±
    :data:`backtrack.function.PEG_IMPORTANT`, gid ``peg_band``) and the first score as
    a dashed line. Fewer than 1 score: the message on empty axes."""
    if ax is None:
        ax = plt.gca()
    weeks, scored = function.peg_weeks(answers)
    ax.set_ylabel(PEG_LABEL)
    if not scored:
        return _no_answers(ax, "weekly PEG score")
    x = _dates([day for day, _ in scored])
    y = np.array([value for _, value in scored])
    first, band = y[0], function.PEG_IMPORTANT
    pad = 3.5 if len(x) == 1 else 0.0
    ax.axhspan(max(first - band, 0), min(first + band, 10), color=SKY, alpha=0.22, lw=0,
               gid="peg_band", label=f"within {band:.0f} point of the first week")  # fmt: skip
    ax.axhline(first, color=GREY, linestyle="--", linewidth=0.9)
    ax.plot(x, y, color=BLUE, marker="o", markersize=3.5, linewidth=1.4, gid="peg",
            label="PEG score")  # fmt: skip
    ax.set_ylim(-0.3, 10.3)
    ax.set_xlim(x[0] - 3.5 - pad, x[-1] + 3.5 + pad)
    _few_dates(ax, scored[0][0], scored[-1][0])
    _below(ax)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return ax


def psfs_chart(answers: Sequence[Answers], *, ax: Axes | None = None) -> Axes:
    """Each PSFS activity's ratings (points 0-10) over their dates, one line per activity
    by its text (gid ``psfs:<n>``, each with its own marker and line style), and the
    threshold of one activity's change (±3 points) as the legend's note. No rating: the
    message on empty axes."""
    if ax is None:
        ax = plt.gca()
    activities = {name: ratings for name, ratings in psfs_by_activity(answers).items() if ratings}
    ax.set_ylabel(PSFS_LABEL)
    if not activities:
        return _no_answers(ax, "PSFS rating")
    spans: list[float] = []
    for n, (name, ratings) in enumerate(activities.items()):
        marker, style = ACTIVITY_STYLES[n % len(ACTIVITY_STYLES)]
        x = _dates([day for day, _ in ratings])
        spans += [float(x[0]), float(x[-1])]
        ax.plot(x, [value for _, value in ratings], marker=marker, linestyle=style,
                color=ACTIVITY_COLOURS[n % len(ACTIVITY_COLOURS)], markersize=3.5,
                linewidth=1.2, gid=f"psfs:{n}", label=name)  # fmt: skip
    pad = 3.5 if min(spans) == max(spans) else 0.0
    ax.set_ylim(-0.3, 10.3)
    ax.set_xlim(min(spans) - 3.5 - pad, max(spans) + 3.5 + pad)
    days = [day for ratings in activities.values() for day, _ in ratings]
    _few_dates(ax, min(days), max(days))
    note = f"{function.PSFS_ACTIVITY_IMPORTANT:.0f} points on one activity is beyond error"
    legend = _below(ax, title=note, title_fontsize="x-small", alignment="left")
    literal_text(legend)  # the activities are the patient's own words
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return ax


def function_figure(
    answers: Sequence[Answers],
    *,
    width: float = 9.0,
    height: float = 3.2,
    title: str | None = "Function: PEG and PSFS",
) -> Figure:
    """:func:`peg_chart` and :func:`psfs_chart` side by side, fixed margins (legends
    below each)."""
    fig = Figure(figsize=(width, height))
    top = 1 - (0.45 if title else 0.15) / height
    bottom = 1.0 / height
    half = (width - 1.0 * 2 - 0.3) / 2 / width
    peg_chart(answers, ax=fig.add_axes((0.75 / width, bottom, half, top - bottom)))
    psfs_chart(
        answers, ax=fig.add_axes((0.75 / width + half + 0.9 / width, bottom, half, top - bottom))
    )
    if title:
        fig.text(0.75 / width, 1 - 0.1 / height, title, fontweight="bold", va="top")
    return fig
