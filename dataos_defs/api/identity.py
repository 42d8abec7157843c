"""Who is calling: every route depends on :func:`current_identity`.

A request proves who it is with an API key, in ``Authorization: Bearer <key>`` or in the
``apikey: <key>`` header that DataOS clients send. Heimdall maps the key to a user and its
tags; a request without a usable key is answered 401 before any route runs. No route reads
headers itself, so this dependency is the one place authentication happens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from dataos_defs.api.errors import ApiError, error_response
from dataos_defs.poros.identities import Identities

LOGIN_HINT = (
    "send 'Authorization: Bearer <key>' or 'apikey: <key>'; "
    "with dataos-ctl, run 'dataos-ctl login' or set DATAOS_API_KEY"
)

bearer_scheme = HTTPBearer(auto_error=False, description="a DataOS API key (dok_...)")
apikey_scheme = APIKeyHeader(
    name="apikey", auto_error=False, description="a DataOS API key (dok_...)"
)


@dataclass(frozen=True)
class Identity:
    user_id: str
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def subject(self) -> str:
        return f"users:id:{self.user_id}"


class Unauthenticated(ApiError):
    """401: no key, or a key that is malformed, unknown, revoked or expired."""

    def __init__(self, message: str) -> None:
        super().__init__(401, "unauthenticated", message, LOGIN_HINT)


def unauthenticated_response(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Unauthenticated)
    response = error_response(exc.status, exc.code, exc.message, exc.hint)
    response.headers["WWW-Authenticate"] = "Bearer"
    return response


def get_identities(request: Request) -> Identities:
    identities: Identities = request.app.state.identities
    return identities


def current_identity(
    identities: Annotated[Identities, Depends(get_identities)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    apikey: Annotated[str | None, Depends(apikey_scheme)],
) -> Identity:
    """The authenticated caller; raises :class:`Unauthenticated` (401) otherwise."""
    key = bearer.credentials if bearer is not None else apikey
    if not key:
        raise Unauthenticated("this request carries no API key")
    principal = identities.authenticate(key.strip())
    if principal is None:
        raise Unauthenticated("the API key is not valid (unknown, revoked or expired)")
    return Identity(principal.user_id, principal.tags)
