"""How each registered statistic is worded for a patient: one function per kind of
value, from the numbers-only :class:`backtrack.units.Result` (no number is computed
here). Units: pain in points on the 0-10 NRS, adherence as percentages of dose credit.
"""

from __future__ import annotations

from .units import Result


def signed(value: float, digits: int = 1) -> str:
    """``+1.2`` / ``-0.4``; a value that rounds to zero is ``0.0``, never ``-0.0``."""
    text = f"{value:+.{digits}f}"
    return f"{0:.{digits}f}" if float(text) == 0 else text


def percent(value: float | None) -> str:
    """A fraction 0-1 as ``85%``; ``n/a`` when missing."""
    return "n/a" if value is None else f"{value:.0%}"


def points(value: float | None) -> str:
    """A pain level as ``4.2 /10``; ``n/a`` when missing."""
    return "n/a" if value is None else f"{value:.1f} /10"


def not_yet(result: Result) -> str:
    """What a missing estimate needs, in words."""
    reason = result.why_null.removeprefix("Not enough data: ").rstrip(".")
    return f"not yet: {reason}" if reason else "not yet"


def _interval(result: Result, digits: int = 1) -> str:
    if result.low is None or result.high is None:
        return ""
    return f"95% CI {signed(result.low, digits)} to {signed(result.high, digits)}"


def pain_mean(result: Result) -> str:
    """``4.2 /10 (6 rated days)``."""
    if result.estimate is None:
        return not_yet(result)
    return f"{points(result.estimate)} ({result.n} rated days)"


def baseline(result: Result) -> str:
    """``6.1 /10 (first 7 rated days from 2026-01-05)``."""
    if result.estimate is None:
        return not_yet(result)
    start, end = result.extra.get("start"), result.extra.get("end")
    if result.extra.get("chosen"):
        return f"{points(result.estimate)} (chosen period {start} to {end})"
    return f"{points(result.estimate)} (first 7 rated days from {start})"


def change(result: Result) -> str:
    """``2.1 points (35%) less pain, 95% CI +1.0 to +3.2 (+ = less): important``."""
    if result.estimate is None:
        return not_yet(result)
    share = result.extra.get("percent")
    share_text = "" if not isinstance(share, float) else f" ({abs(share):.0f}%)"
    direction = "less" if result.estimate >= 0 else "more"
    needed = result.extra.get("days_needed")
    if result.low is None and isinstance(needed, int) and needed > 0:
        return (
            f"{abs(result.estimate):.1f} points{share_text} {direction} pain; too early for "
            f"an interval ({needed} more days): unclear"
        )
    words = (
        f"{abs(result.estimate):.1f} points{share_text} {direction} pain, "
        f"{_interval(result)} (+ = less): {result.extra.get('class')}"
    )
    chance = result.extra.get("chance_important")
    if isinstance(chance, float):
        words += f"; {chance:.0%} chance important"
    beyond = result.extra.get("beyond_noise")
    if isinstance(beyond, bool):
        words += "; beyond noise (RCI)" if beyond else "; within noise (RCI)"
    if result.extra.get("regression_to_mean"):
        words += "; first week unusually bad (regression to the mean likely)"
    return words


def adherence(result: Result) -> str:
    """``85% (24 routine days)``."""
    if result.estimate is None:
        return not_yet(result)
    return f"{percent(result.estimate)} ({result.n} routine days)"


def trend(result: Result) -> str:
    """``-0.12 points per week (95% CI -0.20 to -0.04), 12 weeks: falling`` (the
    p of the same t test is in the sentence and the JSON)."""
    if result.estimate is None:
        return not_yet(result)
    direction = {"increasing": "rising", "decreasing": "falling"}.get(
        str(result.extra.get("direction")), "no clear change"
    )
    return (
        f"{signed(result.estimate, 2)} points per week ({_interval(result, 2)}), "
        f"{result.n} weeks: {direction}"
    )


def link(result: Result) -> str:
    """``-0.31 points (95% CI -0.52 to -0.10), 84 pairs``."""
    if result.estimate is None:
        return not_yet(result)
    return f"{signed(result.estimate, 2)} {result.unit} ({_interval(result, 2)}), n = {result.n}"


def streak(result: Result) -> str:
    """``5 full-routine days``."""
    days = int(result.estimate or 0)
    return f"{days} full-routine day{'' if days == 1 else 's'}"


HABIT_MEANING = (
    "how settled the routine is, 0 to 1 (Loop Habit Tracker's score): whole-routine days "
    "raise it (13 such days in a row take it from 0 to 0.5; partial days in part), missed "
    "or unlogged days lower it, rest and flare days do not count"
)
"""What :func:`backtrack.metrics.habit_strength` means, in the words a patient reads."""


def habit(result: Result) -> str:
    """``0.19 of 1``, or ``not yet`` with no days."""
    if result.estimate is None:
        return "not yet (no days logged)"
    return f"{result.estimate:.2f} of 1"


def days(result: Result) -> str:
    """``40 days logged``."""
    return f"{int(result.estimate or 0)} days logged"


def count(result: Result) -> str:
    """``3 day(s)``."""
    return f"{int(result.estimate or 0)} day(s)"


def completeness(result: Result) -> str:
    """``80 of 90 days (89%)``."""
    if result.estimate is None:
        return not_yet(result)
    return f"{result.extra.get('days')} of {result.n} days ({percent(result.estimate)})"


def measure_score(result: Result) -> str:
    """``4.3 /10 (2026-11-16; 9 answered)``: a function measure's latest score."""
    if result.estimate is None:
        return not_yet(result)
    return f"{points(result.estimate)} ({result.extra.get('date')}; {result.n} answered)"


def peg_change(result: Result) -> str:
    """``2.3 points better (6.0 → 3.7), 95% CI +0.8 to +3.8 (+ = better): important``."""
    if result.estimate is None:
        return not_yet(result)
    first = result.extra.get("first")
    way = "better" if result.estimate >= 0 else "worse"
    span = f" ({first:.1f} → {first - result.estimate:.1f})" if isinstance(first, float) else ""
    lead = f"{abs(result.estimate):.1f} points {way}{span}"
    needed = result.extra.get("weeks_needed")
    if result.low is None:
        more = f" ({needed} more weekly PEGs)" if isinstance(needed, int) and needed else ""
        return f"{lead}; too early for an interval{more}: unclear"
    return f"{lead}, {_interval(result)} (+ = better): {result.extra.get('class')}"


def psfs_change(result: Result) -> str:
    """``2.5 points better (4.0 → 6.5; ± 2 is within error): important; 1 activity …``."""
    if result.estimate is None:
        return not_yet(result)
    first = result.extra.get("first")
    way = "better" if result.estimate >= 0 else "worse"
    span = f" ({first:.1f} → {first + result.estimate:.1f})" if isinstance(first, float) else ""
    better, worse = result.extra.get("activities_better"), result.extra.get("activities_worse")
    return (
        f"{abs(result.estimate):.1f} points {way}{span}: {result.extra.get('class')}; "
        f"activities better by 3+: {better}, worse by 3+: {worse}"
    )


def _moved(name: str, change: object, fell: bool) -> str:
    """``your PEG fell 2.3 points`` (PEG: lower is better; PSFS: higher is better)."""
    if not isinstance(change, float):
        return ""
    if abs(change) < 0.05:
        return f"your {name} did not change"
    down = (change > 0) == fell
    return f"your {name} {'fell' if down else 'rose'} {abs(change):.1f} points"


def pgic(result: Result) -> str:
    """``you said 'Much improved' (2026-11-16); your PEG fell 2.3 points, your PSFS rose
    1.0 points``: the PGIC beside the changes it anchors."""
    if result.estimate is None:
        return not_yet(result)
    said = f"you said '{result.extra.get('words')}' ({result.extra.get('date')})"
    moved = [
        _moved("PEG", result.extra.get("peg_change"), fell=True),
        _moved("PSFS", result.extra.get("psfs_change"), fell=False),
    ]
    moved = [words for words in moved if words]
    return f"{said}; {', '.join(moved)}" if moved else said


def function_brief(peg: Result, psfs: Result, pgic: Result) -> list[str]:
    """The report's function block, one short line each: ``PEG 7.0 → 4.3: 2.7 points
    better (95% CI -0.5 to +5.8): unclear``, the same for the PSFS, then ``You said 'No
    change' (2026-11-13)``; what each still needs when it has no estimate."""
    lines = []
    for name, result, sign in (("PEG", peg, -1.0), ("PSFS", psfs, 1.0)):
        if result.estimate is None:
            lines.append(f"{name}: {not_yet(result)}")
            continue
        first = result.extra.get("first")
        span = ""
        if isinstance(first, float):
            span = f" {first:.1f} → {first + sign * result.estimate:.1f}"
        way = "better" if result.estimate >= 0 else "worse"
        line = f"{name}{span}: {abs(result.estimate):.1f} points {way}"
        if result.low is not None and result.high is not None:
            line += f" ({_interval(result)})"
        needed = result.extra.get("weeks_needed")
        if result.low is None and isinstance(needed, int) and needed:
            line += f", interval in {needed} more weeks"
        lines.append(f"{line}: {result.extra.get('class')}")
    if pgic.estimate is None:
        lines.append(f"Global impression: {not_yet(pgic)}")
    else:
        lines.append(f"You said '{pgic.extra.get('words')}' ({pgic.extra.get('date')})")
    return lines


GROUP_DEFINITIONS = {
    "Pain now": "Mean of the daily ratings (0-10 NRS) over the last 7 days with a save; one "
    "day alone is too noisy to compare.",
    "Change vs baseline": "Class as far as the interval supports it: important ≥ 2 points "
    "or 30% (Ostelo 2008), substantial ≥ 50% (IMMPACT); RCI: Jacobson-Truax.",
    "Adherence": "Dose credit: minutes done ÷ prescribed (capped at 100%), averaged over "
    "the exercises, on logged routine days; rest days left out, flare days apart, days "
    "not logged never counted as not done. 80% or more is high.",
    "Trend": "Slope of weekly mean pain, last 26 weeks at most (negative = falling); its "
    "interval and p allow for one week resembling the next.",
    "Flares, habit": "Flare: pain ≥ 2.7 points above the person's own 28-day median, or "
    f"marked. Habit strength: {HABIT_MEANING}.",
    "Function": "PEG (Krebs 2009): weekly, 0-10, lower = better; meaningful change 1 point "
    "(Reed 2023). PSFS (Stratford 1995): the patient's own activities, 0-10, higher = "
    "better; 2 points on the mean is beyond error. PGIC: the patient's own global "
    "impression, 1-7.",
}
"""The report's definition under each row of key numbers (one per group of units: the
units' own definitions, in the registry, are longer)."""


# ------------------------------------------------------------- pooled self-trials
# Effects are A − B in points (+ = less pain with B; backtrack.pooling); the words
# never show that sign, and never claim a direction or a size the interval does not.


def _pain_with_b(value: float) -> str:
    """``1.2 points lower`` / ``0.4 points higher`` / ``the same`` (A − B, + = lower)."""
    size = f"{abs(value):.1f}"
    if float(size) == 0:
        return "the same"
    return f"{size} points {'lower' if value > 0 else 'higher'}"


def _span(low: float, high: float) -> str:
    """An interval of A − B effects in words: ``from 0.4 points higher to 1.2 points
    lower``."""
    return f"from {_pain_with_b(low)} to {_pain_with_b(high)}"


def pooled_mean(mean: Result) -> str:
    """The pooled mean effect of B (``backtrack.pooling.PooledEffects.mean``): "B
    lowered pain by 0.8 points on average (95% CI 0.4 to 1.2 points; 40 patients)."
    when the whole interval is above 0, "raised" below 0, else no direction."""
    if mean.estimate is None or mean.low is None or mean.high is None:
        return f"Not pooled: {mean.why_null or 'no trials'}."
    patients = f"{mean.n} patients"
    if mean.low > 0 or mean.high < 0:
        verb = "lowered" if mean.low > 0 else "raised"
        ends = sorted((abs(mean.low), abs(mean.high)))
        return (
            f"B {verb} pain by {abs(mean.estimate):.1f} points on average (95% CI "
            f"{ends[0]:.1f} to {ends[1]:.1f} points; {patients})."
        )
    average = _pain_with_b(mean.estimate)
    average = "about the same as" if average == "the same" else f"{average} than"
    return (
        f"On average, pain with B was {average} with A, but "
        f"anywhere {_span(mean.low, mean.high)} fits the data (95% CI; {patients}): no "
        "clear difference on average."
    )


def between_patients(
    tau: Result, prediction_low: float | None, prediction_high: float | None
) -> str:
    """How much patients differ (τ, the SD of their true effects, with its interval) and
    where a new patient's true effect would lie (the 95% prediction interval)."""
    if tau.estimate is None or tau.low is None or tau.high is None:
        return f"How much patients differ: {not_yet(tau)}."
    words = (
        f"Patients' true effects of B differ by about {tau.estimate:.1f} points (SD; 95% "
        f"CI {tau.low:.1f} to {tau.high:.1f})"
    )
    words += (
        ": the data are consistent with every patient having the same effect."
        if tau.low == 0
        else "."
    )
    if prediction_low is None or prediction_high is None:
        return words + " Too few patients for a prediction for a new patient (needs 3)."
    return (
        f"{words} For a new patient, pain with B would be anywhere "
        f"{_span(prediction_low, prediction_high)} (95% prediction interval)."
    )


RESPONDER_WORDS = {
    "benefits": "B lowered pain",
    "harmed": "B raised pain",
    "no meaningful difference": "no meaningful difference",
    "inconclusive": "inconclusive",
}
"""The lead words of each responder label (``backtrack.pooling.responder_label``)."""


def responder(label: str, low: float | None, high: float | None, margin: float = 1.0) -> str:
    """A responder label with the interval it rests on (A − B points, + = lower with B):
    ``B lowered pain (by 0.2 to 1.9 points)``, ``no meaningful difference (within ±1
    point: from 0.4 points higher to 0.8 points lower)``, ``inconclusive (from 1.0
    points higher to 2.0 points lower)``."""
    lead = RESPONDER_WORDS[label]
    if low is None or high is None:
        return f"{lead} (no interval yet)"
    if label in ("benefits", "harmed"):
        ends = sorted((abs(low), abs(high)))
        return f"{lead} (by {ends[0]:.1f} to {ends[1]:.1f} points)"
    if label == "no meaningful difference":
        unit = "point" if margin == 1 else "points"
        return f"{lead} (within ±{margin:g} {unit}: {_span(low, high)})"
    return f"{lead} ({_span(low, high)})"


def chance_of_benefit(probability: float | None, margin: float = 1.0) -> str:
    """``64% chance that B lowers this patient's pain by 1 point or more``."""
    if probability is None or probability != probability:  # None or NaN
        return "chance of benefit: not yet"
    return (
        f"{probability:.0%} chance that B lowers this patient's pain by {margin:g} point or more"
    )


def moderator(result: Result, name: str, unit: str) -> str:
    """A meta-regression slope (``backtrack.pooling.meta_regression``) in words, with
    the multiple-comparisons note when more than one moderator was tried: "Per point
    more baseline pain, B lowered pain by 0.30 points more (95% CI +0.10 to +0.50, p =
    0.004); 3 moderators were tried: Bonferroni p = 0.012." (slope + = more benefit)."""
    if result.estimate is None or result.low is None or result.high is None:
        return f"Does the effect of B depend on {name}? Not tried: {result.why_null}."
    tried = result.extra.get("comparisons")
    slope = result.estimate
    direction = "more" if slope > 0 else "less"
    interval = _interval(result, 2)
    if result.low <= 0 <= result.high:
        words = (
            f"Per {unit} more {name}, B's effect changed by {signed(slope, 2)} points "
            f"({interval}, + = more benefit): consistent with no link"
        )
    else:
        words = (
            f"Per {unit} more {name}, B lowered pain by {abs(slope):.2f} points "
            f"{direction} ({interval}, + = more benefit)"
        )
    words += f" (p = {result.p:.2g})" if result.p is not None else ""
    if isinstance(tried, int) and tried > 1:
        adjusted = result.extra.get("p_bonferroni")
        shown = f"{adjusted:.2g}" if isinstance(adjusted, float) else "n/a"
        words += f"; {tried} moderators were tried: Bonferroni p = {shown}"
    return words + "."
