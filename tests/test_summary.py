"""``backtrack.summary`` and ``backtrack summary``: JSON keys and types, nulls with
reasons on short logs, no log yet, and light imports."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, date, timedelta

import pandas as pd
import pytest

import backtrack
from backtrack.cli import main
from backtrack.demo import demo_log, write_demo

END = date(2026, 10, 31)
TODAY = END + timedelta(days=1)

NUMBER_KEYS = ("pain_7day_mean", "baseline", "change", "change_percent")
FRACTION_KEYS = ("adherence_7day", "adherence_28day")
ESTIMATE_KEYS = ("trend", "lag1_adherence_effect")


def run_json(capsys, *args: str) -> dict:
    code = main(["summary", "--json", *args])
    out = capsys.readouterr().out
    assert code == 0
    return json.loads(out)


def test_summary_json_keys_and_types_on_a_demo_log(tmp_path, capsys):
    path = write_demo(tmp_path / "log.csv", days=180, seed=2, end=END)
    data = run_json(capsys, "--csv", str(path))
    assert isinstance(data["days_logged"], int) and 150 < data["days_logged"] <= 180
    for key in NUMBER_KEYS:
        assert isinstance(data[key], float), key
    assert 0 <= data["pain_7day_mean"] <= 10 and 0 <= data["baseline"] <= 10
    assert data["change"] == pytest.approx(data["baseline"] - data["pain_7day_mean"], abs=0.02)
    assert data["change_percent"] == pytest.approx(
        100 * data["change"] / data["baseline"], abs=0.5
    )
    assert data["change_class"] in backtrack.stats.CLASSES
    for key in FRACTION_KEYS:
        assert isinstance(data[key], float) and 0 <= data[key] <= 1, key
    assert isinstance(data["streak_days"], int) and data["streak_days"] >= 0
    for key in ESTIMATE_KEYS:
        assert isinstance(data[f"{key}_n"], int)
        assert data[f"{key}_low"] <= data[key] <= data[f"{key}_high"], key
    assert data["chronic"] is True  # 180 days of rated pain ≥ 1
    assert isinstance(data["messages"], list) and all(isinstance(m, str) for m in data["messages"])
    assert data["last_logged_day"] <= END.isoformat()
    assert data["pain_7day_mean_end"] == data["last_logged_day"]
    assert data["schema"] == 2


def test_summary_numbers_agree_with_the_metrics(tmp_path):
    from backtrack import metrics
    from backtrack.routine import default_routine

    log = demo_log(150, seed=4, end=END)
    result = backtrack.summary(log, today=TODAY).to_dict()
    daily = metrics.daily_series(log.entries, default_routine())
    assert result["pain_7day_mean"] == pytest.approx(
        metrics.pain_7day_mean(daily).loc[result["last_logged_day"]], abs=0.005
    )
    assert result["streak_days"] == metrics.current_streak(daily, TODAY)
    assert result["demo"] is True and any("demo" in m for m in result["messages"])


def test_a_too_short_log_gives_nulls_with_reasons(tmp_path, capsys):
    path = write_demo(tmp_path / "short.csv", days=5, seed=1, end=END)
    data = run_json(capsys, "--csv", str(path))
    assert data["days_logged"] <= 5
    for key in ("baseline", "change", "change_percent", "change_class"):
        assert data[key] is None, key
    for key in ESTIMATE_KEYS:
        assert data[key] is None and data[f"{key}_low"] is None
    text = " ".join(data["messages"])
    assert "baseline needs 7 rated days" in text
    assert "needs 6 weeks" in data["trend_why_null"]
    assert "needs 28 pairs" in data["lag1_adherence_effect_why_null"]
    assert "baseline needs 7 rated days" in data["change_why_null"]
    assert "lag1_" not in text and "adherence_7day" not in text  # no internal names
    assert data["chronic"] is False


def test_since_restricts_the_analysis(tmp_path, capsys):
    path = write_demo(tmp_path / "log.csv", days=120, seed=3, end=END)
    everything = run_json(capsys, "--csv", str(path))
    recent = run_json(capsys, "--csv", str(path), "--since", "2026-10-01")
    assert recent["first_day"] >= "2026-10-01"
    assert recent["days_logged"] < everything["days_logged"]
    assert recent["pain_7day_mean"] == everything["pain_7day_mean"]


def test_text_output_names_the_last_logged_day(tmp_path, capsys):
    path = write_demo(tmp_path / "log.csv", days=60, seed=1, end=END)
    assert main(["summary", "--csv", str(path)]) == 0
    out = capsys.readouterr().out
    last = backtrack.summary(path, today=TODAY).last_logged_day.date().isoformat()
    assert f"7 days ending {last}" in out
    assert "does not prove" in out


def test_no_log_yet_exits_2_and_points_to_the_demo(tmp_path, capsys):
    missing = tmp_path / "nothing.csv"
    assert main(["summary", "--csv", str(missing)]) == 2
    err = capsys.readouterr().err
    assert "no log there yet" in err and "--demo" in err
    assert not missing.exists()
    data = run_json(capsys, "--demo")
    assert data["demo"] is True and data["days_logged"] > 100


def test_summary_of_an_empty_log(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("recorded_at,date,pain,exercises,day,where,note\n")
    path.chmod(0o600)
    result = backtrack.summary(path, today=TODAY)
    data = result.to_dict()
    assert data["days_logged"] == 0 and data["pain_7day_mean"] is None
    assert "No days logged yet" in result.text()


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("backtrack", ("pandas", "scipy", "statsmodels", "matplotlib")),
        ("backtrack.metrics", ("scipy", "statsmodels", "matplotlib")),
        ("backtrack.overview", ("scipy.stats", "statsmodels", "matplotlib")),
    ],
)
def test_imports_stay_light(module, forbidden):
    code = f"import sys, {module}; print([m for m in {forbidden!r} if m in sys.modules])"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def _degenerate_log(path, *, odd_pain: int, odd_done: bool):
    """35 days of identical full-routine pain 5 and one different day (issue 12)."""
    from datetime import datetime, time

    from backtrack.demo import to_csv_text
    from backtrack.routine import default_routine
    from backtrack.schema import Entry

    ids = default_routine().ids
    entries = []
    for t in range(36):
        day = END - timedelta(days=35 - t)
        saved = datetime.combine(day, time(20), UTC)
        odd = t == 20
        done = {e: None for e in ids} if not odd or odd_done else {}
        entries.append(Entry(saved, day, odd_pain if odd else 5, done))
    path.write_text(to_csv_text(entries), encoding="utf-8")
    path.chmod(0o600)
    return path


@pytest.mark.parametrize(("odd_pain", "odd_done"), [(6, False), (5, False), (6, True)])
def test_degenerate_logs_say_not_computable_and_exit_0(tmp_path, capsys, odd_pain, odd_done):
    path = _degenerate_log(tmp_path / "log.csv", odd_pain=odd_pain, odd_done=odd_done)
    assert main(["summary", "--csv", str(path)]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and captured.err == ""
    assert "Not computable: " in captured.out or "not computable" in captured.out.lower()
    data = run_json(capsys, "--csv", str(path))
    assert data["lag1_adherence_effect"] is None
    assert data["lag1_adherence_effect_why_null"].startswith(("Not computable: ", "Not enough"))
    assert data["change_class"] in (*backtrack.stats.CLASSES, None)
    pdf = tmp_path / "r.pdf"
    assert main(["report", "--csv", str(path), "-o", str(pdf), "--details"]) == 0
    assert pdf.stat().st_size > 0
    assert "Traceback" not in capsys.readouterr().err


def test_json_keeps_full_precision_and_equals_the_cohort(tmp_path, capsys):
    from backtrack.cohort import summarise

    path = write_demo(tmp_path / "log.csv", days=150, seed=4, end=END)
    data = run_json(capsys, "--csv", str(path))
    row = summarise([path]).iloc[0]
    for key in ("baseline", "pain_7day_mean", "change", "change_percent", "trend_low"):
        assert data[key] == row[key], key  # exactly: no rounding in the JSON
    assert data["change_class"] == row["change_class"]


def test_baseline_period_and_phase_start_options(tmp_path, capsys):
    path = write_demo(tmp_path / "log.csv", days=120, seed=3, end=END)
    start = (END - timedelta(days=119)).isoformat()
    end = (END - timedelta(days=100)).isoformat()
    data = run_json(capsys, "--csv", str(path), "--baseline", f"{start}:{end}")
    assert (data["baseline_start"], data["baseline_end"]) == (start, end)
    assert data["baseline_chosen"] is True
    assert data["change_regression_to_mean"] is False  # only the default first week
    phase = run_json(capsys, "--csv", str(path), "--phase-start", "2026-09-15")["phase"]
    assert phase["difference"]["estimate"] is not None
    assert main(["summary", "--csv", str(path), "--baseline", "2026-09-10"]) == 2
    assert "START:END" in capsys.readouterr().err


def test_stale_log_says_so_and_habit_strength_decays(tmp_path, capsys):
    path = write_demo(tmp_path / "log.csv", days=60, seed=1, end=END)
    fresh = backtrack.summary(path, today=END + timedelta(days=1))
    stale = backtrack.summary(path, today=END + timedelta(days=41))
    assert "days old" not in " ".join(fresh.messages)
    assert "Your latest entry is 41 days old" in " ".join(stale.messages)
    assert "41 days ago" in stale.text()
    assert stale.habit_strength < 0.2 * fresh.habit_strength


def test_null_results_print_their_minimum_detectable_effect(tmp_path, capsys):
    path = write_demo(tmp_path / "log.csv", days=120, seed=1, end=END)
    data = run_json(capsys, "--csv", str(path))
    for key in ("trend", "lag1_adherence_effect", "weekly_adherence_effect"):
        low, high = data[f"{key}_low"], data[f"{key}_high"]
        if low is not None and low <= 0 <= high:
            assert "would usually be missed" in data["sentences"][key], key
            assert data[f"{key}_mde"] > 0
    if data["change_class"] in ("none", "unclear"):
        assert data["change_mde"] > 0
    text = backtrack.summary(path, today=TODAY).text()
    assert text.count("would usually be missed") >= 1
    assert "In short: " in text


def test_text_names_exercises_in_words_and_no_internal_names(tmp_path):
    path = write_demo(tmp_path / "log.csv", days=240, seed=3, end=END)
    result = backtrack.summary(path, today=TODAY)
    text = result.text()
    for internal in ("lag1_", "p_holm", "adherence_7day", "pain_7day_mean", "change_class"):
        assert internal not in text, internal
    if result.exercises.separable:
        assert "Hip stretch:" in text and "Holm p = " in text
    else:
        assert "cannot be told apart" in text


@pytest.mark.parametrize("days", [0, 1, 13, 40])
def test_habit_strength_is_explained_where_it_is_shown(days):
    """Issue 24 item 10: "habit strength 0.19" stood unexplained in the summary and the
    report. Each now gives the value "of 1" and what it means, and the meaning's numbers
    hold: 13 whole-routine days in a row from nothing take the score to 0.5."""
    from backtrack import metrics, wording
    from backtrack.report import ReportData, key_numbers
    from backtrack.routine import default_routine
    from backtrack.store import parse_log_text

    end = date(2026, 11, 20)
    log = demo_log(days, seed=days, end=end) if days else parse_log_text("", "<empty>")
    result = backtrack.summary(log, routine=default_routine(), today=end + timedelta(days=1))
    shown = wording.habit(result.results["habit_strength"])
    if days:
        assert shown == f"{result.habit_strength:.2f} of 1"
    text = result.text()
    if days:
        assert f"Habit strength: {wording.HABIT_MEANING}" in text
        assert re.search(rf"^Habit strength: +{re.escape(shown)}$", text, re.MULTILINE)
    data = ReportData(result.daily, result, default_routine(), log.entries, "", True)
    habit = next(row for row in key_numbers(data) if row.label == "Flares, habit")
    assert f"Habit strength: {shown}" in habit.value
    assert wording.HABIT_MEANING in habit.definition
    # the words' own numbers, against the metric
    full = pd.DataFrame(
        {"logged": True, "day": "routine", "credit": 1.0},
        index=pd.date_range("2026-01-01", periods=13, name="date"),
    )
    assert "13 such days in a row take it from 0 to 0.5" in wording.HABIT_MEANING
    assert metrics.habit_strength(full).iloc[-1] == pytest.approx(0.5)


def test_summary_text_names_the_log_without_its_folders(tmp_path):
    """Issue 24 item 10: the summary's first line showed the log's full path."""
    path = write_demo(tmp_path / "private folder" / "my log.csv", 30, seed=4)
    result = backtrack.summary(path)
    first = result.text().splitlines()[0]
    assert first == "backtrack summary of my log.csv"
    assert str(tmp_path) not in result.text()
    assert result.to_dict()["source"] == str(path)  # the JSON keeps where it came from
