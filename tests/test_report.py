"""The clinic report: a valid PDF whose numbers are those of ``backtrack summary --json``."""

from __future__ import annotations

import json
import os
import re
import stat
import warnings
from datetime import date, datetime, time, timedelta

import matplotlib
import pytest
from matplotlib import pyplot as plt
from matplotlib.transforms import Bbox
from pypdf import PdfReader

from backtrack import report
from backtrack.cli import main
from backtrack.demo import to_csv_text, write_demo
from backtrack.routine import CHRONIC_NOTICE, RED_FLAGS
from backtrack.schema import Entry
from tests.conftest import TZ

END = date(2026, 11, 20)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def pdf_text(path) -> tuple[PdfReader, str]:
    reader = PdfReader(path)
    text = "\n".join(page.extract_text() for page in reader.pages)
    return reader, re.sub(r"\s+", " ", text)


def summary_json(capsys, *args) -> dict:
    capsys.readouterr()  # drop earlier output
    assert main(["summary", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def demo_csv(tmp_path_factory):
    return write_demo(tmp_path_factory.mktemp("log") / "backtrack.csv", 120, seed=1, end=END)


@pytest.fixture(scope="module")
def one_page(demo_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "report.pdf"
    assert main(["report", "-o", str(out), "--csv", str(demo_csv), "--name", "Alex Example"]) == 0
    return out


def test_report_is_one_a4_page_with_a_title(one_page):
    reader, text = pdf_text(one_page)
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width) / 72, 2), round(float(box.height) / 72, 2)) == report.A4
    assert reader.metadata.title == f"{report.TITLE}: Alex Example"
    assert text.startswith(report.TITLE) or report.TITLE in text
    assert "Alex Example" in text


def test_report_numbers_are_the_summary_numbers(one_page, demo_csv, capsys):
    """Page 1's key numbers are the JSON's numbers, worded by the registry's units."""
    numbers = summary_json(capsys, "--csv", str(demo_csv))
    _, text = pdf_text(one_page)
    assert numbers["pain_7day_mean"] is not None and numbers["change"] is not None
    assert f"{numbers['pain_7day_mean']:.1f} /10" in text
    assert f"Baseline: {numbers['baseline']:.1f} /10" in text
    change = f"{abs(numbers['change']):.1f} points ({abs(numbers['change_percent']):.0f}%)"
    assert change in text
    assert f"95% CI {numbers['change_low']:+.1f} to {numbers['change_high']:+.1f}" in text
    assert f"(+ = less): {numbers['change_class']}" in text
    assert "In short: " in text
    assert f"28 days: {numbers['adherence_28day'] * 100:.0f}%" in text
    assert f"({numbers['adherence_28day_n']} routine days)" in text
    assert numbers["trend"] is not None
    for key in ("trend", "trend_low", "trend_high"):
        assert f"{abs(numbers[key]):.2f}" in text
    assert f"{numbers['trend_n']} weeks" in text
    assert f"Flares, 28 days: {numbers['flares_28day']} day(s)" in text


def test_every_registered_statistic_is_in_the_report(demo_csv):
    """Each unit of the registry is on page 1 (its group's row, worded by the unit) or
    worded on the detail page (its sentence)."""
    from backtrack import registry, wording
    from backtrack.store import read_log

    data = report.report_data(read_log(demo_csv), today=END)
    rows = report.key_numbers(data)
    shown = {key for row in rows for key in row.keys}
    assert shown == set(registry.BY_KEY)
    with matplotlib.rc_context(report.PDF_STYLE):
        pages = report.build_pages(data, details=True)
    page_one = " ".join(t.get_text().replace("\n", " ") for t in pages[0].texts)
    details = " ".join(t.get_text().replace("\n", " ") for t in pages[1].texts)
    for row in rows:
        for unit in (registry.BY_KEY[key] for key in row.keys):
            words = unit.words(data.summary.results[unit.key])
            if row.label in (report.PERIOD_GROUP, *report.PAGE_ONE_GROUPS):
                assert "".join(words.split()) in "".join(page_one.split()), unit.key
            elif row.label == report.FUNCTION_GROUP:  # page 1's function block, in short
                results = [data.summary.results[key] for key in report.FUNCTION_KEYS]
                for line in wording.function_brief(*results):
                    assert "".join(line.split()) in "".join(page_one.split()), unit.key
            else:
                sentence = data.summary.results[unit.key].detail.sentence
                lead = " ".join(sentence.split()[:8])
                assert "".join(lead.split()) in "".join(details.split()), unit.key


def images(reader) -> list:
    """Image XObjects of the first page (the calendar, rasterized layers)."""
    objects = reader.pages[0]["/Resources"].get("/XObject", {})
    return [o for o in objects.values() if o.get_object()["/Subtype"] == "/Image"]


def test_daily_dots_are_vector_in_a_short_log_and_an_image_in_a_long_one(
    one_page, tmp_path, capsys
):
    assert len(images(PdfReader(one_page))) == 1  # the calendar
    csv = write_demo(tmp_path / "long.csv", 1100, seed=2, end=END)
    out = tmp_path / "long.pdf"
    assert main(["report", "-o", str(out), "--csv", str(csv)]) == 0
    numbers = summary_json(capsys, "--csv", str(csv))
    reader, text = pdf_text(out)
    assert len(images(reader)) == 2  # the calendar, and 1100 dots as one picture
    assert f"{numbers['pain_7day_mean']:.1f} /10" in text  # the text is still text
    assert f"28 days: {numbers['adherence_28day'] * 100:.0f}%" in text


def test_report_has_definitions_table_and_red_flags(one_page):
    _, text = pdf_text(one_page)
    for words in ("Slope of weekly", "first 7 rated days", "Dose credit", "80% or more is high"):
        assert words in text
    for name in ("Relaxation on the floor", "Hip stretch", "Wall squat", "not set"):
        assert name in text
    for flag in RED_FLAGS:
        assert " ".join(flag.split()[:3]) in text
    assert " ".join(CHRONIC_NOTICE.split()[:6]) in text
    assert "Flare episodes (" in text


def test_detail_page_once_there_is_enough_data(demo_csv, tmp_path):
    out = tmp_path / "details.pdf"
    assert main(["report", "-o", str(out), "--csv", str(demo_csv), "--details"]) == 0
    reader, text = pdf_text(out)
    assert len(reader.pages) == 2
    assert "details" in reader.pages[1].extract_text()
    assert "n = " in text  # next-day pain groups


def test_ten_days_give_an_honest_short_report(tmp_path, capsys):
    csv = write_demo(tmp_path / "log.csv", 10, seed=4, end=END)
    out = tmp_path / "short.pdf"
    assert main(["report", "-o", str(out), "--csv", str(csv), "--details"]) == 0
    numbers = summary_json(capsys, "--csv", str(csv))
    reader, text = pdf_text(out)
    assert len(reader.pages) == 1  # no detail page of "not enough data"
    assert numbers["trend"] is None
    needs = numbers["trend_why_null"].removeprefix("Not enough data: ").rstrip(".")
    assert needs.startswith("needs ") and f"not yet: {needs}" in text
    assert numbers["change"] is None
    assert "Change: not yet:" in text


def test_since_limits_the_period(demo_csv, tmp_path, capsys):
    out = tmp_path / "since.pdf"
    args = ["--csv", str(demo_csv), "--since", "2026-10-01"]
    assert main(["report", "-o", str(out), *args]) == 0
    numbers = summary_json(capsys, *args)
    _, text = pdf_text(out)
    first = date.fromisoformat(numbers["first_day"])
    assert f"Period: {first.day} {first:%b %Y} – 20 Nov 2026" in text
    assert f"Baseline: {numbers['baseline']:.1f} /10" in text


def test_flare_notes_are_printed_and_unprintable_characters_do_not_warn(tmp_path):
    first = END - timedelta(days=39)
    entries = []
    for i in range(40):
        day = first + timedelta(days=i)
        flare = i == 30
        note = "=lifted boxes, rounded back 🙂" if flare else ""
        entries.append(
            Entry(
                datetime.combine(day, time(20), TZ),
                day,
                9 if flare else 4 + i % 2,
                {"floor_relaxation": None},
                "flare" if flare else "routine",
                (),
                note,
            )
        )
    csv = tmp_path / "log.csv"
    csv.write_text(to_csv_text(entries), encoding="utf-8")
    out = tmp_path / "flare.pdf"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["report", "-o", str(out), "--csv", str(csv)]) == 0
    _, text = pdf_text(out)
    assert "Flare episodes (1 in the period)" in text
    assert "=lifted boxes, rounded back […]" in text  # no box (tests/test_fonts.py)
    assert "peak 9/10, marked by the person" in text


def test_no_log_is_a_usage_error(tmp_path, capsys):
    out = tmp_path / "none.pdf"
    assert main(["report", "-o", str(out), "--csv", str(tmp_path / "missing.csv")]) == 2
    assert "no log there yet" in capsys.readouterr().err
    assert not out.exists()


def test_demo_report_is_labelled(tmp_path):
    out = tmp_path / "demo.pdf"
    assert main(["report", "--demo", "-o", str(out)]) == 0
    reader, text = pdf_text(out)
    assert "DEMO DATA" in text
    assert reader.metadata.title.endswith("(demo data)")


def test_report_file_is_private_and_replaces_whole(demo_csv, tmp_path):
    """A report holds health data: 0600, and an existing report is replaced, never
    half-written (another kind of file is not: tests/test_outputs.py)."""
    out = tmp_path / "report.pdf"
    out.write_bytes(b"%PDF-1.4 an older report")
    os.chmod(out, 0o644)
    assert main(["report", "-o", str(out), "--csv", str(demo_csv)]) == 0
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert out.read_bytes().startswith(b"%PDF-")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".report")] == []


def test_the_pdf_is_reproducible_and_embeds_its_fonts(monkeypatch):
    """The same log gives the same bytes (glyphs, kerning, embedded font subsets)."""
    import io

    from backtrack.demo import demo_log

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # the PDF's creation date
    log = demo_log(400, seed=2, end=END)

    def pdf() -> bytes:
        buffer = report.write_report(
            io.BytesIO(), log, name="Zoë Ünal – ½ ✓", today=END, details=True
        )
        return buffer.getvalue()

    fast = pdf()
    assert fast == pdf()
    reader = PdfReader(io.BytesIO(fast))
    assert len(reader.pages) == 3  # demo data: demo function answers, their charts
    assert "Zoë Ünal – ½ ✓" in reader.pages[0].extract_text()
    fonts = reader.pages[0]["/Resources"]["/Font"]
    names = {str(fonts[name].get_object()["/BaseFont"]).split("+")[-1] for name in fonts}
    assert names == {"DejaVuSans", "DejaVuSans-Bold"}  # embedded subsets


def content_blocks(fig) -> list[tuple[str, Bbox]]:
    """(name, box in pixels) of each thing on a drawn page: each chart with its titles,
    tick labels and legends (a chart and the panel sharing its date axis are one), each
    frame (axes without ticks: the red-flag box, with the texts inside it), and each
    other text."""
    renderer = fig.canvas.get_renderer()
    charts: list[tuple[str, Bbox, list]] = []
    frames = []
    for ax in fig.axes:
        if not len(ax.get_xticks()) and not len(ax.get_yticks()) and not ax.get_title(loc="left"):
            frames.append(ax.get_window_extent(renderer))
            continue
        box = ax.get_tightbbox(renderer)
        for i, (name, other, axes) in enumerate(charts):
            if any(ax.get_shared_x_axes().joined(ax, a) for a in axes):
                charts[i] = (name, Bbox.union([other, box]), [*axes, ax])
                break
        else:
            charts.append((ax.get_title(loc="left") or ax.get_ylabel(), box, [ax]))
    blocks = [(f"chart {name!r}", box) for name, box, _ in charts]
    blocks += [("frame", frame) for frame in frames]
    for text in fig.texts:
        box = text.get_window_extent(renderer)
        inside = any(f.contains(box.x0, box.y0) and f.contains(box.x1, box.y1) for f in frames)
        if text.get_text() and not inside:
            blocks.append((f"text {text.get_text()[:40]!r}", box))
    return blocks


def layout_problems(pages) -> list[str]:
    """What lies off a page (a tenth of an inch clear of its edge) or on something else
    (by more than a point: the boxes of adjacent lines of text touch), page by page."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    problems = []
    for number, fig in enumerate(pages, 1):
        FigureCanvasAgg(fig).draw()
        page = fig.bbox.padded(-0.1 * fig.dpi)
        point = fig.dpi / 72
        blocks = content_blocks(fig)
        for name, box in blocks:
            if not (page.x0 <= box.x0 and box.x1 <= page.x1):
                problems.append(f"page {number}: {name} sideways off the page")
            if not (page.y0 <= box.y0 and box.y1 <= page.y1):
                below = (page.y0 - box.y0) / fig.dpi
                problems.append(f"page {number}: {name} off the page ({below:.2f} in below)")
        for i, (name, box) in enumerate(blocks):
            for other_name, other in blocks[i + 1 :]:
                width = min(box.x1, other.x1) - max(box.x0, other.x0)
                height = min(box.y1, other.y1) - max(box.y0, other.y0)
                if width > point and height > point:
                    problems.append(f"page {number}: {name} on {other_name} ({height:.0f} px)")
    return problems


def chart_titles(pages) -> list[str]:
    return [
        ax.get_title(loc="left") for fig in pages for ax in fig.axes if ax.get_title(loc="left")
    ]


DETAIL_CHARTS = [
    "Pain the day after, by what was done",
    "Each exercise, week by week",
    "Habit strength (grows with each routine day)",
]
FUNCTION_CHARTS = [report.PEG_CHART_TITLE, report.PSFS_CHART_TITLE]


@pytest.mark.parametrize("days", [40, 120, 365, 3650])
def test_every_page_keeps_its_content_inside_and_apart(days):
    """The report with its detail page, for short to 10-year logs: every chart (with its
    labels and legends) and every text lies on its page, and no two overlap."""
    from backtrack.demo import demo_log

    data = report.report_data(demo_log(days, seed=1, end=END), today=END)
    with matplotlib.rc_context(report.PDF_STYLE):
        pages = report.build_pages(data, details=True)
    assert len(pages) == 3  # the demo's function answers: their charts on a further page
    assert chart_titles(pages[1:]) == DETAIL_CHARTS + FUNCTION_CHARTS
    problems = layout_problems(pages)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("days_old", [10, 1000])
def test_a_stale_log_s_warning_stands_apart_from_the_period_line(days_old):
    """A log whose latest entry is days old, with a long name: the warning, the period
    line and the name each stand apart (the warning ran into "Made ... with backtrack")."""
    from datetime import timedelta

    from backtrack.demo import demo_log

    log = demo_log(120, seed=1, end=END)
    data = report.report_data(
        log, today=END + timedelta(days=days_old), name="Maria-Theresa Longname-Example"
    )
    with matplotlib.rc_context(report.PDF_STYLE):
        pages = report.build_pages(data, details=False)
    assert any("days old" in t.get_text() for t in pages[0].texts)
    problems = layout_problems(pages)
    assert not problems, "\n".join(problems)


def test_details_too_long_for_one_page_go_on_to_another():
    """Words that leave too little room below them for the charts, even shrunk: the
    charts that do not fit move to a further page, in order, none lost or cut."""
    from dataclasses import replace

    from backtrack.demo import demo_log

    data = report.report_data(demo_log(120, seed=1, end=END), today=END)
    results = data.summary.results
    lag = results["lag1_adherence_effect"]
    longer = replace(lag.detail, sentence=" ".join([lag.detail.sentence] * 6))
    long = replace(
        data.summary,
        results={**results, "lag1_adherence_effect": replace(lag, detail=longer)},
    )
    with matplotlib.rc_context(report.PDF_STYLE):
        pages = report.build_pages(replace(data, summary=long), details=True)
    assert len(pages) == 4  # with the demo's function charts
    assert chart_titles(pages[1:]) == DETAIL_CHARTS + FUNCTION_CHARTS
    assert chart_titles(pages[2:]) and "continued" in pages[2].texts[0].get_text()
    problems = layout_problems(pages)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("days", [120, 400, 3650])
def test_no_two_date_labels_of_a_chart_overlap(days):
    """Each chart's x-axis labels on every page stand apart (at 10 years the exercise
    chart's "2016" and "2017" once read "20167")."""
    from backtrack.demo import demo_log

    data = report.report_data(demo_log(days, seed=1, end=END), today=END)
    with matplotlib.rc_context(report.PDF_STYLE):
        pages = report.build_pages(data, details=True)
        overlaps = []
        for number, fig in enumerate(pages, start=1):
            fig.canvas.draw()
            for ax in fig.axes:
                texts = [t for t in ax.get_xticklabels() if t.get_text() and t.get_visible()]
                for left, right in zip(texts, texts[1:], strict=False):
                    if left.get_window_extent().x1 > right.get_window_extent().x0 + 0.5:
                        words = f"{left.get_text()!r} runs into {right.get_text()!r}"
                        overlaps.append(f"page {number}: {words}")
    assert not overlaps, "\n".join(overlaps)
