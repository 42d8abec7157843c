"""Search as callers see it: a query → the hits they may read, facet counts, one page.

Ranking and matching are the backends' (``search_index``); this module applies what
depends on the caller, in an order that leaks nothing: access filtering first, then the
structured filter, facet counts and totals, so a count never includes a hit the caller
may not read. Sorting is by relevance (when there are words) or FQN, with Elasticsearch's
``search_after`` cursor (the last hit's ``sort`` values).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from dataos_defs.metis import search_docs, search_index
from dataos_defs.metis.search_index import Candidate

MAX_QUERY_CHARS = 512
MAX_SIZE = 1_000
MAX_WINDOW = 10_000
"""``from + size`` at most (Elasticsearch's ``max_result_window``)."""
MAX_BUCKETS = 25
ALL_INDEXES = ("all", "dataAsset", "*")
INDEXES: dict[str, tuple[str, ...]] = {
    "table_search_index": ("table",),
    "database_search_index": ("database",),
    "database_schema_search_index": ("databaseSchema",),
    "database_service_search_index": ("databaseService",),
    "stored_procedure_search_index": ("storedProcedure",),
    "pipeline_search_index": ("pipeline",),
    "pipeline_service_search_index": ("pipelineService",),
    "tag_search_index": ("tag",),
    "query_search_index": ("query",),
    "classification_search_index": ("classification",),
}
"""OpenMetadata's index names → the entity types they hold. Any other index (queries,
users, dashboards...) holds nothing Metis keeps: it answers no hits, not an error."""


class SearchRefused(ValueError):
    """The query is over a bound (length, size, window)."""


@dataclass(frozen=True)
class SearchRequest:
    text: str = ""
    index: str = "all"
    facets: dict[str, list[str]] = field(default_factory=dict)
    deleted: bool | None = False
    offset: int = 0
    size: int = 10
    by_fqn: bool = False
    descending: bool = False
    after: Sequence[str] = ()
    fqn_pattern: str | None = None

    def checked(self) -> SearchRequest:
        if len(self.text) > MAX_QUERY_CHARS:
            raise SearchRefused(f"a query is at most {MAX_QUERY_CHARS} characters")
        if not 0 <= self.size <= MAX_SIZE:
            raise SearchRefused(f"size is between 0 and {MAX_SIZE}")
        if self.offset < 0 or self.offset + self.size > MAX_WINDOW:
            raise SearchRefused(f"from + size is at most {MAX_WINDOW}: page with search_after")
        unknown = set(self.facets) - set(search_docs.FACETS)
        if unknown:
            raise SearchRefused(f"unknown facets {sorted(unknown)}: use {search_docs.FACETS}")
        return self


@dataclass(frozen=True)
class SearchPage:
    hits: list[Candidate]
    total: int
    facets: dict[str, list[tuple[str, int]]]
    by_score: bool


def entity_types(index: str) -> tuple[str, ...] | None:
    if index in ALL_INDEXES:
        return None
    return INDEXES.get(index, ())


Visible = Callable[[list[Candidate]], list[Candidate]]
"""The candidates the caller may read, in order."""


def search(engine: Engine, request: SearchRequest, visible: Visible) -> SearchPage:
    request = request.checked()
    words = search_docs.terms(request.text)
    types = entity_types(request.index)
    if types == ():
        return SearchPage([], 0, {}, bool(words))
    with engine.connect() as conn:
        found = search_index.candidates(
            conn,
            words,
            types,
            request.facets,
            deleted=request.deleted,
            fqn_pattern=request.fqn_pattern,
        )
    return page(visible(found), request, by_score=bool(words) and not request.by_fqn)


def page(hits: list[Candidate], request: SearchRequest, *, by_score: bool) -> SearchPage:
    """Facet counts and total over every visible hit, then the requested page of them."""
    facets = counts(hits)
    ordered = sorted(hits, key=lambda hit: sort_key(hit, by_score))
    if request.descending and not by_score:
        ordered.reverse()
    if request.after:
        ordered = _after(ordered, request.after, by_score, request.descending)
    window = ordered[request.offset : request.offset + request.size]
    return SearchPage(window, len(hits), facets, by_score)


def sort_key(hit: Candidate, by_score: bool) -> tuple[Any, ...]:
    return (-hit.score, hit.fqn) if by_score else (hit.fqn,)


def sort_values(hit: Candidate, by_score: bool) -> list[str]:
    return [repr(hit.score), hit.fqn] if by_score else [hit.fqn]


def _after(
    ordered: list[Candidate], after: Sequence[str], by_score: bool, descending: bool
) -> list[Candidate]:
    try:
        cursor: tuple[Any, ...] = (-float(after[0]), after[1]) if by_score else (after[0],)
    except (ValueError, IndexError):
        raise SearchRefused("search_after is not a sort value of a previous hit") from None
    if by_score or not descending:
        return [hit for hit in ordered if sort_key(hit, by_score) > cursor]
    return [hit for hit in ordered if sort_key(hit, by_score) < cursor]


def counts(hits: list[Candidate]) -> dict[str, list[tuple[str, int]]]:
    """Per facet, the most frequent values among ``hits`` (at most :data:`MAX_BUCKETS`)."""
    tally: dict[str, Counter[str]] = {facet: Counter() for facet in search_docs.FACETS}
    for hit in hits:
        for facet, values in hit.facets.items():
            tally[facet].update(set(values))
    return {
        facet: sorted(counter.items(), key=lambda item: (-item[1], item[0]))[:MAX_BUCKETS]
        for facet, counter in tally.items()
    }
