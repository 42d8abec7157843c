"""Runtime and logs of Services and Workers (``get runtime -t service``, ``log -t worker``).

Both read the workload runtime (``app.state.workloads``), so they answer the same in
embedded and Kubernetes mode. Reading a runtime needs ``read`` on the Resource. A replica's
log carries whatever the process printed, which may quote data it read as the identity it
runs as, so reading logs follows the workflows' rule (:mod:`dataos_defs.api.runtime`):
``read`` on its ``/logs`` and, for anyone but that identity, ``run-as`` on it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from dataos_defs.api.authz import authorize
from dataos_defs.api.deps import get_store
from dataos_defs.api.errors import ApiError
from dataos_defs.api.identity import Identity, current_identity
from dataos_defs.api.runtime import may_see_as
from dataos_defs.api.workloads import NOT_STARTED
from dataos_defs.heimdall.objects import resource_object
from dataos_defs.poros.records import StoredResource
from dataos_defs.poros.store import Store
from dataos_defs.poros.workloads import WORKLOAD_KINDS, Replica, WorkloadRuntime, Workloads

router = APIRouter(prefix="/poros/api/v1", tags=["runtime"])
StoreDep = Annotated[Store, Depends(get_store)]
IdentityDep = Annotated[Identity, Depends(current_identity)]
MAX_LINES = 100_000
FOLLOW_MAX_S = 3600.0
"""A followed log ends after this long; ``log -f`` can be run again."""


def running_workloads(request: Request) -> Workloads:
    """The server's workload runtime; 503 when it runs none."""
    found: Workloads | None = getattr(request.app.state, "workloads", None)
    if found is None:
        raise ApiError(
            503,
            "no_workload_runtime",
            "this server runs no workload runtime, so Services and Workers are not running",
            "serve the API with Poros (dataos-ctl serve)",
        )
    return found


def _resource(
    request: Request,
    store: Store,
    identity: Identity,
    kind: str,
    name: str,
    workspace: str | None,
    part: str | None = None,
) -> StoredResource:
    ws = workspace or "public"
    authorize(request, identity, "read", resource_object(kind, name, ws, part))
    found = store.get(kind, name, ws)
    if found is None:
        raise ApiError(404, "not_found", f"{kind} '{name}' not found in workspace '{ws}'")
    return found


def _replica(replica: Replica) -> dict[str, Any]:
    return {
        "name": replica.name,
        "state": replica.state,
        "revision": replica.revision,
        "restarts": replica.restarts,
        "started": replica.started_at.isoformat(timespec="seconds") if replica.started_at else None,
        "ports": dict(replica.ports),
        "host": replica.host,
        "pid": replica.pid,
        "exit_code": replica.exit_code,
        "reason": replica.reason,
    }


def runtime_body(resource: StoredResource, runtime: WorkloadRuntime | None) -> dict[str, Any]:
    """What ``GET /runtime/{service|worker}/{name}`` answers."""
    return {
        "type": resource.kind,
        "name": resource.name,
        "workspace": resource.workspace or "public",
        "status": resource.status,
        "runtime": runtime.summary if runtime else NOT_STARTED,
        "revision": runtime.revision if runtime else resource.revision,
        "desired": runtime.desired if runtime else None,
        "ready": runtime.ready if runtime else 0,
        "reason": runtime.reason if runtime else "not taken up by the workload runtime yet",
        "replicas": [_replica(r) for r in runtime.replicas] if runtime else [],
    }


def _get_runtime(kind: str) -> Callable[..., dict[str, Any]]:
    def get_runtime(
        request: Request,
        name: str,
        store: StoreDep,
        identity: IdentityDep,
        workspace: str | None = None,
    ) -> dict[str, Any]:
        resource = _resource(request, store, identity, kind, name, workspace)
        runtime = running_workloads(request).runtime(kind, resource.workspace or "public", name)
        return runtime_body(resource, runtime)

    get_runtime.__doc__ = (
        f"Replicas of a {kind}: state, revision, restarts, ports, start time, the reason one "
        "is not ready; the runtime word (running:N, pending, failed, stopped)."
    )
    return get_runtime


def _get_logs(kind: str) -> Callable[..., Any]:
    def get_logs(
        request: Request,
        name: str,
        store: StoreDep,
        identity: IdentityDep,
        workspace: str | None = None,
        node: Annotated[str | None, Query(description="one replica (default: the first)")] = None,
        lines: Annotated[int, Query(ge=-1, le=MAX_LINES)] = 1000,
        follow: bool = False,
    ) -> Any:
        resource = _resource(request, store, identity, kind, name, workspace, "logs")
        may_see_as(request, identity, resource)
        workloads = running_workloads(request)
        ws = resource.workspace or "public"
        if lines == 0:
            raise ApiError(400, "bad_lines", "lines must be positive, or -1 for all")
        try:
            if follow:
                stream = workloads.follow(kind, ws, name, node)
                return StreamingResponse(_lines(request, stream), media_type="text/plain")
            shown = workloads.logs(kind, ws, name, node, lines)
        except LookupError as exc:
            raise ApiError(
                404,
                "no_replica",
                str(exc),
                f"its replicas are listed by dataos-ctl get runtime -t {kind} -n {name}",
            ) from exc
        return {"type": kind, "name": name, "workspace": ws, "node": node, "lines": shown}

    get_logs.__doc__ = (
        f"The last lines of a {kind} replica's output (``follow``: a text stream of new "
        "lines). Needs read on its /logs and, unless the caller is the identity it runs as, "
        "run-as on that identity."
    )
    return get_logs


for _kind in WORKLOAD_KINDS:
    router.add_api_route(
        f"/runtime/{_kind}/{{name}}",
        _get_runtime(_kind),
        methods=["GET"],
        summary=f"A {_kind}'s runtime",
    )
    router.add_api_route(
        f"/logs/{_kind}/{{name}}", _get_logs(_kind), methods=["GET"], summary=f"A {_kind}'s logs"
    )


async def _lines(request: Request, lines: Iterator[str]) -> AsyncIterator[bytes]:
    """The followed lines, until the replica stops, the client leaves or time is up. Empty
    strings are the runtime's heartbeats: not sent, they let a departed client be noticed."""
    deadline = time.monotonic() + FOLLOW_MAX_S
    try:
        while time.monotonic() < deadline:
            line = await anyio.to_thread.run_sync(next, lines, None)
            if line is None or await request.is_disconnected():
                return
            if line:
                yield (line + "\n").encode()
    finally:
        close = getattr(lines, "close", None)
        if close is not None:
            with contextlib.suppress(ValueError):  # still running in its thread: it ends soon
                close()
