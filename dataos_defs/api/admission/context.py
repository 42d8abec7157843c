"""What every admission check sees: the applier, the set being applied, Heimdall and the store.

Admission runs after the manifests are valid and the applier may create or update each of
them, and before anything is written (like a Kubernetes admission controller inside the API
server). A check returns positioned issues; all of them are collected and the apply is
refused as a whole (422) with every issue, or 503 when Heimdall cannot decide (fail closed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dataos_defs.heimdall.pdp import Decision
from dataos_defs.heimdall.service import Heimdall
from dataos_defs.manifest.errors import Issue
from dataos_defs.manifest.validate import ParsedResource
from dataos_defs.poros.identities import Identities
from dataos_defs.poros.identity_records import User
from dataos_defs.poros.records import ResourceKey
from dataos_defs.poros.store import Store

ADMISSION_SOURCE = "admission"
"""The ``source`` of every decision admission records in the decision log."""


@dataclass(frozen=True)
class Subject:
    """An identity a decision is asked for: the applier, or the identity a run acts as."""

    user_id: str
    tags: tuple[str, ...]


@dataclass
class Admission:
    """One apply under admission. ``decide`` raises ``PolicyEngineError`` when Heimdall has
    no answer; the caller turns that into 503 and nothing is applied."""

    heimdall: Heimdall
    store: Store
    identities: Identities
    applier: Subject
    home: Path
    workspace: str | None
    parsed: Sequence[ParsedResource]
    keys: dict[int, ResourceKey] = field(default_factory=dict)
    users: dict[str, User | None] = field(default_factory=dict)
    """Users looked up during this admission (each is read once per apply)."""

    def key(self, resource: ParsedResource) -> ResourceKey:
        found = self.keys.get(id(resource))
        if found is None:
            found = ResourceKey(resource.kind, resource.name, resource.workspace(self.workspace))
            self.keys[id(resource)] = found
        return found

    def user(self, user_id: str) -> User | None:
        """The live user ``user_id`` (None when there is none), read once per apply."""
        if user_id not in self.users:
            self.users[user_id] = self.identities.get_user(user_id)
        return self.users[user_id]

    def decide(self, subject: Subject, predicate: str, path: str) -> Decision:
        return self.heimdall.authorize(
            subject.user_id, subject.tags, predicate, path, source=ADMISSION_SOURCE
        )

    def decide_many(self, subject: Subject, requests: Sequence[tuple[str, str]]) -> list[Decision]:
        """One decision per ``(predicate, path)``, asked in one batch for ``subject``."""
        return self.heimdall.authorize_many(
            subject.user_id, subject.tags, requests, source=ADMISSION_SOURCE
        )

    def applier_may(self, predicate: str, path: str) -> Decision:
        return self.decide(self.applier, predicate, path)

    def in_set(self, kind: str) -> Iterable[ParsedResource]:
        """The Resources of one type in the set being applied."""
        return (r for r in self.parsed if r.kind == kind)


Check = Callable[[Admission, ParsedResource], list[Issue]]
"""One admission rule: the issues of one Resource of the set (empty when admitted)."""
