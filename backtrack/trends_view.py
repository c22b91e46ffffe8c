"""The trends view for ``notebooks/02-trends.ipynb``: pick a period, see the charts and
what the summary says about it, updated in place.

A thin ipywidgets view: the numbers come from :func:`backtrack.summary`, the pictures
from :mod:`backtrack.plots` (drawn to PNG, so it looks the same in JupyterLab and
Voilà). Shows the user's log when there is one, else demo data, labelled as such.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from html import escape

import ipywidgets as widgets
import pandas as pd
from matplotlib.figure import Figure

from . import plots
from .actions import load_log
from .demo import demo_log
from .errors import FieldError
from .overview import Summary, summary
from .report import ReportData, key_numbers
from .routine import Routine, load_routine
from .store import LogData, resolve_log_path
from .trial import load_routine_with_pauses, routine_of

PERIODS: tuple[tuple[str, int | None], ...] = (
    ("Last 4 weeks", 28),
    ("Last 12 weeks", 84),
    ("All", None),
)
"""Toggle labels and their length in days (None: the whole log)."""
DEMO_DAYS = 120


def open_log(path: str | None = None) -> tuple[LogData, Routine]:
    """The user's log (``path``, ``$BACKTRACK_CSV`` or ``data/backtrack.csv``) when it
    exists, else 120 days of demo data (``demo`` set)."""

    log_path = resolve_log_path(path)
    if log_path.exists():
        routine = load_routine_with_pauses(log_path=log_path)
        return load_log(log_path, routine=routine, strict=False), routine
    return demo_log(DEMO_DAYS, seed=1), load_routine()


@dataclass(frozen=True)
class PeriodView:
    """What the view shows for one period: the daily series, the summary, and the
    charts as PNG bytes."""

    since: pd.Timestamp | None
    daily: pd.DataFrame
    summary: Summary
    trend_png: bytes
    calendar_png: bytes
    function_png: bytes = b""
    """The PEG and PSFS panel (:func:`backtrack.plots.function_figure`) of every answer
    given (the function measures are weekly: a period does not cut them)."""


def period_start(log: LogData, days: int | None) -> pd.Timestamp | None:
    """First day of the last ``days`` days ending on the last logged day (None: all)."""
    if days is None:
        return None
    if log.entries.empty:
        return None
    last: pd.Timestamp = log.entries["date"].max()  # the last logged day
    return last - pd.Timedelta(days=days - 1)


def calendar_figure(daily: pd.DataFrame, width: float = 9.0) -> Figure:
    """:func:`plots.calendar` with fixed margins."""
    fig = Figure(figsize=(width, 2.4))
    fig.add_axes((1.15 / width, 0.25, 1 - 3.0 / width, 0.62))
    plots.calendar(daily, ax=fig.axes[0])
    fig.text(1.15 / width, 0.97, "Adherence calendar", fontweight="bold", va="top")
    return fig


Baseline = tuple[date | str | None, date | str | None]


def period_view(
    log: LogData,
    routine: Routine,
    days: int | None,
    *,
    today: date | None = None,
    baseline: Baseline | None = None,
) -> PeriodView:
    """Summary and charts for the last ``days`` days (None: all); ``baseline`` = (start,
    end) a chosen baseline period (e.g. the weeks before the routine); the function
    panel from the answers beside the log (demo data: the demo's answers)."""
    since = period_start(log, days)
    if baseline is not None and baseline[0] is not None:
        first = pd.Timestamp(baseline[0])
        since = first if since is None else min(since, first)
    result = summary(log, routine=routine, since=since, today=today, baseline=baseline)
    daily = result.daily
    if daily is None:  # summary() always gives its daily series
        raise FieldError("summary", "a summary with its daily series", "none")
    title = "Pain and exercise" + (" (DEMO DATA)" if log.demo else "")
    function_title = "Function: PEG and PSFS" + (" (DEMO DATA)" if log.demo else "")
    return PeriodView(
        since,
        daily,
        result,
        plots.png_bytes(plots.trend_figure(daily, title=title, baseline=baseline), dpi=90),
        plots.png_bytes(calendar_figure(daily), dpi=90),
        plots.png_bytes(plots.function_figure(result.answers, title=function_title), dpi=90),
    )


def numbers_html(view: PeriodView, log: LogData, routine: Routine) -> str:
    """The report's key numbers (value and definition) and the summary's sentences."""
    data = ReportData(view.daily, view.summary, routine, log.entries, "", bool(log.demo))
    rows = "".join(
        f"<tr><th style='text-align:left;vertical-align:top;padding-right:1em'>"
        f"{escape(row.label)}</th><td style='text-align:left'>{escape(row.value)}<br>"
        f"<small style='color:#555'>{escape(row.definition)}</small></td></tr>"
        for row in key_numbers(data)
    )
    result = view.summary
    stale = result.messages_stale
    warning = f"<p style='color:#D55E00'><b>{escape(stale)}</b></p>" if stale else ""
    sentences = (
        result.change.sentence,
        result.trend.sentence,
        result.weekly.sentence,
        result.lag.sentence,
    )
    items = "".join(f"<li>{escape(text)}</li>" for text in sentences)
    return (
        f"{warning}<p><b>In short:</b> {escape(result.verdict)}</p><table>{rows}</table>"
        f"<p><b>In words</b></p><ul>{items}</ul>"
    )


def trends_view(
    log: LogData | None = None,
    routine: Routine | None = None,
    *,
    today: date | None = None,
    baseline: Baseline | None = None,
) -> widgets.VBox:
    """Period buttons above the trend chart, the function panel (PEG, PSFS), the
    summary's numbers and sentences and the calendar;
    picking a period redraws them in place. ``baseline`` = (start, end): a chosen
    baseline period (as ``--baseline``). Errors show in the view's Output."""
    if log is None:
        log, found = open_log()
        routine = routine or found
    routine = routine_of(log, routine)
    label = (
        "<b style='color:#D55E00'>DEMO DATA: made-up numbers. Save your first day in "
        "01-log to see your own.</b>"
        if log.demo
        else "Your log, on this computer only."
    )
    buttons = widgets.ToggleButtons(
        options=[(name, days) for name, days in PERIODS],
        value=PERIODS[1][1],
        description="Period:",
        tooltips=["the last 28 days", "the last 84 days", "everything logged"],
    )
    trend = widgets.Image(format="png", layout=widgets.Layout(max_width="900px"))
    calendar = widgets.Image(format="png", layout=widgets.Layout(max_width="900px"))
    panel = widgets.Image(format="png", layout=widgets.Layout(max_width="900px"))
    words = widgets.HTML()
    errors = widgets.Output()

    @errors.capture()  # type: ignore[untyped-decorator]  # ipywidgets has no type information
    def show(change: dict[str, object] | None = None) -> None:
        view = period_view(log, routine, buttons.value, today=today, baseline=baseline)
        trend.value = view.trend_png
        calendar.value = view.calendar_png
        panel.value = view.function_png
        words.value = numbers_html(view, log, routine)

    buttons.observe(show, names="value")
    show()
    return widgets.VBox([widgets.HTML(label), buttons, trend, panel, words, calendar, errors])


__all__ = ["PERIODS", "PeriodView", "open_log", "period_view", "numbers_html", "trends_view"]
