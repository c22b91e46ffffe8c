"""A self-trial with the weekly PEG as its outcome (issue 28 item 6)."""

from __future__ import annotations

import itertools
import json
from datetime import date, timedelta

import numpy as np
import pytest
from test_trial import ROUTINE, START, simulated_entries

from backtrack.cli import main
from backtrack.clinic_trials import comparison_key
from backtrack.errors import TrialPlanError
from backtrack.measures import PEG, Answers
from backtrack.trial import analyse, load_plan, plan_toml, plan_trial, trial_path
from backtrack.trial_report import report_text, trial_timeline


def peg_plan(pairs: int = 6, seed: int = 3, **kw):
    return plan_trial(
        a="full routine",
        b="without wall squat",
        pairs=pairs,
        block_days=kw.pop("block_days", 7),
        washout_days=2,
        start=START,
        seed=seed,
        b_without=("wall_squat",),
        routine=ROUTINE,
        outcome="peg",
        **kw,
    )


def planted_pegs(plan, effect: float, seed: int):
    """One PEG per block on its last day, items around 6 (5 with B when effect 1 …),
    and a wild PEG on each block's second day (inside the washout: never the outcome).
    Returns the answers and each block's planted score (the mean of its 3 items)."""
    rng = np.random.default_rng(seed)
    answers, scores = [], {}
    for block in plan.blocks:
        centre = 6 - (effect if block.condition == "B" else 0)
        items = tuple(int(np.clip(round(centre + rng.normal(0, 0.8)), 0, 10)) for _ in "PEG")
        answers.append(Answers(PEG, block.end, items))
        scores[block] = sum(items) / 3
        answers.append(Answers(PEG, block.start + timedelta(days=1), (10, 10, 10)))
    return answers, scores


def enumerated_p(d: list[float]) -> float:
    """Two-sided exact sign-flip p, by listing all 2**k schedules (independent of trial)."""
    observed = abs(sum(d))
    flips = list(itertools.product((1, -1), repeat=len(d)))
    hits = sum(
        abs(sum(s * x for s, x in zip(signs, d, strict=True))) >= observed - 1e-9
        for signs in flips
    )
    return hits / len(flips)


def test_a_planted_peg_effect_is_found_by_the_exact_test_not_from_daily_pain():
    plan = peg_plan()
    entries = simulated_entries(plan, effect=0.0, seed=5)  # daily pain: no effect at all
    answers, scores = planted_pegs(plan, effect=2.0, seed=11)
    result = analyse(plan, entries, ROUTINE, today=plan.end, measures=answers)
    by_pair: dict[int, dict[str, float]] = {}
    for block, value in scores.items():
        by_pair.setdefault(block.pair, {})[block.condition] = value
    expected = [p["A"] - p["B"] for _, p in sorted(by_pair.items())]  # A − B: + = B better
    assert result.complete_pairs == plan.pairs
    assert result.differences == pytest.approx(expected)
    assert result.effect == pytest.approx(np.mean(expected))
    assert result.effect > 1.0
    assert result.p_value == pytest.approx(enumerated_p(expected))
    assert result.p_value < 0.05
    assert "PEG score" in result.sentence and "lower with without wall squat" in result.sentence
    assert all(r.peg == pytest.approx(scores[r.block]) for r in result.blocks)
    assert result.to_dict()["outcome"] == "peg"
    sections = dict(report_text(result))
    assert sections["Question"].startswith("Is the PEG score")
    assert "PEG score" in sections["Outcome"] and "pain" not in sections["Outcome"].split(",")[0]
    ax = trial_timeline(result, entries)
    drawn = [line.get_ydata()[0] for line in ax.lines if line.get_gid() == "block-mean"]
    assert drawn == pytest.approx([scores[r.block] for r in result.blocks])


def test_a_block_without_a_peg_in_its_last_days_does_not_count():
    plan = peg_plan()
    answers, _ = planted_pegs(plan, effect=1.0, seed=2)
    first = plan.blocks[0]
    kept = [a for a in answers if a.date != first.end]  # only its washout-day answer left
    late = Answers(PEG, first.end - timedelta(days=3), (1, 1, 1))  # before its last 3 days
    entries = simulated_entries(plan, effect=0.0, seed=1)
    result = analyse(plan, entries, ROUTINE, today=plan.end, measures=[*kept, late])
    assert result.blocks[0].peg is None and not result.blocks[0].complete
    assert result.complete_pairs == plan.pairs - 1


def test_peg_needs_whole_week_blocks(capsys, tmp_path):
    with pytest.raises(TrialPlanError, match="whole weeks"):
        peg_plan(block_days=5)
    code = main(
        ["trial", "plan", "--a", "x", "--b", "y", "--block-days", "5", "--outcome", "peg"]
        + ["--csv", str(tmp_path / "backtrack.csv")]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "block_days" in err and "whole weeks (7, 14, 21, ... days)" in err and "5" in err
    assert not trial_path(tmp_path / "backtrack.csv").exists()
    assert peg_plan(block_days=14).outcome == "peg"


def test_the_plan_keeps_its_outcome_and_an_older_plan_loads_as_pain(tmp_path):
    path = tmp_path / "trial.toml"
    path.write_text(plan_toml(peg_plan()), encoding="utf-8")
    assert load_plan(path).outcome == "peg"
    older = [line for line in plan_toml(peg_plan()).splitlines() if "outcome" not in line]
    path.write_text("\n".join(older) + "\n", encoding="utf-8")
    assert load_plan(path).outcome == "pain"


def test_trial_plan_and_result_through_the_command(capsys, tmp_path):
    log = tmp_path / "backtrack.csv"
    start = date.today() - timedelta(days=27)
    args = ["--csv", str(log)]
    assert main(["log", "--pain", "4", "--date", start.isoformat(), *args]) == 0
    code = main(
        ["trial", "plan", "--a", "x", "--b", "y", "--pairs", "2", "--outcome", "peg"]
        + ["--seed", "4", "--start", start.isoformat(), *args]
    )
    out = capsys.readouterr().out
    assert code == 0 and "weekly PEG score" in out
    plan = load_plan(trial_path(log))
    for block in plan.blocks:
        peg = "3,3,3" if block.condition == "B" else "6,6,6"
        assert main(["log", "--peg", peg, "--date", block.end.isoformat(), *args]) == 0
    capsys.readouterr()
    assert main(["trial", "result", "--json", *args]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["outcome"] == "peg" and result["complete_pairs"] == 2
    assert result["pain_lower_with_b"] == pytest.approx(3.0)


def test_a_peg_trial_is_its_own_comparison_in_the_clinic():
    """PEG points and daily pain points are never pooled together."""
    pain = plan_trial(
        a="full routine",
        b="without wall squat",
        pairs=6,
        start=START,
        seed=3,
        b_without=("wall_squat",),
        routine=ROUTINE,
    )
    assert comparison_key(pain) == "without wall_squat"
    assert comparison_key(peg_plan()) == "without wall_squat, PEG outcome"
