"""Dagster orchestration of abacus and the ``abacus`` command line."""
