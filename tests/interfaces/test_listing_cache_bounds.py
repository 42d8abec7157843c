"""The listing cache's bounds: entries expire, the least recently used go first, a list the
policy engine could not fully decide is never kept, and runtimes are filled in per request."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from dataos_defs.api.listing_cache import Listing, ListingCache
from dataos_defs.poros.records import StoredResource

AT = datetime(2026, 1, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def resource(name: str, kind: str = "workflow") -> StoredResource:
    return StoredResource(
        kind=kind,
        name=name,
        workspace="public",
        version="v1",
        status="active",
        status_reason=None,
        owner="ops",
        revision=1,
        manifest={},
        created_at=AT,
        updated_at=AT,
        deleted_at=None,
        run_as=None,
    )


def listing(*names: str, undecided: int = 0) -> Listing:
    resources = tuple(resource(n) for n in names)
    fragments = tuple(json.dumps({"name": n}).encode() for n in names)
    return Listing(resources, fragments, len(names) + 1, undecided)


def test_an_entry_expires_after_its_max_age() -> None:
    clock = Clock()
    cache = ListingCache(max_age=5.0, clock=clock)
    kept = listing("a")
    cache.put("key", kept)
    clock.now += 5.0
    assert cache.get("key") is kept
    clock.now += 0.1
    assert cache.get("key") is None
    assert len(cache) == 0


def test_the_least_recently_used_goes_first() -> None:
    cache = ListingCache(size=2)
    cache.put("one", listing("a"))
    cache.put("two", listing("b"))
    assert cache.get("one") is not None
    cache.put("three", listing("c"))
    assert cache.get("two") is None
    assert cache.get("one") is not None and cache.get("three") is not None


def test_a_list_with_undecided_items_is_not_kept() -> None:
    cache = ListingCache()
    cache.put("key", listing("a", undecided=1))
    assert cache.get("key") is None


def test_the_body_fills_in_runtimes_of_this_request() -> None:
    cached = listing("a", "b")
    plain = json.loads(cached.body({}, lambda r, rt: b"unused"))
    assert plain == {"items": [{"name": "a"}, {"name": "b"}]}

    def render(item: StoredResource, runtime: str) -> bytes:
        return json.dumps({"name": item.name, "runtime": runtime}).encode()

    filled = json.loads(cached.body({("b", "public"): "running"}, render))
    assert filled == {"items": [{"name": "a"}, {"name": "b", "runtime": "running"}]}
    assert json.loads(cached.body({}, render)) == plain
