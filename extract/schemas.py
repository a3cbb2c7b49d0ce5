"""What abacus extracts from each collection, and the layout of the DuckDB ``raw`` tables.

This module is the contract between the sources, ``extract/``, the generator and dbt staging.

Raw layout (one table per configured collection, ``raw.<source>__<collection>``):

* ``_id`` and every declared field as VARCHAR: the server renders each value with ``$toString``
  so numbers arrive as exact decimal text whatever their BSON type (int32, int64, double,
  Decimal128 or a numeric string) and dates as ISO-8601 text (``...Z``). Staging casts them.
* ``_knowledge_at`` TIMESTAMP (UTC): the knowledge-time cursor field when it is a BSON date,
  NULL otherwise (such documents are swept separately and rejected in staging).
* ``_misfit_fields`` VARCHAR[]: declared fields whose BSON type is not one the field allows
  (e.g. a string where a number belongs), or required fields that are missing/null.
* ``_raw_document`` VARCHAR: canonical Extended JSON of the original document, kept only for
  documents with misfit fields (so nothing the schema cannot hold is ever lost).
* load metadata: ``_source``, ``_collection``, ``_batch_id``, ``_extracted_at``.
"""
from __future__ import annotations

from dataclasses import dataclass

# BSON $type names each kind of field accepts as well-formed.
ALLOWED_BSON_TYPES: dict[str, tuple[str, ...]] = {
    "id": ("string", "objectId"),
    "string": ("string",),
    "number": ("int", "long", "double", "decimal"),
    "timestamp": ("date",),
    "bool": ("bool",),
}


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # one of ALLOWED_BSON_TYPES
    required: bool = True


@dataclass(frozen=True)
class CollectionSpec:
    name: str
    cursor: str  # knowledge-time field: recorded_at, or updated_at for versioned documents
    versioned: bool
    fields: tuple[Field, ...]

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]


def _f(name: str, kind: str, required: bool = True) -> Field:
    return Field(name, kind, required)


COLLECTIONS: dict[str, CollectionSpec] = {
    spec.name: spec
    for spec in [
        CollectionSpec("contracts", "updated_at", True, (
            _f("renter_id", "string"), _f("bucket", "string"), _f("farmer_id", "string"),
            _f("shard_hash", "string"), _f("data_size", "number"), _f("store_begin", "timestamp"),
            _f("store_end", "timestamp"), _f("updated_at", "timestamp"),
        )),
        CollectionSpec("transfer_reports", "recorded_at", False, (
            _f("transfer_id", "string"), _f("reporter", "string"), _f("contract_id", "id", False),
            _f("renter_id", "string"), _f("farmer_id", "string"), _f("bucket", "string"),
            _f("direction", "string"), _f("bytes", "number"), _f("started_at", "timestamp", False),
            _f("completed_at", "timestamp"), _f("recorded_at", "timestamp"),
        )),
        CollectionSpec("audits", "recorded_at", False, (
            _f("contract_id", "id"), _f("farmer_id", "string"), _f("audited_at", "timestamp"),
            _f("passed", "bool"), _f("recorded_at", "timestamp"),
        )),
        CollectionSpec("farmers", "updated_at", True, (
            _f("joined_at", "timestamp"), _f("disqualified_at", "timestamp", False),
            _f("payout_address", "string", False), _f("updated_at", "timestamp"),
        )),
        CollectionSpec("renters", "updated_at", True, (
            _f("plan", "string"), _f("discount_pct", "number", False), _f("updated_at", "timestamp"),
        )),
        CollectionSpec("usage_events", "recorded_at", False, (
            _f("event_id", "string"), _f("account_id", "string"), _f("context", "string"),
            _f("resource", "string"), _f("quantity", "number"), _f("unit", "string"),
            _f("occurred_at", "timestamp"), _f("recorded_at", "timestamp"),
        )),
        CollectionSpec("usage_samples", "recorded_at", False, (
            _f("account_id", "string"), _f("context", "string"), _f("resource", "string"),
            _f("value", "number"), _f("unit", "string"), _f("observed_at", "timestamp"),
            _f("recorded_at", "timestamp"),
        )),
        CollectionSpec("accounts", "updated_at", True, (
            _f("plan", "string"), _f("discount_pct", "number", False), _f("updated_at", "timestamp"),
        )),
    ]
}

META_COLUMNS: list[tuple[str, str]] = [
    ("_knowledge_at", "TIMESTAMP"),
    ("_misfit_fields", "VARCHAR[]"),
    ("_raw_document", "VARCHAR"),
    ("_source", "VARCHAR"),
    ("_collection", "VARCHAR"),
    ("_batch_id", "VARCHAR"),
    ("_extracted_at", "TIMESTAMP"),
]


def raw_table_name(source: str, collection: str) -> str:
    """Unqualified raw table name; the table lives in schema ``raw``."""
    return f"{source}__{collection}"


def raw_columns(spec: CollectionSpec) -> list[tuple[str, str]]:
    """(column, DuckDB type) of a raw table, in order."""
    return [("_id", "VARCHAR")] + [(f.name, "VARCHAR") for f in spec.fields] + META_COLUMNS


def raw_table_ddl(source: str, collection: str) -> str:
    spec = COLLECTIONS[collection]
    cols = ",\n    ".join(f'"{name}" {typ}' for name, typ in raw_columns(spec))
    return f'CREATE TABLE IF NOT EXISTS raw."{raw_table_name(source, collection)}" (\n    {cols}\n)'
