"""Every failure leaves the API as one JSON shape: ``{"error": {code, message, hint, issues}}``."""

from __future__ import annotations

import re
from collections.abc import Sequence

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from dataos_defs.api.wire import ErrorBody, ErrorOut, IssueOut
from dataos_defs.manifest.errors import Issue, ManifestError
from dataos_defs.poros.errors import Conflict, InvalidRequest, NotFound, PorosError


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.hint = hint


def error_response(
    status: int, code: str, message: str, hint: str | None = None, issues: Sequence[Issue] = ()
) -> JSONResponse:
    body = ErrorOut(
        error=ErrorBody(
            code=code,
            message=message,
            hint=hint,
            issues=[IssueOut.model_validate(issue.to_dict()) for issue in issues],
        )
    )
    return JSONResponse(status_code=status, content=body.model_dump(mode="json"))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.hint)

    @app.exception_handler(ManifestError)
    async def _manifest_error(_: Request, exc: ManifestError) -> JSONResponse:
        count = len(exc.issues)
        message = (
            f"{count} problem{'s' if count != 1 else ''} in the manifests; nothing was applied"
        )
        return error_response(422, "invalid_manifest", message, None, exc.issues)

    @app.exception_handler(PorosError)
    async def _poros_error(_: Request, exc: PorosError) -> JSONResponse:
        code = re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__).lower()
        return error_response(_status_of(exc), code, exc.message, exc.hint)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        return error_response(400, "bad_request", f"malformed request: {details}")


def _status_of(exc: PorosError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, InvalidRequest):
        return 400
    return 500
