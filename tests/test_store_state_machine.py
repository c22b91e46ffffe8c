"""The log's promise as a state machine over a real file (issue 11).

Rules do what people and crashes do to a log: our appends (notes with newlines, quotes,
commas), a save torn at a random byte or dying inside its write (never a row: issue
23), a final newline dropped by an editor, a row hand-edited into something invalid,
the whole file re-saved by a spreadsheet (BOM, CRLF, every field quoted). After every
step: each save that was acknowledged and not torn loads as itself, in order; nothing
else loads but rows a person typed or saved; and every hand-edited bad row that is
still bad is named by a problem at its line.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

import pandas as pd
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from backtrack import store
from backtrack.schema import COLUMNS, DAY_TYPES, PAIN_LOCATIONS, Entry
from backtrack.store import append_entry, read_log

HEADER = (",".join(COLUMNS) + "\n").encode()
NOTE_CHARS = st.sampled_from(list("ab ,\"\n\r'=é✓;"))
notes = st.text(NOTE_CHARS, max_size=30)


@st.composite
def saves(draw) -> Entry:
    saved = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(
        seconds=draw(st.integers(0, 6 * 365 * 86400))
    )
    return Entry(
        recorded_at=saved.replace(microsecond=draw(st.integers(0, 999)) * 1000),
        date=saved.date() - timedelta(days=draw(st.integers(0, 3))),
        pain=draw(st.one_of(st.none(), st.integers(0, 10))),
        exercises=draw(
            st.dictionaries(
                st.sampled_from(["floor_relaxation", "hip_stretch", "wall_squat"]),
                st.one_of(st.none(), st.integers(1, 240).map(float)),
                max_size=3,
            )
        ),
        day=draw(st.sampled_from(DAY_TYPES)),
        where=tuple(draw(st.lists(st.sampled_from(PAIN_LOCATIONS), max_size=2, unique=True))),
        note=draw(notes),
    )


BAD_ROWS = {  # hand edits a spreadsheet re-save cannot make valid (SIG: a mark to find)
    "pain": "2026-11-01T20:00:00+00:00,2026-11-01,11,,routine,,{sig}\n",
    "where": "2026-11-01T20:00:00+00:00,2026-11-01,4,,routine,{sig}\n",
}
HEALABLE = '2026-11-01T20:00:00+00:00,2026-11-01,4,,routine,,used the 10" roller {sig}\n'
"""A bare quote: reported while it is there; a spreadsheet re-save quotes it properly."""


class Killed(BaseException):
    """The process died inside a write."""


def _key(entry: Entry) -> tuple:
    row = entry.to_row()
    return (
        pd.Timestamp(entry.recorded_at),
        pd.Timestamp(entry.date),
        entry.pain,
        row["exercises"],
        entry.day,
        row["where"],
        entry.note,
    )


def _loaded_keys(entries: pd.DataFrame) -> list[tuple]:
    return [
        (
            row.recorded_at,
            row.date,
            None if pd.isna(row.pain) else int(row.pain),
            row.exercises,
            row.day,
            row.where,
            row.note,
        )
        for row in entries.itertuples(index=False)
    ]


class LogMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.TemporaryDirectory()
        self.path = Path(self.folder.name) / "data" / "log.csv"
        self.acknowledged: list[Entry] = []  # saved, and not torn since
        self.last_row: bytes | None = None  # bytes of our last append, while it ends the file
        self.typed: dict[str, str] = {}  # signature -> kind of hand-edited row
        self.resaved_over_a_tear = 0  # a spreadsheet re-saved the file over a torn save
        self.tail_torn = False  # the file ends in a torn save (no append since)
        self.counter = 0

    def teardown(self) -> None:
        self.folder.cleanup()

    def _bytes(self) -> bytes:
        return self.path.read_bytes() if self.path.exists() else b""

    @rule(entry=saves())
    def append(self, entry: Entry) -> None:
        before = len(self._bytes()) if self.path.exists() else len(HEADER)
        append_entry(self.path, entry)
        self.acknowledged.append(entry)
        self.last_row = self._bytes()[before:]
        self.tail_torn = False

    @precondition(lambda self: self.last_row is not None and len(self.last_row) > 1)
    @rule(where=st.floats(0, 1, exclude_max=True))
    def tear_the_last_save(self, where: float) -> None:
        """A crash mid-write: only the first bytes of our last row reached the disk."""
        data = self._bytes()
        row = self.last_row
        keep = int(where * (len(row) - 1))  # 0 .. len-2 bytes: at least the newline is lost
        self.path.write_bytes(data[: len(data) - len(row) + keep])
        self.acknowledged.pop()
        self.last_row = None
        self.tail_torn = True

    @precondition(lambda self: self.path.exists())
    @rule(entry=saves(), where=st.floats(0, 1, exclude_max=True))
    def die_inside_a_save(self, entry: Entry, where: float) -> None:
        """A crash inside a save's write: some of its bytes reach the file, it is never
        confirmed (nothing after the write runs: no undo, no note)."""
        real_write = os.write

        def write(fd: int, data: bytes) -> int:
            real_write(fd, data[: 1 + int(where * (len(data) - 1))])
            raise Killed

        with mock.patch.object(store.os, "write", write), contextlib.suppress(Killed):
            append_entry(self.path, entry)
        self.last_row = None
        self.tail_torn = True

    @precondition(lambda self: self.path.exists())
    @rule()
    def drop_the_final_newline(self) -> None:
        data = self._bytes()
        if data.endswith(b"\r\n"):
            data = data[:-2]
        elif data.endswith(b"\n"):
            data = data[:-1]
        self.path.write_bytes(data)
        self.last_row = None

    @precondition(lambda self: self.path.exists() and not self.tail_torn)
    @rule(kind=st.sampled_from([*BAD_ROWS, "bare_quote"]))
    def hand_edit_a_bad_row(self, kind: str) -> None:
        """A person adds a row in an editor (not right after a torn save, where what they
        type lands inside the torn row's open quote and means different things to
        different readers)."""
        data = self._bytes()
        newline = b"\r\n" if b"\r\n" in data[:200] else b"\n"
        if not data.endswith((b"\n", b"\r")):
            data += newline
        self.counter += 1
        sig = f"BAD{self.counter}X"
        template = HEALABLE if kind == "bare_quote" else BAD_ROWS[kind]
        data += template.format(sig=sig).replace("\n", newline.decode()).encode()
        self.path.write_bytes(data)
        self.typed[sig] = kind
        self.last_row = None

    @precondition(lambda self: self.path.exists())
    @rule(bom=st.booleans(), crlf=st.booleans(), quote_all=st.booleans())
    def resave_in_a_spreadsheet(self, bom: bool, crlf: bool, quote_all: bool) -> None:
        """Read as a spreadsheet reads (lenient quotes), write back in its dialect."""
        text = self._bytes().decode("utf-8-sig", errors="replace")
        records = list(csv.reader(io.StringIO(text, newline="")))
        end = "\r\n" if crlf else "\n"

        def cell(value: str) -> str:  # as spreadsheets quote: CR, LF, comma, quote
            if quote_all or any(c in value for c in ',"\r\n'):
                return '"' + value.replace('"', '""') + '"'
            return value

        out = "".join(",".join(map(cell, record)) + end for record in records)
        if self.tail_torn:  # the person saves what the spreadsheet shows: their file now
            self.resaved_over_a_tear += 1
        self.path.write_bytes(("\ufeff" if bom else "").encode() + out.encode())
        for sig, kind in list(self.typed.items()):
            if kind == "bare_quote":
                self.typed[sig] = "healed"
        self.last_row = None
        self.tail_torn = False

    @invariant()
    def every_acknowledged_save_loads_as_itself_in_order(self) -> None:
        if not self.path.exists():
            assert not self.acknowledged
            return
        log = read_log(self.path, strict=False)
        loaded = _loaded_keys(log.entries)
        wanted = [_key(e) for e in self.acknowledged]
        position = 0
        for key in loaded:  # the acknowledged saves are a subsequence, in file order
            if position < len(wanted) and key == wanted[position]:
                position += 1
        assert position == len(wanted), (wanted[position], loaded)
        extra = len(loaded) - len(wanted)
        healed = sum(kind == "healed" for kind in self.typed.values())
        # only rows a person typed or saved: a tear never becomes a row, unless a
        # spreadsheet re-saved the file over it (the fragment closed, with no marker)
        assert 0 <= extra <= healed + self.resaved_over_a_tear

        text = self._bytes().decode("utf-8-sig", errors="replace")
        lines = io.StringIO(text, newline="").readlines()
        for problem in log.problems:
            assert 1 <= problem.line <= len(lines) and problem.column
        for sig, kind in self.typed.items():
            if kind in BAD_ROWS or kind == "bare_quote":
                assert any(sig in lines[p.line - 1] for p in log.problems), (sig, log.problems)


LogMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=25, deadline=None, derandomize=False
)
test_the_log_keeps_its_promise = LogMachine.TestCase


def test_a_cut_that_takes_the_marker_off_an_earlier_tear_leaves_it_torn():
    """Found by the machine: a save torn, the next save closing it with the marker, then
    the file cut back to before that save's write (the marker gone). The note keeps all
    bytes after the last confirmed end, so the fragment is still an unfinished save."""
    from datetime import date

    def entry(note: str) -> Entry:
        return Entry(
            recorded_at=datetime(2020, 1, 1, tzinfo=UTC),
            date=date(2020, 1, 1),
            pain=None,
            exercises={},
            day="routine",
            where=(),
            note=note,
        )

    machine = LogMachine()
    try:
        for _ in range(18):
            machine.append(entry(""))
        machine.append(entry(";;"))
        machine.tear_the_last_save(0.9375)  # cut just before the note's quote
        machine.every_acknowledged_save_loads_as_itself_in_order()
        machine.append(entry(""))
        machine.tear_the_last_save(0.0)  # the whole write gone, the marker with it
        machine.every_acknowledged_save_loads_as_itself_in_order()
    finally:
        machine.teardown()
