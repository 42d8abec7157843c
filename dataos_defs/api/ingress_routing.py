"""Where each Service is served, and which Service a request path reaches.

The public path of a Service is a prefix of the API server's URL space:

* ``/<workspace>/<name>`` by default (the rest of the path is forwarded, prefix stripped);
* ``/<workspace><ingress.path>`` when its ``ingress`` is enabled with a ``path`` (a path that
  already begins with ``/<workspace>/`` is taken as is, not doubled); ``stripPath`` says
  whether the prefix is stripped before forwarding.

Every public path stays inside its workspace's prefix: an ``ingress.path`` is a sequence
of non-empty segments of RFC 3986 *unreserved* characters (letters, digits, ``-._~``),
none of them ``.`` or ``..`` — so no percent-encoding, backslash, empty segment or dot
segment can make it (or a request for it) resolve elsewhere. Two Services may not share a
public path, nor may one lie inside another's (``/ws/a`` and ``/ws/a/b``): admission
(:mod:`dataos_defs.api.admission.services`) refuses both, so every request path reaches at
most one Service.

Request paths are matched on their raw (still percent-encoded) form; one with an encoded
``/``, ``\\`` or ``.``, a backslash, an empty or a dot segment is refused (400) before any
look-up, so what is matched is exactly what is forwarded.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from dataos_defs.manifest.service import Ingress
from dataos_defs.poros.records import StoredResource
from dataos_defs.poros.store import Store

SEGMENT = re.compile(r"^[A-Za-z0-9._~-]+$")
ENCODED_SEPARATORS = re.compile(r"%(2[fFeE]|5[cC])")
REFRESH_SECONDS = 1.0
"""How stale the routing table may be after a Service is applied or deleted."""
MISS_REFRESH_SECONDS = 0.1
"""A path that reaches no Service re-reads the table sooner (a Service just applied)."""


@dataclass(frozen=True)
class Route:
    """One Service's public path."""

    prefix: str
    """Without a trailing ``/``: ``/public/orders`` serves ``/public/orders`` and below."""
    workspace: str
    name: str
    strip: bool
    no_authentication: bool
    owner: str | None


def ingress_of(manifest: dict[str, Any]) -> Ingress | None:
    """The ``service.ingress`` of a stored (already valid) Service manifest."""
    found = (manifest.get("service") or {}).get("ingress")
    return Ingress.model_validate(found) if isinstance(found, dict) else None


def path_problem(path: str) -> str | None:
    """Why an ``ingress.path`` could escape its workspace or is malformed; None when fine."""
    if "\\" in path:
        return "it contains a backslash"
    if "%" in path:
        return "it contains a percent-encoded character"
    if not path.startswith("/"):
        return "it does not start with '/'"
    segments = path[1:].removesuffix("/").split("/")
    if segments == [""]:
        return "it names no segment ('/' would be the whole workspace)"
    for segment in segments:
        if segment == "":
            return "it has an empty segment ('//')"
        if segment in (".", ".."):
            return f"it has a '{segment}' segment"
        if not SEGMENT.match(segment):
            return f"its segment '{segment}' has characters other than letters, digits and '-._~'"
    return None


def public_prefix(workspace: str, name: str, ingress: Ingress | None) -> tuple[str, bool, bool]:
    """``(prefix, strip, no_authentication)`` of a Service (see the module docstring)."""
    if ingress is None or not ingress.enabled or not ingress.path:
        return f"/{workspace}/{name}", True, False
    path = ingress.path.removesuffix("/")
    if path != f"/{workspace}" and not path.startswith(f"/{workspace}/"):
        path = f"/{workspace}{path}"
    return path, ingress.stripPath, ingress.noAuthentication


def overlaps(a: str, b: str) -> bool:
    """Whether one public path equals the other or lies inside it."""
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


def route_of(stored: StoredResource) -> Route | None:
    if stored.workspace is None:
        return None
    prefix, strip, open_ = public_prefix(stored.workspace, stored.name, ingress_of(stored.manifest))
    return Route(prefix, stored.workspace, stored.name, strip, open_, stored.owner)


def request_path_problem(raw_path: str) -> str | None:
    """Why a request path is refused before routing (400); None when it may be routed."""
    if "\\" in raw_path or ENCODED_SEPARATORS.search(raw_path):
        return "the path has a backslash or a percent-encoded '/', '\\' or '.'"
    segments = raw_path[1:].split("/")
    inner = segments[:-1]
    if any(s in ("", ".", "..") for s in inner) or segments[-1] in (".", ".."):
        return "the path has an empty, '.' or '..' segment"
    return None


def match(routes: Iterable[Route], raw_path: str) -> Route | None:
    """The Service whose public path holds ``raw_path`` (the longest, should two)."""
    best: Route | None = None
    for route in routes:
        inside = raw_path == route.prefix or raw_path.startswith(route.prefix + "/")
        if inside and (best is None or len(route.prefix) > len(best.prefix)):
            best = route
    return best


def upstream_path(route: Route, raw_path: str) -> str:
    """The path the replica is asked for."""
    if not route.strip:
        return raw_path
    rest = raw_path[len(route.prefix) :]
    return rest if rest.startswith("/") else "/" + rest


class RouteTable:
    """Every live Service's route, by workspace, re-read when the store changes (checked at
    most every :data:`REFRESH_SECONDS`; a miss checks again after
    :data:`MISS_REFRESH_SECONDS`). Thread-safe; called from the thread pool."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._by_workspace: dict[str, list[Route]] = {}
        self._marker: object = None
        self._checked_at = float("-inf")

    def find(self, raw_path: str) -> Route | None:
        workspace = raw_path[1:].split("/", 1)[0]
        self._refresh(REFRESH_SECONDS)
        found = match(self._by_workspace.get(workspace, ()), raw_path)
        if found is None:
            self._refresh(MISS_REFRESH_SECONDS)
            found = match(self._by_workspace.get(workspace, ()), raw_path)
        return found

    def _refresh(self, interval: float) -> None:
        with self._lock:
            now = time.monotonic()
            if now - self._checked_at < interval:
                return
            self._checked_at = now
            marker = self.store.change_marker()
            if marker == self._marker:
                return
            table: dict[str, list[Route]] = {}
            for stored in self.store.list(kind="service"):
                route = route_of(stored)
                if route is not None:
                    table.setdefault(route.workspace, []).append(route)
            self._by_workspace = table
            self._marker = marker
