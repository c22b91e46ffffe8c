"""FHIR export: the bundle parses back with fhir.resources; codes, units, dates, identifiers."""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir_schema import r4_schema_errors

from backtrack.actions import load_log, log_day
from backtrack.cli import main
from backtrack.demo import write_demo
from backtrack.errors import FieldError
from backtrack.interop.fhir import EXERCISE_SYSTEM, fhir_bundle, observation_uuid, write_bundle
from backtrack.store import latest_per_date

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


@pytest.fixture
def small_log(log_path, routine, now):
    """Four days: a full day corrected later, a rest day, a flare day, an untimed squat;
    2026-11-17 is not logged."""
    day = now.date()
    log_day(log_path, routine=routine, now=now, day=day - timedelta(4), pain=6, done=routine.ids)
    log_day(log_path, routine=routine, now=now, day=day - timedelta(4), pain=5, done=routine.ids)
    log_day(
        log_path,
        routine=routine,
        now=now,
        day=day - timedelta(2),
        pain=None,
        day_type="rest",
        done={"hip_stretch": 1.5},
    )
    log_day(
        log_path,
        routine=routine,
        now=now,
        day=day - timedelta(1),
        pain=8,
        day_type="flare",
        done=["floor_relaxation"],
        where="lower_back;hips",
        note="lifted boxes",
    )
    log_day(log_path, routine=routine, now=now, day=day, pain=3, done={"wall_squat": None})
    return log_path


def _by_kind(bundle: Bundle) -> dict[tuple[str, str], object]:
    """(date, exercise id, 'performed:' + exercise id, or 'pain') -> Observation."""
    found = {}
    for entry in bundle.entry:
        resource = entry.resource
        if resource.code.coding[0].code == "72514-3":
            kind = "pain"
        elif resource.code.coding[0].code == "73985-4":
            kind = "performed:" + resource.valueCodeableConcept.coding[1].code
        else:
            kind = resource.component[0].valueCodeableConcept.coding[1].code
        found[(str(resource.effectiveDateTime), kind)] = resource
    return found


def _export(tmp_path, log_path, routine, name="bundle.json", **kwargs) -> Bundle:
    if "patient" not in kwargs and "patient_identifier" not in kwargs:
        kwargs["no_subject"] = True
    bundle = fhir_bundle(load_log(log_path, routine=routine), routine, **kwargs)
    path = write_bundle(bundle, tmp_path / name)
    text = Path(path).read_text(encoding="utf-8")
    assert r4_schema_errors(json.loads(text)) == []  # the second, independent validator
    return Bundle.model_validate_json(text)


def test_bundle_parses_back_as_a_conditional_transaction(tmp_path, small_log, routine):
    bundle = _export(tmp_path, small_log, routine, patient="Patient/42")
    assert bundle.type == "transaction"
    performed = len(routine.ids) + 1 + 1 + 1  # the full day, hip stretch, relaxation, squat
    assert len(bundle.entry) == 4 * (1 + len(routine.ids)) + performed
    for entry in bundle.entry:
        identifier = entry.resource.identifier[0]
        assert identifier.system == "urn:ietf:rfc:3986"
        assert identifier.value.startswith("urn:uuid:")
        assert entry.fullUrl == identifier.value
        assert entry.request.method == "PUT"
        assert entry.request.url == f"Observation?identifier=urn:ietf:rfc:3986|{identifier.value}"
        assert entry.resource.subject.reference == "Patient/42"
        assert entry.resource.id is None  # the server matches on the identifier
    values = [e.resource.identifier[0].value for e in bundle.entry]
    assert len(set(values)) == len(values)
    assert os.stat(tmp_path / "bundle.json").st_mode & 0o777 == 0o600


def test_pain_codes_units_dates_and_latest_save_only(tmp_path, small_log, routine, today):
    bundle = _export(tmp_path, small_log, routine)
    found = _by_kind(bundle)
    logged = {today - timedelta(n) for n in (4, 2, 1, 0)}
    assert {date.fromisoformat(d) for d, _ in found} == logged
    corrected = found[((today - timedelta(4)).isoformat(), "pain")]
    coding = corrected.code.coding[0]
    assert (coding.system, coding.code) == (LOINC, "72514-3")
    assert "0-10 verbal numeric rating" in coding.display
    quantity = corrected.valueQuantity
    assert (float(quantity.value), quantity.unit, quantity.system, quantity.code) == (
        5.0,
        "{score}",
        UCUM,
        "{score}",
    )
    assert corrected.status == "amended"  # two saves for that date: the latest (5) counts
    flare = found[((today - timedelta(1)).isoformat(), "pain")]
    assert flare.status == "final"
    assert float(flare.valueQuantity.value) == 8.0
    assert flare.bodySite.text == "lower back, hips"
    assert [n.text for n in flare.note] == ["Flare day (marked by the patient)."]
    rest = found[((today - timedelta(2)).isoformat(), "pain")]
    assert rest.valueQuantity is None
    assert rest.dataAbsentReason.coding[0].code == "unknown"


def test_exercise_observations(tmp_path, small_log, routine, today):
    found = _by_kind(_export(tmp_path, small_log, routine))
    doses = routine.doses()
    full_day = (today - timedelta(4)).isoformat()
    for exercise_id in routine.ids:
        observation = found[(full_day, exercise_id)]
        assert (observation.code.coding[0].system, observation.code.coding[0].code) == (
            LOINC,
            "55411-3",
        )
        component = observation.component[0]
        assert component.code.coding[0].code == "73985-4"
        snomed, own = component.valueCodeableConcept.coding
        assert (snomed.system, snomed.code) == ("http://snomed.info/sct", "229065009")
        assert (own.system, own.code) == (EXERCISE_SYSTEM, exercise_id)
        assert own.display == routine.get(exercise_id).name
        if doses[exercise_id] is None:
            assert observation.dataAbsentReason.coding[0].code == "unknown"
        else:
            quantity = observation.valueQuantity
            assert (quantity.unit, quantity.system, quantity.code) == ("min", UCUM, "min")
            assert float(quantity.value) == doses[exercise_id]
    rest_day = (today - timedelta(2)).isoformat()
    assert float(found[(rest_day, "hip_stretch")].valueQuantity.value) == 1.5
    rest_skipped = found[(rest_day, "floor_relaxation")]
    assert rest_skipped.valueQuantity is None
    assert rest_skipped.dataAbsentReason.coding[0].code == "not-applicable"
    flare_day = (today - timedelta(1)).isoformat()
    assert float(found[(flare_day, "hip_stretch")].valueQuantity.value) == 0  # logged, not done
    untimed = found[(today.isoformat(), "wall_squat")]
    assert untimed.valueQuantity is None and untimed.dataAbsentReason.coding[0].code == "unknown"


def test_identifiers_are_stable_across_exports_and_corrections(
    tmp_path, small_log, routine, now, today
):
    first = _export(tmp_path, small_log, routine, "one.json", patient="Patient/42")
    second = _export(tmp_path, small_log, routine, "two.json", patient="Patient/42")
    ids_first = [e.resource.identifier[0].value for e in first.entry]
    assert ids_first == [e.resource.identifier[0].value for e in second.entry]
    assert found_uuid(first, today, "pain") == str(
        observation_uuid("patient:Patient/42", today.isoformat(), "pain")
    )
    # a correction of today changes the value, not the identifier (a PUT updates it)
    log_day(small_log, routine=routine, now=now + timedelta(hours=1), day=today, pain=2)
    third = _export(tmp_path, small_log, routine, "three.json", patient="Patient/42")
    assert [e.resource.identifier[0].value for e in third.entry] == ids_first
    assert float(_by_kind(third)[(today.isoformat(), "pain")].valueQuantity.value) == 2.0
    other = _export(tmp_path, small_log, routine, "other.json", patient="Patient/43")
    assert not set(ids_first) & {e.resource.identifier[0].value for e in other.entry}
    anonymous = _export(tmp_path, small_log, routine, "anon.json")
    anonymous_ids = [e.resource.identifier[0].value for e in anonymous.entry]
    assert anonymous_ids == [
        e.resource.identifier[0].value
        for e in _export(tmp_path, small_log, routine, "anon2.json").entry
    ]
    assert not set(ids_first) & set(anonymous_ids)


def found_uuid(bundle: Bundle, day: date, kind: str) -> str:
    value = _by_kind(bundle)[(day.isoformat(), kind)].identifier[0].value
    return value.removeprefix("urn:uuid:")


def test_notes_only_when_asked(tmp_path, small_log, routine, today):
    flare_day = (today - timedelta(1)).isoformat()
    without = _by_kind(_export(tmp_path, small_log, routine, "a.json"))[(flare_day, "pain")]
    with_notes = _by_kind(_export(tmp_path, small_log, routine, "b.json", notes=True))[
        (flare_day, "pain")
    ]
    assert "lifted boxes" not in [n.text for n in without.note]
    assert "lifted boxes" in [n.text for n in with_notes.note]


def test_demo_log_matches_latest_per_date(tmp_path, routine):
    path = write_demo(tmp_path / "demo.csv", days=60, seed=3, end=date(2026, 3, 1))
    log = load_log(path, routine=routine)
    bundle = Bundle.model_validate_json(
        json.dumps(json.loads(fhir_bundle(log, routine, no_subject=True).model_dump_json()))
    )
    latest = latest_per_date(log.entries)
    pains = {
        str(e.resource.effectiveDateTime): e.resource.valueQuantity.value
        for e in bundle.entry
        if e.resource.code.coding[0].code == "72514-3"
    }
    expected = {
        d.date().isoformat(): p for d, p in zip(latest["date"], latest["pain"], strict=True)
    }
    assert {d: int(v) for d, v in pains.items()} == expected


def test_cli_export(tmp_path, small_log, capsys):
    out = tmp_path / "cli.json"
    code = main(
        ["export", "--fhir", "-o", str(out), "--csv", str(small_log), "--patient", "Patient/1"]
    )
    assert code == 0
    assert "transaction bundle" in capsys.readouterr().err
    assert Bundle.model_validate_json(out.read_text("utf-8")).type == "transaction"


def test_cli_export_refusals(tmp_path, small_log, capsys):
    out = tmp_path / "x.json"
    assert main(["export", "--fhir", "-o", str(out), "--csv", str(small_log), "--patient", "a b"])
    assert "patient: expected" in capsys.readouterr().err
    assert main(["export", "--fhir", "-o", str(out), "--csv", str(tmp_path / "none.csv")]) == 2
    assert "no log there yet" in capsys.readouterr().err
    assert not out.exists()


# ------------------------------------------------------------------ #15 items 9-12


def test_item9_a_subject_is_required(tmp_path, small_log, routine, capsys):
    log = load_log(small_log, routine=routine)
    with pytest.raises(FieldError, match="--no-subject"):
        fhir_bundle(log, routine)
    out = tmp_path / "x.json"
    assert main(["export", "--fhir", "-o", str(out), "--csv", str(small_log)]) == 2
    assert "--no-subject to export without one" in capsys.readouterr().err
    assert not out.exists()
    args = ["export", "--fhir", "-o", str(out), "--csv", str(small_log), "--no-subject"]
    assert main(args) == 0
    bundle = Bundle.model_validate_json(out.read_text("utf-8"))
    assert all(e.resource.subject is None for e in bundle.entry)
    assert main([*args, "--patient", "Patient/1"]) == 2  # both: say which
    assert "not both" in capsys.readouterr().err


def test_item10_one_patient_one_set_of_identifiers(tmp_path, small_log, routine):
    def ids(**kwargs):
        bundle = _export(tmp_path, small_log, routine, **kwargs)
        return [e.resource.identifier[0].value for e in bundle.entry]

    relative = ids(patient="Patient/1")
    assert ids(patient="https://clinic.example/fhir/Patient/1") == relative
    assert ids(patient="https://clinic.example/fhir/Patient/1/_history/3") == relative
    assert not set(ids(patient="Patient/2")) & set(relative)
    absolute = _export(
        tmp_path, small_log, routine, patient="https://clinic.example/fhir/Patient/1"
    )
    assert absolute.entry[0].resource.subject.reference == "https://clinic.example/fhir/Patient/1"
    by_mrn = _export(
        tmp_path, small_log, routine, patient_identifier="https://clinic.example/mrn|123"
    )
    subject = by_mrn.entry[0].resource.subject
    assert (subject.identifier.system, subject.identifier.value) == (
        "https://clinic.example/mrn",
        "123",
    )
    assert subject.reference is None
    assert by_mrn.entry[0].resource.performer[0].identifier.value == "123"
    mrn_ids = [e.resource.identifier[0].value for e in by_mrn.entry]
    assert not set(mrn_ids) & set(relative)
    both = ids(patient="Patient/1", patient_identifier="https://clinic.example/mrn|123")
    assert both == relative  # keyed on the reference whenever there is one
    log = load_log(small_log, routine=routine)
    for bad in ("P/1", "Patient/a b", "Patient/", "https://x/Patient/1/extra"):
        with pytest.raises(FieldError, match="patient"):
            fhir_bundle(log, routine, patient=bad)
    for bad in ("123", "|123", "https://x|", "a b|1"):
        with pytest.raises(FieldError, match="patient_identifier"):
            fhir_bundle(log, routine, patient_identifier=bad)


def test_item11_done_without_minutes_is_told_apart_from_unknown(
    tmp_path, small_log, routine, now, today
):
    found = _by_kind(_export(tmp_path, small_log, routine, patient="Patient/1"))
    untimed = found[(today.isoformat(), "wall_squat")]
    assert untimed.dataAbsentReason.coding[0].code == "unknown"  # the minutes are unknown
    performed = found[(today.isoformat(), "performed:wall_squat")]
    assert (performed.code.coding[0].system, performed.code.coding[0].code) == (LOINC, "73985-4")
    assert performed.valueCodeableConcept.coding[1].code == "wall_squat"
    assert performed.status == "final"
    assert performed.performer[0].reference == "Patient/1"
    assert (today.isoformat(), "performed:hip_stretch") not in found  # not done that day
    flare_day = (today - timedelta(1)).isoformat()
    assert (flare_day, "performed:floor_relaxation") in found
    assert (flare_day, "performed:hip_stretch") not in found
    # a correction that takes the squat back: the same Observation, now entered-in-error
    log_day(small_log, routine=routine, now=now + timedelta(hours=1), day=today, pain=3, done=[])
    corrected = _by_kind(_export(tmp_path, small_log, routine, "c.json", patient="Patient/1"))
    withdrawn = corrected[(today.isoformat(), "performed:wall_squat")]
    assert withdrawn.status == "entered-in-error"
    assert withdrawn.identifier[0].value == performed.identifier[0].value


def test_item12_the_second_validator_is_independent_and_can_fail(tmp_path, small_log, routine):
    bundle = json.loads(
        fhir_bundle(
            load_log(small_log, routine=routine), routine, patient="Patient/1"
        ).model_dump_json()
    )
    assert r4_schema_errors(bundle) == []
    broken = json.loads(json.dumps(bundle))
    broken["entry"][0]["resource"]["status"] = "done"
    broken["entry"][1]["resource"]["valueQuantity"]["value"] = "5"
    broken["entry"][2]["resource"]["subject"] = {"reference": 1}
    errors = r4_schema_errors(broken)
    assert any(e.startswith("entry/0/resource/status: 'done' is not one of") for e in errors)
    assert any(e.startswith("entry/1/resource/valueQuantity/value: '5'") for e in errors)
    assert any(e.startswith("entry/2/resource/subject/reference: 1 is not") for e in errors)
    broken["type"] = "transactions"
    assert any(
        "is not valid under any of the given schemas" in e for e in r4_schema_errors(broken)
    )
