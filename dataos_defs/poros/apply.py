"""The apply service: validated manifests in, one store transaction out, or every issue.

Checks that need the store live here: the workspace exists, every reference resolves (to
a live Resource, one in the same run, or a built-in), and no dataset gets a second writer.
All issues are collected and raised together; nothing is written unless there are none.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from dataos_defs.manifest.base import DEFAULT_WORKSPACE, Reference
from dataos_defs.manifest.errors import Issue, ManifestError
from dataos_defs.manifest.registry import BUILTIN_RESOURCES, RESERVED_NAMES, RESOURCE_TYPES
from dataos_defs.manifest.source import KeyPath
from dataos_defs.manifest.validate import ParsedResource
from dataos_defs.poros.records import ApplyItem, ApplyResult, ResourceKey, Status
from dataos_defs.poros.store import Store
from dataos_defs.poros.vault import canonical_json

# Types that run something: they stay `pending` until the runtime has deployed them.
RUNNABLE_KINDS = frozenset({"workflow", "service", "worker"})
_STACK_SUFFIX = re.compile(r"[+:].*$")


def initial_status(kind: str) -> Status:
    return "pending" if kind in RUNNABLE_KINDS else "active"


def apply_resources(
    store: Store,
    parsed: Sequence[ParsedResource],
    workspace: str | None,
    actor: str,
    dry_run: bool = False,
    run_as: Mapping[ResourceKey, str] | None = None,
) -> list[ApplyResult]:
    """Check ``parsed`` against the store and apply it all in one transaction.

    ``workspace`` is the ``-w`` of the command line (``None`` when not given); ``run_as``
    the identity each runnable Resource acts as, as admitted (recorded with it). Raises
    :class:`ManifestError` with every issue found; with ``dry_run`` nothing is written.
    """
    plan = _Plan(store, list(parsed), workspace, run_as or {})
    issues = plan.check()
    if issues:
        raise ManifestError(issues)
    return store.apply(plan.items(), actor, dry_run=dry_run)


def check_resources(
    store: Store,
    parsed: Sequence[ParsedResource],
    workspace: str | None,
    planned_workspaces: Collection[str] = (),
) -> list[Issue]:
    """The issues :func:`apply_resources` would raise, writing nothing, as if the workspaces
    of ``planned_workspaces`` existed (a Bundle creates its workspaces before its members)."""
    plan = _Plan(store, list(parsed), workspace, {})
    plan.planned_workspaces = set(planned_workspaces)
    return plan.check()


@dataclass
class _Entry:
    resource: ParsedResource
    key: ResourceKey
    references: list[ResourceKey] = field(default_factory=list)
    datasets: list[tuple[str, KeyPath]] = field(default_factory=list)


class _Plan:
    def __init__(
        self,
        store: Store,
        parsed: list[ParsedResource],
        workspace: str | None,
        run_as: Mapping[ResourceKey, str],
    ) -> None:
        self.store = store
        self.workspace = workspace
        self.run_as = run_as
        self.entries = [
            _Entry(p, ResourceKey(p.kind, p.name, p.workspace(workspace))) for p in parsed
        ]
        self.keys = {e.key for e in self.entries}
        self.planned_workspaces: set[str] = set()
        self._names: dict[tuple[str, str | None], list[str]] = {}

    def check(self) -> list[Issue]:
        return [
            *self._check_workspaces(),
            *self._check_reserved(),
            *self._check_json(),
            *self._check_references(),
            *self._check_writers(),
        ]

    def items(self) -> list[ApplyItem]:
        return [
            ApplyItem(
                key=e.key,
                version=e.resource.model.version,
                manifest=e.resource.document.data,
                owner=e.resource.model.owner,
                run_as=self.run_as.get(e.key),
                secret_paths=e.resource.secret_paths(),
                references=e.references,
                produced_datasets=[dataset for dataset, _ in e.datasets],
                initial_status=initial_status(e.key.kind),
                source_file=e.resource.document.file,
            )
            for e in self.entries
        ]

    def _check_workspaces(self) -> list[Issue]:
        issues = []
        wanted = {e.key.workspace for e in self.entries if e.key.workspace}
        existing = {w.name for w in self.store.list_workspaces()} if wanted else set()
        existing |= self.planned_workspaces
        for entry in self.entries:
            resource, ws = entry.resource, entry.key.workspace
            written = resource.model.workspace if resource.is_workspace_level else None
            if self.workspace and written and written != self.workspace:
                issues.append(
                    resource.issue(
                        ("workspace",),
                        f"the manifest says workspace '{written}' but '{self.workspace}' "
                        "was requested",
                        "remove one of them or make them agree",
                    )
                )
            elif ws and ws not in existing:
                issues.append(
                    resource.issue(
                        ("workspace",) if written else (),
                        f"workspace '{ws}' does not exist",
                        f"create it first with `dataos-ctl workspace create -n {ws}`",
                    )
                )
        return issues

    def _check_reserved(self) -> list[Issue]:
        return [
            e.resource.issue(
                ("name",),
                f"the {e.key.kind} name '{e.key.name}' is reserved by the platform",
                "choose another name (the depot 'caretaker' names Caretaker's run history)",
            )
            for e in self.entries
            if e.key.name.lower() in RESERVED_NAMES.get(e.key.kind, frozenset())
        ]

    def _check_json(self) -> list[Issue]:
        issues = []
        for entry in self.entries:
            try:
                canonical_json(entry.resource.document.data)
            except (ValueError, TypeError):
                issues.append(
                    entry.resource.issue(
                        (),
                        "the manifest holds a number JSON cannot store (NaN or infinity)",
                        "quote it if it is meant as text",
                    )
                )
        return issues

    def _check_references(self) -> list[Issue]:
        wanted: dict[int, list[tuple[Reference, list[ResourceKey]]]] = {}
        lookups: set[ResourceKey] = set()
        for index, entry in enumerate(self.entries):
            for ref in entry.resource.model.references():
                candidates = self._candidates(ref, entry.key.workspace)
                wanted.setdefault(index, []).append((ref, candidates))
                lookups.update(c for c in candidates if c not in self.keys)
        live = self.store.live_keys(lookups) if lookups else set()
        issues = []
        for index, refs in wanted.items():
            entry = self.entries[index]
            for ref, candidates in refs:
                found = next((c for c in candidates if self._exists(c, live)), None)
                if found is None:
                    issues.append(self._missing(entry.resource, ref, candidates[0]))
                elif found not in entry.references:
                    entry.references.append(found)
        return issues

    def _candidates(self, ref: Reference, own_workspace: str | None) -> list[ResourceKey]:
        """The keys a reference may mean: a stack is also found by its bare name
        (``flare:7.0`` and ``soda+python:1.0`` need the stacks ``flare`` and ``soda``)."""
        model = RESOURCE_TYPES.get(ref.kind)
        if model is not None and model.LEVEL == "workspace":
            ws: str | None = ref.workspace or own_workspace or DEFAULT_WORKSPACE
        else:
            ws = None
        names = [ref.name]
        if ref.kind == "stack":
            bare = _STACK_SUFFIX.sub("", ref.name)
            if bare != ref.name:
                names.append(bare)
        return [ResourceKey(ref.kind, name, ws) for name in names]

    def _exists(self, key: ResourceKey, live: set[ResourceKey]) -> bool:
        return key in self.keys or key in live or key.name in BUILTIN_RESOURCES.get(key.kind, ())

    def _missing(self, resource: ParsedResource, ref: Reference, key: ResourceKey) -> Issue:
        hint = f"apply the {key.kind} first or in the same run"
        close = difflib.get_close_matches(key.name, self._known_names(key), n=1)
        if close:
            hint = f"did you mean '{close[0]}'? otherwise {hint}"
        return resource.issue(ref.path, f"{key} does not exist", hint)

    def _known_names(self, key: ResourceKey) -> list[str]:
        cache_key = (key.kind, key.workspace)
        if cache_key not in self._names:
            self._names[cache_key] = self.store.names(key.kind, key.workspace)
        in_set = [k.name for k in self.keys if (k.kind, k.workspace) == cache_key]
        builtin = BUILTIN_RESOURCES.get(key.kind, frozenset())
        return sorted({*self._names[cache_key], *in_set, *builtin})

    def _check_writers(self) -> list[Issue]:
        """One writer per dataset: against the store, and across the set for Resources that
        share a name (the manifest checks catch the other cases before we get here)."""
        issues = []
        produced: dict[str, _Entry] = {}
        for entry in self.entries:
            entry.datasets = entry.resource.model.produced_datasets()
            for dataset, path in entry.datasets:
                first = produced.setdefault(dataset, entry)
                if first is not entry and first.key != entry.key:
                    issues.append(
                        entry.resource.issue(
                            path,
                            f"dataset {dataset} is already written by {first.key}",
                            "one workflow owns each output dataset",
                        )
                    )
        if not produced:
            return issues
        moving = {e.key: {d for d, _ in e.datasets} for e in self.entries}
        for dataset, writer in self.store.dataset_writers(list(produced)).items():
            entry = produced[dataset]
            if writer == entry.key or (writer in moving and dataset not in moving[writer]):
                continue
            path = next(p for d, p in entry.datasets if d == dataset)
            issues.append(
                entry.resource.issue(
                    path,
                    f"dataset {dataset} is already written by {writer}",
                    "one workflow owns each output dataset; remove the output from one of them",
                )
            )
        return issues
