"""Period report and publication assets (monthly partitions = billing periods).

``period_report`` (downstream of the invoice and payout marts) enforces the gate again, then
records a run in ``reports.report_runs`` (status ``final`` or ``draft``), snapshots the period's
invoice and payout lines keyed by the Dagster run id and computes their canonical SHA-256.
``published_warehouse`` then copies marts and reports into the read-only published DuckDB file
and Parquet files (atomic replace).
"""

import datetime as dt

from dagster import AssetExecutionContext, AssetKey, Failure, MaterializeResult, MetadataValue, asset

from orchestration.assets.dbt import MONTHLY, ONE_PERIOD_PER_RUN, WRITER_POOL, dbt_keys, gate_or_fail, is_draft, mart_key
from orchestration.partitions import dbt_vars_for_period
from orchestration.resources import AbacusConfig, Warehouse

REPORT_MARTS = ("fct_invoices", "fct_invoice_lines", "fct_invoice_context_amounts", "fct_payouts",
                "fct_payout_lines", "fct_rejected_records", "fct_transfer_discrepancies", "fct_late_unbilled")


def _report_deps() -> list[AssetKey]:
    known = dbt_keys()
    return [mart_key(m) for m in REPORT_MARTS if mart_key(m) in known]


@asset(
    key="period_report",
    group_name="reports",
    kinds={"duckdb"},
    partitions_def=MONTHLY,
    deps=_report_deps(),
    pool=WRITER_POOL,
    backfill_policy=ONE_PERIOD_PER_RUN,
    description="Invoices and payout statements of one billing period, recorded in reports.report_runs "
                "with a canonical SHA-256 of their lines (final after close(P); draft with tag draft=true).",
)
def period_report(context: AssetExecutionContext, abacus_config: AbacusConfig,
                  warehouse: Warehouse) -> MaterializeResult:
    from extract.state import source_status
    from extract.warehouse import warehouse_writer
    from orchestration.reports import ReportError, build_report

    cfg = abacus_config.load()
    path = warehouse.resolve(cfg)
    period = context.partition_key
    draft = is_draft(context.run.tags)
    now = dt.datetime.now(dt.timezone.utc)
    gate_or_fail(cfg, path, period, draft=draft, now=now)
    as_of = dt.datetime.fromisoformat(dbt_vars_for_period(period, cfg, draft=draft, now=now)["as_of"])
    with warehouse_writer(path) as con:
        marks = {name: (st.watermark.isoformat() if st.watermark else None)
                 for name, st in source_status(con, cfg).items()}
        try:
            summary = build_report(con, cfg, period, run_id=context.run.run_id,
                                   status="draft" if draft else "final", as_of=as_of,
                                   watermarks=marks, now=now)
        except ReportError as exc:
            raise Failure(description=str(exc)) from None
    counts = summary.row_counts
    return MaterializeResult(metadata={
        "period": period,
        "status": summary.status,
        "run_id": summary.run_id,
        "as_of": summary.as_of.isoformat(),
        "invoice_total": str(summary.invoice_total),
        "payout_gross_total": str(summary.payout_gross_total),
        "payout_net_total": str(summary.payout_net_total),
        "invoices": counts.get("fct_invoices", 0),
        "invoice_lines": counts.get("fct_invoice_lines", 0),
        "payouts": counts.get("fct_payouts", 0),
        "payout_lines": counts.get("fct_payout_lines", 0),
        "rejected_records": counts.get("fct_rejected_records", 0),
        "transfer_discrepancies": counts.get("fct_transfer_discrepancies", 0),
        "invoice_lines_sha256": summary.invoice_lines_sha256,
        "payout_lines_sha256": summary.payout_lines_sha256,
        "source_watermarks": MetadataValue.json(summary.source_watermarks),
        "summary": MetadataValue.md(summary.markdown()),
    })


@asset(
    key="published_warehouse",
    group_name="reports",
    kinds={"duckdb", "parquet"},
    partitions_def=MONTHLY,
    deps=[period_report],
    pool=WRITER_POOL,
    backfill_policy=ONE_PERIOD_PER_RUN,
    description="Read-only copy of marts and reports for SQL/BI: <published_dir>/abacus.duckdb and "
                "<published_dir>/parquet/<table>.parquet, each replaced atomically.",
)
def published_warehouse(context: AssetExecutionContext, abacus_config: AbacusConfig,
                        warehouse: Warehouse) -> MaterializeResult:
    from extract.warehouse import warehouse_writer
    from orchestration.reports import publish

    cfg = abacus_config.load()
    with warehouse_writer(warehouse.resolve(cfg)) as con:
        result = publish(con, cfg)
    return MaterializeResult(metadata={
        "database": MetadataValue.path(str(result.database)),
        "parquet_dir": MetadataValue.path(str(result.parquet_dir)),
        "tables": MetadataValue.json(result.tables),
    })
