"""``dataos-ctl health`` and ``version`` against a real server (which runs no Dagster)."""

from __future__ import annotations

import httpx
import pytest

from tests.interfaces.conftest import Server, run_cli

pytestmark = pytest.mark.slow


def test_health_reports_every_component(server: Server) -> None:
    shown = run_cli(server, "health")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines() == [
        f"API server {server.url}...ok",
        "store...ok",
        "heimdall...ok",
        "dagster...not configured",
    ]


def test_the_components_route_needs_a_key_and_leaks_nothing(server: Server) -> None:
    assert httpx.get(f"{server.url}/health/components").status_code == 401
    body = httpx.get(f"{server.url}/health/components", headers=server.headers).text
    assert str(server.home) not in body and "sqlite" not in body.lower()


def test_health_without_a_server_fails_with_a_hint(tmp_path) -> None:
    shown = run_cli(None, "health", DATAOS_API_URL="http://127.0.0.1:9", DATAOS_HOME=str(tmp_path))
    assert shown.returncode == 1
    assert "cannot reach the DataOS API" in shown.stderr


def test_version_names_the_client_and_the_server(server: Server) -> None:
    from dataos_defs import __version__

    shown = run_cli(server, "version")
    assert shown.stdout.splitlines() == [
        f"dataos-ctl {__version__}",
        f"server {server.url}: {__version__}",
    ]
