"""``get runtime -t cluster``: the engine serving a cluster, its health, its open queries.

A cluster does not run as processes here (DataOS runs Minerva pods): the Gateway serves it
with the embedded DuckDB engine or a Trino endpoint, so that is what is shown.
"""

from __future__ import annotations

from typing import Any

from dataos_defs.cli.output import console, print_data, print_table
from dataos_defs.cli.session import api_session


def show_cluster_runtime(name: str, workspace: str | None, output: str) -> None:
    """The engine, its health, the statements executing and the open results (yours, or
    everyone's for operators)."""
    params = {"workspace": workspace} if workspace else {}
    with api_session() as client:
        body: dict[str, Any] = client.request(
            "GET", f"/poros/api/v1/runtime/cluster/{name}", params=params
        )
    if output != "table":
        print_data(body, output)
        return
    console.print(
        f"{body['name']} ({body['workspace']})  cluster  status {body['status']}  engine "
        f"{body['engine']} ({body['endpoint']})  health {body['health']}  executing "
        f"{body['executing']}  open results {body['running']}",
        markup=False,
    )
    details = body.get("details") or {}
    if details.get("reason"):
        console.print(f"reason: {details['reason']}", markup=False)
    if details.get("version"):
        console.print(
            f"trino {details['version']}, up {details.get('uptime') or '-'}", markup=False
        )
    if body["statements"]:
        print_table(
            ("EXECUTING", "USER", "FOR", "CANCELLING"),
            [
                (q["query_id"], q["user"], f"{q['seconds']}s", "yes" if q["cancelling"] else "")
                for q in body["statements"]
            ],
        )
    if body["queries"]:
        print_table(
            ("QUERY", "USER", "ROWS SENT", "IDLE"),
            [
                (q["query_id"], q["user"], q["rows_sent"], f"{q['idle_seconds']}s")
                for q in body["queries"]
            ],
        )
    elif body["running"]:
        console.print(f"{body['running']} open by other users", markup=False)
