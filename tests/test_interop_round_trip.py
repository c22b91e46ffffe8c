"""#15 round trip: a year of Loop Habit Tracker data, exported as Loop writes it, imported
with ``backtrack import-loop``, exported with ``backtrack export --fhir``, and checked by
the independent R4 JSON-schema validator and against the Loop data day by day.

#25 round trip: random logs saved again by a spreadsheet (``tests/spreadsheet_writer.py``)
come back from ``backtrack repair`` equal, or with each difference reported."""

from __future__ import annotations

import csv
import io
import json
import os
import random
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir_schema import r4_schema_errors
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from loop_writer import (
    NO,
    SKIP,
    YES_AUTO,
    YES_MANUAL,
    LoopHabit,
    computed_entries,
    write_loop_export,
)
from spreadsheet_writer import (
    SOFFICE,
    Style,
    assert_changes_listed,
    libreoffice_save,
    spreadsheet_save,
)

from backtrack.cli import main
from backtrack.errors import InputError
from backtrack.interop.repair import repair_log
from backtrack.routine import default_routine
from backtrack.schema import COLUMNS, PAIN_LOCATIONS, VOID, Entry, csv_line
from backtrack.store import read_log, row_line

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


# --- issue 25 item 7: a log a spreadsheet saved comes back, or each difference is said --

OFFSETS = [timezone(timedelta(hours=h, minutes=m)) for h, m in ((1, 0), (-5, 0), (5, 30), (0, 0))]
NOTE_PIECES = [
    "a",
    "Müde",
    " ",
    ",",
    '"',
    "\n",
    "\r\n",
    "😀",
    "瑜伽",
    "שלום",
    "Привет",
    "?",
    "=",
    "-",
    "+",
    "@",
    "'",
    "007",
    "1.5",
    "25/12/26",
    ";",
    "\t",
]


def random_log(rng: random.Random) -> tuple[timezone, list[Entry]]:
    """A log of one to six saves in one UTC offset: every day kind, pains, minutes with
    two decimals or not given, locations, notes of commas, quotes, line breaks, Unicode,
    formula- and number-like text. ``rng`` is hypothesis's (shrinkable) or a seeded one."""
    offset = rng.choice(OFFSETS)
    ids = default_routine().ids
    entries = []
    stamp = datetime(2024, 1, 1, tzinfo=offset) + timedelta(seconds=rng.randrange(700 * 86400))
    for _ in range(rng.randint(1, 6)):
        stamp += timedelta(milliseconds=rng.randint(1, 5 * 86400 * 1000))
        kind = rng.choice(["routine", "rest", "flare", VOID])
        day = stamp.date() - timedelta(rng.randint(0, 2))
        note = "".join(rng.choice(NOTE_PIECES) for _ in range(rng.randint(0, 6)))
        if kind == VOID:
            entries.append(Entry(recorded_at=stamp, date=day, day=VOID, note=note))
            continue
        done = {
            exercise_id: rng.choice([None, rng.randint(1, 24000) / 100, rng.randint(1, 30)])
            for exercise_id in rng.sample(ids, rng.randint(0, 3))
        }
        entries.append(
            Entry(
                recorded_at=stamp,
                date=day,
                pain=rng.choice([None, rng.randint(0, 10)]),
                exercises=done,
                day=kind,
                where=tuple(rng.sample(PAIN_LOCATIONS, rng.randint(0, 2))),
                note=note,
            )
        )
    return offset, entries


logs = st.randoms(use_true_random=False).map(random_log)


def _entry(note: str, offset: int = 0, day: int = 2) -> Entry:
    """One save on 2 March 2026 (or ``day``) in ``OFFSETS[offset]``, for the examples."""
    stamp = datetime(2026, 3, day, 20, 15, 2, 123000, tzinfo=OFFSETS[offset])
    return Entry(
        recorded_at=stamp, date=stamp.date(), pain=7, exercises={"hip_stretch": 1.5}, note=note
    )


styles = st.builds(
    Style,
    locale=st.sampled_from(["de", "us"]),
    bom=st.booleans(),
    crlf=st.booleans(),
    quote_all=st.booleans(),
    pain_decimals=st.booleans(),
    encoding=st.sampled_from(["utf-8", "cp1252"]),
)


def _record_lines(data: bytes, separator: str) -> list[int]:
    """The line each record of a CSV file starts on (header excluded)."""
    text = data.decode("utf-8-sig", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    next(reader)
    starts, start = [], reader.line_num + 1
    for _ in reader:
        starts.append(start)
        start = reader.line_num + 1
    return starts


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(log=logs, style=styles)
@example(log=(OFFSETS[1], [_entry(note="'own quote", offset=1)]), style=Style())
@example(log=(OFFSETS[0], [_entry(note="two\r\nlines, 😀 ok?")]), style=Style(encoding="cp1252"))
@example(log=(OFFSETS[2], [_entry("007", 2), _entry("=1+1", 2, day=3)]), style=Style("us"))
def test_a_spreadsheet_save_comes_back_exactly_or_each_difference_is_said(
    tmp_path_factory, log, style
):
    offset, entries = log
    folder = tmp_path_factory.mktemp("save")
    original = _log_text(entries)
    saved = folder / "saved.csv"
    saved.write_bytes(spreadsheet_save(original, style))
    _comes_back(original, saved, entries, offset, "mdy" if style.locale == "us" else None)


def _log_text(entries: list[Entry]) -> str:
    """The log file the store writes for these saves."""
    return csv_line(list(COLUMNS)) + "".join(row_line(COLUMNS, e.to_row()) for e in entries)


def _comes_back(
    original: str, saved: Path, entries: list[Entry], offset: timezone, order: str | None
) -> None:
    """``repair`` of ``saved`` gives ``original`` back field by field, except fields listed
    as cannot be recovered for their line; every rewrite is listed; '/' dates are refused
    only when they read both ways, and then ``order`` (what the user knows) is given."""
    out = saved.with_name(saved.stem + "-repaired.csv")
    try:
        report = repair_log(saved, out, utc_offset=offset)
    except InputError as refusal:  # '/' dates that read both ways: the user says which
        assert order is not None and "--date-order dmy|mdy" in str(refusal)
        assert all(e.date.day <= 12 and e.recorded_at.day <= 12 for e in entries)
        assert not out.exists()
        report = repair_log(saved, out, utc_offset=offset, date_order=order)
    assert not report.left_out
    assert_changes_listed(saved, out, report)
    want = list(csv.DictReader(io.StringIO(original, newline="")))
    got = list(csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8"), newline="")))
    assert len(got) == len(want)
    data = saved.read_bytes()
    lines = _record_lines(data, ";" if b";" in data.splitlines()[0] else ",")
    said = {(c.line, c.column) for c in report.unrecoverable}
    for line, a, b in zip(lines, want, got, strict=True):
        for column in COLUMNS:
            if a[column] != b[column]:
                assert (line, column) in said, (saved, line, column, a[column], b[column])
        # a time is as saved, or cut to the minute (and that is said, above)
        kept = datetime.fromisoformat(a["recorded_at"])
        cut = kept.replace(second=0, microsecond=0)
        assert datetime.fromisoformat(b["recorded_at"]) in (kept, cut)
    assert read_log(out).problems == []


@pytest.fixture(scope="module")
def libreoffice_logs(tmp_path_factory):
    """200 random logs (seeded) as the store writes them, in one folder."""
    if not os.access(SOFFICE, os.X_OK):
        pytest.skip(f"LibreOffice is not installed ({SOFFICE}; make libreoffice installs it)")
    rng = random.Random(25)
    folder = tmp_path_factory.mktemp("libreoffice")
    logs = []
    for n in range(200):
        offset, entries = random_log(rng)
        path = folder / f"log{n:03d}.csv"
        path.write_text(_log_text(entries), encoding="utf-8", newline="")
        logs.append((path, offset, entries))
    return logs


@pytest.mark.parametrize("quote_all", [False, True], ids=["quote-minimal", "quote-all"])
@pytest.mark.parametrize("language", ["de_DE", "en_US"])
def test_a_libreoffice_save_comes_back_exactly_or_each_difference_is_said(
    libreoffice_logs, tmp_path, language, quote_all
):
    """The same promise against the real thing: LibreOffice Calc, headless, opening each
    of the 200 logs and saving it again as CSV (one soffice run for the 200)."""
    saved = libreoffice_save(
        [path for path, _, _ in libreoffice_logs],
        tmp_path / "saved",
        language=language,
        quote_all=quote_all,
    )
    for (path, offset, entries), save in zip(libreoffice_logs, saved, strict=True):
        _comes_back(path.read_bytes().decode("utf-8"), save, entries, offset, None)
