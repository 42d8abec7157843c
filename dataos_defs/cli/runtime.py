"""``dataos-ctl get runtime``, ``runtime run|stop|pause|resume`` and ``log`` for workflows."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from dataos_defs.cli.output import (
    check_format,
    console,
    fail,
    failure_header,
    format_log,
    print_data,
    print_table,
)
from dataos_defs.cli.session import api_session

app = typer.Typer(help="Act on a workflow's runs and schedule.")
TypeOpt = Annotated[str, typer.Option("-t", "--type", help="Resource type (workflow)")]
NameOpt = Annotated[str, typer.Option("-n", "--name")]
WorkspaceOpt = Annotated[str | None, typer.Option("-w", "--workspace")]


def _workflow_only(kind: str) -> None:
    if kind != "workflow":
        fail(f"runtimes of '{kind}' Resources are not available yet", "use -t workflow")


def show_runtime(
    kind: TypeOpt = "workflow",
    name: NameOpt = "",
    workspace: WorkspaceOpt = None,
    output: Annotated[str, typer.Option("-o", "--output")] = "table",
) -> None:
    """Jobs with stacks and dependencies, their state in the latest run, progress, next tick."""
    _workflow_only(kind)
    check_format(output)
    if not name:
        fail("get runtime needs -n NAME")
    with api_session() as client:
        body = client.runtime(name, workspace)
    if output != "table":
        print_data(body, output)
        return
    console.print(
        f"{body['name']} ({body['workspace']})  status {body['status']}  runtime "
        f"{body['runtime']}  progress {body['progress']}  started {body['started'] or '-'}  "
        f"finished {body['finished'] or '-'}  next tick {body['schedule']['next_tick'] or '-'}",
        markup=False,
    )
    print_table(
        ("JOB", "STACK", "DEPENDENCIES", "STATE", "STARTED", "FINISHED"),
        [
            (
                n["name"],
                n["stack"] or "",
                ",".join(n["dependencies"]),
                n["state"],
                n["started"] or "",
                n["finished"] or "",
            )
            for n in body["nodes"]
        ],
    )


def _act(action: str, kind: str, name: str, workspace: str | None) -> None:
    _workflow_only(kind)
    with api_session() as client:
        result = client.runtime_action(name, action, workspace)
    detail = result.get("run_id") or result.get("schedule") or ", ".join(result.get("stopped", []))
    console.print(f"{action} {name}...done {detail or ''}".rstrip(), markup=False)


@app.command("run")
def run(kind: TypeOpt = "workflow", name: NameOpt = "", workspace: WorkspaceOpt = None) -> None:
    """Launch a run now."""
    _act("run", kind, name, workspace)


@app.command("stop")
def stop(kind: TypeOpt = "workflow", name: NameOpt = "", workspace: WorkspaceOpt = None) -> None:
    """Terminate the active runs."""
    _act("stop", kind, name, workspace)


@app.command("pause")
def pause(kind: TypeOpt = "workflow", name: NameOpt = "", workspace: WorkspaceOpt = None) -> None:
    """Stop the schedule."""
    _act("pause", kind, name, workspace)


@app.command("resume")
def resume(kind: TypeOpt = "workflow", name: NameOpt = "", workspace: WorkspaceOpt = None) -> None:
    """Start the schedule again."""
    _act("resume", kind, name, workspace)


ALL_LINES = 100_000
"""What ``-l -1`` asks for: every line the API serves."""


def _print_lines(lines: list[str]) -> None:
    for line in lines:
        console.print(line, markup=False)


def log(
    kind: TypeOpt = "workflow",
    name: NameOpt = "",
    workspace: WorkspaceOpt = None,
    node: Annotated[str | None, typer.Option("--node", help="one job of the workflow")] = None,
    lines: Annotated[int, typer.Option("-l", "--lines", help="last N events; -1 for all")] = 200,
    follow: Annotated[bool, typer.Option("-f", "--follow", help="keep printing new lines")] = False,
    utc: Annotated[bool, typer.Option("--utc", help="times in UTC, not local time")] = False,
) -> None:
    """Logs of the latest run (needs read on the workflow's logs): a failed job's error
    first, then each event, failures with their cause and stack, outputs with their rows."""
    _workflow_only(kind)
    if lines == 0 or lines < -1:
        fail(f"-l/--lines must be a positive number or -1 (all), not {lines}")
    wanted = ALL_LINES if follow or lines == -1 else min(lines, ALL_LINES)
    shown = 0
    with api_session() as client:
        while True:
            body = client.logs(name, workspace, node, wanted)
            new = body["lines"][shown:] if follow else body["lines"]
            _print_lines(format_log({**body, "lines": new}, utc, header=not follow))
            shown += len(new)
            if not follow:
                return
            status = client.runtime(name, workspace)["runtime"]
            if status != "running":
                if body.get("failure"):
                    _print_lines([failure_header(body["failure"])])
                return
            time.sleep(2)
