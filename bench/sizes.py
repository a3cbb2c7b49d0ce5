"""Benchmark sizes: which generator preset each size uses, and which period is measured.

S = the generator's ``demo`` preset (seconds; runs anywhere), M ≈ 1M contracts / 10M transfer
reports / 5M usage events / 1M samples, L ≈ 5M contracts / 50M transfer reports / 20M usage
events / 5M samples over 3 months (both from ``extract.generate.NetworkSpec``). The measured
period Q is the last full month of the generated data, built with ``as_of`` pinned to the
generator's horizon (after close(Q)), so every step sees the same closed, reproducible period.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

SIZES = ("S", "M", "L")
# benchmark size -> extract.generate.NetworkSpec.preset name
PRESET = {"S": "demo", "M": "M", "L": "L", "TINY": "tiny"}


@dataclass(frozen=True)
class SizePlan:
    size: str
    preset: str
    spec: object  # extract.generate.NetworkSpec
    period: str  # YYYY-MM of the measured (closed) period Q
    period_start: dt.datetime  # naive UTC
    as_of: dt.datetime  # naive UTC, >= close(Q)
    grace_hours: int
    max_adjustment_periods: int
    gauge_max_gap_hours: int

    @property
    def dbt_vars(self) -> dict:
        return {"as_of": self.as_of.strftime("%Y-%m-%d %H:%M:%S"), "grace_hours": self.grace_hours,
                "max_adjustment_periods": self.max_adjustment_periods,
                "gauge_max_gap_hours": self.gauge_max_gap_hours}


def _naive(t: dt.datetime) -> dt.datetime:
    return t.astimezone(dt.timezone.utc).replace(tzinfo=None) if t.tzinfo else t


def _add_months(t: dt.datetime, n: int) -> dt.datetime:
    y, m = divmod(t.month - 1 + n, 12)
    return t.replace(year=t.year + y, month=m + 1, day=1)


def plan(size: str, seed: int = 7, max_adjustment_periods: int = 3, gauge_max_gap_hours: int = 24) -> SizePlan:
    from extract.generate import NetworkSpec

    key = size.upper()
    if key not in PRESET:
        raise ValueError(f"--size: unknown size {size!r} (S, M, L)")
    spec = NetworkSpec.preset(PRESET[key], seed)
    start = _naive(spec.start).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    horizon = _naive(spec.horizon)
    grace = int(spec.grace_hours)
    # Q = the last month whose close is <= the horizon (the data's end)
    q = _add_months(start, int(spec.months) - 1)
    while _add_months(q, 1) + dt.timedelta(hours=grace) > horizon and q > start:
        q = _add_months(q, -1)
    return SizePlan(size=key, preset=PRESET[key], spec=spec, period=q.strftime("%Y-%m"), period_start=q,
                    as_of=horizon, grace_hours=grace, max_adjustment_periods=max_adjustment_periods,
                    gauge_max_gap_hours=gauge_max_gap_hours)
