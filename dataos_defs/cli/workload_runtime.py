"""``get runtime`` and ``log`` for Services and Workers (:mod:`dataos_defs.cli.runtime`
hands them ``-t service`` and ``-t worker``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from dataos_defs.cli.output import console, fail, log_time, print_data, print_table
from dataos_defs.cli.session import api_session

if TYPE_CHECKING:
    from dataos_defs.api.client import DataosClient

WORKLOAD_KINDS = ("service", "worker")
ALL_LINES = -1


def since(stamp: str | None, now: datetime | None = None) -> str:
    """``2026-12-07 15:04:05 (3m ago)`` in local time; ``-`` when never started.

    >>> since("2026-12-07T10:00:00+00:00", datetime(2026, 12, 7, 12, 30, tzinfo=UTC))[-8:]
    '(2h ago)'
    """
    if not stamp:
        return "-"
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    seconds = int(((now or datetime.now(UTC)) - moment).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{log_time(stamp)} ({seconds // size}{unit} ago)"
    return f"{log_time(stamp)} ({max(seconds, 0)}s ago)"


def _ports(ports: dict[str, int]) -> str:
    return ",".join(f"{name}:{port}" for name, port in ports.items())


def show_workload_runtime(kind: str, name: str, workspace: str | None, output: str) -> None:
    """Replicas with state, revision, restarts, ports and start time; why any is not ready."""
    with api_session() as client:
        body = client.workload_runtime(kind, name, workspace)
    if output != "table":
        print_data(body, output)
        return
    console.print(
        f"{body['name']} ({body['workspace']})  {kind}  status {body['status']}  runtime "
        f"{body['runtime']}  revision {body['revision']}  ready {body['ready']}/"
        f"{body['desired'] if body['desired'] is not None else '-'}",
        markup=False,
    )
    if body.get("reason"):
        console.print(f"reason: {body['reason']}", markup=False)
    replicas = body["replicas"]
    print_table(
        ("REPLICA", "STATE", "REVISION", "RESTARTS", "PORTS", "STARTED", "PID"),
        [
            (
                r["name"],
                r["state"],
                r["revision"],
                r["restarts"],
                _ports(r["ports"]),
                since(r["started"]),
                r["pid"] or "",
            )
            for r in replicas
        ],
    )
    for replica in replicas:
        if replica["state"] != "ready" and replica.get("reason"):
            console.print(f"{replica['name']}: {replica['reason']}", markup=False)


def workload_log(
    kind: str, name: str, workspace: str | None, node: str | None, lines: int, follow: bool
) -> None:
    """The last ``lines`` of a replica's output; with ``follow``, then new lines until the
    replica stops (or Ctrl-C)."""
    if lines == 0 or lines < ALL_LINES:
        fail(f"-l/--lines must be a positive number or -1 (all), not {lines}")
    with api_session() as client:
        body = client.workload_logs(kind, name, workspace, node, lines)
        for line in body["lines"]:
            console.print(line, markup=False, highlight=False)
        if follow:
            _follow(client, kind, name, workspace, node)


def _follow(
    client: DataosClient, kind: str, name: str, workspace: str | None, node: str | None
) -> None:
    import httpx

    try:
        for line in client.follow_workload_logs(kind, name, workspace, node):
            console.print(line, markup=False, highlight=False)
    except httpx.TransportError as exc:
        fail(f"the log stream ended: {exc.__class__.__name__}")
    except KeyboardInterrupt:
        return
