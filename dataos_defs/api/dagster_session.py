"""Browser sessions of the Dagster door: signed, expiring cookies, and the sign-in page.

A browser cannot send an API key with every page, script and websocket of the Dagster UI,
so ``POST /dagster/login`` trades a key for a session cookie. The cookie is not the key: it
names the user and the id of the key that signed in, when it expires (8 hours, or sooner when
the key expires), and carries an HMAC-SHA256 over all of that. Every request re-checks the
signature, the expiry, that the key is still active and the user still exists, and takes the
user's tags as they are now (so revoking the key or deleting the user ends its sessions at
once in this process, and within the identity cache's few seconds in others).

The signing key is derived from the store's secret key (``DATAOS_SECRET_KEY`` or
``$DATAOS_HOME/secret.key``) under a label no manifest digest can have, so every replica
accepts the same cookies and rotating that key signs everybody out.

The sign-in form is protected against cross-site posts twice: a double-submit token (a random
value in a ``SameSite=Strict`` cookie of the form's own path, and its HMAC in the form) and,
when the browser names one, an ``Origin`` that must be this server's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection
from starlette.responses import Response

from dataos_defs.api.identity import Identity
from dataos_defs.poros.identities import Identities, Principal, UserNotFound
from dataos_defs.poros.vault import Vault

PREFIX = "/dagster"
LOGIN_PATH = f"{PREFIX}/login"
SESSION_COOKIE = "dataos_dagster_session"
CSRF_COOKIE = "dataos_dagster_csrf"
SESSION_SECONDS = 8 * 3600
CSRF_SECONDS = 3600
_LABEL = "dataos:dagster-door:session-key:v1"
_CACHE_PREFIX = "dagster-session:"


@dataclass(frozen=True)
class Session:
    user_id: str
    key_id: str
    expires_at: int


def derive_signing_key(vault: Vault) -> bytes:
    """HMAC of a label under the store's digest key: a JSON string, where every manifest
    digest is of a JSON object, so no stored digest can ever equal it."""
    return bytes.fromhex(vault.digest(_LABEL))


def signing_key(connection: HTTPConnection) -> bytes:
    """Derived once per app from the store's secret key (see the module docstring)."""
    state = connection.app.state
    key: bytes | None = getattr(state, "dagster_session_key", None)
    if key is None:
        key = derive_signing_key(state.store.vault)
        state.dagster_session_key = key
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, purpose: str, payload: str) -> str:
    return _b64(hmac.new(key, f"{purpose}\n{payload}".encode(), hashlib.sha256).digest())


def issue(user_id: str, key_id: str, key_expires_at: datetime | None) -> Session:
    expires = int(time.time()) + SESSION_SECONDS
    if key_expires_at is not None:
        expires = min(expires, int(key_expires_at.timestamp()))
    return Session(user_id, key_id, expires)


def encode(key: bytes, session: Session) -> str:
    payload = _b64(
        json.dumps(
            {"u": session.user_id, "k": session.key_id, "exp": session.expires_at},
            separators=(",", ":"),
        ).encode()
    )
    return f"{payload}.{_mac(key, 'session', payload)}"


def decode(key: bytes, token: str) -> Session | None:
    """The session a cookie value names, or ``None``: forged, tampered, malformed, expired."""
    payload, _, mac = token.partition(".")
    if not payload or not hmac.compare_digest(mac.encode(), _mac(key, "session", payload).encode()):
        return None
    try:
        data = json.loads(_unb64(payload))
        session = Session(str(data["u"]), str(data["k"]), int(data["exp"]))
    except (ValueError, KeyError, TypeError):
        return None
    return session if session.expires_at > time.time() else None


def identity_of(identities: Identities, session: Session) -> Identity | None:
    """The user a valid session acts as, while the key that signed in stays active."""
    cache_key = f"{_CACHE_PREFIX}{session.user_id}:{session.key_id}"
    found, principal = identities.cache.get(cache_key)
    if not found:
        principal = None
        try:
            keys = identities.list_api_keys(session.user_id)
            user = identities.get_user(session.user_id)
        except UserNotFound:
            keys, user = [], None
        usable = [k for k in keys if k.key_id == session.key_id and k.state() == "active"]
        if user is not None and usable:
            principal = Principal(user.id, user.type, tuple(user.tags))
        identities.cache.put(cache_key, principal, usable[0].expires_at if usable else None)
    return None if principal is None else Identity(principal.user_id, principal.tags)


def is_secure(connection: HTTPConnection) -> bool:
    return connection.url.scheme in ("https", "wss")


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


def same_origin(connection: HTTPConnection) -> bool:
    """False when the browser says the request comes from another origin (``Origin`` or
    ``Sec-Fetch-Site``); clients that send neither are not browsers acting for a page.

    The origin's host must be this server's: its ``Host``, or the ``X-Forwarded-Host`` of a
    proxy in front that rewrites ``Host`` (a page on another origin cannot set that header
    on a form post, nor on any request without a CORS preflight, which the door never
    grants)."""
    origin = connection.headers.get("origin")
    if origin is not None:
        hosts = {
            connection.headers.get("host", "").lower(),
            connection.headers.get("x-forwarded-host", "").split(",")[0].strip().lower(),
        } - {""}
        if origin == "null" or urlsplit(origin).netloc.lower() not in hosts:
            return False
    site = connection.headers.get("sec-fetch-site")
    return site in (None, "same-origin", "none")


def new_csrf(key: bytes) -> tuple[str, str]:
    """``(cookie value, form token)`` for one sign-in form."""
    nonce = secrets.token_urlsafe(24)
    return nonce, _mac(key, "csrf", nonce)


def csrf_ok(key: bytes, cookie: str | None, token: str | None) -> bool:
    if not cookie or not token:
        return False
    return hmac.compare_digest(token.encode(), _mac(key, "csrf", cookie).encode())


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


def expires_in(session: Session) -> int:
    return session.expires_at - int(time.time())


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
