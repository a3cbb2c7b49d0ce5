"""The report build gate.

A final report of period P is built only when every configured source has extracted
successfully past ``close(P)`` (its watermark, the minimum over its collections, is >= close)
and no source's last extraction run failed. A period that has not closed can only be built as an
explicit draft.

Mechanism (Dagster-native): the period build (the dbt assets of partition P, and again the
``period_report`` asset before it records anything) evaluates :func:`check_gate` and raises
``dagster.Failure`` with the gate's per-source metadata *before dbt runs*, so a refused build
costs nothing, changes nothing and shows, in the run's failure event, each failing or lagging
source and its watermark. The CLI (``abacus report build``) evaluates the same function and exits
with code 3.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from orchestration.partitions import as_utc, close_at, parse_period


@dataclass(frozen=True)
class SourceVerdict:
    source: str
    watermark: dt.datetime | None
    failed: bool
    errors: tuple[str, ...]
    ok: bool
    reason: str  # "" when ok

    def as_dict(self) -> dict:
        return {"source": self.source,
                "watermark": self.watermark.isoformat() if self.watermark else None,
                "failed": self.failed, "ok": self.ok, "reason": self.reason}


@dataclass(frozen=True)
class GateResult:
    period: str
    close_at: dt.datetime
    draft: bool
    closed: bool
    sources: tuple[SourceVerdict, ...] = field(default_factory=tuple)

    @property
    def blocking(self) -> list[SourceVerdict]:
        return [s for s in self.sources if not s.ok]

    @property
    def ok(self) -> bool:
        if self.draft:
            return True
        return self.closed and not self.blocking

    @property
    def message(self) -> str:
        if self.ok:
            kind = "draft" if self.draft else "final"
            return f"period {self.period}: ready for a {kind} build (close {self.close_at:%Y-%m-%dT%H:%M}Z)"
        parts = []
        if not self.closed:
            parts.append(f"it closes at {self.close_at:%Y-%m-%dT%H:%M}Z; build it with --draft to preview")
        parts += [f"{s.source}: {s.reason}" for s in self.blocking]
        return f"period {self.period} cannot be built: " + "; ".join(parts)

    def metadata(self) -> dict:
        return {
            "period": self.period,
            "close_at": self.close_at.isoformat(),
            "draft": self.draft,
            "blocking_sources": [s.source for s in self.blocking],
            "sources": [s.as_dict() for s in self.sources],
        }


class GateRefused(RuntimeError):
    def __init__(self, result: GateResult):
        super().__init__(result.message)
        self.result = result


def _fmt(ts: dt.datetime | None) -> str:
    return "never extracted" if ts is None else f"watermark {ts:%Y-%m-%dT%H:%M:%S}Z"


def evaluate(statuses: dict, cfg, period: str, *, now: dt.datetime, draft: bool = False) -> GateResult:
    """Pure verdict from ``extract.state.source_status`` output (source name -> SourceStatus)."""
    parse_period(period)
    close = close_at(period, cfg.grace_hours)
    verdicts = []
    for source in cfg.sources:
        st = statuses.get(source.name)
        wm = getattr(st, "watermark", None)
        failed = bool(getattr(st, "failed", False))
        errors = tuple(st.errors) if st is not None else ()
        reasons = []
        if failed:
            reasons.append("last extraction failed (" + "; ".join(errors)[:300] + f"), {_fmt(wm)}")
        if wm is None or wm < close:
            if not failed:
                reasons.append(f"not extracted past close {close:%Y-%m-%dT%H:%M}Z ({_fmt(wm)})")
            elif wm is not None:
                reasons.append(f"behind close {close:%Y-%m-%dT%H:%M}Z")
        verdicts.append(SourceVerdict(source.name, wm, failed, errors, not reasons, ", ".join(reasons)))
    return GateResult(period, close, draft, close <= as_utc(now), tuple(verdicts))


def check_gate(con, cfg, period: str, *, now: dt.datetime, draft: bool = False) -> GateResult:
    """Read the extraction state from the warehouse connection and evaluate the gate."""
    from extract.state import source_status

    return evaluate(source_status(con, cfg), cfg, period, now=now, draft=draft)


def enforce(con, cfg, period: str, *, now: dt.datetime, draft: bool = False) -> GateResult:
    result = check_gate(con, cfg, period, now=now, draft=draft)
    if not result.ok:
        raise GateRefused(result)
    return result
