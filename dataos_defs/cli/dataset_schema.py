"""``dataos-ctl dataset`` schema, properties, partitioning, metadata and create commands, in
DataOS' forms: ``drop-field -n``, ``set-nullable -n -b``, ``add-properties -p name:value``,
``remove-properties -p name``, ``update-partition -p transform:column[:name[:n]]``,
``metadata``, ``set-metadata -v latest`` and ``create -f manifest.yaml``.

Deliberate differences: ``set-nullable -b false`` is refused (it would make rows already
written invalid); properties that steer locations, code loading or the column mapping are
refused; ``set-metadata`` accepts only the newest metadata (our catalog always points at it;
travel in time with ``set-snapshot``); a tagged column is never a partition source.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from dataos_defs.cli.dataset_base import (
    AddressOpt,
    NameOpt,
    OutputOpt,
    address_of,
    change,
    read,
    say,
)
from dataos_defs.cli.lists import LIST_HELP, split_commas
from dataos_defs.cli.output import check_format, fail, print_data, print_table

MAX_MANIFEST_BYTES = 1024 * 1024

PropertiesOpt = Annotated[
    list[str],
    typer.Option("-p", "--properties", help=f"NAME:VALUE for add, NAME for remove ({LIST_HELP})"),
]


def drop_field(ctx: typer.Context, name: NameOpt, address: AddressOpt = None) -> None:
    """Drop a field (not a partition source nor an identifier field; its data is not
    rewritten, and a field added later under the same name starts empty)."""
    done = change("/fields/drop", {"address": address_of(ctx, address), "name": name})
    say(f"{done['address']}: field {done['dropped']} ({done['type']}) dropped")


def set_nullable(
    ctx: typer.Context,
    name: NameOpt,
    nullable: Annotated[
        str,
        typer.Option(
            "-b",
            "--nullable",
            help="true: the field becomes optional. false is refused, unlike DataOS: rows "
            "already written may hold nulls",
        ),
    ],
    address: AddressOpt = None,
) -> None:
    """Make a required field nullable (only required to optional is safe)."""
    value = nullable.strip().lower()
    if value not in ("true", "false"):
        fail(f"--nullable takes true or false, not '{nullable}'", "e.g. set-nullable -n f -b true")
    body = {"address": address_of(ctx, address), "name": name, "nullable": value == "true"}
    done = change("/fields/nullable", body)
    say(f"{done['address']}: field {done['field']} is now nullable")


def add_properties(
    ctx: typer.Context, properties: PropertiesOpt, address: AddressOpt = None
) -> None:
    """Add or overwrite table properties: -p NAME:VALUE (locations, FileIO, code loading,
    name mapping, format-version and dataos.* are refused)."""
    _properties(ctx, address, "add", split_commas(properties) or [])


def remove_properties(
    ctx: typer.Context, properties: PropertiesOpt, address: AddressOpt = None
) -> None:
    """Remove table properties: -p NAME."""
    _properties(ctx, address, "remove", [p.strip() for p in properties])


def _properties(ctx: typer.Context, address: str | None, action: str, values: list[str]) -> None:
    body = {"address": address_of(ctx, address), "action": action, "properties": values}
    done = change("/properties", body)
    verb = "set" if action == "add" else "removed"
    say(f"{done['address']}: {verb} {', '.join(done['properties'])}")


def update_partition(
    ctx: typer.Context,
    partitions: Annotated[
        list[str] | None,
        typer.Option(
            "-p",
            "--partitions",
            help="identity:COLUMN, year|month|day|hour:COLUMN[:NAME], "
            f"bucket|truncate:COLUMN:NAME[:N] ({LIST_HELP}); none: unpartitioned",
        ),
    ] = None,
    count: Annotated[
        int | None, typer.Option("-n", "--count", help="buckets (or truncate width) when not in -p")
    ] = None,
    address: AddressOpt = None,
) -> None:
    """Set the partition spec for data written from now on (written data keeps its
    partitions); tagged columns cannot be partition sources."""
    body = {
        "address": address_of(ctx, address),
        "partitions": split_commas(partitions) or [],
        "count": count,
    }
    done = change("/partition-spec", body)
    say(f"{done['address']}: partitioned by {', '.join(done['spec']) or 'nothing'}")


def metadata(ctx: typer.Context, address: AddressOpt = None, output: OutputOpt = "table") -> None:
    """The dataset's metadata files, oldest first (the current one is marked)."""
    check_format(output)
    found = read(ctx, address, "/metadata")
    if output != "table":
        print_data(found, output)
        return
    print_table(
        ("VERSION", "TIMESTAMP", "DATE AND TIME (GMT)", "CURRENT"),
        [
            (m["version"], m["timestamp_ms"], m["time"], "*" if m["current"] else "")
            for m in found["metadata"]
        ],
    )


def set_metadata(
    ctx: typer.Context,
    version: Annotated[
        str,
        typer.Option(
            "-v",
            "--version",
            help="latest (the only version accepted: our catalog always points at the newest "
            "metadata; use set-snapshot to travel in time)",
        ),
    ],
    address: AddressOpt = None,
) -> None:
    """DataOS' set-metadata: 'latest' confirms the newest metadata is in use (no change)."""
    done = change("/metadata", {"address": address_of(ctx, address), "version": version})
    say(f"{done['address']}: metadata is {done['version']} (latest)")


def create(
    ctx: typer.Context,
    manifest_file: Annotated[
        Path,
        typer.Option(
            "-f", "--manifestFile", help="the dataset manifest (schema: {type: avro, avro: ...})"
        ),
    ],
    address: AddressOpt = None,
) -> None:
    """Create an Iceberg dataset from a DataOS dataset manifest (write right on the UDL)."""
    body = {"address": address_of(ctx, address), "manifest": _manifest(manifest_file)}
    done = change("/create", body)
    parts = f", partitioned by {', '.join(done['partitions'])}" if done["partitions"] else ""
    say(f"{done['address']}: created with {done['fields']} fields{parts}")


def _manifest(path: Path) -> Any:
    import yaml

    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            fail(f"{path} is larger than {MAX_MANIFEST_BYTES} bytes", "a manifest is small")
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}", "give the manifest's path with -f")
    except yaml.YAMLError as exc:
        fail(f"{path} is not YAML: {exc}", "check the indentation (spaces, not tabs)")


def register(app: typer.Typer) -> None:
    for name, command in (
        ("drop-field", drop_field),
        ("set-nullable", set_nullable),
        ("add-properties", add_properties),
        ("remove-properties", remove_properties),
        ("update-partition", update_partition),
        ("metadata", metadata),
        ("set-metadata", set_metadata),
        ("create", create),
    ):
        app.command(name)(command)
