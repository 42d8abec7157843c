"""A real platform for monitor tests: the Poros store (SQLite or PostgreSQL), Heimdall with
the system policies, identities, the incidents' tables, and a clock the tests move."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dataos_defs.heimdall.service import Heimdall
from dataos_defs.manifest.loader import parse_yaml
from dataos_defs.manifest.validate import parse_documents
from dataos_defs.monitor.equation import Queries
from dataos_defs.monitor.evaluate import Evaluation, Platform, evaluate_monitor
from dataos_defs.monitor.incidents import Incidents
from dataos_defs.monitor.report import RunView
from dataos_defs.poros.apply import apply_resources
from dataos_defs.poros.identities import Identities
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store

START_MS = 1_765_000_000_000


@dataclass
class Clock:
    now: int = START_MS

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * 1000)


@dataclass
class World:
    home: Path
    store: Store
    identities: Identities
    heimdall: Heimdall
    incidents: Incidents
    clock: Clock
    dispatched: list[tuple[dict[str, Any], list[str]]] = field(default_factory=list)

    def apply(self, text: str, actor: str, workspace: str | None = None) -> None:
        documents, issues = parse_yaml(text, "test.yaml")
        assert not issues, issues
        apply_resources(self.store, parse_documents(documents), workspace, actor)

    def user(self, user_id: str, *tags: str) -> None:
        self.identities.create_user(user_id, "person", tags=list(tags))

    def dispatch(self, incident: Any, pagers: Any) -> None:
        self.dispatched.append((dict(incident), [pager.name for _, pager in pagers]))

    def evaluate(
        self,
        name: str,
        workspace: str = "public",
        runs: RunView | None = None,
        queries: Queries | None = None,
    ) -> Evaluation:
        stored = self.store.get("monitor", name, workspace)
        assert stored is not None
        platform = Platform(
            self.store,
            self.incidents,
            self.identities,
            self.heimdall,
            queries=queries,
            runs=runs,
            dispatcher=self.dispatch,
        )
        return evaluate_monitor(platform, stored)


@pytest.fixture
def world(tmp_path: Path, store_url: str) -> Iterator[World]:
    store = Store.open(settings=Settings(home=tmp_path, database_url=store_url))
    heimdall = Heimdall(store, tmp_path)
    clock = Clock()
    try:
        yield World(
            tmp_path, store, Identities(store), heimdall, Incidents.open(store.engine, clock), clock
        )
    finally:
        heimdall.close()
        store.close()
