"""An OPA-compatible decision API, so any OPA client (and Trino's OPA plugin) can ask Heimdall.

It follows OPA's REST API v1 for what clients use: ``/v1/data/{path}`` (POST with
``{"input": ...}``, GET, PUT, DELETE), ``/v1/policies[/{id}]`` (GET, PUT raw Rego, DELETE)
and ``/v1/query``. Answers and errors have OPA's shapes (``{"result": ...}``, ``{}`` when
undefined, ``{"code", "message"}``). Unlike a bare OPA, every call is authenticated and
authorized by Heimdall itself (predicate = the HTTP method, object = the API path), and
``data.heimdall`` — compiled from DataOS policies — cannot be overwritten. Policies and
data written through this API live in memory, as in OPA without bundles.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse, Response

from dataos_defs.api.authz import authorize, heimdall_of
from dataos_defs.api.identity import Identity, current_identity
from dataos_defs.api.opa_gate import (
    package_root,
    platform_roots,
    protected,
    read_requirements,
)
from dataos_defs.heimdall.engine import UNDEFINED, EngineError
from dataos_defs.heimdall.pdp import PolicyEngineError

router = APIRouter(tags=["opa"])
IdentityDep = Annotated[Identity, Depends(current_identity)]
_SEGMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PACKAGE = re.compile(r"^\s*package\s+([A-Za-z_][A-Za-z0-9_.]*)", re.MULTILINE)
_RULE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*(?:contains|if|:=|=|\[|\{|\()", re.MULTILINE)
ENGINE_ERROR_MESSAGE = "policy engine error, access denied"


def _opa_error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"code": code, "message": message})


def _segments(path: str) -> list[str] | JSONResponse:
    parts = [p for p in path.split("/") if p]
    if not all(_SEGMENT.match(p) for p in parts):
        return _opa_error(400, "invalid_parameter", f"unsupported document path {path!r}")
    return parts


def _guard(request: Request, identity: Identity) -> None:
    authorize(request, identity, request.method.lower(), request.url.path)


def _roots(request: Request) -> frozenset[str]:
    return platform_roots(heimdall_of(request).base_modules)


def _platform_refusal(parts: list[str]) -> JSONResponse:
    document = ".".join(["data", *parts])
    return _opa_error(
        403, "forbidden", f"{document} belongs to the platform (policies/, DataOS policies)"
    )


@router.post("/v1/data/{path:path}")
@router.post("/v1/data", include_in_schema=False)
def post_data(
    request: Request, identity: IdentityDep, path: str = "", body: Annotated[Any, Body()] = None
) -> Any:
    """Evaluate the document at ``path`` with ``input``; ``{}`` when undefined."""
    _guard(request, identity)
    parts = _segments(path)
    if isinstance(parts, JSONResponse):
        return parts
    document = body.get("input") if isinstance(body, dict) else None
    return _evaluate(request, identity, parts, document)


@router.get("/v1/data/{path:path}")
@router.get("/v1/data", include_in_schema=False)
def get_data(request: Request, identity: IdentityDep, path: str = "") -> Any:
    _guard(request, identity)
    parts = _segments(path)
    if isinstance(parts, JSONResponse):
        return parts
    return _evaluate(request, identity, parts, None)


def _evaluate(request: Request, identity: Identity, parts: list[str], document: Any) -> Any:
    """The document's value, once the caller may read it (opa_gate.py); an engine error is
    503 without its detail, which can quote policy source."""
    for predicate, target in read_requirements(
        parts, document, identity.user_id, identity.tags, _roots(request)
    ):
        authorize(request, identity, predicate, target)
    query = ".".join(["data", *parts])
    try:
        value = heimdall_of(request).pdp.query(query, document)
    except PolicyEngineError:
        return _opa_error(503, "internal_error", ENGINE_ERROR_MESSAGE)
    if value is UNDEFINED:
        return {}
    return {"result": value, "decision_id": uuid.uuid4().hex}


@router.put("/v1/data/{path:path}", response_model=None)
def put_data(
    request: Request, identity: IdentityDep, path: str, body: Annotated[Any, Body()] = None
) -> Any:
    _guard(request, identity)
    parts = _segments(path)
    if isinstance(parts, JSONResponse):
        return parts
    if protected(parts, _roots(request)):
        return _platform_refusal(parts)
    heimdall = heimdall_of(request)
    data = _set_in(heimdall.extra_data, parts, body)
    assert data is not None
    heimdall.set_extra_data(data)
    return Response(status_code=204)


@router.delete("/v1/data/{path:path}", response_model=None)
def delete_data(request: Request, identity: IdentityDep, path: str) -> Any:
    _guard(request, identity)
    parts = _segments(path)
    if isinstance(parts, JSONResponse):
        return parts
    if protected(parts, _roots(request)):
        return _platform_refusal(parts)
    heimdall = heimdall_of(request)
    data = _set_in(heimdall.extra_data, parts, None, delete=True)
    if data is None:
        return _opa_error(404, "resource_not_found", f"storage path /{path} not found")
    heimdall.set_extra_data(data)
    return Response(status_code=204)


def _set_in(
    data: dict[str, Any], parts: list[str], value: Any, delete: bool = False
) -> dict[str, Any] | None:
    """A copy of ``data`` with ``value`` at ``parts`` (or that key removed)."""
    root = dict(data)
    node = root
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            if delete:
                return None
            child = {}
        node[part] = dict(child)
        node = node[part]
    if delete:
        if parts[-1] not in node:
            return None
        del node[parts[-1]]
    else:
        node[parts[-1]] = value
    return root


def _policy(module_id: str, raw: str) -> dict[str, Any]:
    package = _PACKAGE.search(raw)
    path = [{"type": "var", "value": "data"}] + [
        {"type": "string", "value": part}
        for part in (package.group(1).split(".") if package else [])
    ]
    rules = sorted(set(_RULE.findall(raw)) - {"package", "import", "default"})
    return {
        "id": module_id,
        "raw": raw,
        "ast": {"package": {"path": path}, "rules": [{"head": {"name": r}} for r in rules]},
    }


@router.get("/v1/policies")
@router.get("/v1/policies/", include_in_schema=False)
def list_policies(request: Request, identity: IdentityDep) -> Any:
    _guard(request, identity)
    heimdall = heimdall_of(request)
    modules = {**heimdall.base_modules, **heimdall.extra_modules}
    return {"result": [_policy(module_id, raw) for module_id, raw in sorted(modules.items())]}


@router.get("/v1/policies/{module_id:path}")
def get_policy(request: Request, identity: IdentityDep, module_id: str) -> Any:
    _guard(request, identity)
    heimdall = heimdall_of(request)
    raw = heimdall.extra_modules.get(module_id) or heimdall.base_modules.get(module_id)
    if raw is None:
        return _opa_error(
            404, "resource_not_found", f"storage_not_found_error: policy id {module_id!r}"
        )
    return {"result": _policy(module_id, raw)}


@router.put("/v1/policies/{module_id:path}")
async def put_policy(request: Request, identity: IdentityDep, module_id: str) -> Any:
    _guard(request, identity)
    heimdall = heimdall_of(request)
    if module_id in heimdall.base_modules:
        return _opa_error(403, "forbidden", f"{module_id} is a platform policy (policies/)")
    raw = (await request.body()).decode("utf-8", errors="replace")
    root = package_root(raw)
    if root is None:
        return _opa_error(
            400, "invalid_parameter", "a module must start with its package declaration"
        )
    if root in _roots(request):
        return _platform_refusal([root])
    try:
        heimdall.set_modules({**heimdall.extra_modules, module_id: raw})
    except EngineError as exc:
        return _opa_error(
            400, "invalid_parameter", f"error(s) occurred while compiling module(s): {exc}"
        )
    return {}


@router.delete("/v1/policies/{module_id:path}")
def delete_policy(request: Request, identity: IdentityDep, module_id: str) -> Any:
    _guard(request, identity)
    heimdall = heimdall_of(request)
    if module_id not in heimdall.extra_modules:
        return _opa_error(
            404, "resource_not_found", f"storage_not_found_error: policy id {module_id!r}"
        )
    remaining = {k: v for k, v in heimdall.extra_modules.items() if k != module_id}
    heimdall.set_modules(remaining)
    return {}


@router.post("/v1/query")
def ad_hoc_query(
    request: Request, identity: IdentityDep, body: Annotated[Any, Body()] = None
) -> Any:
    """An ad-hoc query can read any document, so it also needs ``get`` on ``/v1/data``."""
    _guard(request, identity)
    authorize(request, identity, "get", "/v1/data")
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return _opa_error(400, "invalid_parameter", 'expected {"query": "...", "input": ...}')
    try:
        bindings = heimdall_of(request).pdp.ad_hoc(body["query"], body.get("input"))
    except PolicyEngineError as exc:
        return _opa_error(400, "invalid_parameter", str(exc))
    return {"result": bindings}
