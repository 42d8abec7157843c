"""Heimdall in front of the catalog (object names: ``dataos_defs.metis.access``).

Reading an entity needs ``read`` on its object and, for a table of a depot's service,
``read`` on the dataset; an entity the caller may not read is answered 404, exactly as one
that does not exist. Writing needs ``create`` (new entity), ``update`` (existing one, its
lineage, its runs) or ``delete``, answered 403 when refused; a PUT over an existing entity
answers it, so it also needs ``read`` on its catalog object, not on its dataset (the
scanner rewrites a depot's tables without any right to their data). No decision is a
denial.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from fastapi import Request

from dataos_defs.api.authz import authorize, may, visible
from dataos_defs.api.identity import Identity
from dataos_defs.metis import connections, fqn, runs
from dataos_defs.metis.access import (
    SCANNER_USER_ID,
    dataset_object,
    entity_object,
    secrets_object,
)
from dataos_defs.metis.catalog import Catalog
from dataos_defs.metis.entities import ENTITY_MODELS
from dataos_defs.metis.records import StoredEntity
from dataos_defs.poros.store import Store

Item = TypeVar("Item")
Named = Callable[[Any], tuple[str, str]]
"""An item → its ``(entity type, FQN)``."""


class Gate:
    def __init__(self, request: Request, identity: Identity, catalog: Catalog) -> None:
        self.request = request
        self.identity = identity
        self.catalog = catalog
        self._depots: frozenset[str] | None = None

    @property
    def actor(self) -> str:
        return self.identity.user_id

    def depots(self) -> frozenset[str]:
        """Names of the live depots (a service named after one holds its datasets)."""
        if self._depots is None:
            store: Store = self.request.app.state.store
            self._depots = frozenset(r.name for r in store.list(kind="depot"))
        return self._depots

    def dataset(self, entity_type: str, entity_fqn: str) -> str | None:
        return dataset_object(entity_type, fqn.split(entity_fqn), self.depots())

    def may_read_entry(self, entity_type: str, entity_fqn: str) -> bool:
        """``read`` on the entity's catalog object only. Enough for whoever may also
        ``update`` it (the scanner re-writing a depot's tables needs no read on their
        data): an identity allowed to rewrite an entry is trusted with its metadata."""
        return may(self.request, self.identity, "read", entity_object(entity_type, entity_fqn))

    def may_read(self, entity_type: str, entity_fqn: str) -> bool:
        if not self.may_read_entry(entity_type, entity_fqn):
            return False
        dataset = self.dataset(entity_type, entity_fqn)
        return dataset is None or may(self.request, self.identity, "read", dataset)

    def readable(self, items: Sequence[Item], named: Named) -> list[Item]:
        """The items the caller may read, in order (each list logged as one decision)."""
        if not items:
            return []

        def target(item: Any) -> tuple[str, tuple[str, ...]]:
            return entity_object(*named(item)), ()

        shown = visible(self.request, self.identity, "read", items, target)
        datasets = {id(item): self.dataset(*named(item)) for item in shown}
        governed = [item for item in shown if datasets[id(item)] is not None]
        if not governed:
            return shown
        allowed = visible(
            self.request, self.identity, "read", governed, lambda i: (datasets[id(i)] or "", ())
        )
        kept = {id(item) for item in allowed}
        return [item for item in shown if datasets[id(item)] is None or id(item) in kept]

    def require(self, predicate: str, entity_type: str, entity_fqn: str) -> None:
        authorize(self.request, self.identity, predicate, entity_object(entity_type, entity_fqn))

    def sees_secrets(self, stored: StoredEntity) -> bool:
        """Only the scanner's identity, and only while policies let it read them."""
        if self.identity.user_id != SCANNER_USER_ID:
            return False
        path = secrets_object(stored.entity_type, stored.fqn)
        return may(self.request, self.identity, "read", path)

    def answer(self, stored: StoredEntity, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """The entity as this caller sees it, checked against its model (exact fields)."""
        body = {**stored.body, **(extra or {})}
        if stored.entity_type == "pipeline":
            body["pipelineStatus"] = runs.latest(self.catalog.engine, stored.id)
        connection = body.get("connection")
        if isinstance(connection, dict) and stored.secret_token and self.sees_secrets(stored):
            body["connection"] = connections.reveal(connection, self.catalog.secrets(stored))
        model = ENTITY_MODELS[stored.entity_type].model_validate(body)
        return model.model_dump(mode="json", exclude_none=True)
