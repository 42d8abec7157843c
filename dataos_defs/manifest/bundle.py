"""Bundle: several Resources applied together, in dependency order, optionally on a schedule.

Each resource of a bundle is either an embedded manifest (``spec``) or a path to one
(``file``, inlined by ``dataos-ctl`` before sending: :mod:`dataos_defs.manifest.bundle_files`).
A resource is applied once all its ``dependencies`` are and every ``dependencyConditions``
entry holds (status/runtime of another resource), within its ``timeout`` (an extension of
DataOS' schema: a duration such as ``90s``, ``10m``, ``1h``; the server's default
otherwise). Deleting a bundle deletes its resources in reverse order.

A bundle holds at most :data:`MAX_RESOURCES` resources; ids are unique, every id named
exists, and the dependencies form no cycle (each a problem at its line).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError

from dataos_defs.manifest.base import Level, Problem, ResourceBase, ResourceName, StrictModel
from dataos_defs.manifest.common import Cron, TimeZone
from dataos_defs.manifest.source import KeyPath

MAX_RESOURCES = 100
"""Resources of one bundle, at most: each is applied and watched by the server in turn."""
MAX_TIMEOUT_S = 24 * 3600.0
RUNTIME_KINDS = frozenset({"workflow", "service", "worker"})
"""The types whose members have a runtime a ``runtime`` condition can wait on."""
BUNDLE_TAG_PREFIX = "dataos:bundle:"
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)$")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def bundle_tag(name: str) -> str:
    """The tag linking a member (and a workspace the bundle created) to bundle ``name``."""
    return f"{BUNDLE_TAG_PREFIX}{name}"


def duration_seconds(text: str) -> float:
    """``90s``, ``10m``, ``1.5h``, ``500ms`` as seconds (ValueError otherwise)."""
    found = _DURATION.match(text.strip())
    if found is None:
        raise ValueError(f"'{text}' is not a duration such as 90s, 10m or 1h")
    return float(found.group(1)) * _UNIT_S[found.group(2)]


def _timeout(value: str) -> str:
    seconds = duration_seconds(value)
    if not 0 < seconds <= MAX_TIMEOUT_S:
        raise ValueError(f"a timeout must be more than 0 and at most 24h, not '{value}'")
    return value


Timeout = Annotated[str, AfterValidator(_timeout)]


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, dict) else value


class CronEntry(StrictModel):
    cron: Cron


CronList = Annotated[
    list[CronEntry],
    BeforeValidator(_as_list, json_schema_input_type=CronEntry | list[CronEntry]),
]


class BundleSchedule(StrictModel):
    """Create (and optionally delete) the bundle's resources on cron schedules."""

    initialState: Literal["create", "delete"] = "create"
    timezone: TimeZone | None = None
    create: CronList | None = None
    delete: CronList | None = None


class BundleWorkspace(StrictModel):
    name: ResourceName
    description: str | None = None
    tags: list[str] | None = None
    labels: dict[str, str] | None = None
    layer: Literal["user", "system"] = "user"


class StateMatch(StrictModel):
    """``is``: the value equals one of these; ``contains``: it contains one of these."""

    is_: list[str] | None = Field(default=None, alias="is")
    contains: list[str] | None = None


class DependencyCondition(StrictModel):
    resourceId: str
    status: StateMatch | None = None
    runtime: StateMatch | None = None


class BundleResource(StrictModel):
    id: Annotated[str, Field(min_length=1)]
    workspace: ResourceName | None = None
    spec: dict[str, Any] | None = Field(default=None, description="An embedded manifest")
    file: str | None = Field(default=None, description="Path of a manifest file")
    dependencies: list[str] | None = None
    dependencyConditions: list[DependencyCondition] | None = None
    timeout: Timeout | None = Field(
        default=None,
        description="How long this resource may wait for its dependencyConditions (an "
        "extension: 90s, 10m, 1h); the server's default when absent",
    )

    def timeout_s(self) -> float | None:
        return duration_seconds(self.timeout) if self.timeout else None

    def kind(self) -> str | None:
        """The type of the embedded manifest (``None`` for ``file`` or a malformed one)."""
        kind = (self.spec or {}).get("type")
        return kind if isinstance(kind, str) else None

    def upstream(self) -> list[tuple[str, KeyPath]]:
        """Ids this resource waits for, with where each is named."""
        found: list[tuple[str, KeyPath]] = [
            (dep, ("dependencies", index)) for index, dep in enumerate(self.dependencies or [])
        ]
        found.extend(
            (cond.resourceId, ("dependencyConditions", index, "resourceId"))
            for index, cond in enumerate(self.dependencyConditions or [])
        )
        return found


class BundleSection(StrictModel):
    schedule: BundleSchedule | None = None
    workspaces: list[BundleWorkspace] | None = None
    resources: list[BundleResource] = Field(min_length=1, max_length=MAX_RESOURCES)
    properties: dict[str, Any] | None = None
    manageAsUser: str | None = None


class Bundle(ResourceBase):
    KIND: ClassVar[str] = "bundle"
    LEVEL: ClassVar[Level] = "instance"
    type: Literal["bundle"]
    version: Literal["v1beta", "v1alpha"]
    bundle: BundleSection

    def embedded_manifests(self) -> list[tuple[KeyPath, dict[str, Any]]]:
        """The manifests written inline (``spec``), with their key path in this document."""
        return [
            (_at(index, "spec"), res.spec)
            for index, res in enumerate(self.bundle.resources)
            if res.spec is not None
        ]

    def secret_paths(self) -> list[KeyPath]:
        """The secrets of the embedded manifests: the bundle's stored revisions keep them
        encrypted, as the members' own revisions do."""
        from dataos_defs.manifest.registry import resource_adapter  # it imports this module

        found: list[KeyPath] = []
        for prefix, manifest in self.embedded_manifests():
            try:
                model = resource_adapter().validate_python(manifest)
            except ValidationError:
                continue  # reported by validation
            found.extend((*prefix, *path) for path in model.secret_paths())
        return found

    def order(self) -> list[str]:
        """Resource ids in an order that creates every dependency first (ids must be valid)."""
        graph = {res.id: [dep for dep, _ in res.upstream()] for res in self.bundle.resources}
        done: list[str] = []
        while len(done) < len(graph):
            ready = [i for i, deps in graph.items() if i not in done and set(deps) <= set(done)]
            if not ready:
                break
            done.extend(ready)
        return done

    def problems(self) -> list[Problem]:
        problems = _source_problems(self.bundle.resources)
        problems.extend(_graph_problems(self.bundle.resources))
        problems.extend(_condition_problems(self.bundle.resources))
        if self.bundle.schedule is not None:
            problems.extend(_schedule_problems(self.bundle.schedule))
        return problems


def _at(index: int, *rest: str | int) -> KeyPath:
    return ("bundle", "resources", index, *rest)


def _source_problems(resources: list[BundleResource]) -> list[Problem]:
    problems = []
    for index, res in enumerate(resources):
        if (res.spec is None) == (res.file is None):
            problems.append(
                Problem(
                    _at(index),
                    f"bundle resource '{res.id}' needs exactly one of 'spec' or 'file'",
                )
            )
    return problems


def _graph_problems(resources: list[BundleResource]) -> list[Problem]:
    problems: list[Problem] = []
    first: dict[str, int] = {}
    for index, res in enumerate(resources):
        if res.id in first:
            problems.append(
                Problem(
                    _at(index, "id"),
                    f"duplicate resource id '{res.id}'",
                    f"first used by bundle.resources[{first[res.id]}]",
                )
            )
        first.setdefault(res.id, index)
    for index, res in enumerate(resources):
        for dep, path in res.upstream():
            if dep not in first:
                problems.append(
                    Problem(
                        _at(index, *path),
                        f"unknown resource id '{dep}'",
                        "known ids: " + ", ".join(sorted(first)),
                    )
                )
    if len(first) < len(resources):
        return problems  # dependencies cannot be followed while ids are ambiguous
    cycle = _find_cycle({res.id: [d for d, _ in res.upstream() if d in first] for res in resources})
    if cycle:
        problems.append(
            Problem(
                _at(first[cycle[0]], "id"),
                "resources depend on each other in a cycle: " + " -> ".join(cycle),
                "remove one of these dependencies",
            )
        )
    return problems


def _find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a closed path of nodes, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def _condition_problems(resources: list[BundleResource]) -> list[Problem]:
    """A ``runtime`` condition on a resource that has no runtime could never hold, and a
    ``workspace`` on an instance-level manifest, or disagreeing with its own, is ambiguous."""
    kinds = {res.id: res.kind() for res in resources}
    problems = []
    for index, res in enumerate(resources):
        for number, cond in enumerate(res.dependencyConditions or []):
            kind = kinds.get(cond.resourceId)
            if cond.runtime is not None and kind is not None and kind not in RUNTIME_KINDS:
                problems.append(
                    Problem(
                        _at(index, "dependencyConditions", number, "runtime"),
                        f"resource '{cond.resourceId}' is a {kind}, which has no runtime",
                        "wait on its status instead (status: {is: [active]}); runtimes "
                        "belong to " + ", ".join(sorted(RUNTIME_KINDS)),
                    )
                )
            if cond.status is None and cond.runtime is None:
                problems.append(
                    Problem(
                        _at(index, "dependencyConditions", number),
                        f"the condition on '{cond.resourceId}' names neither status nor runtime",
                        "add status: {is: [active]} or runtime: {is: [succeeded]}",
                    )
                )
        written = (res.spec or {}).get("workspace")
        if res.workspace and isinstance(written, str) and written != res.workspace:
            problems.append(
                Problem(
                    _at(index, "workspace"),
                    f"the resource says workspace '{res.workspace}' but its manifest says "
                    f"'{written}'",
                    "remove one of them or make them agree",
                )
            )
    return problems


def _schedule_problems(schedule: BundleSchedule) -> list[Problem]:
    wanted = schedule.initialState
    other = "delete" if wanted == "create" else "create"
    if getattr(schedule, other) and not getattr(schedule, wanted):
        return [
            Problem(
                ("bundle", "schedule", "initialState"),
                f"initialState is '{wanted}' but only '{other}' crons are given",
            )
        ]
    return []
