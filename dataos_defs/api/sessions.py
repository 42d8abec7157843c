"""Browser sessions: signed, expiring cookies traded for an API key at a sign-in form.

A browser cannot send an API key with every page, script and websocket, so a sign-in form
trades a key for a session cookie. The cookie is not the key: it names the user, the id of
the key that signed in, a random session id and when it expires (8 hours, or sooner when
the key expires), and carries an HMAC-SHA256 over all of that. Every request re-checks the
signature, the expiry, that the key is still active and the user still exists, and takes the
user's tags as they are now (so revoking the key or deleting the user ends its sessions at
once in this process, and within the identity cache's few seconds in others).

Signing out revokes the session itself everywhere: :func:`revoke` records its random id in
the store's ``session_revocations`` table, which every API process (and the Dagster door)
consults on each request (:func:`identity_of`), so a copied cookie is refused by any worker
or replica from that moment. The records are bounded by time: each one is kept only until
the session would have expired anyway, and expired ones are pruned at every sign-out.

The signing key is derived from the store's secret key (``DATAOS_SECRET_KEY`` or
``$DATAOS_HOME/secret.key``) under a label no manifest digest can have, so every replica
accepts the same cookies and rotating that key signs everybody out. The Dagster door
(:mod:`dataos_defs.api.dagster_session`) and the web app (:mod:`dataos_defs.web.session`)
share it: signing in to the web app signs in to the door too.

Sign-in forms are protected against cross-site posts twice: a double-submit token (a random
value in a ``SameSite=Strict`` cookie of the form's own path, and its HMAC in the form) and,
when the browser names one, an ``Origin`` that must be this server's. Forms of a signed-in
session carry a token bound to the session's random id (:func:`session_csrf`), so a new
sign-in (a new id: no session fixation) invalidates every older form.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from sqlalchemy import delete
from starlette.requests import HTTPConnection

from dataos_defs.api.identity import Identity
from dataos_defs.poros.identities import Identities, Principal, UserNotFound
from dataos_defs.poros.store import Store
from dataos_defs.poros.tables import SessionRevocationRow
from dataos_defs.poros.vault import Vault

SESSION_SECONDS = 8 * 3600
CSRF_SECONDS = 3600
_LABEL = "dataos:dagster-door:session-key:v1"
"""Kept from when only the Dagster door had sessions: changing it signs everybody out."""
_CACHE_PREFIX = "dagster-session:"
_STATE_KEY = "dagster_session_key"
KNOWN_REVOKED = 4096
"""Revoked ids this process remembers (no store read for a cookie it has refused before)."""
MAX_SESSION_ID = 64


@dataclass(frozen=True)
class Session:
    user_id: str
    key_id: str
    expires_at: int
    session_id: str = ""
    """Random per sign-in; binds the session's form tokens (empty in older cookies)."""


def derive_signing_key(vault: Vault) -> bytes:
    """HMAC of a label under the store's digest key: a JSON string, where every manifest
    digest is of a JSON object, so no stored digest can ever equal it."""
    return bytes.fromhex(vault.digest(_LABEL))


def signing_key(connection: HTTPConnection) -> bytes:
    """Derived once per app from the store's secret key (see the module docstring)."""
    state = connection.app.state
    key: bytes | None = getattr(state, _STATE_KEY, None)
    if key is None:
        key = derive_signing_key(state.store.vault)
        setattr(state, _STATE_KEY, key)
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def mac(key: bytes, purpose: str, payload: str) -> str:
    return _b64(hmac.new(key, f"{purpose}\n{payload}".encode(), hashlib.sha256).digest())


def issue(user_id: str, key_id: str, key_expires_at: datetime | None) -> Session:
    """A new session (a new random id every time: a sign-in never reuses a session)."""
    expires = int(time.time()) + SESSION_SECONDS
    if key_expires_at is not None:
        expires = min(expires, int(key_expires_at.timestamp()))
    return Session(user_id, key_id, expires, secrets.token_urlsafe(16))


def encode(key: bytes, session: Session) -> str:
    data: dict[str, str | int] = {
        "u": session.user_id,
        "k": session.key_id,
        "exp": session.expires_at,
    }
    if session.session_id:
        data["s"] = session.session_id
    payload = _b64(json.dumps(data, separators=(",", ":")).encode())
    return f"{payload}.{mac(key, 'session', payload)}"


def decode(key: bytes, token: str) -> Session | None:
    """The session a cookie value names, or ``None``: forged, tampered, malformed, expired."""
    payload, _, signature = token.partition(".")
    if not payload or not hmac.compare_digest(
        signature.encode(), mac(key, "session", payload).encode()
    ):
        return None
    try:
        data = json.loads(_unb64(payload))
        session = Session(str(data["u"]), str(data["k"]), int(data["exp"]), str(data.get("s", "")))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return session if session.expires_at > time.time() else None


class _KnownRevoked:
    """Revoked session ids seen by this process (the newest :data:`KNOWN_REVOKED`)."""

    def __init__(self) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, session_id: str) -> None:
        with self._lock:
            self._ids[session_id] = None
            while len(self._ids) > KNOWN_REVOKED:
                self._ids.popitem(last=False)

    def __contains__(self, session_id: str) -> bool:
        with self._lock:
            return session_id in self._ids


_known_revoked = _KnownRevoked()


def revoke(store: Store, session: Session) -> None:
    """Sign the session out everywhere (see the module docstring); prunes expired records."""
    if not session.session_id:
        return
    moment = datetime.now(UTC)
    with store.writing() as db:
        db.execute(delete(SessionRevocationRow).where(SessionRevocationRow.expires_at <= moment))
        if db.get(SessionRevocationRow, session.session_id) is None:
            db.add(
                SessionRevocationRow(
                    session_id=session.session_id[:MAX_SESSION_ID],
                    user_id=session.user_id,
                    expires_at=datetime.fromtimestamp(session.expires_at, UTC),
                    revoked_at=moment,
                )
            )
    _known_revoked.add(session.session_id)


def is_revoked(store: Store, session: Session) -> bool:
    """Whether the session was signed out, by any process (a read of the store)."""
    if not session.session_id:
        return False
    if session.session_id in _known_revoked:
        return True
    with store.reading() as db:
        found = db.get(SessionRevocationRow, session.session_id[:MAX_SESSION_ID]) is not None
    if found:
        _known_revoked.add(session.session_id)
    return found


def identity_of(identities: Identities, session: Session) -> Identity | None:
    """The user a valid session acts as, while the key that signed in stays active and the
    session was not signed out (by any process)."""
    if is_revoked(identities.store, session):
        return None
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


def same_origin(connection: HTTPConnection) -> bool:
    """False when the browser says the request comes from another origin (``Origin`` or
    ``Sec-Fetch-Site``); clients that send neither are not browsers acting for a page.

    The origin's host must be this server's: its ``Host``, or the ``X-Forwarded-Host`` of a
    proxy in front that rewrites ``Host`` (a page on another origin cannot set that header
    on a form post, nor on any request without a CORS preflight, which is never granted)."""
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
    """``(cookie value, form token)`` for one sign-in form (double submit)."""
    nonce = secrets.token_urlsafe(24)
    return nonce, mac(key, "csrf", nonce)


def csrf_ok(key: bytes, cookie: str | None, token: str | None) -> bool:
    if not cookie or not token:
        return False
    return hmac.compare_digest(token.encode(), mac(key, "csrf", cookie).encode())


def session_csrf(key: bytes, session: Session) -> str:
    """The form token of a signed-in session: bound to its random id, user and key."""
    return mac(key, "session-csrf", f"{session.session_id}\n{session.user_id}\n{session.key_id}")


def session_csrf_ok(key: bytes, session: Session, token: str | None) -> bool:
    if not token or not session.session_id:
        return False
    return hmac.compare_digest(token.encode(), session_csrf(key, session).encode())


def expires_in(session: Session) -> int:
    return session.expires_at - int(time.time())
