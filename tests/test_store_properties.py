"""Hypothesis: any valid entry round-trips exactly; corruption only ever gives our error."""

from __future__ import annotations

import csv
import io
import string
from datetime import date, datetime, timedelta, timezone

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backtrack.errors import FieldError, LogFormatError
from backtrack.schema import (
    COLUMNS,
    DAY_TYPES,
    FIELD_PARSERS,
    Entry,
    csv_line,
    parse_row,
)
from backtrack.store import _check_datetimes, append_entry, read_log, read_records

ids = st.text(string.ascii_lowercase + "_", min_size=1, max_size=12).filter(
    lambda s: s[0].isalpha()
)
minutes = st.one_of(
    st.none(), st.integers(0, 240).map(float), st.decimals(0, 240, places=2).map(float)
)
offsets = st.integers(-12 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
recorded = st.builds(
    lambda d, tz: d.replace(tzinfo=tz, microsecond=(d.microsecond // 1000) * 1000),
    st.datetimes(datetime(2000, 1, 2), datetime(2026, 11, 30)),
    offsets,
)


@st.composite
def entries(draw) -> Entry:
    """A valid save: its date no later than the day it was saved (in its own offset)."""
    saved = draw(recorded)
    return Entry(
        recorded_at=saved,
        date=draw(st.dates(date(2000, 1, 1), saved.date())),
        pain=draw(st.one_of(st.none(), st.integers(0, 10))),
        exercises=draw(st.dictionaries(ids, minutes, max_size=6)),
        day=draw(st.sampled_from(DAY_TYPES)),
        where=draw(st.lists(ids, max_size=3).map(tuple)),
        note=draw(st.text(max_size=200)),
    )


entries = entries()

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(batch=st.lists(entries, min_size=1, max_size=5))
def test_any_valid_entry_round_trips_exactly(tmp_path_factory, batch):
    path = tmp_path_factory.mktemp("rt") / "log.csv"
    for item in batch:
        append_entry(path, item)
    log = read_log(path)
    assert not log.problems
    assert len(log.entries) == len(batch)
    for item, (_, row) in zip(batch, log.entries.iterrows(), strict=True):
        assert row["note"] == item.note
        assert (None if pd.isna(row["pain"]) else row["pain"]) == item.pain
        assert row["date"].date() == item.date
        assert row["recorded_at"] == item.recorded_at
    # and the stored fields parse back to the very same entries
    lines = path.read_bytes().decode("utf-8")
    records = list(csv.DictReader(io.StringIO(lines, newline="")))
    assert [parse_row(r) for r in records] == batch


mutation = st.tuples(
    st.sampled_from(["replace", "insert", "delete", "truncate"]),
    st.floats(0, 1),
    st.binary(min_size=1, max_size=6)
    | st.sampled_from([b'"', b",", b"\n", b"\r\n", b"\xff", b"=", b";", b"\x00"]),
)


@SETTINGS
@given(
    batch=st.lists(entries, min_size=1, max_size=4),
    mutations=st.lists(mutation, max_size=4),
    known=st.sampled_from([None, frozenset()]),  # the app passes its routine's ids
)
def test_corruption_only_ever_raises_our_error_with_line_and_column(
    tmp_path_factory, batch, mutations, known
):
    path = tmp_path_factory.mktemp("bad") / "log.csv"
    for item in batch:
        append_entry(path, item)
    data = bytearray(path.read_bytes())
    for kind, where, blob in mutations:
        at = int(where * len(data))
        if kind == "replace":
            data[at : at + len(blob)] = blob
        elif kind == "insert":
            data[at:at] = blob
        elif kind == "delete":
            del data[at : at + len(blob)]
        else:
            del data[at:]
    path.write_bytes(bytes(data))
    try:
        log = read_log(path, known_exercises=known)
    except LogFormatError as error:
        assert error.line >= 1
        assert error.column
        assert all(p.line >= 1 and p.column for p in error.problems)
        assert str(error).startswith(f"{path}:{error.line}:{error.column}: expected ")
        lenient = read_log(path, strict=False, known_exercises=known)
        assert lenient.problems == error.problems
    else:
        assert set(COLUMNS) <= set(log.entries.columns)


def _reference_starts(text: str) -> list[int]:
    """Where each record starts, as the csv module's own line counter says."""
    reader = csv.reader(io.StringIO(text, newline=""))
    starts, previous = [], 0
    for _ in reader:
        starts.append(previous + 1)
        previous = reader.line_num
    return starts


cells = st.text(alphabet=st.sampled_from(list('ab,"\n\r é')), max_size=8)


@settings(max_examples=300, deadline=None)
@given(
    table=st.lists(st.lists(cells, min_size=1, max_size=4), min_size=1, max_size=8),
    ending=st.sampled_from(["\n", "\r\n"]),
    final_newline=st.booleans(),
)
def test_record_start_lines_match_the_csv_modules_count(table, ending, final_newline):
    text = "".join(
        csv_line(row).replace("\n", ending) if ending != "\n" else csv_line(row) for row in table
    )
    if not final_newline:
        text = text[: -len(ending)]
    scan = read_records(text)
    assert scan.broken == []
    assert scan.records == list(csv.reader(io.StringIO(text, newline="")))
    assert scan.starts == _reference_starts(text)


TEMPLATES = (
    "2026-11-20T08:15:02.123+01:00",
    "2026-11-20T08:15Z",
    "2026-11-20",
    # spellings pandas reads but the schema refuses (no offset, a space, one digit,
    # basic form, 7 decimals): only the pattern keeps them out
    "2026-11-20T08:15:02",
    "2026-11-20 08:15:02+01:00",
    "2026-1-20",
    "20261120",
    "2026-11-20T08:15:02.1234567+01:00",
)
date_chars = list("0123456789-+:.TZ\n٣１x")


@st.composite
def date_like(draw) -> str:
    """A date or date-time with random digits (ASCII or not), sometimes one character
    changed: matching and non-matching values both come up often. Half keep the
    template's digits, so that real dates in range (where only the pattern decides)
    come up as often as nonsense ones."""
    text = draw(st.sampled_from(TEMPLATES))
    if draw(st.booleans()):
        text = "".join(draw(st.sampled_from("0123456789٣１")) if c.isdigit() else c for c in text)
    if draw(st.booleans()):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(date_chars)) + text[at + 1 :]
    return text


@settings(max_examples=400, deadline=None)
@given(
    values=st.lists(date_like(), max_size=6),
    name=st.sampled_from(["recorded_at", "date"]),
)
def test_the_loaders_date_check_agrees_with_the_schema_on_each_value(values, name):
    """The loader parses a date column in one vectorised pass and leaves the rest to the
    schema's parser; it must refuse exactly the values that parser refuses (Unicode
    digits and newlines included), and beyond them only values pandas cannot hold."""
    checked = _check_datetimes(name, values)
    refused = set()
    for index, value in enumerate(values):
        try:
            FIELD_PARSERS[name](value)
        except FieldError:
            refused.add(index)
    assert refused <= set(checked.failures)
    for index in set(checked.failures) - refused:
        assert checked.failures[index].expected == "a value pandas can read as a date"
    unreadable = {index for index, value in enumerate(checked.values) if value is pd.NaT}
    assert unreadable <= set(checked.failures)
