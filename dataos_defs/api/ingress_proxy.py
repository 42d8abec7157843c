"""Forwarding one admitted request to a Service's replicas: balancing, headers, bodies.

* **Balancing**: round robin over the ready replicas the workload runtime lists
  (:meth:`Workloads.endpoints`). A replica that refuses the connection (it is stopping, or
  crashed since it was listed) is skipped for the next one: nothing was sent to it, not
  even a byte of the body. A replica that drops a connection before answering is skipped
  the same way for ``GET``/``HEAD``/``OPTIONS`` without a body (it may have acted on
  it). That is what lets a rolling update go by without a client seeing an error.
* **Headers**: the caller's credentials (``Authorization``, ``apikey``, ``Cookie``), the
  hop-by-hop headers and the body framing are never forwarded
  (:mod:`dataos_defs.api.proxy_headers`); neither is any ``X-DataOS-*``, ``Forwarded`` or
  ``X-Forwarded-*`` header the caller sent, so that nobody can forge an identity. The
  ingress sets ``X-DataOS-User`` and ``X-DataOS-Tags`` (absent for a ``noAuthentication``
  Service) and ``X-Forwarded-For``/``-Proto``/``-Host``/``-Prefix``. Answers lose hop-by-hop
  headers and ``Set-Cookie`` (a Service shares the platform's origin and never sees the
  caller's cookies), and gain ``Content-Security-Policy: sandbox ...``, so a page a Service
  serves runs in an opaque origin and its scripts cannot act on the platform's pages.
* **Bodies** stream both ways; a request body is at most ``DATAOS_INGRESS_MAX_BODY`` bytes
  (413 beyond it), and a replica that does not answer within ``DATAOS_INGRESS_TIMEOUT``
  seconds gets the caller a 504.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import aiohttp
from fastapi import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from dataos_defs.api.errors import ApiError
from dataos_defs.api.identity import Identity
from dataos_defs.api.ingress_routing import Route
from dataos_defs.api.proxy_headers import (
    NOT_FORWARDED_RAW,
    connection_named,
    returned_raw_headers,
)
from dataos_defs.poros.workloads import Endpoint

MAX_BODY_ENV = "DATAOS_INGRESS_MAX_BODY"
TIMEOUT_ENV = "DATAOS_INGRESS_TIMEOUT"
DEFAULT_MAX_BODY = 32 << 20
DEFAULT_TIMEOUT = 60.0
USER_HEADER = "x-dataos-user"
TAGS_HEADER = "x-dataos-tags"
SET_BY_THE_INGRESS = ("x-dataos-", "x-forwarded-", "forwarded", "x-real-ip")
"""Header names (prefixes) only the ingress may set; the caller's are dropped. (``Expect``
is dropped too: the API server answers ``100-continue`` itself when it reads the body.)"""
REPLAYABLE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SANDBOX = "sandbox allow-scripts allow-forms allow-popups allow-downloads allow-modals"
SANDBOX_HEADER = (b"content-security-policy", SANDBOX.encode())


@dataclass(frozen=True)
class IngressSettings:
    max_body: int
    timeout: float

    @classmethod
    def from_env(cls) -> IngressSettings:
        return cls(
            int(_positive(MAX_BODY_ENV, DEFAULT_MAX_BODY)), _positive(TIMEOUT_ENV, DEFAULT_TIMEOUT)
        )


def _positive(name: str, default: float) -> float:
    """A setting from the environment; a malformed one stops the server with its name."""
    given = os.environ.get(name)
    if given is None or not given.strip():
        return default
    try:
        value = float(given)
    except ValueError:
        raise ValueError(f"{name}={given!r} is not a number") from None
    if value <= 0:
        raise ValueError(f"{name}={given!r} must be greater than 0")
    return value


class Balancer:
    """Round robin per Service: each request starts one replica further on."""

    def __init__(self) -> None:
        self._counters: dict[tuple[str, str], itertools.count[int]] = {}

    def order(self, route: Route, endpoints: Sequence[Endpoint]) -> list[Endpoint]:
        counter = self._counters.setdefault((route.workspace, route.name), itertools.count())
        start = next(counter) % len(endpoints)
        return [*endpoints[start:], *endpoints[:start]]


@dataclass(frozen=True)
class RequestHead:
    """What the ingress reads of a request's headers, in one pass over the raw ASGI pairs
    (names lower-case, as ASGI gives them)."""

    kept: list[tuple[str, str]]
    """The caller's headers that are forwarded as they came (see the module docstring)."""
    length: str | None
    """The declared ``Content-Length`` (the first one)."""
    chunked: bool
    """Whether the request has a ``Transfer-Encoding``."""
    host: str | None


DROPPED_RAW = NOT_FORWARDED_RAW | {b"expect"}
SET_BY_THE_INGRESS_RAW = tuple(prefix.encode() for prefix in SET_BY_THE_INGRESS)


def read_head(scope: Scope) -> RequestHead:
    """The request's headers as the ingress needs them (see :class:`RequestHead`)."""
    pairs: list[tuple[bytes, bytes]] = scope["headers"]
    named = connection_named(pairs)
    kept: list[tuple[str, str]] = []
    length: bytes | None = None
    host: bytes | None = None
    chunked = False
    for raw_name, value in pairs:
        name = raw_name.lower()
        if name == b"content-length" and length is None:
            length = value
        elif name == b"transfer-encoding":
            chunked = True
        elif name == b"host" and host is None:
            host = value
        if name in DROPPED_RAW or name in named or name.startswith(SET_BY_THE_INGRESS_RAW):
            continue
        kept.append((name.decode("latin-1"), value.decode("latin-1")))
    return RequestHead(
        kept,
        None if length is None else length.decode("latin-1"),
        chunked,
        None if host is None else host.decode("latin-1"),
    )


def upstream_headers(
    scope: Scope, route: Route, identity: Identity | None, head: RequestHead | None = None
) -> list[tuple[str, str]]:
    """What the replica is told (see the module docstring)."""
    head = head or read_head(scope)
    kept = list(head.kept)
    if head.length is not None and not head.chunked:
        kept.append(("content-length", head.length))
    if identity is not None:
        kept.append((USER_HEADER, identity.user_id))
        kept.append((TAGS_HEADER, ",".join(sorted(identity.tags))))
    client = scope.get("client")
    if client:
        kept.append(("x-forwarded-for", str(client[0])))
    scheme = str(scope.get("scheme", "http"))
    kept.append(("x-forwarded-proto", {"ws": "http", "wss": "https"}.get(scheme, scheme)))
    if head.host:
        kept.append(("x-forwarded-host", head.host))
    if route.strip:
        kept.append(("x-forwarded-prefix", route.prefix))
    return kept


def has_body(head: RequestHead, max_body: int) -> bool:
    """Whether the request has a body (413 up front when it declares too large a one)."""
    declared = head.length
    if declared is not None and not declared.isdigit():
        raise ApiError(400, "bad_request", "Content-Length is not a number")
    if declared is not None and int(declared) > max_body:
        raise _too_large(max_body)
    return head.chunked or declared not in (None, "0")


class BoundedBody:
    """The request body as a stream that stops past ``max_body`` bytes (and says so)."""

    def __init__(self, request: Request, max_body: int) -> None:
        self.request = request
        self.max_body = max_body
        self.too_large = False
        self.started = False
        """Whether a byte was read: until then the request can still go to another replica."""

    async def chunks(self) -> AsyncIterator[bytes]:
        self.started = True
        size = 0
        async for chunk in self.request.stream():
            size += len(chunk)
            if size > self.max_body:
                self.too_large = True
                raise _too_large(self.max_body)
            yield chunk


def _too_large(max_body: int) -> ApiError:
    return ApiError(
        413,
        "request_too_large",
        f"request bodies through the ingress are at most {max_body} bytes",
        f"send less, or ask an operator to raise {MAX_BODY_ENV}",
    )


async def forward(
    request: Request,
    session: aiohttp.ClientSession,
    route: Route,
    path: str,
    identity: Identity | None,
    replicas: Sequence[Endpoint],
    max_body: int,
) -> Relayed:
    """Send the request to the first of ``replicas`` that takes it; stream its answer."""
    head = read_head(request.scope)
    body = BoundedBody(request, max_body) if has_body(head, max_body) else None
    headers = upstream_headers(request.scope, route, identity, head)
    query = request.scope.get("query_string", b"")
    target = path + (f"?{query.decode()}" if query else "")  # as Starlette's URL does
    retry_dropped = body is None and request.method in REPLAYABLE_METHODS
    failures: list[str] = []
    for replica in replicas:
        url = f"http://{_host(replica.host)}:{replica.port}{target}"
        try:
            upstream = await session.request(
                request.method,
                url,
                headers=headers,
                data=None if body is None else body.chunks(),
                allow_redirects=False,
            )
        except TimeoutError as exc:
            raise ApiError(
                504,
                "service_timeout",
                f"service {route.workspace}/{route.name} did not answer in time",
                f"replica {replica.replica}; operators: {TIMEOUT_ENV}",
            ) from exc
        except aiohttp.ClientConnectorError as exc:
            failures.append(f"{replica.replica}: {exc.strerror or type(exc).__name__}")
            if body is None or not body.started:
                continue
            raise _unreachable(route, failures) from exc
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
            if body is not None and body.too_large:
                raise _too_large(max_body) from exc
            failures.append(f"{replica.replica}: {type(exc).__name__}")
            if retry_dropped:
                continue
            raise _unreachable(route, failures) from exc
        return Relayed(upstream)
    raise _unreachable(route, failures)


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _unreachable(route: Route, failures: list[str]) -> ApiError:
    return ApiError(
        502,
        "service_unreachable",
        f"no replica of service {route.workspace}/{route.name} answered: " + "; ".join(failures),
        f"see 'dataos-ctl get runtime -t service -n {route.name} -w {route.workspace}'",
    )


class Relayed(Response):
    """A replica's answer, streamed to the caller as it comes (raw ASGI: no task group per
    response), its connection released when done or when the caller goes away. The chunk
    that ends the body is sent as the last message (a small answer is one message)."""

    def __init__(self, upstream: aiohttp.ClientResponse) -> None:
        self.upstream = upstream
        self.status_code = upstream.status
        self.background = None
        self.raw_headers = [*returned_raw_headers(upstream.raw_headers), SANDBOX_HEADER]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )
            content = self.upstream.content
            ended = False
            async for chunk in content.iter_any():
                ended = content.at_eof()
                await send({"type": "http.response.body", "body": chunk, "more_body": not ended})
                if ended:
                    break
            if not ended:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            self.upstream.release()
