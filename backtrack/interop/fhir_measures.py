"""FHIR resources for the function measures: Questionnaires, QuestionnaireResponses and
the PEG score Observation (added to the export's Bundle by :func:`.fhir.fhir_bundle`).

* **PEG**: a ``Questionnaire`` coded LOINC 91148-7 (the PEG panel), its three integer
  items coded with the PEG's LOINC item codes (:data:`PEG_ITEM_CODES`: 75893-8 average
  pain, 91145-3 interference with enjoyment of life, 91146-1 with general activity),
  0-10 with the source's anchors; one ``QuestionnaireResponse`` per answered PEG (its
  date's current answers), and an ``Observation`` of its score, LOINC 91147-9 (the PEG
  mean score), ``valueQuantity`` in UCUM ``{score}``, ``derivedFrom`` the response. A
  PEG with an item not answered has no score (:func:`backtrack.measures.peg_score`):
  its response lists what was answered and no score Observation is sent.
* **PSFS**: a ``Questionnaire`` with a repeating ``activity`` group (the activity in
  the patient's words, its rating 0-10): no LOINC code (none found for the PSFS); one
  response per answered date, one group per activity.
* **PGIC**: a ``Questionnaire`` with one ``choice`` item, its seven answers coded 1-7
  (:data:`PGIC_SYSTEM`, numbered as published); one response per answer.

With the file's ``history`` (its valid rows), a server that holds an earlier export is
kept right: a response whose date and measure were saved more than once is ``amended``;
answers withdrawn since (``--void-measure``) are sent again as ``entered-in-error``
(their last answers), and so is a PEG score a correction took away (an item no longer
answered).

Where the codes come from is in ``docs/interop.md``. Pure functions: nothing is read or
written here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from ..measures import (
    PEG,
    PEG_ITEMS,
    PGIC,
    PGIC_CATEGORIES,
    PGIC_QUESTION,
    PSFS,
    PSFS_SCALE,
    Answers,
    Item,
    peg_score,
)
from ..measures_file import ANSWERED, StoredAnswers

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SURVEY = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "survey",
            "display": "Survey",
        }
    ]
}
PEG_PANEL = {
    "system": LOINC,
    "code": "91148-7",
    "display": "Pain intensity, Enjoyment of life, General activity scale [PEG]",
}
PEG_SCORE = {"system": LOINC, "code": "91147-9", "display": "Mean score [PEG]"}
PEG_ITEM_CODES = {"pain": "75893-8", "enjoyment": "91145-3", "activity": "91146-1"}
"""The LOINC code of each PEG item (:data:`backtrack.measures.PEG_ITEMS` keys)."""
PGIC_SYSTEM = "urn:backtrack:pgic"
"""The PGIC's seven answers, codes 1-7 (1 very much improved … 7 very much worse)."""
QUESTIONNAIRE_VERSION = "1"
QUESTIONNAIRES = {m: f"urn:backtrack:questionnaire:{m}" for m in (PEG, PSFS, PGIC)}
"""Each measure's Questionnaire ``url`` (its canonical; responses name it with
``|`` :data:`QUESTIONNAIRE_VERSION`)."""
MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"

Identify = Callable[[str, str], str]
"""(date YYYY-MM-DD, kind) → the stable ``urn:uuid:…`` of one resource."""


def _points(link: str, text: str, item: Item, code: dict[str, str] | None) -> dict[str, Any]:
    question: dict[str, Any] = {"linkId": link, "text": text, "type": "integer"}
    if code is not None:
        question["code"] = [code]
    question["extension"] = [
        {"url": MIN_VALUE, "valueInteger": item.low},
        {"url": MAX_VALUE, "valueInteger": item.high},
    ]
    question["item"] = [
        {
            "linkId": f"{link}.anchors",
            "type": "display",
            "text": f"{item.low} = {item.low_anchor}; {item.high} = {item.high_anchor}",
        }
    ]
    return question


def _peg_item_code(item: Item) -> dict[str, str]:
    return {"system": LOINC, "code": PEG_ITEM_CODES[item.key], "display": item.text}


def questionnaire(measure: str) -> dict[str, Any]:
    """The Questionnaire of ``measure`` (``peg``, ``psfs`` or ``pgic``) as FHIR JSON."""
    common: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "url": QUESTIONNAIRES[measure],
        "version": QUESTIONNAIRE_VERSION,
        "status": "active",
        "subjectType": ["Patient"],
    }
    if measure == PEG:
        items = [
            {**_points(PEG_ITEM_CODES[i.key], i.text, i, _peg_item_code(i)), "required": True}
            for i in PEG_ITEMS
        ]
        return {
            **common,
            "name": "PEG",
            "title": "PEG: pain, enjoyment of life, general activity (Krebs et al. 2009)",
            "code": [PEG_PANEL],
            "item": items,
        }
    if measure == PSFS:
        activity = {
            "linkId": "activity",
            "type": "group",
            "repeats": True,
            "text": "An activity the patient finds hard, in their own words, and its rating",
            "item": [
                {"linkId": "activity.name", "type": "string", "text": "Activity"},
                _points("activity.rating", PSFS_SCALE.text, PSFS_SCALE, None),
            ],
        }
        return {
            **common,
            "name": "PSFS",
            "title": "Patient-Specific Functional Scale (Stratford et al. 1995)",
            "item": [activity],
        }
    options = [
        {"valueCoding": {"system": PGIC_SYSTEM, "code": str(n), "display": text}}
        for n, text in enumerate(PGIC_CATEGORIES, start=1)
    ]
    return {
        **common,
        "name": "PGIC",
        "title": "Patient global impression of change",
        "item": [
            {"linkId": "pgic", "type": "choice", "text": PGIC_QUESTION, "answerOption": options}
        ],
    }


def _answered(link: str, text: str, answer: dict[str, Any]) -> dict[str, Any]:
    return {"linkId": link, "text": text, "answer": [answer]}


def response_items(answers: Answers) -> list[dict[str, Any]]:
    """The QuestionnaireResponse items of one answer set (answered items only)."""
    if answers.measure == PEG:
        return [
            _answered(PEG_ITEM_CODES[item.key], item.text, {"valueInteger": value})
            for item, value in zip(PEG_ITEMS, answers.values, strict=True)
            if value is not None
        ]
    if answers.measure == PSFS:
        groups = []
        for name, rating in zip(answers.activities, answers.values, strict=True):
            inner = [_answered("activity.name", "Activity", {"valueString": name})]
            if rating is not None:
                inner.append(
                    _answered("activity.rating", PSFS_SCALE.text, {"valueInteger": rating})
                )
            groups.append({"linkId": "activity", "item": inner})
        return groups
    value = answers.values[0]
    if value is None:
        return []
    coding = {"system": PGIC_SYSTEM, "code": str(value), "display": PGIC_CATEGORIES[value - 1]}
    return [_answered("pgic", PGIC_QUESTION, {"valueCoding": coding})]


def _earlier(
    history: Sequence[StoredAnswers],
) -> dict[tuple[date, str], list[Answers]]:
    """Each date and measure's answered sets, in the order they count (saved at, line)."""
    found: dict[tuple[date, str], list[Answers]] = {}
    for row in sorted(history, key=lambda r: (r.recorded_at, r.line)):
        if row.status == ANSWERED:
            key = (row.answers.date, row.answers.measure)
            found.setdefault(key, []).append(row.answers)
    return found


def measure_resources(
    sets: Sequence[Answers],
    *,
    subject: dict[str, Any] | None,
    identify: Identify,
    history: Sequence[StoredAnswers] = (),
) -> list[tuple[dict[str, Any], str, str]]:
    """Every resource for the answer sets (each date and measure's current answers):
    (resource, its fullUrl, its conditional ``PUT`` URL), the Questionnaires first.
    ``subject``: the subject reference (None: none meant); ``identify`` names each;
    ``history``: the measures file's rows (see the module docstring)."""
    earlier = _earlier(history)
    current = {(a.date, a.measure) for a in sets}
    withdrawn = [saved[-1] for key, saved in earlier.items() if key not in current]
    status = {
        **{(a.date, a.measure): "entered-in-error" for a in withdrawn},
        **{key: "amended" for key, saved in earlier.items() if key in current and len(saved) > 1},
    }
    scored_before = {
        key
        for key, saved in earlier.items()
        if key[1] == PEG and any(peg_score(a.values)[0] is not None for a in saved)
    }
    everything = sorted([*sets, *withdrawn], key=lambda a: (a.date, a.measure))
    found: list[tuple[dict[str, Any], str, str]] = []
    for measure in dict.fromkeys(a.measure for a in everything):
        url = QUESTIONNAIRES[measure]
        full = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{url}|{QUESTIONNAIRE_VERSION}')}"
        found.append((questionnaire(measure), full, f"Questionnaire?url={url}"))
    for answers in everything:
        key = (answers.date, answers.measure)
        day = answers.date.isoformat()
        items = response_items(answers)
        if not items:
            continue
        response_id = identify(day, f"{answers.measure}:response")
        response: dict[str, Any] = {
            "resourceType": "QuestionnaireResponse",
            "identifier": {"system": "urn:ietf:rfc:3986", "value": response_id},
            "questionnaire": f"{QUESTIONNAIRES[answers.measure]}|{QUESTIONNAIRE_VERSION}",
            "status": status.get(key, "completed"),
            "authored": day,
            "item": items,
        }
        if subject is not None:
            response["subject"] = subject
            response["author"] = subject  # the patient answered themself
            response["source"] = subject
        query = f"QuestionnaireResponse?identifier=urn:ietf:rfc:3986|{response_id}"
        found.append((response, response_id, query))
        value, _ = peg_score(answers.values) if answers.measure == PEG else (None, "")
        score_status = "entered-in-error" if key not in current else "final"
        if value is None and key in scored_before:  # a correction took the score away
            value = next(
                v for a in reversed(earlier[key]) if (v := peg_score(a.values)[0]) is not None
            )
            score_status = "entered-in-error"
        elif key in status and key in current:
            score_status = "amended"
        if value is None:
            continue
        score_id = identify(day, "peg:score")
        number: float | int = int(value) if float(value).is_integer() else round(value, 4)
        observation: dict[str, Any] = {
            "resourceType": "Observation",
            "identifier": [{"system": "urn:ietf:rfc:3986", "value": score_id}],
            "status": score_status,
            "category": [SURVEY],
            "code": {"coding": [PEG_SCORE], "text": "PEG score (mean of its 3 items, 0-10)"},
            "effectiveDateTime": day,
            "valueQuantity": {
                "value": number,
                "unit": "{score}",
                "system": UCUM,
                "code": "{score}",
            },
            "derivedFrom": [{"reference": response_id}],
        }
        if subject is not None:
            observation["subject"] = subject
            observation["performer"] = [subject]
        query = f"Observation?identifier=urn:ietf:rfc:3986|{score_id}"
        found.append((observation, score_id, query))
    return found
