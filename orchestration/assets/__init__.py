"""Dagster assets: raw extraction, dbt models, period reports."""
