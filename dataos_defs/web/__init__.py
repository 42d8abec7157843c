"""The platform's own web interface: pages served by the API server under ``/``.

Server-rendered Jinja2 templates with a small script of our own (``static/app.js``: page
fragments, progress, the CSRF header); no framework and nothing fetched from a CDN. Every
page acts as the signed-in user (:func:`dataos_defs.web.session.page_identity`) and calls
the same route functions and services the API does, so Heimdall answers a page exactly as
it answers the API; a refusal becomes an error page with the API's status
(:class:`dataos_defs.web.route.WebRoute`). Rooms: ``pages`` (home, sign in and out, static
files), ``workbench`` (governed SQL), ``operations`` (Resources, runs, logs, incidents) and
``catalog`` (search, datasets, lineage, tags).

Page routers: ``APIRouter(route_class=WebRoute)``; templates extend ``base.html`` (blocks
``title`` and ``content``) and are rendered with :func:`dataos_defs.web.render.render`.
"""

from fastapi import APIRouter

from dataos_defs.web import catalog, operations, pages, workbench

router = APIRouter(include_in_schema=False)
router.include_router(pages.router)
router.include_router(workbench.router)
router.include_router(operations.router)
router.include_router(catalog.router)

__all__ = ["router"]
