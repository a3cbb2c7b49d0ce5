"""A generated source network: every collection of SPEC §2, deterministic from a seed.

Generation is columnar (numpy, chunked): each collection yields Arrow tables in which every
declared field ``f`` has a value column ``f`` and a BSON type code ``f#t`` (how the value is
written to MongoDB: int32, int64, double, Decimal128, string, date, bool, ObjectId, missing,
null). Number values are kept as their exact ``$toString`` text, so one table renders both

* as MongoDB documents (:func:`write_to_mongo`, per-row Python, for demo sizes), and
* straight into the DuckDB raw layout of :mod:`extract.schemas` (:func:`write_raw_to_duckdb`,
  :func:`write_raw_parquet`: Arrow -> DuckDB SQL, no per-row Python except the canonical
  Extended JSON of the few misfit documents), at benchmark sizes.

CLI: ``python -m extract.generate --size demo|tiny|M|L --seed 7 --to mongo|duckdb|parquet --out PATH``
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import json
import os
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping

import numpy as np
import pyarrow as pa

from extract.schemas import COLLECTIONS, CollectionSpec, raw_columns, raw_table_ddl, raw_table_name

UTC = dt.timezone.utc
MS_H = 3_600_000
MS_D = 24 * MS_H
SCALE = 1000  # numbers are kept as integers scaled by 10**3 (three decimals at most)
CHUNK = 1_000_000  # rows per generated chunk (fixed: part of the determinism contract)

# BSON type codes of a value as written
T_MISSING, T_NULL, T_STR, T_INT32, T_INT64, T_DOUBLE, T_DEC, T_DATE, T_BOOL, T_OID = range(10)
_ALLOWED = {
    "id": (T_STR, T_OID), "string": (T_STR,), "number": (T_INT32, T_INT64, T_DOUBLE, T_DEC),
    "timestamp": (T_DATE,), "bool": (T_BOOL,),
}
_COLL_CODE = {"contracts": 1, "transfer_reports": 2, "audits": 3, "farmers": 4, "renters": 5,
              "usage_events": 6, "usage_samples": 7, "accounts": 8}

ORGS = ["acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "tyrell", "cyberdyne",
        "soylent", "wonka", "aperture"]
TEAMS = ["research", "ml", "web", "data", "ops", "finance"]
USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]
CONTEXTS: list[str] = []
for _o in ORGS:
    CONTEXTS.append(_o)
    for _t in TEAMS:
        CONTEXTS.append(f"{_o}/{_t}")
        CONTEXTS.extend(f"{_o}/{_t}/{_u}" for _u in USERS)
_PER_ORG = 1 + len(TEAMS) * (1 + len(USERS))
PLANS = ["free", "starter", "pro"]

# dirty kinds per collection: (kind, argument)
DIRTY_KINDS: dict[str, list[tuple[str, str]]] = {
    "contracts": [("int32", "data_size"), ("int64", "data_size"), ("double", "data_size"),
                  ("decimal", "data_size"), ("numstr", "data_size"), ("badnum", "data_size"),
                  ("negative", "data_size"), ("end_before_begin", ""), ("missing", "renter_id"),
                  ("missing", "store_end"), ("null", "farmer_id"), ("datestr", "store_begin"),
                  ("no_knowledge", "updated_at")],
    "transfer_reports": [("int64", "bytes"), ("double", "bytes"), ("decimal", "bytes"),
                         ("numstr", "bytes"), ("badnum", "bytes"), ("negative", "bytes"),
                         ("missing", "transfer_id"), ("missing", "completed_at"),
                         ("badenum", "direction"), ("duplicate", ""), ("no_knowledge", "recorded_at"),
                         ("datestr", "completed_at")],
    "audits": [("missing", "passed"), ("boolstr", "passed"), ("missing", "audited_at"),
               ("oid", "contract_id"), ("no_knowledge", "recorded_at"), ("datestr", "audited_at")],
    "farmers": [("missing", "joined_at"), ("datestr", "joined_at"), ("no_knowledge", "updated_at")],
    "renters": [("double", "discount_pct"), ("decimal", "discount_pct"), ("numstr", "discount_pct"),
                ("int64", "discount_pct"), ("badnum", "discount_pct"), ("missing", "plan"),
                ("no_knowledge", "updated_at")],
    "usage_events": [("int32", "quantity"), ("int64", "quantity"), ("double", "quantity"),
                     ("decimal", "quantity"), ("numstr", "quantity"), ("badnum", "quantity"),
                     ("negative", "quantity"), ("missing", "account_id"), ("missing", "quantity"),
                     ("null", "occurred_at"), ("unknown_resource", ""), ("unknown_unit", ""),
                     ("duplicate", ""), ("duplicate", ""), ("no_knowledge", "recorded_at"),
                     ("datestr", "occurred_at")],
    "usage_samples": [("int64", "value"), ("double", "value"), ("decimal", "value"),
                      ("numstr", "value"), ("badnum", "value"), ("negative", "value"),
                      ("missing", "value"), ("missing", "observed_at"), ("unknown_resource", ""),
                      ("unknown_unit", ""), ("duplicate", ""), ("no_knowledge", "recorded_at"),
                      ("datestr", "observed_at")],
}
DIRTY_KINDS["accounts"] = DIRTY_KINDS["renters"]


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)


def _ms(t: dt.datetime) -> int:
    """Milliseconds since the epoch (naive means UTC), exact integer arithmetic."""
    t = t.replace(tzinfo=UTC) if t.tzinfo is None else t
    return (t - _EPOCH) // dt.timedelta(milliseconds=1)


def _add_months(t: dt.datetime, n: int) -> dt.datetime:
    y, m = divmod(t.month - 1 + n, 12)
    return t.replace(year=t.year + y, month=m + 1, day=1)


# ============================================================================ the spec
@dataclass(frozen=True)
class NetworkSpec:
    seed: int = 7
    start: dt.datetime = dt.datetime(2026, 8, 1, tzinfo=UTC)
    months: int = 3
    n_farmers: int = 50
    n_accounts: int = 100
    n_contracts: int = 3000
    n_transfers: int = 4000  # each transfer -> up to 2 reports (renter, farmer)
    n_audits: int = 2000
    n_usage_events: int = 8000
    n_samples: int = 6000  # storage usage samples (total, approximately)
    sample_interval_hours: float = 6.0
    dirty_fraction: float = 0.02
    late_fraction: float = 0.01
    audit_failure_rate: float = 0.015
    grace_hours: int = 72
    horizon: dt.datetime = dt.datetime(2026, 11, 10, tzinfo=UTC)  # no timestamp at or after this

    @classmethod
    def tiny(cls, seed: int = 7, **kw) -> "NetworkSpec":
        base = dict(n_farmers=6, n_accounts=10, n_contracts=60, n_transfers=60, n_audits=40,
                    n_usage_events=150, n_samples=300, sample_interval_hours=12.0,
                    dirty_fraction=0.05, late_fraction=0.03)
        return cls(seed=seed, **{**base, **kw})

    @classmethod
    def demo(cls, seed: int = 7, **kw) -> "NetworkSpec":
        return cls(seed=seed, **kw)

    @classmethod
    def M(cls, seed: int = 7, **kw) -> "NetworkSpec":
        base = dict(n_farmers=2000, n_accounts=20000, n_contracts=1_000_000, n_transfers=5_000_000,
                    n_audits=500_000, n_usage_events=5_000_000, n_samples=1_000_000,
                    sample_interval_hours=1.0)
        return cls(seed=seed, **{**base, **kw})

    @classmethod
    def L(cls, seed: int = 7, **kw) -> "NetworkSpec":
        base = dict(n_farmers=10000, n_accounts=100000, n_contracts=5_000_000,
                    n_transfers=25_000_000, n_audits=2_500_000, n_usage_events=20_000_000,
                    n_samples=5_000_000, sample_interval_hours=1.0)
        return cls(seed=seed, **{**base, **kw})

    @classmethod
    def preset(cls, size: str, seed: int = 7, **kw) -> "NetworkSpec":
        try:
            return {"tiny": cls.tiny, "demo": cls.demo, "m": cls.M, "l": cls.L}[size.lower()](seed, **kw)
        except KeyError:
            raise ValueError(f"--size: unknown size {size!r} (tiny, demo, M, L)") from None

    # ---- derived times (ms since epoch, UTC)
    @property
    def start_ms(self) -> int:
        return _ms(self.start)

    @property
    def end(self) -> dt.datetime:
        return _add_months(self.start, self.months)

    @property
    def end_ms(self) -> int:
        return _ms(self.end)

    @property
    def horizon_ms(self) -> int:
        return _ms(self.horizon)

    @property
    def steps_per_series(self) -> int:
        return max(1, int((self.end_ms - self.start_ms) / (self.sample_interval_hours * MS_H)))

    @property
    def n_series(self) -> int:
        # expected share of the grid that holds samples: 30 % of the series start mid-range
        # (on average with 46 % of the range left), and gaps (~1.5 days, 0.4 % per sample)
        coverage = (0.7 + 0.3 * 0.46) * (1 - 0.004 * max(1.0, 36 / self.sample_interval_hours))
        return max(2, 2 * int(np.ceil(self.n_samples / (2 * self.steps_per_series * coverage))))


# ============================================================================ small helpers
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _strings_fixed(mat: np.ndarray) -> pa.Array:
    """An Arrow string array from an (n, w) matrix of ASCII bytes."""
    mat = np.ascontiguousarray(mat, dtype=np.uint8)
    n, w = mat.shape
    offsets = np.arange(0, (n + 1) * w, w, dtype=np.int64)
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(mat.tobytes())).cast(pa.string())


def _hex_mat(vals: np.ndarray, width: int) -> np.ndarray:
    """(n, width) lowercase hex digits of the low ``4*width`` bits (width 8 or 16)."""
    nbytes = width // 2
    be = vals.astype(">u8").view(np.uint8).reshape(-1, 8)[:, 8 - nbytes:]
    return np.frombuffer(np.ascontiguousarray(be).tobytes().hex().encode(), dtype=np.uint8).reshape(-1, width)


def prefixed_ids(prefix: str, idx: np.ndarray, width: int) -> pa.Array:
    import pyarrow.compute as pc
    digits = pc.utf8_lpad(pc.cast(pa.array(idx.astype(np.int64)), pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(pa.scalar(prefix), digits, "")


def entity_ids(prefix: str, n: int) -> list[str]:
    w = max(4, len(str(n)))
    return [f"{prefix}-{i:0{w}d}" for i in range(1, n + 1)]


def _seed_tag(seed: int) -> int:
    return int.from_bytes(hashlib.sha256(f"abacus-{seed}".encode()).digest()[:2], "big")


def object_ids(seed: int, coll: str, ts_ms: np.ndarray, idx: np.ndarray) -> pa.Array:
    """Deterministic ObjectId hex: 4-byte seconds, 2-byte seed tag, 1-byte collection, 5-byte index."""
    tail = (np.uint64(_seed_tag(seed)) << np.uint64(48)) | (np.uint64(_COLL_CODE[coll]) << np.uint64(40)) \
        | idx.astype(np.uint64)
    secs = np.clip(ts_ms // 1000, 0, 2**32 - 1).astype(np.uint64)
    return _strings_fixed(np.hstack([_hex_mat(secs, 8), _hex_mat(tail, 16)]))


def _rng(spec: NetworkSpec, *key: int) -> np.random.Generator:
    return np.random.default_rng([spec.seed & 0xFFFFFFFF, *key])


def _dict_array(indices: np.ndarray, dictionary: list[str]) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32)), pa.array(dictionary, pa.string()))


def _dict_replace(v: pa.Array, mask: np.ndarray, value: str) -> pa.Array:
    """``v`` (dictionary-encoded) with ``value`` where ``mask``."""
    if not pa.types.is_dictionary(v.type):
        import pyarrow.compute as pc
        return pc.if_else(pa.array(mask), pa.scalar(value), v)
    words = v.dictionary.to_pylist()
    if value not in words:
        words.append(value)
    idx = np.asarray(v.indices.to_numpy(zero_copy_only=False)).copy()
    idx[mask] = words.index(value)
    return _dict_array(idx, words)


def _num_text(m: np.ndarray, dec_rows: np.ndarray | None = None, bad_rows: np.ndarray | None = None) -> pa.Array:
    """Exact ``$toString`` text of scaled integers ``m / 1000``: shortest decimal text (as for
    int32/int64/double/numeric strings); 4-decimal text for the Decimal128 rows ``dec_rows``;
    shortest text + ``x`` for the unparseable-string rows ``bad_rows``."""
    import pyarrow.compute as pc
    ip = m // SCALE
    frac = m % SCALE != 0
    text = pc.cast(pa.array(ip), pa.string())
    special = frac | (m < 0)
    if dec_rows is not None:
        special |= dec_rows
    if bad_rows is not None:
        special |= bad_rows
    rows = np.flatnonzero(special)
    if len(rows):
        fixed = []
        for v, d, bd in zip(m[rows].tolist(),
                            (dec_rows[rows] if dec_rows is not None else np.zeros(len(rows), bool)).tolist(),
                            (bad_rows[rows] if bad_rows is not None else np.zeros(len(rows), bool)).tolist()):
            sign = "-" if v < 0 else ""
            q, r = divmod(abs(v), SCALE)
            if d and not bd:
                fixed.append(f"{sign}{q}.{r * 10:04d}")
            else:
                t = f"{sign}{q}" + (f".{r:03d}".rstrip("0") if r else "")
                fixed.append(t + "x" if bd else t)
        mask = np.zeros(len(m), bool)
        mask[rows] = True
        text = pc.replace_with_mask(text, pa.array(mask), pa.array(fixed, pa.string()))
    return text


# ============================================================================ column builder
class Cols:
    """The columns of one collection chunk before rendering: values + BSON type codes."""

    def __init__(self, coll: str, n: int):
        self.coll = coll
        self.spec: CollectionSpec = COLLECTIONS[coll]
        self.n = n
        self.vals: dict[str, object] = {}
        self.types: dict[str, np.ndarray] = {}
        self.bad = np.zeros(n, bool)  # number rendered as an unparseable string
        self.final = np.ones(n, bool)  # current version (what MongoDB holds)
        self.dirty = np.zeros(n, bool)
        self.late = np.zeros(n, bool)

    def set(self, name: str, values, t: int | np.ndarray | None = None) -> None:
        kind = "id" if name == "_id" else next(f.kind for f in self.spec.fields if f.name == name)
        if kind == "number":
            values = np.asarray(values, dtype=np.int64)
            if t is None:
                integral = values % SCALE == 0
                fits = np.abs(values // SCALE) < 2**31
                t = np.where(integral, np.where(fits, T_INT32, T_INT64), T_DOUBLE)
        elif kind == "timestamp":
            values = np.asarray(values, dtype=np.int64)
            t = T_DATE if t is None else t
        elif kind == "bool":
            values = np.asarray(values, dtype=bool)
            t = T_BOOL if t is None else t
        else:
            t = T_STR if t is None else t
        self.vals[name] = values
        self.types[name] = np.broadcast_to(np.asarray(t, np.uint8), (self.n,)).copy()

    def take(self, idx: np.ndarray) -> "Cols":
        out = Cols(self.coll, len(idx))
        for k, v in self.vals.items():
            out.vals[k] = v.take(pa.array(idx)) if isinstance(v, pa.Array) else v[idx]
            out.types[k] = self.types[k][idx]
        for a in ("bad", "final", "dirty", "late"):
            setattr(out, a, getattr(self, a)[idx])
        return out

    def concat(self, other: "Cols") -> "Cols":
        out = Cols(self.coll, self.n + other.n)
        for k, v in self.vals.items():
            w = other.vals[k]
            if isinstance(v, pa.Array):
                if pa.types.is_dictionary(v.type):
                    v, w = v.cast(pa.string()), w.cast(pa.string())
                out.vals[k] = pa.concat_arrays([v, w])
            else:
                out.vals[k] = np.concatenate([v, w])
            out.types[k] = np.concatenate([self.types[k], other.types[k]])
        for a in ("bad", "final", "dirty", "late"):
            setattr(out, a, np.concatenate([getattr(self, a), getattr(other, a)]))
        return out

    # ---- dirt
    def apply_dirt(self, rng: np.random.Generator, fraction: float,
                   extra: dict[str, object] | None = None) -> np.ndarray:
        """Make about ``fraction`` of the rows dirty; returns the rows chosen for ``duplicate``."""
        kinds = DIRTY_KINDS[self.coll]
        pick = rng.random(self.n) < fraction
        which = rng.integers(0, len(kinds), self.n)
        dup_rows = np.zeros(self.n, bool)
        for k, (kind, arg) in enumerate(kinds):
            mask = pick & (which == k)
            if not mask.any():
                continue
            if kind == "duplicate":
                dup_rows |= mask
                continue
            self.dirty |= mask
            if kind in ("int32", "int64", "double", "decimal", "numstr"):
                v = self.vals[arg]
                if kind == "int32":
                    mask &= (v % SCALE == 0) & (np.abs(v // SCALE) < 2**31)
                if kind == "int64":
                    mask &= v % SCALE == 0
                code = {"int32": T_INT32, "int64": T_INT64, "double": T_DOUBLE, "decimal": T_DEC,
                        "numstr": T_STR}[kind]
                self.types[arg][mask & (self.types[arg] > T_NULL)] = code
            elif kind == "badnum":
                self.types[arg][mask] = T_STR
                self.bad |= mask
            elif kind == "negative":
                self.vals[arg] = np.where(mask, -np.abs(self.vals[arg]) - SCALE, self.vals[arg])
            elif kind in ("missing", "no_knowledge"):
                self.types[arg][mask] = T_MISSING
            elif kind == "null":
                self.types[arg][mask] = T_NULL
            elif kind == "datestr":
                self.types[arg][mask & (self.types[arg] == T_DATE)] = T_STR
            elif kind == "boolstr":
                self.types[arg][mask] = T_STR
            elif kind == "oid":
                self.types[arg][mask & (self.types[arg] == T_STR)] = T_OID
            elif kind == "end_before_begin":
                b, e = self.vals["store_begin"], self.vals["store_end"]
                self.vals["store_end"] = np.where(mask, b - (e - b), e)
            elif kind in ("badenum", "unknown_resource", "unknown_unit"):
                field = {"unknown_resource": "resource", "unknown_unit": "unit"}.get(kind, arg)
                v = self.vals[field]
                bogus = (extra or {}).get(kind, "sideways")
                self.vals[field] = _dict_replace(v, mask, bogus)
        return dup_rows

    # ---- rendering
    def table(self) -> pa.Table:
        """Columns ``_id``, ``_id#t``, per field ``f``, ``f#t``, ``f#m`` (misfit); ``#final``,
        ``#misfit``, ``#dirty``, ``#late``. Number fields hold their exact ``$toString`` text."""
        import pyarrow.compute as pc
        cols: dict[str, pa.Array] = {"_id": self.vals["_id"], "_id#t": pa.array(self.types["_id"])}
        misfit_any = np.zeros(self.n, bool)
        for f in self.spec.fields:
            v, t = self.vals[f.name], self.types[f.name]
            if f.kind == "number":
                v = _num_text(v, t == T_DEC, self.bad & (t == T_STR))
            elif f.kind == "timestamp":
                v = pa.array(v.astype("datetime64[ms]"), pa.timestamp("ms"))
            elif f.kind == "bool":
                v = pa.array(np.where(t == T_STR, np.where(v, "yes", "no"), np.where(v, "true", "false")),
                             pa.string())
            mis = (t <= T_NULL) if f.required else np.zeros(self.n, bool)
            mis |= (t > T_NULL) & ~np.isin(t, _ALLOWED[f.kind])
            misfit_any |= mis
            cols[f.name] = v
            cols[f.name + "#t"] = pa.array(t)
            cols[f.name + "#m"] = pa.array(mis)
        cols["#final"] = pa.array(self.final)
        cols["#misfit"] = pa.array(misfit_any)
        cols["#dirty"] = pa.array(self.dirty | misfit_any)
        cols["#late"] = pa.array(self.late)
        return pa.table(cols)


# ============================================================================ the network
class Network:
    """Entities (accounts, farmers, contracts) held in memory; event collections in chunks."""

    def __init__(self, spec: NetworkSpec):
        self.spec = spec
        s = spec
        self.month_starts = np.array([_ms(_add_months(s.start, k)) for k in range(-24, s.months + 3)],
                                     dtype=np.int64)
        self._accounts()
        self._farmers()
        self._contracts()

    # ---- time helpers
    def close_of(self, t: np.ndarray) -> np.ndarray:
        i = np.searchsorted(self.month_starts, t, side="right")
        return self.month_starts[np.minimum(i, len(self.month_starts) - 1)] + self.spec.grace_hours * MS_H

    def knowledge(self, rng: np.random.Generator, t: np.ndarray, late: np.ndarray | None = None,
                  mean_delay_ms: float = 120_000) -> tuple[np.ndarray, np.ndarray]:
        n = len(t)
        k = t + 1000 + rng.exponential(mean_delay_ms, n).astype(np.int64)
        if late is None:
            late = rng.random(n) < self.spec.late_fraction
        close = self.close_of(t)
        hz = self.spec.horizon_ms
        late = late & (close < hz - 2 * MS_H)
        lk = close + rng.integers(MS_H, 5 * MS_D, n)
        lk = np.minimum(lk, hz - MS_H + rng.integers(0, MS_H // 2, n))
        k = np.where(late, lk, k)
        return np.minimum(k, hz - 1), late

    def timed(self, rng, n: int, win: "Window | None", lo: int, hi: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(event time, knowledge time, late mask) of n new records: base range or a day window."""
        if win is None:
            t = self._times(rng, n, lo, hi)
            k, late = self.knowledge(rng, t)
            return t, k, late
        t = self._times(rng, n, win.lo, win.hi - MS_H)
        k = np.minimum(t + 1000 + rng.exponential(120_000, n).astype(np.int64), win.hi - 1)
        late = rng.random(n) < win.late_fraction
        t = np.where(late, self._times(rng, n, win.late_lo, win.late_hi), t)
        k = np.where(late, self._times(rng, n, win.lo, win.hi), k)
        return t, k, late

    def _times(self, rng, n, lo, hi) -> np.ndarray:
        return rng.integers(lo, hi, n, dtype=np.int64)

    # ---- entities
    def _accounts(self) -> None:
        s, rng = self.spec, _rng(self.spec, 1)
        n = s.n_accounts
        self.account_ids = entity_ids("acct", n)
        created = np.where(rng.random(n) < 0.6, self._times(rng, n, s.start_ms - 180 * MS_D, s.start_ms),
                           self._times(rng, n, s.start_ms, s.end_ms - 7 * MS_D))
        created[0] = s.start_ms - 30 * MS_D
        member = rng.random((n, 3)) < np.array([0.6, 0.6, 0.5])  # renter, compute, storage
        member[~member.any(axis=1), 1] = True
        member[0] = True
        member[1 % n] = True
        self.account_created = created
        self.account_member = member
        self.members = {k: np.flatnonzero(member[:, j]) for j, k in enumerate(("renter", "compute", "storage"))}
        # contexts: a pool of 1..5 contexts per account within its org
        org = np.arange(n) % len(ORGS)
        self.ctx_k = rng.integers(1, 6, n)
        local = rng.integers(0, _PER_ORG, (n, 5))
        self.ctx_pool = org[:, None] * _PER_ORG + local
        self.plan_p = np.array([0.3, 0.45, 0.25])
        self.discounts = np.array([0, 5000, 10000, 12500], dtype=np.int64)
        self.discount_p = np.array([0.82, 0.07, 0.07, 0.04])

    def pick_accounts(self, rng, kind: str, n: int) -> np.ndarray:
        pool = self.members[kind]
        return pool[(len(pool) * rng.random(n) ** 2).astype(np.int64)]

    def pick_contexts(self, rng, acct: np.ndarray) -> np.ndarray:
        j = (rng.random(len(acct)) * self.ctx_k[acct]).astype(np.int64)
        return self.ctx_pool[acct, j]

    def _farmers(self) -> None:
        s, rng = self.spec, _rng(self.spec, 2)
        n = s.n_farmers
        self.farmer_ids = entity_ids("farmer", n)
        early = rng.random(n) < 0.4
        early[: max(1, n // 5)] = True
        joined = np.where(early, self._times(rng, n, s.start_ms - 365 * MS_D, s.start_ms),
                          self._times(rng, n, s.start_ms, s.end_ms - 7 * MS_D))
        disq = (rng.random(n) < 0.06) & ~np.isin(np.arange(n), [0])
        if n >= 6 and not disq.any():
            disq[n - 1] = True
        lo = np.maximum(joined + 7 * MS_D, s.start_ms)
        disq_at = lo + (rng.random(n) * np.maximum(s.end_ms - lo, MS_H)).astype(np.int64)
        self.farmer_joined, self.farmer_disq, self.farmer_disq_at = joined, disq, disq_at
        self.farmer_order = np.argsort(joined, kind="stable")
        self.farmer_addr = ["0x" + rng.bytes(20).hex() for _ in range(n)]

    def _contracts(self) -> None:
        s, rng = self.spec, _rng(self.spec, 3)
        n = s.n_contracts
        begin = self._times(rng, n, s.start_ms - 20 * MS_D, s.end_ms - MS_H)
        dur = np.maximum(MS_H, (rng.lognormal(np.log(15 * MS_D), 1.0, n)).astype(np.int64))
        end = np.minimum(begin + dur, s.horizon_ms - MS_D)
        end = np.maximum(end, begin + MS_H)
        renter = self.pick_accounts(rng, "renter", n)
        bucket = self.pick_contexts(rng, renter)
        js = self.farmer_joined[self.farmer_order]
        cnt = np.searchsorted(js, begin, side="right")
        farmer = self.farmer_order[(rng.random(n) * np.maximum(cnt, 1)).astype(np.int64)]
        begin = np.where(cnt == 0, np.maximum(begin, self.farmer_joined[farmer] + MS_H), begin)
        end = np.maximum(end, begin + MS_H)
        size = np.clip(rng.lognormal(np.log(5e8), 1.6, n), 1e3, 5e11).astype(np.int64)
        upd = begin - rng.integers(1000, 600_000, n)
        upd, late = self.knowledge(rng, upd, rng.random(n) < s.late_fraction, mean_delay_ms=1)
        # later versions: extended or terminated
        u = rng.random(n)
        ext = u < 0.08
        term = (u >= 0.08) & (u < 0.12)
        v2_upd = begin + (rng.random(n) * (end - begin)).astype(np.int64)
        v2_upd = np.clip(np.maximum(v2_upd, upd + 60_000), None, s.horizon_ms - 2 * MS_H)
        v2_end = np.where(ext, end + rng.lognormal(np.log(10 * MS_D), 0.7, n).astype(np.int64),
                          v2_upd + rng.integers(0, MS_H, n))
        v2_end = np.maximum(np.minimum(v2_end, s.horizon_ms - MS_D), begin + MS_H)
        has_v2 = (ext | term) & (v2_upd > upd)
        self.c = dict(begin=begin, end=end, renter=renter, bucket=bucket, farmer=farmer, size=size,
                      upd=upd, late=late, has_v2=has_v2, v2_upd=v2_upd, v2_end=v2_end,
                      final_end=np.where(has_v2, v2_end, end))
        self.c_oid = object_ids(s.seed, "contracts", upd, np.arange(n))
        self.c_hash = _strings_fixed(np.hstack([_hex_mat(rng.integers(0, 2**63, n, dtype=np.int64), 16)
                                                for _ in range(4)]))
        lo = np.maximum(begin, s.start_ms)
        hi = np.minimum(self.c["final_end"], s.end_ms)
        self.c_eligible = np.flatnonzero(hi - lo > 60_000)

    # ---- collections
    def tables(self, coll: str, source: str | None = None) -> Iterator[pa.Table]:
        if coll in ("renters", "accounts"):
            kind = "renter" if coll == "renters" else _account_kind(source)
            yield self._account_docs(coll, kind).table()
        elif coll == "farmers":
            yield self._farmer_docs().table()
        elif coll == "contracts":
            for a in range(0, self.spec.n_contracts, CHUNK):
                yield self._contract_docs(a, min(a + CHUNK, self.spec.n_contracts)).table()
        elif coll == "transfer_reports":
            step = CHUNK // 2
            for a in range(0, self.spec.n_transfers, step):
                yield from _tables(self._transfer_docs(a, min(a + step, self.spec.n_transfers)))
        elif coll == "audits":
            for a in range(0, self.spec.n_audits, CHUNK):
                yield self._audit_docs(a, min(a + CHUNK, self.spec.n_audits)).table()
        elif coll == "usage_events":
            for a in range(0, self.spec.n_usage_events, CHUNK):
                yield from _tables(self._event_docs(a, min(a + CHUNK, self.spec.n_usage_events)))
        elif coll == "usage_samples":
            per = max(2, 2 * (CHUNK // (2 * self.spec.steps_per_series)))
            for a in range(0, self.spec.n_series, per):
                yield from _tables(self._sample_docs(a, min(a + per, self.spec.n_series)))
        else:
            raise ValueError(f"unknown collection {coll!r}")

    def _account_docs(self, coll: str, kind: str) -> Cols:
        s = self.spec
        code = {"renter": 11, "compute": 12, "storage": 13}.get(kind, 14)
        rng = _rng(s, code)
        acc = self.members.get(kind, np.arange(s.n_accounts))
        n = len(acc)
        upd1 = self.account_created[acc] + rng.integers(0, 2 * MS_D, n)
        plan1 = rng.choice(3, n, p=self.plan_p)
        disc1 = self.discounts[rng.choice(4, n, p=self.discount_p)]
        v2 = rng.random(n) < 0.15
        upd2 = np.maximum(upd1 + MS_D, s.start_ms) + (rng.random(n) * (s.end_ms - s.start_ms - 2 * MS_D)).astype(np.int64)
        upd2, late2 = self.knowledge(rng, upd2, mean_delay_ms=1)
        v2 &= upd2 < s.horizon_ms - MS_H
        plan2 = rng.choice(3, n, p=self.plan_p)
        disc2 = self.discounts[rng.choice(4, n, p=self.discount_p)]
        rows = np.concatenate([np.arange(n), np.flatnonzero(v2)])
        ver = np.concatenate([np.zeros(n, int), np.ones(v2.sum(), int)])
        order = np.lexsort((ver, rows))
        rows, ver = rows[order], ver[order]
        c = Cols(coll, len(rows))
        c.set("_id", pa.array([self.account_ids[i] for i in acc[rows]], pa.string()))
        c.set("plan", _dict_array(np.where(ver == 1, plan2[rows], plan1[rows]), PLANS))
        disc = np.where(ver == 1, disc2[rows], disc1[rows])
        c.set("discount_pct", disc)
        c.types["discount_pct"][(disc == 0) & (rng.random(len(rows)) < 0.3)] = T_MISSING  # optional
        c.set("updated_at", np.where(ver == 1, upd2[rows], upd1[rows]))
        c.final = (ver == 1) | ~v2[rows]
        c.late = (ver == 1) & late2[rows]
        c.apply_dirt(rng, s.dirty_fraction)
        return c

    def _farmer_docs(self) -> Cols:
        s, rng = self.spec, _rng(self.spec, 20)
        n = s.n_farmers
        d = self.farmer_disq
        rows = np.concatenate([np.arange(n), np.flatnonzero(d)])
        ver = np.concatenate([np.zeros(n, int), np.ones(d.sum(), int)])
        order = np.lexsort((ver, rows))
        rows, ver = rows[order], ver[order]
        c = Cols("farmers", len(rows))
        c.set("_id", pa.array([self.farmer_ids[i] for i in rows], pa.string()))
        c.set("joined_at", self.farmer_joined[rows])
        c.set("disqualified_at", self.farmer_disq_at[rows], np.where(ver == 1, T_DATE, T_NULL))
        addr_missing = rng.random(len(rows)) < 0.05
        c.set("payout_address", pa.array([self.farmer_addr[i] for i in rows], pa.string()),
              np.where(addr_missing, T_MISSING, T_STR))
        upd = np.where(ver == 1, self.farmer_disq_at[rows], self.farmer_joined[rows]) + rng.integers(1000, MS_H, len(rows))
        c.set("updated_at", np.minimum(upd, s.horizon_ms - 1))
        c.final = (ver == 1) | ~d[rows]
        c.apply_dirt(rng, s.dirty_fraction)
        return c

    def _contract_docs(self, a: int, b: int) -> Cols:
        s, rng = self.spec, _rng(self.spec, 30, a // CHUNK)
        C = {k: v[a:b] for k, v in self.c.items()}
        n = b - a
        v2 = np.flatnonzero(C["has_v2"])
        rows = np.concatenate([np.arange(n), v2])
        ver = np.concatenate([np.zeros(n, int), np.ones(len(v2), int)])
        order = np.lexsort((ver, rows))
        rows, ver = rows[order], ver[order]
        c = Cols("contracts", len(rows))
        c.set("_id", self.c_oid[a:b].take(pa.array(rows)), T_OID)
        c.set("renter_id", _dict_array(C["renter"][rows], self.account_ids))
        c.set("bucket", _dict_array(C["bucket"][rows], CONTEXTS))
        c.set("farmer_id", _dict_array(C["farmer"][rows], self.farmer_ids))
        c.set("shard_hash", self.c_hash[a:b].take(pa.array(rows)))
        c.set("data_size", C["size"][rows] * SCALE)
        c.set("store_begin", C["begin"][rows])
        c.set("store_end", np.where(ver == 1, C["v2_end"][rows], C["end"][rows]))
        c.set("updated_at", np.where(ver == 1, C["v2_upd"][rows], C["upd"][rows]))
        c.final = (ver == 1) | ~C["has_v2"][rows]
        c.late = (ver == 0) & C["late"][rows]
        c.apply_dirt(rng, s.dirty_fraction)
        return c

    def _window(self, rng, ci: np.ndarray, skew: float = 1.0) -> np.ndarray:
        s = self.spec
        lo = np.maximum(self.c["begin"][ci], s.start_ms)
        hi = np.minimum(self.c["final_end"][ci], s.end_ms)
        return lo + (rng.random(len(ci)) ** skew * (hi - lo - 1)).astype(np.int64)

    def _transfer_docs(self, a: int, b: int) -> Cols:
        s, rng = self.spec, _rng(self.spec, 40, a // (CHUNK // 2))
        n = b - a
        ci = self.c_eligible[rng.integers(0, len(self.c_eligible), n)]
        upload = rng.random(n) < 0.4
        completed = np.where(upload, self._window(rng, ci, 3.0), self._window(rng, ci))
        size = self.c["size"][ci]
        nbytes = np.where(upload, size, np.maximum(1, (size * rng.uniform(0.05, 1.0, n)).astype(np.int64)))
        speed = rng.lognormal(np.log(5e7), 0.8, n)  # bytes/s
        started = completed - np.maximum(1, nbytes / speed * 1000).astype(np.int64)
        u = rng.random(n)
        miss_renter = u < 0.015
        miss_farmer = (u >= 0.015) & (u < 0.03)
        v = rng.random(n)
        f_bytes = np.where(v < 0.02, (nbytes * rng.uniform(0.9, 0.985, n)).astype(np.int64),
                           np.where(v < 0.03, (nbytes * rng.uniform(0.995, 1.0, n)).astype(np.int64), nbytes))
        # two reports per transfer, renter first
        t = np.repeat(np.arange(n), 2)
        is_f = np.tile([False, True], n)
        keep = ~np.where(is_f, miss_farmer[t], miss_renter[t])
        t, is_f = t[keep], is_f[keep]
        m = len(t)
        rec, late = self.knowledge(rng, completed[t])
        c = Cols("transfer_reports", m)
        gidx = (a + t) * 2 + is_f
        c.set("_id", object_ids(s.seed, "transfer_reports", rec, gidx), T_OID)
        c.set("transfer_id", prefixed_ids("tr-", a + t, 10))
        c.set("reporter", _dict_array(is_f.astype(int), ["renter", "farmer"]))
        c.set("contract_id", self.c_oid.take(pa.array(ci[t])), np.where(rng.random(m) < 0.01, T_MISSING, T_STR))
        c.set("renter_id", _dict_array(self.c["renter"][ci[t]], self.account_ids))
        c.set("farmer_id", _dict_array(self.c["farmer"][ci[t]], self.farmer_ids))
        c.set("bucket", _dict_array(self.c["bucket"][ci[t]], CONTEXTS))
        c.set("direction", _dict_array(np.where(upload[t], 0, 1), ["upload", "download"]))
        c.set("bytes", np.where(is_f, f_bytes[t], nbytes[t]) * SCALE)
        c.set("started_at", started[t], np.where(rng.random(m) < 0.03, T_MISSING, T_DATE))
        c.set("completed_at", completed[t])
        c.set("recorded_at", rec)
        c.late = late
        dup = c.apply_dirt(rng, s.dirty_fraction, {"badenum": "sideways"})
        return self._with_dups(c, rng, dup, "recorded_at", "transfer_reports", (1 << 39) + gidx)

    def _with_dups(self, c: Cols, rng, dup: np.ndarray, kfield: str, coll: str, gidx: np.ndarray,
                   win: "Window | None" = None) -> list[Cols]:
        """The chunk and, after it, the duplicates of its ``dup`` rows (recorded later, new _id):
        before the horizon, or for a day's documents (``win``) before the day's end, so a day
        holds no document known before it began (that would be back-dated knowledge)."""
        rows = np.flatnonzero(dup)
        if not len(rows):
            return [c]
        d = c.take(rows)
        last_ms = (self.spec.horizon_ms if win is None else win.hi) - 1
        k = np.minimum(d.vals[kfield] + rng.integers(60_000, 2 * MS_D, len(rows)), last_ms)
        d.vals[kfield] = k
        d.set("_id", object_ids(self.spec.seed, coll, k, gidx[rows] | (1 << 38)), T_OID)
        d.dirty[:] = True
        return [c, d]

    def _audit_docs(self, a: int, b: int, win: "Window | None" = None) -> Cols:
        s = self.spec
        rng = _rng(s, 50, a // CHUNK) if win is None else _rng(s, 150, win.day)
        n = b - a
        ci = self.c_eligible[rng.integers(0, len(self.c_eligible), n)]
        if win is None:
            at = self._window(rng, ci)
            rec, late = self.knowledge(rng, at)
        else:  # late audit reports: audited during the base range, recorded in the day window
            at = self._window(rng, ci)
            rec = self._times(rng, n, win.lo, win.hi)
            late = np.ones(n, bool)
        gidx = a + np.arange(n) if win is None else win.ids(n)
        c = Cols("audits", n)
        c.set("_id", object_ids(s.seed, "audits", rec, gidx), T_OID)
        c.set("contract_id", self.c_oid.take(pa.array(ci)))
        c.set("farmer_id", _dict_array(self.c["farmer"][ci], self.farmer_ids))
        c.set("audited_at", at)
        c.set("passed", rng.random(n) >= s.audit_failure_rate)
        c.set("recorded_at", rec)
        c.late = late
        c.apply_dirt(rng, s.dirty_fraction)
        return c

    def _event_docs(self, a: int, b: int, win: "Window | None" = None) -> Cols:
        s = self.spec
        rng = _rng(s, 60, a // CHUNK) if win is None else _rng(s, 160, win.day)
        n = b - a
        acct = self.pick_accounts(rng, "compute", n)
        ctx = self.pick_contexts(rng, acct)
        jobs = rng.random(n) < 0.2
        hours = ~jobs & (rng.random(n) < 0.07)
        secs = np.clip(rng.lognormal(np.log(1800), 1.5, n), 1, 1e7).astype(np.int64)
        qty = np.where(jobs, (1 + rng.geometric(0.3, n)) * SCALE,
                       np.where(hours, np.maximum(1, np.round(secs / 3.6)).astype(np.int64), secs * SCALE))
        occurred, rec, late = self.timed(rng, n, win, s.start_ms, s.end_ms)
        c = Cols("usage_events", n)
        gidx = a + np.arange(n) if win is None else win.ids(n)
        c.set("_id", object_ids(s.seed, "usage_events", rec, gidx), T_OID)
        c.set("event_id", prefixed_ids("ev-", gidx, 12))
        c.set("account_id", _dict_array(acct, self.account_ids))
        c.set("context", _dict_array(ctx, CONTEXTS))
        c.set("resource", _dict_array(jobs.astype(int), ["compute.time_used", "compute.jobs_started"]))
        c.set("quantity", qty)
        c.set("unit", _dict_array(np.where(jobs, 2, np.where(hours, 1, 0)), ["core_seconds", "core_hours", "count"]))
        c.set("occurred_at", occurred)
        c.set("recorded_at", rec)
        c.late = late
        dup = c.apply_dirt(rng, s.dirty_fraction, {"unknown_resource": "compute.gpu_time",
                                                   "unknown_unit": "core_minutes"})
        return self._with_dups(c, rng, dup, "recorded_at", "usage_events", gidx, win)

    def _sample_docs(self, a: int, b: int, win: "Window | None" = None) -> Cols:
        s = self.spec
        rng = _rng(s, 70, a) if win is None else _rng(s, 170, win.day, a)
        srng = _rng(s, 71)  # series attributes: independent of chunking
        ns = s.n_series
        pair_acct = self.pick_accounts(srng, "storage", ns // 2 + 1)
        pair_ctx = self.pick_contexts(srng, pair_acct)
        pair_gb = srng.random(ns // 2 + 1) < 0.1
        pair_base = srng.lognormal(np.log(5e10), 1.5, ns // 2 + 1)
        pair_files = srng.lognormal(np.log(2e4), 1.2, ns // 2 + 1)
        late_start = srng.random(ns // 2 + 1) < 0.3
        pair_start = np.where(late_start, srng.integers(s.start_ms, s.end_ms - 7 * MS_D, ns // 2 + 1),
                              s.start_ms - srng.integers(0, MS_D, ns // 2 + 1))
        series = np.arange(a, b)
        pair = series // 2
        files = series % 2 == 1
        K = s.steps_per_series
        step = int(s.sample_interval_hours * MS_H)
        if win is not None:  # the series go on through the day window
            K = max(1, int((win.hi - win.lo) // step))
            pair_start = np.full_like(pair_start, win.lo + step // 2)
        sidx = np.repeat(series, K)
        k = np.tile(np.arange(K), len(series))
        p = sidx // 2
        jitter = (rng.uniform(-0.15, 0.15, len(k)) * step).astype(np.int64)
        obs = pair_start[p] + k * step + jitter
        # gaps: a gap start drops the following samples covering ~1.5 days
        pos = np.arange(len(k))
        gstart = rng.random(len(k)) < 0.004
        glen = np.maximum(1, (rng.lognormal(np.log(36), 0.5, len(k)) / s.sample_interval_hours)).astype(np.int64)
        series_last = (np.searchsorted(sidx, sidx, side="right") - 1)
        reach = np.where(gstart, np.minimum(pos + glen, series_last), -1)
        acc = np.maximum.accumulate(reach)
        prev = np.concatenate([[-1], acc[:-1]])
        lo_t, hi_t = (s.start_ms - MS_D, s.end_ms) if win is None else (win.lo, win.hi - MS_H)
        keep = (prev < pos) & (obs >= lo_t) & (obs < hi_t)
        sidx, k, obs, p = sidx[keep], k[keep], obs[keep], p[keep]
        is_files = sidx % 2 == 1
        walk = rng.normal(0, 0.02, len(k))
        cs = np.cumsum(walk)
        first = np.searchsorted(sidx, sidx, side="left")
        level = np.exp(cs - cs[first] + walk[first])
        byt = (pair_base[p] * level).astype(np.int64)
        gb_m = np.round(byt / 1e6).astype(np.int64)
        val = np.where(is_files, np.maximum(0, (pair_files[p] * level)).astype(np.int64) * SCALE,
                       np.where(pair_gb[p], gb_m, byt * SCALE))
        n = len(k)
        if win is None:
            rec, late = self.knowledge(rng, obs, mean_delay_ms=30_000)
            gidx = sidx.astype(np.int64) * (K + 1) + k
        else:
            rec = np.minimum(obs + 1000 + rng.exponential(30_000, n).astype(np.int64), win.hi - 1)
            late = np.zeros(n, bool)
            gidx = win.ids(n, sidx.astype(np.int64) * (K + 1) + k)
        c = Cols("usage_samples", n)
        c.set("_id", object_ids(s.seed, "usage_samples", rec, gidx), T_OID)
        c.set("account_id", _dict_array(pair_acct[p], self.account_ids))
        c.set("context", _dict_array(pair_ctx[p], CONTEXTS))
        c.set("resource", _dict_array(is_files.astype(int), ["storage.bytes_used", "storage.files"]))
        c.set("value", val)
        c.set("unit", _dict_array(np.where(is_files, 2, np.where(pair_gb[p], 1, 0)), ["bytes", "GB", "count"]))
        c.set("observed_at", obs)
        c.set("recorded_at", rec)
        c.late = late
        dup = c.apply_dirt(rng, s.dirty_fraction, {"unknown_resource": "storage.inodes",
                                                   "unknown_unit": "blocks"})
        return self._with_dups(c, rng, dup, "recorded_at", "usage_samples", gidx, win)


def _tables(cols: "Cols | list[Cols]") -> Iterator[pa.Table]:
    for c in cols if isinstance(cols, list) else [cols]:
        if c.n:
            yield c.table()


def _account_kind(source: str | None) -> str:
    if source is None:
        return "compute"
    return "storage" if "storage" in source and "network" not in source else (
        "renter" if "network" in source else "compute")


def _source_kind(src) -> str:
    """Which account population a configured source's ``accounts`` collection describes."""
    res = getattr(src, "resources", ()) or ()
    if any(r.startswith("compute.") for r in res):
        return "compute"
    if any(r.startswith("storage.") for r in res):
        return "storage"
    if any(r.startswith("network.") for r in res):
        return "renter"
    return _account_kind(getattr(src, "name", None))


def collection_tables(spec: NetworkSpec, coll: str, source=None, network: Network | None = None) -> Iterator[pa.Table]:
    """Rendered Arrow tables (chunks) of one collection; ``source`` a SourceConfig or name."""
    net = network or Network(spec)
    if coll == "accounts":
        kind = _source_kind(source) if source is not None else "compute"
        yield net._account_docs("accounts", kind).table()
        return
    yield from net.tables(coll)


# ============================================================================ increments
@dataclass(frozen=True)
class Window:
    """Day ``day`` (1, 2, ...) after the spec's horizon: knowledge times in ``[lo, hi)``."""
    day: int
    lo: int
    hi: int
    late_lo: int  # late records: event times in the last month of the base range
    late_hi: int
    late_fraction: float

    def ids(self, n: int, local: np.ndarray | None = None) -> np.ndarray:
        local = np.arange(n, dtype=np.int64) if local is None else local
        return (1 << 37) | (self.day << 26) | local


@dataclass
class Increment:
    """One more day of documents: ``inserts[(source, collection)]`` and contract ``replacements``
    (current versions with a later ``updated_at`` and a new ``store_end``)."""
    day: int
    window: tuple[dt.datetime, dt.datetime]
    inserts: dict[tuple[str, str], list[dict]]
    replacements: dict[tuple[str, str], list[dict]]


def _day_window(spec: NetworkSpec, day: int) -> Window:
    if day < 1:
        raise ValueError("day: increments are numbered from 1")
    lo = spec.horizon_ms + (day - 1) * MS_D
    last = _ms(_add_months(spec.start, spec.months - 1))
    return Window(day, lo, lo + MS_D, last, spec.end_ms, min(0.5, max(0.05, 5 * spec.late_fraction)))


def generate_increment(spec: NetworkSpec, day: int = 1, cfg=None, network: "Network | None" = None) -> Increment:
    """Day ``day`` of new documents after the base network (deterministic from seed and day):
    new usage events (some late: occurred in the last base month), usage samples continuing every
    series, late audit reports, the missing side of some unpaired transfers arriving late, new
    contracts, and later versions of some contracts (extended) to ``replace_one``."""
    net = network or Network(spec)
    win = _day_window(spec, day)
    days = max(1, (spec.end_ms - spec.start_ms) // MS_D)
    s = spec
    rng = _rng(s, 200, day)
    tables: dict[str, list[pa.Table]] = {}
    ne = max(1, s.n_usage_events // days)
    tables["usage_events"] = list(_tables(net._event_docs(0, ne, win)))
    tables["usage_samples"] = [t for a in range(0, s.n_series, 2 * 64)
                               for t in _tables(net._sample_docs(a, min(a + 2 * 64, s.n_series), win))]
    na = max(1, s.n_audits // days // 4)
    tables["audits"] = [net._audit_docs(0, na, win).table()]
    # late transfer reports: the missing side of base transfers (first chunk only)
    base = next(net.tables("transfer_reports"))
    tid = base.column("transfer_id").to_numpy(zero_copy_only=False)
    uniq, cnt = np.unique(tid, return_counts=True)
    single = set(uniq[cnt == 1][: max(1, len(uniq) // 200)])
    rows = np.flatnonzero(np.isin(tid, list(single)) & (base.column("#t" if False else "reporter#t").to_numpy() == T_STR)
                          & np.asarray(base.column("#final").to_numpy(zero_copy_only=False)))
    rep_docs = documents(base, "transfer_reports", rows) if len(rows) else []
    late_reports = []
    for i, d in enumerate(rep_docs):
        from bson import ObjectId
        d = dict(d)
        d["reporter"] = "farmer" if d.get("reporter") == "renter" else "renter"
        rec = _ts_py(int(win.lo + rng.integers(0, MS_D)))
        d["recorded_at"] = rec
        d["_id"] = ObjectId(_oid_hex(s.seed, "transfer_reports", _ms(rec.replace(tzinfo=UTC)), int(win.ids(1)[0]) + i))
        late_reports.append(d)
    # new contracts beginning in the window
    nc = max(1, s.n_contracts // days)
    cnew = Cols("contracts", nc)
    renter = net.pick_accounts(rng, "renter", nc)
    begin = win.lo + rng.integers(MS_H, MS_D - MS_H, nc)
    upd = begin - rng.integers(1000, 600_000, nc)
    cnew.set("_id", object_ids(s.seed, "contracts", upd, win.ids(nc)), T_OID)
    cnew.set("renter_id", _dict_array(renter, net.account_ids))
    cnew.set("bucket", _dict_array(net.pick_contexts(rng, renter), CONTEXTS))
    cnew.set("farmer_id", _dict_array(rng.integers(0, s.n_farmers, nc), net.farmer_ids))
    cnew.set("shard_hash", _strings_fixed(np.hstack([_hex_mat(rng.integers(0, 2**63, nc, dtype=np.int64), 16)
                                                     for _ in range(4)])))
    cnew.set("data_size", np.clip(rng.lognormal(np.log(5e8), 1.6, nc), 1e3, 5e11).astype(np.int64) * SCALE)
    cnew.set("store_begin", begin)
    cnew.set("store_end", begin + np.maximum(MS_H, rng.lognormal(np.log(15 * MS_D), 1.0, nc).astype(np.int64)))
    cnew.set("updated_at", upd)
    cnew.apply_dirt(rng, s.dirty_fraction)
    tables["contracts"] = [cnew.table()]
    # extended contracts: a later version of the latest-ending current versions
    ctab = next(net.tables("contracts"))
    ctab = ctab.filter(pa.array(np.asarray(ctab.column("#final").to_numpy(zero_copy_only=False))
                                & (ctab.column("store_end#t").to_numpy() == T_DATE)
                                & (ctab.column("updated_at#t").to_numpy() == T_DATE)))
    ends = ctab.column("store_end").cast(pa.int64()).to_numpy()
    k = max(1, min(len(ends), s.n_contracts // 100 // max(1, days // 10)))
    pick = np.sort(rng.choice(np.argsort(ends)[-max(k, len(ends) // 10):], k, replace=False))
    repl = []
    for j, d in zip(pick, documents(ctab, "contracts", pick)):
        d = dict(d)
        d["store_end"] = _ts_py(int(max(ends[j], win.hi) + rng.integers(MS_D, 30 * MS_D)))
        d["updated_at"] = _ts_py(int(win.lo + rng.integers(0, MS_D)))
        repl.append(d)
    inserts: dict[tuple[str, str], list[dict]] = {}
    replacements: dict[tuple[str, str], list[dict]] = {}
    for src_name, src, coll in _configured(cfg):
        docs: list[dict] = []
        for tbl in tables.get(coll, []):
            docs.extend(documents(tbl, coll))
        if coll == "transfer_reports":
            docs.extend(late_reports)
        if docs:
            inserts[(src_name, coll)] = docs
        if coll == "contracts" and repl:
            replacements[(src_name, coll)] = repl
    return Increment(day, (_ts_py(win.lo).replace(tzinfo=UTC), _ts_py(win.hi).replace(tzinfo=UTC)),
                     inserts, replacements)


def _oid_hex(seed: int, coll: str, ts_ms: int, idx: int) -> str:
    return object_ids(seed, coll, np.array([ts_ms]), np.array([idx])).to_pylist()[0]


def write_increment_to_mongo(spec: NetworkSpec, env_or_uris: Mapping[str, str], cfg=None, day: int = 1,
                             batch_size: int = 5000) -> dict[tuple[str, str], int]:
    """Apply :func:`generate_increment` (day ``day``) to MongoDB: ``insert_many`` the new documents,
    ``replace_one`` the updated contract versions. Returns documents written per collection."""
    from pymongo import MongoClient
    inc = generate_increment(spec, day, cfg)
    counts: dict[tuple[str, str], int] = {}
    srcs = {src_name: src for src_name, src, _ in _configured(cfg)}
    for (src_name, coll), docs in list(inc.inserts.items()) + list(inc.replacements.items()):
        src = srcs[src_name]
        with MongoClient(_uri_for(src, env_or_uris)) as client:
            mcoll = client[src.database][coll]
            if (src_name, coll) in inc.inserts and docs is inc.inserts[(src_name, coll)]:
                for a in range(0, len(docs), batch_size):
                    mcoll.insert_many(docs[a:a + batch_size], ordered=False)
            else:
                for d in docs:
                    mcoll.replace_one({"_id": d["_id"]}, d)
        counts[(src_name, coll)] = counts.get((src_name, coll), 0) + len(docs)
    return counts


def _bson_type(v) -> str:
    from bson import Decimal128, Int64, ObjectId
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, Int64):
        return "long"
    if isinstance(v, int):
        return "int" if -2**31 <= v < 2**31 else "long"
    if isinstance(v, float):
        return "double"
    if isinstance(v, Decimal128):
        return "decimal"
    if isinstance(v, dt.datetime):
        return "date"
    if isinstance(v, ObjectId):
        return "objectId"
    if isinstance(v, str):
        return "string"
    return type(v).__name__


def to_string(v) -> str | None:
    """What the server's ``$toString`` makes of a value the generator writes (reference renderer)."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        r = repr(v)
        return r[:-2] if r.endswith(".0") else r
    if isinstance(v, dt.datetime):
        v = v.astimezone(UTC).replace(tzinfo=None) if v.tzinfo else v
        return v.strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}Z"
    return str(v)


def raw_row(doc: dict, coll: str) -> dict:
    """The raw-layout row (data columns, no load metadata) extraction makes of one document."""
    from extract.schemas import ALLOWED_BSON_TYPES
    spec = COLLECTIONS[coll]
    row = {"_id": to_string(doc["_id"])}
    misfit = []
    for f in spec.fields:
        v = doc.get(f.name)
        row[f.name] = to_string(v)
        t = _bson_type(v) if f.name in doc else "missing"
        allowed = ALLOWED_BSON_TYPES[f.kind] + (() if f.required else ("missing", "null"))
        if t not in allowed:
            misfit.append(f.name)
    cur = doc.get(spec.cursor)
    if isinstance(cur, dt.datetime):
        cur = cur.astimezone(UTC).replace(tzinfo=None) if cur.tzinfo else cur
        row["_knowledge_at"] = cur.replace(microsecond=cur.microsecond // 1000 * 1000)
    else:
        row["_knowledge_at"] = None
    row["_misfit_fields"] = misfit
    row["_raw_document"] = canonical_json(doc) if misfit else None
    return row


def write_increment_to_duckdb(spec: NetworkSpec, con_or_path, cfg=None, day: int = 1, *,
                              batch_id: str | None = None, extracted_at: dt.datetime | None = None
                              ) -> dict[tuple[str, str], int]:
    """Append day ``day`` of :func:`generate_increment` straight to the raw tables (the updated
    contract versions as new rows: raw keeps every version). Returns rows per collection."""
    import duckdb
    inc = generate_increment(spec, day, cfg)
    own = not isinstance(con_or_path, duckdb.DuckDBPyConnection)
    con = duckdb.connect(str(con_or_path)) if own else con_or_path
    extracted_at = extracted_at or inc.window[1].replace(tzinfo=None)
    batch_id = batch_id or f"generated-day{day}"
    counts: dict[tuple[str, str], int] = {}
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("CREATE SCHEMA IF NOT EXISTS raw")
        for key in sorted(set(inc.inserts) | set(inc.replacements)):
            src_name, coll = key
            docs = inc.inserts.get(key, []) + inc.replacements.get(key, [])
            rows = [raw_row(d, coll) for d in docs]
            spec_c = COLLECTIONS[coll]
            data = {c: [r[c] for r in rows] for c in ["_id", *spec_c.field_names]}
            tbl = pa.table({**{c: pa.array(v, pa.string()) for c, v in data.items()},
                            "_knowledge_at": pa.array([r["_knowledge_at"] for r in rows], pa.timestamp("ms")),
                            "_misfit_fields": pa.array([r["_misfit_fields"] for r in rows], pa.list_(pa.string())),
                            "_raw_document": pa.array([r["_raw_document"] for r in rows], pa.string())})
            con.execute(raw_table_ddl(src_name, coll))
            view = f"_inc_{uuid.uuid4().hex}"
            con.register(view, tbl)
            try:
                cols = ", ".join(f'"{c}"' for c, _ in raw_columns(spec_c))
                sel = ", ".join(f'"{c}"' for c, _ in raw_columns(spec_c)[:-4])
                con.execute(f'INSERT INTO raw."{raw_table_name(src_name, coll)}" ({cols}) '
                            f"SELECT {sel}, ?, ?, ?, ?::TIMESTAMP FROM {view}",
                            [src_name, coll, batch_id, extracted_at])
            finally:
                con.unregister(view)
            counts[key] = len(rows)
    finally:
        if own:
            con.close()
    return counts


# ============================================================================ documents
def _ts_py(ms: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=ms)


def documents(table: pa.Table, coll: str, rows: np.ndarray | None = None) -> list[dict]:
    """MongoDB documents of (some rows of) a rendered table, keys in declared order."""
    from bson import Decimal128, Int64, ObjectId
    spec = COLLECTIONS[coll]
    if rows is not None:
        table = table.take(pa.array(rows, pa.int64()))
    names = ["_id"] + spec.field_names
    kinds = {"_id": "id", **{f.name: f.kind for f in spec.fields}}
    vals = {}
    for name in names:
        col = table.column(name)
        if kinds[name] == "timestamp":
            col = col.cast(pa.int64())
        vals[name] = col.to_pylist()
    types = {name: table.column(name + "#t").to_pylist() for name in names}
    out = []
    for i in range(table.num_rows):
        doc = {}
        for name in names:
            t = types[name][i]
            if t == T_MISSING:
                continue
            v = vals[name][i]
            if t == T_NULL:
                doc[name] = None
            elif kinds[name] == "timestamp":
                d = _ts_py(v)
                doc[name] = d.strftime("%Y-%m-%d %H:%M:%S") if t == T_STR else (
                    d if i % 2 else d.replace(tzinfo=UTC))
            elif t == T_STR:
                doc[name] = v
            elif t == T_OID:
                doc[name] = ObjectId(v)
            elif t == T_INT32:
                doc[name] = int(v)
            elif t == T_INT64:
                doc[name] = Int64(int(v))
            elif t == T_DOUBLE:
                doc[name] = float(v)
            elif t == T_DEC:
                doc[name] = Decimal128(v)
            elif t == T_BOOL:
                doc[name] = v == "true"
            else:  # pragma: no cover
                raise ValueError(f"type code {t}")
        out.append(doc)
    return out


def generate_documents(spec: NetworkSpec, cfg=None, final_only: bool = True) -> dict[tuple[str, str], list[dict]]:
    """Every document of every configured collection (demo sizes only: per-row Python)."""
    net = Network(spec)
    out: dict[tuple[str, str], list[dict]] = {}
    for src_name, src, coll in _configured(cfg):
        docs: list[dict] = []
        for tbl in collection_tables(spec, coll, src if src is not None else src_name, net):
            if final_only:
                tbl = tbl.filter(tbl.column("#final"))
            docs.extend(documents(tbl, coll))
        out[(src_name, coll)] = docs
    return out


_DEFAULT_LAYOUT = [
    ("storage_network", ["contracts", "transfer_reports", "audits", "farmers", "renters"], "renter"),
    ("compute", ["usage_events", "accounts"], "compute"),
    ("storage", ["usage_samples", "accounts"], "storage"),
]


class _Src:
    def __init__(self, name, database, collections, kind):
        self.name, self.database, self.collections = name, database, tuple(collections)
        self.resources = {"renter": ("network.storage",), "compute": ("compute.time_used",),
                          "storage": ("storage.bytes_used",)}[kind]
        self.uri_env = None


def _configured(cfg) -> list[tuple[str, object, str]]:
    if cfg is None:
        return [(n, _Src(n, n, cs, k), c) for n, cs, k in _DEFAULT_LAYOUT for c in cs]
    return [(s.name, s, c) for s, c in cfg.collections()]


# ============================================================================ MongoDB writer
def _uri_for(src, env_or_uris: Mapping[str, str]) -> str:
    if src.name in env_or_uris:
        return env_or_uris[src.name]
    if getattr(src, "uri_env", None) and src.uri_env in env_or_uris:
        return env_or_uris[src.uri_env]
    raise KeyError(f"no MongoDB URI for source {src.name!r}")


def write_to_mongo(spec: NetworkSpec, env_or_uris: Mapping[str, str], cfg=None, *, drop: bool = True,
                   batch_size: int = 5000) -> dict[tuple[str, str], int]:
    """Insert the current version of every document of every configured collection.

    ``env_or_uris`` maps source name (or its ``uri_env``) to a MongoDB URI. Each collection gets
    an index on its cursor field. Returns documents inserted per (source, collection).
    """
    from pymongo import ASCENDING, MongoClient
    net = Network(spec)
    counts: dict[tuple[str, str], int] = {}
    clients: dict[str, MongoClient] = {}
    try:
        for src_name, src, coll in _configured(cfg):
            uri = _uri_for(src, env_or_uris)
            client = clients.get(uri) or clients.setdefault(uri, MongoClient(uri))
            mcoll = client[src.database][coll]
            if drop:
                mcoll.drop()
            n = 0
            for tbl in collection_tables(spec, coll, src, net):
                tbl = tbl.filter(tbl.column("#final"))
                for a in range(0, tbl.num_rows, batch_size):
                    docs = documents(tbl.slice(a, batch_size), coll)
                    mcoll.insert_many(docs, ordered=False)
                    n += len(docs)
            mcoll.create_index([(COLLECTIONS[coll].cursor, ASCENDING)])
            counts[(src_name, coll)] = n
    finally:
        for c in clients.values():
            c.close()
    return counts


# ============================================================================ raw writers
def _raw_select(coll: str, view: str) -> str:
    spec = COLLECTIONS[coll]
    exprs = ['"_id"']
    for f in spec.fields:
        q, t = f'"{f.name}"', f'"{f.name}#t"'
        if f.kind == "timestamp":
            exprs.append(f"CASE {t} WHEN {T_DATE} THEN strftime({q}, '%Y-%m-%dT%H:%M:%S.%gZ') "
                         f"WHEN {T_STR} THEN strftime({q}, '%Y-%m-%d %H:%M:%S') END")
        else:
            exprs.append(f"CASE WHEN {t} > {T_NULL} THEN {q} END")
    cur = spec.cursor
    exprs.append(f'CASE WHEN "{cur}#t" = {T_DATE} THEN "{cur}"::TIMESTAMP END')
    items = ", ".join(f"""CASE WHEN "{f.name}#m" THEN '{f.name}' END""" for f in spec.fields)
    exprs.append(f"list_filter([{items}]::VARCHAR[], lambda x: x IS NOT NULL)")
    exprs.append('"#raw"')
    exprs += ["$source", "$collection", "$batch", "$extracted::TIMESTAMP"]
    return f"SELECT {', '.join(exprs)} FROM {view}"


def canonical_json(doc: dict) -> str:
    """``bson.json_util.dumps(doc, json_options=CANONICAL_JSON_OPTIONS)`` for the value types the
    generator writes (str, ObjectId, int, Int64, float, Decimal128, datetime, bool, None), faster."""
    from bson import Decimal128, Int64, ObjectId
    parts = []
    for k, v in doc.items():
        if v is None:
            r = "null"
        elif v is True:
            r = "true"
        elif v is False:
            r = "false"
        elif isinstance(v, str):
            r = json.dumps(v)
        elif isinstance(v, ObjectId):
            r = '{"$oid": "%s"}' % v
        elif isinstance(v, Int64):
            r = '{"$numberLong": "%d"}' % v
        elif isinstance(v, int):
            r = ('{"$numberInt": "%d"}' if -2**31 <= v < 2**31 else '{"$numberLong": "%d"}') % v
        elif isinstance(v, float):
            r = '{"$numberDouble": "%r"}' % v
        elif isinstance(v, Decimal128):
            r = '{"$numberDecimal": "%s"}' % v
        elif isinstance(v, dt.datetime):
            ms = _ms(v)
            r = '{"$date": {"$numberLong": "%d"}}' % ms
        else:  # pragma: no cover - not generated
            from bson.json_util import CANONICAL_JSON_OPTIONS, dumps
            r = dumps(v, json_options=CANONICAL_JSON_OPTIONS)
        parts.append(f"{json.dumps(k)}: {r}")
    return "{" + ", ".join(parts) + "}"


def _with_raw_documents(tbl: pa.Table, coll: str) -> pa.Table:
    dumps = canonical_json
    mis = np.asarray(tbl.column("#misfit").to_numpy(zero_copy_only=False))
    rows = np.flatnonzero(mis)
    raw = np.full(tbl.num_rows, None, dtype=object)
    if len(rows):
        raw[rows] = [dumps(d) for d in documents(tbl, coll, rows)]
    return tbl.append_column("#raw", pa.array(raw, pa.string()))


def _iter_raw(spec: NetworkSpec, cfg, final_only: bool):
    net = Network(spec)
    for src_name, src, coll in _configured(cfg):
        for tbl in collection_tables(spec, coll, src, net):
            if final_only:
                tbl = tbl.filter(tbl.column("#final"))
            yield src_name, coll, _with_raw_documents(tbl, coll)


def _params(src_name, coll, batch_id, extracted_at):
    return {"source": src_name, "collection": coll, "batch": batch_id, "extracted": extracted_at}


def write_raw_to_duckdb(spec: NetworkSpec, con_or_path, cfg=None, *, final_only: bool = False,
                        batch_id: str = "generated", extracted_at: dt.datetime | None = None,
                        replace: bool = True) -> dict[tuple[str, str], int]:
    """Write every configured collection straight into ``raw.<source>__<collection>``.

    Versioned collections get every version unless ``final_only``. ``replace`` drops the raw
    tables first. Returns rows written per (source, collection).
    """
    import duckdb
    own = not isinstance(con_or_path, duckdb.DuckDBPyConnection)
    con = duckdb.connect(str(con_or_path)) if own else con_or_path
    extracted_at = extracted_at or spec.horizon.replace(tzinfo=None)
    counts: dict[tuple[str, str], int] = {}
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("CREATE SCHEMA IF NOT EXISTS raw")
        done: set[tuple[str, str]] = set()
        for src_name, src, coll in _configured(cfg):
            if replace:
                con.execute(f'DROP TABLE IF EXISTS raw."{raw_table_name(src_name, coll)}"')
            con.execute(raw_table_ddl(src_name, coll))
        for src_name, coll, tbl in _iter_raw(spec, cfg, final_only):
            view = f"_gen_{uuid.uuid4().hex}"
            con.register(view, tbl)
            try:
                cols = ", ".join(f'"{c}"' for c, _ in raw_columns(COLLECTIONS[coll]))
                con.execute(f'INSERT INTO raw."{raw_table_name(src_name, coll)}" ({cols}) '
                            + _raw_select(coll, view), _params(src_name, coll, batch_id, extracted_at))
            finally:
                con.unregister(view)
            counts[(src_name, coll)] = counts.get((src_name, coll), 0) + tbl.num_rows
            done.add((src_name, coll))
    finally:
        if own:
            con.close()
    return counts


def write_raw_parquet(spec: NetworkSpec, out_dir, cfg=None, *, final_only: bool = False,
                      batch_id: str = "generated", extracted_at: dt.datetime | None = None
                      ) -> dict[tuple[str, str], int]:
    """Write the raw layout as Parquet: ``out_dir/<source>__<collection>/part-NNNNN.parquet``."""
    import duckdb
    out = Path(out_dir)
    extracted_at = extracted_at or spec.horizon.replace(tzinfo=None)
    counts: dict[tuple[str, str], int] = {}
    parts: dict[tuple[str, str], int] = {}
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        for src_name, coll, tbl in _iter_raw(spec, cfg, final_only):
            d = out / raw_table_name(src_name, coll)
            d.mkdir(parents=True, exist_ok=True)
            k = parts.get((src_name, coll), 0)
            parts[(src_name, coll)] = k + 1
            view = f"_gen_{uuid.uuid4().hex}"
            con.register(view, tbl)
            try:
                names = ", ".join(f'"{c}"' for c, _ in raw_columns(COLLECTIONS[coll]))
                sel = _raw_select(coll, view)
                target = str(d / f"part-{k:05d}.parquet").replace("'", "''")
                con.execute(f"COPY (SELECT * FROM ({sel}) AS s({names})) TO '{target}' (FORMAT PARQUET)",
                            _params(src_name, coll, batch_id, extracted_at))
            finally:
                con.unregister(view)
            counts[(src_name, coll)] = counts.get((src_name, coll), 0) + tbl.num_rows
    finally:
        con.close()
    return counts


# ============================================================================ CLI
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m extract.generate",
                                description="Generate the source network deterministically from a seed.")
    p.add_argument("--size", default="demo", help="tiny | demo | M | L")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--to", choices=["mongo", "duckdb", "parquet"], default="duckdb")
    p.add_argument("--out", help="DuckDB file (duckdb) or directory (parquet)")
    p.add_argument("--config", help="accounting.yml (default: $ABACUS_CONFIG or the repo's)")
    p.add_argument("--final-only", action="store_true", help="raw writers: current versions only")
    a = p.parse_args(argv)
    try:
        spec = NetworkSpec.preset(a.size, a.seed)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from extract.config import ConfigError, load_config
    try:
        cfg = load_config(a.config, require_env=(a.to == "mongo"))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    if a.to == "mongo":
        counts = write_to_mongo(spec, {s.name: s.uri() for s in cfg.sources}, cfg)
    elif not a.out:
        print("error: --out: required for --to duckdb|parquet", file=sys.stderr)
        return 2
    elif a.to == "duckdb":
        counts = write_raw_to_duckdb(spec, a.out, cfg, final_only=a.final_only)
    else:
        counts = write_raw_parquet(spec, a.out, cfg, final_only=a.final_only)
    secs = time.perf_counter() - t0
    total = sum(counts.values())
    for (s, c), n in counts.items():
        print(f"{s}.{c}: {n}")
    print(f"total {total} documents in {secs:.1f}s ({total / max(secs, 1e-9):,.0f}/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
