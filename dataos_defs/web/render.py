"""Pages from Jinja2 templates: escaped, strict, and with what every page shows.

Autoescape is on for every template and undefined names fail (``StrictUndefined``), so a
value reaches the page only as escaped text and a misspelt name is an error, not an empty
string. Each page gets the signed-in ``user`` (or ``None``), the session's ``csrf_token`` for
its forms, ``nav`` (the active tab) and ``dagster_url``. Responses are never cached, never
framed, and may load scripts, styles and images from this server only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from dataos_defs.api.sessions import session_csrf, signing_key

TEMPLATES = Path(__file__).parent / "templates"
DAGSTER_URL = "/dagster/"
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "object-src 'none'"
    ),
}
NAV_TABS = ("workbench", "catalog", "operations")

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def csrf_token(request: Request) -> str:
    """The form token of the signed-in session ('' before signing in)."""
    session = getattr(request.state, "web_session", None)
    return "" if session is None else session_csrf(signing_key(request), session)


def _nav(request: Request) -> str:
    first = request.url.path.strip("/").split("/", 1)[0]
    return first if first in NAV_TABS else "home"


def render(
    request: Request,
    template_name: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The template rendered with ``context`` and the page globals (see the module doc)."""
    values: dict[str, Any] = {
        "user": getattr(request.state, "web_identity", None),
        "csrf_token": csrf_token(request),
        "nav": _nav(request),
        "dagster_url": DAGSTER_URL,
        "fragment": is_fragment(request),
    }
    values.update(context or {})
    html = environment.get_template(template_name).render(values)
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)


FRAGMENT_HEADER = "x-fragment"
"""Sent by ``app.js`` (and ``catalog.js``) when fetching a fragment into a page."""


def is_fragment(request: Request) -> bool:
    return request.headers.get(FRAGMENT_HEADER) is not None
