"""``dataos-ctl get incidents``: incidents of the monitors you may read, newest first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from dataos_defs.cli.options import WorkspaceOpt
from dataos_defs.cli.output import check_format, err_console, print_data, print_table
from dataos_defs.cli.session import api_session

COLUMNS = ("ID", "MONITOR", "WORKSPACE", "NAME", "SEVERITY", "TYPE", "STATE", "FIRST SEEN",
           "LAST SEEN", "OCCURRENCES")  # fmt: skip


def _time(ms: int | None) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds") if ms else ""


def _row(item: dict[str, Any]) -> tuple[Any, ...]:
    return (
        item["id"],
        item["monitor"],
        item["workspace"],
        item["name"],
        item.get("severity") or "",
        item.get("incidentType") or "",
        item["state"],
        _time(item.get("firstSeen")),
        _time(item.get("lastSeen")),
        item["occurrences"],
    )


def show_incidents(
    workspace: WorkspaceOpt = None,
    state: Annotated[
        str | None, typer.Option("--state", help="open or resolved (default: both)")
    ] = None,
    monitor: Annotated[str | None, typer.Option("--monitor", help="one monitor's")] = None,
    output: Annotated[str, typer.Option("-o", "--output", help="table, json or yaml")] = "table",
) -> None:
    """Incidents raised by monitors, rows separated by '|'; no match exits 0 with a message."""
    check_format(output)
    if state not in (None, "open", "resolved"):
        raise typer.BadParameter("open or resolved", param_hint="--state")
    with api_session() as client:
        items = client.incidents(state=state, workspace=workspace, monitor=monitor)
    if output != "table":
        print_data(items, output)
    elif not items:
        err_console.print("no incidents found (check -w/--state/--monitor)", markup=False)
    else:
        print_table(COLUMNS, [_row(item) for item in items], pipes=True)
