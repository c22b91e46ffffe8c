"""Randomised self-trials (issue 14): the plan, the exact test, the result, the command."""

from __future__ import annotations

import itertools
import json
import math
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pytest
from scipy import stats as scipy_stats

from backtrack.cli import main
from backtrack.demo import to_csv_text
from backtrack.errors import TrialPlanError
from backtrack.routine import default_routine
from backtrack.schema import Entry
from backtrack.store import parse_log_text, read_log
from backtrack.trial import (
    analyse,
    assignment_on,
    draw_orders,
    exact_p_value,
    load_plan,
    pair_statistics,
    plan_toml,
    plan_trial,
    schedule,
    smallest_p_value,
    stop_trial,
    write_plan,
)

START = date(2026, 6, 1)
ROUTINE = default_routine()


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def simulated_entries(plan, *, effect: float, seed: int, missing: float = 0.0, sd: float = 0.7):
    """Daily pain for a plan: AR(1) noise around 5 (persistence 0.6, day-to-day noise
    0.7 points, as backtrack.demo), ``effect`` points added on B days (it builds up over
    the block's first two days: carry-over), rounded to the 0-10 scale."""
    rng = np.random.default_rng(seed)
    noise = 0.0
    rows = []
    for block in plan.blocks:
        for offset in range((block.end - block.start).days + 1):
            day = block.start + timedelta(days=offset)
            noise = 0.6 * noise + rng.normal(0, sd)
            shift = effect * min(1.0, (offset + 1) / 2) if block.condition == "B" else 0.0
            if rng.random() < missing:
                continue
            pain = int(np.clip(np.rint(5 + shift + noise), 0, 10))
            done = ["floor_relaxation", "hip_stretch"] + (["wall_squat"] if offset % 3 else [])
            rows.append(
                Entry(
                    recorded_at=datetime.combine(day, time(20), UTC),
                    date=day,
                    pain=pain,
                    exercises=dict.fromkeys(done),
                )
            )
    return parse_log_text(to_csv_text(rows), "sim", now=datetime(2030, 1, 1, tzinfo=UTC)).entries


def a_plan(pairs: int = 6, seed: int = 1, **kw):
    return plan_trial(
        a="full routine",
        b="without wall squat",
        pairs=pairs,
        block_days=kw.pop("block_days", 7),
        washout_days=kw.pop("washout_days", 2),
        start=START,
        seed=seed,
        b_without=kw.pop("b_without", ("wall_squat",)),
        routine=ROUTINE,
        **kw,
    )


# ----------------------------------------------------------------------------- planning


def test_the_seed_reproduces_the_schedule_and_blocks_are_contiguous():
    plan = a_plan(seed=42)
    assert plan.blocks == schedule(START, 6, 7, 42) == a_plan(seed=42).blocks
    assert plan.blocks[0].start == START
    for first, second in itertools.pairwise(plan.blocks):
        assert second.start == first.end + timedelta(days=1)
    for pair in range(1, 7):
        conditions = sorted(b.condition for b in plan.blocks if b.pair == pair)
        assert conditions == ["A", "B"]
    assert plan.total_days == 84 and plan.end == START + timedelta(days=83)


def test_each_pair_is_ab_half_the_time_over_many_seeds():
    orders = np.array([draw_orders(8, seed) for seed in range(2000)])
    ab = (orders == "AB").sum()
    result = scipy_stats.binomtest(int(ab), orders.size, 0.5)
    assert result.pvalue > 0.001, (ab, orders.size)
    per_position = (orders == "AB").mean(axis=0)
    assert np.all(np.abs(per_position - 0.5) < 0.05)  # no position favours an order


def test_smallest_p_value_says_how_many_pairs_are_needed():
    assert smallest_p_value(4) == 0.125
    assert smallest_p_value(6) == pytest.approx(0.03125)


@pytest.mark.parametrize(
    "change,key",
    [
        ({"pairs": 0}, "pairs"),
        ({"pairs": 21}, "pairs"),
        ({"block_days": 1}, "block_days"),
        ({"washout_days": 6}, "washout_days"),
        ({"b_without": ("plank",)}, "b_without"),
    ],
)
def test_impossible_plans_are_refused_with_the_key(change, key):
    with pytest.raises(TrialPlanError) as info:
        a_plan(**change)
    assert info.value.key == key


def test_a_plan_round_trips_and_a_hand_edited_one_is_refused_log_untouched(tmp_path):
    log = tmp_path / "backtrack.csv"
    log.write_text("untouched\n")
    plan = a_plan(seed=3)
    path = write_plan(tmp_path / "trial.toml", plan)
    assert load_plan(path, ROUTINE) == plan
    text = path.read_text()
    swapped = text.replace('condition = "A"', 'condition = "X"', 1)
    for nonsense, key in [
        (swapped, "blocks"),
        (text.replace("pairs = 6", "pairs = -2"), "pairs"),
        (text.replace("block_days = 7", 'block_days = "seven"'), "block_days"),
        (text + "\nextra = 1\n", "blocks.extra"),  # TOML puts it in the last block
        ("extra = 1\n" + text, "extra"),
        ("pairs = [", "(file)"),
    ]:
        path.write_text(nonsense)
        with pytest.raises(TrialPlanError) as info:
            load_plan(path, ROUTINE)
        assert info.value.key == key, nonsense
    assert log.read_text() == "untouched\n"


def test_a_running_trial_is_not_replaced_without_asking(tmp_path):
    path = tmp_path / "trial.toml"
    today = date.today()
    running = plan_trial(a="x", b="y", pairs=2, start=today, seed=1)
    write_plan(path, running)
    with pytest.raises(TrialPlanError, match="give --replace"):
        write_plan(path, plan_trial(a="x", b="z", pairs=2, start=today, seed=2))
    write_plan(path, plan_trial(a="x", b="z", pairs=2, start=today, seed=2), replace=True)
    assert load_plan(path).b == "z"


def test_todays_assignment_names_block_condition_and_washout():
    plan = a_plan(seed=5)
    first = assignment_on(plan, START)
    assert first.washout and first.day_number == 1 and first.total_days == 84
    day10 = assignment_on(plan, START + timedelta(days=9))
    assert day10.block_number == 2 and not day10.washout
    assert day10.text().startswith("Trial day 10 of 84 — block 2 (")
    assert assignment_on(plan, START - timedelta(days=1)) is None
    assert assignment_on(plan, plan.end + timedelta(days=1)) is None


# ----------------------------------------------------------------------------- the exact test


def _enumerated_p(d: list[float]) -> float:
    """The randomisation test written out: every schedule, one by one."""
    observed = abs(sum(d) / len(d))
    hits = 0
    for signs in itertools.product((1, -1), repeat=len(d)):
        if abs(sum(s * x for s, x in zip(signs, d, strict=True)) / len(d)) >= observed - 1e-9:
            hits += 1
    return hits / 2 ** len(d)


@pytest.mark.parametrize("seed", range(8))
def test_exact_p_value_equals_an_enumeration(seed):
    rng = np.random.default_rng(seed)
    d = list(np.round(rng.normal(-0.5, 1, size=int(rng.integers(1, 9))), 1))
    assert exact_p_value(d) == pytest.approx(_enumerated_p(d), abs=1e-12)


def test_exact_p_value_agrees_with_a_monte_carlo_randomisation_test_for_10_pairs():
    rng = np.random.default_rng(11)
    d = rng.normal(-0.7, 1.2, size=10)
    signs = rng.choice([-1, 1], size=(200_000, 10))
    monte_carlo = np.mean(np.abs(signs @ d) / 10 >= abs(d.mean()) - 1e-9)
    assert exact_p_value(d) == pytest.approx(monte_carlo, abs=0.005)


def test_ties_count_towards_the_p_value():
    assert exact_p_value([1.0, 1.0]) == 0.5  # ++ and -- both reach |mean| = 1
    assert exact_p_value([1.0, -1.0]) == 1.0


# ----------------------------------------------------------------------------- calibration


def calibrate(effect: float, runs: int) -> tuple[float, float]:
    """(coverage of the interval, share of p < 0.05) over ``runs`` simulated 6-pair
    trials of 7-day blocks with a true effect of ``effect`` points (the model of
    :func:`simulated_entries`). Also used by bench/trial.py."""
    covered = rejected = 0
    for seed in range(runs):
        plan = a_plan(seed=seed)
        entries = simulated_entries(plan, effect=effect, seed=seed)
        result = analyse(plan, entries, ROUTINE, today=date(2030, 1, 1))
        assert result.complete_pairs == 6
        covered += result.low <= -effect <= result.high  # the result is A − B
        rejected += result.p_value < 0.05
    return covered / runs, rejected / runs


@pytest.mark.parametrize("effect", [-1.5, 0.0])
def test_planted_effects_through_the_whole_analysis(effect):
    """300 simulated 6-pair trials of 7-day blocks (AR(1) days, carry-over over two
    days, 2 washout days): the interval covers the truth ~95%; with no effect the exact
    test rejects at most 5% of the time (plus Monte Carlo error)."""
    runs = 300
    coverage, rate = calibrate(effect, runs)
    assert 0.92 <= coverage <= 0.98, coverage
    if effect == 0:
        assert rate <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / runs), rate
    else:
        assert rate >= 0.6, rate


def test_the_probability_of_b_better_by_a_point_is_calibrated():
    """Truth drawn from a wide flat range: among trials whose posterior probability
    falls in a bin, the share whose true effect (A − B) is ≥ 1 matches the bin."""
    rng = np.random.default_rng(5)
    truths = rng.uniform(-2, 4, size=6000)
    d = truths[:, None] + rng.normal(0, 1.2, size=(6000, 6))
    probs = np.array([pair_statistics(row).prob_b_better_1 for row in d])
    for low in (0.1, 0.3, 0.5, 0.7):
        inside = (probs >= low) & (probs < low + 0.2)
        assert inside.sum() > 100
        observed = np.mean(truths[inside] >= 1)
        assert abs(observed - (low + 0.1)) < 0.07, (low, observed)


def test_pair_statistics_against_a_hand_computed_case():
    d = [2.0, 1.0, 1.5, -0.5]  # A − B: B less painful by 1 point on average
    stats = pair_statistics(d)
    assert stats.effect == pytest.approx(1.0)
    se = np.std(d, ddof=1) / 2
    assert stats.se == pytest.approx(se)
    assert stats.low == pytest.approx(1.0 - 3.182446305 * se, abs=1e-6)
    assert stats.p_value == pytest.approx(_enumerated_p(d))
    assert stats.prob_b_better_1 == pytest.approx(0.5)


# ----------------------------------------------------------------------------- the result


def test_deviations_missing_days_and_incomplete_pairs():
    plan = a_plan(seed=9)
    entries = simulated_entries(plan, effect=-1, seed=2, missing=0.2)
    result = analyse(plan, entries, ROUTINE, today=date(2030, 1, 1))
    b_days_with_squat = sum(r.deviations for r in result.blocks if r.block.condition == "B")
    assert result.deviations["B"] == b_days_with_squat > 0
    assert result.deviations["A"] == 0
    assert all(r.analysed_days <= 5 for r in result.blocks)
    half_way = analyse(plan, entries, ROUTINE, today=plan.blocks[5].end)
    assert half_way.complete_pairs == 3 and not half_way.finished
    assert half_way.sentence.startswith("So far:")


def test_a_stopped_trial_counts_only_what_was_done_and_says_so(tmp_path):
    plan = a_plan(seed=4)
    path = write_plan(tmp_path / "trial.toml", plan)
    stopped = stop_trial(path, plan.blocks[3].end)
    result = analyse(
        stopped, simulated_entries(plan, effect=-1, seed=1), ROUTINE, today=date(2030, 1, 1)
    )
    assert result.stopped_early and result.complete_pairs == 2
    assert result.sentence.startswith("Stopped early:")
    assert "cannot give a p-value below 0.5" in " ".join(result.cannot_conclude)


def test_trial_stop_keeps_its_reason_in_the_plan_and_the_result(tmp_path, capsys):
    log = tmp_path / "backtrack.csv"
    plan = a_plan(seed=4)
    write_plan(tmp_path / "trial.toml", plan)
    day = plan.blocks[3].end.isoformat()
    code, out, _ = run(
        capsys, "trial", "stop", "--csv", str(log), "--date", day, "--reason", "flare-up,\n saw GP"
    )
    assert code == 0 and "(reason: flare-up, saw GP)" in out
    loaded = load_plan(tmp_path / "trial.toml")
    assert (loaded.stopped, loaded.stop_reason) == (plan.blocks[3].end, "flare-up, saw GP")
    assert loaded.to_dict()["stop_reason"] == "flare-up, saw GP"
    log.write_text(to_csv_text([]), encoding="utf-8")
    code, out, _ = run(capsys, "trial", "result", "--csv", str(log), "--json")
    assert code == 0 and json.loads(out)["stop_reason"] == "flare-up, saw GP"
    code, out, _ = run(capsys, "trial", "result", "--csv", str(log))
    assert code == 0 and f"Stopped on {day}: flare-up, saw GP" in out


def test_a_plan_stopped_before_reasons_were_kept_still_loads(tmp_path):
    plan = a_plan(seed=4)
    path = write_plan(tmp_path / "trial.toml", plan)
    text = path.read_text(encoding="utf-8")
    assert "stop_reason" not in text
    stopped = stop_trial(path, plan.blocks[3].end)  # no reason: as every older plan
    assert "stop_reason" not in path.read_text(encoding="utf-8")
    assert load_plan(path) == stopped and stopped.stop_reason is None
    path.write_text(text.replace("seed = 4", 'seed = 4\nstop_reason = "moved"'), "utf-8")
    with pytest.raises(TrialPlanError, match="stop_reason"):  # a reason needs a stop
        load_plan(path)
    with pytest.raises(TrialPlanError, match="stop_reason"):
        stop_trial(tmp_path / "other.toml", plan.blocks[3].end, reason="   ")


def test_too_few_complete_pairs_says_what_it_needs():
    plan = a_plan(seed=4)
    entries = simulated_entries(plan, effect=-1, seed=1)
    none_yet = analyse(plan, entries, ROUTINE, today=plan.blocks[0].end)
    assert none_yet.effect is None and "No complete pair yet" in none_yet.sentence
    one = analyse(plan, entries, ROUTINE, today=plan.blocks[1].end)
    assert one.complete_pairs == 1 and one.low is None
    assert "at least 2 pairs are needed" in one.sentence and "6 to be able" in one.sentence


def test_wording_never_claims_more_than_the_test():
    plan = a_plan(seed=2)
    null = analyse(
        plan, simulated_entries(plan, effect=0, seed=3), ROUTINE, today=date(2030, 1, 1)
    )
    if null.p_value >= 0.05:
        assert "consistent with no difference" in null.sentence
    strong = analyse(
        plan, simulated_entries(plan, effect=-3, seed=3), ROUTINE, today=date(2030, 1, 1)
    )
    assert strong.p_value < 0.05 and "lower with without wall squat" in strong.sentence


# ----------------------------------------------------------------------------- the command


def test_plan_result_report_and_log_through_the_command(capsys, tmp_path):
    log = tmp_path / "backtrack.csv"
    start = date.today() - timedelta(days=20)
    code, out, _ = run(
        capsys,
        "trial",
        "plan",
        "--a",
        "full routine",
        "--b",
        "without wall squat",
        "--b-without",
        "wall_squat",
        "--pairs",
        "4",
        "--block-days",
        "7",
        "--seed",
        "7",
        "--start",
        start.isoformat(),
        "--csv",
        str(log),
        "--json",
    )
    assert code == 0
    plan = json.loads(out)
    assert plan["seed"] == 7 and plan["washout_days"] == 2 and len(plan["blocks"]) == 8
    assert set(plan["blocks"][0]) >= {"pair", "start", "end", "condition"}
    code, out, err = run(capsys, "trial", "plan", "--a", "x", "--b", "y", "--csv", str(log))
    assert code == 2 and "give --replace" in err
    code, out, _ = run(capsys, "log", "--pain", "4", "--done", "all", "--csv", str(log))
    assert code == 0 and "Trial day 21 of 56" in out
    today_block = assignment_on(load_plan(tmp_path / "trial.toml"), date.today())
    if today_block.block.condition == "B":
        assert "deviation: wall_squat" in out
    code, out, _ = run(capsys, "trial", "result", "--csv", str(log), "--json")
    result = json.loads(out)
    assert code == 0 and result["analysis"] == "intention to treat by assignment"
    pdf = tmp_path / "trial.pdf"
    assert run(capsys, "trial", "report", "-o", str(pdf), "--csv", str(log))[0] == 0
    assert pdf.read_bytes().startswith(b"%PDF")
    assert read_log(log).entries.shape[0] == 1  # the trial never wrote to the log


def test_plan_text_says_what_the_trial_can_show(capsys, tmp_path):
    code, out, _ = run(
        capsys,
        "trial",
        "plan",
        "--a",
        "morning",
        "--b",
        "evening",
        "--pairs",
        "4",
        "--seed",
        "1",
        "--csv",
        str(tmp_path / "log.csv"),
    )
    assert code == 0
    assert "0.125: choose at least 6 pairs" in out
    assert "not a substitute for a clinician" in out
    assert plan_toml(load_plan(tmp_path / "trial.toml")).count("[[blocks]]") == 8


def test_the_form_model_says_what_the_plan_says_for_the_chosen_date(tmp_path):
    from backtrack.form import LogFormModel

    log = tmp_path / "backtrack.csv"
    run_main = main(["log", "--pain", "4", "--date", "2026-06-01", "--csv", str(log)])
    assert run_main == 0
    plan = a_plan(seed=2)
    write_plan(tmp_path / "trial.toml", plan)
    clock = lambda: datetime(2026, 6, 10, 20, tzinfo=UTC)  # noqa: E731
    model = LogFormModel(log, clock=clock)
    assert model.trial_day[0].startswith("Trial day 10 of 84 — block 2 (")
    b_day = next(b for b in plan.blocks if b.condition == "B").start
    model.select_date(b_day)
    assert "washout day: not analysed" in model.trial_day[0]
    assert model.trial_day[1].startswith("B leaves out: Wall squat")
    model.select_date(START - timedelta(days=1))
    assert model.trial_day == []
    (tmp_path / "trial.toml").write_text("pairs = [")
    broken = LogFormModel(log, clock=clock)
    assert broken.trial_day == [] and any("self-trial plan" in p for p in broken.problems)


def test_the_safety_panel_says_red_flags_end_a_trial(tmp_path):
    from backtrack.form import log_form

    form = log_form(tmp_path / "backtrack.csv")
    texts = []

    def walk(widget):
        texts.append(
            getattr(widget, "value", "") if isinstance(getattr(widget, "value", ""), str) else ""
        )
        for child in getattr(widget, "children", ()):
            walk(child)

    walk(form)
    assert any("ends the trial" in t and "backtrack trial stop" in t for t in texts)


def test_adherence_on_b_days_counts_what_b_prescribes(tmp_path):
    """The summary, the daily series and the form see the plan beside the log: on a B day
    without wall squat, the other four exercises are the whole prescription."""
    from backtrack.metrics import daily_series
    from backtrack.overview import summary
    from backtrack.trial import load_routine_with_pauses

    log = tmp_path / "backtrack.csv"
    plan = a_plan(seed=2)
    write_plan(tmp_path / "trial.toml", plan)
    four = "floor_relaxation,hip_stretch,legs_up_wall,seated_stretch"
    a_day = next(b for b in plan.blocks if b.condition == "A").start
    b_day = next(b for b in plan.blocks if b.condition == "B").start
    for day in (a_day, b_day):
        assert (
            main(
                [
                    "log",
                    "--pain",
                    "4",
                    "--done",
                    four,
                    "--date",
                    day.isoformat(),
                    "--csv",
                    str(log),
                ]
            )
            == 0
        )
    routine = load_routine_with_pauses(log_path=log)
    assert {p.exercise_id for p in routine.pauses} == {"wall_squat"}
    daily = daily_series(read_log(log).entries, routine)
    assert daily.loc[str(a_day), "credit"] == pytest.approx(0.8)
    assert daily.loc[str(b_day), "credit"] == pytest.approx(1.0)
    assert daily.loc[str(b_day), "credit_wall_squat"] == 0.0  # what was done, unchanged
    without_plan = daily_series(read_log(log).entries, default_routine())
    assert without_plan.loc[str(b_day), "credit"] == pytest.approx(0.8)
    assert summary(log, today=b_day).daily.loc[str(b_day), "credit"] == pytest.approx(1.0)


def test_b_can_be_a_routine_file_of_its_own(tmp_path):
    """--b-routine: B's prescription (and so its adherence) comes from its own TOML."""
    b_toml = tmp_path / "b.toml"
    b_toml.write_text(
        'title = "Short routine"\n'
        "[[exercise]]\n"
        'id = "floor_relaxation"\nname = "Relaxation on the floor"\ndose_minutes = 5\n'
        'purpose = "relax"\nhow_to = "lie down"\n'
    )
    plan = a_plan(seed=6, b_without=(), b_routine=str(b_toml))
    entries = simulated_entries(plan, effect=0, seed=1)
    result = analyse(plan, entries, ROUTINE, today=date(2030, 1, 1))
    # every simulated day does relaxation fully: B (relaxation only) is fully adhered to
    assert result.adherence["B"] == pytest.approx(1.0)
    assert result.adherence["A"] < 1.0
    assert result.deviations["B"] > 0  # hip stretch done on B days: not in B's routine
    with pytest.raises(TrialPlanError, match="either b_without or b_routine"):
        a_plan(b_without=("wall_squat",), b_routine=str(b_toml))


def test_the_plans_detectable_difference_has_80_percent_power_under_the_exact_test():
    """Issue 27: the plan's figure came from a t formula, which the exact test (with 6
    pairs) detects only about 62% of the time. Checked with scipy's permutation test
    (all 2**6 sign flips) on 400 simulated trials at that size, and the t formula's
    size checked to fall short."""
    import scipy.stats

    from backtrack.trial import exact_detectable_ratio

    def power(ratio: float, pairs: int) -> float:
        rng = np.random.default_rng(11)
        found = 0
        for _ in range(400):
            d = rng.standard_normal(pairs) + ratio
            test = scipy.stats.permutation_test(
                (d,), np.mean, permutation_type="samples", n_resamples=np.inf
            )
            found += test.pvalue < 0.05
        return found / 400

    for pairs in (6, 8):
        ratio = exact_detectable_ratio(pairs)
        assert ratio is not None
        assert 0.75 <= power(ratio, pairs) <= 0.85
    t_size = (scipy.stats.t.ppf(0.975, 5) + scipy.stats.t.ppf(0.8, 5)) / np.sqrt(6)
    assert power(t_size, 6) < 0.70  # the old figure overstated what 6 pairs can find
    assert exact_detectable_ratio(5) is None  # 2/32 > 0.05: never significant


def test_one_sign_convention_positive_means_less_pain_with_b():
    """Issue 27 item 6: lower pain = better everywhere. The summary's change is
    baseline − latest (positive = pain fell); the trial's effect is A − B (positive =
    less pain with B), in the result, its JSON and its words."""
    plan = a_plan(seed=3)
    entries = simulated_entries(plan, effect=-1.5, seed=8)  # B days 1.5 points lower
    result = analyse(plan, entries, ROUTINE, today=date(2030, 1, 1))
    assert result.effect > 0 and result.low < result.effect < result.high
    a_means = [r.mean_pain for r in result.blocks if r.block.condition == "A"]
    b_means = [r.mean_pain for r in result.blocks if r.block.condition == "B"]
    assert result.effect == pytest.approx(np.mean(a_means) - np.mean(b_means))
    assert result.se == pytest.approx(np.std(result.differences, ddof=1) / math.sqrt(6))
    data = result.to_dict()
    assert "effect" not in data  # the old key meant B − A: gone, not silently flipped
    assert data["pain_lower_with_b"] == result.effect
    assert data["pair_differences_a_minus_b"] == list(result.differences)
    assert "lowered your pain" in result.sentence or "lower with" in result.sentence
    assert "B − A" not in result.sentence
    worse = analyse(
        plan, simulated_entries(plan, effect=2.0, seed=8), ROUTINE, today=date(2030, 1, 1)
    )
    assert worse.effect < 0 and worse.prob_b_better_1 < 0.05
    assert "higher with" in worse.sentence or "raised your pain" in worse.sentence
