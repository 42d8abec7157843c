"""Bounded input for ``POST /poros/api/v1/apply``: size and nesting, checked before parsing.

The middleware reads the raw body up to the request limit (refusing a larger
``Content-Length`` without reading it) and measures how deep its JSON nests without
parsing it, so no recursive code (JSON decoding, validation, redaction) ever sees a body
that could exhaust memory or the stack. The apply route then checks each manifest's size.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dataos_defs.api.errors import ApiError, error_response
from dataos_defs.manifest.compose import MAX_DEPTH

APPLY_PATH = "/poros/api/v1/apply"
MAX_MANIFEST_ENV = "DATAOS_MAX_MANIFEST_BYTES"
MAX_APPLY_ENV = "DATAOS_MAX_APPLY_BYTES"
MiB = 1024 * 1024
ENVELOPE_DEPTH = 3
"""Levels of the apply body around each manifest: ``{"documents": [{"manifest": ...}]}``."""
_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


@dataclass(frozen=True)
class BodyLimits:
    max_manifest_bytes: int = 1 * MiB
    max_apply_bytes: int = 16 * MiB
    max_depth: int = MAX_DEPTH

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> BodyLimits:
        env = os.environ if environ is None else environ
        default = cls()
        return cls(
            max_manifest_bytes=_size(env, MAX_MANIFEST_ENV, default.max_manifest_bytes),
            max_apply_bytes=_size(env, MAX_APPLY_ENV, default.max_apply_bytes),
        )


def _size(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) <= 0:
        raise ValueError(f"{name} must be a positive number of bytes, not '{raw}'")
    return int(raw)


def json_nests_deeper(body: bytes, limit: int) -> bool:
    """Whether the JSON text ``body`` nests deeper than ``limit``, found without parsing it:
    strings are dropped, then innermost bracket pairs are removed once per level."""
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKET)
    for _ in range(limit):
        reduced = brackets.replace(b"[]", b"").replace(b"{}", b"")
        if reduced == brackets:
            return False  # fully reduced, or malformed: the JSON parser will say so
        brackets = reduced
    return bool(brackets)


def _too_large(size: str, limit: int) -> ApiError:
    return ApiError(
        413,
        "payload_too_large",
        f"the apply request is {size}; the limit is {_mib(limit)} per request",
        f"apply the manifests in smaller sets, or raise {MAX_APPLY_ENV} on the API server",
    )


def _mib(size: int) -> str:
    return f"{size / MiB:.1f} MiB" if size >= MiB // 10 else f"{size} bytes"


class ApplyLimits:
    """ASGI middleware bounding the body of ``POST /poros/api/v1/apply``."""

    def __init__(self, app: ASGIApp, limits: BodyLimits | None = None) -> None:
        self.app = app
        self.limits = limits or BodyLimits.from_env()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != APPLY_PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})["body_limits"] = self.limits
        try:
            body = await self._body(scope, receive)
        except ApiError as exc:
            response = error_response(exc.status, exc.code, exc.message, exc.hint)
            await response(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _body(self, scope: Scope, receive: Receive) -> bytes:
        limit = self.limits.max_apply_bytes
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            raise _too_large(_mib(int(declared)), limit)
        chunks: list[bytes] = []
        received = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > limit:
                raise _too_large(f"over {_mib(limit)}", limit)
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        depth = self.limits.max_depth + ENVELOPE_DEPTH
        if json_nests_deeper(body, depth):
            raise ApiError(
                422,
                "too_deeply_nested",
                f"the request nests deeper than {depth} levels "
                f"(at most {self.limits.max_depth} within a manifest)",
                "flatten the manifest; real manifests are rarely more than 20 levels deep",
            )
        return body


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def check_manifest_sizes(request: Request, documents: Sequence[Any]) -> None:
    """Refuse (413) any manifest whose JSON is larger than the per-manifest limit."""
    limits: BodyLimits = getattr(request.state, "body_limits", BodyLimits())
    for position, document in enumerate(documents):
        size = len(json.dumps(document.manifest, separators=(",", ":")).encode())
        if size > limits.max_manifest_bytes:
            where = f"{document.file}, document {document.index + 1}"
            raise ApiError(
                413,
                "payload_too_large",
                f"manifest {position + 1} ({where}) is {_mib(size)}; "
                f"the limit is {_mib(limits.max_manifest_bytes)} per manifest",
                f"keep data out of manifests, or raise {MAX_MANIFEST_ENV} on the API server",
            )
