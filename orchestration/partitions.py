"""Billing periods and knowledge-time windows as pure functions (no Dagster, no I/O).

A billing period is a calendar month ``YYYY-MM`` (UTC) ``[start, end)``; it closes at
``close(P) = end(P) + grace_hours``. A *final* build of P uses the knowledge cutoff
``as_of = close(P)`` so a rebuild at any later time gives the same numbers; a *draft* (a period
that has not closed, or an explicit preview) uses ``as_of = now``.
"""
from __future__ import annotations

import datetime as dt
import os
import re
from typing import Any, Mapping

UTC = dt.timezone.utc
_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# First day of the Dagster partitions (daily extraction windows, monthly periods).
PARTITIONS_START_ENV = "ABACUS_PARTITIONS_START"
DEFAULT_PARTITIONS_START = "2025-01-01"


def partitions_start(environ: Mapping[str, str] | None = None) -> str:
    """The first partition day (``YYYY-MM-01``): ``$ABACUS_PARTITIONS_START`` or 2025-01-01."""
    env = os.environ if environ is None else environ
    value = (env.get(PARTITIONS_START_ENV) or DEFAULT_PARTITIONS_START).strip()
    if _PERIOD.match(value):
        value += "-01"
    day = parse_day(value)
    return day.strftime("%Y-%m-01")


def parse_period(period: str) -> tuple[int, int]:
    """``'2026-10'`` -> ``(2026, 10)``; anything else is a ValueError naming the bad value."""
    m = _PERIOD.match(period.strip()) if isinstance(period, str) else None
    if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 1:
        raise ValueError(f"period {period!r} is not a calendar month written YYYY-MM (e.g. 2026-10)")
    return int(m.group(1)), int(m.group(2))


def parse_day(day: str) -> dt.datetime:
    """``'2026-10-05'`` -> aware UTC midnight; a ValueError naming the bad value otherwise."""
    if not isinstance(day, str) or not _DAY.match(day.strip()):
        raise ValueError(f"day {day!r} is not a date written YYYY-MM-DD")
    try:
        return dt.datetime.strptime(day.strip(), "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f"day {day!r} is not a valid calendar date") from None


# Flags of every production `dbt build` (Dagster's, and the benchmark's full and daily builds):
# dbt unit tests test SQL on fixtures and run in CI (tests/test_dbt_unit.py), not on the data.
PRODUCTION_BUILD_FLAGS = ("--exclude-resource-type", "unit_test")


def utc_now(environ: Mapping[str, str] | None = None) -> dt.datetime:
    """The orchestration's clock: now (UTC), or the ISO time in ``ABACUS_NOW`` when set (tests and
    rehearsals pin what the sensor and the CLI gate see as now)."""
    pinned = (os.environ if environ is None else environ).get("ABACUS_NOW")
    if pinned:
        return as_utc(dt.datetime.fromisoformat(pinned))
    return dt.datetime.now(dt.timezone.utc)


def as_utc(ts: dt.datetime) -> dt.datetime:
    """Aware UTC; a naive timestamp is taken to be UTC already."""
    if not isinstance(ts, dt.datetime):
        raise ValueError(f"expected a datetime, got {ts!r}")
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def period_bounds(period: str) -> tuple[dt.datetime, dt.datetime]:
    """``[start, end)`` of the month, aware UTC."""
    year, month = parse_period(period)
    start = dt.datetime(year, month, 1, tzinfo=UTC)
    end = dt.datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def period_hours(period: str) -> int:
    start, end = period_bounds(period)
    return int((end - start).total_seconds() // 3600)


def close_at(period: str, grace_hours: int | float) -> dt.datetime:
    """``close(P) = end(P) + grace_hours``."""
    if isinstance(grace_hours, bool) or not isinstance(grace_hours, (int, float)) or grace_hours < 0:
        raise ValueError(f"grace_hours must be a number >= 0, got {grace_hours!r}")
    return period_bounds(period)[1] + dt.timedelta(hours=grace_hours)


def period_of(ts: dt.datetime) -> str:
    """The period containing the instant ``ts`` (naive = UTC)."""
    t = as_utc(ts)
    return f"{t.year:04d}-{t.month:02d}"


def next_period(period: str, n: int = 1) -> str:
    year, month = parse_period(period)
    index = year * 12 + (month - 1) + n
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def periods_between(first: str, last: str) -> list[str]:
    """Every period from ``first`` to ``last`` inclusive (empty when last < first)."""
    out: list[str] = []
    p = first
    parse_period(last)
    while p <= last:
        out.append(p)
        p = next_period(p)
    return out


def is_closed(period: str, grace_hours: int | float, now: dt.datetime) -> bool:
    return close_at(period, grace_hours) <= as_utc(now)


def closed_periods(first: str, grace_hours: int | float, now: dt.datetime) -> list[str]:
    """Periods from ``first`` whose close has passed at ``now``, oldest first."""
    return [p for p in periods_between(first, period_of(now)) if is_closed(p, grace_hours, now)]


def latest_closed_period(grace_hours: int | float, now: dt.datetime) -> str:
    p = period_of(now)
    while not is_closed(p, grace_hours, now):
        p = next_period(p, -1)
    return p


def format_ts(ts: dt.datetime) -> str:
    """TIMESTAMP text as dbt and DuckDB read it: ``2026-11-04 00:00:00`` (UTC, no zone)."""
    t = as_utc(ts)
    text = t.strftime("%Y-%m-%d %H:%M:%S")
    return text + (f".{t.microsecond:06d}" if t.microsecond else "")


def dbt_vars_for_period(period: str, cfg: Any, *, draft: bool, now: dt.datetime,
                        scoped: bool = False) -> dict[str, Any]:
    """The dbt ``--vars`` of a build of ``period``.

    Final (``draft=False``): ``as_of = close(P)``, so a rebuild gives the same numbers; refused
    (ValueError) when P has not closed at ``now``. Draft: ``as_of = now``.
    ``scoped=True`` adds ``period = P``: the build computes only what P's invoices and statements
    need (dbt ``macros/scope.sql``; P's rows equal an unscoped build's) and the marts then hold
    P alone. Dagster's period runs are not scoped, so the marts that SQL and BI users read keep
    every period (as known at ``as_of``); the benchmark and ad-hoc runs may scope.
    ``cfg`` is an ``extract.config.Config`` (``grace_hours``, ``dbt_vars()``).
    """
    parse_period(period)
    close = close_at(period, cfg.grace_hours)
    now = as_utc(now)
    if draft:
        as_of = now
    else:
        if close > now:
            raise ValueError(
                f"period {period} closes at {close:%Y-%m-%dT%H:%M}Z (end + {cfg.grace_hours} h grace); "
                "before that it can only be built as a draft")
        as_of = close
    dbt_vars = {**cfg.dbt_vars(), "as_of": format_ts(as_of)}
    if scoped:
        dbt_vars["period"] = period.strip()
    return dbt_vars


def day_window(day: str) -> tuple[dt.datetime, dt.datetime]:
    """Knowledge-time window ``[day, day + 1)`` of a daily extraction partition."""
    start = parse_day(day)
    return start, start + dt.timedelta(days=1)


def periods_to_request(now: dt.datetime, grace_hours: int | float, first: str, finals: set[str],
                       lookback: int = 2) -> list[str]:
    """Period-close sensor: the last ``lookback`` closed periods without a final report, oldest first."""
    closed = closed_periods(first[:7], grace_hours, now)
    return [p for p in closed[-lookback:] if p not in finals]
