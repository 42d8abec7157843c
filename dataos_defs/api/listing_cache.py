"""Filtered lists of Resources, serialised once and kept while nothing they depend on changes.

Listing every Resource used to cost one ORM row and one JSON-decoded manifest per stored
Resource, one decision per item and one pydantic model per visible item on every request.
An answer depends only on who asks (user id and tags), the filters, the store's Resources
(:meth:`Store.listing_marker`) and Heimdall's policies and data (its decision point's
``generation``, bumped by every reload). The key holds all of them, so a changed policy,
tag or Resource is a new key and the next request is decided afresh; entries also expire
after :data:`MAX_AGE_SECONDS`, bounding what a marker could miss. A list that the engine
could not fully decide is never kept: it is decided again on the next request.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass

from fastapi import FastAPI

from dataos_defs.poros.records import StoredResource

MAX_ENTRIES = 64
MAX_AGE_SECONDS = 5.0


@dataclass(frozen=True)
class Listing:
    """The visible Resources of a list, each with its JSON (without runtime), and how many
    items were decided (``listed``) and left undecided by an engine error."""

    resources: tuple[StoredResource, ...]
    fragments: tuple[bytes, ...]
    listed: int
    undecided: int

    def body(
        self,
        runtimes: Mapping[tuple[str, str | None], str],
        render: Callable[[StoredResource, str], bytes],
    ) -> bytes:
        """The JSON answer ``{"items": [...]}``; items with a runtime are rendered again."""
        parts = list(self.fragments)
        if runtimes:
            for index, resource in enumerate(self.resources):
                runtime = runtimes.get((resource.name, resource.workspace))
                if runtime is not None:
                    parts[index] = render(resource, runtime)
        return b'{"items":[' + b",".join(parts) + b"]}"


class ListingCache:
    """Thread-safe, bounded (least recently used goes first) and short-lived."""

    def __init__(
        self,
        size: int = MAX_ENTRIES,
        max_age: float = MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.size = size
        self.max_age = max_age
        self.clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, Listing]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Listing | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            if self.clock() - found[0] > self.max_age:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return found[1]

    def put(self, key: Hashable, listing: Listing) -> None:
        """Keep ``listing`` unless part of it is undecided."""
        if listing.undecided:
            return
        with self._lock:
            self._entries[key] = (self.clock(), listing)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


_CREATING = threading.Lock()


def listing_cache(app: FastAPI) -> ListingCache:
    """The application's cache, made on first use."""
    cache = getattr(app.state, "resource_listings", None)
    if cache is None:
        with _CREATING:
            cache = getattr(app.state, "resource_listings", None)
            if cache is None:
                cache = app.state.resource_listings = ListingCache()
    assert isinstance(cache, ListingCache)
    return cache
