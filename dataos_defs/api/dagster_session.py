"""Browser sessions of the Dagster door: its cookie, its sign-in page and where it may return.

A browser cannot send an API key with every page, script and websocket of the Dagster UI,
so ``POST /dagster/login`` trades a key for a session cookie of the path ``/dagster``. How
sessions are signed, checked and expire, and how the sign-in form resists cross-site posts,
is :mod:`dataos_defs.api.sessions`, shared with the web app (whose sign-in sets this cookie
too, so one sign-in opens both); the names below stay importable from here for the door.
"""

from __future__ import annotations

import html
from urllib.parse import urlsplit

from starlette.responses import Response

from dataos_defs.api.sessions import (
    CSRF_SECONDS,
    SESSION_SECONDS,
    Session,
    csrf_ok,
    decode,
    derive_signing_key,
    encode,
    expires_in,
    identity_of,
    is_secure,
    issue,
    new_csrf,
    same_origin,
    signing_key,
)

__all__ = [
    "CSRF_COOKIE",
    "CSRF_SECONDS",
    "LOGIN_PATH",
    "PREFIX",
    "SESSION_COOKIE",
    "SESSION_SECONDS",
    "Session",
    "clear_session_cookie",
    "csrf_ok",
    "decode",
    "derive_signing_key",
    "encode",
    "expires_in",
    "identity_of",
    "is_secure",
    "issue",
    "login_page",
    "new_csrf",
    "safe_next",
    "same_origin",
    "set_session_cookie",
    "signing_key",
]

PREFIX = "/dagster"
LOGIN_PATH = f"{PREFIX}/login"
SESSION_COOKIE = "dataos_dagster_session"
CSRF_COOKIE = "dataos_dagster_csrf"


def set_session_cookie(response: Response, token: str, max_age: int, secure: bool) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max(max_age, 0),
        path=PREFIX,
        secure=secure,
        httponly=True,
        samesite="strict",
    )


def clear_session_cookie(response: Response, secure: bool) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path=PREFIX, secure=secure, httponly=True, samesite="strict"
    )


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of the door, never another site."""
    default = f"{PREFIX}/"
    if not target or any(c in target for c in "\\\r\n\t") or not target.startswith(PREFIX):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.path.startswith(LOGIN_PATH):
        return default
    if parts.path != PREFIX and not parts.path.startswith(f"{PREFIX}/"):
        return default
    return target


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>DataOS: sign in to the Dagster UI</title>
<style>
body {{ font-family: system-ui, sans-serif; background: #f5f6f8; margin: 0; }}
main {{ max-width: 28rem; margin: 12vh auto; background: #fff; padding: 2rem;
  border-radius: 8px; box-shadow: 0 1px 4px rgba(0,0,0,.15); }}
h1 {{ font-size: 1.3rem; margin-top: 0; }}
label {{ display: block; margin: 1rem 0 .3rem; font-weight: 600; }}
input[type=password] {{ width: 100%; box-sizing: border-box; padding: .5rem;
  font-family: monospace; }}
button {{ margin-top: 1rem; padding: .5rem 1.2rem; }}
.error {{ color: #b00020; }} .hint {{ color: #555; font-size: .9rem; }}
</style></head>
<body><main>
<h1>Dagster UI (read-only)</h1>
<p class="hint">Runs, logs and the asset graph of this DataOS installation. Sign in with a
DataOS API key; Heimdall decides who may read <code>dagster://ui</code>.</p>
{error}
<form method="post" action="{action}" autocomplete="off">
<label for="api_key">API key</label>
<input id="api_key" name="api_key" type="password" placeholder="dok_..." required autofocus>
<input type="hidden" name="csrf" value="{csrf}">
<input type="hidden" name="next" value="{next}">
<button type="submit">Sign in</button>
</form>
<p class="hint">The operator's key is in <code>$DATAOS_HOME/credentials</code>; create one with
<code>dataos-ctl user apikey create</code>.</p>
</main></body></html>
"""


def login_page(csrf: str, next_path: str, error: str | None = None) -> str:
    return _PAGE.format(
        error=f'<p class="error" role="alert">{html.escape(error)}</p>' if error else "",
        action=LOGIN_PATH,
        csrf=html.escape(csrf, quote=True),
        next=html.escape(next_path, quote=True),
    )
