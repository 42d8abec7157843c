"""What the supervisor runs for a stored Service or Worker: :class:`WorkloadSpec`.

Only the ``container`` (and ``alpha``) stack runs embedded: its ``command + arguments`` start
as a local process, as the container stack runs a workflow job locally. A command whose
program is ``python`` or ``python3`` runs with the platform's own interpreter (there is no
image here, so the image's Python is the platform's). A workload that cannot run at all (any
other stack, no command, more replicas than :data:`MAX_REPLICAS`) gets a ``problem``: the
supervisor shows it as a failed replica with that reason and starts nothing.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from pydantic import ValidationError

from dataos_defs.manifest.common import LongRunningSpec, env_text
from dataos_defs.manifest.service import ServiceSpec
from dataos_defs.manifest.worker import WorkerSpec
from dataos_defs.poros.records import StoredResource

MAX_REPLICAS_ENV = "DATAOS_WORKLOAD_MAX_REPLICAS"
MAX_REPLICAS = 20
"""Replicas one workload may ask for in embedded mode: each is a process of this machine."""
EMBEDDED_STACKS = ("container", "alpha")
HTTP_PORT = "http"
"""The name of a Service's single ``servicePort``."""
PYTHON_NAMES = ("python", "python3")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$")
"""Names that are safe as one folder name (the replica logs live under them)."""

Key = tuple[str, str, str]
"""(kind, workspace, name) of a workload."""


@dataclass(frozen=True)
class WorkloadSpec:
    """One Service or Worker as the supervisor runs it (no secret values: those are read
    from the store when a replica starts)."""

    kind: str
    workspace: str
    name: str
    revision: int
    replicas: int
    command: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    ports: tuple[str, ...] = ()
    """Port names; the first is ``PORT`` in the replica's environment."""
    runtime: LongRunningSpec | None = None
    problem: str | None = None
    run_as: str | None = None
    """The identity the workload runs as (its ``runAsUser``, else its owner): reported with
    its replicas (:data:`~dataos_defs.poros.supervisor.core.ReplicaReport`)."""

    @property
    def key(self) -> Key:
        return (self.kind, self.workspace, self.name)


def max_replicas(environ: Mapping[str, str] = os.environ) -> int:
    raw = environ.get(MAX_REPLICAS_ENV, "").strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else MAX_REPLICAS


def workload_spec(resource: StoredResource, limit: int = MAX_REPLICAS) -> WorkloadSpec:
    """The spec of a stored Service or Worker; never raises (a bad one gets a ``problem``)."""
    section = resource.manifest.get(resource.kind) or {}
    bare = WorkloadSpec(
        kind=resource.kind,
        workspace=resource.workspace or "public",
        name=resource.name,
        revision=resource.revision,
        replicas=1,
        run_as=resource.run_as or resource.owner,
    )
    try:
        model = ServiceSpec if resource.kind == "service" else WorkerSpec
        runtime: LongRunningSpec = model.model_validate(section)
    except ValidationError as exc:
        invalid = f"its {resource.kind} section does not validate: {exc.errors()[0]['msg']}"
        return replace(bare, problem=invalid)
    spec = replace(
        bare,
        replicas=_replicas(runtime),
        command=_command(runtime),
        env={k: env_text(v) for k, v in (runtime.envs or {}).items()},
        ports=_ports(section) if resource.kind == "service" else (),
        runtime=runtime,
    )
    problem = _problem(spec, runtime, limit)
    if problem is None:
        return spec
    return replace(bare, replicas=spec.replicas, problem=problem)


def _replicas(runtime: LongRunningSpec) -> int:
    """``replicas``, raised to ``autoScaling.minReplicas`` (embedded mode does not scale on
    load: it runs the floor the autoscaler would keep)."""
    scaling = runtime.auto_scaling
    if scaling is not None and scaling.enabled:
        return max(runtime.replicas, scaling.minReplicas)
    return runtime.replicas


def _command(runtime: LongRunningSpec) -> tuple[str, ...]:
    spec = runtime.stack_spec
    if not isinstance(spec, Mapping) and spec is not None:
        command = list(getattr(spec, "command", None) or [])
        arguments = list(getattr(spec, "arguments", None) or [])
    else:
        command = list((spec or {}).get("command") or [])
        arguments = list((spec or {}).get("arguments") or [])
    if command and command[0] in PYTHON_NAMES:
        command[0] = sys.executable
    return tuple(str(part) for part in (*command, *arguments))


def _ports(section: Mapping[str, object]) -> tuple[str, ...]:
    ports = section.get("servicePorts")
    if isinstance(ports, list) and ports:
        return tuple(str(p.get("name")) for p in ports if isinstance(p, dict))
    return (HTTP_PORT,) if section.get("servicePort") is not None else ()


def _problem(spec: WorkloadSpec, runtime: LongRunningSpec, limit: int) -> str | None:
    if not (_SAFE_NAME.match(spec.name) and _SAFE_NAME.match(spec.workspace)):
        return "its name or workspace cannot name a folder (letters, digits, '.', '_', '-')"
    stack = runtime.stack_ref.name
    if stack not in EMBEDDED_STACKS:
        return (
            f"the {stack} stack has no embedded runner (only {', '.join(EMBEDDED_STACKS)} "
            "run as local processes); run it on Kubernetes (DATAOS_RUN_MODE=k8s)"
        )
    if not spec.command:
        return (
            "its stackSpec gives no command: the image's entrypoint only runs on Kubernetes "
            "(DATAOS_RUN_MODE=k8s)"
        )
    if spec.replicas > limit:
        return (
            f"{spec.replicas} replicas exceed the embedded limit of {limit} processes per "
            f"workload ({MAX_REPLICAS_ENV}); lower replicas or run it on Kubernetes"
        )
    return None


def port_variable(name: str) -> str:
    """``DATAOS_PORT_<NAME>``: the variable holding a replica's port called ``name``.

    >>> port_variable("http-api")
    'DATAOS_PORT_HTTP_API'
    """
    return "DATAOS_PORT_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()
