"""Jobs, the daily extraction schedule and the period-close sensor.

* ``extract_job`` (daily partitions): the schedule ``daily_extraction`` runs it every day at
  00:15 UTC for the day that just ended, tagged ``abacus/extract: new`` = everything new since
  each collection's watermark (catching up anything missed, not only that day).
* ``period_job`` (monthly partitions): dbt build + ``period_report`` + ``published_warehouse``.
  The sensor ``period_close`` requests a final build of a period once it has closed
  (``close(P) = end + grace <= now``) and Dagster holds no *final* ``period_report``
  materialization for it; at most one request per period per day (run key), so a build the
  gate refused (a lagging source) is retried the next day, or by hand.
"""
from __future__ import annotations

import datetime as dt

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    AssetSelection,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SkipReason,
    define_asset_job,
    schedule,
    sensor,
)

from extract.config import load_config
from orchestration.assets.dbt import abacus_dbt
from orchestration.assets.extraction import EXTRACT_MODE_TAG, MODE_NEW
from orchestration.assets.reports import period_report, published_warehouse
from orchestration.partitions import closed_periods, partitions_start, periods_to_request, utc_now

WAREHOUSE_TAG = {"abacus/warehouse": "writer"}


def make_jobs(extraction_assets):
    extract_job = define_asset_job(
        "extract_job", selection=AssetSelection.assets(*extraction_assets),
        description="Extract the configured collections into DuckDB raw (one day, or everything new "
                    "with the tag abacus/extract=new).", tags=WAREHOUSE_TAG)
    period_job = define_asset_job(
        "period_job", selection=AssetSelection.assets(abacus_dbt, period_report, published_warehouse),
        description="Build one billing period: dbt build (as of close(P), or now for a draft), the "
                    "period report behind the gate, then publish.", tags=WAREHOUSE_TAG)
    return extract_job, period_job


def make_schedules_and_sensors(extract_job, period_job):
    @schedule(job=extract_job, cron_schedule="15 0 * * *", execution_timezone="UTC",
              name="daily_extraction", default_status=DefaultScheduleStatus.STOPPED)
    def daily_extraction(context: ScheduleEvaluationContext):
        day = (context.scheduled_execution_time.astimezone(dt.timezone.utc) - dt.timedelta(days=1)).date()
        return RunRequest(partition_key=day.isoformat(), tags={EXTRACT_MODE_TAG: MODE_NEW})

    @sensor(job=period_job, name="period_close", minimum_interval_seconds=3600,
            default_status=DefaultSensorStatus.STOPPED)
    def period_close(context: SensorEvaluationContext):
        cfg = load_config(require_env=False)
        now = utc_now()
        first = partitions_start()
        finals: set[str] = set()
        candidates = closed_periods(first[:7], cfg.grace_hours, now)[-2:]
        for p in candidates:
            records = context.instance.fetch_materializations(
                AssetRecordsFilter(asset_key=AssetKey("period_report"), asset_partitions=[p]), limit=20)
            for rec in records.records:
                mat = rec.asset_materialization
                status = mat.metadata.get("status") if mat else None
                if status is not None and getattr(status, "value", status) == "final":
                    finals.add(p)
        wanted = periods_to_request(now, cfg.grace_hours, first, finals)
        if not wanted:
            return SkipReason("every closed period has a final report")
        return [RunRequest(run_key=f"final-{p}-{now:%Y%m%d}", partition_key=p) for p in wanted]

    return [daily_extraction], [period_close]
