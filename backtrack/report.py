"""The clinic report: one A4 page (plus a detail page once there is enough data) as PDF.

Drawn with matplotlib's ``PdfPages`` only: no LaTeX, no browser, no network. Fixed
margins instead of a layout engine (speed); where words of varying length come first,
the charts below are placed by the words' measured height and shrink a little to stay on
the page (the detail page's charts go on to a further page rather than shrink more).
The key numbers come from :func:`backtrack.summary` (the same numbers as ``backtrack
summary --json``); the charts from :mod:`backtrack.plots`. Too little data gives "needs
N, has M", not numbers.

Units: pain in points on the 0-10 NRS; adherence in % of the prescribed dose.
"""

from __future__ import annotations

import functools
import io
import os
import re
import textwrap
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import matplotlib
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.text import Text

from . import fonts, metrics, plots, registry, stats, wording
from ._files import PDF, Kept, check_output, write_private
from .errors import FieldError
from .overview import Summary, summary
from .routine import CHRONIC_NOTICE, RED_FLAGS, Routine
from .store import LogData, latest_per_date
from .trial import routine_of
from .units import Unit

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.typing import RcKeyType

A4 = (8.27, 11.69)
"""Page size, inches."""
MARGIN = 0.6
"""Left and right margin, inches."""
CONTENT_BOTTOM = A4[1] - 0.5
"""Inches from the top of a page where its content ends (the footer is below)."""
PAIN_CHART = (1.2, 0.8)
"""Height of page 1's pain chart, inches, and the least it shrinks to when the words
above it leave too little room for the exercise table above the red flags."""
DETAIL_MIN_DAYS = 28
"""Logged days needed for the detail page (page 2, and 3 if its words are long)."""
DETAIL_POINTS = 7.6
"""Font size of the detail page's sentences, points."""
CALENDAR_WEEKS = 53
"""The calendar shows at most the last year."""
TITLE = "Back pain and exercise report"
GREY_TEXT = "0.3"
PDF_STYLE: dict[RcKeyType, Any] = {"font.size": 8, "pdf.compression": 1, **plots.LITERAL_TEXT}
"""Matplotlib settings the pages are drawn and saved with (zlib level 1: ~30 ms less
than 6; texts as typed, see :func:`plots.literal_text`)."""
FOOTER = (
    "One person's own records: they describe this person only and cannot show that the "
    "exercises caused a change. This report does not replace a clinician."
)


@dataclass(frozen=True)
class ReportData:
    """What the report shows: the period's daily series, the summary, the routine, and
    the log's entries (for flare notes)."""

    daily: pd.DataFrame
    summary: Summary
    routine: Routine
    entries: pd.DataFrame
    name: str
    demo: bool


def report_data(
    log: LogData,
    *,
    routine: Routine | None = None,
    since: date | str | None = None,
    baseline: tuple[date | str | None, date | str | None] | None = None,
    name: str = "",
    today: date | None = None,
) -> ReportData:
    """Gather the report's data for a log, from ``since`` on (default: all of it);
    ``baseline`` = (start, end) a chosen baseline period."""
    routine = routine_of(log, routine)
    result = summary(log, routine=routine, today=today, since=since, baseline=baseline)
    if result.daily is None:  # summary() always keeps it; the report draws from it
        raise FieldError("summary", "a summary with its daily series", None)
    return ReportData(result.daily, result, routine, log.entries, name, bool(log.demo))


# ----------------------------------------------------------------------------- text helpers


class _Page:
    """Places text and axes on a page in inches from the top-left corner, and measures
    texts before they are placed."""

    def __init__(self, fig: Figure) -> None:
        self.fig = fig
        self.width, self.height = fig.get_size_inches()

    def text_height(self, text: str, fontsize: float) -> float:
        """Inches from the top of ``text`` to its bottom at ``fontsize`` points."""
        return _text_height(_lines(text), fontsize, self.fig.dpi)

    def text(self, x: float, y: float, text: str, **style: Any) -> None:
        style.setdefault("va", "top")
        self.fig.text(x / self.width, 1 - y / self.height, text, **style)

    def axes(self, x: float, y: float, w: float, h: float, **kwargs: Any) -> Axes:
        rect = (x / self.width, 1 - (y + h) / self.height, w / self.width, h / self.height)
        return self.fig.add_axes(rect, **kwargs)


def _wrap(text: str, inches: float, size: float) -> str:
    """Wrap to a width in inches (DejaVu Sans: about 0.55 em per character; a wide
    character, Chinese, Japanese or Korean, about 1 em and a line may break after it)."""
    chars = max(int(inches * 72 / (size * 0.55)), 10)
    return "\n".join(
        _wrap_wide(part, chars) if _has_wide(part) else textwrap.fill(part, chars)
        for part in text.split("\n")
    )


def _is_wide(character: str) -> bool:
    return unicodedata.east_asian_width(character) in ("W", "F")


def _has_wide(text: str) -> bool:
    return any(_is_wide(c) for c in text)


def _width(text: str) -> int:
    return sum(2 if _is_wide(c) else 1 for c in text)


def _wrap_wide(text: str, columns: int) -> str:
    """Fill ``text`` into lines of ``columns`` narrow characters, a wide one counting two:
    a line breaks at a space or next to a wide character (a word too long: anywhere)."""
    lines: list[str] = []
    line = ""
    for space, token in re.findall(r"(\s*)(\S)", text):
        glue = " " if space and line else ""
        joins_word = not glue and line and not _is_wide(token) and not _is_wide(line[-1])
        if _width(line + glue + token) <= columns:
            line += glue + token
            continue
        if joins_word and " " in line.strip() or joins_word and _has_wide(line):
            # move the word begun on this line to the next one
            cut = max([line.rfind(" "), *(i for i, c in enumerate(line) if _is_wide(c))])
            lines.append(line[: cut + 1].rstrip())
            line = line[cut + 1 :].lstrip() + token
        else:
            lines.append(line)
            line = token
    if line:
        lines.append(line)
    return "\n".join(lines)


def _lines(text: str) -> int:
    return text.count("\n") + 1


@functools.lru_cache(maxsize=64)
def _text_height(lines: int, points: float, dpi: float) -> float:
    """Inches of ``lines`` lines of text at ``points``, measured by matplotlib: a line is
    as tall as "lp" whatever it says (a glyph taller than "l" adds a fraction of a
    point). Cached: measuring the detail page's own sentences took ~25 ms a report."""
    text = Text(0, 0, "\n".join(["lp"] * lines), fontsize=points)
    text.set_figure(Figure(dpi=dpi))  # for its dpi; never drawn
    return float(text.get_window_extent(plots.measuring_renderer(dpi)).height) / dpi


def _day(value: pd.Timestamp | date | None, year: bool = True) -> str:
    """ "3 Nov 2026" ("3 Nov" without ``year``); "?" for None."""
    if value is None:
        return "?"
    value = pd.Timestamp(value)
    return f"{value.day} {value:%b %Y}" if year else f"{value.day} {value:%b}"


# ----------------------------------------------------------------------------- key numbers


@dataclass(frozen=True)
class KeyNumber:
    """One row of the key numbers: the report's ``label`` for a group of registered
    statistics (:attr:`backtrack.units.Unit.group`), their ``value`` as a patient reads
    it, their ``definition``, and the registry ``keys`` it shows."""

    label: str
    value: str
    definition: str
    keys: tuple[str, ...]


PAGE_ONE_GROUPS = ("Pain now", "Change vs baseline", "Adherence", "Trend", "Flares, habit")
"""The key numbers on page 1, below its period line (the "Period" group); the
statistics of the other groups are worded on the detail page (each unit's sentence)."""
PERIOD_GROUP = "Period"
FUNCTION_GROUP = "Function"
"""The function measures' group: page 1's function block, and one paragraph of the
detail page."""


def key_numbers(data: ReportData) -> list[KeyNumber]:
    """One row per group of registered statistics, in registry order; a value that
    cannot be computed says what it needs ("not yet: needs N ..., has M")."""
    results = data.summary.results
    groups: dict[str, list[Unit]] = {label: [] for label in (PERIOD_GROUP, *PAGE_ONE_GROUPS)}
    for unit in registry.UNITS:
        groups.setdefault(unit.group, []).append(unit)
    rows = []
    for label, units in groups.items():
        words = [unit.words(results[unit.key]) for unit in units]
        if len(units) > 1:  # "Adherence, 28 days" reads "28 days" in the Adherence row
            words = [
                f"{unit.label.removeprefix(f'{label}, ')}: {text}"
                for unit, text in zip(units, words, strict=True)
            ]
        definition = wording.GROUP_DEFINITIONS.get(label) or " ".join(
            dict.fromkeys(unit.definition for unit in units)
        )
        rows.append(KeyNumber(label, "; ".join(words), definition, tuple(u.key for u in units)))
    return rows


def _key_number_rows(page: _Page, rows: list[KeyNumber], y: float, width: float) -> float:
    """Draw key-number rows from ``y`` (inches); returns the y below them."""
    label_w = 1.45
    for row in rows:
        page.text(MARGIN, y, row.label, fontsize=8.5, fontweight="bold")
        value = _wrap(row.value, width - label_w, 9)
        page.text(MARGIN + label_w, y, value, fontsize=9)
        y += 0.165 * _lines(value)
        definition = _wrap(row.definition, width - label_w, 6.6)
        page.text(MARGIN + label_w, y, definition, fontsize=6.6, color=GREY_TEXT)
        y += 0.11 * _lines(definition) + 0.06
    return y


# ----------------------------------------------------------------------------- page 1


def page_one(data: ReportData) -> Figure:
    """The one page to take to the clinic."""
    fig = Figure(figsize=A4)
    page = _Page(fig)
    width = page.width - 2 * MARGIN
    s = data.summary
    page.text(MARGIN, 0.45, TITLE, fontsize=15, fontweight="bold")
    if data.name:
        name = fonts.showable(data.name)[0]  # no boxes (a name is not a note: no sentence)
        page.text(page.width - MARGIN, 0.48, name, fontsize=11, ha="right")
    daily = data.daily
    if len(daily):
        period = plots.period_text(daily.index[0], daily.index[-1])
        period += f"; {registry.BY_KEY['days_logged'].words(s.results['days_logged'])}"
    else:
        period = "no days logged yet"
    page.text(
        MARGIN,
        0.8,
        f"Period: {period}.  Made {_day(s.today)} with backtrack.",
        fontsize=8.5,
        color=GREY_TEXT,
    )
    if s.days_since_entry is not None and s.days_since_entry > metrics.STALE_DAYS:
        page.text(  # under the name, clear of the period line's full width
            page.width - MARGIN,
            0.66,
            f"Latest entry {s.days_since_entry} days old",
            fontsize=8.5,
            fontweight="bold",
            color=plots.VERMILLION,
            ha="right",
        )
    y = 1.12
    if data.demo:
        page.text(
            MARGIN,
            1.0,
            "DEMO DATA – made-up numbers, not a real person's log",
            fontsize=9,
            fontweight="bold",
            color=plots.VERMILLION,
        )
        y += 0.2
    if len(daily):
        verdict = _wrap("In short: " + s.verdict, width, 8.2)
        page.text(MARGIN, y - 0.1, verdict, fontsize=8.2, fontweight="bold")
        y += 0.15 * _lines(verdict)
    rows = [row for row in key_numbers(data) if row.label in PAGE_ONE_GROUPS]
    y = _key_number_rows(page, rows, y, width)

    # the red flags boxed at the bottom; the pain chart gives up height when the words
    # above leave too little room for the exercise table above the box
    flags_top = _red_flags(page, data.summary, page.height - 0.5)
    to_chart, to_calendar, to_table = 0.72, 0.95, 1.4  # title and legends; panel; calendar
    table_w = 3.75
    table_top = y + to_chart + PAIN_CHART[0] + to_calendar + to_table
    overrun = table_top + _exercise_table_height(page, data, table_w) - (flags_top - 0.1)
    pain_h = max(PAIN_CHART[0] - max(overrun, 0.0), PAIN_CHART[1])

    # trend chart, its legend above the pain panel
    page.text(MARGIN, y + 0.05, "Pain and exercise, day by day", fontsize=10,
              fontweight="bold")  # fmt: skip
    chart_top = y + to_chart
    chart_left = MARGIN + 0.55
    chart_w = width - 0.55
    pain_ax = page.axes(chart_left, chart_top, chart_w, pain_h)
    panel = page.axes(chart_left, chart_top + pain_h + 0.07, chart_w, 0.48, sharex=pain_ax)
    chosen = s.change.baseline_start, s.change.baseline_end
    plots.trend_chart(
        daily, ax=pain_ax, adherence_ax=panel, baseline=chosen if s.baseline_chosen else None
    )
    pain_ax.yaxis.label.set_fontsize(7.5)
    panel.yaxis.label.set_fontsize(6.2)
    panel.tick_params(axis="y", labelsize=6.5)

    # calendar (the last year at most)
    y = chart_top + pain_h + to_calendar
    shown = daily
    if len(daily) > CALENDAR_WEEKS * 7:
        shown = daily.loc[daily.index[-1] - pd.Timedelta(weeks=CALENDAR_WEEKS) :]
    cal_title = "Adherence calendar" + (
        f" (last {CALENDAR_WEEKS} weeks)" if len(shown) < len(daily) else ""
    )
    page.text(MARGIN, y, cal_title, fontsize=10, fontweight="bold")
    cal = page.axes(chart_left, y + 0.25, chart_w - 1.4 - FUNCTION_WIDTH, 0.77)
    _function_block(page, data, page.width - MARGIN - FUNCTION_WIDTH + 0.15, y,
                    FUNCTION_WIDTH - 0.15)  # fmt: skip
    plots.calendar(shown, ax=cal)
    cal.yaxis.label.set_fontsize(7)
    cal.tick_params(axis="y", labelsize=6.5)
    ticks, labels = cal.get_xticks(), [t.get_text() for t in cal.get_xticklabels()]
    if len(ticks) > CALENDAR_TICKS:  # narrower beside the function block: every other
        cal.set_xticks(ticks[::2], labels[::2])

    # per-exercise table and flares side by side, above the red flags
    y += to_table
    _exercise_table(page, data, MARGIN, y, table_w)
    _flare_list(page, data, MARGIN + 3.95, y, width - 3.95, flags_top - 0.12)
    _footer(page)
    return fig


def _footer(page: _Page) -> None:
    page.text(MARGIN, page.height - 0.35, FOOTER, fontsize=6.2, color=GREY_TEXT)


def _exercise_note(w: float) -> str:
    return _wrap(
        "Mean dose credit on logged routine days; 80% or more is high; an exercise with "
        "no dose set earns full credit when ticked.",
        w,
        6.3,
    )


_TABLE_TITLE, _TABLE_HEADINGS, _TABLE_ROW, _TABLE_NOTE_GAP = 0.25, 0.15, 0.16, 0.03
"""Inches the exercise table gives its title, its headings, each row, and the gap above
its note (:func:`_exercise_table` draws by them, :func:`_exercise_table_height` adds them)."""


def _exercise_table_height(page: _Page, data: ReportData, w: float) -> float:
    """Inches :func:`_exercise_table` takes, from its title to the bottom of its note."""
    rows = _TABLE_TITLE + _TABLE_HEADINGS + _TABLE_ROW * len(data.routine.exercises)
    return rows + _TABLE_NOTE_GAP + page.text_height(_exercise_note(w), 6.3)


def _exercise_table(page: _Page, data: ReportData, x: float, y: float, w: float) -> None:
    """The per-exercise table, its title at ``y`` inches (its height:
    :func:`_exercise_table_height`)."""
    page.text(x, y, "Each exercise (logged routine days)", fontsize=10, fontweight="bold")
    table = metrics.adherence_by_exercise(data.daily) if len(data.daily) else None
    y += _TABLE_TITLE
    columns = ((0.0, "exercise"), (1.55, "dose"), (2.2, "adherence"), (3.0, "days done"))
    for dx, heading in columns:
        page.text(x + dx, y, heading, fontsize=6.8, color=GREY_TEXT)
    y += _TABLE_HEADINGS
    for exercise in data.routine.exercises:
        row = None if table is None or exercise.id not in table.index else table.loc[exercise.id]
        dose = "not set" if exercise.dose_minutes is None else f"{exercise.dose_minutes:g} min"
        if row is None or pd.isna(row["adherence"]):
            adherence, done = "–", "–"
        else:
            high = " high" if row["high"] else ""
            adherence = f"{row['adherence'] * 100:.0f}%{high}"
            done = f"{row['days_done']} of {row['routine_days']}"
        for (dx, _), cell in zip(columns, (exercise.name, dose, adherence, done), strict=True):
            page.text(x + dx, y, cell, fontsize=7.5)
        y += _TABLE_ROW
    page.text(x, y + _TABLE_NOTE_GAP, _exercise_note(w), fontsize=6.3, color=GREY_TEXT)


FUNCTION_KEYS = ("peg_change", "psfs_change", "pgic")
"""The function block's numbers (page 1): each change from its first to its latest
score, then the patient's own global impression beside them."""


def _function_lines(data: ReportData, w: float) -> list[str]:
    """The function block's lines (:func:`backtrack.wording.function_brief`), wrapped to
    ``w`` inches."""
    results = [data.summary.results[key] for key in FUNCTION_KEYS]
    return [
        fonts.showable(_wrap(line, w - 0.05, FUNCTION_POINTS))[0]  # no boxes
        for line in wording.function_brief(*results)
    ]


FUNCTION_POINTS = 7.3
FUNCTION_WIDTH = 2.35
CALENDAR_TICKS = 6
"""Most week labels under the calendar beside the function block."""
"""Inches the function block takes beside the adherence calendar (page 1)."""


def _function_height(data: ReportData, w: float) -> float:
    """Inches the function block takes (:func:`_function_block`)."""
    lines = _function_lines(data, w)
    return 0.25 + sum(0.125 * _lines(text) + 0.02 for text in lines) + 0.12


def _function_block(page: _Page, data: ReportData, x: float, y: float, w: float) -> float:
    """Function beside the daily pain (PEG, PSFS, PGIC: :data:`FUNCTION_KEYS`, as the
    registry words them, or what each still needs); returns the y below it."""
    top = y
    page.text(x, y, "Function", fontsize=10, fontweight="bold")
    y += 0.25
    for text in _function_lines(data, w):
        page.text(x, y, text, fontsize=FUNCTION_POINTS)
        y += 0.125 * _lines(text) + 0.02
    return top + _function_height(data, w)


def _flare_list(page: _Page, data: ReportData, x: float, y: float, w: float, limit: float) -> None:
    """The latest flare episodes with the notes of their days, from ``y`` down to
    ``limit`` inches (then "and N earlier")."""
    episodes = metrics.flare_episodes(data.daily) if len(data.daily) else None
    count = 0 if episodes is None else len(episodes)
    page.text(x, y, f"Flare episodes ({count} in the period)", fontsize=10, fontweight="bold")
    y += 0.25
    if episodes is None or not count:
        page.text(x, y, "No flare days in this period.", fontsize=7.5)
        return
    notes_by_day = latest_per_date(data.entries).set_index("date")["note"]
    latest_first = episodes.iloc[::-1]
    rows = zip(
        pd.DatetimeIndex(latest_first["start"]),
        pd.DatetimeIndex(latest_first["end"]),
        latest_first["days"].to_numpy(dtype=int),
        latest_first["peak_pain"].to_numpy(dtype=float),
        latest_first["marked"].to_numpy(dtype=bool),
        strict=True,
    )
    for shown, (start, end, length, peak_pain, marked) in enumerate(rows):
        days_notes = notes_by_day.loc[start:end]
        notes = [n.replace("\n", " / ") for n in days_notes if isinstance(n, str) and n.strip()]
        text = ""
        if notes:
            text = textwrap.shorten("“" + "”; “".join(notes) + "”", 100, placeholder=" …”")
            text, cannot = fonts.showable(text)  # no boxes: say what cannot be shown
            # the sentence on its own line: a line is laid out in its own direction
            text = "\n".join(_wrap(t, w - 0.12, 6.6) for t in (text, cannot) if t)
        height = 0.14 + (0.11 * _lines(text) if text else 0.0) + 0.03
        if y + height + 0.14 > limit and shown < count:
            page.text(x, y, f"… and {count - shown} earlier", fontsize=7.3, color=GREY_TEXT)
            return
        days = "" if length == 1 else f" – {_day(end, year=False)}"
        peak = "not rated" if pd.isna(peak_pain) else f"peak {peak_pain:.0f}/10"
        how = "marked by the person" if marked else "detected from pain"
        page.text(x, y, f"{_day(start)}{days}: {peak}, {how}", fontsize=7.3)
        if text:
            # upright: DejaVu Sans Oblique lacks the Arabic and Hebrew the regular face has
            page.text(x + 0.12, y + 0.14, text, fontsize=6.6, color=GREY_TEXT)
        y += height


def _red_flags(page: _Page, s: Summary, bottom: float) -> float:
    """The fixed red-flag checklist and the chronic-pain notice, boxed, ending at
    ``bottom`` inches; returns the box's top."""
    width = page.width - 2 * MARGIN
    half = (len(RED_FLAGS) + 1) // 2
    col_w = (width - 0.45) / 2
    columns = [
        [_wrap("• " + flag, col_w, 7) for flag in part]
        for part in (RED_FLAGS[:half], RED_FLAGS[half:])
    ]
    flags_height = max(sum(0.112 * _lines(t) + 0.03 for t in column) for column in columns)
    chronic = CHRONIC_NOTICE
    if s.chronic:
        chronic = f"In this log, rated pain spans {s.chronic_span_days} days. " + chronic
    chronic = _wrap(chronic, width - 0.3, 7)
    top = bottom - (0.34 + flags_height + 0.05 + 0.112 * _lines(chronic) + 0.1)
    page.text(
        MARGIN + 0.15,
        top + 0.1,
        "See a clinician now if any of these appear (red flags), whatever the chart shows:",
        fontsize=8.5,
        fontweight="bold",
    )
    for number, column in enumerate(columns):
        yy = top + 0.34
        for text in column:
            page.text(MARGIN + 0.15 + number * (col_w + 0.15), yy, text, fontsize=7)
            yy += 0.112 * _lines(text) + 0.03
    page.text(
        MARGIN + 0.15,
        top + 0.34 + flags_height + 0.05,
        chronic,
        fontsize=7,
        fontweight="bold" if s.chronic else "normal",
    )
    box = page.axes(MARGIN, top, width, bottom - top)
    box.set_xticks([])
    box.set_yticks([])
    for spine in box.spines.values():
        spine.set_edgecolor(plots.VERMILLION)
        spine.set_linewidth(1.2)
    return top


# ----------------------------------------------------------------------------- page 2 (and 3)


@dataclass(frozen=True)
class _Chart:
    """A chart of the detail pages, in inches: its left edge and width, the room above
    it (title) and below it (tick labels, axis label), its height and the least height
    it may shrink to."""

    x: float
    w: float
    height: float
    least: float
    draw: Callable[[Axes], Axes]
    above: float = 0.35
    below: float = 0.45


def _detail_charts(data: ReportData) -> list[_Chart]:
    """Next-day pain by adherence, each exercise week by week, habit strength, then the
    function charts (PEG, PSFS) once answered."""
    width = A4[0] - 2 * MARGIN
    left = MARGIN + 0.55
    labels = {e.id: e.name for e in data.routine.exercises}
    daily = data.daily
    return [
        _Chart(left, 3.6, 2.6, 1.5, lambda ax: plots.next_day_pain(daily, ax=ax)),
        # not shrunk: its legend, right of it, is as tall
        _Chart(MARGIN + 1.45, width - 1.45 - 1.35, 1.3, 1.3,
               lambda ax: plots.exercise_adherence(daily, ax=ax, labels=labels)),
        _Chart(left, width - 0.55, 1.6, 1.1, lambda ax: plots.habit_chart(daily, ax=ax)),
        *_function_charts(data),
    ]  # fmt: skip


PEG_CHART_TITLE = "Function: the weekly PEG (band: within 1 point of the first week)"
PSFS_CHART_TITLE = "Function: the PSFS, each activity in the patient's words"


def _titled(draw: Callable[[Axes], Axes], title: str) -> Callable[[Axes], Axes]:
    def drawn(ax: Axes) -> Axes:
        ax = draw(ax)
        ax.set_title(title, loc="left", fontsize=9, fontweight="bold")
        return ax

    return drawn


def _function_charts(data: ReportData) -> list[_Chart]:
    """The PEG over weeks and the PSFS per activity, once any was answered."""
    answers = data.summary.answers
    if not answers:
        return []
    left = MARGIN + 0.55
    peg = _titled(lambda ax: plots.peg_chart(answers, ax=ax), PEG_CHART_TITLE)
    psfs = _titled(lambda ax: plots.psfs_chart(answers, ax=ax), PSFS_CHART_TITLE)
    width = A4[0] - 2 * MARGIN - 0.55
    return [
        _Chart(left, width, 1.5, 1.1, peg, below=0.75),
        _Chart(left, width, 1.5, 1.1, psfs, below=1.05),
    ]


def _fit(charts: list[_Chart], room: float) -> list[float] | None:
    """Heights of ``charts`` stacked in ``room`` inches: as designed if they fit, else
    shrunk alike toward their least heights; None if even those do not fit."""
    fixed = sum(c.above + c.below for c in charts)
    full = sum(c.height for c in charts)
    least = sum(c.least for c in charts)
    if fixed + full <= room:
        return [c.height for c in charts]
    if fixed + least > room:
        return None
    share = (room - fixed - least) / (full - least)
    return [c.least + share * (c.height - c.least) for c in charts]


def _heights_that_fit(charts: list[_Chart], room: float) -> list[float]:
    """Heights of the most of the first ``charts`` that fit in ``room`` inches (:func:`_fit`)."""
    for n in range(len(charts), 0, -1):
        heights = _fit(charts[:n], room)
        if heights is not None:
            return heights
    return []


def _detail_page(title: str) -> tuple[Figure, _Page]:
    fig = Figure(figsize=A4)
    page = _Page(fig)
    page.text(MARGIN, 0.45, title, fontsize=13, fontweight="bold")
    _footer(page)
    return fig, page


def detail_pages(data: ReportData) -> list[Figure]:
    """Details: what the analysis says in words, then its charts (next-day pain by
    adherence, each exercise week by week, habit strength) below the words as measured.
    Charts that do not fit, even shrunk a little, go on to a further page."""
    fig, page = _detail_page(f"{TITLE}: details")
    width = page.width - 2 * MARGIN
    s = data.summary
    y = 0.85
    # the verdict and the sentences of the numbers on page 1 that have them, then the
    # sentences of every registered statistic not on page 1 (the links)
    later = [
        unit.key for unit in registry.UNITS if unit.group not in (PERIOD_GROUP, *PAGE_ONE_GROUPS)
    ]
    sentences = [s.verdict, s.trend.sentence]
    if s.change.ok:
        sentences.insert(1, s.change.sentence)
    links = [key for key in later if registry.BY_KEY[key].group != FUNCTION_GROUP]
    sentences += [getattr(s.results[key].detail, "sentence", "") for key in links]
    # the function measures in one paragraph once answered (until then page 1's block
    # says what each needs)
    function = [s.results[key] for key in FUNCTION_KEYS]  # "from X to Y": the latest too
    if any(result.ok for result in function):
        sentences.append(" ".join(result.detail.sentence for result in function))
    sentences = [sentence for sentence in sentences if sentence]
    # every page's footer says that one person's records prove no cause: not each sentence
    sentences = [sentence.replace(f" {stats.ONE_PERSON}", "") for sentence in sentences]
    for sentence in sentences:
        text = _wrap(sentence, width, DETAIL_POINTS)
        page.text(MARGIN, y, text, fontsize=DETAIL_POINTS)
        y += page.text_height(text, DETAIL_POINTS) + 0.08
    figures = [fig]
    charts = _detail_charts(data)
    while charts:
        heights = _heights_that_fit(charts, CONTENT_BOTTOM - y)
        if not heights and len(figures) > 1:  # an empty further page holds any one chart;
            heights = [charts[0].least]  # were it not so: this, not pages without end
        n = len(heights)
        for chart, height in zip(charts[:n], heights, strict=True):
            y += chart.above
            chart.draw(page.axes(chart.x, y, chart.w, height))
            y += height + chart.below
        charts = charts[n:]
        if charts:
            fig, page = _detail_page(f"{TITLE}: details (continued)")
            figures.append(fig)
            y = 0.85
    return figures


# ----------------------------------------------------------------------------- PDF


def build_pages(data: ReportData, *, details: bool = False) -> list[Figure]:
    """Page 1; with ``details``, the detail page(s) too once ``DETAIL_MIN_DAYS`` days
    are logged (before that they would only say "not enough data")."""
    pages = [page_one(data)]
    if details and data.summary.days_logged >= DETAIL_MIN_DAYS:
        pages += detail_pages(data)
    return pages


def write_report(
    path: str | os.PathLike[str] | BinaryIO,
    log: LogData,
    *,
    routine: Routine | None = None,
    since: date | str | None = None,
    baseline: tuple[date | str | None, date | str | None] | None = None,
    name: str = "",
    today: date | None = None,
    details: bool = False,
    force: bool = False,
    keep: Kept | None = None,
) -> Path | BinaryIO:
    """Write the report PDF for ``log`` to ``path`` (or a binary file object): one A4
    page, plus the detail page(s) with ``details`` (and enough data). A file is written
    whole and readable by its owner only (0600), through :func:`._files.write_private`
    (``keep`` is never replaced; another kind of file only with ``force``). Returns the
    target."""
    if isinstance(path, (str, os.PathLike)):  # refused before the pages are drawn
        check_output(path, kind=PDF, force=force, keep=keep or {})
    data = report_data(
        log, routine=routine, since=since, baseline=baseline, name=name, today=today
    )
    title = TITLE + (f": {name}" if name else "") + (" (demo data)" if data.demo else "")
    metadata = {"Title": title, "Creator": "backtrack", "Subject": "pain and exercise log"}
    to_file = isinstance(path, (str, os.PathLike))
    buffer = io.BytesIO()
    with matplotlib.rc_context({**PDF_STYLE, **fonts.font_style()}):
        pages = build_pages(data, details=details)
        with PdfPages(buffer if to_file else path, metadata=metadata) as pdf:
            for fig in pages:
                pdf.savefig(plots.literal_text(fig))
    if isinstance(path, (str, os.PathLike)):
        # health data: 0600, written whole, never over the log or another kind of file
        return write_private(path, buffer.getvalue(), kind=PDF, force=force, keep=keep or {})
    return path


__all__ = ["ReportData", "build_pages", "key_numbers", "report_data", "write_report"]
