"""The websocket half of the Dagster door: Dagster's GraphQL subscriptions, relayed.

The door has already authenticated and authorized the connection; here it opens its own
websocket to the read-only webserver (offering the client's subprotocols: Dagster speaks
``graphql-ws``), accepts the client's, and relays messages both ways. Every client message
is checked first (:func:`dagster_guard.canonical_ws_message`: queries and subscriptions only,
at most 1 MiB, text) and sent on in its canonical form; a refused one closes the socket with
4400 or 4403. A session-authenticated socket is closed (4401) when its session expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from fastapi import WebSocket
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException
from websockets.typing import Subprotocol

from dataos_defs.api import dagster_guard as guard
from dataos_defs.api.errors import ApiError, error_response

MAX_UPSTREAM_MESSAGE = 64 << 20


async def deny(websocket: WebSocket, exc: ApiError) -> None:
    """Refuse the handshake with the API's JSON error (or, without the ASGI denial response
    extension, close it with 1008)."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(
            error_response(exc.status, exc.code, exc.message, exc.hint)
        )
    else:
        await websocket.close(code=1008, reason=exc.code)


async def relay(websocket: WebSocket, url: str, deadline: float | None) -> None:
    """Connect to ``url`` and relay until either side closes or ``deadline`` passes."""
    offered = [Subprotocol(p) for p in websocket.scope.get("subprotocols", [])]
    try:
        upstream = await connect(
            url,
            subprotocols=offered or None,
            proxy=None,
            max_size=MAX_UPSTREAM_MESSAGE,
            open_timeout=10,
        )
    except (OSError, TimeoutError, WebSocketException) as exc:
        await deny(websocket, ApiError(502, "dagster_ui_unreachable", str(exc)))
        return
    async with upstream:
        await websocket.accept(subprotocol=upstream.subprotocol)
        await _pump(websocket, upstream, deadline)


async def _pump(websocket: WebSocket, upstream: ClientConnection, deadline: float | None) -> None:
    async def inbound() -> None:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None or len(text) > guard.MAX_BODY:
                await websocket.close(code=1009 if text else 1003, reason="refused by the door")
                return
            try:
                checked = guard.canonical_ws_message(text)
            except ApiError as exc:
                await websocket.close(code=4000 + exc.status, reason=exc.code)
                return
            await upstream.send(checked)

    async def outbound() -> None:
        async for message in upstream:
            if isinstance(message, str):
                await websocket.send_text(message)
            else:
                await websocket.send_bytes(message)

    tasks = [asyncio.create_task(inbound()), asyncio.create_task(outbound())]
    timeout = None if deadline is None else max(deadline - time.time(), 0)
    done, pending = await asyncio.wait(tasks, timeout=timeout, return_when="FIRST_COMPLETED")
    for task in pending:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    expired = not done
    with contextlib.suppress(RuntimeError, WebSocketException):
        await websocket.close(4401 if expired else 1000, "session expired" if expired else "")
