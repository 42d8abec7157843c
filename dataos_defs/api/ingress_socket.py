"""WebSockets through the ingress: admitted like any request, then relayed both ways.

The handshake is a ``GET``: the same path rules, authentication and Heimdall decision
(predicate ``get``) as an HTTP request (:func:`dataos_defs.api.ingress.admit`); a refusal
answers the handshake with the API's JSON error. The ingress then opens its own websocket
to a ready replica (the next one when a replica refuses the connection), with the same
headers an HTTP request would carry (identity set by the ingress, the caller's credentials,
cookies and handshake headers never forwarded) and the client's subprotocols, accepts the
client's socket with the replica's choice, and relays text and binary messages until
either side closes. Messages from a replica are at most ``DATAOS_INGRESS_MAX_BODY`` bytes.
"""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import WebSocket
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException
from websockets.typing import Subprotocol

from dataos_defs.api.dagster_socket import deny
from dataos_defs.api.errors import ApiError
from dataos_defs.api.ingress_proxy import Balancer, IngressSettings
from dataos_defs.api.ingress_routing import Route, upstream_path

HANDSHAKE = frozenset(
    {
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-extensions",
        "sec-websocket-protocol",
        "sec-websocket-accept",
    }
)


async def relay_socket(websocket: WebSocket, route: Route, headers: list[tuple[str, str]]) -> None:
    """Connect to a ready replica of ``route`` and relay (``websocket`` is admitted)."""
    state = websocket.app.state
    balancer: Balancer = state.ingress_balancer
    settings: IngressSettings = state.ingress_settings
    replicas = state.workloads.endpoints(route.workspace, route.name)
    raw = websocket.scope.get("raw_path") or websocket.scope["path"].encode()
    path = upstream_path(route, raw.decode("latin-1").split("?", 1)[0])
    query = websocket.url.query
    forwarded = [(k, v) for k, v in headers if k.lower() not in HANDSHAKE]
    offered = [Subprotocol(p) for p in websocket.scope.get("subprotocols", [])]
    failures: list[str] = []
    for replica in balancer.order(route, replicas) if replicas else []:
        url = f"ws://{replica.host}:{replica.port}{path}" + (f"?{query}" if query else "")
        try:
            upstream = await connect(
                url,
                additional_headers=forwarded,
                subprotocols=offered or None,
                proxy=None,
                compression=None,
                user_agent_header=None,
                max_size=settings.max_body,
                open_timeout=10,
            )
        except OSError as exc:
            failures.append(f"{replica.replica}: {exc.strerror or type(exc).__name__}")
            continue
        except (TimeoutError, WebSocketException) as exc:
            failures.append(f"{replica.replica}: {type(exc).__name__}")
            break
        async with upstream:
            await websocket.accept(subprotocol=upstream.subprotocol)
            await _pump(websocket, upstream)
        return
    await deny(
        websocket,
        ApiError(
            502,
            "service_unreachable",
            f"no replica of service {route.workspace}/{route.name} took the websocket: "
            + ("; ".join(failures) or "none is ready"),
        ),
    )


async def _pump(websocket: WebSocket, upstream: ClientConnection) -> None:
    async def inbound() -> None:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                await upstream.send(message["text"])
            elif message.get("bytes") is not None:
                await upstream.send(message["bytes"])

    async def outbound() -> None:
        async for message in upstream:
            if isinstance(message, str):
                await websocket.send_text(message)
            else:
                await websocket.send_bytes(message)

    tasks = [asyncio.create_task(inbound()), asyncio.create_task(outbound())]
    _, pending = await asyncio.wait(tasks, return_when="FIRST_COMPLETED")
    for task in pending:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    with contextlib.suppress(RuntimeError, WebSocketException):
        await websocket.close(1000)
