"""The store's fast path (:func:`backtrack.store.parse_clean_log`) against the strict
reader (:func:`backtrack.store.parse_log_text`): identical entries (values and dtypes),
problems (line, column, words) and warnings; the fast path is taken on what the store
writes, and every edit it cannot certify falls back to the strict reader."""

from __future__ import annotations

import csv
import io
import string
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from unittest import mock

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backtrack import store
from backtrack.routine import default_routine
from backtrack.schema import COLUMNS, DAY_TYPES, Entry, csv_line, encode_note
from backtrack.store import LogData, append_entry, parse_clean_log, parse_log_bytes, read_log

ROUTINE_IDS = default_routine().ids
PATH = "log.csv"

ids = st.one_of(
    st.sampled_from(ROUTINE_IDS),
    st.text(string.ascii_lowercase + "_", min_size=1, max_size=10).filter(lambda s: s[0] != "_"),
)
minutes = st.one_of(
    st.none(), st.integers(1, 240).map(float), st.decimals(0, 240, places=2).map(float)
)
offsets = st.integers(-12 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
recorded = st.builds(
    lambda d, tz: d.replace(tzinfo=tz, microsecond=(d.microsecond // 1000) * 1000),
    st.datetimes(datetime(1990, 1, 1), datetime(2025, 12, 31)),
    offsets,
)
# what a person types: any text but CR and NUL (those the fast path leaves to the strict
# reader; they are covered by the edits below)
note_text = st.text(st.characters(exclude_characters="\r\x00", exclude_categories=["Cs"]))


@st.composite
def entries(draw: st.DrawFn) -> Entry:
    """A valid save (its date no later than the day it was saved, in its own offset)."""
    saved = draw(recorded)
    return Entry(
        recorded_at=saved,
        date=draw(st.dates(date(1990, 1, 1), saved.date())),
        pain=draw(st.one_of(st.none(), st.integers(0, 10))),
        exercises=draw(st.dictionaries(ids, minutes, max_size=5)),
        day=draw(st.sampled_from(DAY_TYPES)),
        where=draw(st.lists(st.sampled_from(["lower_back", "hips", "neck", "knee"]), max_size=3)),
        note=draw(st.one_of(st.just(""), note_text.filter(lambda t: len(t) < 120))),
    )


def as_stored(rows: list[dict[str, str]]) -> bytes:
    """The rows as the store writes them (header, then :func:`store.row_line` each)."""
    text = csv_line(list(COLUMNS)) + "".join(store.row_line(COLUMNS, row) for row in rows)
    return text.encode("utf-8")


def quote_all_crlf(rows: list[dict[str, str]]) -> bytes:
    """What a spreadsheet writes on re-save: every field quoted, CRLF line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows([row[name] for name in COLUMNS] for row in rows)
    return buffer.getvalue().encode("utf-8")


def with_field(name: str, value: str) -> Callable[[list[dict[str, str]], float], bytes]:
    """An edit: one row's ``name`` set to ``value`` (stored as the store stores it)."""

    def edit(rows: list[dict[str, str]], where: float) -> bytes:
        rows = [dict(row) for row in rows]
        rows[int(where * len(rows))][name] = value
        return as_stored(rows)

    return edit


def raw_record_edit(
    change: Callable[[str], str],
) -> Callable[[list[dict[str, str]], float], bytes]:
    """An edit of one data record's text, its final newline aside (as a text editor
    makes it; a record with a multi-line note spans several lines)."""

    def edit(rows: list[dict[str, str]], where: float) -> bytes:
        text = as_stored(rows).decode("utf-8")
        lines = io.StringIO(text, newline="").readlines()
        scan = store.read_records(text)
        record = 1 + int(where * (len(scan.starts) - 1))
        start, end = scan.starts[record] - 1, scan.ends[record]
        raw = "".join(lines[start:end])
        lines[start:end] = [change(raw[:-1]) + "\n"]
        return "".join(lines).encode("utf-8", errors="surrogatepass")

    return edit


def torn(rows: list[dict[str, str]], where: float) -> bytes:
    """The last save cut short (1 byte up to all but one of its row)."""
    data = as_stored(rows)
    last = len(store.row_line(COLUMNS, rows[-1]).encode("utf-8"))
    return data[: len(data) - 1 - int(where * (last - 1))]


EDITS_FAST: dict[str, Callable[[list[dict[str, str]], float], bytes]] = {
    "none": lambda rows, where: as_stored(rows),
    "multi-line note": with_field("note", "first line\nsecond, with a comma\n\nfourth"),
    "note with quotes": with_field("note", 'a 10" roller, "the blue one"'),
    "formula note, guarded": with_field("note", encode_note("=SUM(A1:A3)")),
    "formula note, unguarded": with_field("note", "=1+1"),
    "note starting with a quote": with_field("note", "'quoted'"),
    "non-ASCII note": with_field("note", "Rücken 🙂 ça va, 背中"),
    "note with other line breaks": with_field("note", "a\u2028b\x85c\x0bd\x0ce\x1cf\u2029"),
    "unknown exercise id": with_field("exercises", "cycling=20;hip_stretch=2"),
    "unknown pain location": with_field("where", "lower_back;shoulder"),
    "void row": lambda rows, where: as_stored(
        [*rows, {**rows[-1], "pain": "", "exercises": "", "where": "", "day": "void"}]
    ),
}
"""Logs the fast path must certify: what the store writes, whatever the note says."""

EDITS_FALLBACK: dict[str, Callable[[list[dict[str, str]], float], bytes]] = {
    "bad date": with_field("date", "2025-02-30"),
    "date out of range": with_field("date", "1899-12-31"),
    "date near the range's end": with_field("date", "1900-01-02"),
    "non-ASCII digits in a date": with_field("date", "２０２４-01-01"),
    "bad recorded_at": with_field("recorded_at", "2024-01-01 10:00:00"),
    "recorded_at without offset": with_field("recorded_at", "2024-01-01T10:00:00"),
    "recorded_at in the future": with_field("recorded_at", "2199-01-01T10:00:00.000+00:00"),
    "date after its save": with_field("date", "2100-01-01"),
    "pain 11": with_field("pain", "11"),
    "pain in Arabic-Indic digits": with_field("pain", "٣"),
    "bad exercise id": with_field("exercises", "Hip_Stretch=2"),
    "minutes out of range": with_field("exercises", "hip_stretch=241"),
    "bad day": with_field("day", "holiday"),
    "bad location": with_field("where", "Lower Back"),
    "void row with pain": lambda rows, where: as_stored(
        [*rows, {**rows[-1], "pain": "3", "exercises": "", "where": "", "day": "void"}]
    ),
    "stray quote": raw_record_edit(lambda line: line.replace(",", ',10" ', 1)),
    "unclosed quote": raw_record_edit(lambda line: line.replace(",", ',"', 2)),
    "quoted id field": raw_record_edit(lambda line: '"' + line.replace(",", '",', 1)),
    "a field too many": raw_record_edit(lambda line: line.replace(",", ",,", 1)),
    "a field too few": raw_record_edit(lambda line: line.replace(",", "", 1)),
    "blank line": raw_record_edit(lambda line: line + "\n"),
    "empty row": raw_record_edit(lambda line: line + "\n,,,,,,"),
    "torn last row": torn,
    "spreadsheet re-save (CRLF, quote-all)": lambda rows, where: quote_all_crlf(rows),
    "CRLF line ends": lambda rows, where: as_stored(rows).replace(b"\n", b"\r\n"),
    "BOM": lambda rows, where: b"\xef\xbb\xbf" + as_stored(rows),
    "not UTF-8": raw_record_edit(lambda line: line + "\udcff"),
    "NUL in a note": with_field("note", "a\x00b"),
    "torn marker": raw_record_edit(lambda line: line + f',"{store.TORN_MARKER}"'),
    "columns in another order": lambda rows, where: as_stored(rows).replace(
        b"recorded_at,date", b"date,recorded_at", 1
    ),
    "extra column": lambda rows, where: as_stored(rows).replace(b",note\n", b",note,mood\n", 1),
    "header only": lambda rows, where: as_stored([]),
}
"""Edits the fast path must leave to the strict reader."""

EDITS = {**EDITS_FAST, **EDITS_FALLBACK}


def encoded(data: bytes) -> bytes:
    """Lone surrogates (``\\udcff``) stand for undecodable bytes in the edits above."""
    return data.decode("utf-8", errors="surrogatepass").encode("utf-8", errors="surrogateescape")


def build(batch: list[Entry], edit: str, where: float) -> bytes:
    rows = [item.to_row() for item in batch]
    text = EDITS[edit](rows, where)
    return encoded(text) if b"\xed\xb3\xbf" in text else text


def strict(data: bytes, known: tuple[str, ...] | None, path: str = PATH) -> LogData:
    """What the strict reader alone gives (the fast path switched off)."""
    with mock.patch.object(store, "parse_clean_log", return_value=None) as fast:
        log = parse_log_bytes(data, path, known_exercises=known)
    assert fast.call_count <= 1
    return log


def assert_same(got: LogData, expected: LogData) -> None:
    pd.testing.assert_frame_equal(
        got.entries, expected.entries, check_dtype=True, check_exact=True
    )
    assert got.problems == expected.problems
    assert got.warnings == expected.warnings


SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def test_the_edits_for_bytes_are_written_as_bytes():
    # the "not UTF-8" edit really holds a byte that is not UTF-8 (else it tests nothing)
    batch = [Entry(datetime(2024, 1, 2, tzinfo=UTC), date(2024, 1, 1), note="n")]
    data = build(batch, "not UTF-8", 0.0)
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")


@settings(SETTINGS, max_examples=250)  # about six of each of the 43 kinds of edit
@given(
    batch=st.lists(entries(), min_size=1, max_size=25),
    edit=st.sampled_from(sorted(EDITS)),
    where=st.floats(0, 0.999),
    known=st.sampled_from([None, ROUTINE_IDS]),
)
def test_fast_path_and_strict_reader_agree_on_random_logs(batch, edit, where, known):
    data = build(batch, edit, where)
    expected = strict(data, known)
    assert_same(parse_log_bytes(data, PATH, known_exercises=known), expected)
    fast = parse_clean_log(data, PATH, known_exercises=known)
    if edit in EDITS_FAST:
        assert fast is not None, f"{edit}: the fast path fell back on a clean log"
        assert_same(fast, expected)
    else:
        assert fast is None, f"{edit}: the fast path certified a log it must leave"


@SETTINGS
@given(batch=st.lists(entries(), min_size=1, max_size=25), known=st.sampled_from([None, ()]))
def test_fast_path_gives_the_strict_entries_for_any_log_the_store_writes(batch, known):
    data = build(batch, "none", 0.0)
    fast = parse_clean_log(data, PATH, known_exercises=known)
    assert fast is not None
    expected = strict(data, known)
    assert not expected.problems
    assert_same(fast, expected)


def hand_checked_log() -> tuple[bytes, pd.DataFrame]:
    """Three saves, and the entries they are, written out by hand."""
    text = (
        "recorded_at,date,pain,exercises,day,where,note\n"
        "2024-03-01T20:00:00.000+01:00,2024-03-01,4,hip_stretch=2;wall_squat=,routine,"
        'lower_back,"stiff, then ""better""\nafter the walk"\n'
        "2024-03-02T08:30:15.250-05:00,2024-03-02,,,rest,,\n"
        '2024-03-03T21:00:00.000+00:00,2024-03-02,7,,flare,hips;neck,"\'=1+1"\n'
    )
    entries = pd.DataFrame(
        {
            "line": [2, 4, 5],
            "recorded_at": pd.DatetimeIndex(
                [
                    pd.Timestamp(2024, 3, 1, 19, 0, 0, tz="UTC"),
                    pd.Timestamp(2024, 3, 2, 13, 30, 15, 250000, tz="UTC"),
                    pd.Timestamp(2024, 3, 3, 21, 0, 0, tz="UTC"),
                ]
            ).as_unit("us"),
            "date": pd.to_datetime(["2024-03-01", "2024-03-02", "2024-03-02"]).as_unit("us"),
            "pain": pd.array([4, None, 7], dtype="Int64"),
            "exercises": pd.array(["hip_stretch=2;wall_squat=", "", ""], dtype="str"),
            "day": pd.array(["routine", "rest", "flare"], dtype="str"),
            "where": pd.array(["lower_back", "", "hips;neck"], dtype="str"),
            "note": pd.array(['stiff, then "better"\nafter the walk', "", "=1+1"], dtype="str"),
        }
    )
    return text.encode("utf-8"), entries


def test_fast_path_reads_a_hand_checked_log():
    data, entries = hand_checked_log()
    fast = parse_clean_log(data, PATH, known_exercises=ROUTINE_IDS)
    assert fast is not None
    pd.testing.assert_frame_equal(fast.entries, entries, check_exact=True)
    assert fast.problems == [] and fast.warnings == []


def store_written(tmp_path) -> tuple[object, list[Entry]]:
    path = tmp_path / "data" / "backtrack.csv"
    saved = datetime(2025, 6, 1, 21, 0, tzinfo=timezone(timedelta(hours=2)))
    batch = [
        Entry(saved - timedelta(days=i), date(2025, 6, 1) - timedelta(days=i), pain=i % 11)
        for i in range(40, 0, -1)
    ]
    batch[3] = Entry(batch[3].recorded_at, batch[3].date, note='two\nlines, "quoted" 🙂')
    batch[5] = Entry(batch[5].recorded_at, batch[5].date, exercises={"hip_stretch": 2.5})
    batch[7] = Entry(batch[7].recorded_at, batch[7].date, note="=formula", where=("hips",))
    for item in batch:
        append_entry(path, item)
    return path, batch


def test_read_log_takes_the_fast_path_on_a_log_the_store_wrote(tmp_path, monkeypatch):
    path, batch = store_written(tmp_path)
    expected = read_log(path, known_exercises=ROUTINE_IDS)  # the fast path or not
    expected_strict = strict(path.read_bytes(), ROUTINE_IDS)

    def refuse(*args: object, **kwargs: object) -> LogData:
        raise AssertionError("the strict reader was called on a clean log")

    monkeypatch.setattr(store, "parse_log_text", refuse)
    log = read_log(path, known_exercises=ROUTINE_IDS)
    assert_same(log, expected)
    assert_same(log, expected_strict)
    assert len(log.entries) == len(batch)
    assert log.entries["note"][3] == 'two\nlines, "quoted" 🙂'
    assert log.entries["note"][7] == "=formula"
    assert log.entries["line"].tolist()[3:6] == [5, 7, 8]  # the note spans two lines


@pytest.mark.parametrize("edit", sorted(EDITS_FALLBACK))
def test_each_edit_the_fast_path_cannot_certify_falls_back(tmp_path, edit):
    batch = [
        Entry(
            datetime(2025, 1, day, 20, 0, tzinfo=UTC),
            date(2025, 1, day - 1),
            pain=day % 11,
            note=f"note {day}",
        )
        for day in range(2, 12)
    ]
    data = build(batch, edit, 0.5)
    path = tmp_path / "log.csv"
    path.write_bytes(data)
    path.chmod(0o600)
    expected = strict(data, ROUTINE_IDS, str(path))
    with mock.patch.object(store, "parse_log_text", wraps=store.parse_log_text) as exact:
        log = read_log(path, strict=False, known_exercises=ROUTINE_IDS)
    assert exact.call_count == 1, f"{edit}: the strict reader was not asked"
    assert parse_clean_log(data, str(path), known_exercises=ROUTINE_IDS) is None
    assert_same(log, expected)


def test_bytes_after_the_last_confirmed_save_go_to_the_strict_reader(tmp_path):
    # the tearing rules of <log>.appended are the strict reader's alone: a whole row added
    # after our last save (by another program) is read by it, and so is a save cut short
    path, batch = store_written(tmp_path)
    with path.open("ab") as handle:
        handle.write(b"2025-06-02T08:00:00.000+02:00,2025-06-02,3,,routine,,\n")
    with mock.patch.object(store, "parse_log_text", wraps=store.parse_log_text) as exact:
        log = read_log(path)
    assert exact.call_count == 1
    assert len(log.entries) == len(batch) + 1

    path, batch = store_written(tmp_path / "torn")
    data = path.read_bytes()
    with path.open("r+b") as handle:
        handle.truncate(len(data) - 10)  # the last save cut short: torn, whatever it says
    with mock.patch.object(store, "parse_log_text", wraps=store.parse_log_text) as exact:
        log = read_log(path, strict=False)
    assert exact.call_count == 1
    assert len(log.entries) == len(batch) - 1
    assert [p.line for p in log.problems] == [len(batch) + 2]  # header, rows, the torn one
    assert "unfinished last row" in log.problems[0].message


def test_a_last_save_cut_at_any_byte_falls_back():
    # a fragment with no comma left (part of its recorded_at) must not vanish either
    batch = [
        Entry(datetime(2025, 1, 9, 20, 0, tzinfo=UTC), date(2025, 1, 9), 3, note='a "b"\nc'),
        Entry(datetime(2025, 1, 10, 20, 0, tzinfo=UTC), date(2025, 1, 10), 4, {"hip_stretch": 2}),
    ]
    rows = [item.to_row() for item in batch]
    data = as_stored(rows)
    last = len(store.row_line(COLUMNS, rows[-1]).encode("utf-8"))
    for cut in range(1, last):
        torn_data = data[:-cut]
        assert parse_clean_log(torn_data, PATH) is None, f"cut {cut}"
        assert_same(parse_log_bytes(torn_data, PATH), strict(torn_data, None))
    rows = [item.to_row() for item in batch[:1]]
    data = as_stored(rows)
    for cut in range(1, len(store.row_line(COLUMNS, rows[0]).encode("utf-8"))):
        assert parse_clean_log(data[:-cut], PATH) is None, f"cut {cut} into the note"
