"""The ingress's path rules, as pure functions: where a Service is served, which Service a
request path reaches, which paths are refused."""

from __future__ import annotations

import pytest

from dataos_defs.api.ingress_routing import (
    Route,
    match,
    overlaps,
    path_problem,
    public_prefix,
    request_path_problem,
    upstream_path,
)
from dataos_defs.manifest.service import Ingress


def ingress(path: str, strip: bool = False, open_: bool = False) -> Ingress:
    return Ingress(enabled=True, path=path, stripPath=strip, noAuthentication=open_)


def test_public_paths_stay_in_their_workspace() -> None:
    assert public_prefix("ws", "svc", None) == ("/ws/svc", True, False)
    assert public_prefix("ws", "svc", Ingress(enabled=False, path="/x")) == ("/ws/svc", True, False)
    assert public_prefix("ws", "svc", ingress("/orders/api/")) == ("/ws/orders/api", False, False)
    assert public_prefix("ws", "svc", ingress("/ws/orders", True)) == ("/ws/orders", True, False)
    assert public_prefix("ws", "svc", ingress("/wsx/a")) == ("/ws/wsx/a", False, False)
    assert public_prefix("ws", "svc", ingress("/other/a", open_=True)) == (
        "/ws/other/a",
        False,
        True,
    )


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("/orders/api/v1", None),
        ("/a.b/c~d/e-f_g/", None),
        ("/", "names no segment"),
        ("/..", "'..' segment"),
        ("/a/../b", "'..' segment"),
        ("/a/./b", "'.' segment"),
        ("//a", "empty segment"),
        ("/a%2Fb", "percent-encoded"),
        ("/a\\b", "backslash"),
        ("/a b", "characters other than"),
        ("/a?b", "characters other than"),
        ("a/b", "does not start with '/'"),
    ],
)
def test_ingress_path_problems(path: str, problem: str | None) -> None:
    found = path_problem(path)
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_overlaps_are_by_segment() -> None:
    assert (
        overlaps("/ws/a", "/ws/a") and overlaps("/ws/a", "/ws/a/b") and overlaps("/ws/a/b", "/ws/a")
    )
    assert not overlaps("/ws/a", "/ws/ab") and not overlaps("/ws/a/b", "/ws/a/c")


@pytest.mark.parametrize(
    "raw",
    [
        "/ws/a/../b",
        "/ws/a/%2e%2e/b",
        "/ws/a/%2E./b",
        "/ws/a%2fb",
        "/ws/a%5Cb",
        "/ws/a\\b",
        "/ws//a",
        "/ws/a/.",
        "/ws/a/..",
    ],
)
def test_request_paths_refused(raw: str) -> None:
    assert request_path_problem(raw) is not None


def test_request_paths_routed_and_stripped() -> None:
    assert request_path_problem("/ws/a/b/") is None and request_path_problem("/ws/a") is None
    a = Route("/ws/a", "ws", "a", True, False, None)
    ab = Route("/ws/a/b", "ws", "ab", False, False, None)
    assert match([a, ab], "/ws/a/b/c") == ab
    assert match([a, ab], "/ws/a/bc") == a
    assert match([a, ab], "/ws/ab") is None
    assert upstream_path(a, "/ws/a") == "/" and upstream_path(a, "/ws/a/x/y") == "/x/y"
    assert upstream_path(ab, "/ws/a/b/x") == "/ws/a/b/x"


def test_every_route_of_the_whole_api_server_is_reserved_as_a_workspace_name() -> None:
    """Every first path segment the full API server routes (all services, the pages) is a
    name no workspace may take, or that workspace's Services would be shadowed."""
    from dataos_defs.api.app import create_app
    from dataos_defs.poros.workspaces import RESERVED_PATH_SEGMENTS

    app = create_app()
    firsts = {
        str(getattr(route, "path", "/")).split("/")[1]
        for route in app.routes
        if not str(getattr(route, "path", "")).startswith("/{")
    }
    assert firsts - {""} <= RESERVED_PATH_SEGMENTS, firsts - RESERVED_PATH_SEGMENTS
