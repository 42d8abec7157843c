"""The hot path of the OPA-compatible API, served below the web framework.

``POST /v1/data/{path}`` is what Trino's OPA plugin (and every OPA client) calls for each
decision, thousands of times a second. This ASGI middleware answers it directly, with the
same authentication, authorization (the method on the path, then what ``opa_gate.py``
requires: platform documents only through their decision rules, a decision about another
user only with ``read`` on that user), answers and error shapes as the routes in
:mod:`dataos_defs.api.opa`, but without the framework's per-request machinery; answers are
cached per (policy generation, path, body), so a repeated question costs a dictionary
look-up. The method on the path is decided on every request; what ``opa_gate.py`` requires
is decided once per (policy generation, caller and tags, path, body) and remembered, so
Trino's coordinator asking the same question again pays no second decision. Every other
request goes on to the application unchanged.
"""

from __future__ import annotations

import json
import re
import time
from collections import OrderedDict
from typing import Any

from dataos_defs.api.opa_gate import Requirement, platform_roots, read_requirements
from dataos_defs.heimdall.engine import UNDEFINED
from dataos_defs.heimdall.pdp import PolicyEngineError

Scope = dict[str, Any]
_PREFIX = "/v1/data/"
_SEGMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CACHE_SIZE = 50_000
_JSON = [(b"content-type", b"application/json")]
_ENGINE_ERROR = "policy engine error, access denied"


class FastDecisions:
    """ASGI middleware for ``POST /v1/data/...``; everything else passes through."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._cache: OrderedDict[tuple[int, str, bytes], tuple[bytes, Any]] = OrderedDict()
        self._generation = -1
        self._roots: tuple[Any, frozenset[str]] | None = None
        self._admitted: OrderedDict[tuple[Any, ...], None] = OrderedDict()

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
        refused = _refusal(heimdall, principal, [("post", path)])
        if refused is not None:
            return refused
        parts = [p for p in path[len(_PREFIX) :].split("/") if p]
        if not all(_SEGMENT.match(p) for p in parts):
            return 400, _opa_error("invalid_parameter", f"unsupported document path {path!r}")
        admitted = (heimdall.pdp.generation, principal.user_id, tuple(principal.tags), path, body)
        if admitted in self._admitted:
            self._admitted.move_to_end(admitted)
        else:
            refused = self._gate(heimdall, principal, parts, body)
            if refused is not None:
                return refused
            self._admitted[admitted] = None
            if len(self._admitted) > _CACHE_SIZE:
                self._admitted.popitem(last=False)
        return self._evaluate(heimdall, principal.user_id, path, parts, body)

    def _gate(
        self, heimdall: Any, principal: Any, parts: list[str], body: bytes
    ) -> tuple[int, bytes] | None:
        """The refusal of what ``opa_gate.py`` requires beyond the method, or None."""
        inputs, refused = _inputs(body)
        if refused is not None:
            return refused
        required = read_requirements(
            parts, inputs, principal.user_id, principal.tags, self._platform(heimdall)
        )
        return _refusal(heimdall, principal, required)

    def _platform(self, heimdall: Any) -> frozenset[str]:
        """The platform roots of this Heimdall's modules (they never change once loaded)."""
        if self._roots is None or self._roots[0] is not heimdall:
            self._roots = (heimdall, platform_roots(heimdall.base_modules))
        return self._roots[1]

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
        inputs, refused = _inputs(body)
        if refused is not None:
            return refused
        try:
            value = heimdall.pdp.query(".".join(["data", *parts]), inputs)
        except PolicyEngineError:
            return 503, _opa_error("internal_error", _ENGINE_ERROR)
        heimdall.record_evaluation(user, path, value, started)
        payload = b"{}" if value is UNDEFINED else json.dumps({"result": value}).encode()
        self._cache[cache_key] = (payload, value)
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return 200, payload


def _inputs(body: bytes) -> tuple[Any, tuple[int, bytes] | None]:
    """The ``input`` of a request body, or the 400 answer for a body that is not JSON."""
    try:
        document = json.loads(body) if body else None
    except ValueError:
        return None, (400, _opa_error("invalid_parameter", "body is not JSON"))
    return (document.get("input") if isinstance(document, dict) else None), None


def _refusal(
    heimdall: Any, principal: Any, required: list[Requirement]
) -> tuple[int, bytes] | None:
    """403 or 503 for the first requirement Heimdall does not allow, None when all are."""
    for predicate, target in required:
        try:
            decision = heimdall.authorize(principal.user_id, principal.tags, predicate, target)
        except PolicyEngineError:
            return 503, _opa_error("internal_error", _ENGINE_ERROR)
        if not decision.allow:
            message = f"{principal.user_id} may not {predicate} {target}: {decision.reason}"
            return 403, _error("forbidden", message)
    return None


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
