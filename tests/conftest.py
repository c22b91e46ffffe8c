"""Shared fixtures for the package tests."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from backtrack.routine import default_routine

TZ = timezone(timedelta(hours=1))


@pytest.fixture
def log_path(tmp_path):
    """A log path inside a folder that does not exist yet."""
    return tmp_path / "data" / "backtrack.csv"


@pytest.fixture
def routine():
    return default_routine()


@pytest.fixture
def now():
    """A fixed 'now' with a UTC offset: 2026-11-20 20:15 +01:00."""
    return datetime(2026, 11, 20, 20, 15, tzinfo=TZ)


@pytest.fixture
def today(now):
    return now.date()


def days_before(day: date, n: int) -> date:
    return day - timedelta(days=n)
