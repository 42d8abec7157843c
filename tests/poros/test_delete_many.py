"""Deleting a set of Resources in one transaction (``dataos-ctl delete -f``)."""

from __future__ import annotations

import pytest
from poros_helpers import counts, item

from dataos_defs.poros.errors import DependentsExist, InvalidRequest, ResourceNotFound
from dataos_defs.poros.records import ResourceKey
from dataos_defs.poros.store import Store

SECRET = ResourceKey("instance-secret", "creds")
DEPOT = ResourceKey("depot", "lake")
FLOW = ResourceKey("workflow", "copy", "public")
OTHER = ResourceKey("workflow", "other", "public")


@pytest.fixture
def chain(store: Store) -> Store:
    """A workflow using a depot using a secret."""
    store.apply(
        [
            item("instance-secret", "creds"),
            item("depot", "lake", references=[SECRET]),
            item("workflow", "copy", "public", references=[DEPOT]),
        ],
        "tester",
    )
    return store


def test_the_set_goes_dependents_first_in_one_transaction(chain: Store) -> None:
    deleted = chain.delete_many([SECRET, DEPOT, FLOW], "tester")
    assert deleted == [FLOW, DEPOT, SECRET]
    assert chain.list() == []
    assert [r.action for r in chain.history("depot", "lake")] == ["created", "deleted"]


def test_a_dependent_outside_the_set_refuses_the_whole_set_unless_forced(chain: Store) -> None:
    chain.apply([item("workflow", "other", "public", references=[DEPOT])], "tester")
    before = counts(chain)
    with pytest.raises(DependentsExist) as refused:
        chain.delete_many([SECRET, DEPOT, FLOW], "tester")
    assert refused.value.dependents == [OTHER]
    assert counts(chain) == before
    assert len(chain.list()) == 4

    assert chain.delete_many([DEPOT, SECRET], "tester", force=True) == [DEPOT, SECRET]
    assert {r.key for r in chain.list()} == {FLOW, OTHER}


def test_a_missing_or_repeated_resource_deletes_nothing(chain: Store) -> None:
    before = counts(chain)
    with pytest.raises(ResourceNotFound):
        chain.delete_many([FLOW, ResourceKey("depot", "nowhere")], "tester")
    with pytest.raises(InvalidRequest):
        chain.delete_many([FLOW, FLOW], "tester")
    assert counts(chain) == before
    assert len(chain.list()) == 3
