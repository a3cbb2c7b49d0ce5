"""Every dbt unit test (the SPEC's worked examples and edge cases as SQL fixtures) runs here, the
way dbt recommends running them: in CI, against an empty build of the models (`dbt run --empty`
gives every relation its columns and no rows), never in production. Production builds (Dagster,
the daily cycle, the benchmark) pass `--exclude-resource-type unit_test`: their inputs are
fixtures, so they cost build time and say nothing about the data."""
from __future__ import annotations

import json

import duckdb

from tests.dbt_support import create_raw_tables, run_dbt


def test_every_unit_test_passes_on_an_empty_build(tmp_path):
    wh = tmp_path / "abacus.duckdb"
    con = duckdb.connect(str(wh))
    create_raw_tables(con)
    con.close()
    assert run_dbt(["seed"], wh).success
    assert run_dbt(["run", "--empty"], wh).success
    result = run_dbt(["test", "--select", "test_type:unit"], wh)
    ran = [r for r in result.result.results if r.node.resource_type == "unit_test"]
    manifest = json.loads((tmp_path / "dbt_target" / "manifest.json").read_text())
    declared = [k for k in manifest["unit_tests"]]
    failed = [r.node.name for r in ran if r.status != "pass"]
    assert not failed, failed
    assert len(ran) == len(declared) >= 18
    assert result.success
