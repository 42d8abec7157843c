"""The web app's route class: the API's refusals as pages, with the API's status codes.

Pages call the same route functions and services as the API, which raise
:class:`~dataos_defs.api.errors.ApiError` (and the store's
:class:`~dataos_defs.poros.errors.PorosError`); here they become an error page (or, for a
fragment, an error fragment) with the same status, message and hint, so a page refuses
exactly what the API refuses, as the API would. :class:`SignInRequired` becomes its
redirect (or 401).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.responses import Response

from dataos_defs.api.errors import ApiError
from dataos_defs.poros.errors import Conflict, InvalidRequest, NotFound, PorosError
from dataos_defs.web.render import SECURITY_HEADERS, is_fragment, render
from dataos_defs.web.session import SignInRequired

log = logging.getLogger(__name__)


def _poros_status(exc: PorosError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, InvalidRequest):
        return 400
    return 500


def error_page(request: Request, status: int, message: str, hint: str | None) -> Response:
    """The refusal as a page (or a fragment, when a fragment was asked for)."""
    context = {"status": status, "message": message, "hint": hint}
    template = "error_fragment.html" if is_fragment(request) else "error.html"
    return render(request, template, context, status_code=status)


def sign_in_answer(exc: SignInRequired) -> Response:
    return Response(
        status_code=exc.status_code, headers={**(exc.headers or {}), **SECURITY_HEADERS}
    )


class WebRoute(APIRoute):
    """Use it for every page router: ``APIRouter(route_class=WebRoute)``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired as exc:
                return sign_in_answer(exc)
            except ApiError as exc:
                return error_page(request, exc.status, exc.message, exc.hint)
            except PorosError as exc:
                return error_page(request, _poros_status(exc), exc.message, exc.hint)
            except RequestValidationError as exc:
                details = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
                )
                return error_page(request, 400, f"malformed request: {details}", None)

        return guarded
