"""``dataos-ctl query [-c CLUSTER] "SQL" [-o table|csv|json] [--explain]``: governed SQL.

Rows come through the Gateway with the caller's data policies applied; ``--explain`` shows
the statement as the engine would run it and which policies shaped it, without running it.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dataos_defs.cli.output import console, fail, print_table
from dataos_defs.cli.session import api_session

if TYPE_CHECKING:
    from dataos_defs.api.client import DataosClient

QUERY_FORMATS = ("table", "csv", "json")


def _pages(client: DataosClient, first: dict[str, Any]) -> Iterator[dict[str, Any]]:
    page = first
    while True:
        yield page
        if page.get("nextPage") is None:
            return
        page = client.query_page(page["queryId"], page["nextPage"])


def _print_rows(columns: list[str], rows: list[list[Any]], output: str) -> None:
    if output == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
    elif output == "json":
        records = [dict(zip(columns, row, strict=True)) for row in rows]
        sys.stdout.write(json.dumps(records, indent=2, default=str) + "\n")
    else:
        print_table(columns, rows)
        console.print(f"({len(rows)} row{'s' if len(rows) != 1 else ''})", markup=False)


def _print_explain(found: dict[str, Any]) -> None:
    console.print(f"cluster:  {found['cluster']}", markup=False)
    console.print(f"datasets: {', '.join(found['datasets']) or '-'}", markup=False)
    console.print("governed statement:", markup=False)
    console.print("  " + found["sql"], markup=False)
    if not found["policies"]:
        console.print("policies: none apply", markup=False)
        return
    print_table(
        ("DATASET", "POLICY", "KIND", "COLUMN", "OPERATOR", "PRIORITY"),
        [
            (
                p["dataset"],
                p["policy"],
                p["kind"],
                p.get("column"),
                p.get("operator"),
                p.get("priority"),
            )
            for p in found["policies"]
        ],
    )


def query(
    sql: Annotated[str, typer.Argument(help="Trino SQL: SELECT, WITH, SHOW, DESCRIBE, EXPLAIN")],
    cluster: Annotated[str | None, typer.Option("-c", "--cluster", help="cluster name")] = None,
    catalog: Annotated[str | None, typer.Option("--catalog", help="default depot")] = None,
    schema: Annotated[str | None, typer.Option("--schema", help="default collection")] = None,
    output: Annotated[str, typer.Option("-o", "--output", help="table, csv or json")] = "table",
    explain: Annotated[
        bool, typer.Option("--explain", help="show the governed statement and its policies")
    ] = False,
) -> None:
    """Run governed SQL through the Gateway (masks and row filters applied)."""
    if output not in QUERY_FORMATS:
        fail(f"unknown output format '{output}'", "use one of: " + ", ".join(QUERY_FORMATS))
    with api_session() as client:
        if explain:
            found = client.explain(sql, cluster, catalog, schema)
            if output == "json":
                sys.stdout.write(json.dumps(found, indent=2) + "\n")
            else:
                _print_explain(found)
            return
        first = client.query(sql, cluster, catalog, schema)
        columns = [c["name"] for c in first["columns"]]
        rows = [row for page in _pages(client, first) for row in page["rows"]]
    _print_rows(columns, rows, output)
