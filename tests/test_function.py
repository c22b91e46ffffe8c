"""Change in function (backtrack/function.py and its registered units): hand-computed
cases, planted effects on simulated weekly answers, the interval's coverage, the PGIC
beside the change it anchors, and a log without a measures file reading as before."""

from __future__ import annotations

import os
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import backtrack
from backtrack import function, registry
from backtrack.actions import save_answers
from backtrack.demo import demo_log, write_demo
from backtrack.measures import PEG, PGIC, PSFS, Answers
from backtrack.metrics import daily_since
from backtrack.routine import default_routine
from backtrack.units import Batch, Options

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from peg_coverage import weekly_answers  # noqa: E402  (the bench's model, smaller run)

START = date(2026, 9, 7)
END = date(2026, 11, 20)
TODAY = END + timedelta(days=1)
FUNCTION_KEYS = ("peg", "peg_change", "psfs", "psfs_change", "pgic")


def _empty_daily():
    return daily_since(demo_log(1, end=END).entries.iloc[:0], default_routine())


def peg_weeks(*scores: tuple[int | None, int | None, int | None]) -> list[Answers]:
    return [Answers(PEG, START + timedelta(days=7 * k), s) for k, s in enumerate(scores)]


def test_peg_change_by_hand_before_an_interval():
    answers = peg_weeks((6, 5, 7), (6, 6, 6), (4, None, 5), (3, 4, 2))
    change = function.peg_change(answers)
    # week 3 has no score (an item missing): 3 scored weeks, 6.0 first, 3.0 latest
    assert (change.n, change.first, change.latest) == (3, 6.0, 3.0)
    assert change.estimate == pytest.approx(3.0)  # first − latest: + = better
    assert change.percent == pytest.approx(50.0)
    assert change.low is None and change.klass == "unclear"
    assert change.needed == function.PEG_MIN_WEEKS - 3
    assert change.first_date == START and change.latest_date == START + timedelta(days=21)
    words = registry.BY_KEY["peg_change"].words(registry.peg_change(answers))
    assert (
        words
        == "3.0 points better (6.0 → 3.0); too early for an interval (5 more weekly PEGs): unclear"
    )


def test_too_few_answers_say_what_is_needed():
    one = peg_weeks((6, 5, 7))
    assert function.peg_change(one).reason == "Not enough data: needs 2 weekly PEG scores, has 1."
    assert function.latest(one, PEG).value == pytest.approx(6.0)
    assert function.latest([], PSFS).reason == "Not enough data: needs 1 PSFS answer, has 0."
    empty = registry.compute(Batch.of_one(_empty_daily(), Options(TODAY)))
    for key in FUNCTION_KEYS:
        assert empty[0][key].estimate is None and empty[0][key].why_null.startswith("Not enough")


def test_psfs_change_by_hand_with_activities():
    answers = [
        Answers(PSFS, START, (3, 4), ("walk the dog", "sit through a film")),
        Answers(
            PSFS,
            START + timedelta(days=14),
            (5, None, 2),
            ("walk the dog", "sit through a film", "garden"),
        ),
        Answers(
            PSFS,
            START + timedelta(days=28),
            (7, 4, 5),
            ("walk the dog", "sit through a film", "garden"),
        ),
    ]
    change = function.psfs_change(answers)
    # first mean (3 + 4) / 2 = 3.5; latest (7 + 4 + 5) / 3 = 5.333; + = can do more
    assert change.estimate == pytest.approx(16 / 3 - 3.5)
    assert change.klass == "unclear"  # 1.83 < 2 points: within the measurement error
    assert change.activities == {
        "walk the dog": (3, 7),
        "sit through a film": (4, 4),
        "garden": (2, 5),
    }
    assert function.activity_counts(change) == (2, 0)  # +4 and +3 reach 3; 0 does not
    result = registry.psfs_change(answers)
    assert result.extra["activities_better"] == 2 and result.extra["class"] == "unclear"
    assert (
        function.psfs_class(2.0, 2.0) == "important" and function.psfs_class(-2.0, 2.0) == "worse"
    )


def test_pgic_is_shown_beside_the_changes_it_anchors():
    answers = [
        *peg_weeks((7, 6, 8), (5, 5, 5), (4, 5, 5)),  # 7.0 → 4.667: fell 2.3 points
        Answers(PSFS, START, (3,), ("walk the dog",)),
        Answers(PSFS, START + timedelta(days=14), (5,), ("walk the dog",)),
        Answers(PGIC, START + timedelta(days=14), (2,)),
    ]
    result = registry.pgic(answers)
    assert result.estimate == 2 and result.extra["words"] == "Much improved"
    assert registry.BY_KEY["pgic"].words(result) == (
        "you said 'Much improved' (2026-09-21); your PEG fell 2.3 points, "
        "your PSFS rose 2.0 points"
    )


def _batch(answers: list[list[Answers]]) -> list[dict]:
    frame = _empty_daily()
    batch = Batch(
        tuple(map(str, range(len(answers)))),
        (frame,) * len(answers),
        Options(TODAY),
        tuple(map(tuple, answers)),
    )
    return registry.compute(batch, [registry.BY_KEY["peg_change"]])


def test_planted_peg_change_is_found_and_no_change_is_not_called_one():
    """Planted: a 3-point fall over 12 weeks, AR(1) weeks (persistence 0.3, SD 0.5
    points); 150 patients each way, in one batch."""
    rng = np.random.default_rng(5)
    fall = _batch([weekly_answers(rng, 12, 0.3, 3.0, "line", sd=0.5) for _ in range(150)])
    flat = _batch([weekly_answers(rng, 12, 0.3, 0.0, "line", sd=0.5) for _ in range(150)])
    fall_changes = [r["peg_change"].detail for r in fall]
    assert np.mean([c.estimate for c in fall_changes]) == pytest.approx(3.0, abs=0.3)
    covered = np.mean([c.low <= 3.0 <= c.high for c in fall_changes if c.low is not None])
    assert covered >= 0.93
    found = np.mean([c.klass in ("important", "improved", "small") for c in fall_changes])
    assert found >= 0.55  # one week against one: 68% with this seed
    improved = np.mean(
        [r["peg_change"].detail.klass in ("important", "improved", "small") for r in flat]
    )
    worse = np.mean([r["peg_change"].detail.klass == "worse" for r in flat])
    assert improved <= 0.05 and worse <= 0.05


def test_the_interval_covers_the_truth_in_95_percent():
    """The bench's model (bench/peg_coverage.py), 8 and 16 weeks, persistence 0.6."""
    rng = np.random.default_rng(11)
    for weeks in (8, 16):
        changes = [
            function.peg_change(weekly_answers(rng, weeks, 0.6, 2.0, "line")) for _ in range(200)
        ]
        with_interval = [c for c in changes if c.low is not None]
        assert len(with_interval) >= 180
        covered = np.mean([c.low <= 2.0 <= c.high for c in with_interval])
        assert covered >= 0.93, weeks
        # the minimum detectable effect is that of the interval's own t test
        c = with_interval[0]
        assert c.mde > 2.8 * c.se
        assert c.first - 10 <= c.low <= c.estimate <= c.high <= c.first  # within the scale


def test_daily_pain_and_the_peg_pain_item_are_never_merged():
    """Changing the daily pain leaves every PEG number unchanged, and changing the PEG's
    pain item leaves every daily-pain number unchanged."""
    answers = peg_weeks(*[(7 - k // 2, 5, 6) for k in range(10)])
    calm, sore = demo_log(90, seed=1, end=END), demo_log(90, seed=2, end=END)
    a = backtrack.summary(calm, today=TODAY, answers=answers).to_dict()
    b = backtrack.summary(sore, today=TODAY, answers=answers).to_dict()
    assert a["pain_7day_mean"] != b["pain_7day_mean"]
    for column in registry.BY_KEY["peg"].columns + registry.BY_KEY["peg_change"].columns:
        assert a[column] == b[column], column
    other = peg_weeks(*[(2, 5, 6) for k in range(10)])
    c = backtrack.summary(calm, today=TODAY, answers=other).to_dict()
    assert c["peg"] != a["peg"]
    pain_units = [u for u in registry.UNITS if u.key not in FUNCTION_KEYS]
    for unit in pain_units:
        for column in unit.columns:
            assert c[column] == a[column], column


def test_a_log_without_a_measures_file_reads_as_before(tmp_path):
    """A v1 log with no measures file: every other key is what it is with answers
    beside it, and the function units say what they need; with the file, the summary
    reads it from beside the log."""
    log = write_demo(tmp_path / "backtrack.csv", days=90, seed=4, end=END)
    before = backtrack.summary(log, today=TODAY).to_dict()
    for key in FUNCTION_KEYS:
        assert before[key] is None and before[f"{key}_why_null"].startswith("Not enough data")
    now = datetime(2026, 11, 20, 20, 0, tzinfo=UTC)
    save_answers(log, answers=peg_weeks((6, 5, 7), (5, 5, 5)), now=now)
    save_answers(log, answers=[Answers(PGIC, END, (3,))], now=now)
    after = backtrack.summary(log, today=TODAY).to_dict()
    assert after["peg"] == pytest.approx(5.0) and after["peg_change"] == pytest.approx(1.0)
    assert after["pgic_words"] == "Minimally improved"
    function_columns = {c for key in FUNCTION_KEYS for c in registry.BY_KEY[key].columns}
    for column, value in before.items():
        if column not in function_columns and column != "sentences":
            assert after[column] == value, column


def test_a_batch_refuses_answers_for_some_patients_only():
    frame = demo_log(10, end=END).entries
    with pytest.raises(ValueError, match="one tuple of answers per patient"):
        Batch(("a", "b"), (frame, frame), Options(TODAY), ((),))


def test_the_cohort_reads_each_measures_file_and_flags_worse_function(tmp_path):
    """Each patient's measures file beside their log, through the same reader: the row
    equals that patient's summary; a PEG up 1 point or a PSFS down 2 is flagged."""
    from backtrack.cohort import needs_attention, summarise

    now = datetime(2026, 11, 20, 20, 0, tzinfo=UTC)
    logs = [write_demo(tmp_path / f"p{n}.csv", days=60, seed=n, end=END) for n in range(4)]
    save_answers(logs[0], answers=peg_weeks((4, 4, 4), (5, 5, 5)), now=now)  # PEG +1: worse
    psfs = [
        Answers(PSFS, START + timedelta(days=14 * k), (r,), ("walk",)) for k, r in ((0, 6), (1, 4))
    ]
    save_answers(logs[1], answers=psfs, now=now)  # PSFS −2: worse
    save_answers(logs[2], answers=peg_weeks((5, 5, 5), (4, 4, 5)), now=now)  # 0.67 better
    from backtrack.cohort import scan_folder

    scan = scan_folder(tmp_path)  # the measures files beside the logs are no patients
    assert scan.logs == [str(log) for log in logs] and scan.skipped == []
    table = summarise(scan.logs, today=TODAY, workers=1)
    for log, (_, row) in zip(logs, table.iterrows(), strict=True):
        alone = backtrack.summary(log, today=TODAY).to_dict()
        for key in FUNCTION_KEYS:
            value = row[key]
            assert (alone[key] is None and pd.isna(value)) or alone[key] == pytest.approx(value)
    assert table["pgic"].isna().all()  # nobody answered the PGIC: a nullable int column
    ranked = needs_attention(table).set_index("patient")["attention"]
    assert "function worse" in ranked["p0"] and "function worse" in ranked["p1"]
    assert "function worse" not in ranked["p2"] and "function worse" not in ranked["p3"]


# ----------------------------------------------------------------------------- showing


@pytest.fixture
def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    yield plt
    plt.close("all")


def test_the_peg_chart_draws_the_scores_and_the_band_around_the_first_week(_pyplot):
    from backtrack import plots

    answers = peg_weeks((6, 5, 7), (5, 5, 5), (4, None, 5), (3, 4, 2))
    ax = plots.peg_chart(answers)  # ax=None: the current axes
    assert ax is _pyplot.gca()
    (line,) = [a for a in ax.lines if a.get_gid() == "peg"]
    assert list(line.get_ydata()) == pytest.approx([6.0, 5.0, 3.0])  # no score in week 3
    (band,) = [p for p in ax.patches if p.get_gid() == "peg_band"]
    ys = band.get_path().vertices[:, 1]
    corners = band.get_transform().transform(band.get_path().vertices)
    low, high = ax.transData.inverted().transform(corners)[:, 1].min(), ys.max()
    assert (
        low == pytest.approx(5.0)
        and ax.transData.inverted().transform(corners)[:, 1].max() == pytest.approx(7.0)
        and high >= 0
    )
    empty = plots.peg_chart([], ax=_pyplot.figure().add_subplot())
    assert not empty.lines and "needs 1 weekly PEG score, has 0" in empty.texts[0].get_text()


def test_the_psfs_chart_draws_one_line_per_activity_by_its_text(_pyplot):
    from backtrack import plots

    answers = [
        Answers(PSFS, START, (3, 4), ("walk the dog", "$x$ film")),
        Answers(PSFS, START + timedelta(days=14), (5, None), ("walk the dog", "$x$ film")),
    ]
    ax = plots.psfs_chart(answers, ax=_pyplot.figure().add_subplot())
    lines = {
        a.get_label(): list(a.get_ydata())
        for a in ax.lines
        if str(a.get_gid()).startswith("psfs:")
    }
    assert lines == {"walk the dog": [3, 5], "$x$ film": [4]}
    texts = [t for t in ax.get_legend().get_texts() if t.get_text() == "$x$ film"]
    assert texts and not texts[0].get_parse_math()  # the patient's words, as typed
    assert (
        "needs 1 PSFS rating"
        in plots.psfs_chart([], ax=_pyplot.figure().add_subplot()).texts[0].get_text()
    )


def test_demo_answers_go_beside_a_written_demo_log_only_and_never_overwrite(tmp_path):
    from backtrack.demo import demo_answers
    from backtrack.errors import OutputError
    from backtrack.measures_file import current_answers, measures_path, read_measures
    from backtrack.store import read_log

    plain = write_demo(tmp_path / "plain.csv", days=60, end=END)
    assert not measures_path(plain).exists()
    log = write_demo(tmp_path / "demo.csv", days=60, end=END, answers=True)
    read = current_answers(read_measures(measures_path(log), strict=True))
    assert read == demo_answers(read_log(log).entries)
    assert {a.measure for a in read} == {PEG, PSFS, PGIC}
    measures_path(tmp_path / "again.csv").write_text("keep me", encoding="utf-8")
    with pytest.raises(OutputError, match="again.measures.csv: exists already"):
        write_demo(tmp_path / "again.csv", days=60, end=END, answers=True)
    assert not (tmp_path / "again.csv").exists()  # refused before the log was written
    assert measures_path(tmp_path / "again.csv").read_text(encoding="utf-8") == "keep me"


def test_the_trends_view_shows_the_demo_function_panel():
    from backtrack.trends_view import numbers_html, period_view

    log = demo_log(120, seed=1, end=END)
    view = period_view(log, default_routine(), 84, today=TODAY)
    assert view.summary.answers and view.function_png.startswith(b"\x89PNG")
    html = numbers_html(view, log, default_routine())
    assert ">Function</th>" in html and "you said" in html


def test_the_report_shows_function_beside_the_daily_pain_on_one_page(tmp_path):
    """Page 1 holds the function block (PEG, PSFS, PGIC, from the measures file beside
    the log) and stays one A4 page; the words are the registry's numbers."""
    from pypdf import PdfReader

    from backtrack import report

    log = write_demo(tmp_path / "backtrack.csv", days=120, seed=1, end=END, answers=True)
    pdf = tmp_path / "report.pdf"
    report.write_report(pdf, read_log_data(log), today=TODAY)
    reader = PdfReader(pdf)
    assert len(reader.pages) == 1
    text = " ".join(reader.pages[0].extract_text().split())
    numbers = backtrack.summary(log, today=TODAY).to_dict()
    assert "Function" in text and f"You said '{numbers['pgic_words']}'" in text
    assert f"{abs(numbers['peg_change']):.1f} points" in text
    assert "Flare episodes" in text  # the flare list keeps its place


def read_log_data(path):
    from backtrack.store import read_log

    return read_log(path)


def test_backtrack_demo_writes_demo_answers_beside_its_log(tmp_path, capsys):
    from backtrack.cli import main
    from backtrack.measures_file import measures_path

    target = tmp_path / "demo.csv"
    assert main(["demo", "-o", str(target), "--days", "40"]) == 0
    assert "demo.measures.csv" in capsys.readouterr().out
    assert backtrack.summary(target).to_dict()["peg"] is not None
    assert measures_path(target).stat().st_mode & 0o777 == 0o600


def test_the_cohort_lists_a_measures_files_problems_beside_the_logs(tmp_path):
    """Rows of a measures file left out are named in the patient's ``problems`` (file,
    line, column), as the log's are; a measures path that is no file is named too; the
    log's numbers are computed regardless."""
    from backtrack.cohort import summarise
    from backtrack.measures_file import measures_path

    now = datetime(2026, 11, 20, 20, 0, tzinfo=UTC)
    logs = [write_demo(tmp_path / f"p{n}.csv", days=60, seed=n, end=END) for n in range(3)]
    save_answers(logs[0], answers=peg_weeks((4, 4, 4), (5, 5, 5)), now=now)
    bad = measures_path(logs[0])
    os.chmod(bad, 0o600)
    bad.write_text(
        bad.read_text() + bad.read_text().splitlines()[-1].replace(",5,", ",55,") + "\n"
    )
    measures_path(logs[1]).mkdir()  # not a file
    table = summarise([str(p) for p in logs], today=TODAY, workers=1).set_index("patient")
    (first,) = [p for p in table.loc["p0", "problems"] if str(bad) in p]
    assert first.startswith(f"{bad}:4:") and "55" in first
    assert table.loc["p0", "peg"] == pytest.approx(5.0)  # the good rows still count
    (second,) = table.loc["p1", "problems"]
    assert str(measures_path(logs[1])) in second and "measures file" in second
    assert table.loc["p2", "problems"] == []
    assert table["pain_7day_mean"].notna().all()
