"""FHIR export: the log as a FHIR R4B ``transaction`` Bundle of Observations.

Per logged date (its latest save only, :func:`backtrack.store.latest_per_date`):

* **pain** — LOINC 72514-3 (0-10 verbal numeric rating, reported), ``valueQuantity`` in
  UCUM ``{score}``; not rated → no value, ``dataAbsentReason`` ``unknown``. Pain
  locations go to ``bodySite.text``; the day type (rest / flare) to ``note``.
* **one duration Observation per exercise** of the routine (plus any other id the day
  names) — LOINC 55411-3 exercise duration, ``valueQuantity`` in UCUM ``min``; a
  component LOINC 73985-4 exercise activity whose value is SNOMED CT 229065009 exercise
  therapy plus the exercise's own id (system :data:`EXERCISE_SYSTEM`) and name. Logged
  and not done → 0 min; done without minutes → ``dataAbsentReason`` ``unknown`` (the
  minutes are what is unknown); not done on a planned rest day → ``dataAbsentReason``
  ``not-applicable`` (a rest day is not a missed exercise). Days not logged have no
  Observations at all.
* **one "performed" Observation per exercise done** — following the HL7 Physical
  Activity IG's activity-type measure: code LOINC 73985-4 exercise activity,
  ``valueCodeableConcept`` the exercise; it says the exercise was done that day, with or
  without minutes, so "done, minutes not given" is told apart from "unknown". When a
  correction of the date takes the exercise back, the Observation is sent again with
  status ``entered-in-error``, so a server that has the earlier one updates it.
  ``docs/interop.md`` says where this export differs from the IG.

The function measures' answers (the PEG, PSFS, PGIC; ``measures``) go in too, as
Questionnaires, QuestionnaireResponses and the PEG score's Observation
(:mod:`.fhir_measures`).

Every Observation needs a subject: ``patient`` (a reference, ``Patient/123`` or an
absolute URL ending in one) and/or ``patient_identifier`` (``system|value``), or
``no_subject=True`` to say that none is meant.

Why a ``transaction`` with conditional ``PUT Observation?identifier=…``: a ``collection``
is only a document (a server stores it as one Bundle), while a transaction writes each
Observation, and a conditional update keyed on a stable identifier makes re-sending a
later export idempotent: a corrected day updates its Observation instead of adding a
second one. Identifiers are UUIDv5 of (subject key, date, kind). The subject key is the
reference normalised to ``Type/id`` (so ``Patient/1``,
``https://clinic.example/fhir/Patient/1`` and ``…/Patient/1/_history/2`` are one
patient), else the identifier ``system|value``; with no subject, the log's first
``recorded_at`` stands in, so two logs never collide on a server. R4B rather than R5:
clinic systems speak R4 today, and R4B's Observation and Bundle are wire-compatible
with R4 (the tests validate against the official R4 JSON schema too). Nothing here
touches the network.
"""

from __future__ import annotations

import os
import re
import sys
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, cast

import pandas as pd
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation

from .._files import JSON, Kept, write_private
from ..errors import FieldError
from ..measures import Answers
from ..measures_file import StoredAnswers
from ..routine import Routine
from ..schema import parse_exercises
from ..store import LogData, latest_per_date
from .fhir_measures import measure_resources

if TYPE_CHECKING:
    from pandas.api.typing import NAType

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


_REFERENCE = re.compile(
    r"(?:(?P<base>https?://[^\s/]+(?:/[^\s]*?)?)/)?"
    r"(?P<type>Patient|Group|Device|Location)/(?P<id>[A-Za-z0-9\-.]{1,64})"
    r"(?:/_history/[A-Za-z0-9\-.]{1,64})?\Z"
)


@dataclass(frozen=True)
class Subject:
    """Whom the Observations are about: a ``reference`` as given, its normalised
    ``Type/id`` form, and/or a business ``identifier`` (system, value)."""

    reference: str | None = None
    normalised: str | None = None
    identifier: tuple[str, str] | None = None

    @property
    def key(self) -> str | None:
        """The part of every Observation identifier that names the subject."""
        if self.normalised is not None:
            return f"patient:{self.normalised}"
        if self.identifier is not None:
            return f"identifier:{self.identifier[0]}|{self.identifier[1]}"
        return None

    def fhir(self) -> dict[str, Any]:
        subject: dict[str, Any] = {}
        if self.reference is not None:
            subject["reference"] = self.reference
        if self.identifier is not None:
            subject["identifier"] = {"system": self.identifier[0], "value": self.identifier[1]}
        return subject


def parse_subject(
    patient: str | None = None,
    patient_identifier: str | None = None,
    *,
    no_subject: bool = False,
) -> Subject:
    """Check and normalise the subject (see the module docstring); a
    :class:`FieldError` for a bad one, for none without ``no_subject``, or for both."""
    if no_subject:
        if patient is not None or patient_identifier is not None:
            raise FieldError("patient", "a subject or no_subject, not both", patient)
        return Subject()
    if patient is None and patient_identifier is None:
        raise FieldError(
            "patient",
            "a subject for the Observations (--patient Patient/ID, or --patient-identifier "
            "SYSTEM|VALUE), or --no-subject to export without one",
            None,
        )
    reference = normalised = None
    if patient is not None:
        match = _REFERENCE.match(patient) if isinstance(patient, str) else None
        if match is None:
            raise FieldError(
                "patient",
                "a FHIR reference such as Patient/123 or https://clinic.example/fhir/Patient/123 "
                "(id: letters, digits, '-' and '.', at most 64)",
                patient,
            )
        reference = patient.split("/_history/")[0]
        normalised = f"{match.group('type')}/{match.group('id')}"
    identifier = None
    if patient_identifier is not None:
        system, bar, value = str(patient_identifier).partition("|")
        if not bar or not re.fullmatch(r"\S+", system) or not value.strip() or "|" in value:
            raise FieldError(
                "patient_identifier",
                "SYSTEM|VALUE, e.g. https://clinic.example/mrn|12345",
                patient_identifier,
            )
        identifier = (system, value.strip())
    return Subject(reference, normalised, identifier)


def _subject_key(entries: pd.DataFrame, subject: Subject, measures: Sequence[Answers] = ()) -> str:
    if subject.key is not None:
        return subject.key
    if entries.empty:  # answers without a daily log: their first date stands in
        return f"measures:{min(a.date for a in measures).isoformat()}"
    first = entries.sort_values("line", kind="stable")["recorded_at"].iloc[0]
    return f"log:{first.isoformat()}"


class _Day(Protocol):
    """A row of :func:`latest_per_date` as ``itertuples`` gives it: the entries' columns
    (:class:`LogData`) with their types."""

    date: pd.Timestamp
    recorded_at: pd.Timestamp
    pain: int | NAType  # NA: not rated
    exercises: str
    day: str
    where: str
    note: str


def observations(
    entries: pd.DataFrame,
    routine: Routine,
    *,
    subject: Subject,
    notes: bool = False,
) -> list[dict[str, Any]]:
    """The Observations (as FHIR JSON dicts) for every logged date, oldest first.

    ``entries`` is :attr:`LogData.entries`; ``subject`` from :func:`parse_subject`;
    ``notes`` copies each day's free-text note into the pain Observation (off by
    default: notes can be private).
    """
    if entries.empty:
        return []
    subject_key = _subject_key(entries, subject)
    saves = entries.groupby("date").size()
    ever_done: dict[object, set[str]] = {}
    for day_key, text in zip(entries["date"], entries["exercises"], strict=True):
        ever_done.setdefault(day_key, set()).update(parse_exercises(text or ""))
    names = {e.id: e.name for e in routine.exercises}
    result = []
    # pandas-stubs types each field of an itertuples row as any scalar; _Day says which
    days = cast("Iterable[_Day]", latest_per_date(entries).itertuples(index=False))
    for row in days:
        day = row.date.date().isoformat()
        status = "amended" if saves[row.date] > 1 else "final"
        common: dict[str, Any] = {"status": status, "effectiveDateTime": day}
        common["issued"] = row.recorded_at.isoformat()
        if subject.key is not None:
            common["subject"] = subject.fhir()
            common["performer"] = [subject.fhir()]  # the patient logged it themself
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
                exercise["note"] = [
                    {"text": "Done (see its exercise activity); minutes not recorded."}
                ]
            else:
                exercise["valueQuantity"] = _quantity(done.get(exercise_id) or 0.0, "min")
            if day_note:
                exercise.setdefault("note", []).append({"text": day_note})
            result.append(_identified(exercise, subject_key, day, f"exercise:{exercise_id}"))
            if exercise_id in done or exercise_id in ever_done.get(row.date, ()):
                performed: dict[str, Any] = {
                    "resourceType": "Observation",
                    "identifier": [{"system": URI_SYSTEM, "value": ""}],
                    **common,
                    "category": _category("activity", "Activity"),
                    "code": {"coding": [ACTIVITY_CODE], "text": f"Exercise performed: {name}"},
                    "valueCodeableConcept": activity,
                }
                if exercise_id not in done:  # an earlier save said done; a correction did not
                    performed["status"] = "entered-in-error"
                kind = f"performed:{exercise_id}"
                result.append(_identified(performed, subject_key, day, kind))
    return result


def _identified(resource: dict[str, Any], subject_key: str, day: str, kind: str) -> dict[str, Any]:
    resource["identifier"][0]["value"] = f"urn:uuid:{observation_uuid(subject_key, day, kind)}"
    return resource


def fhir_bundle(
    log: LogData,
    routine: Routine,
    *,
    patient: str | None = None,
    patient_identifier: str | None = None,
    no_subject: bool = False,
    timestamp: datetime | None = None,
    notes: bool = False,
    measures: Sequence[Answers] = (),
    measures_history: Sequence[StoredAnswers] = (),
) -> Bundle:
    """A validated R4B ``transaction`` Bundle: one conditional ``PUT`` per Observation
    (see the module docstring). A subject is required: ``patient`` (reference) and/or
    ``patient_identifier`` (``system|value``), or ``no_subject=True``. ``timestamp``
    (with UTC offset) is the Bundle's ``timestamp``; omitted when None so that output
    is reproducible. ``measures``: the function measures' current answers
    (:func:`backtrack.measures_file.current_answers`), sent as :mod:`.fhir_measures`
    says; ``measures_history``: the measures file's rows (answers since withdrawn or
    corrected are then sent as such)."""
    subject = parse_subject(patient, patient_identifier, no_subject=no_subject)
    entries = []
    for resource in observations(log.entries, routine, subject=subject, notes=notes):
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
    if measures or measures_history:
        key = _subject_key(
            log.entries, subject, [*measures, *(r.answers for r in measures_history)]
        )

        def identify(day: str, kind: str) -> str:
            return f"urn:uuid:{observation_uuid(key, day, kind)}"

        found = measure_resources(
            measures,
            subject=subject.fhir() if subject.key else None,
            identify=identify,
            history=measures_history,
        )
        entries += [
            {"fullUrl": full, "resource": resource, "request": {"method": "PUT", "url": url}}
            for resource, full, url in found
        ]
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


def write_bundle(
    bundle: Bundle,
    output: str | os.PathLike[str],
    *,
    force: bool = False,
    keep: Kept | None = None,
) -> str:
    """Write the Bundle as JSON to ``output`` (``-``: standard output).

    A file is written whole (temporary file, fsync, rename) and readable by the owner
    only (0600): it holds health data. ``keep`` is never replaced, an existing file that
    is not JSON only with ``force`` (:func:`backtrack._files.check_output`). Returns
    where it went.
    """
    text = bundle_json(bundle)
    if str(output) == "-":
        sys.stdout.write(text)
        return "<stdout>"
    return str(
        write_private(output, text.encode("utf-8"), kind=JSON, force=force, keep=keep or {})
    )


def count_by_code(bundle: Bundle) -> dict[str, int]:
    """How many Observations of each LOINC code the Bundle holds, and how many of each
    other resource type (keyed by the type's name, e.g. ``QuestionnaireResponse``)."""
    counts: dict[str, int] = {}
    for entry in bundle.entry or []:
        resource = entry.resource
        if not isinstance(resource, Observation):
            kind = type(resource).__name__
            counts[kind] = counts.get(kind, 0) + 1
            continue
        coding = resource.code.coding if isinstance(resource, Observation) else None
        code = coding[0].code if coding else None
        if code is None:  # not a bundle fhir_bundle made
            found = type(resource).__name__
            raise FieldError("bundle", "Observations with a LOINC code (fhir_bundle)", found)
        counts[code] = counts.get(code, 0) + 1
    return counts
