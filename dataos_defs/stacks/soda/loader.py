"""Datasets into the run's DuckDB, by the flare executor's depot resolution and adapters.

PostgreSQL tables arrive as Arrow through ``COPY``, Iceberg tables through a pyiceberg scan,
local files through DuckDB's readers and object-store files through fsspec and pyarrow.
Every failure becomes a ``SodaError`` naming the dataset; PostgreSQL messages pass through
the run's redactor, so credentials never reach them.
"""

from __future__ import annotations

import duckdb

from dataos_defs.manifest.udl import Udl
from dataos_defs.stacks.flare.datasets import Location, Sources
from dataos_defs.stacks.flare.inputs import load_dataset
from dataos_defs.stacks.flare.model import FlareError
from dataos_defs.stacks.soda.model import SodaError

_FILE_FORMATS = ("csv", "parquet", "json")


def address(dataset: str) -> str:
    """The dataset's address without ``?acl`` (what access is decided on)."""
    try:
        return Udl.parse(dataset).address
    except ValueError as exc:
        raise SodaError(dataset, str(exc)) from None


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
    file_format = _file_format(loc, address) if loc.kind not in ("postgres", "lakehouse") else ""
    try:
        load_dataset(con, table, loc, file_format, sources, f"dataset '{address}'")
    except FlareError as exc:
        raise SodaError(address, exc.problem) from None
    except duckdb.Error as exc:
        raise SodaError(address, f"DuckDB cannot read it: {sources.redact(str(exc))}") from None
    except OSError as exc:
        raise SodaError(address, f"cannot read it: {sources.redact(str(exc))}") from None
    return loc


def _file_format(loc: Location, address: str) -> str:
    conn = loc.depot.depot.file or loc.depot.depot.connection
    fmt = str(getattr(conn, "format", "parquet")).lower()
    if fmt not in _FILE_FORMATS:
        raise SodaError(address, f"file format '{fmt}' is not supported (csv, parquet, json)")
    return fmt
