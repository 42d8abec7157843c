"""Great Expectations' SQL execution engine computing metrics inside the run's DuckDB.

GX reaches DuckDB through SQLAlchemy and ``duckdb-engine``, but never by opening a database
of its own: the engine's ``creator`` hands it the run's governed connection (under the run's
settings: no file, URL or Python object can be read, the settings are locked). GX sees
what the run's checks see:
the dataset's view, masks and row filters applied, narrowed by a check's ``filter``.
(Datasets that arrive as Arrow are registered on that connection only, so GX is handed
that connection itself, wrapped so that GX can neither close it nor end its transaction.)

Two things make DuckDB work as a GX SQL backend without GX knowing it as a dialect:

* GX fetches a query's rows after handing its SQLAlchemy connection back to the pool,
  which rolls back; on DuckDB that drops the pending result ("list index out of range").
  The handle given to GX therefore ignores ``begin``/``commit``/``rollback``: GX only
  reads, and DuckDB runs each statement as its own transaction.
* GX cannot match regexes on this dialect; those expectations stay on pandas batches
  (see ``gx_batch``), as do the ones whose results would not be identical in SQL.

Without ``duckdb-engine`` installed every expectation runs on pandas batches.
"""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import duckdb

from dataos_defs.adapters.duckdb_engine import quote
from dataos_defs.stacks.soda.gx_engine import GxResult, expectations_context, results_of
from dataos_defs.stacks.soda.sqltext import CheckProblem

_URL = "duckdb:///:memory:"
"""Names the dialect only: the ``creator`` gives the connection, nothing is opened."""
_NAMES = itertools.count()


def available() -> bool:
    """Whether GX can run SQL on DuckDB here (``duckdb-engine`` is installed)."""
    try:
        importlib.import_module("duckdb_engine")
    except ImportError:
        return False
    return True


def _governed(con: duckdb.DuckDBPyConnection) -> Any:
    """A ``duckdb-engine`` handle on the governed connection that ignores transactions and
    ``close`` (see the module's note; the run closes its connection)."""
    wrapper = importlib.import_module("duckdb_engine").ConnectionWrapper

    class Governed(wrapper):  # type: ignore[misc, valid-type]
        def begin(self) -> None:
            """DuckDB runs each of GX's reads as its own transaction."""

        def commit(self) -> None:
            """Nothing to commit: GX only reads."""

        def rollback(self) -> None:
            """Keeps the pending result GX fetches after releasing the connection."""

        def close(self) -> None:
            """The run's connection outlives GX's engine."""

    return Governed(con)


def validate_sql(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    suite: Sequence[Any],
    derived: Mapping[str, str] | None = None,
) -> list[GxResult]:
    """Validate the expectations on ``SELECT * FROM relation`` inside DuckDB; one result per
    expectation, in order. ``relation`` is the governed view (or a filtered subquery of it);
    ``derived`` adds columns (name -> SQL expression over it)."""
    if not suite:
        return []
    context = expectations_context()
    name = f"soda_sql_{next(_NAMES)}"
    from great_expectations.datasource.fluent.interfaces import TestConnectionError

    try:
        source = context.data_sources.add_sql(
            name, connection_string=_URL, kwargs={"creator": lambda: _governed(con)}
        )
    except TestConnectionError as exc:
        raise CheckProblem(f"Great Expectations could not reach DuckDB: {exc}") from None
    try:
        extra = "".join(f", {sql} AS {quote(column)}" for column, sql in (derived or {}).items())
        asset = source.add_query_asset(name, query=f"SELECT *{extra} FROM {relation}")
        return results_of(asset.add_batch_definition_whole_table(name), suite, complete=False)
    finally:
        context.data_sources.delete(name)
