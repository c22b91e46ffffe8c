"""Loop Habit Tracker's CSV export, written the way the app writes it (test fixtures).

Written in Python from a reading of uhabits-core (v2.3.1: ``io/HabitsCSVExporter.kt``,
``models/HabitList.kt`` ``writeCSV``, ``models/Entry.kt``, ``models/EntryList.kt``
``recomputeFrom``; v2.3.0 and older: the same exporter before per-habit headers, notes
and value tokens). What it mirrors:

* the zip: ``Habits.csv``, then per selected habit ``NNN Name/Scores.csv`` and
  ``NNN Name/Checkmarks.csv``, then the wide ``Scores.csv`` and ``Checkmarks.csv``;
  no folder entries; deflated; UTF-8 without BOM; ``\\n`` line ends.
* folder names: ``"%03d %s" % (position, name with only [ a-zA-Z0-9._-] kept, cut to
  100)``, trimmed (``瑜伽`` at position 7 gives ``007``).
* ``Habits.csv`` and the per-habit files through opencsv ``writeNext(row, false)``:
  a field is quoted only when it holds ``"``, ``,``, ``\\n`` or ``\\r``; ``"`` doubled.
* the wide files by plain string writes: ``Date,`` then each habit name unquoted and
  a comma; each row ``date,`` then each value and a comma; newest first, from today
  back to the oldest known entry.
* values (v2.3.1 ``formattedValue``): -1..3 as ``UNKNOWN NO YES_AUTO YES_MANUAL SKIP``,
  anything else as the integer (numeric habits store amounts × 1000); v2.3.0: integers.
* computed entries of a yes/no habit: a weekly/monthly target met makes the other days
  of its interval ``YES_AUTO``, an explicit ``NO`` among them included; ``UNKNOWN`` days
  are left out of the per-habit file unless they have a note. Numeric habits: copied.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

UNKNOWN, NO, YES_AUTO, YES_MANUAL, SKIP = -1, 0, 1, 2, 3
TOKENS = {
    UNKNOWN: "UNKNOWN",
    NO: "NO",
    YES_AUTO: "YES_AUTO",
    YES_MANUAL: "YES_MANUAL",
    SKIP: "SKIP",
}


@dataclass
class LoopHabit:
    """One habit as the app holds it: ``entries`` are the user's own (date → value;
    numeric amounts × 1000), ``notes`` date → text; frequency ``numerator``/``denominator``."""

    name: str
    entries: dict[date, int] = field(default_factory=dict)
    notes: dict[date, str] = field(default_factory=dict)
    numerical: bool = False
    unit: str = ""
    numerator: int = 1
    denominator: int = 1
    question: str = ""
    description: str = ""
    color: str = "#FF8F00"
    target_value: float = 0.0


def opencsv_line(fields: list[str]) -> str:
    """opencsv ``CSVWriter.writeNext(fields, false)`` with its defaults."""
    out = []
    for text in fields:
        if any(c in text for c in '",\n\r'):
            text = '"' + text.replace('"', '""') + '"'
        out.append(text)
    return ",".join(out) + "\n"


def sanitize(name: str) -> str:
    return re.sub(r"[^ a-zA-Z0-9._-]+", "", name)[:100]


def folder(position: int, name: str) -> str:
    return f"{position:03d} {sanitize(name)}".strip() + "/"


def _intervals(habit: LoopHabit) -> list[tuple[date, date, date]]:
    """EntryList.buildIntervals + snapIntervalsTogether (weekly/daily targets)."""
    yes = sorted((d for d, v in habit.entries.items() if v == YES_MANUAL), reverse=True)
    num, den = habit.numerator, habit.denominator
    intervals = []
    for i in range(num - 1, len(yes)):
        begin, center = yes[i], yes[i - num + 1]
        if (center - begin).days < den:
            intervals.append((begin, center, begin + timedelta(den - 1)))
    for i in range(1, len(intervals)):
        begin, center, end = intervals[i]
        gap_next = (end - intervals[i - 1][0]).days  # next.begin.daysUntil(curr.end)
        gap_center = (end - center).days
        if gap_next >= 0:
            shift = min(gap_center, gap_next + 1)
            intervals[i] = (begin - timedelta(shift), center, end - timedelta(shift))
    return intervals


def computed_entries(habit: LoopHabit, *, with_notes: bool = True) -> dict[date, int]:
    """EntryList.recomputeFrom (no skip days): date → value for the known entries."""
    original = dict(habit.entries)
    for day in habit.notes:
        original.setdefault(day, UNKNOWN)
    if habit.numerical or not original:
        return original
    intervals = _intervals(habit)
    first = min([*original, *(i[0] for i in intervals)])
    last = max([*original, *(i[2] for i in intervals)])
    result = {first + timedelta(n): UNKNOWN for n in range((last - first).days + 1)}
    for begin, _, end in intervals:
        for n in range((end - begin).days + 1):
            result[begin + timedelta(n)] = YES_AUTO
    for day, value in original.items():
        keep = result[day] == UNKNOWN or value in (SKIP, YES_MANUAL)
        result[day] = value if keep else YES_AUTO
    return {d: v for d, v in result.items() if v != UNKNOWN or (with_notes and habit.notes.get(d))}


def _habits_csv(habits: list[LoopHabit], version: str) -> str:
    if version == "2.3.0":
        text = opencsv_line(
            ["Position", "Name", "Question", "Description", "NumRepetitions", "Interval", "Color"]
        )
        for n, h in enumerate(habits, 1):
            row = [f"{n:03d}", h.name, h.question, h.description]
            text += opencsv_line([*row, str(h.numerator), str(h.denominator), h.color])
        return text
    header = ["Position", "Name", "Type", "Question", "Description", "FrequencyNumerator"]
    header += ["FrequencyDenominator", "Color", "Unit", "Target Type", "Target Value", "Archived?"]
    text = opencsv_line(header)
    for n, h in enumerate(habits, 1):
        kind = "NUMERICAL" if h.numerical else "YES_NO"
        row = [f"{n:03d}", h.name, kind, h.question, h.description, str(h.numerator)]
        row += [str(h.denominator), h.color, h.unit if h.numerical else ""]
        row += ["AT_LEAST" if h.numerical else "", repr(h.target_value) if h.numerical else ""]
        text += opencsv_line([*row, "false"])
    return text


def _value(value: int, version: str) -> str:
    return str(value) if version == "2.3.0" else TOKENS.get(value, str(value))


def write_loop_export(
    path: Path,
    habits: list[LoopHabit],
    *,
    today: date,
    version: str = "2.3.1",
    selected: list[int] | None = None,
    omit: tuple[str, ...] = (),
) -> Path:
    """Write the export zip to ``path``. ``selected`` are 0-based indexes of the habits
    exported (all by default); ``omit`` names members to leave out (to test fallbacks)."""
    if version not in ("2.3.1", "2.3.0"):
        raise ValueError(version)
    chosen = [habits[i] for i in (selected if selected is not None else range(len(habits)))]
    files: list[tuple[str, str]] = [("Habits.csv", _habits_csv(habits, version))]
    computed = {id(h): computed_entries(h, with_notes=version != "2.3.0") for h in chosen}
    position = {id(h): n for n, h in enumerate(habits, start=1)}  # not .index: equal habits
    for habit in chosen:
        name = folder(position[id(habit)], habit.name)
        known = sorted(computed[id(habit)].items(), reverse=True)
        oldest = known[-1][0] if known else today
        days = [today - timedelta(n) for n in range((today - oldest).days + 1)]
        if version == "2.3.0":
            scores = "".join(f"{d.isoformat()},{0:.4f}\n" for d in days)
            checks = "".join(f"{d.isoformat()},{v}\n" for d, v in known)
        else:
            scores = opencsv_line(["Date", "Score"])
            scores += "".join(opencsv_line([d.isoformat(), f"{0:.4f}"]) for d in days)
            checks = opencsv_line(["Date", "Value", "Notes"])
            for d, v in known:
                checks += opencsv_line([d.isoformat(), _value(v, version), habit.notes.get(d, "")])
        files += [(name + "Scores.csv", scores), (name + "Checkmarks.csv", checks)]
    originals = [d for h in chosen for d in h.entries]
    oldest = min(originals) if originals else today
    header = "Date," + "".join(f"{h.name}," for h in chosen) + "\n"
    wide_scores, wide_checks = header, header
    for n in range((today - oldest).days + 1):
        day = today - timedelta(n)
        wide_scores += f"{day.isoformat()}," + "".join(f"{0:.4f}," for _ in chosen) + "\n"
        values = [_value(computed[id(h)].get(day, UNKNOWN), version) for h in chosen]
        wide_checks += f"{day.isoformat()}," + "".join(f"{v}," for v in values) + "\n"
    files += [("Scores.csv", wide_scores), ("Checkmarks.csv", wide_checks)]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files:
            if name not in omit:
                archive.writestr(name, text.encode("utf-8"))
    return path
