"""The HTTP API through a real uvicorn server on 127.0.0.1 and the real Python client."""

from __future__ import annotations

import socket

import httpx
import pytest
from manifests import product

from dataos_defs.api.client import ApiFailure, ApiUnavailable, DataosClient
from tests.interfaces.conftest import wire

pytestmark = pytest.mark.slow


def test_health_and_openapi(server) -> None:
    assert httpx.get(f"{server.url}/health").json()["status"] == "ok"
    spec = httpx.get(f"{server.url}/openapi.json").json()
    assert "/poros/api/v1/apply" in spec["paths"]
    assert "/poros/api/v1/resources/{type}/{name}/history" in spec["paths"]
    assert "/heimdall/api/v1/users/{user_id}/apikeys" in spec["paths"]
    assert {"HTTPBearer", "APIKeyHeader"} <= set(spec["components"]["securitySchemes"])


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/poros/api/v1/resources"),
        ("GET", "/poros/api/v1/resources/workflow/x"),
        ("GET", "/poros/api/v1/resources/workflow/x/history"),
        ("POST", "/poros/api/v1/apply"),
        ("DELETE", "/poros/api/v1/resources/depot/x"),
        ("GET", "/poros/api/v1/workspaces"),
        ("POST", "/poros/api/v1/workspaces"),
        ("DELETE", "/poros/api/v1/workspaces/public"),
        ("GET", "/heimdall/api/v1/users"),
        ("GET", "/heimdall/api/v1/whoami"),
    ],
)
def test_requests_without_a_valid_key_get_401(server, method: str, path: str) -> None:
    bad_keys = [
        {},
        {"Authorization": "Bearer dok_0123456789abcdef_" + "A" * 43},
        {"apikey": "not-a-key"},
        {"Authorization": f"Basic {server.api_key}"},
    ]
    for headers in bad_keys:
        response = httpx.request(method, f"{server.url}{path}", headers=headers, json={})
        assert response.status_code == 401, (headers, response.text)
        assert response.headers["WWW-Authenticate"] == "Bearer"
        error = response.json()["error"]
        assert error["code"] == "unauthenticated"
        assert "dataos-ctl login" in error["hint"]


def test_both_key_headers_authenticate(server) -> None:
    for headers in ({"apikey": server.api_key}, server.headers):
        response = httpx.get(f"{server.url}/poros/api/v1/workspaces", headers=headers)
        assert response.status_code == 200, response.text


def test_apply_get_update_unchanged_history(server) -> None:
    with DataosClient(server.url, api_key=server.api_key) as client:
        first = client.apply(wire(product("a")), None)
        assert [(r["type"], r["action"]) for r in first["results"]] == [
            ("instance-secret", "created"),
            ("depot", "created"),
            ("workflow", "created"),
        ]
        again = client.apply(wire(product("a")), None)
        assert {r["action"] for r in again["results"]} == {"unchanged"}
        changed = client.apply(wire(product("a", password="rotated-value")), None)
        assert [r["action"] for r in changed["results"]] == ["updated", "unchanged", "unchanged"]

        workflow = client.get_resource("workflow", "a-copy", None)
        assert workflow["workspace"] == "public"
        assert workflow["status"] == "pending"
        assert workflow["manifest"]["workflow"]["dag"][0]["name"] == "copy"
        history = client.history("instance-secret", "asec", None)
        assert [r["revision"] for r in history["revisions"]] == [1, 2]
        assert history["workspace"] is None


def test_secrets_are_redacted_unless_unsanitized(server) -> None:
    with DataosClient(server.url, api_key=server.api_key) as client:
        client.apply(wire(product("s", password="very-secret-42")), None)
        listed = httpx.get(f"{server.url}/poros/api/v1/resources", headers=server.headers).text
        sanitized = client.get_resource("instance-secret", "ssec", None)
        assert "very-secret-42" not in listed
        assert "very-secret-42" not in str(sanitized)
        assert sanitized["manifest"]["instance-secret"]["data"]["password"] == "<redacted>"
        clear = client.get_resource("instance-secret", "ssec", None, unsanitize=True)
        assert clear["manifest"]["instance-secret"]["data"]["password"] == "very-secret-42"


def test_invalid_set_changes_nothing_and_reports_positions(server) -> None:
    text = product("t") + "---\nname: t-bad\nversion: v1\ntype: workflow\nworkflow:\n  dag: []\n"
    with DataosClient(server.url, api_key=server.api_key) as client:
        before = client.list_resources(None, None, None)
        with pytest.raises(ApiFailure) as caught:
            client.apply(wire(text, "bad.yaml"), None)
        assert caught.value.status == 422
        issue = caught.value.issues[0]
        assert issue["file"] == "bad.yaml"
        assert issue["path"].startswith("workflow.dag")
        assert issue["line"] > 40
        assert client.list_resources(None, None, None) == before


def test_missing_reference_is_positioned(server) -> None:
    text = product("r").replace("name: rsec\n", "name: rsecret\n", 1)
    with (
        DataosClient(server.url, api_key=server.api_key) as client,
        pytest.raises(ApiFailure) as caught,
    ):
        client.apply(wire(text, "ref.yaml"), None)
    issue = caught.value.issues[0]
    assert issue["path"].startswith("depot.secrets[0]")
    assert "rsec" in issue["message"]


def test_workspaces_and_isolation(server) -> None:
    with DataosClient(server.url, api_key=server.api_key) as client:
        client.create_workspace("team-a", "team A", ["dataos:workspace:team-a"])
        assert "team-a" in [w["name"] for w in client.list_workspaces()]
        client.apply(wire(product("w")), "team-a")
        in_a = client.list_resources("workflow", "team-a", None)
        assert [r["name"] for r in in_a] == ["w-copy"]
        assert client.list_resources("workflow", "public", "w-copy") == []
        depot = client.get_resource("depot", "wpg", "team-a")
        assert depot["workspace"] is None
        with pytest.raises(ApiFailure) as refused:
            client.delete_workspace("team-a")
        assert refused.value.status == 409
        client.delete_workspace("team-a", force=True)
        assert "team-a" not in [w["name"] for w in client.list_workspaces()]


def test_apply_into_unknown_workspace_is_refused(server) -> None:
    with (
        DataosClient(server.url, api_key=server.api_key) as client,
        pytest.raises(ApiFailure) as caught,
    ):
        client.apply(wire(product("u")), "no-such-ws")
    assert "workspace create" in str(caught.value.error)


def test_delete_refuses_with_dependents_unless_forced(server) -> None:
    with DataosClient(server.url, api_key=server.api_key) as client:
        client.apply(wire(product("d")), None)
        with pytest.raises(ApiFailure) as caught:
            client.delete_resource("instance-secret", "dsec", None)
        assert caught.value.status == 409
        assert "dpg" in caught.value.error["message"]
        client.delete_resource("instance-secret", "dsec", None, force=True)
        with pytest.raises(ApiFailure) as gone:
            client.get_resource("instance-secret", "dsec", None)
        assert gone.value.status == 404
        actions = [
            r["action"] for r in client.history("instance-secret", "dsec", None)["revisions"]
        ]
        assert actions == ["created", "deleted"]


def test_unknown_type_and_not_found_are_clear(server) -> None:
    response = httpx.get(f"{server.url}/poros/api/v1/resources/workflw/x", headers=server.headers)
    assert response.status_code == 400
    assert response.json()["error"]["hint"].startswith("one of:")
    missing = httpx.get(
        f"{server.url}/poros/api/v1/resources/workflow/nope", headers=server.headers
    )
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_client_reports_an_unreachable_server() -> None:
    with (
        DataosClient("http://127.0.0.1:9", api_key="unused") as client,
        pytest.raises(ApiUnavailable) as caught,
    ):
        client.health()
    assert "dataos-ctl serve" in str(caught.value)


def test_client_tells_a_slow_server_from_an_absent_one() -> None:
    """A server that accepts the connection and never answers: the request may still
    complete there, so the message must not tell the user to start a server."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with (
            DataosClient(url, timeout=0.5, api_key="unused") as client,
            pytest.raises(ApiUnavailable) as caught,
        ):
            client.health()
    message = str(caught.value)
    assert "did not answer GET /health in time" in message
    assert "dataos-ctl serve" not in message
