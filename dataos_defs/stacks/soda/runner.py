"""``run_soda_job``: every input's checks, read through embedded Minerva (one in-memory
DuckDB per input) and measured by Great Expectations.

Each input dataset is read once into a table and exposed, narrowed by ``filter.where``, as a
view named after the dataset (so ``<metric> query`` SQL can name it as it would on Minerva).
That view, narrowed by each check's ``filter``, is what GX validates, in DuckDB through
this connection or as a pandas batch (see ``checks`` and ``gx_batch``): GX sees exactly the
rows and values the run read.
Datasets cited by reference and ``same as`` checks are read on first use, unfiltered.
``options.engine: minerva`` and ``clusterName`` select the same embedded engine here.

A governed run (``governor`` given, as the code location always does) asks for every
dataset it will read (inputs and the datasets their checks compare with) before reading
any, checks only the rows and values its identity may see, and runs the checks' SQL on a
connection that reaches nothing else (see the flare stack's ``inputs``).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb

from dataos_defs.adapters import duckdb_engine as engine
from dataos_defs.manifest.stacks.soda import SodaInput, SodaSpec
from dataos_defs.stacks.flare.datasets import Sources, opened
from dataos_defs.stacks.flare.inputs import confine
from dataos_defs.stacks.flare.model import DepotResolver, Governor, Redactor
from dataos_defs.stacks.soda import loader, sqltext
from dataos_defs.stacks.soda.checks import Scope, evaluate_all
from dataos_defs.stacks.soda.model import CheckResult, DatasetResult, SodaError, SodaResult

_RAW = "__soda_dataset"


def run_soda_job(
    spec: SodaSpec,
    depots: DepotResolver,
    *,
    home: Path | None = None,
    now: dt.datetime | None = None,
    governor: Governor | None = None,
) -> SodaResult:
    """Evaluate every check of every input and return one result per check.

    ``home`` is ``DATAOS_HOME`` (default: that variable, else ``.dataos``), under which
    relative file depot paths and lakehouse warehouses lie. ``now`` (default: the current
    UTC time) is what ``freshness`` measures against. Raises ``SodaError`` for a dataset
    that cannot be read; failing checks are results, not errors. ``governor`` governs the
    run as its identity (``AccessDenied`` from it ends the run as raised).
    """
    home = home or Path(os.environ.get("DATAOS_HOME", ".dataos"))
    now = now or dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    if governor is not None:
        governor.authorize(read_addresses(spec), ())
    datasets: list[DatasetResult] = []
    checks: list[CheckResult] = []
    with opened(depots, home, Redactor(), governor) as sources:
        for item in spec.inputs:
            con = engine.connect()
            try:
                if governor is not None:
                    confine(con)
                dataset, scope = _load_input(con, item, sources, now)
                datasets.append(dataset)
                checks.extend(evaluate_all(scope, item.parsed_checks))
            finally:
                con.close()
    return SodaResult(tuple(datasets), tuple(checks))


def read_addresses(spec: SodaSpec) -> list[str]:
    """Every dataset the job reads: each input and each dataset its reference and
    ``same as`` checks compare with (addresses without ``?acl``)."""
    found: dict[str, None] = {}
    for item in spec.inputs:
        found[loader.address(item.dataset)] = None
        for check in item.parsed_checks:
            other = check.parsed.other_table
            if other is not None:
                found[loader.sibling(item.dataset, other)] = None
    return list(found)


def _load_input(
    con: duckdb.DuckDBPyConnection, item: SodaInput, sources: Sources, now: dt.datetime
) -> tuple[DatasetResult, Scope]:
    address = item.dataset
    loc = loader.load(con, _RAW, address, sources)
    view = loc.dataset
    where = item.filter.where if item.filter else None
    body = f"SELECT * FROM {engine.quote(_RAW)}"
    if where is not None:
        try:
            body += f" WHERE {sqltext.condition(where, 'filter.where')}"
        except sqltext.CheckProblem as exc:
            raise SodaError(address, str(exc)) from None
    try:
        engine.create_view(con, view, body)
        rows = engine.row_count(con, view)
    except duckdb.Error as exc:
        raise SodaError(address, f"filter.where is rejected by DuckDB: {exc}") from None
    columns = engine.columns(con, view)
    cache: dict[str, tuple[str, list[tuple[str, str]]]] = {}

    def reference(name: str) -> tuple[str, list[tuple[str, str]]]:
        other = loader.sibling(address, name)
        if other not in cache:
            table = f"__soda_ref_{len(cache)}"
            loader.load(con, table, other, sources)
            cache[other] = (table, engine.columns(con, table))
        return cache[other]

    dataset = DatasetResult(address, loc.address, rows, tuple(columns), where)
    return dataset, Scope(con, address, view, columns, now, reference)
