"""Pure period/partition functions and the gate's verdict (no I/O)."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from extract.state import CollectionStatus, SourceStatus
from orchestration.gate import evaluate
from orchestration.partitions import (
    close_at,
    closed_periods,
    day_window,
    dbt_vars_for_period,
    format_ts,
    latest_closed_period,
    next_period,
    parse_period,
    period_bounds,
    period_hours,
    period_of,
    periods_between,
    periods_to_request,
)
from orchestration.reports import canonical_text, lines_sha256

UTC = dt.timezone.utc


def cfg(grace=72):
    src = [SimpleNamespace(name="storage_network", collections=("contracts",)),
           SimpleNamespace(name="compute", collections=("usage_events",))]
    return SimpleNamespace(grace_hours=grace, sources=src,
                           dbt_vars=lambda: {"grace_hours": grace, "max_adjustment_periods": 3,
                                             "gauge_max_gap_hours": 24})


def test_period_bounds_and_close():
    assert period_bounds("2026-10") == (dt.datetime(2026, 10, 1, tzinfo=UTC), dt.datetime(2026, 11, 1, tzinfo=UTC))
    assert period_bounds("2026-12") == (dt.datetime(2026, 12, 1, tzinfo=UTC), dt.datetime(2027, 1, 1, tzinfo=UTC))
    assert period_hours("2026-10") == 744
    assert period_hours("2028-02") == 696
    assert close_at("2026-10", 72) == dt.datetime(2026, 11, 4, tzinfo=UTC)
    assert close_at("2026-10", 0) == dt.datetime(2026, 11, 1, tzinfo=UTC)


@pytest.mark.parametrize("bad", ["2026-13", "2026-00", "2026-1", "26-10", "2026/10", "", "2026-10-01", "abcd-ef"])
def test_malformed_period(bad):
    with pytest.raises(ValueError, match="is not a calendar month written YYYY-MM"):
        parse_period(bad)
    with pytest.raises(ValueError):
        period_bounds(bad)


def test_period_of_and_sequences():
    assert period_of(dt.datetime(2026, 10, 31, 23, 59, 59)) == "2026-10"
    assert period_of(dt.datetime(2026, 11, 1, 0, 0, tzinfo=UTC)) == "2026-11"
    # an aware time in another zone is converted to UTC first
    tz = dt.timezone(dt.timedelta(hours=2))
    assert period_of(dt.datetime(2026, 11, 1, 1, 0, tzinfo=tz)) == "2026-10"
    assert next_period("2026-12") == "2027-01"
    assert next_period("2027-01", -1) == "2026-12"
    assert periods_between("2026-11", "2027-02") == ["2026-11", "2026-12", "2027-01", "2027-02"]
    assert periods_between("2026-11", "2026-10") == []


def test_closed_periods():
    now = dt.datetime(2026, 11, 4, 0, 0, tzinfo=UTC)
    assert closed_periods("2026-08", 72, now) == ["2026-08", "2026-09", "2026-10"]
    assert closed_periods("2026-08", 72, now - dt.timedelta(seconds=1)) == ["2026-08", "2026-09"]
    assert latest_closed_period(72, now) == "2026-10"
    assert latest_closed_period(72, now - dt.timedelta(seconds=1)) == "2026-09"


def test_dbt_vars_final_is_close_and_independent_of_now():
    c = cfg()
    a = dbt_vars_for_period("2026-10", c, draft=False, now=dt.datetime(2026, 11, 21, 19, 0, tzinfo=UTC))
    b = dbt_vars_for_period("2026-10", c, draft=False, now=dt.datetime(2027, 3, 1, tzinfo=UTC))
    assert a == b == {"grace_hours": 72, "max_adjustment_periods": 3, "gauge_max_gap_hours": 24,
                      "as_of": "2026-11-04 00:00:00"}
    scoped = dbt_vars_for_period("2026-10", c, draft=False, now=dt.datetime(2027, 3, 1, tzinfo=UTC), scoped=True)
    assert scoped == {**a, "period": "2026-10"}


def test_dbt_vars_draft_is_now_and_open_period_needs_draft():
    c = cfg()
    now = dt.datetime(2026, 11, 21, 19, 5, 6, tzinfo=UTC)
    assert dbt_vars_for_period("2026-11", c, draft=True, now=now)["as_of"] == "2026-11-21 19:05:06"
    assert "period" not in dbt_vars_for_period("2026-11", c, draft=True, now=now)
    assert dbt_vars_for_period("2026-11", c, draft=True, now=now, scoped=True)["period"] == "2026-11"
    with pytest.raises(ValueError, match=r"period 2026-11 closes at 2026-12-04T00:00Z .*draft"):
        dbt_vars_for_period("2026-11", c, draft=False, now=now)
    with pytest.raises(ValueError, match="not a calendar month"):
        dbt_vars_for_period("2026-1", c, draft=True, now=now)


def test_format_ts_and_day_window():
    assert format_ts(dt.datetime(2026, 1, 2, 3, 4, 5, 6)) == "2026-01-02 03:04:05.000006"
    assert day_window("2026-10-31") == (dt.datetime(2026, 10, 31, tzinfo=UTC), dt.datetime(2026, 11, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="not a date"):
        day_window("2026-10")
    with pytest.raises(ValueError, match="not a valid calendar date"):
        day_window("2026-02-30")


def _status(name, wm, failed=False, error=None):
    col = CollectionStatus(name, "x", wm, "failed" if failed else "success", error, None)
    return SourceStatus(name, wm, failed, (col,))


def test_gate_verdicts_name_each_blocking_source():
    c = cfg()
    close = dt.datetime(2026, 11, 4, tzinfo=UTC)
    now = dt.datetime(2026, 11, 21, tzinfo=UTC)
    ok = evaluate({"storage_network": _status("storage_network", close), "compute": _status("compute", close)},
                  c, "2026-10", now=now)
    assert ok.ok and ok.blocking == []
    lag = evaluate({"storage_network": _status("storage_network", close - dt.timedelta(hours=1)),
                    "compute": _status("compute", None, failed=True, error="ServerSelectionTimeoutError")},
                   c, "2026-10", now=now)
    assert not lag.ok
    assert [s.source for s in lag.blocking] == ["storage_network", "compute"]
    assert lag.message == (
        "period 2026-10 cannot be built: storage_network: not extracted past close 2026-11-04T00:00Z "
        "(watermark 2026-11-03T23:00:00Z); compute: last extraction failed "
        "(x: ServerSelectionTimeoutError), never extracted")
    missing = evaluate({}, c, "2026-10", now=now)
    assert [s.reason for s in missing.blocking] == ["not extracted past close 2026-11-04T00:00Z (never extracted)"] * 2


def test_gate_open_period_only_as_draft():
    c = cfg()
    now = dt.datetime(2026, 11, 21, tzinfo=UTC)
    st = {"storage_network": _status("storage_network", now), "compute": _status("compute", now)}
    refused = evaluate(st, c, "2026-11", now=now)
    assert not refused.ok
    assert refused.message == ("period 2026-11 cannot be built: it closes at 2026-12-04T00:00Z; build it with "
                               "--draft to preview; storage_network: not extracted past close 2026-12-04T00:00Z "
                               "(watermark 2026-11-21T00:00:00Z); compute: not extracted past close "
                               "2026-12-04T00:00Z (watermark 2026-11-21T00:00:00Z)")
    assert evaluate(st, c, "2026-11", now=now, draft=True).ok


def test_period_close_sensor_decision():
    now = dt.datetime(2026, 11, 21, tzinfo=UTC)
    assert periods_to_request(now, 72, "2025-01-01", set()) == ["2026-09", "2026-10"]
    assert periods_to_request(now, 72, "2025-01-01", {"2026-10"}) == ["2026-09"]
    assert periods_to_request(dt.datetime(2026, 11, 3, 23, tzinfo=UTC), 72, "2025-01-01", {"2026-09"}) == ["2026-08"]


def test_canonical_text_and_hash_ignore_order_and_run_metadata():
    from decimal import Decimal as D
    assert canonical_text(D("2.40")) == "2.40"
    assert canonical_text(D("1E+2")) == "100"
    assert canonical_text(None) == "\\N"
    assert canonical_text(dt.datetime(2026, 11, 4)) == "2026-11-04T00:00:00"
    cols = [("line_id", "VARCHAR"), ("amount", "DECIMAL(18,2)"), ("built_at", "TIMESTAMP")]
    a = [("b", D("1.00"), dt.datetime(2026, 1, 1)), ("a", D("2.40"), dt.datetime(2026, 1, 1))]
    b = [("a", D("2.40"), dt.datetime(2027, 1, 1)), ("b", D("1.00"), dt.datetime(2027, 1, 1))]
    assert lines_sha256(a, cols) == lines_sha256(b, cols)
    assert lines_sha256(a, cols) != lines_sha256([("a", D("2.41"), None), ("b", D("1.00"), None)], cols)
    assert lines_sha256([], cols) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_utc_now_is_pinned_by_abacus_now():
    import datetime as dt

    from orchestration.partitions import utc_now
    assert utc_now({"ABACUS_NOW": "2026-11-21T00:15:00+00:00"}) == dt.datetime(2026, 11, 21, 0, 15, tzinfo=dt.timezone.utc)
    assert utc_now({"ABACUS_NOW": "2026-11-21 00:15:00"}) == dt.datetime(2026, 11, 21, 0, 15, tzinfo=dt.timezone.utc)
    assert abs((utc_now({}) - dt.datetime.now(dt.timezone.utc)).total_seconds()) < 5
