"""How the monitor jobs of this code location ask the API server to evaluate a monitor.

With the key of the monitor scheduler (``dataos_defs.monitor.scheduler``), read from
``<DATAOS_HOME>/monitor/scheduler.credentials`` when the op runs (never compiled, never
logged), to ``DATAOS_API_URL`` or the address the server wrote beside the key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx
from dagster import Failure

from dataos_defs.heimdall.credentials import API_URL_ENV, CredentialsError
from dataos_defs.monitor.scheduler import read_scheduler_credentials
from dataos_defs.poros.settings import Settings

TIMEOUT_S = 120.0
"""An evaluation may run two queries through the Gateway."""
DEFAULT_API_URL = "http://127.0.0.1:7400"


def evaluate_remotely(workspace: str, name: str) -> Mapping[str, Any]:
    """``POST /monitor/api/v1/monitors/{workspace}/{name}/evaluate`` as the scheduler."""
    try:
        credentials = read_scheduler_credentials(Settings.from_env().home)
    except CredentialsError as exc:
        raise Failure(str(exc)) from None
    base = (os.environ.get(API_URL_ENV) or credentials.api_url or DEFAULT_API_URL).rstrip("/")
    path = f"/monitor/api/v1/monitors/{quote(workspace, safe='')}/{quote(name, safe='')}/evaluate"
    try:
        response = httpx.post(
            base + path,
            headers={"Authorization": f"Bearer {credentials.api_key}"},
            timeout=TIMEOUT_S,
        )
    except httpx.HTTPError as exc:
        raise Failure(f"the API server at {base} did not answer: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise Failure(
            f"the API server answered {response.status_code} for {path}: {response.text[:500]}"
        )
    answer: Mapping[str, Any] = response.json()
    return answer
