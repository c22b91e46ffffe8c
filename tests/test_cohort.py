"""Cohort view: per-patient numbers equal the single-patient summary; bad files reported."""

from __future__ import annotations

import csv
import io
import json
import math
import multiprocessing
import os
import shutil
import tempfile
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pandas as pd
import pytest

from backtrack.cli import main
from backtrack.cohort import (
    LOW_ADHERENCE,
    json_records,
    log_files,
    needs_attention,
    scan_folder,
    summarise,
)
from backtrack.demo import DEMO_TZ, generate, to_csv_text, write_demo
from backtrack.overview import summary
from backtrack.schema import Entry, csv_line

END = date(2026, 3, 1)
TODAY = END + timedelta(days=1)


def _close(a, b) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None
    return b is not None and a == pytest.approx(b, rel=1e-9, abs=1e-12)


def rising_log(path, *, unrated_tail: int = 0):
    """Ten weeks of pain rising from 2 to 8, every day logged, full routine done; the last
    ``unrated_tail`` days are rest days without a pain rating."""
    entries = []
    for t in range(70):
        day = END - timedelta(days=69 - t)
        saved = datetime.combine(day, time(20), DEMO_TZ)
        done = {"floor_relaxation": 5.0, "hip_stretch": 2.0}
        if t >= 70 - unrated_tail:
            entries.append(Entry(saved, day, None, {}, "rest"))
        else:
            entries.append(Entry(saved, day, 2 + round(6 * t / 69), done))
    path.write_text(to_csv_text(entries), encoding="utf-8")
    return path


@pytest.fixture
def cohort_dir(tmp_path):
    folder = tmp_path / "clinic"
    for i, days in enumerate((10, 30, 75, 150)):
        write_demo(folder / f"p{i}.csv", days=days, seed=i + 11, end=END - timedelta(days=i))
    rising_log(folder / "rising.csv")
    rising_log(folder / "sparse_end.csv", unrated_tail=4)  # 3 rated days in the last 7
    # a valid log a spreadsheet re-saved with columns in another order (the careful path)
    records = csv.reader(io.StringIO(to_csv_text(generate(60, seed=5, end=END)), newline=""))
    reordered = "".join(csv_line([r[1], r[0], *r[2:]]) for r in records)
    (folder / "reordered.csv").write_text(reordered, encoding="utf-8")
    return folder


def test_cohort_equals_per_patient_summary(cohort_dir, routine):
    """Every registered statistic's every column, patient by patient, equals the
    single-patient summary's JSON (a batch of many vs a batch of one)."""
    table = summarise(log_files(cohort_dir), routine=routine, today=TODAY)
    patients = ["p0", "p1", "p2", "p3", "reordered", "rising", "sparse_end"]
    assert list(table["patient"]) == patients
    assert table["problems"].map(len).sum() == 0
    computed = {"change": 0, "trend": 0}
    for row in json_records(table):
        one = summary(row["path"], routine=routine, today=TODAY)
        assert_row_is_summary(row, one)
        computed["change"] += one.change.ok
        computed["trend"] += one.trend.ok
    assert computed["change"] >= 3 and computed["trend"] >= 3  # not only "too little data"
    assert table.loc[table["patient"] == "p0", "trend"].isna().all()
    sparse = table.set_index("patient").loc["sparse_end"]
    assert sparse["pain_7day_mean_n"] == 3 and math.isnan(sparse["change"])
    assert "needs 4 rated days" in sparse["pain_7day_mean_why_null"]


def test_the_cohort_shows_each_change_with_its_uncertainty(cohort_dir, routine, capsys):
    """Issue 26 item 5: per patient the change's interval, class, minimum detectable
    change and regression-to-the-mean flag, in the table and in ``backtrack cohort``."""
    table = summarise(log_files(cohort_dir), routine=routine).set_index("patient")
    for column in ("change_low", "change_high", "change_mde", "change_class"):
        assert table.loc["p3", column] == table.loc["p3", column], column  # not NaN
    assert table.loc["p3", "change_low"] <= table.loc["p3", "change"]
    assert table.loc["p3", "change"] <= table.loc["p3", "change_high"]
    assert table["change_regression_to_mean"].dropna().isin([True, False]).all()
    assert main(["cohort", str(cohort_dir)]) == 0
    out = capsys.readouterr().out
    row = table.loc["p3"]
    shown = f"{row['change']:+.1f} ({row['change_low']:+.1f},{row['change_high']:+.1f})"
    assert shown in out and f"{row['change_mde']:.1f}" in out


def test_bad_files_are_reported_and_the_others_computed(cohort_dir, routine):
    good = (cohort_dir / "p2.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    fields = good[4].split(",")
    fields[2] = "11"  # pain on line 5
    (cohort_dir / "bad.csv").write_text(
        "".join([*good[:4], ",".join(fields), *good[5:]]), encoding="utf-8"
    )
    (cohort_dir / "junk.csv").write_bytes(b"\x00\x01 not a log at all")
    torn = (cohort_dir / "p1.csv").read_text(encoding="utf-8")
    (cohort_dir / "torn.csv").write_text(torn[:-9], encoding="utf-8")  # a save cut short
    table = summarise(log_files(cohort_dir), routine=routine).set_index("patient")
    bad = table.loc["bad", "problems"]
    assert len(bad) == 1 and bad[0].startswith(f"{cohort_dir / 'bad.csv'}:5:pain:")
    assert "found '11'" in bad[0]
    lenient = summary(cohort_dir / "bad.csv", routine=routine)
    assert table.loc["bad", "days_logged"] == lenient.days_logged  # valid rows still count
    assert _close(table.loc["bad", "pain_7day_mean"], lenient.latest.value)
    junk = table.loc["junk", "problems"]
    assert junk and all(p.startswith(f"{cohort_dir / 'junk.csv'}:1:") for p in junk)
    assert table.loc["junk", "days_logged"] == 0 and math.isnan(table.loc["junk", "baseline"])
    last_line = torn.count("\n")
    assert table.loc["torn", "problems"][0].startswith(f"{cohort_dir / 'torn.csv'}:{last_line}:")
    for patient in ("p0", "p1", "p2", "p3", "rising"):
        assert table.loc[patient, "problems"] == []
        assert table.loc[patient, "days_logged"] > 0
    assert table.loc["p2", "days_logged"] == summary(cohort_dir / "p2.csv").days_logged


def test_a_cohort_of_only_bad_files_reports_each(tmp_path, routine):
    """Every file needs the careful path (none is left for the fast one)."""
    folder = tmp_path / "clinic"
    write_demo(folder / "a.csv", days=20, seed=1, end=END)
    lines = (folder / "a.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    fields = lines[3].split(",")
    fields[2] = "12"
    (folder / "a.csv").write_text("".join([*lines[:3], ",".join(fields), *lines[4:]]))
    table = summarise(log_files(folder), routine=routine).set_index("patient")
    assert table.loc["a", "problems"][0].startswith(f"{folder / 'a.csv'}:4:pain:")
    assert table.loc["a", "days_logged"] == summary(folder / "a.csv", routine=routine).days_logged


def test_needs_attention_puts_rising_pain_first(cohort_dir, routine):
    table = needs_attention(summarise(log_files(cohort_dir), routine=routine))
    assert table.loc[0, "patient"] == "rising"
    assert "pain rising" in table.loc[0, "attention"]
    assert "worse than baseline" in table.loc[0, "attention"]
    low = table["adherence_28day"] < LOW_ADHERENCE
    assert (table.loc[low, "attention"].str.contains("adherence")).all()
    flagged = table["attention"] != ""
    assert flagged.is_monotonic_decreasing  # flagged patients come before the others


def test_cli_cohort(cohort_dir, capsys):
    assert main(["cohort", str(cohort_dir), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["patient"] == "rising"
    assert {r["patient"] for r in rows} >= {"p0", "p1", "p2", "p3", "reordered", "rising"}
    assert all(isinstance(r["days_logged"], int) for r in rows)
    assert main(["cohort", str(cohort_dir)]) == 0
    assert "rising" in capsys.readouterr().out
    assert main(["cohort", str(cohort_dir / "nowhere")]) == 2
    assert "folder" in capsys.readouterr().err


def test_corrections_time_zones_and_order_as_in_summary(cohort_dir, routine):
    """Dates saved twice (the latest save in UTC wins, whatever its offset), rows out of
    date order; in other files a row with too many fields (an unquoted comma) and one
    with too few."""
    text = (cohort_dir / "p3.csv").read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    first = rows[10].split(",")
    # saved earlier in UTC than the original row, though later on the clock (+14:00)
    early = [first[0][:19] + ".000+14:00", *first[1:]]
    early[2] = "9"
    # saved later in UTC than the original row, though earlier on the clock (-12:00)
    second = rows[20].split(",")
    late = [second[0][:11] + "00:00:00.000-12:00", *second[1:]]
    late[2] = "1"
    shuffled = [*rows[30:], *rows[:30], ",".join(early), ",".join(late)]
    (cohort_dir / "corrected.csv").write_text(header + "".join(shuffled), encoding="utf-8")
    split = rows[:5] + [rows[5].rstrip("\n") + "extra,field\n"] + rows[6:]
    (cohort_dir / "split.csv").write_text(header + "".join(split), encoding="utf-8")
    short = rows[:8] + [",".join(rows[8].split(",")[:4]) + "\n"] + rows[9:]
    (cohort_dir / "short.csv").write_text(header + "".join(short), encoding="utf-8")
    table = summarise(log_files(cohort_dir), routine=routine, today=TODAY)
    records = {row["patient"]: row for row in json_records(table)}
    table = table.set_index("patient")
    assert table.loc["corrected", "problems"] == []
    for patient in ("corrected", "split", "short", "p3"):
        one = summary(cohort_dir / f"{patient}.csv", routine=routine, today=TODAY)
        assert_row_is_summary(records[patient], one)
    problems = table.loc["split", "problems"]
    assert len(problems) == 1 and problems[0].startswith(f"{cohort_dir / 'split.csv'}:7:")
    problems = table.loc["short", "problems"]
    assert len(problems) == 1 and problems[0].startswith(f"{cohort_dir / 'short.csv'}:10:")
    assert table.loc["p2", "problems"] == [] and table.loc["p2", "days_logged"] > 0


def test_worsening_is_flagged_from_its_own_threshold():
    """1 point or 15% more pain (Salaffi 2004), the percentage of max(baseline, 4): from 6,
    0.9 points; from 3 (or 4), 0.6 points. Smaller rises only sort the list."""
    import pandas as pd

    table = pd.DataFrame(
        {
            "patient": ["noise", "one_point", "low_small", "low_one_point", "better"],
            "baseline": [6.0, 6.0, 3.0, 3.0, 6.0],
            "change": [-0.85, -1.0, -0.55, -1.0, 2.0],
            "change_percent": [-14.2, -16.7, -18.3, -33.3, 33.3],
            "trend_low": [-0.1] * 5,
            "adherence_28day": [0.9] * 5,
            "problems": [[]] * 5,
        }
    )
    ranked = needs_attention(table).set_index("patient")["attention"]
    assert ranked["noise"] == "" and ranked["low_small"] == "" and ranked["better"] == ""
    assert ranked["one_point"] == "clinically worse than baseline"
    assert ranked["low_one_point"] == "clinically worse than baseline"


def test_needs_attention_says_when_a_log_is_stale(cohort_dir, routine):
    table = summarise(log_files(cohort_dir), routine=routine)
    for today in (END + timedelta(days=1), END + timedelta(days=10)):
        ranked = needs_attention(table, today=today)
        age = (pd.Timestamp(today) - ranked["last_day"]).dt.days
        flagged = ranked["attention"].str.contains("no entry for")
        assert (flagged == (age > 3)).all()
    stale = needs_attention(table, today=END + timedelta(days=10)).set_index("patient")
    age = (pd.Timestamp(END + timedelta(days=10)) - stale.loc["p2", "last_day"]).days
    assert stale.loc["p2", "attention"].endswith(f"no entry for {age} days")
    assert needs_attention(table)["attention"].str.contains("no entry").sum() == 0


def assert_row_is_summary(row: dict, one) -> None:
    """``row`` (a :func:`json_records` record) holds the summary ``one``'s every
    registered column (to 1e-12) and its last day."""
    from backtrack import registry

    want = one.to_dict()
    assert row["last_day"] == want["last_logged_day"]
    for column in registry.COLUMNS:
        got, expected = row[column], want[column]
        if isinstance(expected, float):
            assert _close(got, expected), (column, got, expected)
        else:
            assert got == expected, (column, got, expected)


def damaged_corpus(folder) -> dict[str, bytes]:
    """One log per kind of damage the store tests cover, each from the same clean log."""
    clean = to_csv_text(generate(90, seed=8, end=END))
    lines = clean.splitlines(keepends=True)
    header, rows = lines[0], lines[1:]

    def line_changed(at: int, line: str) -> str:
        """The clean log with data row ``at`` replaced by ``line``."""
        return header + "".join(rows[:at]) + line + "".join(rows[at + 1 :])

    def appended(line: str) -> str:
        return clean + line

    pain_11 = rows[5].split(",")
    pain_11[2] = "11"
    corpus = {
        "clean": clean,
        "torn_last_row": clean[:-9],
        "no_final_newline": clean.rstrip("\n"),
        "bad_value": line_changed(5, ",".join(pain_11)),
        "header_without_a_column": header.replace(",where", "") + "".join(rows),
        "too_many_fields": line_changed(7, rows[7].rstrip("\n") + ",x\n"),
        "too_few_fields": line_changed(9, ",".join(rows[9].split(",")[:3]) + "\n"),
        "bare_quote": line_changed(3, rows[3].rstrip("\n") + 'a "b" c\n'),
        "unclosed_quote": line_changed(3, rows[3].rstrip("\n") + '"open\n'),
        "impossible_date": appended("2026-02-30T10:00:00+00:00,2026-02-30,3,,routine,,\n"),
        "old_year": appended("1899-06-01T10:00:00+00:00,1899-06-01,1,,routine,,\n"),
        "void_with_data": appended(f"{END}T23:00:00+00:00,{END},4,,void,,\n"),
        "semicolons": clean.replace(",", ";"),
        "spreadsheet_resave": "\ufeff" + clean.replace("\n", "\r\n"),
        "empty": "",
        "header_only": header,
    }
    out = {name: text.encode("utf-8") for name, text in corpus.items()}
    undecodable = b"\xff\xfe,bad\n"  # bytes that are not UTF-8, inside the file
    out["undecodable"] = (header + "".join(rows[:4])).encode() + undecodable
    out["undecodable"] += "".join(rows[4:]).encode()
    out["not_a_log"] = b"\x00\x01 not a log at all"
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in out.items():
        (folder / f"{name}.csv").write_bytes(data)
    return out


def test_cohort_equals_summary_on_every_kind_of_damaged_file(tmp_path, routine):
    folder = tmp_path / "damaged"
    corpus = damaged_corpus(folder)
    table = summarise(log_files(folder), routine=routine, today=TODAY)
    records = {row["patient"]: row for row in json_records(table)}
    table = table.set_index("patient")
    assert sorted(table.index) == sorted(corpus)
    damaged = 0
    for name in corpus:
        row = table.loc[name]
        if name == "not_a_log":
            assert row["problems"] and row["days_logged"] == 0
            continue
        one = summary(folder / f"{name}.csv", routine=routine, today=TODAY)
        assert_row_is_summary(records[name], one)
        problems = one.messages and any(
            "row(s) of the log have problems" in m for m in one.messages
        )
        assert bool(row["problems"]) == bool(problems), name
        damaged += bool(row["problems"])
    assert damaged >= 8  # the corpus is damaged, not only clean logs
    assert table.loc["clean", "problems"] == [] and table.loc["clean", "days_logged"] > 60


def test_local_processes_and_a_file_url_give_the_same_table(cohort_dir, routine):
    serial = summarise(log_files(cohort_dir), routine=routine, workers=1)
    pooled = summarise(log_files(f"file://{cohort_dir}"), routine=routine, workers=2)
    pd.testing.assert_frame_equal(serial, pooled)
    assert list(serial["path"]) == [str(p) for p in sorted(cohort_dir.glob("*.csv"))]


CUSTOM_ROUTINE = (
    'title = "One long exercise"\nsource = "test"\nsafety = []\n\n[[exercise]]\n'
    'id = "floor_relaxation"\nname = "Relaxation"\ndose_minutes = 50\n'
)
"""A routine that prescribes 50 minutes of what the demo logs do for about 5."""


def test_a_routine_file_beside_the_logs_applies_to_them(cohort_dir):
    (cohort_dir / "routine.toml").write_text(
        CUSTOM_ROUTINE,
        encoding="utf-8",
    )
    table = summarise(log_files(cohort_dir)).set_index("patient")
    default = summarise(log_files(cohort_dir), routine_path=None, routine=_default()).set_index(
        "patient"
    )
    for patient in ("p2", "rising"):
        one = summary(cohort_dir / f"{patient}.csv")
        assert _close(table.loc[patient, "adherence_28day"], one.adherence_28day.value)
        assert table.loc[patient, "adherence_28day"] < default.loc[patient, "adherence_28day"]


def _default():
    from backtrack.routine import default_routine

    return default_routine()


SECRET = "root:x:0:0:a first line that must never be printed"


def _entries(folder, outside):
    """Every kind of ``*.csv`` entry a folder can hold → the skip reason (None: read)."""
    write_demo(folder / "good.csv", days=20, seed=3, end=END)
    (outside / "passwd").write_text(SECRET + "\n", encoding="utf-8")
    (outside / "dir").mkdir()
    made = {
        "good.csv": None,
        "inside_link.csv": None,  # a link to a log inside the folder is read
        "out_link.csv": "a link to a file outside the folder: not read",
        "out_dir_link.csv": "a link to a file outside the folder: not read",
        "out_dangling.csv": "a link to a file outside the folder: not read",
        "dangling.csv": "a link to nothing (dangling)",
        "folder.csv": "a folder, not a log",
        "fifo.csv": "a FIFO (named pipe), not a log file",
        "fifo_link.csv": "a FIFO (named pipe), not a log file",
        "loop.csv": "cannot be read (Too many levels of symbolic links)",
    }
    (folder / "inside_link.csv").symlink_to("good.csv")
    (folder / "out_link.csv").symlink_to(outside / "passwd")
    (folder / "out_dir_link.csv").symlink_to(outside / "dir")
    (folder / "out_dangling.csv").symlink_to(outside / "gone")
    (folder / "dangling.csv").symlink_to(folder / "gone.txt")
    (folder / "folder.csv").mkdir()
    os.mkfifo(folder / "fifo.csv")
    (folder / "fifo_link.csv").symlink_to("fifo.csv")
    (folder / "loop.csv").symlink_to("loop.csv")
    return made


def test_the_cohort_stays_in_its_folder_and_names_every_entry_it_skips(tmp_path, capsys):
    folder, outside = tmp_path / "clinic", tmp_path / "elsewhere"
    folder.mkdir()
    outside.mkdir()
    made = _entries(folder, outside)
    scan = scan_folder(folder)
    assert scan.logs == [str(folder / n) for n in sorted(made) if made[n] is None]
    assert {s.name: s.reason for s in scan.skipped} == {
        n: why for n, why in made.items() if why is not None
    }
    assert main(["cohort", str(folder)]) == 0
    out, err = capsys.readouterr()
    for name, why in made.items():
        if why is not None:
            assert f"skipped: {name}: {why}\n" in err
    assert "root:x" not in out + err and str(outside) not in out + err


def test_an_unreadable_log_is_named_not_dropped(tmp_path):
    """Run as a user who cannot read one file (root drops to nobody in a child process)."""
    folder = Path(tempfile.mkdtemp(prefix="cohort-"))  # not under the 0700 pytest folder
    try:
        os.chmod(folder, 0o755)
        write_demo(folder / "good.csv", days=20, seed=3, end=END)
        os.chmod(folder / "good.csv", 0o644)
        write_demo(folder / "locked.csv", days=20, seed=4, end=END)
        os.chmod(folder / "locked.csv", 0o000)
        receive, send = multiprocessing.get_context("fork").Pipe(duplex=False)
        child = multiprocessing.get_context("fork").Process(
            target=_scan_unprivileged, args=(folder, send)
        )
        child.start()
        send.close()
        logs, skipped = receive.recv()
        child.join()
        assert logs == [str(folder / "good.csv")]
        assert skipped == ["locked.csv: cannot be read (Permission denied)"]
    finally:
        shutil.rmtree(folder)


def _scan_unprivileged(folder, send) -> None:
    if os.geteuid() == 0:
        os.setgid(65534)
        os.setuid(65534)
    scan = scan_folder(folder)
    send.send((scan.logs, [str(s) for s in scan.skipped]))
