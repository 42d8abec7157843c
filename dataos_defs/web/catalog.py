"""The Catalog pages of the web app: search with facets, dataset pages, lineage, tagging.

Every page acts as the signed-in viewer (``page_identity``) over the services the API uses,
through Metis' gate, so a page shows what ``/metis/api/v1`` would answer the same identity:
a dataset the viewer may not read is answered 404 like an unknown one (its existence does
not leak), search hits, totals and facet counts cover only readable datasets. Masks and
sample rows are the Gateway's for the viewer (``catalog_dataset``); tagging goes through
the Metis PATCH path (``catalog_tags``) behind a CSRF-checked form. Bounds: the search page
size and page count, the lineage depth (``catalog_lineage.MAX_DEPTH``) and node count
(``lineage_graph.MAX_NODES``), the sample (10 rows).

An FQN or column name is one path segment of the URL, percent-encoded (``/`` as ``%2F``:
:func:`dataset_url`, :func:`segment`). The server decodes ``%2F`` before routing, so the
dataset pages are one route each for GET and POST that read the segments from the raw,
still encoded path (:func:`dataset_path`): a name holding ``/`` (or ``lineage``) can never be
mistaken for a sub-page.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, unquote

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from dataos_defs.api.errors import ApiError
from dataos_defs.api.identity import Identity
from dataos_defs.api.metis.deps import catalog_of
from dataos_defs.api.metis.gate import Gate
from dataos_defs.metis import search
from dataos_defs.web.catalog_dataset import dataset_view
from dataos_defs.web.catalog_lineage import DEFAULT_DEPTH, MAX_DEPTH, column_sources, lineage_view
from dataos_defs.web.catalog_search import chosen_facets, search_view
from dataos_defs.web.catalog_tags import TAG, change_tag, may_tag, may_tag_governed
from dataos_defs.web.render import is_fragment, render
from dataos_defs.web.route import WebRoute
from dataos_defs.web.session import CsrfIdentity, PageIdentity, read_form

router = APIRouter(route_class=WebRoute)
MAX_TAG_CHARS = 256


def _gate(request: Request, identity: Identity) -> Gate:
    return Gate(request, identity, catalog_of(request))


DATASETS = "/catalog/datasets/"


def segment(name: str) -> str:
    """``name`` as one URL path segment (every ``/`` encoded)."""
    return quote(name, safe="")


def dataset_url(fqn: str) -> str:
    return DATASETS + segment(fqn)


def dataset_path(request: Request) -> list[str]:
    """The decoded segments after ``/catalog/datasets/`` of the request's raw path."""
    raw: bytes = request.scope.get("raw_path") or request.url.path.encode()
    path = raw.decode("utf-8", errors="replace")
    if not path.startswith(DATASETS):
        raise _no_page()
    return [unquote(part) for part in path[len(DATASETS) :].split("/")]


def _no_page() -> ApiError:
    return ApiError(404, "not_found", "no such catalog page", "open datasets from the catalog")


@router.get("/catalog", response_class=HTMLResponse, name="catalog search")
def search_page(
    request: Request,
    viewer: PageIdentity,
    q: Annotated[str, Query(max_length=search.MAX_QUERY_CHARS)] = "",
    facet: Annotated[list[str] | None, Query(max_length=50)] = None,
    page: Annotated[int, Query(ge=1)] = 1,
) -> HTMLResponse:
    chosen = chosen_facets(facet or [])
    view = search_view(_gate(request, viewer), q.strip(), chosen, page)
    context = {"view": view, "dataset_url": dataset_url, "facet_query": _facet_query}
    return render(request, "catalog/search.html", context)


def _facet_query(text: str, chosen: dict[str, list[str]], toggle: tuple[str, str] | None) -> str:
    """The search URL's query string with ``toggle`` (facet, value) added or removed."""
    pairs = [(name, value) for name, values in chosen.items() for value in values]
    if toggle is not None:
        pairs = [p for p in pairs if p != toggle] if toggle in pairs else [*pairs, toggle]
    parts = [f"q={quote(text, safe='')}"] if text else []
    parts += [f"facet={quote(f'{name}:{value}', safe='')}" for name, value in pairs]
    return "?" + "&".join(parts) if parts else ""


@router.get(DATASETS + "{path:path}", response_class=HTMLResponse, name="catalog dataset")
def dataset_pages(
    request: Request,
    path: str,
    viewer: PageIdentity,
    depth: Annotated[int, Query(ge=1, le=MAX_DEPTH)] = DEFAULT_DEPTH,
) -> HTMLResponse:
    """A dataset (``/{fqn}``), its lineage (``/{fqn}/lineage``) or a column's lineage
    (``/{fqn}/lineage/columns/{column}``), each name one encoded segment."""
    match dataset_path(request):
        case [fqn] if fqn:
            return dataset_page(request, fqn, viewer)
        case [fqn, "lineage"] if fqn:
            return lineage_page(request, fqn, viewer, depth)
        case [fqn, "lineage", "columns", column] if fqn and column:
            return column_lineage(request, fqn, column, viewer)
    raise _no_page()


def dataset_page(request: Request, fqn: str, viewer: Identity) -> HTMLResponse:
    view = dataset_view(request, viewer, _gate(request, viewer), fqn)
    tagging = may_tag(request, viewer, view.fqn)
    context = {
        "view": view,
        "may_tag": tagging,
        "may_tag_governed": tagging and may_tag_governed(request, viewer, view.fqn),
        "dataset_url": dataset_url,
        "segment": segment,
        "tag_pattern": TAG.pattern,
    }
    return render(request, "catalog/dataset.html", context)


def lineage_page(request: Request, fqn: str, viewer: Identity, depth: int) -> HTMLResponse:
    view = lineage_view(_gate(request, viewer), fqn, depth)
    context = {
        "view": view,
        "dataset_url": dataset_url,
        "segment": segment,
        "max_depth": MAX_DEPTH,
    }
    return render(request, "catalog/lineage.html", context)


def column_lineage(request: Request, fqn: str, column: str, viewer: Identity) -> HTMLResponse:
    """Column lineage on demand: a fragment for ``app.js`` (``data-get``), a page otherwise."""
    sources = column_sources(_gate(request, viewer), fqn, column)
    fragment = is_fragment(request)
    context = {"fqn": fqn, "column": column, "sources": sources, "dataset_url": dataset_url}
    template = "_column_sources.html" if fragment else "column_lineage.html"
    return render(request, "catalog/" + template, context)


@router.post(DATASETS + "{path:path}", name="catalog tag a column")
async def tag_column(request: Request, path: str, viewer: CsrfIdentity) -> Response:
    """``/{fqn}/columns/{column}/tags``: add or remove a tag (form fields ``tag``,
    ``action``: add or remove), then back to the dataset page (303). Refusals are the
    PATCH path's, as pages."""
    match dataset_path(request):
        case [fqn, "columns", column, "tags"] if fqn and column:
            pass
        case _:
            raise _no_page()
    form = await read_form(request)
    action = form.get("action", "add")
    if action not in ("add", "remove"):
        raise ApiError(400, "bad_request", "action is add or remove")
    tag = form.get("tag", "").strip()[:MAX_TAG_CHARS]
    gate = _gate(request, viewer)
    await run_in_threadpool(change_tag, gate, fqn, column, tag, add=action == "add")
    anchor = "#column-" + quote(column, safe="")
    return RedirectResponse(dataset_url(fqn) + anchor, status_code=303)
