"""The function measures in the FHIR export (issue 28 item 5): a PEG Questionnaire coded
with LOINC's PEG panel and item codes, a QuestionnaireResponse per answered date and
measure, the PEG score as an Observation; validated by fhir.resources and the official R4
JSON schema, and read back by a reader of its own into the answers the file holds."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir_schema import r4_schema_errors

from backtrack import actions
from backtrack.cli import main
from backtrack.measures import PEG_ITEMS, PGIC_CATEGORIES, Answers
from backtrack.measures_file import current_answers, measures_path, read_measures

START = datetime(2026, 6, 1, 20, 15, tzinfo=timezone(timedelta(hours=1)))
# LOINC, as found (docs/interop.md cites where): the PEG panel and its three item codes
PANEL, SCORE = "91148-7", "91147-9"
ITEM_CODES = ("75893-8", "91145-3", "91146-1")  # pain, enjoyment of life, general activity


@pytest.fixture
def answered(log_path, routine):
    """A daily log and a month of answers: full PEGs, one with an item not answered, a
    corrected PEG, a withdrawn PGIC, the PSFS with an unrated activity and a name a
    spreadsheet would run as a formula."""
    actions.log_day(log_path, routine=routine, now=START, day=START.date(), pain=5, done=[])
    at = [START + timedelta(days=n) for n in (0, 7, 14, 28)]
    psfs = [("walk the dog", 4), ("=sit through a film", None)]
    actions.save_answers(log_path, now=at[0], peg=[6, 5, 7], psfs=psfs)
    actions.save_answers(log_path, now=at[1], peg=[3, 4, 4])
    actions.save_answers(log_path, now=at[1] + timedelta(hours=1), peg=[3, 4, 5])  # corrected
    actions.save_answers(log_path, now=at[2], peg=[2, None, 3], psfs=[("walk the dog", 6)])
    later = at[2] + timedelta(days=7)
    actions.save_answers(log_path, now=later, peg=[5, 5, 5])
    actions.save_answers(log_path, now=later + timedelta(hours=1), peg=[5, None, 5])
    actions.save_answers(log_path, now=at[3], pgic=2)
    actions.save_answers(log_path, now=at[3] + timedelta(days=1), pgic=3)
    actions.void_answers(log_path, measure="pgic", day=at[3].date(), now=at[3] + timedelta(days=1))
    return log_path


def export(log_path, tmp_path, name="out.json"):
    out = tmp_path / name
    args = ["export", "--fhir", "-o", str(out), "--csv", str(log_path), "--patient", "Patient/7"]
    assert main(args) == 0
    return json.loads(out.read_text("utf-8"))


def read_back(document) -> list[Answers]:
    """The answers in a bundle, read from the FHIR JSON alone (not backtrack's code)."""
    measure_of = {}
    for entry in document["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Questionnaire":
            measure_of[f"{resource['url']}|{resource['version']}"] = resource["name"].lower()
    found = []
    for entry in document["entry"]:
        qr = entry["resource"]
        if qr["resourceType"] != "QuestionnaireResponse" or qr["status"] == "entered-in-error":
            continue
        measure = measure_of[qr["questionnaire"]]
        day = datetime.fromisoformat(qr["authored"]).date()
        if measure == "peg":
            given = {i["linkId"]: i["answer"][0]["valueInteger"] for i in qr["item"]}
            found.append(Answers(measure, day, tuple(given.get(c) for c in ITEM_CODES)))
        elif measure == "psfs":
            names, ratings = [], []
            for group in qr["item"]:
                inner = {i["linkId"]: i["answer"][0] for i in group["item"]}
                names.append(inner["activity.name"]["valueString"])
                rating = inner.get("activity.rating")
                ratings.append(None if rating is None else rating["valueInteger"])
            found.append(Answers(measure, day, tuple(ratings), tuple(names)))
        else:
            coding = qr["item"][0]["answer"][0]["valueCoding"]
            found.append(Answers(measure, day, (int(coding["code"]),)))
    return found


def test_a_log_with_answers_round_trips_through_the_fhir_export(answered, tmp_path, capsys):
    document = export(answered, tmp_path)
    assert "QuestionnaireResponse" in capsys.readouterr().err
    assert r4_schema_errors(document) == []
    assert Bundle.model_validate(document).type == "transaction"
    expected = current_answers(read_measures(measures_path(answered), strict=True))
    key = lambda a: (a.date, a.measure)  # noqa: E731
    assert sorted(read_back(document), key=key) == sorted(expected, key=key)
    pgic = [(a.date - START.date()).days for a in expected if a.measure == "pgic"]
    assert pgic == [29]  # day 28's was withdrawn: not sent


def test_the_peg_questionnaire_carries_the_loinc_codes_and_the_sources_anchors(answered, tmp_path):
    document = export(answered, tmp_path)
    resources = [e["resource"] for e in document["entry"]]
    forms = {r["name"]: r for r in resources if r["resourceType"] == "Questionnaire"}
    peg = forms["PEG"]
    assert [c["code"] for c in peg["code"]] == [PANEL]
    assert [i["code"][0]["code"] for i in peg["item"]] == list(ITEM_CODES)
    for question, item in zip(peg["item"], PEG_ITEMS, strict=True):
        assert question["text"] == item.text and question["type"] == "integer"
        assert question["item"][0]["text"] == f"0 = {item.low_anchor}; 10 = {item.high_anchor}"
    pgic = next(
        r for r in resources if r["resourceType"] == "Questionnaire" and r["name"] == "PGIC"
    )
    shown = [o["valueCoding"]["display"] for o in pgic["item"][0]["answerOption"]]
    assert shown == list(PGIC_CATEGORIES)


def test_the_peg_score_observation_is_the_mean_of_a_complete_peg_only(answered, tmp_path):
    document = export(answered, tmp_path)
    urls = {e["fullUrl"]: e["resource"] for e in document["entry"]}
    scores = {
        r["effectiveDateTime"]: r
        for r in urls.values()
        if r["resourceType"] == "Observation" and r["code"]["coding"][0]["code"] == SCORE
    }
    day = START.date()
    assert {d: r["valueQuantity"]["value"] for d, r in scores.items()} == pytest.approx(
        {
            day.isoformat(): 6,
            (day + timedelta(days=7)).isoformat(): 4.0,  # (3+4+5)/3, the correction
            (day + timedelta(days=21)).isoformat(): 5.0,  # its score before the correction
        }
    )
    assert (day + timedelta(days=14)).isoformat() not in scores  # an item not answered
    taken_back = scores.pop((day + timedelta(days=21)).isoformat())  # a correction did
    assert taken_back["status"] == "entered-in-error"
    assert [r["status"] for r in scores.values()] == ["final", "amended"]
    for observation in scores.values():
        assert observation["valueQuantity"]["code"] == "{score}"
        assert observation["subject"] == {"reference": "Patient/7"}
        (source,) = observation["derivedFrom"]
        assert urls[source["reference"]]["resourceType"] == "QuestionnaireResponse"


def test_identifiers_are_stable_and_a_log_without_answers_exports_as_before(
    answered, tmp_path, log_path
):
    first, again = export(answered, tmp_path, "a.json"), export(answered, tmp_path, "b.json")
    assert [e["fullUrl"] for e in first["entry"]] == [e["fullUrl"] for e in again["entry"]]
    measures_path(answered).unlink()
    plain = export(answered, tmp_path, "c.json")
    assert {e["resource"]["resourceType"] for e in plain["entry"]} == {"Observation"}
    assert all(e["fullUrl"] in {x["fullUrl"] for x in first["entry"]} for e in plain["entry"])


def test_withdrawn_and_corrected_answers_are_sent_as_such(answered, tmp_path):
    """A server holding an earlier export is kept right: a withdrawn PGIC comes again as
    entered-in-error with its last answer, a corrected PEG as amended."""
    document = export(answered, tmp_path)
    responses = {
        (r["authored"], r["questionnaire"].split(":")[-1].split("|")[0]): r
        for r in (e["resource"] for e in document["entry"])
        if r["resourceType"] == "QuestionnaireResponse"
    }
    day = START.date()
    withdrawn = responses[((day + timedelta(days=28)).isoformat(), "pgic")]
    assert withdrawn["status"] == "entered-in-error"
    assert withdrawn["item"][0]["answer"][0]["valueCoding"]["code"] == "2"
    assert responses[((day + timedelta(days=7)).isoformat(), "peg")]["status"] == "amended"
    assert responses[(day.isoformat(), "peg")]["status"] == "completed"
    assert r4_schema_errors(document) == []
