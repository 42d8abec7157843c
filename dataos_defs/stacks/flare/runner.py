"""``run_flare_job``: one flare job on embedded Minerva (an in-memory DuckDB per run).

Order of work: check what this runner cannot do (before touching data), read the inputs,
build each step as a view (SQL transpiled to DuckDB, then its functions), write every
output, and only then save the incremental state, so a failed run is retried from the same
keys.

A governed run (``governor`` given, as the code location always does) first asks the
governor for every dataset it will read and write, before reading anything; reads only
what its identity may see of each input (see ``inputs.load_dataset``); runs the job's SQL
on a connection that can reach no file and no Python object, so nothing but the governed
inputs is readable; and records the column tags of each output before writing it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import duckdb

from dataos_defs.adapters import duckdb_engine as engine
from dataos_defs.manifest.stacks.flare import FlareSpec, Output, SequenceStep
from dataos_defs.stacks.flare.datasets import Sources, opened
from dataos_defs.stacks.flare.functions import apply_function
from dataos_defs.stacks.flare.inputs import confine, input_addresses, load_inputs
from dataos_defs.stacks.flare.lineage import Schema, trace_columns
from dataos_defs.stacks.flare.model import (
    AccessDenied,
    DepotResolver,
    FlareError,
    FlareResult,
    Governor,
    OutputResult,
    Redactor,
)
from dataos_defs.stacks.flare.outputs import (
    fetch,
    output_format,
    output_location,
    output_query,
    partition_fields,
    write_output,
)
from dataos_defs.stacks.flare.sql import transpile
from dataos_defs.stacks.flare.state import load_state, save_state

log = logging.getLogger(__name__)


def run_flare_job(
    spec: FlareSpec,
    depots: DepotResolver,
    state_dir: Path,
    *,
    dry_run: bool = False,
    job_name: str = "flare",
    home: Path | None = None,
    sql_dir: Path | None = None,
    governor: Governor | None = None,
) -> FlareResult:
    """Run ``spec`` and describe what it read and wrote.

    ``home`` is ``DATAOS_HOME`` (default: that variable, else ``.dataos``): relative file
    depot paths and lakehouse warehouses are under it. ``job_name`` keys the incremental
    state in ``state_dir``; ``sql_dir`` resolves relative ``sqlFile`` paths. A dry run reads
    and computes everything but writes no output and no state. ``governor`` governs the
    run as its identity; :class:`AccessDenied` from it ends the run as raised.
    """
    home = home or Path(os.environ.get("DATAOS_HOME", ".dataos"))
    _refuse_unsupported(spec)
    if governor is not None:
        writes = [o.address for o in spec.job.outputs or [] if o.address is not None]
        governor.authorize(input_addresses(spec.job.inputs), writes)
    redact = Redactor()
    con = engine.connect()
    try:
        if governor is not None:
            confine(con)
        with opened(depots, home, redact, governor) as sources:
            saved = load_state(state_dir, job_name)
            loaded = load_inputs(con, spec.job.inputs, sources, saved)
            views = dict(loaded.queries)
            base = {
                name: engine.columns(con, name) for name in loaded.addresses if name not in views
            }
            for step in spec.job.steps or []:
                for item in step.sequence:
                    views[item.name] = _run_step(con, item, sql_dir or Path.cwd())
            outputs = [
                _output(con, output, sources, (views, base, loaded.addresses), dry_run)
                for output in spec.job.outputs or []
            ]
            if loaded.state and not dry_run:
                save_state(state_dir, job_name, {**saved, **loaded.state})
    except AccessDenied:
        raise
    except FlareError as exc:
        raise _redacted(exc, redact).with_traceback(exc.__traceback__) from None
    except Exception as exc:
        problem = redact(f"{type(exc).__name__}: {exc}")
        raise FlareError("flare job", problem).with_traceback(exc.__traceback__) from None
    finally:
        con.close()
    return FlareResult(tuple(loaded.results), tuple(outputs), loaded.state, dry_run)


def _redacted(exc: FlareError, redact: Redactor) -> FlareError:
    """``exc`` with credentials removed from its text. The caller keeps the traceback (code
    lines only) and drops the context: a wrapped engine error could quote a credential."""
    sql = redact(exc.sql) if exc.sql is not None else None
    return FlareError(exc.where, redact(exc.problem), step=exc.step, sql=sql)


def _output(
    con: duckdb.DuckDBPyConnection,
    output: Output,
    sources: Sources,
    traced: tuple[dict[str, str], Schema, dict[str, str]],
    dry_run: bool,
) -> OutputResult:
    """Write one output (its derived column tags recorded first when governed).

    ``traced`` is what column lineage needs: the SQL of every view, the columns of the
    views holding inputs, and their dataset addresses."""
    where = f"output '{output.name}'"
    loc = output_location(output, sources, where)
    fmt = output_format(output, loc, where)
    query, columns = output_query(con, output.name)
    partition_fields(output, [c for c, _ in columns], where)
    data = fetch(con, query, where)
    lineage, untraced = trace_columns(output.name, [c for c, _ in columns], *traced)
    save_mode = output.options.saveMode if output.options else "overwrite"
    if not dry_run:
        if sources.governor is not None:
            append = save_mode != "overwrite"
            sources.governor.derive_tags(loc.address, lineage, untraced, append=append)
        write_output(output, loc, fmt, data, sources, where)
    log.info("%s: %d rows -> %s", where, data.num_rows, loc.address)
    return OutputResult(
        name=output.name,
        dataset=loc.address,
        asset_key=loc.asset_key,
        rows=data.num_rows,
        columns=tuple(columns),
        save_mode=save_mode,
        format=fmt,
        lineage=lineage,
        written=not dry_run,
    )


def _refuse_unsupported(spec: FlareSpec) -> None:
    """Fail before reading data on sections this runner does not execute."""
    job = spec.job
    for key in ("assertions", "actions", "streaming"):
        if getattr(job, key):
            raise FlareError(f"job {key}", "not supported by the DuckDB flare runner")
    for output in job.outputs or []:
        if output.assertions:
            raise FlareError(f"output '{output.name}'", "assertions are not supported yet")
        if output.options and output.options.iceberg and output.options.iceberg.merge:
            raise FlareError(f"output '{output.name}'", "iceberg merge is not supported yet")
    seen: dict[str, str] = {}
    names = [(i.name, "input") for i in job.inputs]
    names += [(s.name, "step") for step in job.steps or [] for s in step.sequence]
    for name, kind in names:
        if name.lower() in seen:
            raise FlareError(
                f"{kind} '{name}'", f"the name is already used by {seen[name.lower()]}"
            )
        seen[name.lower()] = f"{kind} '{name}'"


def _run_step(con: duckdb.DuckDBPyConnection, item: SequenceStep, sql_dir: Path) -> str:
    """Create the step's view; return its DuckDB SQL (for lineage). A failure names the
    step and carries the SQL as written."""
    where = f"step '{item.name}'"
    text = item.sql
    if item.sqlFile is not None:
        path = sql_dir / item.sqlFile
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise FlareError(where, f"cannot read sqlFile {path}: {exc.strerror}") from None
    if text is None:
        raise FlareError(where, "a step without sql is not supported by the DuckDB runner")
    try:
        return _create_view(con, item, text, where)
    except FlareError as exc:
        exc.step, exc.sql = item.name, text
        raise


def _create_view(con: duckdb.DuckDBPyConnection, item: SequenceStep, text: str, where: str) -> str:
    body = transpile(text, where)
    query = body.sql
    columns = _describe(con, query, where, f"read as {body.dialect}, run as: {query}")
    for fn in item.functions or []:
        query = apply_function(fn, query, columns, where)
        columns = _describe(con, query, f"{where}, function '{fn.name}'", query)
    try:
        engine.create_view(con, item.name, query)
    except duckdb.Error as exc:
        raise FlareError(where, f"DuckDB rejected the SQL: {exc}") from None
    log.info("%s: %d columns", where, len(columns))
    return query


def _describe(
    con: duckdb.DuckDBPyConnection, query: str, where: str, context: str
) -> list[tuple[str, str]]:
    try:
        return engine.query_columns(con, query)
    except duckdb.Error as exc:
        raise FlareError(where, f"DuckDB rejected the SQL: {exc}\n({context})") from None
