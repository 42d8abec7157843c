"""What the Kubernetes API says of a workload, as :mod:`dataos_defs.poros.workloads` puts it.

Pure functions over the API's JSON (``_preload_content=False`` answers): a Deployment and its
pods become a :class:`WorkloadRuntime`; an ``ApiException`` becomes a message that says what
to do. The pod states follow the Kubernetes API reference (PodStatus, ContainerStatus):

* being deleted (``metadata.deletionTimestamp``) -> ``stopping``;
* a container waiting in ``CrashLoopBackOff`` -> ``crashloop``, the reason naming the last
  exit (``lastState.terminated``: its reason and exit code);
* a container waiting for a reason that does not heal by waiting (an image that cannot be
  pulled, a Secret or key that does not exist: ``CreateContainerConfigError``) -> ``failed``;
* phase ``Failed``/``Succeeded`` (a Deployment's pods restart always: evicted, or the node
  lost) -> ``failed``;
* ``Pending`` and not scheduled -> ``pending`` (the scheduler's message as reason); scheduled
  -> ``starting``;
* ``Running`` with condition ``Ready`` -> ``ready``, else ``starting``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from dataos_defs.kernel.k8s_deployment import REVISION_ANNOTATION
from dataos_defs.kernel.k8s_rbac import ROLE_NAME
from dataos_defs.poros.workloads import Replica, ReplicaState, WorkloadRuntime

FAILED_WAITING = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)

Json = Mapping[str, Any]


class KubernetesError(RuntimeError):
    """The Kubernetes API refused or could not be reached; the message says what to do."""


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _revision(meta: Json) -> int:
    try:
        return int((meta.get("annotations") or {}).get(REVISION_ANNOTATION, 0))
    except (TypeError, ValueError):
        return 0


def _condition(status: Json, kind: str) -> Json:
    for condition in status.get("conditions") or []:
        if condition.get("type") == kind:
            return dict(condition)
    return {}


def _last_exit(container: Json) -> tuple[str | None, int | None]:
    terminated = (container.get("lastState") or {}).get("terminated") or {}
    if not terminated:
        return None, None
    code = terminated.get("exitCode")
    return terminated.get("reason"), int(code) if code is not None else None


def pod_state(pod: Json) -> tuple[ReplicaState, str | None, int | None]:
    """``(state, reason, last exit code)`` of one pod."""
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    containers = status.get("containerStatuses") or []
    exit_reason, exit_code = (None, None)
    for container in containers:
        exit_reason, exit_code = _last_exit(container)
        if exit_code is not None:
            break
    if meta.get("deletionTimestamp"):
        return "stopping", None, exit_code
    for container in containers:
        waiting = (container.get("state") or {}).get("waiting") or {}
        why = waiting.get("reason")
        if why == "CrashLoopBackOff":
            last = f"exited with code {exit_code}" if exit_code is not None else "exited"
            detail = f" ({exit_reason})" if exit_reason else ""
            return "crashloop", f"CrashLoopBackOff: {last}{detail}", exit_code
        if why in FAILED_WAITING:
            message = waiting.get("message")
            return "failed", f"{why}: {message}" if message else why, exit_code
    phase = status.get("phase")
    if phase in ("Failed", "Succeeded"):
        return "failed", status.get("reason") or status.get("message") or phase, exit_code
    if phase == "Running":
        ready = _condition(status, "Ready").get("status") == "True"
        return ("ready" if ready else "starting"), None, exit_code
    scheduled = _condition(status, "PodScheduled")
    if scheduled.get("status") == "False":
        return "pending", scheduled.get("message") or scheduled.get("reason"), exit_code
    return ("starting" if scheduled else "pending"), None, exit_code


def replica(pod: Json) -> Replica:
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    state, reason, exit_code = pod_state(pod)
    ports = {
        str(port["name"]): int(port["containerPort"])
        for container in (pod.get("spec") or {}).get("containers") or []
        for port in container.get("ports") or []
        if port.get("name")
    }
    restarts = sum(int(c.get("restartCount") or 0) for c in status.get("containerStatuses") or [])
    return Replica(
        name=str(meta.get("name")),
        state=state,
        revision=_revision(meta),
        restarts=restarts,
        started_at=_time(status.get("startTime")),
        ports=ports,
        host=status.get("podIP"),
        exit_code=exit_code,
        reason=reason,
    )


def deployment_reason(deployment: Json) -> str | None:
    """Why a rollout is stuck, as its conditions say (a deadline passed, pods refused)."""
    status = deployment.get("status") or {}
    failure = _condition(status, "ReplicaFailure")
    if failure.get("status") == "True":
        return str(failure.get("message") or failure.get("reason"))
    progressing = _condition(status, "Progressing")
    if progressing.get("status") == "False":
        return str(progressing.get("message") or progressing.get("reason"))
    return None


def workload_runtime(
    kind: str, workspace: str, name: str, deployment: Json, pods: Sequence[Json]
) -> WorkloadRuntime:
    spec = deployment.get("spec") or {}
    replicas = tuple(sorted((replica(pod) for pod in pods), key=lambda r: r.name))
    return WorkloadRuntime(
        kind=kind,
        workspace=workspace,
        name=name,
        revision=_revision(deployment.get("metadata") or {}),
        desired=int(spec.get("replicas", 1)),
        replicas=replicas,
        reason=deployment_reason(deployment),
    )


def api_error(exc: Any, verb: str, resource: str, namespace: str, name: str | None) -> str:
    """A message for an ``ApiException`` of ``verb`` on ``resource`` (``deployments.apps``):
    a 403 names the missing permission and the Role that grants it."""
    status = getattr(exc, "status", None)
    where = f"{resource} {namespace}/{name}" if name else f"{resource} in namespace {namespace}"
    if status == 403:
        return (
            f"the API server's ServiceAccount may not {verb} {resource} in namespace "
            f"{namespace} (403 Forbidden): the kernel's Role {ROLE_NAME} grants it there "
            "(dataos_defs.kernel.k8s_rbac); apply the platform stack"
        )
    if status == 404 and _details(exc).get("kind") == "namespaces":
        return (
            f"namespace {namespace} does not exist (404): the kernel creates one per "
            "workspace; apply the platform stack after creating the workspace"
        )
    return f"{verb} {where}: {status} {getattr(exc, 'reason', '')}: {_message(exc)}".strip()


def _status(exc: Any) -> dict[str, Any]:
    """The Status object the API server answered (never the request)."""
    try:
        body = json.loads(getattr(exc, "body", None) or "{}")
    except (TypeError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


def _details(exc: Any) -> dict[str, Any]:
    details = _status(exc).get("details")
    return details if isinstance(details, dict) else {}


def _message(exc: Any) -> str:
    return str(_status(exc).get("message") or "")
