"""Local days in a time zone: "today", whole days since, month steps that keep the day of the month."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TZ = "Asia/Shanghai"


@lru_cache(maxsize=256)
def zone(name: str | None) -> ZoneInfo:
    """The zone by name; an unknown or empty name falls back to China time rather than failing a request."""
    try:
        return ZoneInfo(name or DEFAULT_TZ)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TZ)


def local_today(tz: str | None, now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(zone(tz)).date()


def day_start(day: date, tz: str | None) -> datetime:
    """The UTC instant at which `day` begins in `tz`."""
    return datetime.combine(day, time(), tzinfo=zone(tz)).astimezone(UTC)


def days_since(when: datetime | None, tz: str | None, now: datetime | None = None) -> int | None:
    """Whole calendar days between the local day of `when` and today (0 = today); None when never."""
    if when is None:
        return None
    then = when.astimezone(zone(tz)).date()
    return max(0, (local_today(tz, now) - then).days)


def add_days_local(when: datetime, days: int, tz: str | None) -> datetime:
    """Same wall-clock time `days` later in `tz` (a day is not always 24 hours where clocks change)."""
    local = when.astimezone(zone(tz))
    naive = local.replace(tzinfo=None) + timedelta(days=days)
    return naive.replace(tzinfo=zone(tz)).astimezone(UTC)


def add_month_local(when: datetime, anchor_day: int, tz: str | None) -> datetime:
    """The next month at the same wall-clock time, on `anchor_day` or the month's last day if shorter."""
    local = when.astimezone(zone(tz))
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    day = min(anchor_day, calendar.monthrange(year, month)[1])
    naive = local.replace(tzinfo=None).replace(year=year, month=month, day=day)
    return naive.replace(tzinfo=zone(tz)).astimezone(UTC)


def local_day_of(when: datetime, tz: str | None) -> int:
    return when.astimezone(zone(tz)).day


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """A time in UTC; one without an offset (a query string, SQLite) is UTC, like every time in the API."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
