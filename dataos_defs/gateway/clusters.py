"""The clusters the Gateway serves, as the Poros store describes them.

Each ``minerva`` cluster becomes an engine: the embedded DuckDB engine, or a Trino endpoint
when ``DATAOS_MINERVA_<CLUSTER>_URL`` names one (minerva/settings.py). Engines are kept
across store changes unless the cluster's manifest or one of its depots changed, so loaded
tables and views survive unrelated applies; a replaced engine is closed after a grace
period, so queries already running on it can finish. The data policies and the column
tags (declared on depots, derived by runs, set in Metis) are rebuilt on every change;
every engine reads tags through one :class:`LiveColumnTags`, so a change of tags alone
(a run recording what its output inherits) reaches the next query without a new engine.

On a Trino endpoint the Gateway governs exactly as on the embedded engine: it analyses
every statement, authorizes every dataset, refuses what it cannot govern and sends the
statement with every dataset rewritten into a masked, filtered subquery, the masks being
the Trino SQL ``policies/trino`` gives Trino's OPA plugin (``trino_masks.py``; proved
equivalent in tests/gateway/test_trino_rewrite_equivalence.py). Governance therefore does
not depend on the plugin. Where the plugin is configured too, it still decides the
caller's access (the statement runs as the caller, impersonated by the Gateway's
principal), and it skips the masks and row filters of a statement whose authenticated
principal is one of the Gateway's (``context.identity.principal`` in the plugin's input,
``trino_data_policies.rego``): they are in the statement already, and applying them again
would hash a hash. Any other client of that Trino is masked and filtered by the plugin.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from dataos_defs.gateway.model import Catalog, Governance, Table, TableName
from dataos_defs.gateway.pages import Rows
from dataos_defs.gateway.policies import DataPolicies
from dataos_defs.manifest.cluster import Cluster
from dataos_defs.manifest.depot import Depot
from dataos_defs.manifest.policy import Policy
from dataos_defs.manifest.registry import resource_adapter
from dataos_defs.minerva.duck import PRIVATE_SCHEMA
from dataos_defs.minerva.embedded import EmbeddedCluster
from dataos_defs.minerva.result import RegisterInterrupt
from dataos_defs.minerva.routing import RoutingError, route
from dataos_defs.minerva.settings import default_cluster, trino_endpoint
from dataos_defs.minerva.tags import LiveColumnTags, ManifestColumnTags, merged_column_tags
from dataos_defs.minerva.trino_cluster import TrinoCluster
from dataos_defs.poros.column_tags import DerivedColumnTags
from dataos_defs.poros.depots import StoreDepots
from dataos_defs.poros.records import StoredResource
from dataos_defs.poros.store import Store

__all__ = ["ClusterSet", "Engine", "RoutingError"]
RETIRE_AFTER_SECONDS = 120.0
_PHYSICAL = re.compile(r'"' + PRIVATE_SCHEMA + r'"\."((?:[^"]|"")+)"')


class ClusterEngine(Catalog, Protocol):
    name: str
    dialect: str

    def execute(
        self,
        sql: str,
        reads: Iterable[TableName] = (),
        user: str | None = None,
        *,
        register_interrupt: RegisterInterrupt | None = None,
    ) -> Rows: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Engine:
    """A routed cluster: where the statement runs, in which dialect, and how it is governed."""

    name: str
    generation: int
    cluster: ClusterEngine

    @property
    def dialect(self) -> str:
        return self.cluster.dialect

    @property
    def catalog(self) -> Catalog:
        return self.cluster

    def execute(
        self,
        sql: str,
        reads: Iterable[TableName],
        user: str,
        register_interrupt: RegisterInterrupt | None = None,
    ) -> Rows:
        """Run the governed statement (masked and filtered by the Gateway) as ``user``;
        only the datasets it was found to read are loaded. A Trino endpoint runs it as
        ``user`` (impersonated), so its access control decides that user's access, never
        the Gateway's service account's. ``register_interrupt`` is handed the function that
        stops the statement on the engine, as soon as there is one (a cancel)."""
        return self.cluster.execute(sql, reads, user, register_interrupt=register_interrupt)

    def describe_error(self, exc: Exception) -> str:
        """The engine's message with internal table names shown as dataset ids."""
        text = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        return _PHYSICAL.sub(lambda m: m.group(1).replace('""', '"'), text)


def _models(store: Store, kind: str) -> list[tuple[StoredResource, Any]]:
    adapter = resource_adapter()
    return [(r, adapter.validate_python(r.manifest)) for r in store.list(kind=kind)]


class ClusterSet:
    def __init__(self, store: Store, home: Path) -> None:
        self.store = store
        self.home = home
        self.policies = DataPolicies([])
        self._clusters: list[Cluster] = []
        self._workspaces: dict[str, str | None] = {}
        self._depots: dict[str, Depot] = {}
        self._engines: dict[str, tuple[tuple[Any, ...], Engine]] = {}
        self._tags = LiveColumnTags()
        self._generation = 0
        self._lock = threading.Lock()

    def reload(self, catalog_tags: Mapping[str, Mapping[str, Iterable[str]]] | None = None) -> None:
        """Read clusters, depots and policies again; rebuild what changed. ``catalog_tags``
        (Metis', by dataset id and column) add to the declared and derived ones."""
        stored_clusters = _models(self.store, "cluster")
        clusters = [model for _, model in stored_clusters]
        depots = _models(self.store, "depot")
        revisions = {stored.name: stored.revision for stored, _ in depots}
        declared = [d for _, d in depots if isinstance(d, Depot)]
        derived = merged_column_tags(DerivedColumnTags(self.store).all(), catalog_tags or {})
        tags = ManifestColumnTags(declared, derived)
        policies = [p for _, p in _models(self.store, "policy") if isinstance(p, Policy)]
        with self._lock:
            self.policies = DataPolicies(policies)
            self._tags.replace(tags)
            self._clusters = [c for c in clusters if isinstance(c, Cluster)]
            self._workspaces = {model.name: stored.workspace for stored, model in stored_clusters}
            self._depots = {d.name: d for _, d in depots if isinstance(d, Depot)}
            keep: dict[str, tuple[tuple[Any, ...], Engine]] = {}
            for cluster in self._clusters:
                key = _engine_key(cluster, revisions)
                current = self._engines.get(cluster.name)
                if current is not None and current[0] == key:
                    keep[cluster.name] = current
                    continue
                self._generation += 1
                keep[cluster.name] = (key, self._build(cluster))
            retired = [
                engine
                for name, (_, engine) in self._engines.items()
                if name not in keep or keep[name][1] is not engine
            ]
            self._engines = keep
        for engine in retired:
            _retire(engine.cluster.close)

    def route(
        self, *, user_id: str, user_tags: tuple[str, ...], source: str | None, requested: str | None
    ) -> Engine:
        """The engine of the cluster routing picks (minerva/routing.py), the default cluster
        read from the environment at each query, as an operator sets it."""
        fallback = default_cluster()
        with self._lock:
            chosen = route(
                self._clusters,
                user_id=user_id,
                user_tags=user_tags,
                source=source,
                requested=requested,
                default=fallback,
            )
            return self._engines[chosen.name][1]

    def described(self) -> list[tuple[Cluster, str | None, str]]:
        """Every cluster with its workspace and engine (``embedded`` or ``trino``)."""
        with self._lock:
            return [
                (
                    cluster,
                    self._workspaces.get(cluster.name),
                    self._engines[cluster.name][1].dialect,
                )
                for cluster in self._clusters
                if cluster.name in self._engines
            ]

    def depots(self) -> dict[str, Depot]:
        with self._lock:
            return dict(self._depots)

    def governance(self, table: Table, user_tags: tuple[str, ...]) -> Governance:
        return self.policies.governance(table, user_tags)

    def forget_checks(self) -> None:
        """Every engine that caches what a dataset looks like (the embedded lakehouse views)
        reads it again on next use; engines without such a cache have no ``forget_checks``."""
        with self._lock:
            engines = [engine for _, engine in self._engines.values()]
        for engine in engines:
            forget = getattr(engine.cluster, "forget_checks", None)
            if forget is not None:
                forget()

    def close(self) -> None:
        with self._lock:
            engines = [engine for _, engine in self._engines.values()]
            self._engines.clear()
        for engine in engines:
            engine.cluster.close()

    def _build(self, cluster: Cluster) -> Engine:
        endpoint = trino_endpoint(cluster.name)
        built: ClusterEngine
        if endpoint is not None:
            url, password = endpoint
            built = TrinoCluster(cluster, url, password=password, tags=self._tags)
        else:
            built = EmbeddedCluster(cluster, StoreDepots(self.store), self.home, tags=self._tags)
        return Engine(cluster.name, self._generation, built)


def _engine_key(cluster: Cluster, revisions: dict[str, int]) -> tuple[Any, ...]:
    attached = sorted({udl.depot for udl, _ in cluster.depot_addresses()})
    return (
        cluster.model_dump_json(),
        tuple((name, revisions.get(name)) for name in attached),
        trino_endpoint(cluster.name),
    )


def _retire(close: Callable[[], None]) -> None:
    timer = threading.Timer(RETIRE_AFTER_SECONDS, close)
    timer.daemon = True
    timer.start()
