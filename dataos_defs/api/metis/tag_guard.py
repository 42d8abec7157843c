"""The tag rule (``dataos_defs.metis.tag_rules``) in front of every catalog write.

Routes pass :func:`guard_of` to the catalog's writes; the catalog calls it inside the
write's transaction with the entity's body before and after, so what is checked is what
is written. The policies and depots it needs are read once per request, before any
transaction (a bulk of 100 tables reads them once).
"""

from __future__ import annotations

from typing import Any

from dataos_defs.api.authz import may
from dataos_defs.api.errors import ApiError
from dataos_defs.api.metis.gate import Gate
from dataos_defs.manifest.depot import Depot
from dataos_defs.manifest.policy import Policy
from dataos_defs.manifest.registry import resource_adapter
from dataos_defs.metis import tag_rules
from dataos_defs.metis.catalog import Guard
from dataos_defs.poros.store import Store

GUARDED = frozenset({"table", *tag_rules.TAG_ENTITIES})


def guard_of(gate: Gate) -> Guard:
    """The guard of the caller's writes (one per request)."""
    cached = getattr(gate.request.state, "metis_tag_guard", None)
    if cached is not None:
        found: Guard = cached
        return found
    store: Store = gate.request.app.state.store
    policies = [Policy.model_validate(r.manifest) for r in store.list(kind="policy")]
    rules = tag_rules.governed(policies)
    adapter = resource_adapter()
    depots = [
        model
        for model in (adapter.validate_python(r.manifest) for r in store.list(kind="depot"))
        if isinstance(model, Depot)
    ]

    def may_tag(target: str) -> bool:
        return may(gate.request, gate.identity, tag_rules.TAG_PREDICATE, target)

    def guard(
        entity_type: str,
        entity_fqn: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None:
        if entity_type not in GUARDED:
            return
        found = tag_rules.change(entity_type, entity_fqn, before, after, rules)
        if not found:
            return
        dataset = tag_rules.dataset_of_table(entity_type, entity_fqn)
        refused = tag_rules.refusal(
            entity_type,
            entity_fqn,
            found,
            actor=gate.actor,
            may_tag=may_tag,
            declared=tag_rules.declared_pairs(depots, dataset),
            erased=after is None,
        )
        if refused is not None:
            code = "conflict" if refused.status == 409 else "forbidden"
            raise ApiError(refused.status, code, refused.message, refused.hint)

    gate.request.state.metis_tag_guard = guard
    return guard
