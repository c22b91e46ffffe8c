"""backtrack remind: an RFC 5545 calendar (parsed back with icalendar) and a check that is
silent on days already logged."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, time, timedelta

import pytest
from icalendar import Calendar

from backtrack import actions, remind
from backtrack.cli import main


def _event(path):
    calendar = Calendar.from_ical(path.read_bytes())
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 1
    return calendar, events[0]


def test_ics_is_a_daily_floating_reminder_with_an_alarm(tmp_path, capsys):
    path = tmp_path / "backtrack.ics"
    assert main(["remind", "--ics", "-o", str(path), "--at", "20:00"]) == 0
    assert "20:00" in capsys.readouterr().out
    raw = path.read_bytes()
    assert raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))
    calendar, event = _event(path)
    assert calendar["VERSION"] == "2.0" and calendar["PRODID"]
    start = event.decoded("DTSTART")
    assert isinstance(start, datetime) and start.tzinfo is None  # floating local time
    assert start.time() == time(20, 0)
    assert start.date() == datetime.now().astimezone().date()
    assert event.decoded("DURATION") == timedelta(minutes=10)
    rule = event["RRULE"]
    assert rule["FREQ"] == ["DAILY"] and "COUNT" not in rule and "UNTIL" not in rule
    alarms = list(event.walk("VALARM"))
    assert len(alarms) == 1 and alarms[0]["ACTION"] == "DISPLAY"
    assert alarms[0].decoded("TRIGGER") == timedelta(0)
    assert event["DTSTAMP"]
    assert "token" not in raw.decode().lower()  # no address with a token in a calendar


def test_uid_is_stable_across_runs_and_times(tmp_path):
    first, second = tmp_path / "a.ics", tmp_path / "b.ics"
    assert main(["remind", "--ics", "-o", str(first), "--at", "20:00"]) == 0
    assert main(["remind", "--ics", "-o", str(second), "--at", "7:30"]) == 0
    (_, one), (_, two) = _event(first), _event(second)
    assert one["UID"] == two["UID"] == remind.UID
    assert two.decoded("DTSTART").time() == time(7, 30)


@pytest.mark.parametrize("bad", ["25:00", "8pm", "20", "20:5", ""])
def test_bad_times_are_refused(tmp_path, capsys, bad):
    path = tmp_path / "x.ics"
    assert main(["remind", "--ics", "-o", str(path), "--at", bad]) == 2
    assert "--at: expected a time of day HH:MM" in capsys.readouterr().err
    assert not path.exists()


def test_long_lines_fold_and_unfold_exactly():
    text = "é" * 100
    folded = remind._fold("DESCRIPTION:" + text)
    assert all(len(part.encode()) <= 75 for part in folded.split("\r\n"))
    assert folded.replace("\r\n ", "") == "DESCRIPTION:" + text


def _log(path, day, **fields):
    fields.setdefault("pain", 3)
    return actions.log_day(path, day=day, now=datetime.now().astimezone(), **fields)


def test_if_not_logged_reminds_until_today_is_logged(tmp_path, capsys):
    log = tmp_path / "data" / "backtrack.csv"
    args = ["remind", "--if-not-logged", "--no-notify", "--csv", str(log)]
    assert main(args) == 0  # no log at all: remind
    assert "is not logged yet" in capsys.readouterr().out
    today = datetime.now().astimezone().date()
    _log(log, today - timedelta(days=1))  # yesterday does not count for today
    assert main(args) == 0
    assert "is not logged yet" in capsys.readouterr().out
    _log(log, today)
    assert main(args) == 0
    assert capsys.readouterr() == ("", "")  # silent


def test_a_withdrawn_day_is_not_logged(tmp_path):
    log = tmp_path / "backtrack.csv"
    today = datetime.now().astimezone().date()
    _log(log, today)
    assert remind.logged_today(log, today)
    void_day = getattr(actions, "void_day", None)
    if void_day is None:
        pytest.fail("actions.void_day is missing (issue 11, item 10)")
    void_day(log, day=today, now=datetime.now().astimezone() + timedelta(seconds=1))
    assert not remind.logged_today(log, today)


def test_logged_on_reads_each_dates_latest_save(tmp_path):
    log = tmp_path / "backtrack.csv"
    day = date(2026, 11, 20)
    assert not remind.logged_on(
        actions.load_log(log).entries if log.exists() else __import__("pandas").DataFrame(), day
    )
    actions.log_day(log, pain=2, day=day, now=datetime(2026, 11, 20, 21, 0).astimezone())
    entries = actions.load_log(log).entries
    assert remind.logged_on(entries, day) and not remind.logged_on(entries, day + timedelta(1))


def test_cron_line_runs_as_a_command(tmp_path):
    """What cron runs: the console script's module, silent when logged (exit 0)."""
    log = tmp_path / "backtrack.csv"
    _log(log, datetime.now().astimezone().date())
    done = subprocess.run(
        [sys.executable, "-m", "backtrack", "remind", "--if-not-logged", "--csv", str(log)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_usage_needs_one_of_the_two(capsys):
    assert main(["remind"]) == 2
    assert "--ics" in capsys.readouterr().err
