"""Datasets into the run's DuckDB, by the flare executor's depot resolution and adapters.

PostgreSQL tables arrive as Arrow through ``COPY``, Iceberg tables through a pyiceberg scan,
local files through DuckDB's readers and object-store files through fsspec and pyarrow.
Every failure becomes a ``SodaError`` naming the dataset; PostgreSQL messages pass through
the run's redactor, so credentials never reach them.
"""

from __future__ import annotations

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
from dataos_defs.manifest.udl import Udl
from dataos_defs.stacks.flare.datasets import Location, Sources, is_remote
from dataos_defs.stacks.flare.model import FlareError
from dataos_defs.stacks.soda.model import SodaError

_FILE_FORMATS = ("csv", "parquet", "json")


def locate(sources: Sources, address: str) -> Location:
    try:
        return sources.locate(address, f"dataset '{address}'")
    except FlareError as exc:
        raise SodaError(address, exc.problem) from None


def sibling(address: str, name: str) -> str:
    """The address of a reference check's other dataset.

    ``t`` is in the checked dataset's depot and collection, ``c.t`` in its depot, and
    ``d.c.t`` (Minerva's dotted form) anywhere.
    """
    udl = Udl.parse(address)
    parts = name.split(".")
    if len(parts) == 3:
        return f"dataos://{parts[0]}:{parts[1]}/{parts[2]}"
    if len(parts) == 2:
        return f"dataos://{udl.depot}:{parts[0]}/{parts[1]}"
    return f"dataos://{udl.depot}:{udl.collection}/{name}"


def load(con: duckdb.DuckDBPyConnection, table: str, address: str, sources: Sources) -> Location:
    """Read the dataset at ``address`` into the table (or view over Arrow) ``table``."""
    loc = locate(sources, address)
    try:
        if loc.kind == "postgres":
            engine.register_arrow(con, table, _postgres(loc, sources, address))
        elif loc.kind == "lakehouse":
            data = iceberg.read_table(sources.catalog(loc), loc.collection, loc.dataset)
            engine.register_arrow(con, table, data)
        else:
            _files(con, table, loc, sources, address)
    except NoSuchTableError:
        raise SodaError(
            address, f"no Iceberg table {loc.collection}.{loc.dataset} in '{loc.depot_name}'"
        ) from None
    except duckdb.Error as exc:
        raise SodaError(address, f"DuckDB cannot read it: {sources.redact(str(exc))}") from None
    except OSError as exc:
        raise SodaError(address, f"cannot read it: {sources.redact(str(exc))}") from None
    return loc


def _postgres(loc: Location, sources: Sources, address: str) -> pa.Table:
    try:
        return postgres.read_table(sources.postgres(loc), loc.collection, loc.dataset)
    except psycopg.errors.UndefinedTable:
        raise SodaError(
            address, f"no table {loc.collection}.{loc.dataset} in depot '{loc.depot_name}'"
        ) from None
    except psycopg.Error as exc:
        problem = sources.redact(str(exc).strip())
        raise SodaError(address, f"PostgreSQL depot '{loc.depot_name}': {problem}") from None


def _file_format(loc: Location, address: str) -> str:
    conn = loc.depot.depot.file or loc.depot.depot.connection
    fmt = str(getattr(conn, "format", "parquet")).lower()
    if fmt not in _FILE_FORMATS:
        raise SodaError(address, f"file format '{fmt}' is not supported (csv, parquet, json)")
    return fmt


def _files(
    con: duckdb.DuckDBPyConnection, table: str, loc: Location, sources: Sources, address: str
) -> None:
    """``<path>.<ext>`` if it exists, else every ``*.<ext>`` under the folder ``<path>``."""
    fmt = _file_format(loc, address)
    path, _ = sources.file_path(loc)
    ext = "." + fmt
    if not is_remote(path):
        local = Path(path.removeprefix("file://"))
        single = local.with_name(local.name + ext)
        files = [single] if single.is_file() else sorted(local.rglob("*" + ext))
        if not files:
            raise SodaError(address, f"no file {single} and no {ext} files under {local}/")
        engine.create_file_table(con, table, files, fmt)
        return
    fs, root = fsspec.core.url_to_fs(path)
    if fs.isfile(root + ext):
        names = [root + ext]
    else:
        names = sorted(n for n in fs.find(root) if n.endswith(ext)) if fs.isdir(root) else []
    if not names:
        raise SodaError(address, f"no file {path}{ext} and no {ext} files under {path}/")
    readers = {"csv": pacsv.read_csv, "json": pajson.read_json, "parquet": pq.read_table}
    tables = []
    for name in names:
        with fs.open(name, "rb") as handle:
            tables.append(readers[fmt](handle))
    engine.register_arrow(con, table, pa.concat_tables(tables, promote_options="default"))
