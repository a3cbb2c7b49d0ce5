"""The invoice / payout totals of one period, written the way a Python data team would: load the
raw tables into pandas DataFrames, clean and compute with pandas, money with ``decimal.Decimal``.

Same rules as bench/reference.sql (SPEC.md §2-4); used by bench/run.py as the "pandas" step and
checked against the marts to the cent. Exactness: numbers are parsed as Decimal (never float),
byte-seconds are Python integers (object columns) until the final division.

    python -m bench.pandas_impl WAREHOUSE OUT_DIR '{"q_start": "2026-10-01 00:00:00", ...}'
writes OUT_DIR/pd_invoices.parquet and OUT_DIR/pd_payouts.parquet.
"""
from __future__ import annotations

import json
import sys
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import pandas as pd

SEEDS = Path(__file__).resolve().parent.parent / "dbt_project" / "seeds"
NANO = Decimal("1e-9")
CENT, MICRO = Decimal("0.01"), Decimal("0.000001")


# ------------------------------------------------------------------------------ parsing helpers
def clean(s: pd.Series) -> pd.Series:
    s = s.astype(object).where(s.notna(), None)
    out = s.map(lambda x: x.strip() if isinstance(x, str) else x)
    return out.where(out != "", None)


def to_dec(s: pd.Series) -> pd.Series:
    def one(x):
        if x is None:
            return None
        try:
            d = Decimal(x)
        except (InvalidOperation, ValueError, TypeError):
            return None
        if not d.is_finite():
            return None
        return d.quantize(NANO, rounding=ROUND_HALF_UP) if d.adjusted() < 29 else None
    return clean(s).map(one)


def to_ts(s: pd.Series) -> pd.Series:
    t = pd.to_datetime(clean(s), utc=True, errors="coerce", format="ISO8601")
    return t.dt.tz_convert(None).astype("datetime64[us]")


def us(t: pd.Series) -> np.ndarray:
    return t.astype("datetime64[us]").astype("int64").to_numpy()


def misfit(df: pd.DataFrame, field: str) -> pd.Series:
    m = df["_misfit_fields"]
    return m.map(lambda v: v is not None and field in list(v)).astype(bool)


def q12(n: int, e: int) -> Decimal:
    """n / e rounded half away from zero to an integer, as a value x 10^-12 (n, e >= 0)."""
    return Decimal((2 * n + e) // (2 * e)).scaleb(-12)


# ------------------------------------------------------------------------------ the computation
def compute(raw: dict[str, pd.DataFrame], p: dict, seeds: Path = SEEDS) -> tuple[pd.DataFrame, pd.DataFrame]:
    q_start = pd.Timestamp(p["q_start"])
    as_of = pd.Timestamp(p["as_of"])
    grace = pd.Timedelta(hours=int(p["grace_hours"]))
    gap = pd.Timedelta(hours=int(p["gauge_max_gap_hours"]))
    nadj = int(p["max_adjustment_periods"])
    q_end = q_start + pd.DateOffset(months=1)
    close_q, close_q1 = min(q_end + grace, as_of), min(q_start + grace, as_of)
    evals = []  # (pstart, pend, hours, role, cutoff)
    for k in range(nadj + 1):
        ps = q_start - pd.DateOffset(months=k)
        pe = ps + pd.DateOffset(months=1)
        hrs = int((pe - ps) / pd.Timedelta(hours=1))
        if k == 0:
            evals.append((ps, pe, hrs, "cur", close_q))
        else:
            evals += [(ps, pe, hrs, "new", close_q), (ps, pe, hrs, "old", close_q1)]
    cutoffs = sorted({e[4] for e in evals})
    w_start, w_end, max_cut = min(e[0] for e in evals), max(e[1] for e in evals), max(cutoffs)

    # seeds
    res = pd.read_csv(seeds / "resources.csv", dtype=str)
    bpu = {r.resource: int(r.base_per_billable_unit) for r in res.itertuples()}
    kind = {(r.resource, r.source_name): r.kind for r in res.itertuples()}
    units = {(r.resource, r.unit): Decimal(r.base_per_unit) for r in pd.read_csv(seeds / "unit_conversions.csv", dtype=str).itertuples()}
    tiers = pd.read_csv(seeds / "price_tiers.csv", dtype=str, keep_default_na=False)
    plans = pd.read_csv(seeds / "plans.csv", dtype=str)
    rates = pd.read_csv(seeds / "payout_rates.csv", dtype=str)
    held_s = sorted((int(r.min_age_months), Decimal(r.held_pct)) for r in pd.read_csv(seeds / "held_back_schedule.csv", dtype=str).itertuples())

    def base_ok(df):
        return df["_knowledge_at"].notna() & (df["_knowledge_at"] < max_cut)

    # ---- contracts
    c = raw["storage_network__contracts"]
    cd = pd.DataFrame({"contract_id": clean(c["_id"]), "account_id": clean(c["renter_id"]), "farmer_id": clean(c["farmer_id"]),
                       "size": to_dec(c["data_size"]), "begin": to_ts(c["store_begin"]), "end": to_ts(c["store_end"]),
                       "updated_at": to_ts(c["updated_at"]), "known_at": c["_knowledge_at"]})
    ok = base_ok(c)
    for f in ["_id", "renter_id", "bucket", "farmer_id", "shard_hash", "data_size", "store_begin", "store_end", "updated_at"]:
        ok &= clean(c[f]).notna()
    ok &= cd["size"].notna() & cd["begin"].notna() & cd["end"].notna() & cd["updated_at"].notna()
    ok &= cd["size"].map(lambda d: d is not None and d == d.to_integral_value() and d >= 0).astype(bool)
    ok &= ~(cd["end"].dt.floor("s") < cd["begin"].dt.floor("s"))  # end_before_begin at whole seconds, as staging
    cd = cd[ok].copy()
    cd["size"] = cd["size"].map(int)

    a = raw["storage_network__audits"]
    passed = clean(a["passed"]).map(lambda x: x.lower() if isinstance(x, str) else None)
    ad = pd.DataFrame({"contract_id": clean(a["contract_id"]), "audited_at": to_ts(a["audited_at"]),
                       "passed": passed, "known_at": a["_knowledge_at"]})
    ok = base_ok(a)
    for f in ["_id", "contract_id", "farmer_id", "audited_at", "passed", "recorded_at"]:
        ok &= clean(a[f]).notna()
    ok &= ad["audited_at"].notna() & to_ts(a["recorded_at"]).notna() & passed.isin(["true", "false"])
    failed = ad[ok & (passed == "false")]

    # ---- transfer reports (dedup: first recorded per transfer_id, reporter)
    t = raw["storage_network__transfer_reports"]
    td = pd.DataFrame({"transfer_id": clean(t["transfer_id"]), "reporter": clean(t["reporter"]).str.lower(),
                       "account_id": clean(t["renter_id"]), "farmer_id": clean(t["farmer_id"]),
                       "direction": clean(t["direction"]).str.lower(), "bytes": to_dec(t["bytes"]),
                       "started_at": to_ts(t["started_at"]), "completed_at": to_ts(t["completed_at"]),
                       "known_at": t["_knowledge_at"], "_id": t["_id"]})
    ok = t["_knowledge_at"].notna()
    for f in ["transfer_id", "reporter", "renter_id", "farmer_id", "bucket", "direction", "bytes", "completed_at", "recorded_at"]:
        ok &= clean(t[f]).notna()
    ok &= td["bytes"].notna() & td["completed_at"].notna() & to_ts(t["recorded_at"]).notna()
    ok &= ~(clean(t["started_at"]).notna() & td["started_at"].isna())
    ok &= ~(clean(t["started_at"]).isna() & misfit(t, "started_at"))  # contract_id never rejects a report (SPEC 2)
    ok &= td["bytes"].map(lambda d: d is not None and d == d.to_integral_value() and d >= 0).astype(bool)
    ok &= td["reporter"].isin(["renter", "farmer"]) & td["direction"].isin(["download", "upload"])
    ok &= ~(td["completed_at"].dt.floor("s") < td["started_at"].dt.floor("s"))
    td = td[ok].sort_values(["known_at", "_id"]).drop_duplicates(["transfer_id", "reporter"], keep="first")
    td = td[td["known_at"] < max_cut]
    td["bytes"] = td["bytes"].map(int)
    settled = td[td.reporter == "renter"].merge(td[td.reporter == "farmer"][["transfer_id", "farmer_id", "bytes", "known_at"]],
                                                on="transfer_id", suffixes=("", "_f"))
    settled["sbytes"] = [min(x, y) for x, y in zip(settled["bytes"], settled["bytes_f"])]
    settled["resource"] = np.where(settled["direction"] == "download", "network.download", "network.upload")
    settled["seen_at"] = settled[["known_at", "known_at_f"]].max(axis=1)

    # ---- usage events (dedup by event_id)
    e = raw["compute__usage_events"]
    ed = pd.DataFrame({"event_id": clean(e["event_id"]), "account_id": clean(e["account_id"]), "resource": clean(e["resource"]),
                       "unit": clean(e["unit"]), "qty": to_dec(e["quantity"]), "occurred_at": to_ts(e["occurred_at"]),
                       "known_at": e["_knowledge_at"], "_id": e["_id"]})
    ok = e["_knowledge_at"].notna()
    for f in ["event_id", "account_id", "context", "resource", "quantity", "unit", "occurred_at", "recorded_at"]:
        ok &= clean(e[f]).notna()
    ok &= ed["qty"].notna() & ed["occurred_at"].notna() & to_ts(e["recorded_at"]).notna()
    ok &= ed["qty"].map(lambda d: d is not None and d >= 0).astype(bool)
    ok &= pd.Series([kind.get((r, "compute")) == "counter" and (r, u) in units for r, u in zip(ed["resource"], ed["unit"])], index=ed.index)
    ed = ed[ok].sort_values(["known_at", "_id"]).drop_duplicates("event_id", keep="first")
    ed = ed[(ed.known_at < max_cut) & (ed.occurred_at >= w_start) & (ed.occurred_at < w_end)].copy()
    ed["base_n"] = [int((q * units[(r, u)]).quantize(NANO, rounding=ROUND_HALF_UP) * 10**9)
                    for q, r, u in zip(ed["qty"], ed["resource"], ed["unit"])]

    # ---- gauge samples (dedup by series, observed_at)
    s = raw["storage__usage_samples"]
    sd = pd.DataFrame({"account_id": clean(s["account_id"]), "context": clean(s["context"]), "resource": clean(s["resource"]),
                       "unit": clean(s["unit"]), "value": to_dec(s["value"]), "observed_at": to_ts(s["observed_at"]),
                       "known_at": s["_knowledge_at"], "_id": s["_id"]})
    ok = s["_knowledge_at"].notna()
    for f in ["account_id", "context", "resource", "value", "unit", "observed_at", "recorded_at"]:
        ok &= clean(s[f]).notna()
    ok &= sd["value"].notna() & sd["observed_at"].notna() & to_ts(s["recorded_at"]).notna()
    ok &= sd["value"].map(lambda d: d is not None and d >= 0).astype(bool)
    ok &= pd.Series([kind.get((r, "storage")) == "gauge" and (r, u) in units for r, u in zip(sd["resource"], sd["unit"])], index=sd.index)
    sd = sd[ok].sort_values(["known_at", "_id"]).drop_duplicates(["account_id", "context", "resource", "observed_at"], keep="first")
    sd = sd[(sd.known_at < max_cut) & (sd.observed_at >= w_start - gap) & (sd.observed_at < w_end)].copy()
    sd["vn"] = [int((v * units[(r, u)]).quantize(NANO, rounding=ROUND_HALF_UP) * 10**9)
                for v, r, u in zip(sd["value"], sd["resource"], sd["unit"])]

    # ---- accounts and farmers (every valid version)
    accs = []
    for tname, src in [("storage_network__renters", "storage_network"), ("compute__accounts", "compute"), ("storage__accounts", "storage")]:
        x = raw[tname]
        dp_txt = clean(x["discount_pct"])
        dp = to_dec(x["discount_pct"])
        xd = pd.DataFrame({"account_id": clean(x["_id"]), "plan": clean(x["plan"]), "dp": dp,
                           "updated_at": to_ts(x["updated_at"]), "known_at": x["_knowledge_at"], "src": src, "rid": x["_id"]})
        ok = base_ok(x) & xd["account_id"].notna() & xd["plan"].notna() & xd["updated_at"].notna()
        ok &= ~(dp_txt.notna() & dp.isna()) & ~(dp_txt.isna() & misfit(x, "discount_pct"))
        ok &= dp.map(lambda d: d is None or (0 <= d <= 100 and d == d.quantize(Decimal("0.0001")))).astype(bool)
        accs.append(xd[ok])
    acc = pd.concat(accs, ignore_index=True)
    acc["dp"] = acc["dp"].map(lambda d: Decimal(0) if d is None else d)

    def accounts_at(cut):
        v = acc[acc.known_at < cut].sort_values(["updated_at", "known_at", "src", "rid"])
        return v.drop_duplicates("account_id", keep="last").set_index("account_id")

    f = raw["storage_network__farmers"]
    fd = pd.DataFrame({"farmer_id": clean(f["_id"]), "joined_at": to_ts(f["joined_at"]), "dq": to_ts(f["disqualified_at"]),
                       "updated_at": to_ts(f["updated_at"]), "known_at": f["_knowledge_at"], "rid": f["_id"]})
    ok = base_ok(f) & fd["farmer_id"].notna() & fd["joined_at"].notna() & fd["updated_at"].notna()
    ok &= ~(clean(f["disqualified_at"]).notna() & fd["dq"].isna())
    ok &= ~(clean(f["disqualified_at"]).isna() & misfit(f, "disqualified_at")) & ~(clean(f["payout_address"]).isna() & misfit(f, "payout_address"))
    fd = fd[ok]

    # ---- usage per (period, cutoff)
    usage: dict[tuple, int] = {}        # (pstart, cutoff, account, resource) -> base units (see scale)
    farmer_u: dict[tuple, int] = {}     # (pstart, cutoff, farmer, component) -> byte_us | bytes

    def add(d, key, v):
        d[key] = d.get(key, 0) + v

    for cut in cutoffs:
        v = cd[cd.known_at < cut].sort_values(["updated_at", "known_at"]).drop_duplicates("contract_id", keep="last")
        ff = failed[failed.known_at < cut].groupby("contract_id")["audited_at"].min()
        v = v.assign(stop=v["end"])
        if len(ff):
            fail_at = v["contract_id"].map(ff)
            v.loc[fail_at.notna() & (fail_at < v["end"]), "stop"] = fail_at
        hold = sd[sd.known_at < cut].sort_values(["account_id", "context", "resource", "observed_at"]).copy()
        nxt = hold.groupby(["account_id", "context", "resource"])["observed_at"].shift(-1)
        hold["hold_end"] = np.minimum(nxt.fillna(hold["observed_at"] + gap), hold["observed_at"] + gap)
        for ps, pe, hrs, role, ecut in evals:
            if ecut != cut:
                continue
            lo = np.maximum(us(v["begin"]), us(pd.Series([ps]))[0])
            hi = np.minimum(us(v["stop"]), us(pd.Series([pe]))[0])
            m = hi > lo
            sub = v[m]
            bus = [sz * int(d) for sz, d in zip(sub["size"], (hi - lo)[m])]
            for (acct, farmer, b) in zip(sub["account_id"], sub["farmer_id"], bus):
                add(usage, (ps, cut, acct, "network.storage"), b * 10**9)  # 10^-15 byte-seconds
                add(farmer_u, (ps, cut, farmer, "storage"), b)
            st = settled[(settled.seen_at < cut) & (settled.completed_at >= ps) & (settled.completed_at < pe)]
            for acct, farmer, res_, b in zip(st["account_id"], st["farmer_id_f"], st["resource"], st["sbytes"]):
                add(usage, (ps, cut, acct, res_), b * 10**9)
                add(farmer_u, (ps, cut, farmer, "download" if res_ == "network.download" else "upload"), b)
            ev = ed[(ed.known_at < cut) & (ed.occurred_at >= ps) & (ed.occurred_at < pe)]
            for (acct, res_), n in ev.groupby(["account_id", "resource"])["base_n"].sum().items():
                add(usage, (ps, cut, acct, res_), int(n))
            h = hold[(hold.observed_at < pe) & (hold.hold_end > ps)]
            lo = np.maximum(us(h["observed_at"]), us(pd.Series([ps]))[0])
            hi = np.minimum(us(h["hold_end"]), us(pd.Series([pe]))[0])
            hb = h[h.resource == "storage.bytes_used"]
            mb = (h.resource == "storage.bytes_used").to_numpy()
            for acct, vn, d in zip(hb["account_id"], hb["vn"], (hi - lo)[mb]):
                add(usage, (ps, cut, acct, "storage.bytes_used"), vn * int(d))
            hf = h[(h.resource == "storage.files") & (hi > lo)]
            for (acct, _ctx), peak in hf.groupby(["account_id", "context"])["vn"].max().items():
                add(usage, (ps, cut, acct, "storage.files"), int(peak))

    def quantity(res_, n):
        return q12(n, bpu[res_] * 1000) if res_ in ("network.storage", "storage.bytes_used") else q12(n * 1000, bpu[res_])

    # ---- rating
    def plan_incl(plan, res_, ps, hrs):
        if plan is None:
            return Decimal(0)
        r = plans[(plans.plan == plan) & (plans.resource == res_) & (pd.to_datetime(plans.valid_from) <= ps)]
        if r.empty:
            return Decimal(0)
        r = r.sort_values("valid_from").iloc[-1]
        return Decimal(r.included_quantity) * (hrs if r.basis == "per_hour" else 1)

    def tier_amount(res_, ps, billable):
        tt = tiers[(tiers.resource == res_) & (pd.to_datetime(tiers.valid_from) <= ps)]
        if tt.empty:
            return Decimal(0)
        tt = tt[tt.valid_from == tt.valid_from.max()]
        amt = Decimal(0)
        for r in tt.itertuples():
            top = billable if r.tier_end == "" else min(billable, Decimal(r.tier_end))
            amt += max(top - Decimal(r.tier_start), Decimal(0)) * Decimal(r.unit_price)
        return amt.quantize(CENT, rounding=ROUND_HALF_UP)

    accts = {cut: accounts_at(cut) for cut in cutoffs}
    role_of = {(e[0], e[4]): (e[3], e[2]) for e in evals}
    lines: dict[str, Decimal] = {}
    for (ps, cut, acct, res_), n in usage.items():
        role, hrs = role_of[(ps, cut)]
        a_ = accts[cut]
        plan = a_.at[acct, "plan"] if acct in a_.index else None
        amt = tier_amount(res_, ps, max(quantity(res_, n) - plan_incl(plan, res_, ps, hrs), Decimal(0)))
        lines[acct] = lines.get(acct, Decimal(0)) + (-amt if role == "old" else amt)
    aq = accts[close_q]
    inv = []
    for acct, sub in sorted(lines.items()):
        sub = sub.quantize(CENT)
        pct = aq.at[acct, "dp"] if acct in aq.index else Decimal(0)
        disc = (sub * pct / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        inv.append((acct, sub, disc, sub - disc))
    invoices = pd.DataFrame(inv, columns=["account_id", "subtotal", "discount", "total"])

    # ---- payouts
    def rate(comp, ps):
        r = rates[(rates.component == comp) & (pd.to_datetime(rates.valid_from) <= ps)].sort_values("valid_from")
        return Decimal(r.iloc[-1].rate) if len(r) else Decimal(0)

    gross: dict[str, Decimal] = {}
    for (ps, cut, farmer, comp), n in farmer_u.items():
        role, _ = role_of[(ps, cut)]
        qty = q12(n, 3600000) if comp == "storage" else q12(n * 1000, 1)
        amt = (qty * rate(comp, ps)).quantize(MICRO, rounding=ROUND_HALF_UP)
        gross[farmer] = gross.get(farmer, Decimal(0)) + (-amt if role == "old" else amt)
    fv = fd[fd.known_at < close_q].sort_values(["updated_at", "known_at", "rid"]).drop_duplicates("farmer_id", keep="last").set_index("farmer_id")
    end = q_end
    pay = []
    for farmer, g in sorted(gross.items()):
        joined = fv.at[farmer, "joined_at"] if farmer in fv.index else None
        dq = fv.at[farmer, "dq"] if farmer in fv.index else None
        age = 0
        if joined is not None and not pd.isna(joined):
            m0 = (end.year - joined.year) * 12 + end.month - joined.month
            age = max(m0 if joined + pd.DateOffset(months=m0) <= end else m0 - 1, 0)
        pct = next((h for a_, h in reversed(held_s) if a_ <= age), Decimal(0))
        g = g.quantize(MICRO)
        if dq is not None and not pd.isna(dq) and dq < end:
            pay.append((farmer, "disqualified", g, Decimal(0), Decimal(0)))
        else:
            held = (g * pct / 100).quantize(MICRO, rounding=ROUND_HALF_UP)
            pay.append((farmer, "ok", g, held, g - held))
    payouts = pd.DataFrame(pay, columns=["farmer_id", "status", "gross", "held", "net"])
    return invoices, payouts


RAW_TABLES = ["storage_network__contracts", "storage_network__transfer_reports", "storage_network__audits",
              "storage_network__farmers", "storage_network__renters", "compute__usage_events",
              "compute__accounts", "storage__usage_samples", "storage__accounts"]


def load_raw(warehouse: str) -> dict[str, pd.DataFrame]:
    import duckdb
    con = duckdb.connect(warehouse, read_only=True)
    try:
        return {t: con.execute(f'SELECT * FROM raw."{t}"').df() for t in RAW_TABLES}
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    warehouse, out_dir, params = argv[0], Path(argv[1]), json.loads(argv[2])
    invoices, payouts = compute(load_raw(warehouse), params)
    out_dir.mkdir(parents=True, exist_ok=True)
    import duckdb
    con = duckdb.connect()
    # money as exact DECIMAL columns in the Parquet output
    con.register("inv", invoices.assign(**{c: invoices[c].astype(str) for c in ["subtotal", "discount", "total"]}))
    con.register("pay", payouts.assign(**{c: payouts[c].astype(str) for c in ["gross", "held", "net"]}))
    con.execute(f"COPY (SELECT account_id, subtotal::DECIMAL(38,2) subtotal, discount::DECIMAL(38,2) discount, total::DECIMAL(38,2) total FROM inv) "
                f"TO '{out_dir / 'pd_invoices.parquet'}' (FORMAT PARQUET)")
    con.execute(f"COPY (SELECT farmer_id, status, gross::DECIMAL(38,6) gross, held::DECIMAL(38,6) held, net::DECIMAL(38,6) net FROM pay) "
                f"TO '{out_dir / 'pd_payouts.parquet'}' (FORMAT PARQUET)")
    con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
