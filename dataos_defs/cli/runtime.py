"""``dataos-ctl get runtime``, ``runtime run|stop|pause|resume`` and ``log`` for workflows;
Services and Workers are handed to :mod:`dataos_defs.cli.workload_runtime`."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from dataos_defs.cli.apps import command_group
from dataos_defs.cli.cluster_runtime import show_cluster_runtime
from dataos_defs.cli.identifiers import FORMS_HINT
from dataos_defs.cli.operations import print_process_history, print_run_history
from dataos_defs.cli.options import IdentOpt, IdOpt, NameOpt, TypeOpt, WorkspaceOpt, target
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
from dataos_defs.cli.workload_runtime import WORKLOAD_KINDS, show_workload_runtime, workload_log

app = command_group(help="Act on a workflow's runs and schedule.")
RERUN_WORKLOAD = (
    "a {kind} cannot be re-run here: its replicas are replaced (one by one, each new one "
    "ready before an old one stops) only when a changed manifest is applied, a new revision; "
    "the workload runtime has no restart of an unchanged revision"
)
RERUN_HINT = (
    "re-run supports -t workflow; to restart a service or worker, change its manifest and "
    "apply it; 'dataos-ctl get runtime -t service -n NAME' shows its replicas"
)


def _workflow(
    verb: str,
    kind: str | None,
    name: str | None,
    workspace: str | None,
    identifier: str | None,
    resource_id: str | None,
) -> tuple[str, str | None]:
    """The workflow's ``(name, workspace)``; other types have no runtime here yet."""
    kind, name, workspace = target(kind, name, workspace, identifier, resource_id)
    if verb == "runtime re-run" and kind in WORKLOAD_KINDS:
        fail(RERUN_WORKLOAD.format(kind=kind), RERUN_HINT)
    if kind not in (None, "workflow"):
        fail(
            f"runtimes of '{kind}' Resources are not available yet",
            "use -t workflow, -t service or -t worker",
        )
    if not name:
        fail(f"{verb} needs -n NAME, -i IDENTIFIER or --id ID", FORMS_HINT)
    return name, workspace


def _workload(
    verb: str,
    kind: str | None,
    name: str | None,
    workspace: str | None,
    identifier: str | None,
    resource_id: str | None,
) -> tuple[str, str, str | None] | None:
    """``(type, name, workspace)`` of a Service or Worker; ``None`` for anything else."""
    kind, name, workspace = target(kind, name, workspace, identifier, resource_id)
    if kind not in WORKLOAD_KINDS:
        return None
    if not name:
        fail(f"{verb} needs -n NAME, -i IDENTIFIER or --id ID", FORMS_HINT)
    return kind, name, workspace


def show_runtime(
    kind: TypeOpt = None,
    name: NameOpt = None,
    workspace: WorkspaceOpt = None,
    identifier: IdentOpt = None,
    resource_id: IdOpt = None,
    output: Annotated[str, typer.Option("-o", "--output", help="table, json or yaml")] = "table",
    last: Annotated[
        int | None,
        typer.Option(
            "--last",
            min=1,
            max=500,
            help="history: the last N runs (a service or worker: the last N states its "
            "replicas entered)",
        ),
    ] = None,
) -> None:
    """Jobs with stacks and dependencies, their state in the latest run, progress, next tick;
    with --last N the history of its last N runs (Caretaker) instead. A service or worker:
    its replicas (with --last N the last N states they entered). A cluster: the engine
    serving it (embedded DuckDB or a Trino endpoint, not pods as in DataOS), its health, the
    statements executing and the Gateway's results open on it.

    Examples: dataos-ctl get runtime -t workflow -n daily -w public;
    dataos-ctl get runtime -t cluster -n minervab -w public"""
    check_format(output)
    wanted, named, where = target(kind, name, workspace, identifier, resource_id)
    if wanted == "cluster":
        if last is not None or not named:
            fail("get runtime -t cluster needs -n NAME (and takes no --last)", FORMS_HINT)
        show_cluster_runtime(named, where, output)
        return
    workload = _workload("get runtime", kind, name, workspace, identifier, resource_id)
    if workload is not None:
        if last is not None:
            _show_process_history(*workload, last, output)
            return
        show_workload_runtime(*workload, output)
        return
    name, workspace = _workflow("get runtime", kind, name, workspace, identifier, resource_id)
    if last is not None:
        _show_history(name, workspace, last, output)
        return
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


def _show_history(name: str, workspace: str | None, last: int, output: str) -> None:
    with api_session() as client:
        history = client.caretaker("runs", name=name, workspace=workspace, last=last)
    if output != "table":
        print_data(history, output)
    else:
        print_run_history(history)


def _show_process_history(
    kind: str, name: str, workspace: str | None, last: int, output: str
) -> None:
    with api_session() as client:
        history = client.caretaker(
            "processes", type=kind, name=name, workspace=workspace, last=last
        )
    if output != "table":
        print_data(history, output)
    else:
        print_process_history(history)


def _act(
    action: str,
    kind: str | None,
    name: str | None,
    workspace: str | None,
    identifier: str | None,
    resource_id: str | None,
) -> None:
    name, workspace = _workflow(f"runtime {action}", kind, name, workspace, identifier, resource_id)
    with api_session() as client:
        result = client.runtime_action(name, action, workspace)
    detail = result.get("run_id") or result.get("schedule") or ", ".join(result.get("stopped", []))
    console.print(f"{action} {name}...done {detail or ''}".rstrip(), markup=False)


ACTIONS = {
    "run": "Launch a run now.",
    "re-run": (
        "Run a workflow again now: a new run of its current revision, allowed to whoever may "
        "run it. It must be deployed (status active). DataOS re-runs services too; here a "
        "service or worker is refused (it is restarted by applying a changed manifest).\n\n"
        "Examples: dataos-ctl runtime re-run -t workflow -n daily -w public; "
        "dataos-ctl runtime re-run -i 'daily | v1 | workflow | public'"
    ),
    "stop": "Terminate the active runs.",
    "pause": "Stop the schedule.",
    "resume": "Start the schedule again.",
}
"""The ``runtime`` verbs: each acts on one workflow, named the same ways."""


def _verb(action: str, summary: str) -> None:
    def verb(
        kind: TypeOpt = None,
        name: NameOpt = None,
        workspace: WorkspaceOpt = None,
        identifier: IdentOpt = None,
        resource_id: IdOpt = None,
    ) -> None:
        _act(action, kind, name, workspace, identifier, resource_id)

    verb.__doc__ = summary
    app.command(action)(verb)


for _action, _summary in ACTIONS.items():
    _verb(_action, _summary)


ALL_LINES = 100_000
"""What ``-l -1`` asks for: every line the API serves."""


def _print_lines(lines: list[str]) -> None:
    for line in lines:
        console.print(line, markup=False)


def log(
    kind: TypeOpt = None,
    name: NameOpt = None,
    workspace: WorkspaceOpt = None,
    identifier: IdentOpt = None,
    resource_id: IdOpt = None,
    node: Annotated[str | None, typer.Option("--node", help="one job of the workflow")] = None,
    lines: Annotated[int, typer.Option("-l", "--lines", help="last N events; -1 for all")] = 200,
    follow: Annotated[bool, typer.Option("-f", "--follow", help="keep printing new lines")] = False,
    utc: Annotated[bool, typer.Option("--utc", help="times in UTC, not local time")] = False,
) -> None:
    """Logs of the latest run (needs read on the workflow's logs): a failed job's error
    first, then each event, failures with their cause and stack, outputs with their rows."""
    workload = _workload("log", kind, name, workspace, identifier, resource_id)
    if workload is not None:
        workload_log(*workload, node, lines, follow)
        return
    name, workspace = _workflow("log", kind, name, workspace, identifier, resource_id)
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
