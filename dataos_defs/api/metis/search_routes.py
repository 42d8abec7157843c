"""Search over HTTP, in Elasticsearch's answer shape (what the OpenMetadata client reads):
``GET /search/query`` (words, ``index``, ``query_filter``, facets, ``sort_field``,
``search_after``, ``from``/``size``) and ``GET /search/fieldQuery`` (one field against a
value with ``*`` wildcards; the ingestion finds tables by FQN with it).

A hit is shown only if the caller may read its entity (and its dataset); ``query_filter``
is evaluated over the entity as this caller is answered (source secrets redacted), so no
filter can probe a value the caller may not read; totals and facet counts cover only
visible hits. Bounds: see ``dataos_defs.metis.search`` and ``search_filter``.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from dataos_defs.api.metis.entity_routes import GateDep
from dataos_defs.api.metis.errors import MetisRoute, bad_request
from dataos_defs.api.metis.gate import Gate
from dataos_defs.metis import search, search_filter
from dataos_defs.metis.search_index import Candidate

MAX_FILTER_CHARS = 64 * 1024
FQN_FIELDS = ("fullyQualifiedName", "fullyQualifiedName.keyword", "fqn")

router = APIRouter(route_class=MetisRoute)
Texts = Annotated[list[str], Query()]


@router.get("/search/query", name="search")
async def query(
    gate: GateDep,
    q: Annotated[str, Query(max_length=search.MAX_QUERY_CHARS)] = "",
    index: str = "all",
    from_: Annotated[int, Query(alias="from", ge=0)] = 0,
    size: Annotated[int, Query(ge=0, le=search.MAX_SIZE)] = 10,
    deleted: bool | None = None,
    query_filter: Annotated[str | None, Query(max_length=MAX_FILTER_CHARS)] = None,
    sort_field: str | None = None,
    sort_order: Literal["asc", "desc"] = "asc",
    search_after: Texts = [],  # noqa: B006 (FastAPI reads the default, never mutates it)
    include_source_fields: Texts = [],  # noqa: B006
    facet: Texts = [],  # noqa: B006
) -> dict[str, Any]:
    wanted = search.SearchRequest(
        text="" if q == "*" else q,
        index=index,
        facets=_facets(facet),
        deleted=deleted,
        offset=from_,
        size=size,
        by_fqn=sort_field not in (None, "_score"),
        descending=sort_order == "desc",
        after=tuple(search_after),
    )
    compiled = _filter(query_filter)
    return await run_in_threadpool(_run, gate, wanted, compiled, include_source_fields)


@router.get("/search/fieldQuery", name="search one field")
async def field_query(
    gate: GateDep,
    fieldName: Annotated[str, Query(min_length=1, max_length=256)],
    fieldValue: Annotated[str, Query(max_length=4096)],
    index: str = "all",
    from_: Annotated[int, Query(alias="from", ge=0)] = 0,
    size: Annotated[int, Query(ge=0, le=search.MAX_SIZE)] = 10,
    deleted: bool | None = None,
) -> dict[str, Any]:
    by_fqn = fieldName in FQN_FIELDS
    wanted = search.SearchRequest(
        index=index,
        deleted=deleted,
        offset=from_,
        size=size,
        by_fqn=True,
        fqn_pattern=fieldValue if by_fqn else None,
    )
    compiled = None if by_fqn else {"wildcard": {fieldName: {"value": fieldValue}}}
    return await run_in_threadpool(_run, gate, wanted, compiled, [])


def _facets(values: list[str]) -> dict[str, list[str]]:
    facets: dict[str, list[str]] = {}
    for value in values[:50]:
        name, sep, wanted = value.partition(":")
        if not sep or not wanted:
            raise bad_request(f"a facet is NAME:VALUE, not {value!r}")
        facets.setdefault(name, []).append(wanted)
    return facets


def _filter(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        return search_filter.compile_filter(json.loads(text))
    except (ValueError, RecursionError) as exc:
        raise bad_request(f"query_filter is not in the supported subset: {exc}") from None


def _run(
    gate: Gate,
    wanted: search.SearchRequest,
    compiled: dict[str, Any] | None,
    fields: list[str],
) -> dict[str, Any]:
    started = time.perf_counter()
    bodies: dict[str, dict[str, Any]] = {}

    def visible(found: list[Candidate]) -> list[Candidate]:
        shown = gate.readable(found, lambda hit: (hit.entity_type, hit.fqn))
        if compiled is None:
            return shown
        bodies.update(_answers(gate, [hit.entity_id for hit in shown]))
        return [
            hit
            for hit in shown
            if hit.entity_id in bodies and search_filter.matches(compiled, bodies[hit.entity_id])
        ]

    try:
        found = search.search(gate.catalog.engine, wanted, visible)
    except search.SearchRefused as exc:
        raise bad_request(str(exc)) from None
    missing = [hit.entity_id for hit in found.hits if hit.entity_id not in bodies]
    bodies.update(_answers(gate, missing))
    took = int((time.perf_counter() - started) * 1000)
    return _answer(found, wanted.index, bodies, fields, took)


def _answers(gate: Gate, ids: list[str]) -> dict[str, dict[str, Any]]:
    return {id: gate.answer(stored) for id, stored in gate.catalog.get_many(ids).items()}


def _answer(
    found: search.SearchPage,
    index: str,
    bodies: dict[str, dict[str, Any]],
    fields: list[str],
    took: int,
) -> dict[str, Any]:
    hits = [
        {
            "_index": index,
            "_id": hit.entity_id,
            "_score": hit.score if found.by_score else None,
            "_source": _only(bodies[hit.entity_id], fields),
            "sort": search.sort_values(hit, found.by_score),
        }
        for hit in found.hits
        if hit.entity_id in bodies
    ]
    aggregations = {
        facet: {"buckets": [{"key": key, "doc_count": count} for key, count in buckets]}
        for facet, buckets in found.facets.items()
    }
    return {
        "took": took,
        "timed_out": False,
        "hits": {"total": {"value": found.total, "relation": "eq"}, "hits": hits},
        "aggregations": aggregations,
    }


def _only(body: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """``include_source_fields``: the named top-level fields (of a dotted path, its root)."""
    if not fields:
        return body
    roots = {name.split(".", 1)[0] for name in fields}
    return {key: value for key, value in body.items() if key in roots}
