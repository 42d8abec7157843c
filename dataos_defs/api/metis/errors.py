"""Errors of the Metis routes: OpenMetadata's shape and the platform's, in one body.

The OpenMetadata client raises its ``APIError`` (which the SDK reads: 404 → "not found",
412 → refetch and retry a patch) only for a body with a top-level ``code``; DataOS
clients read ``error``. So every Metis error carries both:
``{"code": 412, "message": ..., "error": {"code": "version_mismatch", "message", ...}}``.
The routes use :class:`MetisRoute`, which answers this shape for any error raised while a
request is handled, authentication and malformed requests included.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from dataos_defs.api.errors import ApiError
from dataos_defs.api.identity import Unauthenticated


def metis_error(status: int, code: str, message: str, hint: str | None = None) -> JSONResponse:
    body = {
        "code": status,
        "message": message,
        "error": {"code": code, "message": message, "hint": hint, "issues": []},
    }
    return JSONResponse(status_code=status, content=body)


def not_found(entity_type: str, key: str) -> ApiError:
    """The same answer for an entity that does not exist and one the caller may not see."""
    return ApiError(404, "not_found", f"{entity_type} instance for {key} not found")


def bad_request(message: str, hint: str | None = None) -> ApiError:
    return ApiError(400, "bad_request", message, hint)


class MetisRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except Unauthenticated as exc:
                response = metis_error(exc.status, exc.code, exc.message, exc.hint)
                response.headers["WWW-Authenticate"] = "Bearer"
                return response
            except ApiError as exc:
                return metis_error(exc.status, exc.code, exc.message, exc.hint)
            except RequestValidationError as exc:
                details = "; ".join(
                    f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
                )
                return metis_error(400, "bad_request", f"malformed request: {details}")

        return handle
