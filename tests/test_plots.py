"""Charts: drawn data checked against metrics/stats, labels, and too-little-data cases."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import date, datetime, time, timedelta

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib import pyplot as plt  # noqa: E402
from matplotlib.legend import Legend  # noqa: E402
from matplotlib.patches import StepPatch  # noqa: E402

from backtrack import metrics, plots, stats  # noqa: E402
from backtrack.demo import demo_log, to_csv_text, write_demo  # noqa: E402
from backtrack.errors import FieldError  # noqa: E402
from backtrack.routine import default_routine  # noqa: E402
from backtrack.schema import Entry  # noqa: E402
from backtrack.store import parse_log_text  # noqa: E402
from tests.conftest import TZ  # noqa: E402

END = date(2026, 11, 20)
CHARTS = (
    plots.trend_chart,
    plots.calendar,
    plots.next_day_pain,
    plots.exercise_adherence,
    plots.habit_chart,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def daily():
    return plots.daily_for(demo_log(120, seed=3, end=END), default_routine())


def make_daily(days: list[tuple[int | None, str, dict]]) -> pd.DataFrame:
    """A daily series from (pain, day type, exercises done) per consecutive day."""
    first = END - timedelta(days=len(days) - 1)
    entries = [
        Entry(
            datetime.combine(first + timedelta(days=i), time(20), TZ),
            first + timedelta(days=i),
            pain,
            done,
            day_type,
            (),
            "",
        )
        for i, (pain, day_type, done) in enumerate(days)
    ]
    log = parse_log_text(to_csv_text(entries), "<test>")
    return plots.daily_for(log, default_routine())


def line(ax, gid):
    found = [artist for artist in ax.lines if artist.get_gid() == gid]
    assert len(found) == 1, f"one line {gid!r} expected, found {len(found)}"
    return found[0]


def patch(ax, gid):
    found = [artist for artist in ax.get_children() if artist.get_gid() == gid]
    assert len(found) == 1, f"one artist {gid!r} expected, found {len(found)}"
    return found[0]


def all_axes(ax):
    return [ax, *ax.child_axes]


def assert_labelled(ax):
    for axes in all_axes(ax):
        assert axes.get_ylabel().strip(), "y axis without a label"
        x_ticks_shown = any(
            t.get_visible() and t.label1.get_visible() for t in axes.xaxis.get_major_ticks()
        )
        if x_ticks_shown:
            assert axes.get_xlabel().strip(), "x axis without a label"


# ----------------------------------------------------------------------------- trend chart


def test_trend_chart_draws_the_metrics(daily):
    ax = plots.trend_chart(daily)
    x = mdates.date2num(daily.index.to_pydatetime())
    mean = line(ax, "pain_7day_mean")
    np.testing.assert_allclose(mean.get_xdata(), x)
    expected = metrics.pain_7day_mean(daily).to_numpy()
    np.testing.assert_allclose(mean.get_ydata(), expected, equal_nan=True)
    assert np.isfinite(expected).sum() > 100

    dots = line(ax, "pain")
    rated = daily["pain"].dropna()
    np.testing.assert_allclose(dots.get_ydata(), rated.to_numpy())
    np.testing.assert_allclose(dots.get_xdata(), mdates.date2num(rated.index.to_pydatetime()))

    flares = line(ax, "flare")
    assert len(flares.get_xdata()) == int(daily["flare"].sum()) > 0
    flare_days = daily.index[daily["flare"].to_numpy(dtype=bool)]
    np.testing.assert_allclose(flares.get_xdata(), mdates.date2num(flare_days.to_pydatetime()))


def test_trend_chart_baseline_and_meaningful_band(daily):
    ax = plots.trend_chart(daily)
    base = metrics.baseline(daily).value
    np.testing.assert_allclose(line(ax, "baseline").get_ydata(), [base, base])
    np.testing.assert_allclose(line(ax, "baseline").get_xdata(), ax.get_xlim())
    rectangle = patch(ax, "meaningful_band")
    np.testing.assert_allclose(
        [rectangle.get_x(), rectangle.get_x() + rectangle.get_width()], ax.get_xlim()
    )
    band = np.array([rectangle.get_y(), rectangle.get_y() + rectangle.get_height()])
    assert base >= stats.PERCENT_MIN_BASELINE  # both definitions apply to this log
    two_points = base - stats.IMPORTANT_POINTS
    thirty_percent = base * (1 - stats.IMPORTANT_PERCENT / 100)
    assert band.min() <= min(two_points, thirty_percent) <= band.min() + 0.1
    assert band.max() - 0.1 <= max(two_points, thirty_percent) <= band.max()


def test_trend_chart_draws_a_chosen_baseline_period(daily):
    period = (daily.index[20].date(), daily.index[40].date())
    ax = plots.trend_chart(daily, baseline=period)
    chosen = metrics.baseline(daily, *period).value
    assert chosen != metrics.baseline(daily).value
    np.testing.assert_allclose(line(ax, "baseline").get_ydata(), [chosen, chosen])
    assert "chosen period" in line(ax, "baseline").get_label()


def test_trend_chart_adherence_panel_uses_stairs(daily):
    ax = plots.trend_chart(daily)
    panel = plots.adherence_panel(ax)
    assert panel is not None and panel in ax.child_axes
    assert panel.get_gid() == plots.ADHERENCE_PANEL_GID  # found by its gid, no private attribute
    assert panel.get_shared_x_axes().joined(ax, panel)
    layers = {p.get_gid(): p.get_data() for p in panel.patches if isinstance(p, StepPatch)}
    classes = [f"adherence_{k}" for k in range(1, len(plots.ADHERENCE_COLOURS))]
    assert set(layers) == {"not_logged", *classes}
    assert len(panel.patches) == len(layers)  # one step artist per layer, never a bar per day
    logged = daily["logged"].to_numpy(dtype=bool)
    day = daily["day"].to_numpy(dtype=object)
    credit = daily["credit"].to_numpy()
    shown = np.where(logged & (day != "rest"), np.nan_to_num(credit), np.nan)
    index = np.searchsorted(np.asarray(plots.ADHERENCE_BINS), shown, side="right") - 1
    index = np.where(np.isnan(shown), -1, index)
    expected = {
        gid: np.where(index == k, np.nan_to_num(shown) * 100, 0)
        for k, gid in enumerate(classes, start=1)
    } | {"not_logged": np.where(~logged, 100, 0)}
    x = mdates.date2num(daily.index.to_pydatetime())
    per_day = {}
    for gid, values in expected.items():
        steps, edges = layers[gid].values, layers[gid].edges
        np.testing.assert_allclose(edges[[0, -1]], [x[0] - 0.5, x[-1] + 0.5], err_msg=gid)
        assert (np.diff(edges) > 0).all() and (np.diff(steps) != 0).all()  # runs, merged
        per_day[gid] = steps[np.searchsorted(edges, x, side="right") - 1]  # each day's step
        np.testing.assert_allclose(per_day[gid], values, err_msg=gid)
        days = edges - (x[0] - 0.5)
        np.testing.assert_allclose(days, np.round(days), atol=1e-9)  # steps of whole days
        assert len(steps) < len(daily)  # fewer steps than days: runs of equal days merged
    assert (~logged).any() and (day == "rest").any() and (day == "flare").any()
    for k, gid in enumerate(classes, start=1):  # each class in the calendar's colour
        drawn = next(p for p in panel.patches if p.get_gid() == gid)
        assert drawn.get_facecolor() == pytest.approx(plots.ADHERENCE_COLOURS[k])
    rest = line(panel, "rest")  # rest days: an open circle, as in the calendar
    np.testing.assert_allclose(rest.get_xdata(), x[logged & (day == "rest")])
    # "logged, nothing done" (blank) never looks like "not logged" (hatched)
    nothing = logged & (day == "routine") & (credit == 0)
    assert nothing.any() and (per_day["not_logged"][nothing] == 0).all()
    assert all((per_day[gid][nothing] == 0).all() for gid in classes)


def test_not_logged_hatched_while_a_day_is_at_least_a_point_wide(daily):
    def styles(data):
        pain, panel = plots.trend_figure(data).axes
        (legend,) = [a for a in legends(pain) if "not logged" in labels_of(a)]
        keys = dict(zip(labels_of(legend), legend.legend_handles, strict=True))
        drawn = {p.get_gid(): p for p in panel.patches}
        shown = keys["not logged"]  # the legend as drawn
        assert shown.get_hatch() == drawn["not_logged"].get_hatch()
        assert shown.get_facecolor() == drawn["not_logged"].get_facecolor()
        return drawn

    short = styles(daily)  # 120 days over 7.6 inches: 4.6 points a day
    assert short["not_logged"].get_hatch() == plots.NOT_LOGGED_HATCH
    assert all(p.get_snap() for p in short.values())  # crisp whole-pixel days
    long = styles(plots.daily_for(demo_log(1000, seed=3, end=END), default_routine()))
    assert long["not_logged"].get_hatch() is None
    assert not any(p.get_snap() for p in long.values())  # a day's share of a pixel: a tint
    assert long["not_logged"].get_facecolor()[0] == pytest.approx(float(plots.NOT_LOGGED_GREY))


def test_trend_chart_with_given_panel_and_labels(daily):
    fig = plots.trend_figure(daily, title="Demo")
    pain, panel = fig.axes
    assert plt.get_fignums() == []  # a plain Figure: not registered with pyplot
    for axes in fig.axes:
        assert axes.get_ylabel()
    assert "0-10 NRS" in pain.get_ylabel()
    assert "% of prescribed dose" in panel.get_ylabel()
    assert panel.get_xlabel() == "date"
    assert plots.adherence_panel(pain) is None  # a given panel is a sibling, not attached
    labels = [t.get_text() for legend in legends(pain) for t in legend.get_texts()]
    assert any("baseline" in t for t in labels) and any("not logged" in t for t in labels)
    assert any("meaningful improvement starts" in t for t in labels)
    assert pain.get_legend() is legends(pain)[0]  # the top one, the pain panel's
    assert not pain.xaxis.get_visible()  # dates beneath only


def agg_pixels(fig, dpi):
    """The figure drawn by a plain Agg canvas as png_bytes sets it up (RGB array)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig.dpi = dpi
    with matplotlib.rc_context(plots.PNG_STYLE):
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        return np.asarray(canvas.buffer_rgba())[..., :3].copy()


@pytest.mark.parametrize("days", [120, 3650])
def test_png_bytes_is_exactly_what_agg_draws(days):
    from PIL import Image

    data = plots.daily_for(demo_log(days, seed=1, end=END), default_routine())
    png = plots.png_bytes(plots.trend_figure(data, title="Pain – ünïcode ✓"), dpi=90)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (810, 504)
    pixels = np.asarray(image.convert("RGBA"))
    assert (pixels[..., 3] == 255).all()  # opaque: the figure has a solid background
    expected = agg_pixels(plots.trend_figure(data, title="Pain – ünïcode ✓"), 90)
    np.testing.assert_array_equal(pixels[..., :3], expected)


def legends(ax):
    """The matplotlib legends drawn on ``ax``, top to bottom."""
    found = [a for a in ax.get_children() if isinstance(a, Legend)]
    return sorted(found, key=lambda legend: -legend.get_window_extent().y0)


def labels_of(legend):
    return [text.get_text() for text in legend.get_texts()]


def entry_boxes(legend):
    """Display boxes of a drawn legend's entry texts, in the legend's order."""
    return [text.get_window_extent() for text in legend.get_texts()]


def overlap(a, b):
    return min(a.x1, b.x1) - max(a.x0, b.x0) > 0.5 and min(a.y1, b.y1) - max(a.y0, b.y0) > 0.5


@pytest.mark.parametrize(("width", "rows"), [(9.0, 3), (6.5, 4), (4.0, 9)])
def test_legends_above_in_reading_order_never_overlap_and_wrap_at_the_width(daily, width, rows):
    fig = plt.figure(figsize=(width, 5.6))
    ax = plots.trend_chart(daily, ax=fig.add_axes([0.15, 0.12, 0.8, 0.6]))
    fig.canvas.draw()
    pain, adherence = legends(ax)
    expected = [h.get_label() for h in plots._adherence_legend_handles()]
    by_row = sorted(
        zip(entry_boxes(adherence), adherence.get_texts(), strict=True),
        key=lambda box_text: (-round(box_text[0].y0 / 5), box_text[0].x0),
    )
    assert [text.get_text() for _, text in by_row] == expected  # left to right, then down
    assert [t.get_text() for t in pain.get_texts()][0] == "pain that day"
    ax_box = ax.get_window_extent()
    boxes = entry_boxes(pain) + entry_boxes(adherence)
    assert len(boxes) == 5 + len(expected)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not overlap(a, b), (a, b)
    for legend in (pain, adherence):
        box = legend.get_window_extent()
        assert box.y0 >= ax_box.y1  # above the axes: no overlap with the data
        assert ax_box.x0 - 1 <= box.x0 and box.x1 <= ax_box.x1 + 1  # wrapped at its width
    assert pain.get_window_extent().y0 > adherence.get_window_extent().y1  # pain on top
    columns = [len({round(box.x0) for box in entry_boxes(legend)}) for legend in (pain, adherence)]
    counts = [len(legend.get_texts()) for legend in (pain, adherence)]
    assert sum(-(-n // c) for n, c in zip(counts, columns, strict=True)) == rows


@pytest.mark.parametrize("days", [120, 3650])
def test_legends_stay_inside_the_figures_the_package_draws(days):
    """The trend figure (9 x 5.6 in, as the trends view and the docs draw it) and the
    report's page 1 (A4, font size 8, its trend chart and calendar): every legend within
    the page, clear of the axes it belongs to."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from backtrack import report

    log = demo_log(days, seed=3, end=END)
    trend = plots.trend_figure(plots.daily_for(log, default_routine()), title="Demo")
    with matplotlib.rc_context({"font.size": 8}):
        page = report.build_pages(report.report_data(log, today=END))[0]
    for fig in (trend, page):
        FigureCanvasAgg(fig).draw()
        found = [(ax, legend) for ax in fig.axes for legend in legends(ax)]
        assert len(found) >= 2
        for ax, legend in found:
            box = legend.get_window_extent()
            assert fig.bbox.contains(box.x0, box.y0) and fig.bbox.contains(box.x1, box.y1)
            assert not overlap(box, ax.get_window_extent())
            assert not any(overlap(box, t.get_window_extent()) for t in fig.texts)


def test_calendar_legend_right_of_the_axes_with_its_title_top_to_bottom(daily):
    fig = plt.figure(figsize=(9.0, 2.4))
    ax = plots.calendar(daily, ax=fig.add_axes([0.13, 0.25, 0.6, 0.62]))
    fig.canvas.draw()
    legend = ax.get_legend()
    assert legend.get_title().get_text() == "routine done\n(% of dose)"
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels == [*plots.ADHERENCE_CLASSES, "rest day (planned)", "not logged", "flare day"]
    boxes = [legend.get_title().get_window_extent(), *entry_boxes(legend)]
    assert all(b.x0 > ax.get_window_extent().x1 for b in boxes)
    assert all(a.y0 > b.y1 - 0.5 for a, b in zip(boxes, boxes[1:], strict=False))  # downwards
    assert boxes[0].x0 == pytest.approx(legend.get_window_extent().x0, abs=1)  # at the left


@pytest.mark.parametrize("days", [1, 120, 364, 800, 3000])
def test_dates_are_formatted_for_people(days):
    fig = plt.figure()
    ax = fig.add_subplot()
    first = pd.Timestamp(END) - pd.Timedelta(days=days)
    ax.set_xlim(mdates.date2num(first), mdates.date2num(pd.Timestamp(END)))
    plots.format_dates(ax, first, pd.Timestamp(END))
    fig.canvas.draw()
    texts = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert texts
    positions = ax.get_xticks()
    assert len(texts) <= 13 and (np.diff(positions) > 0).all()
    assert mdates.date2num(first) <= positions[0] and positions[-1] <= mdates.date2num(END)
    if days <= 120:
        assert all(t.split()[0].isdigit() and t.split()[1].isalpha() for t in texts)  # "3 Nov"
    elif days == 364:  # "Dec", "Jan 2026", "Feb", ...: the year once, on January
        assert texts[:3] == ["Dec", "Jan 2026", "Feb"] and len(texts) == 12
    elif days == 800:
        assert all(t.split()[0].isalpha() and t.split()[1].isdigit() for t in texts)  # "Nov 2026"
    elif days == 3000:
        assert all(t.isdigit() and len(t) == 4 for t in texts)


# ----------------------------------------------------------------------------- calendar


def test_calendar_colours_and_marks(daily):
    ax = plots.calendar(daily)
    image = patch(ax, "calendar").get_array()
    first_monday = daily.index[0] - pd.Timedelta(days=daily.index[0].weekday())
    offset = (daily.index - first_monday).days.to_numpy()
    cells = np.asarray(image)[offset % 7, offset // 7]
    logged = daily["logged"].to_numpy(dtype=bool)
    rest = daily["day"].eq("rest").to_numpy(dtype=bool)
    # not logged: transparent over the hatched background; logged: opaque
    assert (cells[~logged, 3] == 0).all() and (cells[logged, 3] == 1).all()
    # rest: white; logged non-rest days: the colour of their adherence class
    assert (cells[rest & logged, :3] == 1).all()
    done = logged & ~rest
    credit = daily["credit"].to_numpy()[done]
    expected = np.array(plots.ADHERENCE_COLOURS)[plots._class_index(credit)]
    np.testing.assert_allclose(cells[done], expected)
    nothing = done & (daily["credit"].to_numpy() == 0)
    full = done & (daily["credit"].to_numpy() >= metrics.FULL_CREDIT)
    assert nothing.any() and full.any()
    # "not done" is a light colour, never the same as "not logged"
    assert not np.allclose(cells[nothing][0], cells[~logged][0])
    assert line(ax, "flare").get_xdata().size == int(daily["flare"].sum())
    assert line(ax, "rest").get_xdata().size == int((rest & logged).sum())
    assert_labelled(ax)


def test_adherence_classes_are_ordered_in_grayscale():
    luminance = [0.299 * r + 0.587 * g + 0.114 * b for r, g, b, _ in plots.ADHERENCE_COLOURS]
    assert luminance == sorted(luminance, reverse=True)  # light = none done, dark = all done


# ----------------------------------------------------------------------------- other charts


def test_next_day_pain_groups_come_from_the_lag_pairs(daily):
    ax = plots.next_day_pain(daily)
    pairs = stats.lag_frame(daily)[["pain", "credit_prev"]].dropna()
    groups = plots.next_day_groups(daily)
    assert sum(len(v) for v in groups.values()) == len(pairs)
    high = pairs["credit_prev"] >= metrics.HIGH_ADHERENCE
    assert len(groups[plots.ADHERENCE_LEVELS[2]]) == int(high.sum())
    labels = [t.get_text() for t in ax.get_xticklabels()]
    for label, values in zip(labels, groups.values(), strict=True):
        assert label.endswith(f"n = {len(values)}")
    drawn = sum(len(a.get_xdata()) for a in ax.lines if str(a.get_gid()).startswith("points:"))
    assert drawn == len(pairs)
    assert_labelled(ax)


def test_exercise_adherence_draws_one_row_per_exercise(daily):
    ax = plots.exercise_adherence(daily, labels={"wall_squat": "Wall squat (no dose)"})
    image = np.asarray(patch(ax, "exercise_weeks").get_array())
    weekly = metrics.adherence_by_exercise_week(daily)
    assert image.shape[:2] == (len(weekly.columns), len(weekly))
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[-1] == "Wall squat (no dose)" and labels[0] == "Floor relaxation"
    assert_labelled(ax)


def test_habit_chart_draws_the_metric(daily):
    ax = plots.habit_chart(daily)
    expected = metrics.habit_strength(daily).to_numpy() * 100
    np.testing.assert_allclose(line(ax, "habit_strength").get_ydata(), expected)
    assert_labelled(ax)


# ----------------------------------------------------------------------------- too little data

ALL = dict.fromkeys(default_routine().ids)


@pytest.mark.parametrize("chart", CHARTS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    ("name", "days"),
    [
        ("empty", []),
        ("one_day", [(5, "routine", ALL)]),
        ("all_rest", [(None, "rest", {})] * 6),
        ("two_days", [(5, "routine", ALL), (4, "routine", {})]),
    ],
)
def test_small_logs_draw_without_error(chart, name, days):
    data = make_daily(days)
    ax = chart(data)
    assert_labelled(ax)
    texts = [t.get_text() for t in ax.texts]
    logged = int(data["logged"].sum())
    if logged < 2:
        assert texts == [f"Not enough data yet: needs 2 logged days, has {logged}"]
    ax.figure.canvas.draw()  # rendering works too


def test_wrong_input_names_the_field():
    with pytest.raises(FieldError, match="data: expected a daily series"):
        plots.trend_chart(pd.DataFrame({"pain": [1, 2]}))


def test_daily_for_since_starts_on_the_first_logged_day():
    log = demo_log(60, seed=2, end=END)
    daily = plots.daily_for(log, default_routine(), since="2026-11-01")
    assert daily.index[0] >= pd.Timestamp("2026-11-01") and daily["logged"].iloc[0]
    assert daily.index[-1] <= pd.Timestamp(END)


@pytest.mark.parametrize("since", [None, "2026-11-01"])
def test_the_charts_draw_the_days_the_summary_counts(since):
    """The report and the trends view draw the summary's own daily series."""
    from backtrack.overview import summary

    log = demo_log(60, seed=2, end=END)
    result = summary(log, routine=default_routine(), since=since, today=END)
    pd.testing.assert_frame_equal(
        result.daily, plots.daily_for(log, default_routine(), since=since)
    )
    assert result.days_logged == int(result.daily["logged"].sum())


def test_logging_path_never_imports_matplotlib():
    code = (
        "import sys, backtrack, backtrack.actions, backtrack.cli, backtrack.store, "
        "backtrack.form, backtrack.metrics; print('matplotlib' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


# ----------------------------------------------------------------------------- trends view


def test_trends_view_shows_demo_data_labelled_when_there_is_no_log(monkeypatch, tmp_path):
    from backtrack.trends_view import PERIODS, trends_view

    monkeypatch.setenv("BACKTRACK_CSV", str(tmp_path / "none.csv"))
    view = trends_view(today=END)
    label, buttons, trend, panel, words, calendar, errors = view.children
    assert "DEMO DATA" in label.value
    assert [days for _, days in PERIODS] == [28, 84, None] and buttons.value == 84
    assert bytes(trend.value[:4]) == bytes(calendar.value[:4]) == b"\x89PNG"
    assert bytes(panel.value[:4]) == b"\x89PNG"  # the function panel, demo answers
    before = (trend.value, words.value)
    buttons.value = 28
    assert errors.outputs == ()
    assert bytes(trend.value) != bytes(before[0]) and words.value != before[1]
    assert "Pain now" in words.value and "In words" in words.value


def test_trends_view_of_a_users_log_names_no_file_path(monkeypatch, tmp_path):
    """Issue 24 item 10: the trends view's banner showed the log's full path."""
    from backtrack.trends_view import trends_view

    path = write_demo(tmp_path / "private folder" / "log.csv", 40, seed=2, end=END)
    monkeypatch.setenv("BACKTRACK_CSV", str(path))
    label, *_, words, _calendar, errors = trends_view(today=END).children
    assert errors.outputs == ()
    assert "Your log" in label.value and "DEMO" not in label.value
    for shown in (label.value, words.value):
        assert str(tmp_path) not in shown and "log.csv" not in shown
    assert "how settled the routine is" in words.value  # habit strength, in words


def test_period_view_uses_the_summary_for_the_period(tmp_path):
    from backtrack.store import read_log
    from backtrack.trends_view import numbers_html, period_view

    path = write_demo(tmp_path / "log.csv", 90, seed=5, end=END)
    log = read_log(path)
    routine = default_routine()
    view = period_view(log, routine, 28, today=END)
    assert view.since == pd.Timestamp(END) - pd.Timedelta(days=27)
    assert view.daily.index[0] >= view.since and view.daily.index[-1] == pd.Timestamp(END)
    assert view.summary.first_day >= view.since
    html = numbers_html(view, log, routine)
    assert f"{view.summary.latest.value:.1f} /10" in html
    assert view.summary.trend.sentence.split("(")[0].replace("'", "&#x27;") in html
    whole = period_view(log, routine, None, today=END)
    assert whole.since is None and len(whole.daily) == 90


def _cohort_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "patient": ["a", "b", "c", "d"],
            "change": [2.5, -1.0, 0.4, np.nan],
            "change_low": [1.0, -2.0, np.nan, np.nan],
            "change_high": [4.0, 0.5, np.nan, np.nan],
            "adherence_28day": [0.9, 0.4, 0.7, 0.8],
            "trend_low": [-0.3, 0.05, -0.1, np.nan],
        }
    )


def test_change_vs_adherence_draws_each_patient_with_both_numbers():
    from matplotlib.collections import PathCollection

    ax = plots.change_vs_adherence(_cohort_table())
    steady, rising = (c for c in ax.collections if isinstance(c, PathCollection))
    np.testing.assert_allclose(steady.get_offsets(), [[90, 2.5], [70, 0.4]])
    (bars,) = ax.containers  # each change's 95% interval; none where it has none
    segments = bars.lines[2][0].get_segments()
    drawn = [segment[:, 1] for segment in segments if len(segment)]
    np.testing.assert_allclose(drawn, [[1.0, 4.0], [-2.0, 0.5]])
    np.testing.assert_allclose(rising.get_offsets(), [[40, -1.0]])  # trend interval above 0
    assert [t.get_text() for t in ax.texts] == ["a", "b", "c"]
    assert "1 patient(s) without both" in ax.get_title()
    assert ax.get_xlabel() and ax.get_ylabel()
    lines = {line.get_label(): line for line in ax.lines}
    assert lines["important improvement (2 points)"].get_ydata()[0] == 2.0
    assert lines["low adherence (< 60%)"].get_xdata()[0] == 60


def test_change_vs_adherence_without_any_patient_says_so():
    ax = plots.change_vs_adherence(_cohort_table().iloc[3:])
    assert not ax.collections
    assert "Not enough data yet" in ax.texts[0].get_text()


@pytest.mark.parametrize("days", [100, 400, 1500, 3650])
@pytest.mark.parametrize("chart", ["calendar", "exercise_adherence"])
def test_week_grid_date_labels_never_run_into_each_other(days, chart):
    """The week grids label the first week of each month or year; a short first month
    or year must not put two labels on top of each other ("2016" + "2017" read
    "20167" on a 10-year report), at the width the report draws them (5.2 in)."""
    log = demo_log(days=days, seed=4, end=date(2026, 3, 1))
    daily = metrics.daily_series(log.entries, default_routine())
    fig = plt.figure(figsize=(5.2, 2.0))
    ax = getattr(plots, chart)(daily, ax=fig.add_subplot(), legend=False)
    fig.canvas.draw()
    boxes = [t.get_window_extent() for t in ax.get_xticklabels() if t.get_text()]
    plt.close(fig)
    assert len(boxes) >= 2
    for left, right in zip(boxes, boxes[1:], strict=False):
        assert left.x1 <= right.x0, (days, chart, left, right)


def _look(artist):
    """What tells a kind of day apart: a marker's shape and colours, or a patch's fill,
    hatch and hatch colour."""
    from matplotlib.colors import to_rgba
    from matplotlib.lines import Line2D

    if isinstance(artist, Line2D):
        return (
            "marker",
            artist.get_marker(),
            to_rgba(artist.get_markerfacecolor()),
            to_rgba(artist.get_markeredgecolor()),
        )
    hatch = artist.get_hatch() or None
    return (
        "patch",
        tuple(np.round(artist.get_facecolor(), 4)),
        hatch,
        tuple(np.round(artist.get_hatchcolor(), 4)) if hatch else None,
    )


def _legend_looks(axes):
    return {
        text.get_text(): _look(handle)
        for ax in axes
        for legend in legends(ax)
        for text, handle in zip(legend.get_texts(), legend.legend_handles, strict=True)
    }


DAY_KINDS = ("not logged", "rest day (planned)", "flare day", *plots.ADHERENCE_CLASSES[1:])
"""Not logged, rest, flare, partial (under 50%, 50-79%, 80-99%) and full (100%)."""


def test_the_chart_and_the_calendar_draw_each_kind_of_day_alike(daily):
    """Issue 24: in the chart's legend hatching meant rest day and grey not logged; in
    the calendar's, hatching meant not logged and an open circle rest day. Both legends'
    handles are read and compared, and each legend is checked against what is drawn."""
    chart = plots.trend_figure(daily)
    fig = plt.figure(figsize=(9, 2.6))
    cal = plots.calendar(daily, ax=fig.add_axes([0.08, 0.2, 0.6, 0.7]))
    fig.canvas.draw()
    in_chart, in_calendar = _legend_looks(chart.axes), _legend_looks([cal])
    for kind in DAY_KINDS:
        assert kind in in_chart and kind in in_calendar, kind
    shared = sorted(set(in_chart) & set(in_calendar))
    assert {k: in_chart[k] for k in shared} == {k: in_calendar[k] for k in shared}
    # as drawn: markers by gid, the not-logged fill, each class colour
    pain, panel = chart.axes
    for gid, kind in (("flare", "flare day"), ("rest", "rest day (planned)")):
        drawn_chart = line(pain if gid == "flare" else panel, gid)
        assert _look(drawn_chart) == _look(line(cal, gid)) == in_chart[kind], gid
    patches = {p.get_gid(): p for p in panel.patches}
    background = next(p for p in cal.patches if p.get_hatch())
    assert _look(patches["not_logged"]) == _look(background)
    assert _look(background)[1:] == in_chart["not logged"][1:]
    for k, label in enumerate(plots.ADHERENCE_CLASSES[1:], start=1):
        assert _look(patches[f"adherence_{k}"])[1] == in_calendar[label][1], label


# ----------------------------------------------------------------------------- sparkline


def per_day_steps(panel, x):
    """Each day's height in the panel's step layers, by gid."""
    return {
        p.get_gid(): p.get_data().values[np.searchsorted(p.get_data().edges, x, side="right") - 1]
        for p in panel.patches
        if isinstance(p, StepPatch)
    }


@pytest.mark.parametrize("days", [1, 2, 27, 28, 29, 120])
def test_sparkline_draws_the_last_28_days_of_the_daily_series(days):
    daily = plots.daily_for(demo_log(days, seed=days, end=END), default_routine())
    ax = plots.sparkline(daily, ax=plt.figure().add_subplot())
    recent = daily.iloc[-28:]
    panel = plots.adherence_panel(ax)
    assert panel is not None
    if recent["logged"].sum() < plots.MIN_DAYS:
        assert "Not enough data yet" in " ".join(t.get_text() for t in ax.texts)
        assert not ax.lines
        return
    x = mdates.date2num(recent.index.to_pydatetime())
    pain = line(ax, "pain")
    np.testing.assert_array_equal(pain.get_xdata(), x)
    np.testing.assert_array_equal(pain.get_ydata(), recent["pain"].to_numpy(dtype=float))
    flare = recent["flare"].to_numpy(dtype=bool)
    np.testing.assert_array_equal(line(ax, "flare").get_xdata(), x[flare])
    steps = per_day_steps(panel, x)
    logged = recent["logged"].to_numpy(dtype=bool)
    rest = recent["day"].to_numpy(dtype=object) == "rest"
    credit = np.nan_to_num(recent["credit"].to_numpy(dtype=float)) * 100
    drawn = sum(v for gid, v in steps.items() if gid.startswith("adherence_"))
    np.testing.assert_allclose(drawn, np.where(logged & ~rest, credit, 0))
    np.testing.assert_array_equal(steps["not_logged"], np.where(logged, 0, 100))
    np.testing.assert_array_equal(line(panel, "rest").get_xdata(), x[logged & rest])


def test_sparkline_of_an_empty_log_says_so():
    empty = plots.daily_for(parse_log_text(to_csv_text([]), "<test>"), default_routine())
    ax = plots.sparkline(empty, ax=plt.figure().add_subplot())
    assert ax.texts[0].get_text() == "Not enough data yet: needs 2 logged days in 4 weeks, has 0"
    assert not ax.lines and not ax.patches
    assert plots.png_bytes(plots.sparkline_figure(empty))[:4] == b"\x89PNG"


def test_sparkline_figure_is_small_and_in_the_day_kind_style(daily):
    fig = plots.sparkline_figure(daily)
    assert tuple(fig.get_size_inches()) == (3.9, 1.0)  # 351 x 90 px at the form's 90 dpi
    ax = fig.axes[0]
    flare = line(ax, "flare")
    assert flare.get_marker() == plots.DAY_KIND_STYLE[plots.FLARE_LABEL]["marker"]
    rest = line(plots.adherence_panel(ax), "rest")
    assert rest.get_marker() == plots.DAY_KIND_STYLE[plots.REST_LABEL]["marker"]
    hatched = patch(plots.adherence_panel(ax), "not_logged")
    assert hatched.get_hatch() == plots.NOT_LOGGED_HATCH
