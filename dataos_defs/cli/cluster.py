"""``dataos-ctl cluster get|catalogs``: the query clusters the Gateway routes to.

``catalogs -n NAME -o DIR`` writes the Trino catalog files of a cluster (one
``<catalog>.properties`` per depot, credentials as ``${ENV:...}`` references) and lists the
environment variables a deployment must fill from secrets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dataos_defs.cli.apps import command_group
from dataos_defs.cli.output import check_format, console, print_data, print_table
from dataos_defs.cli.session import api_session

app = command_group(help="Query clusters (Minerva): routing and Trino catalogs.")


@app.command("get")
def get(
    output: Annotated[str, typer.Option("-o", "--output", help="table, json or yaml")] = "table",
) -> None:
    """The clusters you may read, their engine and selector."""
    check_format(output)
    with api_session() as client:
        items = client.clusters()
    if output != "table":
        print_data(items, output)
        return
    print_table(
        ("NAME", "WORKSPACE", "TYPE", "ENGINE", "DEPOTS", "SELECTOR"),
        [
            (
                c["name"],
                c["workspace"],
                c["type"],
                c["engine"],
                ", ".join(c["depots"]),
                c["selector"] or "-",
            )
            for c in items
        ],
    )


@app.command("catalogs")
def catalogs(
    name: Annotated[str, typer.Option("-n", "--name", help="cluster name")],
    out: Annotated[
        Path | None, typer.Option("-o", "--out", help="folder to write the files to")
    ] = None,
) -> None:
    """Trino catalog files for deploying the cluster on Trino."""
    with api_session() as client:
        found = client.cluster_catalogs(name)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for catalog, text in found["catalogs"].items():
            (out / f"{catalog}.properties").write_text(text)
        console.print(f"wrote {len(found['catalogs'])} catalog file(s) to {out}", markup=False)
    else:
        for catalog, text in found["catalogs"].items():
            console.print(f"# {catalog}.properties", markup=False)
            console.print(text, markup=False)
    if found["secrets"]:
        console.print("environment variables to fill from secrets:", markup=False)
        print_table(
            ("ENV", "SECRET", "KEY"), [(s["env"], s["secret"], s["key"]) for s in found["secrets"]]
        )
