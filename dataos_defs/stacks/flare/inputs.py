"""Reading a flare job's inputs into the run's DuckDB as views named after ``inputs[].name``.

PostgreSQL tables arrive through ``COPY`` as Arrow, Iceberg tables through a pyiceberg scan,
local files through DuckDB's readers and object-store files through fsspec and pyarrow.
``query`` inputs run on the same connection; a ``depot.collection.dataset`` reference in
them is loaded like a dataset input first (Minerva's federated addressing).

A governed run (its ``Sources`` carry a governor) loads each dataset into a private DuckDB
connection, replaces it there by the view its identity may see (masks, row filters) and
hands only that to the run's connection: the raw data is never reachable from the job's SQL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import fsspec  # type: ignore[import-untyped]
import psycopg
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.csv as pacsv  # type: ignore[import-untyped]
import pyarrow.json as pajson  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from pyiceberg.exceptions import NoSuchTableError

from dataos_defs.adapters import duckdb_engine as engine
from dataos_defs.adapters import iceberg, postgres
from dataos_defs.manifest.stacks.flare import Input
from dataos_defs.manifest.udl import Udl
from dataos_defs.stacks.flare.datasets import Location, Sources, is_remote
from dataos_defs.stacks.flare.model import FlareError, InputResult
from dataos_defs.stacks.flare.sql import (
    QUERY_DIALECTS,
    STEP_DIALECTS,
    dataset_tables,
    query_addresses,
    rename_tables,
    substitute,
    transpile,
)
from dataos_defs.stacks.flare.state import key_values, next_state

_FILE_FORMATS = ("csv", "parquet", "json")
_RAW = "__dataos_raw"
"""The loaded data in the private connection a governed load uses."""
_KIND_FORMATS = {"postgres": ("jdbc",), "lakehouse": ("iceberg",), "file": _FILE_FORMATS}


@dataclass
class LoadedInputs:
    """What loading produced: view -> dataset address, the SQL of views defined by a query
    (both for lineage), per-input row counts and the incremental state for the next run."""

    addresses: dict[str, str] = field(default_factory=dict)
    results: list[InputResult] = field(default_factory=list)
    state: dict[str, dict[str, str]] = field(default_factory=dict)
    hidden: dict[tuple[str, str, str], str] = field(default_factory=dict)
    queries: dict[str, str] = field(default_factory=dict)


def load_inputs(
    con: duckdb.DuckDBPyConnection,
    items: list[Input],
    sources: Sources,
    saved: dict[str, dict[str, str]],
) -> LoadedInputs:
    loaded = LoadedInputs()
    for item in items:
        where = f"input '{item.name}'"
        if item.query is not None:
            _load_query(con, item, sources, loaded, where)
            loaded.results.append(InputResult(item.name, None, engine.row_count(con, item.name)))
            continue
        if item.dataset is None:
            given = ", ".join(item.connector_names)
            raise FlareError(where, f"connector blocks ({given}) are not supported; use dataset")
        loc = sources.locate(item.dataset, where)
        _check_format(item, loc, where)
        loaded.addresses[item.name] = loc.address
        if item.incremental is None:
            load_dataset(con, item.name, loc, _file_format(item, loc), sources, where)
        else:
            spec = item.incremental
            load_dataset(con, spec.context, loc, _file_format(item, loc), sources, where)
            loaded.addresses[spec.context] = loc.address

            def evaluate(query: str, at: str) -> object:
                return _scalar(con, query, at)

            values = key_values(spec, saved.get(item.name, {}), evaluate, where)
            text = substitute(spec.sql, values, f"{where}, incremental sql")
            body = transpile(text, f"{where}, incremental sql", STEP_DIALECTS)
            _run(con, f"{where}, incremental sql", engine.create_view, item.name, body.sql)
            loaded.queries[item.name] = body.sql
            loaded.state[item.name] = next_state(spec, values)
        loaded.results.append(InputResult(item.name, loc.address, engine.row_count(con, item.name)))
    return loaded


def confine(con: duckdb.DuckDBPyConnection) -> None:
    """Leave the job's SQL only the views registered on ``con``: no file, URL or Python
    object can be read (``read_parquet``, ``COPY``, a variable's name), and the settings
    cannot be changed back. Used by the soda stack too."""
    con.execute("SET python_enable_replacements = false")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def input_addresses(items: list[Input]) -> list[str]:
    """Every dataset the inputs read, before anything is read: dataset inputs and each
    ``depot.collection.dataset`` a ``query`` names (addresses without ``?acl``)."""
    found: dict[str, None] = {}
    for item in items:
        where = f"input '{item.name}'"
        if item.dataset is not None:
            try:
                found[Udl.parse(item.dataset).address] = None
            except ValueError as exc:
                raise FlareError(where, str(exc)) from None
        if item.query is not None:
            found.update(dict.fromkeys(query_addresses(item.query, where)))
    return list(found)


def _check_format(item: Input, loc: Location, where: str) -> None:
    if "format" not in item.model_fields_set:
        return
    allowed = _KIND_FORMATS[loc.kind]
    if item.format not in allowed:
        raise FlareError(
            where,
            f"format '{item.format}' does not fit depot '{loc.depot_name}' "
            f"(type {loc.depot.depot.type}); use {' or '.join(allowed)}",
        )


def _file_format(item: Input, loc: Location) -> str:
    if loc.kind != "file":
        return ""
    if "format" in item.model_fields_set:
        return item.format
    conn = loc.depot.depot.file or loc.depot.depot.connection
    return str(getattr(conn, "format", "parquet"))


def _run(
    con: duckdb.DuckDBPyConnection, where: str, action: Callable[..., None], *args: object
) -> None:
    try:
        action(con, *args)
    except duckdb.Error as exc:
        raise FlareError(where, f"DuckDB rejected the SQL: {exc}") from None


def _scalar(con: duckdb.DuckDBPyConnection, query: str, where: str) -> object:
    sql = transpile(query, where, STEP_DIALECTS).sql
    try:
        return engine.scalar(con, sql)
    except duckdb.Error as exc:
        raise FlareError(where, f"DuckDB rejected the SQL: {exc}") from None


def load_dataset(
    con: duckdb.DuckDBPyConnection,
    view: str,
    loc: Location,
    file_format: str,
    sources: Sources,
    where: str,
) -> None:
    """Read one dataset (PostgreSQL table, Iceberg table or files) into ``view``; any failure
    is a FlareError naming ``where``, with credentials redacted. Shared with the soda stack.

    With a governor, ``view`` holds only what the run's identity may see of the dataset."""
    governor = sources.governor
    if governor is None:
        _load_raw(con, view, loc, file_format, sources, where)
        return
    private = engine.connect()
    try:
        arrow = _load_raw(private, _RAW, loc, file_format, sources, where)
        governed = governor.govern(loc.address, engine.columns(private, _RAW), engine.quote(_RAW))
        if governed is None and arrow is not None:
            data = arrow
        else:
            try:
                query = governed or f"SELECT * FROM {engine.quote(_RAW)}"
                data = private.sql(query).to_arrow_table()
            except duckdb.Error as exc:
                raise FlareError(where, f"cannot apply the data policies: {exc}") from None
    finally:
        private.close()
    engine.register_arrow(con, view, data)


def _load_raw(
    con: duckdb.DuckDBPyConnection,
    view: str,
    loc: Location,
    file_format: str,
    sources: Sources,
    where: str,
) -> pa.Table | None:
    """Load the dataset as stored into ``view``; return it when it came as Arrow."""
    if loc.kind == "postgres":
        data = _read_postgres(loc, sources, where)
    elif loc.kind == "lakehouse":
        try:
            data = iceberg.read_table(sources.catalog(loc), loc.collection, loc.dataset)
        except NoSuchTableError:
            raise FlareError(
                where, f"no Iceberg table {loc.collection}.{loc.dataset} in '{loc.depot_name}'"
            ) from None
    else:
        return _load_files(con, view, loc, file_format, sources, where)
    engine.register_arrow(con, view, data)
    return data


def _read_postgres(loc: Location, sources: Sources, where: str) -> pa.Table:
    try:
        return postgres.read_table(sources.postgres(loc), loc.collection, loc.dataset)
    except psycopg.errors.UndefinedTable:
        raise FlareError(
            where, f"no table {loc.collection}.{loc.dataset} in depot '{loc.depot_name}'"
        ) from None
    except psycopg.Error as exc:
        problem = sources.redact(str(exc).strip())
        raise FlareError(where, f"PostgreSQL depot '{loc.depot_name}': {problem}") from None


def _load_files(
    con: duckdb.DuckDBPyConnection,
    view: str,
    loc: Location,
    file_format: str,
    sources: Sources,
    where: str,
) -> pa.Table | None:
    """``<path>.<ext>`` if it exists, else every ``*.<ext>`` under the folder ``<path>``;
    object-store files are returned as the Arrow table registered, local ones are not."""
    path, _ = sources.file_path(loc)
    ext = "." + file_format
    if not is_remote(path):
        local = Path(path.removeprefix("file://"))
        single = local.with_name(local.name + ext)
        files = [single] if single.is_file() else sorted(local.rglob("*" + ext))
        if not files:
            raise FlareError(where, f"no file {single} and no {ext} files under {local}/")
        _run(con, where, engine.create_file_table, view, files, file_format)
        return None
    fs, root = fsspec.core.url_to_fs(path)
    if fs.isfile(root + ext):
        names = [root + ext]
    else:
        names = sorted(n for n in fs.find(root) if n.endswith(ext)) if fs.isdir(root) else []
    if not names:
        raise FlareError(where, f"no file {path}{ext} and no {ext} files under {path}/")
    tables = []
    for name in names:
        with fs.open(name, "rb") as handle:
            tables.append(_read_arrow(handle, file_format))
    data = pa.concat_tables(tables, promote_options="default")
    engine.register_arrow(con, view, data)
    return data


def _read_arrow(handle: object, file_format: str) -> pa.Table:
    if file_format == "csv":
        return pacsv.read_csv(handle)
    if file_format == "json":
        return pajson.read_json(handle)
    return pq.read_table(handle)


def _load_query(
    con: duckdb.DuckDBPyConnection,
    item: Input,
    sources: Sources,
    loaded: LoadedInputs,
    where: str,
) -> None:
    """Run ``query``; dotted ``depot.collection.dataset`` references are loaded first."""
    assert item.query is not None
    body = transpile(item.query, where, QUERY_DIALECTS)
    for table in dataset_tables(body.tree):
        key = (table.catalog, table.db, table.name)
        if key in loaded.hidden:
            continue
        view = f"__{'_'.join(key)}"
        loc = sources.locate(f"dataos://{key[0]}:{key[1]}/{key[2]}", where)
        fmt = _file_format(item, loc) if loc.kind == "file" else ""
        if loc.kind == "file" and fmt not in _FILE_FORMATS:
            fmt = str(getattr(loc.depot.depot.connection, "format", "parquet"))
        load_dataset(con, view, loc, fmt, sources, where)
        loaded.hidden[key] = view
        loaded.addresses[view] = loc.address
    sql = rename_tables(body.tree, loaded.hidden)
    _run(con, where, engine.create_view, item.name, sql)
    loaded.queries[item.name] = sql
