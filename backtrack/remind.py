"""Reminders that know whether you logged: a daily calendar event, and a check for cron.

- :func:`calendar` writes an RFC 5545 calendar with one daily event: ``RRULE:FREQ=DAILY``,
  a floating local time (``DTSTART:20261202T200000``, no time zone: 20:00 wherever you
  are), a ``VALARM`` with ``ACTION:DISPLAY`` at the start, and a 10-minute duration so
  calendars that ignore alarms still show (and notify) the event. Its ``UID`` is the same
  on every run, so importing a new file (another time) updates the event instead of
  adding a second one. It holds no health data and no address with a token: a calendar
  is often synced to a server.
- :func:`logged_today` reads the log: today counts as logged when its latest save is
  not a withdrawal (``void``). ``backtrack remind --if-not-logged`` prints nothing when
  it is, else a reminder (and a desktop notification where ``notify-send`` exists).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, date, datetime, time
from pathlib import Path

import pandas as pd

from ._files import CALENDAR, Kept, write_private
from .actions import load_log
from .errors import InputError
from .schema import VOID
from .store import latest_per_date, resolve_log_path

UID = "daily-log-reminder@backtrack.local"
"""The event's UID: stable across runs and machines (one reminder per calendar)."""
PRODID = "-//backtrack//daily reminder//EN"
SUMMARY = "Log your back routine (backtrack)"
DESCRIPTION = (
    "Open your bookmarked tracker (make lab) and log today's pain and exercises: "
    "about 20 seconds. No need if you already did."
)


def parse_time(text: str) -> time:
    """``20:00`` → 20:00 (24-hour ``HH:MM``)."""
    try:
        hours, minutes = text.strip().split(":")
        if len(hours) not in (1, 2) or len(minutes) != 2:
            raise ValueError
        return time(int(hours), int(minutes))
    except ValueError:
        raise InputError("--at", "a time of day HH:MM (24-hour), e.g. 20:00", text) from None


def _fold(line: str) -> str:
    """RFC 5545 §3.1: lines longer than 75 octets are folded (CRLF + one space)."""
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line
    parts: list[str] = []
    current = b""
    for char in line:
        encoded = char.encode("utf-8")
        if len(current) + len(encoded) > (75 if not parts else 74):
            parts.append(current.decode("utf-8"))
            current = b""
        current += encoded
    parts.append(current.decode("utf-8"))
    return "\r\n ".join(parts)


def _text(value: str) -> str:
    """RFC 5545 §3.3.11 TEXT escaping."""
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def calendar(at: time, *, start: date, now: datetime | None = None) -> str:
    """The calendar (text, CRLF line ends): a daily reminder at ``at`` (floating local
    time) from ``start`` on."""
    now = now or datetime.now(UTC)
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    first = datetime.combine(start, at)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{UID}",
        f"DTSTAMP:{stamp}",
        f"DTSTART:{first:%Y%m%dT%H%M%S}",
        "DURATION:PT10M",
        "RRULE:FREQ=DAILY",
        f"SUMMARY:{_text(SUMMARY)}",
        f"DESCRIPTION:{_text(DESCRIPTION)}",
        "TRANSP:TRANSPARENT",
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        f"DESCRIPTION:{_text(SUMMARY)}",
        "TRIGGER:PT0M",
        "END:VALARM",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "".join(_fold(line) + "\r\n" for line in lines)


def write_calendar(
    path: str | os.PathLike[str],
    at: time,
    *,
    start: date,
    force: bool = False,
    keep: Kept | None = None,
) -> Path:
    """Write :func:`calendar` to ``path`` (``-`` is not handled here) whole, 0600;
    ``keep`` is never replaced, a file that is not a calendar only with ``force``
    (:func:`backtrack._files.check_output`). Returns the path."""
    data = calendar(at, start=start).encode("utf-8")
    return write_private(path, data, kind=CALENDAR, force=force, keep=keep or {})


def logged_on(entries: pd.DataFrame, day: date) -> bool:
    """True when ``day`` has a save whose latest is not a withdrawal (``void``)."""
    if entries.empty:
        return False

    latest = latest_per_date(entries)
    rows = latest[latest["date"] == pd.Timestamp(day)]
    return bool(len(rows)) and rows.iloc[-1]["day"] != VOID


def logged_today(path: str | os.PathLike[str] | None = None, today: date | None = None) -> bool:
    """Whether today (local date) is logged in the log at ``path`` (no log: not logged)."""

    log_path = resolve_log_path(path)
    if not log_path.exists():
        return False
    today = today or datetime.now().astimezone().date()
    return logged_on(load_log(log_path).entries, today)


def reminder_text(today: date) -> str:
    return (
        f"backtrack: {today:%A} {today.day} {today:%B} is not logged yet. "
        "Open your bookmarked tracker (make lab) or run "
        "`backtrack log --pain N --done all`: about 20 seconds."
    )


def notify(text: str) -> bool:
    """A desktop notification via ``notify-send`` when it exists and a session bus is
    there to show it (a systemd user timer has one; cron usually has not). True if sent."""
    command = shutil.which("notify-send")
    if command is None or not (
        os.environ.get("DBUS_SESSION_BUS_ADDRESS") or os.environ.get("DISPLAY")
    ):
        return False
    done = subprocess.run(
        [command, "--app-name=backtrack", "backtrack", text],
        capture_output=True,
        timeout=10,
        check=False,
    )
    return done.returncode == 0
