"""FastAPI dependencies shared by the routers."""

from __future__ import annotations

from fastapi import Request

from dataos_defs.poros.store import Store


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store
