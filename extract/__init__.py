"""MongoDB -> DuckDB extraction for abacus (raw layer)."""
