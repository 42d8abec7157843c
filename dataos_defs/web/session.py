"""Who is looking at a page: the signed-in user of the session cookie, and CSRF checks.

The web app signs in with an API key at ``/login`` and keeps a session cookie (HttpOnly,
``SameSite=Strict``, ``Secure`` when the request came over TLS) made and checked by
:mod:`dataos_defs.api.sessions`, the same machinery as the Dagster door: the sign-in sets
the door's cookie too (same token, path ``/dagster``), so one sign-in opens both, and
signing out clears both. Every sign-in issues a new session with a new random id (a cookie
planted before cannot be carried into the signed-in session), the session ends after
8 hours or when the key expires or is revoked, and signing out (:func:`clear_session`)
revokes the session in the store, so every API process and replica refuses its cookie from
then on (:func:`dataos_defs.api.sessions.revoke`).

:func:`page_identity` is every page's dependency. Without a valid session it raises
:class:`SignInRequired`: a page is redirected to ``/login?next=<path>``, a fragment (fetched
by ``app.js`` with the ``X-Fragment`` header) is answered 401 with ``X-Sign-In: <login
URL>``, which the script follows. :func:`require_csrf` guards every state-changing request:
the request must come from this origin and carry the session's form token (the form field
``csrf_token`` or the ``X-CSRF-Token`` header).
"""

from __future__ import annotations

import threading
import time
from typing import Annotated
from urllib.parse import parse_qsl, quote, urlsplit

from fastapi import Depends, HTTPException, Request
from starlette.responses import Response

from dataos_defs.api import dagster_session as door
from dataos_defs.api.errors import ApiError
from dataos_defs.api.identity import Identity, get_identities
from dataos_defs.api.sessions import (
    Session,
    decode,
    identity_of,
    is_secure,
    revoke,
    same_origin,
    session_csrf_ok,
    signing_key,
)
from dataos_defs.web.render import is_fragment

SESSION_COOKIE = "dataos_session"
CSRF_COOKIE = "dataos_login_csrf"
LOGIN_PATH = "/login"
HOME = "/"
MAX_FORM_BYTES = 256 << 10
SIGN_IN_HEADER = "X-Sign-In"


class SignInRequired(HTTPException):
    """No valid session: 303 to the sign-in page, or 401 with ``X-Sign-In`` for a fragment.

    An ``HTTPException``, so even a route outside the web app's route class answers it
    sensibly (FastAPI's own handler keeps the status and headers)."""

    def __init__(self, request: Request) -> None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if is_fragment(request) or request.method not in ("GET", "HEAD"):
            target = request.headers.get("x-page") or HOME
        login = f"{LOGIN_PATH}?next={quote(safe_next(target), safe='')}"
        if is_fragment(request):
            super().__init__(401, "sign in again", {SIGN_IN_HEADER: login})
        else:
            super().__init__(303, "sign in", {"Location": login})
        self.login = login


class _Revoked:
    """Session ids signed out in this process, until they would have expired anyway."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._lock = threading.Lock()

    def add(self, session: Session) -> None:
        with self._lock:
            now = time.time()
            self._ids = {k: v for k, v in self._ids.items() if v > now}
            self._ids[session.session_id] = session.expires_at

    def __contains__(self, session_id: str) -> bool:
        return session_id in self._ids


revoked = _Revoked()


def session_of(request: Request) -> Session | None:
    """The request's valid web session, or ``None``."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    session = decode(signing_key(request), token)
    if session is None or not session.session_id or session.session_id in revoked:
        return None
    return session


def page_identity(request: Request) -> Identity:
    """The signed-in user (see the module docstring); raises :class:`SignInRequired`."""
    session = session_of(request)
    identity = None if session is None else identity_of(get_identities(request), session)
    if session is None or identity is None:
        raise SignInRequired(request)
    request.state.web_session = session
    request.state.web_identity = identity
    return identity


PageIdentity = Annotated[Identity, Depends(page_identity)]


async def read_form(request: Request, limit: int = MAX_FORM_BYTES) -> dict[str, str]:
    """The URL-encoded form of the request (the last value of each field), read once and
    bounded: 413 beyond ``limit`` bytes."""
    cached: dict[str, str] | None = getattr(request.state, "web_form", None)
    if cached is not None:
        return cached
    too_large = ApiError(413, "request_too_large", f"forms are at most {limit} bytes")
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise too_large
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    request.state.web_form = form
    return form


async def require_csrf(request: Request, identity: PageIdentity) -> Identity:
    """Same origin and the session's form token, or 403; the identity otherwise."""
    if not same_origin(request):
        raise ApiError(
            403, "cross_origin", "a form from another site may not act for you", "use this site"
        )
    token = request.headers.get("x-csrf-token")
    if token is None:
        token = (await read_form(request)).get("csrf_token")
    if not session_csrf_ok(signing_key(request), request.state.web_session, token):
        raise ApiError(
            403,
            "csrf_failed",
            "the form's security token is missing or belongs to another session",
            "reload the page and try again",
        )
    return identity


CsrfIdentity = Annotated[Identity, Depends(require_csrf)]


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site (never the sign-in page itself,
    never another site)."""
    if not target or any(c in target for c in "\\\r\n\t") or not target.startswith("/"):
        return HOME
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return HOME
    if parts.path in (LOGIN_PATH, "/logout") or parts.path.startswith(door.LOGIN_PATH):
        return HOME
    return target


def set_session(response: Response, request: Request, token: str, max_age: int) -> None:
    """The web cookie and the door's, the same token (one sign-in opens both)."""
    secure = is_secure(request)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max(max_age, 0),
        path="/",
        secure=secure,
        httponly=True,
        samesite="strict",
    )
    door.set_session_cookie(response, token, max_age, secure)


def clear_session(response: Response, request: Request) -> None:
    """Sign out: revoke the request's session everywhere (the store's record, consulted by
    every process) and clear both cookies. The session is the one ``page_identity``
    admitted for this request."""
    session: Session | None = getattr(request.state, "web_session", None)
    if session is not None:
        revoke(request.app.state.store, session)
        revoked.add(session)
    secure = is_secure(request)
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=secure, httponly=True, samesite="strict"
    )
    door.clear_session_cookie(response, secure)
