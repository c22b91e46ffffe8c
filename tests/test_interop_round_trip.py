"""#15 round trip: a year of Loop Habit Tracker data, exported as Loop writes it, imported
with ``backtrack import-loop``, exported with ``backtrack export --fhir``, and checked by
the independent R4 JSON-schema validator and against the Loop data day by day."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir_schema import r4_schema_errors
from loop_writer import (
    NO,
    SKIP,
    YES_AUTO,
    YES_MANUAL,
    LoopHabit,
    computed_entries,
    write_loop_export,
)

from backtrack.cli import main
from backtrack.routine import default_routine

END = date(2026, 10, 31)
DAYS = 365
MAPPING = {
    "Relax": "floor_relaxation",
    "Hip stretch, both legs": "hip_stretch",  # a comma: the wide file is ambiguous
    "Wall 3x a week": "legs_up_wall",
}


def _year(seed: int = 7) -> list[LoopHabit]:
    rng = random.Random(seed)
    relax = LoopHabit("Relax")
    hips = LoopHabit("Hip stretch, both legs", numerical=True, unit="minutes")
    wall = LoopHabit("Wall 3x a week", numerator=3, denominator=7)
    yoga = LoopHabit("瑜伽")  # not mapped: folder '004'
    for n in range(DAYS):
        day = END - timedelta(n)
        roll = rng.random()
        if roll < 0.08:
            continue  # nothing entered that day
        relax.entries[day] = rng.choice([YES_MANUAL] * 6 + [NO, SKIP])
        if rng.random() < 0.7:
            kind = rng.random()
            hips.entries[day] = (
                0 if kind < 0.1 else SKIP if kind < 0.2 else rng.randrange(500, 4010, 10)
            )
        if rng.random() < 0.5:
            wall.entries[day] = rng.choice([YES_MANUAL, YES_MANUAL, NO])
        if rng.random() < 0.3:
            yoga.entries[day] = YES_MANUAL
        if rng.random() < 0.05:
            relax.notes[day] = rng.choice(['sore, "a bit"', "line one\nline two", "ok"])
    return [relax, hips, wall, yoga]


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("round_trip")
    habits = _year()
    export = write_loop_export(folder / "Loop Habits CSV 2026-10-31.zip", habits, today=END)
    log = folder / "backtrack.csv"
    args = ["import-loop", str(export), "--csv", str(log)]
    for name, exercise_id in MAPPING.items():
        args += ["--map", f"{name}={exercise_id}"]
    assert main(args) == 0
    bundle_path = folder / "bundle.json"
    export_args = ["export", "--fhir", "-o", str(bundle_path), "--csv", str(log)]
    assert main([*export_args, "--patient", "https://clinic.example/fhir/Patient/p-7"]) == 0
    return habits, json.loads(bundle_path.read_text("utf-8"))


def _expected(habits: list[LoopHabit]) -> dict[date, dict[str, object]]:
    """What each day should be, from Loop's computed entries by the table in docs/clinic.md."""
    routine = default_routine()
    doses = routine.doses()
    computed = {h.name: computed_entries(h) for h in habits if h.name in MAPPING}
    days: dict[date, dict[str, object]] = {}
    for day in sorted({d for values in computed.values() for d in values}):
        marks = {}
        for habit in habits:
            if habit.name not in MAPPING or day not in computed[habit.name]:
                continue
            value = computed[habit.name][day]
            if habit.numerical:
                kind = "no" if value == 0 else "skip" if value == SKIP else "yes"
            else:
                kind = {YES_MANUAL: "yes", NO: "no", SKIP: "skip", YES_AUTO: "auto"}.get(value)
            marks[MAPPING[habit.name]] = (kind, value / 1000 if habit.numerical else None)
        informative = {k: v for k, v in marks.items() if v[0] in ("yes", "no", "skip")}
        if not informative:
            continue
        done = {
            eid: (amount if amount is not None else doses[eid])
            for eid, (kind, amount) in informative.items()
            if kind == "yes"
        }
        rest = all(kind == "skip" for kind, _ in informative.values())
        days[day] = {"done": done, "rest": rest}
    return days


def test_the_bundle_passes_the_independent_r4_schema(round_trip):
    _, bundle = round_trip
    assert r4_schema_errors(bundle) == []
    parsed = Bundle.model_validate(bundle)
    values = [e.resource.identifier[0].value for e in parsed.entry]
    assert len(values) == len(set(values))
    assert {e.resource.subject.reference for e in parsed.entry} == {
        "https://clinic.example/fhir/Patient/p-7"
    }


def test_every_day_arrives_as_loop_recorded_it(round_trip):
    habits, bundle = round_trip
    expected = _expected(habits)
    assert len(expected) > 300  # a year, with some days never entered
    assert sum(w["rest"] for w in expected.values()) >= 3  # SKIP days, numeric ones included
    durations: dict[tuple[str, str], object] = {}
    performed: set[tuple[str, str]] = set()
    pain_days = set()
    for entry in bundle["entry"]:
        resource = entry["resource"]
        day = resource["effectiveDateTime"]
        code = resource["code"]["coding"][0]["code"]
        if code == "72514-3":
            pain_days.add(day)
            assert (
                resource["dataAbsentReason"]["coding"][0]["code"] == "unknown"
            )  # no pain in Loop
        elif code == "73985-4":
            performed.add((day, resource["valueCodeableConcept"]["coding"][1]["code"]))
        else:
            exercise_id = resource["component"][0]["valueCodeableConcept"]["coding"][1]["code"]
            durations[(day, exercise_id)] = resource
    assert pain_days == {d.isoformat() for d in expected}
    routine = default_routine()
    for day, want in expected.items():
        iso = day.isoformat()
        for exercise_id in routine.ids:
            observation = durations[(iso, exercise_id)]
            if exercise_id in want["done"]:
                assert observation["valueQuantity"]["value"] == pytest.approx(
                    want["done"][exercise_id]
                )
                assert (iso, exercise_id) in performed
            elif want["rest"]:
                assert observation["dataAbsentReason"]["coding"][0]["code"] == "not-applicable"
            else:
                assert observation["valueQuantity"]["value"] == 0
                assert (iso, exercise_id) not in performed
    assert len(performed) == sum(len(w["done"]) for w in expected.values())
