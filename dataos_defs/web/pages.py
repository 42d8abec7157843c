"""The app's own pages: home, sign in, sign out, and the static files.

Sign-in trades an API key for a session (:mod:`dataos_defs.web.session`); the form is
protected like the Dagster door's (a double-submit token in a cookie of ``/login`` and the
form, and a same-origin check). Static files are served from ``static/`` by name only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, RedirectResponse, Response

from dataos_defs.api.errors import ApiError
from dataos_defs.api.identity import get_identities
from dataos_defs.api.sessions import (
    CSRF_SECONDS,
    csrf_ok,
    encode,
    expires_in,
    is_secure,
    issue,
    new_csrf,
    same_origin,
    signing_key,
)
from dataos_defs.poros import apikeys
from dataos_defs.web.render import render
from dataos_defs.web.route import WebRoute
from dataos_defs.web.session import (
    CSRF_COOKIE,
    LOGIN_PATH,
    CsrfIdentity,
    PageIdentity,
    clear_session,
    read_form,
    safe_next,
    set_session,
)

router = APIRouter(route_class=WebRoute, include_in_schema=False)
STATIC = Path(__file__).parent / "static"
STATIC_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}


@router.get("/")
def home(request: Request, identity: PageIdentity) -> Response:
    return render(request, "home.html", {"title": "Home"})


def _login_page(
    request: Request,
    next_path: str,
    status: int = 200,
    error: str | None = None,
    signed_out: bool = False,
) -> Response:
    cookie, token = new_csrf(signing_key(request))
    context = {
        "login_csrf": token,
        "next_path": next_path,
        "error": error,
        "signed_out": signed_out,
    }
    response = render(request, "login.html", context, status_code=status)
    response.set_cookie(
        CSRF_COOKIE,
        cookie,
        max_age=CSRF_SECONDS,
        path=LOGIN_PATH,
        secure=is_secure(request),
        httponly=True,
        samesite="strict",
    )
    return response


@router.get(LOGIN_PATH)
def login_form(request: Request, next: str | None = None, signed_out: bool = False) -> Response:
    return _login_page(request, safe_next(next), signed_out=signed_out)


@router.post(LOGIN_PATH)
async def login(request: Request) -> Any:
    form = await read_form(request, limit=16 << 10)
    next_path = safe_next(form.get("next"))
    key = form.get("api_key", "").strip()
    signing = signing_key(request)
    if not same_origin(request) or not csrf_ok(
        signing, request.cookies.get(CSRF_COOKIE), form.get("csrf")
    ):
        return _login_page(request, next_path, 403, "The sign-in form expired; please try again.")
    identities = get_identities(request)
    principal = await run_in_threadpool(identities.authenticate, key) if key else None
    key_id = apikeys.key_id_of(key)
    if principal is None or key_id is None:
        return _login_page(request, next_path, 401, "That API key is not valid.")
    keys = await run_in_threadpool(identities.list_api_keys, principal.user_id)
    [info] = [k for k in keys if k.key_id == key_id]
    session = issue(principal.user_id, key_id, info.expires_at)
    response = RedirectResponse(next_path, 303)
    set_session(response, request, encode(signing, session), expires_in(session))
    response.delete_cookie(CSRF_COOKIE, path=LOGIN_PATH, httponly=True, samesite="strict")
    return response


@router.post("/logout")
def logout(request: Request, identity: CsrfIdentity) -> Response:
    response = RedirectResponse(f"{LOGIN_PATH}?signed_out=1", 303)
    clear_session(response, request)
    return response


@router.get("/static/{name}")
def static(name: str) -> Response:
    """A file of ``static/`` by its plain name (no folders, no dot files)."""
    path = STATIC / name
    if name.startswith(".") or "/" in name or "\\" in name or path.suffix not in STATIC_TYPES:
        raise ApiError(404, "not_found", f"no static file '{name}'")
    if not path.is_file():
        raise ApiError(404, "not_found", f"no static file '{name}'")
    return FileResponse(
        path,
        media_type=STATIC_TYPES[path.suffix],
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )
