"""``dataos-ctl dataset``: the Iceberg tables of lakehouse depots, by UDL.

DataOS' forms work as they are: the address goes before the command or after it
(``dataset -a dataos://lakehouse:retail/city get`` or ``dataset get -a ...``), with the same
short flags (``-n``, ``-t``, ``-m``, ``-i``, ``-p``). Differences, on purpose: ``drop`` is
soft (the table moves to a trash with its files and ``restore`` brings it back), ``-p true``
purges the files and asks for confirmation; ``list`` and ``partitions`` are ours; schema
changes are limited to the safe ones (add an optional field, rename, widen a type, drop a
field that is no partition source, make a field nullable). The schema, properties,
partitioning, metadata and create commands are in :mod:`dataset_schema`, branches and tags
in :mod:`dataset_branches`; both register on this group.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from dataos_defs.cli import dataset_branches, dataset_schema
from dataos_defs.cli.apps import command_group
from dataos_defs.cli.dataset_base import (
    META,
    AddressOpt,
    NameOpt,
    OutputOpt,
    address_of,
    call,
    change,
    read,
    say,
)
from dataos_defs.cli.output import check_format, fail, print_data, print_table
from dataos_defs.cli.session import api_session

app = command_group(
    help="Lakehouse datasets (Iceberg tables) by UDL, as DataOS' dataset commands: the "
    "address goes before or after the command. Unlike DataOS, drop is soft (restore undoes "
    "it; '-p true' purges the files after asking), schema changes are the safe ones only "
    "(set-nullable -b false is refused), set-metadata accepts only 'latest', and list, "
    "partitions, restore and the tag commands are ours. Each command is a Heimdall decision "
    "on the dataset's UDL: read; update for schema, property, partition, branch and "
    "snapshot changes; write for create and restore; delete for drop.",
    no_args_is_help=True,
)

PrecisionOpt = Annotated[
    int | None, typer.Option("-p", "--precision", help="decimal precision (only for decimal)")
]
ScaleOpt = Annotated[
    int | None, typer.Option("-s", "--scale", help="decimal scale (only for decimal; default 1)")
]
SnapshotOpt = Annotated[int, typer.Option("-i", "--id", help="the snapshot id (see 'snapshots')")]


@app.callback()
def dataset(ctx: typer.Context, address: AddressOpt = None) -> None:
    """Lakehouse datasets (Iceberg tables) by UDL."""
    ctx.meta[META] = address


@app.command("get")
def get(ctx: typer.Context, address: AddressOpt = None, output: OutputOpt = "table") -> None:
    """Schema, partition spec, properties and current snapshot of a dataset."""
    check_format(output)
    found = read(ctx, address, "/dataset")
    if output != "table":
        print_data(found, output)
        return
    say(f"dataset: {found['address']}")
    say(f"location: {found['location']}")
    say(f"format version: {found['format_version']}")
    say(f"current snapshot: {found['current_snapshot_id'] or '-'}")
    print_table(
        ("ID", "NAME", "TYPE", "NULLABLE"),
        [
            (f["id"], f["name"], f["type"], "yes" if f["required"] else "no")
            for f in found["fields"]
        ],
    )
    if found["partition_spec"]:
        say("partitions:")
        print_table(
            ("NAME", "TRANSFORM", "COLUMN"),
            [(p["name"], p["transform"], p["column"]) for p in found["partition_spec"]],
        )


@app.command("list")
def list_datasets(
    ctx: typer.Context,
    address: Annotated[
        str | None,
        typer.Option("-a", "--address", help="a lakehouse depot or collection: dataos://lakehouse"),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="at most this many (1-1000)")] = 100,
    offset: Annotated[int, typer.Option("--offset", help="skip this many")] = 0,
    output: OutputOpt = "table",
) -> None:
    """The lakehouse datasets you may read (ours; not a DataOS command)."""
    check_format(output)
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    chosen = address or ctx.meta.get(META)
    if chosen:
        params["address"] = chosen
    with api_session() as client:
        found = call(client, "GET", "", params=params)
    if output != "table":
        print_data(found, output)
        return
    print_table(("DATASET",), [(item,) for item in found["items"]])
    if found["next_offset"] is not None:
        say(f"more: --offset {found['next_offset']}")


@app.command("properties")
def properties(ctx: typer.Context, address: AddressOpt = None, output: OutputOpt = "table") -> None:
    """The table properties of a dataset."""
    check_format(output)
    found = read(ctx, address, "/properties")
    if output != "table":
        print_data(found, output)
        return
    print_table(("PROPERTY NAME", "PROPERTY VALUE"), sorted(found["properties"].items()))


@app.command("snapshots")
def snapshots(ctx: typer.Context, address: AddressOpt = None, output: OutputOpt = "table") -> None:
    """The snapshots of a dataset, oldest first (the current one is marked)."""
    check_format(output)
    found = read(ctx, address, "/snapshots")
    if output != "table":
        print_data(found, output)
        return
    print_table(
        ("SNAPSHOTID", "TIMESTAMP", "DATE AND TIME (GMT)", "OPERATION", "CURRENT"),
        [
            (s["id"], s["timestamp_ms"], s["time"], s["operation"], "*" if s["current"] else "")
            for s in found["snapshots"]
        ],
    )


@app.command("partitions")
def partitions(
    ctx: typer.Context,
    address: AddressOpt = None,
    limit: Annotated[int, typer.Option("--limit", help="at most this many partitions")] = 100,
    output: OutputOpt = "table",
) -> None:
    """The partition spec and each partition's records and files (ours)."""
    check_format(output)
    found = read(ctx, address, "/partitions", limit=limit)
    if output != "table":
        print_data(found, output)
        return
    if not found["spec"]:
        say("the dataset is not partitioned")
    else:
        print_table(
            ("NAME", "TRANSFORM", "COLUMN"),
            [(p["name"], p["transform"], p["column"]) for p in found["spec"]],
        )
    rows = [
        (", ".join(f"{k}={v}" for k, v in p["partition"].items()) or "-", p["records"], p["files"])
        for p in found["partitions"]
    ]
    if rows:
        print_table(("PARTITION", "RECORDS", "FILES"), rows)
    if found["truncated"]:
        say(f"only the first {limit} partitions are shown")


@app.command("add-field")
def add_field(
    ctx: typer.Context,
    name: NameOpt,
    datatype: Annotated[str, typer.Option("-t", "--datatype", help="type of the new field")],
    address: AddressOpt = None,
    precision: PrecisionOpt = None,
    scale: ScaleOpt = None,
    key_type: Annotated[
        str | None, typer.Option("-k", "--keyType", help="map key type (only for map)")
    ] = None,
    value_type: Annotated[
        str | None, typer.Option("-v", "--valueType", help="map value type (only for map)")
    ] = None,
) -> None:
    """Add an optional field (types: boolean, int, long, float, double, decimal, date, time,
    timestamp, timestamptz, string, uuid, fixed(L), binary, map)."""
    body = {"address": address_of(ctx, address), "action": "add", "name": name, "type": datatype}
    body.update(_extra(precision=precision, scale=scale, key_type=key_type, value_type=value_type))
    done = change("/fields", body)
    say(f"{done['address']}: field {done['added']} ({done['type']}) added")


@app.command("rename-field")
def rename_field(
    ctx: typer.Context,
    name: NameOpt,
    new_name: Annotated[
        str, typer.Option("-m", "--newName", "--new-name", help="new name of the field")
    ],
    address: AddressOpt = None,
) -> None:
    """Rename a field (readers see the new name; the data is not rewritten)."""
    body = {"address": address_of(ctx, address), "action": "rename", "name": name}
    done = change("/fields", {**body, "new_name": new_name})
    say(f"{done['address']}: field {done['renamed']} renamed to {done['to']}")


@app.command("update-field")
def update_field(
    ctx: typer.Context,
    name: NameOpt,
    datatype: Annotated[str, typer.Option("-t", "--datatype", help="the wider type")],
    address: AddressOpt = None,
    precision: PrecisionOpt = None,
    scale: ScaleOpt = None,
) -> None:
    """Widen a field's type: int to long, float to double, a decimal's precision up (other
    changes are refused: they would misread the data already written)."""
    body = {"address": address_of(ctx, address), "action": "update", "name": name, "type": datatype}
    body.update(_extra(precision=precision, scale=scale))
    done = change("/fields", body)
    say(f"{done['address']}: field {done['updated']} is now {done['type']} (was {done['from']})")


def _extra(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


@app.command("set-snapshot")
def set_snapshot(ctx: typer.Context, snapshot: SnapshotOpt, address: AddressOpt = None) -> None:
    """Make any snapshot of the dataset the current one (time travel)."""
    done = change(
        "/snapshot", {"address": address_of(ctx, address), "action": "set", "id": snapshot}
    )
    say(f"{done['address']}: current snapshot is {done['current_snapshot_id']}")


@app.command("rollback")
def rollback(ctx: typer.Context, snapshot: SnapshotOpt, address: AddressOpt = None) -> None:
    """Roll the dataset back to an ancestor of its current snapshot."""
    body = {"address": address_of(ctx, address), "action": "rollback", "id": snapshot}
    done = change("/snapshot", body)
    say(
        f"{done['address']}: rolled back to {done['current_snapshot_id']} "
        f"(was {done['previous_snapshot_id']})"
    )


@app.command("drop")
def drop(
    ctx: typer.Context,
    address: AddressOpt = None,
    purge: Annotated[
        str,
        typer.Option(
            "-p",
            "--purge",
            help="true: delete the files too, for good (asks first). false (default): a soft "
            "drop into the trash with its files, undone by 'dataset restore' (DataOS' "
            "default only removes the catalog entry)",
        ),
    ] = "false",
    yes: Annotated[bool, typer.Option("-y", "--yes", help="purge without asking")] = False,
) -> None:
    """Drop a dataset: soft by default (restorable), '-p true' deletes its files."""
    chosen = address_of(ctx, address)
    value = purge.strip().lower()
    if value not in ("true", "false"):
        fail(f"--purge takes true or false, not '{purge}'", "e.g. drop -p true")
    purging = value == "true"
    if purging and not yes:
        try:
            typer.confirm(f"delete {chosen} and all its files for good?", abort=True, err=True)
        except typer.Abort:
            fail("not confirmed; nothing was dropped", "answer y, or pass --yes")
    body = {"address": chosen, "purge": purging, "confirm": chosen if purging else None}
    done = change("/drop", body)
    if done["purged"]:
        say(f"{done['address']}: dropped and its files deleted")
    else:
        say(
            f"{done['address']}: dropped (kept as {done['trash']}; undo with "
            f"'dataos-ctl dataset restore -a {done['address']}')"
        )


@app.command("restore")
def restore(ctx: typer.Context, address: AddressOpt = None) -> None:
    """Bring back the last soft-dropped dataset of an address (ours)."""
    done = change("/restore", {"address": address_of(ctx, address)})
    say(f"{done['address']}: restored")


dataset_schema.register(app)
dataset_branches.register(app)
