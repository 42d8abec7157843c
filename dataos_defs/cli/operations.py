"""``dataos-ctl operations``: what runs now, what failed, how workflows fare and what their
quality checks found (Caretaker).

Tables are ``|``-separated like ``get``'s; ``-o json|yaml`` prints the API's answer. What is
shown is what the caller may read (the API filters it); an error a run saw is shown only to
who may read its logs, else ``(hidden)``.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from dataos_defs.cli.apps import command_group
from dataos_defs.cli.output import check_format, print_data, print_table
from dataos_defs.cli.session import api_session

app = command_group(
    help="Running nodes, recent failures and aggregates of runs (Caretaker).",
    no_args_is_help=True,
)
OutputOpt = Annotated[str, typer.Option("-o", "--output", help="table, json or yaml")]
ERROR_WIDTH = 120


def _time(ms: int | None) -> str:
    if ms is None:
        return ""
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _seconds(ms: int | None) -> str:
    return "" if ms is None else f"{ms / 1000:.1f}s"


def _memory(value: int | None) -> str:
    return "" if value is None else f"{value / 2**20:.0f}Mi"


def _error(item: dict[str, Any]) -> str:
    if item.get("error_hidden"):
        return "(hidden)"
    text = " ".join(str(item.get("error") or "").split())
    return text if len(text) <= ERROR_WIDTH else text[: ERROR_WIDTH - 3] + "..."


def _fetch(route: str, output: str, **params: Any) -> dict[str, Any] | None:
    check_format(output)
    with api_session() as client:
        body = client.caretaker(route, **params)
    if output != "table":
        print_data(body, output)
        return None
    return body


@app.command("nodes")
def nodes(output: OutputOpt = "table") -> None:
    """Steps running now and live processes (pods or local processes)."""
    body = _fetch("nodes", output)
    if body is None:
        return
    rows = [
        (
            s["workspace"],
            s["resource_name"],
            s["job"],
            s["compute"] or "",
            s["run_id"],
            _time(s["started_ms"]),
        )
        for s in body["steps"]
    ]
    rows += [
        (
            p["workspace"],
            p["resource_name"],
            p["node"],
            p["state"],
            p["run_id"] or "",
            _time(p["started_ms"]),
        )
        for p in body["processes"]
    ]
    print_table(("WORKSPACE", "WORKFLOW", "NODE", "COMPUTE", "RUN", "STARTED"), rows, pipes=True)


@app.command("failures")
def failures(
    since: Annotated[str, typer.Option(help="how far back: 30m, 24h, 7d")] = "1d",
    output: OutputOpt = "table",
) -> None:
    """Failed runs since a time, each with the job that failed and why."""
    body = _fetch("failures", output, since=since)
    if body is None:
        return
    rows = []
    for run in body["failures"]:
        failed = run["failed_steps"][0] if run["failed_steps"] else run
        rows.append(
            (
                run["workspace"],
                run["resource_name"],
                run["run_id"],
                _time(run["ended_ms"]),
                failed.get("job", ""),
                _error(failed),
            )
        )
    print_table(("WORKSPACE", "WORKFLOW", "RUN", "ENDED", "JOB", "ERROR"), rows, pipes=True)


@app.command("aggregates")
def aggregates(
    window: Annotated[str, typer.Option(help="30m, 24h, 7d (at most 90d)")] = "7d",
    by: Annotated[str, typer.Option(help="workflow, job or compute")] = "workflow",
    output: OutputOpt = "table",
) -> None:
    """Runs, success rate, p50/p95 duration, CPU seconds and peak memory over a window."""
    body = _fetch("aggregates", output, window=window, by=by)
    if body is None:
        return
    group = {
        "workflow": ("workspace", "resource_name"),
        "job": ("workspace", "resource_name", "job"),
        "compute": ("compute",),
    }[body["by"]]
    rows = [
        (
            *(a.get(k) or "" for k in group),
            a["runs"],
            f"{a['success_rate'] * 100:.0f}%" if a["success_rate"] is not None else "",
            _seconds(a["p50_duration_ms"]),
            _seconds(a["p95_duration_ms"]),
            "" if a["cpu_seconds"] is None else f"{a['cpu_seconds']:.1f}",
            _memory(a["peak_memory_bytes"]),
        )
        for a in body["aggregates"]
    ]
    heads = tuple(k.replace("resource_name", "workflow").upper() for k in group)
    print_table((*heads, "RUNS", "SUCCESS", "P50", "P95", "CPU-S", "PEAK-MEM"), rows, pipes=True)


@app.command("checks")
def checks(
    name: Annotated[str, typer.Option("-n", "--name", help="the workflow")],
    workspace: Annotated[
        str, typer.Option("-w", "--workspace", help="the workflow's workspace")
    ] = "public",
    last: Annotated[int, typer.Option(help="of the workflow's last N runs", min=1)] = 10,
    output: OutputOpt = "table",
) -> None:
    """Quality check results (pass, warn, fail) with their figures, newest runs first."""
    body = _fetch("checks", output, name=name, workspace=workspace, last=last)
    if body is None:
        return
    rows = [
        (
            c["run_id"],
            c["job"],
            c["asset_key"],
            c["check"],
            c["outcome"],
            c["severity"] or "",
            "" if c["unexpected_count"] is None else c["unexpected_count"],
            c["observed_value"] or "",
            c["metrics"] or "",
            _time(c["evaluated_ms"]),
        )
        for c in sorted(body["checks"], key=lambda c: -int(c["evaluated_ms"]))
    ]
    heads = ("RUN", "JOB", "DATASET", "CHECK", "OUTCOME", "SEVERITY", "UNEXPECTED", "OBSERVED")
    print_table((*heads, "METRICS", "EVALUATED"), rows, pipes=True)


def print_run_history(body: dict[str, Any]) -> None:
    """``get runtime --last N``: the runs Caretaker recorded, newest first."""
    print_table(
        ("RUN", "STATE", "STARTED", "DURATION", "ERROR"),
        [
            (r["run_id"], r["state"], _time(r["started_ms"]), _seconds(r["duration_ms"]), _error(r))
            for r in body["runs"]
        ],
        pipes=True,
    )


def print_process_history(body: dict[str, Any]) -> None:
    """``get runtime -t service --last N``: the states its replicas entered, newest first."""
    print_table(
        ("REPLICA", "STATE", "AT", "RESTARTS", "EXIT", "UPTIME", "CPU", "PEAK MEM", "REASON"),
        [
            (
                e["replica"] or e["node"],
                e["state"],
                _time(e["changed_ms"]),
                str(e["restarts"]),
                "" if e["exit_code"] is None else str(e["exit_code"]),
                _seconds(e["uptime_ms"]),
                "" if e["cpu_seconds"] is None else f"{e['cpu_seconds']:.2f}s",
                _memory(e["peak_memory_bytes"]),
                " ".join(str(e["reason"] or "").split())[:ERROR_WIDTH],
            )
            for e in body["events"]
        ],
        pipes=True,
    )
