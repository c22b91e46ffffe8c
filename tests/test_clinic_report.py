"""The clinic's forest plot and page: checked on what is drawn, not on pixels."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from backtrack.clinic_report import forest_plot
from backtrack.pooling import pool_effects


@pytest.fixture
def pooled():
    rng = np.random.default_rng(4)
    theta = rng.normal(0.8, 0.7, 12)
    se = rng.uniform(0.3, 0.7, 12)
    return pool_effects(theta + rng.normal(0, se), se, np.full(12, 5), names=list("abcdefghijkl"))


def _drawn(ax, gid):
    return [a for a in [*ax.lines, *ax.collections, *ax.patches] if a.get_gid() == gid]


def test_forest_plot_draws_each_patient_raw_and_shrunken_and_the_pooled_mean(pooled):
    ax = forest_plot(pooled, ax=Figure().add_subplot())
    frame = pooled.patients
    (own,) = _drawn(ax, "own-effect")
    (shrunk,) = _drawn(ax, "shrunken-effect")
    np.testing.assert_allclose(own.get_xdata(), frame["effect"])
    np.testing.assert_allclose(shrunk.get_xdata(), frame["shrunken"])
    assert own.get_ydata()[0] > own.get_ydata()[-1]  # the first patient is on top
    (segments,) = _drawn(ax, "own-interval")
    ends = np.array([s[:, 0] for s in segments.get_segments()])
    np.testing.assert_allclose(ends, frame[["low", "high"]].to_numpy())
    (diamond,) = _drawn(ax, "pooled-mean")
    xs = diamond.get_xy()[:, 0]
    assert xs.min() == pytest.approx(pooled.mean.low)
    assert xs.max() == pytest.approx(pooled.mean.high)
    (prediction,) = _drawn(ax, "prediction-interval")
    np.testing.assert_allclose(
        prediction.get_segments()[0][:, 0], [pooled.prediction_low, pooled.prediction_high]
    )
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[:12] == list("abcdefghijkl") and labels[-2:] == [
        "pooled mean",
        "new patient (95%)",
    ]


def test_forest_plot_of_no_trials_is_empty_axes_that_say_so():
    empty = pool_effects([], [], [])
    ax = forest_plot(empty, ax=Figure().add_subplot())
    assert not ax.lines and "No finished trial" in ax.texts[0].get_text()


# ------------------------------------------------------------- a clinic, end to end

import json  # noqa: E402
from datetime import date  # noqa: E402

import pypdf  # noqa: E402

from backtrack.cli import main  # noqa: E402
from backtrack.clinic_pooled import pool_comparisons  # noqa: E402
from backtrack.clinic_report import clinic_figures, comparison_lines, patient_lines  # noqa: E402
from backtrack.clinic_trials import trial_records, write_demo_clinic  # noqa: E402

END = date(2026, 11, 30)


@pytest.fixture(scope="module")
def clinic(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clinic") / "clinic"
    write_demo_clinic(folder, patients=24, seed=2, end=END)
    return folder


@pytest.fixture(scope="module")
def records(clinic):
    return trial_records(clinic, workers=1, today=date(2026, 12, 1))


def test_only_finished_trials_with_enough_pairs_are_pooled(records):
    comparisons = pool_comparisons(records)
    assert [c.comparison for c in comparisons] == sorted(set(records["comparison"].dropna()))
    for c in comparisons:
        mine = records[records["comparison"] == c.comparison]
        running = set(mine.loc[mine["status"] == "running", "patient"])
        pooled = set(c.pooled.patients.index)
        assert running and not running & pooled  # a running trial is never pooled
        analysed = set(mine.loc[mine["analysed"].fillna(False).astype(bool), "patient"])
        assert pooled | set(c.not_pooled) == analysed
        few = mine[mine["patient"].isin(list(c.not_pooled))]
        assert (few["complete_pairs"] < 4).all()
        effects = mine.set_index("patient").loc[list(pooled), "effect"]
        np.testing.assert_allclose(c.pooled.patients.loc[list(pooled), "effect"], effects)
        assert c.pooled.k == len(pooled) and c.flow["analysed"] == len(analysed)
        for result in c.moderators.values():
            assert (result.estimate is None) == (c.pooled.k < 10)
            assert result.extra["comparisons"] == 2


def test_the_words_never_claim_a_direction_the_interval_does_not_hold(records):
    for c in pool_comparisons(records):
        lines = comparison_lines(c)
        mean = c.pooled.mean
        verdict = next(line for line in lines if "on average" in line.lower())
        if mean.low <= 0 <= mean.high:
            assert "no clear difference" in verdict
        else:
            assert ("lowered" if mean.low > 0 else "raised") in verdict
        for line, (_, row) in zip(
            patient_lines(c.pooled), c.pooled.patients.iterrows(), strict=True
        ):
            own = line.split("; with the clinic")[0]
            assert ("B lowered pain" in own) == (row["low"] > 0)
            assert ("B raised pain" in own) == (row["high"] < 0)


def test_cohort_trials_prints_json_and_writes_the_clinic_pages(clinic, tmp_path, capsys):
    out = tmp_path / "clinic.pdf"
    assert main(["cohort", str(clinic), "--trials", "--json", "-o", str(out)]) == 0
    document = json.loads(capsys.readouterr().out)
    pooled = {c["comparison"]: c for c in document["pooled"]}
    squat = pooled["without wall_squat"]
    assert squat["trials_pooled"] == len(squat["patients"]) >= 10
    assert squat["mean"]["low"] <= squat["mean"]["estimate"] <= squat["mean"]["high"]
    assert squat["tau"]["low"] <= squat["tau"]["estimate"] <= squat["tau"]["high"]
    for patient in squat["patients"]:
        assert patient["own_label"] in (
            "benefits",
            "harmed",
            "no meaningful difference",
            "inconclusive",
        )
        assert 0 <= patient["p_benefit"] <= 1
    assert out.stat().st_mode & 0o777 == 0o600
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(out).pages)
    assert "without wall_squat" in text and "pooled mean" in text and "CENT 2015" in text
    assert main(["cohort", str(clinic), "--trials"]) == 0
    printed = capsys.readouterr().out
    assert "Pooled, B without wall_squat:" in printed and "own trial:" in printed


def test_cohort_output_needs_trials_and_never_a_patients_log(clinic, tmp_path, capsys):
    assert main(["cohort", str(clinic), "-o", str(tmp_path / "x.pdf")]) == 2
    assert "--trials" in capsys.readouterr().err
    log = clinic / "patient01" / "backtrack.csv"
    before = log.read_bytes()
    assert main(["cohort", str(clinic), "--trials", "-o", str(log), "--force"]) == 2
    assert "is the log of patient01" in capsys.readouterr().err
    assert log.read_bytes() == before


def test_a_large_comparison_gets_a_page_of_its_own(records):
    (squat,) = [c for c in pool_comparisons(records) if c.comparison == "without wall_squat"]
    big = dataclasses.replace(
        squat,
        pooled=dataclasses.replace(squat.pooled, patients=pd.concat([squat.pooled.patients] * 2)),
    )
    assert len(clinic_figures([squat, squat])) == 1
    assert len(clinic_figures([big, squat])) == 2
    assert len(clinic_figures([])) == 1  # one page that says there are none
