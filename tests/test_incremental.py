"""Incremental builds leave the warehouse exactly as a full rebuild would (issue 5, SPEC 4.1).

A generated network is built, then a day of new documents arrives (fresh, late, the missing side
of transfers, new contract versions) plus back-dated duplicates (transfer reports, events,
contract versions, a gauge sample) that must win first-recorded-wins over the stored winners and new rejects,
and as_of moves one day. The warehouse built incrementally is compared,
table by table (and view by view) and row by row, with a --full-refresh build of the same raw
data (every column except the build history: built_through_batch_seq, batch_seq). Then a period-scoped build followed by an
unscoped incremental one must again equal the full rebuild (scoped builds hold partial content).
"""
from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from dbt_support import run_dbt
from extract.generate import NetworkSpec, write_increment_to_duckdb, write_raw_to_duckdb

# the generator's days start at its horizon (11-10 00:00): each run sees half a day's new
# documents, the other half is known after its as_of (in raw, taken in, but not yet known)
AS_OF = "2026-11-10 12:00:00"
NEXT_AS_OF = "2026-11-11 12:00:00"
THIRD_AS_OF = "2026-11-12 12:00:00"
# build history, not content: the stamps of incremental models and the change log's sequence
# numbers (a full rebuild numbers all batches at once)
BUILD_HISTORY_COLUMNS = {"built_through_batch_seq", "batch_seq"}
# chart rows keep the cutoff they were computed at (macros/usage/usage_chart.sql): a row the
# incremental build kept from an earlier day holds an earlier cutoff than the rebuild's copy
KEPT_CUTOFF_TABLES = {"marts.fct_usage_daily", "marts.fct_usage_hourly"}
# samples every 6 h: the draft period holds series long enough to carry part of (per-sample carry)
SPEC = NetworkSpec.tiny(7, n_contracts=120, n_transfers=150, n_usage_events=300, n_samples=1200,
                        sample_interval_hours=6.0)


def _run(warehouse: Path, args: list[str], as_of: str, **extra) -> None:
    res = run_dbt(["run", *args], warehouse, vars={"as_of": as_of, **extra})
    assert res.success, f"dbt run {args} failed: {res.exception}"


def _add_backdated_duplicates(path: Path) -> int:
    """Copies of stored winners known one hour EARLIER (new _id, new batch): they must replace them."""
    con = duckdb.connect(str(path))
    n = 0
    for table, key in (("storage_network__transfer_reports", "transfer_id"), ("compute__usage_events", "event_id")):
        n += con.execute(f"""
            insert into raw."{table}"
            select * replace ('bk' || _id as _id, _knowledge_at - INTERVAL 1 HOUR as _knowledge_at,
                              'backdated' as _batch_id)
            from raw."{table}"
            where _misfit_fields = [] and {key} in (select {key} from raw."{table}" where _misfit_fields = [] order by {key} limit 5)
        """).fetchone()[0]
    # gauge samples of the draft period: a copy (new _id) known earlier displaces a stored
    # winner, so its series is recomputed whole (the other series are carried per sample)
    n += con.execute("""
        insert into raw.storage__usage_samples
        select * replace ('bk' || _id as _id, _knowledge_at - INTERVAL 1 HOUR as _knowledge_at,
                          'backdated' as _batch_id)
        from raw.storage__usage_samples
        where _misfit_fields = [] and observed_at >= '2026-11-05' and resource = 'storage.bytes_used'
        order by observed_at limit 1
    """).fetchone()[0]
    # contract versions: the same version (same _id and updated_at) known earlier must win
    n += con.execute("""
        insert into raw.storage_network__contracts
        select * replace (_knowledge_at - INTERVAL 1 HOUR as _knowledge_at, 'backdated' as _batch_id)
        from raw.storage_network__contracts
        where _misfit_fields = [] and _id in (select _id from raw.storage_network__contracts
                                              where _misfit_fields = [] order by _id limit 5)
    """).fetchone()[0]
    con.close()
    return n


LATE_LINE = ("acct-0001", "acme/ops/erin", "compute.time_used")


def _add_core_seconds(path: Path, batch_id: str, events: list[tuple[str, str]]) -> int:
    """Usage events of 1 core-second on LATE_LINE, (occurred_at, recorded_at) each: 1/3600
    core-hour does not end at 12 decimals, so the charts' cumulative rounding shows. Ids sort
    last, out of the way of the fixture's back-dated copies and rejects (the first ids)."""
    con = duckdb.connect(str(path))
    n = 0
    account, context, resource = LATE_LINE
    for i, (occurred, recorded) in enumerate(events):
        n += con.execute(f"""
            insert into raw.compute__usage_events
            select * replace ('zz-{batch_id}{i}' as _id, 'zz-{batch_id}{i}' as event_id, '{account}' as account_id,
                              '{context}' as context, '{resource}' as resource, '1' as quantity,
                              'core_seconds' as unit, '{occurred}' as occurred_at, '{recorded}' as recorded_at,
                              TIMESTAMP '{recorded}' as _knowledge_at, '{batch_id}' as _batch_id)
            from raw.compute__usage_events
            where _misfit_fields = []
            order by _id limit 1""").fetchone()[0]
    con.close()
    return n


def _add_new_rejects(path: Path) -> int:
    """New-day usage events that must be rejected (negative quantity), in a batch of their own."""
    con = duckdb.connect(str(path))
    n = con.execute("""
        insert into raw.compute__usage_events
        select * replace ('neg' || _id as _id, 'neg' || event_id as event_id, '-' || quantity as quantity,
                          'negatives' as _batch_id)
        from raw.compute__usage_events
        where _misfit_fields = [] and try_cast(quantity as decimal(38,9)) > 0
        order by _id limit 3
    """).fetchone()[0]
    con.close()
    return n


def _copy(src: Path, dest: Path) -> None:
    """Copy a warehouse with its WAL (dbt-duckdb keeps the file open in-process after a run)."""
    for suffix in ("", ".wal"):
        if Path(str(src) + suffix).exists():
            shutil.copyfile(str(src) + suffix, str(dest) + suffix)


def _snapshot(path: Path) -> Path:
    snap = path.with_name(path.stem + "_snapshot.duckdb")
    for f in (snap, Path(str(snap) + ".wal")):
        f.unlink(missing_ok=True)
    _copy(path, snap)
    return snap


def _tables(path: Path) -> dict[str, list[str]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute("""select table_schema || '.' || table_name, column_name
                              from information_schema.columns
                              where table_schema in ('intermediate', 'marts') order by table_schema, table_name, ordinal_position""").fetchall()
        types = dict(con.execute("""select table_schema || '.' || table_name, table_type from information_schema.tables
                                    where table_schema in ('intermediate', 'marts')""").fetchall())
    finally:
        con.close()
    out: dict[str, list[str]] = {}
    for t, c in rows:
        # views too: the records_known views project stored tables and must read the same
        if types.get(t) in ("BASE TABLE", "VIEW") and c not in BUILD_HISTORY_COLUMNS \
                and not (t in KEPT_CUTOFF_TABLES and c == "cutoff_at"):
            out.setdefault(t, []).append(c)
    return out


def _differences(a: Path, b: Path) -> dict[str, tuple[int, int, int]]:
    """{table: (rows, rows only in a, rows only in b)} for tables that differ."""
    a, b = _snapshot(a), _snapshot(b)
    ta, tb = _tables(a), _tables(b)
    assert ta.keys() == tb.keys()
    con = duckdb.connect()
    con.execute(f"ATTACH '{a}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{b}' AS b (READ_ONLY)")
    diffs = {}
    for t, cols in ta.items():
        sel = ", ".join(f'"{c}"' for c in cols)
        only_a = con.execute(f"select count(*) from (select {sel} from a.{t} except all select {sel} from b.{t})").fetchone()[0]
        only_b = con.execute(f"select count(*) from (select {sel} from b.{t} except all select {sel} from a.{t})").fetchone()[0]
        if only_a or only_b:
            diffs[t] = (con.execute(f"select count(*) from a.{t}").fetchone()[0], only_a, only_b)
    con.close()
    return diffs


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("incremental")
    inc, full = d / "inc" / "abacus.duckdb", d / "full" / "abacus.duckdb"
    inc.parent.mkdir()
    full.parent.mkdir()
    write_raw_to_duckdb(SPEC, str(inc))
    # day 1 is known from 11-10 00:00: its first half before AS_OF (the first build's), its
    # second half and day 2's first half between AS_OF and NEXT_AS_OF (new for the stored windows)
    assert sum(write_increment_to_duckdb(SPEC, str(inc), day=1).values()) > 0
    # a draft-period line charted on 11-03, 11-05 and 11-07 ...
    assert _add_core_seconds(inc, "early", [(f"2026-11-0{d}T01:30:00", f"2026-11-0{d}T01:30:00") for d in (3, 5, 7)]) == 3
    assert run_dbt(["seed"], inc).success
    _run(inc, [], AS_OF)
    counts = write_increment_to_duckdb(SPEC, str(inc), day=2)
    assert sum(counts.values()) > 0
    assert _add_backdated_duplicates(inc) > 0
    assert _add_new_rejects(inc) == 3
    # ... that learns of usage on 11-04 only the next day: it is recomputed from there on
    assert _add_core_seconds(inc, "late", [("2026-11-04T01:30:00", "2026-11-10T18:00:00")]) == 1
    _copy(inc, full)
    _run(inc, [], NEXT_AS_OF)
    _run(full, ["--full-refresh"], NEXT_AS_OF)
    return {"inc": inc, "full": full, "dir": d}


def test_incremental_build_equals_full_rebuild(built):
    assert _differences(built["inc"], built["full"]) == {}


@pytest.fixture(scope="module")
def extended(built) -> dict[str, Path]:
    """A normal next day: nothing new is known before the stored cutoff (day 3's documents, and
    day 2's second half already in raw), so the moved as_of windows stay valid and are extended
    (windows_delete_stale(moved='extend')) rather than recomputed."""
    d = built["dir"] / "extended"
    inc, full = d / "inc" / "abacus.duckdb", d / "full" / "abacus.duckdb"
    inc.parent.mkdir(parents=True)
    full.parent.mkdir()
    _copy(built["inc"], inc)
    assert sum(write_increment_to_duckdb(SPEC, str(inc), day=3).values()) > 0
    _copy(inc, full)
    _run(inc, [], THIRD_AS_OF)
    _run(full, ["--full-refresh"], THIRD_AS_OF)
    return {"inc": inc, "full": full}


def test_extended_windows_equal_full_rebuild(extended):
    assert _differences(extended["inc"], extended["full"]) == {}
    con = duckdb.connect(str(_snapshot(extended["inc"])), read_only=True)
    try:
        # the draft window's counters known before the last cutoff were kept and moved to the new
        # one (stamp of an earlier run), those known since were written (this run's stamp)
        counters = con.execute("""
            select count(*) filter (where c.built_through_batch_seq < s.now),
                   count(*) filter (where c.built_through_batch_seq = s.now),
                   min(c.cutoff_at), max(c.cutoff_at)
            from intermediate.int_account_usage_counter_records_known as c,
                 (select max(batch_seq) as now from intermediate.int_raw_batches) as s
            where c.usage_period = '2026-11' and c.known_period = '2026-11' and not c.is_window_header""").fetchone()
    finally:
        con.close()
    assert counters[0] > 0 and counters[1] > 0, counters
    assert str(counters[2]) == str(counters[3]) == THIRD_AS_OF, counters


def test_incremental_stages_are_dropped(built):
    # append models stage in a view (macros/incremental.sql), a full refresh builds beside the
    # target (__dbt_tmp): neither may outlive its run (temporary tables never reach the file)
    for warehouse in (built["inc"], built["full"]):
        con = duckdb.connect(str(_snapshot(warehouse)), read_only=True)
        try:
            left = con.execute("""select table_schema || '.' || table_name from information_schema.tables
                                  where table_name like '%dbt_stage%' or table_name like '%dbt_tmp%'""").fetchall()
        finally:
            con.close()
        assert left == [], warehouse


def test_backdated_duplicates_won_and_were_counted(built):
    con = duckdb.connect(str(_snapshot(built["inc"])), read_only=True)
    try:
        winners = con.execute("""select count(*), min(duplicate_count)
                                 from intermediate.int_transfer_reports_deduplicated where record_id like 'bk%'""").fetchone()
        events = con.execute("""select count(*), min(duplicate_count)
                                from intermediate.int_usage_events_deduplicated where record_id like 'bk%'""").fetchone()
    finally:
        con.close()
    # 5 transfer ids x their valid reports, 5 events: each back-dated copy is the new winner
    assert winners[0] >= 5 and winners[1] >= 1
    assert events == (5, 1)


def test_new_rejects_and_backdated_versions_were_taken_in(built):
    con = duckdb.connect(str(_snapshot(built["inc"])), read_only=True)
    try:
        rejects = con.execute("""select count(*), min(reject_reason), max(reject_reason)
                                 from marts.fct_rejected_records where record_id like 'neg%'""").fetchone()
        versions = con.execute("""select count(distinct contract_id), min(duplicate_count),
                                         count(*) filter (where batch_id <> 'backdated')
                                  from intermediate.int_contract_versions_ordered
                                  where contract_id in (select _id from raw.storage_network__contracts
                                                        where _batch_id = 'backdated')""").fetchone()
    finally:
        con.close()
    assert rejects[0] == 3 and rejects[1] == rejects[2] and rejects[1].startswith("negative")
    # every back-dated version won over its stored copy, which it now counts as a duplicate
    assert versions[0] >= 1 and versions[1] >= 1 and versions[2] == 0


def test_scoped_build_then_incremental_equals_full_rebuild(built):
    scoped = built["dir"] / "scoped" / "abacus.duckdb"
    scoped.parent.mkdir()
    _copy(built["inc"], scoped)
    _run(scoped, [], NEXT_AS_OF, period="2026-10")
    _run(scoped, [], NEXT_AS_OF)
    assert _differences(scoped, built["full"]) == {}


def test_moved_periods_recompute_only_changed_lines_and_samples(built):
    """The draft period's cutoff moves every day: its chart lines keep their stored buckets up
    to the first changed one (a normal day only appends the new day's buckets). Kept rows keep
    the stamp and the cutoff of the build that computed them (test_incremental_build_equals_
    full_rebuild shows the result equals a rebuild's), recomputed rows carry the new ones; the
    draft is charted up to as_of."""
    con = duckdb.connect(str(_snapshot(built["inc"])), read_only=True)
    try:
        for chart, bucket in (("fct_usage_daily", "usage_day"), ("fct_usage_hourly", "usage_hour")):
            stamps = con.execute(f"""
                with lines as (
                    select account_id, context, resource,
                           count(*) filter (where built_through_batch_seq < s.now) as kept,
                           count(*) filter (where built_through_batch_seq = s.now) as written,
                           max(cutoff_at) filter (where built_through_batch_seq < s.now) as kept_cutoff,
                           min(cutoff_at) filter (where built_through_batch_seq = s.now) as written_cutoff,
                           max({bucket}) as last_bucket
                    from marts.{chart}, (select max(batch_seq) as now from intermediate.int_raw_batches) as s
                    where usage_period = '2026-11'
                    group by all)
                select count(*) filter (where kept > 0 and written = 0),
                       count(*) filter (where kept > 0 and written > 0),
                       count(*) filter (where kept = 0),
                       max(kept_cutoff), min(written_cutoff), max(last_bucket)
                from lines""").fetchone()
            kept_only, kept_and_written, written_only, kept_cutoff, written_cutoff, last_bucket = stamps
            assert kept_only > 0 and kept_and_written > 0 and written_only > 0, (chart, stamps)
            assert str(kept_cutoff) == AS_OF and str(written_cutoff) == NEXT_AS_OF, (chart, stamps)
            assert str(last_bucket) < NEXT_AS_OF, (chart, stamps)
        # gauge holds are carried per sample: a series with a new sample rewrites that sample's
        # row and its predecessor's, and carries the rest of the series
        partly = con.execute("""
            select count(*) from (
                select g.account_id, g.context, g.resource
                from intermediate.int_gauge_intervals_capped as g,
                     (select max(batch_seq) as now from intermediate.int_raw_batches) as s
                where g.usage_period = '2026-11' and g.known_period = '2026-11'
                group by g.account_id, g.context, g.resource, s.now
                having count(*) filter (where g.built_through_batch_seq < s.now) > 0
                   and count(*) filter (where g.built_through_batch_seq = s.now) > 0)""").fetchone()[0]
        assert partly > 0
        # the series of the back-dated samples were recomputed whole, with the copies as winners
        whole = con.execute("""
            select count(*), count(*) filter (where g.built_through_batch_seq = s.now),
                   count(*) filter (where g.record_id like 'bk%')
            from intermediate.int_gauge_intervals_capped as g,
                 (select max(batch_seq) as now from intermediate.int_raw_batches) as s
            where g.usage_period = '2026-11' and g.known_period = '2026-11'
              and (g.account_id, g.context, g.resource) in (
                  select (account_id, context, resource) from raw.storage__usage_samples where _batch_id = 'backdated')
        """).fetchone()
        assert whole[0] > 0 and whole[1] == whole[0] and whole[2] >= 1, whole
    finally:
        con.close()


def test_late_usage_continues_the_stored_cumulative_rounding(built):
    """A core-second on 11-04 learnt after the stored cutoff: the line keeps its 11-03 hour and
    recomputes from 11-04 on, continuing the cumulative rounding from the stored 1/3600
    (round(k/3600, 12) for k = 1..4: .000277777778, .000555555556, .000833333333, .001111111111;
    starting from 0 instead, 11-05 would get .000277777778)."""
    con = duckdb.connect(str(_snapshot(built["inc"])), read_only=True)
    try:
        rows = con.execute("""
            select usage_hour, quantity, built_through_batch_seq = (select max(batch_seq) from intermediate.int_raw_batches)
            from marts.fct_usage_hourly
            where (account_id, context, resource) = (?, ?, ?) and usage_hour between '2026-11-01' and '2026-11-08'
            order by usage_hour""", list(LATE_LINE)).fetchall()
    finally:
        con.close()
    assert [(str(h), q, new) for h, q, new in rows] == [
        ("2026-11-03 01:00:00", Decimal("0.000277777778"), False),
        ("2026-11-04 01:00:00", Decimal("0.000277777778"), True),
        ("2026-11-05 01:00:00", Decimal("0.000277777777"), True),
        ("2026-11-07 01:00:00", Decimal("0.000277777778"), True),
    ]


def test_proof_checks_catch_a_wrong_cent_in_a_period_written_this_run(built):
    """The proof money tests check only the periods the proofs wrote this run (kept periods
    were checked when written): a cent moved in a written period's proof must fail them."""
    wh = built["dir"] / "proof_checks" / "abacus.duckdb"
    wh.parent.mkdir()
    _copy(built["inc"], wh)
    tests = ["assert_invoice_proofs_sum_to_lines", "assert_payout_proofs_sum_to_lines"]

    def failures() -> dict[str, int]:
        res = run_dbt(["test", "--select", *tests], wh, vars={"as_of": NEXT_AS_OF})
        return {r.node.name: r.failures for r in res.result.results}

    assert failures() == {t: 0 for t in tests}
    con = duckdb.connect(str(wh))
    try:
        for mart in ("fct_invoice_line_records", "fct_payout_line_records"):
            moved = con.execute(f"""
                update marts.{mart} set amount = amount + 0.01
                where (line_id, record_id) in (
                    select (line_id, record_id) from marts.{mart}
                    where built_through_batch_seq = (select max(built_through_batch_seq) from marts.{mart})
                    order by line_id, record_id limit 1)""").fetchone()[0]
            assert moved == 1
    finally:
        con.close()
    assert failures() == {t: 1 for t in tests}


def test_chart_check_catches_a_wrong_quantity_in_a_period_written_this_run(built):
    """assert_usage_charts_sum_to_lines checks only the usage periods written this run (the
    others were checked when written): 10^-12 moved in a written row of each chart must fail
    it, once per chart."""
    wh = built["dir"] / "chart_checks" / "abacus.duckdb"
    wh.parent.mkdir()
    _copy(built["inc"], wh)

    def failures() -> int:
        res = run_dbt(["test", "--select", "assert_usage_charts_sum_to_lines"], wh, vars={"as_of": NEXT_AS_OF})
        return res.result.results[0].failures

    assert failures() == 0
    con = duckdb.connect(str(wh))
    try:
        for chart, bucket in (("fct_usage_daily", "usage_day"), ("fct_usage_hourly", "usage_hour")):
            moved = con.execute(f"""
                update marts.{chart} set quantity = quantity + 0.000000000001
                where (account_id, context, resource, {bucket}) in (
                    select (account_id, context, resource, {bucket}) from marts.{chart}
                    where built_through_batch_seq = (select max(built_through_batch_seq) from marts.{chart})
                      and resource <> 'storage.files'
                    order by all limit 1)""").fetchone()[0]
            assert moved == 1
    finally:
        con.close()
    assert failures() == 2


def _hourly_unique_check(built, source: str, name: str):
    """A copy of the `source` warehouse of `built` and a function that runs the hourly chart's
    unique test on it: (failures, compiled SQL)."""
    wh = built["dir"] / name / "abacus.duckdb"
    wh.parent.mkdir()
    _copy(built[source], wh)

    def failures() -> tuple[int, str]:
        res = run_dbt(["test", "--select", "fct_usage_hourly,test_name:unique_combination"], wh,
                      vars={"as_of": NEXT_AS_OF})
        assert len(res.result.results) == 1
        return res.result.results[0].failures, res.result.results[0].node.compiled_code

    return wh, failures


def test_unique_check_catches_a_duplicate_chart_hour_written_this_run(built):
    """The hash-first unique_combination test (macros/generic_tests.sql) on the hourly chart's
    grain reads the lines written this run, kept rows too: a copy of one row written this run
    fails it, and so does a copy of another that looks kept (an older stamp: a written hour
    colliding with a kept one of its line), one combination each."""
    wh, failures = _hourly_unique_check(built, "inc", "unique_checks")
    assert failures()[0] == 0
    con = duckdb.connect(str(wh))
    try:
        copied = [con.execute(f"""
            insert into marts.fct_usage_hourly
            select * replace (built_through_batch_seq - {older} as built_through_batch_seq)
            from marts.fct_usage_hourly
            where built_through_batch_seq = (select max(built_through_batch_seq) from marts.fct_usage_hourly)
            order by all limit 1 offset {older}""").fetchone()[0] for older in (1, 0)]
        assert copied == [1, 1]
    finally:
        con.close()
    n, compiled = failures()
    # the stamp of this run is a constant in the filter (macros/incremental.sql built_this_run)
    assert n == 2 and "semi join" in compiled and "select max(built_through_batch_seq)" not in compiled


def test_unique_check_reads_a_fully_built_chart_whole(built):
    """After a full build every row carries the same stamp: the chart's unique test reads the
    table as it is (no lines filter; macros/incremental.sql all_rows_stamped_alike), and a copy
    of any row fails it."""
    wh, failures = _hourly_unique_check(built, "full", "unique_checks_full")
    n, compiled = failures()
    assert n == 0 and "semi join" not in compiled and "built_through_batch_seq" not in compiled
    con = duckdb.connect(str(wh))
    try:
        assert con.execute("select count(distinct built_through_batch_seq) from marts.fct_usage_hourly").fetchone()[0] == 1
        assert con.execute("""
            insert into marts.fct_usage_hourly
            select * from marts.fct_usage_hourly order by all limit 1 offset 7""").fetchone()[0] == 1
    finally:
        con.close()
    assert failures()[0] == 1
