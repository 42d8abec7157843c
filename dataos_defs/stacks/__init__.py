"""Stack executors: the code that runs a job's ``stackSpec`` (flare on DuckDB, ...).

Executors depend on the manifest model and adapters only; the orchestrator (Dagster) calls
them with resolved depots and credentials and records what they return.
"""
