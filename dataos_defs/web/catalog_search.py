"""The catalog search page's content: the Metis search service with the viewer's visibility.

Exactly what ``GET /metis/api/v1/search/query`` does for the same caller: the backend's
candidates are filtered by Metis' gate (``Gate.readable``: ``read`` on the entity and, for a
depot's table, on its dataset) *before* totals and facet counts are made, so the viewer
never learns how many datasets they may not read match. The page size and the number of
pages are bounded; facets are the search service's (``type``, ``service`` — a depot —,
``schema``, ``tag``, ``owner``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dataos_defs.api.metis.gate import Gate
from dataos_defs.metis import search
from dataos_defs.metis.search_docs import FACETS
from dataos_defs.metis.search_index import Candidate

PAGE_SIZE = 20
MAX_PAGE = 50
MAX_FACET_VALUES = 10
FACET_LABELS = {
    "service": "Depot",
    "schema": "Collection",
    "type": "Type",
    "tag": "Tag",
    "owner": "Owner",
}
FACET_ORDER = ("service", "schema", "tag", "owner", "type")


@dataclass(frozen=True)
class Hit:
    fqn: str
    name: str
    entity_type: str
    description: str
    tags: list[str]


@dataclass(frozen=True)
class Bucket:
    value: str
    count: int
    selected: bool


@dataclass(frozen=True)
class Facet:
    name: str
    label: str
    buckets: list[Bucket]


@dataclass(frozen=True)
class SearchView:
    text: str
    chosen: dict[str, list[str]]
    hits: list[Hit]
    total: int
    page: int
    pages: int
    facets: list[Facet] = field(default_factory=list)
    error: str | None = None


def chosen_facets(values: list[str]) -> dict[str, list[str]]:
    """``name:value`` pairs (unknown facets and empty values ignored, at most 50 pairs)."""
    chosen: dict[str, list[str]] = {}
    for value in values[:50]:
        name, sep, wanted = value.partition(":")
        if sep and wanted and name in FACETS and wanted not in chosen.get(name, []):
            chosen.setdefault(name, []).append(wanted[: search.MAX_QUERY_CHARS])
    return chosen


def search_view(gate: Gate, text: str, chosen: dict[str, list[str]], page: int) -> SearchView:
    page = max(1, min(page, MAX_PAGE))
    wanted = search.SearchRequest(
        text=text[: search.MAX_QUERY_CHARS],
        facets=chosen,
        offset=(page - 1) * PAGE_SIZE,
        size=PAGE_SIZE,
    )

    def visible(found: list[Candidate]) -> list[Candidate]:
        return gate.readable(found, lambda hit: (hit.entity_type, hit.fqn))

    try:
        found = search.search(gate.catalog.engine, wanted, visible)
    except search.SearchRefused as exc:
        return SearchView(text, chosen, [], 0, page, 0, error=str(exc))
    bodies = gate.catalog.get_many(hit.entity_id for hit in found.hits)
    hits = [_hit(gate, bodies[h.entity_id]) for h in found.hits if h.entity_id in bodies]
    pages = min(MAX_PAGE, -(-found.total // PAGE_SIZE))
    facets = [
        Facet(
            name,
            FACET_LABELS[name],
            [
                Bucket(value, count, value in chosen.get(name, []))
                for value, count in found.facets.get(name, [])[:MAX_FACET_VALUES]
            ],
        )
        for name in FACET_ORDER
    ]
    return SearchView(text, chosen, hits, found.total, page, pages, facets)


def _hit(gate: Gate, stored: Any) -> Hit:
    body = gate.answer(stored)
    tags = [str(tag.get("tagFQN")) for tag in body.get("tags") or []]
    for column in body.get("columns") or []:
        tags += [str(tag.get("tagFQN")) for tag in column.get("tags") or []]
    return Hit(
        fqn=stored.fqn,
        name=str(body.get("displayName") or body.get("name")),
        entity_type=stored.entity_type,
        description=str(body.get("description") or ""),
        tags=sorted(set(tags)),
    )
