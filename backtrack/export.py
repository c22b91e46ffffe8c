"""FHIR export: the log as a FHIR R4B ``transaction`` Bundle of Observations.

Per logged date (its latest save only, :func:`backtrack.store.latest_per_date`):

* **pain** — LOINC 72514-3 (0-10 verbal numeric rating, reported), ``valueQuantity`` in
  UCUM ``{score}``; not rated → no value, ``dataAbsentReason`` ``unknown``. Pain
  locations go to ``bodySite.text``; the day type (rest / flare) to ``note``.
* **one Observation per exercise** of the routine (plus any other id the day names) —
  LOINC 55411-3 exercise duration, ``valueQuantity`` in UCUM ``min``; a component
  LOINC 73985-4 exercise activity whose value is SNOMED CT 229065009 exercise therapy
  plus the exercise's own id (system :data:`EXERCISE_SYSTEM`) and name. Logged and not
  done → 0 min; done without minutes → ``dataAbsentReason`` ``unknown``; not done on a
  planned rest day → ``dataAbsentReason`` ``not-applicable`` (a rest day is not a
  missed exercise). Days not logged have no Observations at all.

Why a ``transaction`` with conditional ``PUT Observation?identifier=…``: a ``collection``
is only a document (a server stores it as one Bundle), while a transaction writes each
Observation, and a conditional update keyed on a stable identifier makes re-sending a
later export idempotent: a corrected day updates its Observation instead of adding a
second one. Identifiers are UUIDv5 of (patient, date, kind), so two exports of the same
log name the same Observations. Without a patient reference the log's first
``recorded_at`` stands in for the patient in that key, so two patients' exports never
collide on a server. R4B rather than R5: clinic systems speak R4 today, and R4B's
Observation and Bundle are wire-compatible with R4. Nothing here touches the network.
"""

from __future__ import annotations

import os
import sys
import uuid
from datetime import datetime
from typing import Any

import pandas as pd
from fhir.resources.R4B.bundle import Bundle

from .errors import FieldError
from .files import write_private
from .routine import Routine
from .schema import parse_exercises
from .store import LogData, latest_per_date

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
URI_SYSTEM = "urn:ietf:rfc:3986"
"""Identifier system for an identifier that is itself a URI (here ``urn:uuid:…``)."""
EXERCISE_SYSTEM = "urn:backtrack:exercise"
"""Code system of the routine's exercise ids (``floor_relaxation``, …)."""
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:backtrack:fhir-export:v1")

PAIN_CODE = {
    "system": LOINC,
    "code": "72514-3",
    "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
}
DURATION_CODE = {"system": LOINC, "code": "55411-3", "display": "Exercise duration"}
ACTIVITY_CODE = {"system": LOINC, "code": "73985-4", "display": "Exercise activity"}
THERAPY_CODE = {"system": SNOMED, "code": "229065009", "display": "Exercise therapy"}
DAY_NOTES = {"rest": "Planned rest day.", "flare": "Flare day (marked by the patient)."}


def observation_uuid(subject_key: str, day: str, kind: str) -> uuid.UUID:
    """The stable id of one Observation: UUIDv5 of ``subject_key|YYYY-MM-DD|kind``."""
    return uuid.uuid5(NAMESPACE, f"{subject_key}|{day}|{kind}")


def _category(code: str, display: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": OBSERVATION_CATEGORY, "code": code, "display": display}]}]


def _absent(code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": DATA_ABSENT, "code": code, "display": display}]}


def _quantity(value: float, unit: str) -> dict[str, Any]:
    number: float | int = int(value) if float(value).is_integer() else float(value)
    return {"value": number, "unit": unit, "system": UCUM, "code": unit}


def _subject_key(entries: pd.DataFrame, patient: str | None) -> str:
    if patient is not None:
        return f"patient:{patient}"
    first = entries.sort_values("line", kind="stable")["recorded_at"].iloc[0]
    return f"log:{first.isoformat()}"


def _check_patient(patient: str | None) -> str | None:
    if patient is None:
        return None
    if not isinstance(patient, str) or not patient.strip() or any(c.isspace() for c in patient):
        raise FieldError("patient", "a FHIR reference such as Patient/123 (no spaces)", patient)
    return patient


def observations(
    entries: pd.DataFrame,
    routine: Routine,
    *,
    patient: str | None = None,
    notes: bool = False,
) -> list[dict[str, Any]]:
    """The Observations (as FHIR JSON dicts) for every logged date, oldest first.

    ``entries`` is :attr:`LogData.entries`; ``patient`` a reference such as
    ``Patient/123``; ``notes`` copies each day's free-text note into the pain
    Observation (off by default: notes can be private).
    """
    patient = _check_patient(patient)
    if entries.empty:
        return []
    subject_key = _subject_key(entries, patient)
    saves = entries.groupby("date").size()
    names = {e.id: e.name for e in routine.exercises}
    result = []
    for row in latest_per_date(entries).itertuples(index=False):
        day = row.date.date().isoformat()
        status = "amended" if saves[row.date] > 1 else "final"
        common: dict[str, Any] = {"status": status, "effectiveDateTime": day}
        common["issued"] = row.recorded_at.isoformat()
        if patient is not None:
            common["subject"] = {"reference": patient}
        day_note = DAY_NOTES.get(row.day, "")

        pain: dict[str, Any] = {
            "resourceType": "Observation",
            "identifier": [{"system": URI_SYSTEM, "value": ""}],
            **common,
            "category": _category("survey", "Survey"),
            "code": {"coding": [PAIN_CODE], "text": "Pain, 0-10 numeric rating scale"},
        }
        if pd.isna(row.pain):
            pain["dataAbsentReason"] = _absent("unknown", "Unknown")
        else:
            pain["valueQuantity"] = _quantity(int(row.pain), "{score}")
        if row.where:
            pain["bodySite"] = {"text": row.where.replace(";", ", ").replace("_", " ")}
        texts = [day_note] if day_note else []
        if notes and row.note:
            texts.append(row.note)
        if texts:
            pain["note"] = [{"text": text} for text in texts]
        result.append(_identified(pain, subject_key, day, "pain"))

        done = parse_exercises(row.exercises)
        for exercise_id in dict.fromkeys([*routine.ids, *done]):
            name = names.get(exercise_id, exercise_id)
            activity = {
                "coding": [
                    THERAPY_CODE,
                    {"system": EXERCISE_SYSTEM, "code": exercise_id, "display": name},
                ],
                "text": name,
            }
            exercise: dict[str, Any] = {
                "resourceType": "Observation",
                "identifier": [{"system": URI_SYSTEM, "value": ""}],
                **common,
                "category": _category("activity", "Activity"),
                "code": {"coding": [DURATION_CODE], "text": f"Exercise duration: {name}"},
                "component": [
                    {"code": {"coding": [ACTIVITY_CODE]}, "valueCodeableConcept": activity}
                ],
            }
            if exercise_id not in done and row.day == "rest":
                exercise["dataAbsentReason"] = _absent("not-applicable", "Not Applicable")
            elif exercise_id in done and done[exercise_id] is None:
                exercise["dataAbsentReason"] = _absent("unknown", "Unknown")
                exercise["note"] = [{"text": "Done; minutes not recorded."}]
            else:
                exercise["valueQuantity"] = _quantity(done.get(exercise_id) or 0.0, "min")
            if day_note:
                exercise.setdefault("note", []).append({"text": day_note})
            result.append(_identified(exercise, subject_key, day, f"exercise:{exercise_id}"))
    return result


def _identified(resource: dict[str, Any], subject_key: str, day: str, kind: str) -> dict:
    resource["identifier"][0]["value"] = f"urn:uuid:{observation_uuid(subject_key, day, kind)}"
    return resource


def fhir_bundle(
    log: LogData,
    routine: Routine,
    *,
    patient: str | None = None,
    timestamp: datetime | None = None,
    notes: bool = False,
) -> Bundle:
    """A validated R4B ``transaction`` Bundle: one conditional ``PUT`` per Observation
    (see the module docstring). ``timestamp`` (with UTC offset) is the Bundle's
    ``timestamp``; omitted when None so that output is reproducible."""
    entries = []
    for resource in observations(log.entries, routine, patient=patient, notes=notes):
        identifier = resource["identifier"][0]
        entries.append(
            {
                "fullUrl": identifier["value"],
                "resource": resource,
                "request": {
                    "method": "PUT",
                    "url": f"Observation?identifier={identifier['system']}|{identifier['value']}",
                },
            }
        )
    document: dict[str, Any] = {"resourceType": "Bundle", "type": "transaction"}
    if timestamp is not None:
        if timestamp.tzinfo is None:
            raise FieldError("timestamp", "a date-time with UTC offset", timestamp.isoformat())
        document["timestamp"] = timestamp.isoformat()
    if entries:
        document["entry"] = entries
    return Bundle.model_validate(document)


def bundle_json(bundle: Bundle) -> str:
    """The Bundle as FHIR JSON text (indented, ending in a newline)."""
    return bundle.model_dump_json(indent=2) + "\n"


def write_bundle(bundle: Bundle, output: str | os.PathLike[str]) -> str:
    """Write the Bundle as JSON to ``output`` (``-``: standard output).

    A file is written whole (temporary file, fsync, rename) and readable by the owner
    only (0600): it holds health data. Returns where it went.
    """
    text = bundle_json(bundle)
    if str(output) == "-":
        sys.stdout.write(text)
        return "<stdout>"
    return str(write_private(output, text.encode("utf-8")))


def count_by_code(bundle: Bundle) -> dict[str, int]:
    """How many Observations of each LOINC code the Bundle holds."""
    counts: dict[str, int] = {}
    for entry in bundle.entry or []:
        code = entry.resource.code.coding[0].code
        counts[code] = counts.get(code, 0) + 1
    return counts
