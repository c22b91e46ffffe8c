"""The statistics registry: every registered unit is documented and appears in every
view (summary JSON, summary text, report key numbers, trends view, cohort columns), and
a batch of many gives each patient what a batch of one gives."""

from __future__ import annotations

import math
import re
from datetime import date, timedelta
from html import escape
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import backtrack
from backtrack import metrics, registry
from backtrack.demo import demo_log
from backtrack.routine import default_routine
from backtrack.units import FIELDS, Batch, Options, Result, Unit, per_patient

ROOT = Path(__file__).resolve().parent.parent
END = date(2026, 11, 20)
TODAY = END + timedelta(days=1)


def documented_rows() -> dict[str, list[str]]:
    """The rows of docs/analysis.md's "Registered statistics" table, by key."""
    text = (ROOT / "docs" / "analysis.md").read_text(encoding="utf-8")
    section = text.split("## Registered statistics", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        match = re.fullmatch(r"`([a-z0-9_]+)`", cells[0]) if cells else None
        if match:
            rows[match.group(1)] = cells
    return rows


def test_every_registered_statistic_is_documented_once():
    rows = documented_rows()
    assert list(rows) == [unit.key for unit in registry.UNITS]  # the same keys, in order
    headings = set(re.findall(r"^## (.+)$", (ROOT / "docs" / "analysis.md").read_text(), re.M))
    for unit in registry.UNITS:
        _, what, columns, defined_in = rows[unit.key]
        assert what == f"{unit.label} ({unit.unit})", unit.key
        assert defined_in == unit.docs and unit.docs in headings, unit.key
        documented = re.findall(r"`([a-z0-9_]+)`", columns)
        assert [f"{unit.key}_{c}" for c in documented] == list(unit.columns[1:]), unit.key
        assert unit.definition.strip(), unit.key


def test_keys_and_columns_are_unique():
    assert len({unit.key for unit in registry.UNITS}) == len(registry.UNITS)
    assert len(set(registry.COLUMNS)) == len(registry.COLUMNS)
    assert set(registry.TYPES) == set(registry.COLUMNS)


@pytest.fixture(scope="module")
def demo_summary():
    return backtrack.summary(demo_log(200, seed=3, end=END), today=TODAY)


def test_every_unit_is_in_the_json_and_the_text(demo_summary):
    data = demo_summary.to_dict()
    text = demo_summary.text()
    for unit in registry.UNITS:
        for column in unit.columns:
            assert column in data, column
        words = unit.words(demo_summary.results[unit.key])
        line = rf"^{re.escape(unit.label + ':')} +{re.escape(words)}$"
        assert re.search(line, text, re.MULTILINE), unit.key


def test_every_unit_is_in_the_report_and_the_trends_view(demo_summary):
    from backtrack.report import ReportData, key_numbers
    from backtrack.trends_view import numbers_html, period_view

    log = demo_log(200, seed=3, end=END)
    data = ReportData(demo_summary.daily, demo_summary, default_routine(), log.entries, "", True)
    rows = key_numbers(data)
    assert sorted(key for row in rows for key in row.keys) == sorted(registry.BY_KEY)
    view = period_view(log, default_routine(), None, today=TODAY)
    html = numbers_html(view, log, default_routine())
    for row in rows:
        assert f">{row.label}</th>" in html, row.label
    for unit in registry.UNITS:
        assert escape(unit.words(view.summary.results[unit.key])) in html, unit.key


def test_every_unit_is_a_cohort_column():
    from backtrack.cohort import COLUMNS_OUT

    for column in registry.COLUMNS:
        assert column in COLUMNS_OUT


def test_a_unit_declares_only_known_fields():
    compute = per_patient(lambda daily, options: Result(1.0))
    with pytest.raises(ValueError, match="fields expected among"):
        Unit("x", "X", "points", "d", "Pain", compute, str, "G", fields=("low", "width"))


def test_columns_follow_the_naming_rule():
    for unit in registry.UNITS:
        standard = [f"{unit.key}_{name}" for name in FIELDS if name in unit.fields]
        extras = [f"{unit.key}_{name}" for name in unit.extras]
        assert unit.columns == (unit.key, *standard, *extras)


def _equal(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-12, abs=1e-12)
    return a == b


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lengths=st.lists(st.integers(0, 150), min_size=2, max_size=5),
    seed=st.integers(0, 10_000),
    baseline=st.booleans(),
)
def test_a_batch_of_many_gives_each_patient_what_a_batch_of_one_gives(lengths, seed, baseline):
    """Every unit over a batch of logs of mixed lengths (empty to 150 days) equals the
    same unit over each log alone, field by field."""
    routine = default_routine()
    daily = tuple(
        metrics.daily_since(demo_log(days, seed=seed + i, end=END).entries, routine)
        if days
        else metrics.daily_since(demo_log(1, seed=1, end=END).entries.iloc[:0], routine)
        for i, days in enumerate(lengths)
    )
    period = (END - timedelta(days=150), END - timedelta(days=120)) if baseline else None
    options = Options(TODAY, period)
    many = registry.compute(Batch(tuple(map(str, range(len(daily)))), daily, options))
    for one_daily, results in zip(daily, many, strict=True):
        (alone,) = registry.compute(Batch.of_one(one_daily, options))
        assert registry.columns_of(results).keys() == registry.columns_of(alone).keys()
        for column, value in registry.columns_of(results).items():
            assert _equal(value, registry.columns_of(alone)[column]), column


def test_summary_results_are_the_units_on_a_batch_of_one(demo_summary):
    """``backtrack.summary`` runs the registry on its daily series: the same Results."""
    options = Options(TODAY)
    assert demo_summary.daily is not None
    (alone,) = registry.compute(
        Batch.of_one(demo_summary.daily, options, "", demo_summary.answers)
    )
    assert demo_summary.answers  # demo data carry demo answers
    assert registry.columns_of(alone) == registry.columns_of(demo_summary.results)
    assert isinstance(demo_summary.daily, pd.DataFrame)
