"""Minerva: query clusters over the depots (embedded DuckDB, or a Trino endpoint)."""
