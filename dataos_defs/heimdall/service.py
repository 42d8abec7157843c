"""Heimdall as the platform runs it: the PDP fed from the Poros store, and the decision log.

The policies in force are, in order of origin:

1. the system policies (``policies/heimdall/system/*.yaml``);
2. generated ones: members of a workspace (tag ``dataos:workspace:<ws>``) control its
   Resources; the owner of a depot reads and writes its datasets (not of a system depot);
3. every ``policy`` Resource in the store.

Every change of the store that can change them (apply, delete, workspace changes) calls
:meth:`Heimdall.reload`; an apply first calls :meth:`Heimdall.check` with the incoming
policies, so a policy that cannot be compiled is refused before anything is written.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from dataos_defs.heimdall.decision_log import DECISION_LOG_FILE, DecisionLog, new_record
from dataos_defs.heimdall.engine import UNDEFINED
from dataos_defs.heimdall.objects import resource_object, workspace_object
from dataos_defs.heimdall.pdp import (
    AccessRequest,
    Decision,
    PolicyDecisionPoint,
    PolicyEngineError,
)
from dataos_defs.heimdall.trino_data import GATEWAY_PRINCIPALS, trino_document
from dataos_defs.manifest.base import MAX_NAME_LENGTH
from dataos_defs.manifest.depot import Depot
from dataos_defs.manifest.policy import Policy
from dataos_defs.manifest.registry import resource_adapter
from dataos_defs.poros.column_tags import DerivedColumnTags
from dataos_defs.poros.identities import Identities
from dataos_defs.poros.store import Store

POLICIES_ROOT_VARIABLE = "DATAOS_POLICIES_ROOT"
GATEWAY_PRINCIPALS_VARIABLE = "DATAOS_TRINO_GATEWAY_PRINCIPALS"
DEFAULT_POLICIES_ROOT = Path(__file__).resolve().parents[2] / "policies"
MEMBER_PREDICATES = ["create", "read", "update", "delete"]
FRESHNESS_SECONDS = 1.0
"""How stale a process's policies may be after another process (worker, replica) changed
the store; a change made through this process takes effect at once."""
OWNER_PREDICATES = ["read", "write", "select", "create", "update", "delete"]
SECRET_OWNER_PREDICATES = ["use", "read", "update", "delete"]
SYSTEM_DEPOTS = frozenset({"caretaker"})
"""Depots the platform serves itself (Caretaker's history, ``caretaker/dataset.py``): a
depot Resource of that name makes its applier no owner of their datasets."""


def rego_modules(root: Path | None = None) -> dict[str, str]:
    """Every ``*.rego`` under the policies folder (tests excluded), keyed by relative path."""
    base = root or Path(os.environ.get(POLICIES_ROOT_VARIABLE) or DEFAULT_POLICIES_ROOT)
    files = sorted(p for p in base.rglob("*.rego") if not p.name.endswith("_test.rego"))
    return {str(p.relative_to(base)): p.read_text(encoding="utf-8") for p in files}


def gateway_principals() -> tuple[str, ...]:
    """The Trino principals that may run statements as the Gateway's callers
    (``DATAOS_TRINO_GATEWAY_PRINCIPALS``, comma-separated; default ``dataos-gateway``)."""
    given = os.environ.get(GATEWAY_PRINCIPALS_VARIABLE, "")
    named = tuple(p.strip() for p in given.split(",") if p.strip())
    return named or GATEWAY_PRINCIPALS


def _policy_name(prefix: str, name: str) -> str:
    full = f"{prefix}-{name}"
    if len(full) <= MAX_NAME_LENGTH:
        return full
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{full[: MAX_NAME_LENGTH - 9]}-{digest}"


def _access_policy(
    name: str, description: str, subjects: list[list[str]], predicates: list[str], paths: list[str]
) -> Policy:
    return Policy.model_validate(
        {
            "name": name,
            "version": "v1",
            "type": "policy",
            "layer": "system",
            "description": description,
            "policy": {
                "access": {
                    "name": name,
                    "collection": "generated",
                    "subjects": {"tags": subjects},
                    "predicates": predicates,
                    "objects": {"paths": paths},
                    "allow": True,
                }
            },
        }
    )


def workspace_policy(workspace: str) -> Policy:
    return _access_policy(
        _policy_name("workspace", workspace),
        f"members of workspace {workspace} control its Resources",
        [[f"dataos:workspace:{workspace}"]],
        MEMBER_PREDICATES,
        [
            f"poros://*:{workspace}/*",
            f"poros://*:{workspace}/*/logs",
            workspace_object(workspace),
        ],
    )


def depot_owner_policy(depot: str, owner: str) -> Policy:
    return _access_policy(
        _policy_name("depot-owner", depot),
        f"{owner} owns depot {depot}: reads and writes its datasets",
        [[f"users:id:{owner}"]],
        OWNER_PREDICATES,
        [f"dataos://{depot}:**", resource_object("depot", depot, None)],
    )


def secret_owner_policy(kind: str, name: str, workspace: str | None, owner: str) -> Policy:
    """The owner of a Secret or Instance-secret may use it (name it in a depot or a job),
    change and delete it. Nobody else may use it unless a policy says so."""
    label = f"{workspace}-{name}" if workspace else name
    return _access_policy(
        _policy_name(f"{kind}-owner", label),
        f"{owner} owns {kind} {name}: may use, change and delete it",
        [[f"users:id:{owner}"]],
        SECRET_OWNER_PREDICATES,
        [resource_object(kind, name, workspace)],
    )


class ColumnTagSource(Protocol):
    """Column tags kept outside Poros (the catalog, ``metis.tag_index.CatalogColumnTags``),
    attached by the process that serves them (Heimdall knows nothing of Metis)."""

    def marker(self) -> Any:
        """A value that changes whenever the tags do (compared, never interpreted)."""
        ...

    def column_tags(self) -> Mapping[str, Mapping[str, Iterable[str]]]:
        """Dataset id -> lower-case column -> tags."""
        ...


class Heimdall:
    """Access decisions for every service of the platform, logged."""

    def __init__(
        self,
        store: Store,
        home: Path,
        pdp: PolicyDecisionPoint | None = None,
        modules: Mapping[str, str] | None = None,
    ) -> None:
        self.store = store
        self.base_modules = dict(rego_modules() if modules is None else modules)
        self.extra_modules: dict[str, str] = {}
        self.extra_data: dict[str, Any] = {}
        self.pdp = pdp or PolicyDecisionPoint(modules=self.base_modules)
        self.log = DecisionLog(home / DECISION_LOG_FILE)
        self._marker: tuple[Any, ...] | None = None
        self._checked_at = 0.0
        self._frozen = False
        self._tag_sources: list[ColumnTagSource] = []
        self.reload()

    def attach_column_tags(self, source: ColumnTagSource) -> None:
        """Add ``source``'s tags to the declared and derived ones (a union: a source can
        add tags, never remove one) and follow its marker."""
        self._tag_sources.append(source)
        self.reload()

    def change_marker(self) -> tuple[Any, ...]:
        """The store's change marker and the attached tag sources' markers: what every
        component built from policies and column tags follows (the Gateway too)."""
        return (self.store.change_marker(), *(s.marker() for s in self._tag_sources))

    def attached_column_tags(self) -> dict[str, dict[str, list[str]]]:
        """The attached sources' tags only: dataset id -> lower-case column -> tags."""
        found: dict[str, dict[str, list[str]]] = {}
        for source in self._tag_sources:
            for dataset, columns in source.column_tags().items():
                known = found.setdefault(dataset, {})
                for column, tags in columns.items():
                    known[column] = list(dict.fromkeys([*known.get(column, []), *tags]))
        return found

    def close(self) -> None:
        self.log.close()

    def stored_policies(self, replacing: Iterable[str] = ()) -> list[Policy]:
        """Policies from the store and generated ones, minus those named in ``replacing``
        (about to be replaced by an apply: its policies, its depots' and secrets' owners)."""
        skip = set(replacing)
        found = [Policy.model_validate(r.manifest) for r in self.store.list(kind="policy")]
        found += [workspace_policy(w.name) for w in self.store.list_workspaces()]
        found += [
            depot_owner_policy(r.name, r.owner)
            for r in self.store.list(kind="depot")
            if r.owner and r.name not in SYSTEM_DEPOTS
        ]
        found += [
            secret_owner_policy(r.kind, r.name, r.workspace, r.owner)
            for kind in ("secret", "instance-secret")
            for r in self.store.list(kind=kind)
            if r.owner
        ]
        return [p for p in found if p.name not in skip]

    def column_tags(self) -> dict[str, dict[str, list[str]]]:
        """Column tags declared on depots (``depot.datasets``) and derived by runs from the
        columns an output column was made of (``DerivedColumnTags``), united with those of
        the attached sources (Metis' catalog): dataset id -> lower-case column -> tags,
        each tag once."""
        found: dict[str, dict[str, list[str]]] = {}
        for stored in self.store.list(kind="depot"):
            depot = resource_adapter().validate_python(stored.manifest)
            if isinstance(depot, Depot):
                found.update(depot.column_tags())
        derived = DerivedColumnTags(self.store).all()
        for extra in (derived, self.attached_column_tags()):
            for dataset, columns in extra.items():
                known = found.setdefault(dataset, {})
                for column, tags in columns.items():
                    known[column] = list(dict.fromkeys([*known.get(column, []), *tags]))
        return found

    def check(self, incoming: Sequence[Policy]) -> None:
        """Compile the policies as they would be after an apply; raises if they cannot be."""
        trino_document([*self.stored_policies(p.name for p in incoming), *incoming])

    def reload(self) -> None:
        """Recompile everything the policies read: access policies, data policies (masks
        and row filters for Trino), user tags by user id, column tags (declared on depots
        until Metis holds them)."""
        marker = self.change_marker()
        self.pdp.set_data(self._data_document())
        self._marker = marker
        self._checked_at = time.monotonic()

    def previewing(self, incoming: Sequence[Policy]) -> Heimdall:
        """A Heimdall deciding as if ``incoming`` were in force as well (an apply's policies,
        and the owner policies its depots and secrets will generate), for admission: the
        applier's right to create them was decided first. It shares the decision log, never
        follows the store, and leaves this instance's decisions untouched."""
        view = copy.copy(self)
        view.pdp = PolicyDecisionPoint(modules={**self.base_modules, **self.extra_modules})
        view.pdp.set_data(self._data_document(incoming))
        view._frozen = True
        return view

    def _data_document(self, incoming: Sequence[Policy] = ()) -> dict[str, Any]:
        """The data every decision reads: the policies in force (with ``incoming`` replacing
        those of the same names), user tags, column tags, the Trino impersonators, and the
        data written through the OPA API."""
        replaced = {p.name for p in incoming}
        identities = {u.id: u.tags for u in Identities(self.store).list_users()}
        document = trino_document(
            [*self.stored_policies(replaced), *incoming],
            identities=identities,
            column_tags=self.column_tags(),
            impersonators=gateway_principals(),
        )
        return {**self.extra_data, **document}

    def refresh(self) -> None:
        """Reload if another process changed the store (checked at most once a second)."""
        if self._frozen:
            return
        now = time.monotonic()
        if now - self._checked_at < FRESHNESS_SECONDS:
            return
        self._checked_at = now
        if self.change_marker() != self._marker:
            self.reload()

    def set_modules(self, extra: Mapping[str, str]) -> None:
        """Replace the modules added through the OPA API (the base ones always stay)."""
        self.pdp.load_policies({**self.base_modules, **extra})
        self.extra_modules = dict(extra)

    def set_extra_data(self, data: Mapping[str, Any]) -> None:
        if "heimdall" in data:
            raise ValueError("data.heimdall is compiled from policies and cannot be written")
        self.extra_data = dict(data)
        self.reload()

    def authorize(
        self,
        subject: str,
        tags: Iterable[str],
        predicate: str,
        path: str,
        object_tags: Iterable[str] = (),
        source: str = "heimdall",
    ) -> Decision:
        """Decide and log; raises PolicyEngineError (deny) when no decision can be made."""
        started = time.perf_counter()
        self.refresh()
        tag_set = frozenset(tags)
        request = AccessRequest.of(tag_set, predicate, path, object_tags, subject_id=subject)
        try:
            decision = self.pdp.decide(request)
        except PolicyEngineError as exc:
            self._record(subject, tag_set, predicate, path, exc.decision, started, source)
            raise
        self._record(subject, tag_set, predicate, path, decision, started, source)
        return decision

    def authorize_many(
        self,
        subject: str,
        tags: Iterable[str],
        requests: Sequence[tuple[str, str]],
        source: str = "heimdall",
    ) -> list[Decision]:
        """One decision per ``(predicate, path)`` for one subject, each logged; raises
        PolicyEngineError (deny) when any of them cannot be made."""
        started = time.perf_counter()
        self.refresh()
        tag_set = frozenset(tags)
        asked = [
            AccessRequest.of(tag_set, predicate, path, subject_id=subject)
            for predicate, path in requests
        ]
        try:
            decisions = self.pdp.decide_many(asked)
        except PolicyEngineError as exc:
            for request in asked:
                self._record(
                    subject,
                    tag_set,
                    request.predicate,
                    request.path or "",
                    exc.decision,
                    started,
                    source,
                )
            raise
        for request, decision in zip(asked, decisions, strict=True):
            self._record(
                subject, tag_set, request.predicate, request.path or "", decision, started, source
            )
        return decisions

    def record_evaluation(self, subject: str, path: str, value: Any, started: float) -> None:
        """Log an answer of the OPA-compatible API (``allow`` is true only for ``true``)."""
        defined = value is not UNDEFINED
        reason = f"result: {json.dumps(value)[:80]}" if defined else "result undefined"
        decision = Decision(value is True, reason, None, None)
        self._record(subject, frozenset(), "evaluate", path, decision, started, "opa-api")

    def _record(
        self,
        subject: str,
        tags: frozenset[str],
        predicate: str,
        path: str,
        decision: Decision,
        started: float,
        source: str,
    ) -> None:
        latency = (time.perf_counter() - started) * 1000
        self.log.append(
            new_record(
                subject,
                tuple(sorted(tags)),
                predicate,
                path,
                decision.allow,
                decision.policy,
                decision.reason,
                latency,
                source,
            )
        )
