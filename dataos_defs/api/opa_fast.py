"""The hot path of the OPA-compatible API, served below the web framework.

``POST /v1/data/{path}`` is what Trino's OPA plugin (and every OPA client) calls for each
decision, thousands of times a second. This ASGI middleware answers it directly, with the
same authentication, authorization, answers and error shapes as the routes in
:mod:`dataos_defs.api.opa`, but without the framework's per-request machinery; answers are
cached per (policy generation, path, body), so a repeated question costs a dictionary
look-up. Every other request goes on to the application unchanged.
"""

from __future__ import annotations

import json
import re
import time
from collections import OrderedDict
from typing import Any

from dataos_defs.heimdall.engine import UNDEFINED
from dataos_defs.heimdall.pdp import PolicyEngineError

Scope = dict[str, Any]
_PREFIX = "/v1/data/"
_SEGMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CACHE_SIZE = 50_000
_JSON = [(b"content-type", b"application/json")]


class FastDecisions:
    """ASGI middleware for ``POST /v1/data/...``; everything else passes through."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._cache: OrderedDict[tuple[int, str, bytes], tuple[bytes, Any]] = OrderedDict()
        self._generation = -1

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not scope["path"].startswith(_PREFIX)
        ):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        status, payload = self._answer(scope, body)
        headers = list(_JSON)
        if status == 401:
            headers.append((b"www-authenticate", b"Bearer"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    def _answer(self, scope: Scope, body: bytes) -> tuple[int, bytes]:
        state = scope["app"].state
        key = _api_key(scope["headers"])
        principal = state.identities.authenticate(key) if key else None
        if principal is None:
            return 401, _error("unauthenticated", "this request carries no valid API key")
        heimdall = state.heimdall
        path = scope["path"]
        try:
            decision = heimdall.authorize(principal.user_id, principal.tags, "post", path)
        except PolicyEngineError:
            return 503, _opa_error("internal_error", "policy engine error, access denied")
        if not decision.allow:
            message = f"{principal.user_id} may not post {path}: {decision.reason}"
            return 403, _error("forbidden", message)
        parts = [p for p in path[len(_PREFIX) :].split("/") if p]
        if not all(_SEGMENT.match(p) for p in parts):
            return 400, _opa_error("invalid_parameter", f"unsupported document path {path!r}")
        return self._evaluate(heimdall, principal.user_id, path, parts, body)

    def _evaluate(
        self, heimdall: Any, user: str, path: str, parts: list[str], body: bytes
    ) -> tuple[int, bytes]:
        generation = heimdall.pdp.generation
        if generation != self._generation:
            self._cache.clear()
            self._generation = generation
        cache_key = (generation, path, body)
        started = time.perf_counter()
        cached = self._cache.get(cache_key)
        if cached is not None:
            self._cache.move_to_end(cache_key)
            heimdall.record_evaluation(user, path, cached[1], started)
            return 200, cached[0]
        try:
            document = json.loads(body) if body else None
        except ValueError:
            return 400, _opa_error("invalid_parameter", "body is not JSON")
        request_input = document.get("input") if isinstance(document, dict) else None
        try:
            value = heimdall.pdp.query(".".join(["data", *parts]), request_input)
        except PolicyEngineError as exc:
            return 503, _opa_error("internal_error", f"policy engine error, access denied: {exc}")
        heimdall.record_evaluation(user, path, value, started)
        payload = b"{}" if value is UNDEFINED else json.dumps({"result": value}).encode()
        self._cache[cache_key] = (payload, value)
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return 200, payload


async def _read_body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _api_key(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            return value[7:].decode("latin-1").strip()
        if name == b"apikey":
            return value.decode("latin-1").strip()
    return None


def _error(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


def _opa_error(code: str, message: str) -> bytes:
    return json.dumps({"code": code, "message": message}).encode()
