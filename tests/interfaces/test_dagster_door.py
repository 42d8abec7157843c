"""The Dagster door (``/dagster/...`` on the API server), attacked the way an outsider would.

Real parts: a read-only ``dagster-webserver --read-only --path-prefix /dagster`` over a
one-asset module, API servers (``dataos-ctl serve``) in front of it, and websockets over the
wire. Three more doors: one whose upstream is a recording HTTP server standing in for a
misconfigured, writable Dagster (what reaches it is exactly what the door forwarded), one
whose Heimdall engine fails on every decision, and the scripts of ``make up`` read as text.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from dataos_defs.api.dagster_session import Session, derive_signing_key, encode
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.vault import Vault
from tests.interfaces.conftest import ROOT, Server, free_port, start_server, stop_server, user_key

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

DEFS = """\
import dagster as dg


@dg.asset
def numbers() -> list[int]:
    return [1, 2, 3]


defs = dg.Definitions(assets=[numbers], jobs=[dg.define_asset_job("numbers_job", "*")])
"""
INSTANCE = "telemetry:\n  enabled: false\n"
WEBSERVER = Path(sys.executable).parent / "dagster-webserver"
ASSETS = "{ assetNodes { assetKey { path } } }"
SELECTOR = (
    '{repositoryLocationName: "defs.py", repositoryName: "__repository__", jobName: "numbers_job"}'
)
LAUNCH = f"mutation {{ launchRun(executionParams: {{selector: {SELECTOR}}}) {{ __typename }} }}"
TERMINATE = 'mutation { terminateRun(runId: "0") { __typename } }'
LOG_SUBSCRIPTION = (
    'subscription { pipelineRunLogs(runId: "nope") { __typename '
    "... on PipelineRunLogsSubscriptionFailure { message } } }"
)


# -- the parts --------------------------------------------------------------------------------


def start_webserver(folder: Path) -> tuple[str, subprocess.Popen[bytes]]:
    """The read-only webserver, as ``make up`` starts it, over a one-asset module."""
    (folder / "defs.py").write_text(DEFS)
    home = folder / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text(INSTANCE)
    port = free_port()
    process = subprocess.Popen(
        [
            str(WEBSERVER),
            *("-f", "defs.py", "--read-only", "--path-prefix", "/dagster"),
            *("-h", "127.0.0.1", "-p", str(port)),
        ],
        cwd=folder,
        env={**os.environ, "DAGSTER_HOME": str(home)},
        stdout=(folder / "webserver.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return f"http://127.0.0.1:{port}", process


def wait_for_assets(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(log.read_text())
        try:
            answer = httpx.post(f"{url}/dagster/graphql", json={"query": ASSETS}, timeout=5)
            if answer.status_code == 200 and answer.json()["data"]["assetNodes"]:
                return
        except (httpx.TransportError, KeyError, TypeError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the webserver did not load its location in 90 s: {log.read_text()}")


class Recorder:
    """An upstream that answers everything 200 and records what reached it."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                recorder.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": self.rfile.read(length),
                    }
                )
                data = b'{"data": {"recorded": true}}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Set-Cookie", "upstream=1; Path=/")
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _record

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Doors:
    def __init__(self, real: Server, recorded: Server, recorder: Recorder, keys: dict[str, str]):
        self.real, self.recorded, self.recorder, self.keys = real, recorded, recorder, keys

    def auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[user]}"}


@pytest.fixture(scope="module")
def doors(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Doors]:
    folder = tmp_path_factory.mktemp("dagster-door")
    url, webserver = start_webserver(folder)
    recorder = Recorder()
    started: list[Server] = []
    try:
        for name, upstream in (("real", url), ("recorded", recorder.url)):
            (folder / name).mkdir()
            started.append(start_server(folder / name, extra_env={"DAGSTER_UI_URL": upstream}))
        real, recorded = started
        keys = {"operator": real.api_key}
        for user, tags in (
            ("dev", ["roles:id:data-dev", "roles:id:dagster-viewer"]),
            ("datadev", ["roles:id:data-dev"]),
            ("sysdev", ["roles:id:system-dev"]),
            ("plain", ["roles:id:user", "dataos:workspace:public"]),
        ):
            keys[user] = user_key(real, user, tags)
        keys["recorded-dev"] = user_key(
            recorded, "dev", ["roles:id:data-dev", "roles:id:dagster-viewer"]
        )
        wait_for_assets(url, webserver, folder / "webserver.log")
        yield Doors(real, recorded, recorder, keys)
    finally:
        for server in started:
            stop_server(server)
        recorder.close()
        webserver.terminate()
        webserver.wait(timeout=20)


def sign_in(server: Server, key: str, **headers: str) -> httpx.Response:
    """The browser's way in: fetch the form (its CSRF cookie and token), post the key."""
    client = httpx.Client(base_url=server.url)
    form = client.get("/dagster/login", params={"next": "/dagster/runs"})
    assert form.status_code == 200, form.text
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None
    return client.post(
        "/dagster/login",
        data={"api_key": key, "csrf": token.group(1), "next": "/dagster/runs"},
        headers={"Origin": server.url, **headers},
    )


def session_cookie(response: httpx.Response) -> str:
    [header] = [h for h in response.headers.get_list("set-cookie") if "dagster_session=" in h]
    return header


def cookie_value(header: str) -> str:
    return header.split(";", 1)[0].split("=", 1)[1]


def with_cookie(value: str) -> dict[str, str]:
    return {"Cookie": f"dataos_dagster_session={value}"}


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    assert "data" not in response.json()
    return dict(error)


def ws_url(server: Server) -> str:
    return server.url.replace("http", "ws") + "/dagster/graphql"


async def ws_exchange(
    server: Server, headers: dict[str, str], messages: list[dict[str, Any]], answers: int
) -> list[Any]:
    """Send ``messages`` and read ``answers`` replies (or the close frame that ends them)."""
    received: list[Any] = []
    async with connect(
        ws_url(server), subprotocols=["graphql-ws"], additional_headers=headers, proxy=None
    ) as socket:
        for message in messages:
            await socket.send(json.dumps(message))
        try:
            for _ in range(answers):
                received.append(json.loads(await asyncio.wait_for(socket.recv(), 20)))
        except ConnectionClosed as closed:
            received.append(("closed", closed.rcvd.code if closed.rcvd else None))
    return received


async def ws_status(server: Server, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    try:
        async with connect(ws_url(server), additional_headers=headers, proxy=None):
            return 101, {}
    except InvalidStatus as refused:
        return refused.response.status_code, json.loads(refused.response.body or b"{}")


# -- who gets in ------------------------------------------------------------------------------


def test_no_key_is_401_and_a_browser_is_sent_to_sign_in(doors: Doors) -> None:
    url = doors.real.url
    for response in (
        httpx.get(f"{url}/dagster/"),
        httpx.post(f"{url}/dagster/graphql", json={"query": ASSETS}),
        httpx.get(f"{url}/dagster/graphql", params={"query": ASSETS}),
        httpx.get(f"{url}/dagster/runs", headers={"apikey": "dok_not_a_key"}),
    ):
        assert_error(response, 401, "unauthenticated")
        assert response.headers["www-authenticate"] == "Bearer"
    page = httpx.get(f"{url}/dagster/runs?tab=all", headers={"Accept": "text/html"})
    assert page.status_code == 303
    assert page.headers["location"] == "/dagster/login?next=%2Fdagster%2Fruns%3Ftab%3Dall"
    assert httpx.get(f"{url}/dagster").headers["location"] == "/dagster/"
    status, body = asyncio.run(ws_status(doors.real, {}))
    assert status == 401 and body["error"]["code"] == "unauthenticated"


def test_a_data_developer_is_not_a_dagster_viewer_by_default(doors: Doors) -> None:
    """All runs' logs and metadata are more than a data developer may see through the
    Gateway, so the UI is an operator's grant (roles:id:dagster-viewer), not a default."""
    response = httpx.get(f"{doors.real.url}/dagster/", headers=doors.auth("datadev"))
    error = assert_error(response, 403, "forbidden")
    assert "datadev may not read dagster://ui" in error["message"]


def test_a_user_without_the_right_is_refused_with_the_reason(doors: Doors) -> None:
    response = httpx.get(f"{doors.real.url}/dagster/", headers=doors.auth("plain"))
    error = assert_error(response, 403, "forbidden")
    assert "plain may not read dagster://ui" in error["message"]
    assert "no policy allows" in error["message"]
    query = httpx.post(
        f"{doors.real.url}/dagster/graphql", json={"query": ASSETS}, headers=doors.auth("plain")
    )
    assert_error(query, 403, "forbidden")
    status, body = asyncio.run(ws_status(doors.real, doors.auth("plain")))
    assert status == 403 and body["error"]["code"] == "forbidden"
    refused = sign_in(doors.real, doors.keys["plain"])
    assert refused.status_code == 403
    assert "plain may not read dagster://ui" in refused.text
    assert "dagster_session=" not in refused.headers.get("set-cookie", "")
    decisions = [
        json.loads(line) for line in (doors.real.home / "decisions.jsonl").read_text().splitlines()
    ]
    assert any(
        d["object"] == "dagster://ui" and d["subject"] == "plain" and d["allow"] is False
        for d in decisions
    )


@pytest.mark.parametrize("user", ["dev", "sysdev", "operator"])
def test_who_may_read_sees_the_ui_and_queries_through_the_door(doors: Doors, user: str) -> None:
    url, auth = doors.real.url, doors.auth(user)
    page = httpx.get(f"{url}/dagster/", headers=auth)
    assert page.status_code == 200, page.text
    assert '"pathPrefix": "/dagster"' in page.text
    posted = httpx.post(f"{url}/dagster/graphql", json={"query": ASSETS}, headers=auth)
    assert posted.status_code == 200, posted.text
    assert posted.json()["data"]["assetNodes"] == [{"assetKey": {"path": ["numbers"]}}]
    got = httpx.get(f"{url}/dagster/graphql", params={"query": ASSETS}, headers=auth)
    assert got.json() == posted.json()
    raw = httpx.post(
        f"{url}/dagster/graphql",
        content=ASSETS,
        headers={**auth, "Content-Type": "application/graphql"},
    )
    assert raw.json() == posted.json()
    script = re.search(r'src="(/dagster/_next/static/[^"]+\.js)"', page.text)
    assert script is not None
    assert httpx.get(f"{url}{script.group(1)}", headers=auth).status_code == 200


def test_a_subscription_works_over_the_door_websocket(doors: Doors) -> None:
    answers = asyncio.run(
        ws_exchange(
            doors.real,
            doors.auth("dev"),
            [
                {"type": "connection_init", "payload": {}},
                {"type": "start", "id": "1", "payload": {"query": LOG_SUBSCRIPTION}},
            ],
            2,
        )
    )
    assert answers[0] == {"type": "connection_ack"}
    data = answers[1]["payload"]["data"]["pipelineRunLogs"]
    assert data["__typename"] == "PipelineRunLogsSubscriptionFailure"


# -- nothing is written through the door ------------------------------------------------------

BATCH = json.dumps([{"query": ASSETS}, {"query": LAUNCH}])
MUTATIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "launchRun": ("POST", {"json": {"query": LAUNCH}}),
    "terminateRun": ("POST", {"json": {"query": TERMINATE}}),
    "batched": ("POST", {"content": BATCH, "headers": {"Content-Type": "application/json"}}),
    "GET ?query=": ("GET", {"params": {"query": LAUNCH}}),
    "operationName picks the query": (
        "POST",
        {"json": {"query": f"query Q {{ version }} {LAUNCH.replace('mutation', 'mutation M')}",
                  "operationName": "Q"}},
    ),
    "operationName picks the mutation": (
        "POST",
        {"json": {"query": f"query Q {{ version }} {LAUNCH.replace('mutation', 'mutation M')}",
                  "operationName": "M"}},
    ),
    "a mutation named query": ("POST", {"json": {"query": LAUNCH.replace("mutation", "mutation query")}}),
    "fragment on Mutation": (
        "POST",
        {"json": {"query": "query { ...F } fragment F on Mutation { launchRun { __typename } }"}},
    ),
    "inline fragment on Mutation": (
        "POST",
        {"json": {"query": "query { ... on Mutation { terminateRun(runId: \"0\") { __typename } } }"}},
    ),
    "application/graphql body": (
        "POST",
        {"content": LAUNCH, "headers": {"Content-Type": "application/graphql"}},
    ),
    "duplicate query keys": (
        "POST",
        {"content": '{"query": "{ version }", "query": "' + TERMINATE.replace('"', '\\"') + '"}',
         "headers": {"Content-Type": "application/json"}},
    ),
    "query in the URL of a form post": (
        "POST",
        {"params": {"query": LAUNCH}, "content": "x=1",
         "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
    ),
    "not GraphQL": ("POST", {"json": {"query": "mutation {"}}),
    "no query": ("POST", {"json": {"variables": {}}}),
    "subscription over HTTP": ("POST", {"json": {"query": LOG_SUBSCRIPTION}}),
    "a schema definition": ("POST", {"json": {"query": "schema { query: Mutation } { version }"}}),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(MUTATIONS))
def test_mutations_are_refused_whatever_the_disguise(doors: Doors, case: str) -> None:
    method, options = MUTATIONS[case]
    for server, user in ((doors.real, "dev"), (doors.recorded, "recorded-dev")):
        before = len(doors.recorder.requests)
        headers = {**options.get("headers", {}), **doors.auth(user)}
        response = httpx.request(
            method, f"{server.url}/dagster/graphql", **{**options, "headers": headers}
        )
        assert response.status_code in (400, 403, 415), (case, response.text)
        assert response.json()["error"]["code"] in (
            "mutation_refused",
            "invalid_graphql",
            "unsupported_media_type",
        )
        assert len(doors.recorder.requests) == before, doors.recorder.requests[before:]


def test_a_post_forwards_only_the_checked_query(doors: Doors) -> None:
    """The URL's query string of a POST is dropped: what reaches Dagster is what was checked."""
    before = len(doors.recorder.requests)
    response = httpx.post(
        f"{doors.recorded.url}/dagster/graphql",
        params={"query": LAUNCH},
        json={"query": "{ version }", "operationName": None, "extra": "dropped"},
        headers=doors.auth("recorded-dev"),
    )
    assert response.status_code == 200, response.text
    [forwarded] = doors.recorder.requests[before:]
    assert forwarded["path"] == "/dagster/graphql"
    assert json.loads(forwarded["body"]) == {
        "query": "{ version }",
        "variables": None,
        "operationName": None,
    }
    assert forwarded["headers"]["content-type"] == "application/json"


def test_mutations_over_the_websocket_close_it(doors: Doors) -> None:
    for query in (LAUNCH, TERMINATE, "subscription { ...F } fragment F on Mutation { x }", "{"):
        answers = asyncio.run(
            ws_exchange(
                doors.real,
                doors.auth("dev"),
                [
                    {"type": "connection_init", "payload": {}},
                    {"type": "start", "id": "1", "payload": {"query": query}},
                ],
                3,
            )
        )
        # The door may close before it relays Dagster's acknowledgement of connection_init.
        assert answers[-1] == ("closed", 4403 if query != "{" else 4400), (query, answers)
        assert answers[:-1] in ([], [{"type": "connection_ack"}]), answers
    unknown = asyncio.run(ws_exchange(doors.real, doors.auth("dev"), [{"type": "execute"}], 1))
    assert unknown == [("closed", 4400)]


def test_dagster_write_and_file_endpoints_are_not_served(doors: Doors) -> None:
    url, auth = doors.recorded.url, doors.auth("recorded-dev")
    before = len(doors.recorder.requests)
    for method, path, status in (
        ("POST", "/dagster/report_asset_materialization/numbers", 403),
        ("POST", "/dagster/report_asset_check/numbers", 403),
        ("GET", "/dagster/notebook?path=/etc/passwd&repoLocName=x", 403),
        ("GET", "/dagster/dagit/notebook?path=/etc/passwd", 403),
        ("PUT", "/dagster/runs", 405),
        ("DELETE", "/dagster/runs", 405),
        ("POST", "/dagster/runs", 405),
        ("PATCH", "/dagster/graphql", 405),
        ("GET", "/dagster/%2e%2e/health", 400),
        ("GET", "/dagster//graphql?query=mutation%7Bx%7D", 400),
    ):
        response = httpx.request(method, f"{url}{path}", headers=auth)
        assert response.status_code == status, (method, path, response.text)
    assert len(doors.recorder.requests) == before


# -- sessions ---------------------------------------------------------------------------------


def test_signing_in_gives_a_signed_cookie_that_opens_the_ui(doors: Doors) -> None:
    server = doors.real
    signed_in = sign_in(server, doors.keys["dev"])
    assert signed_in.status_code == 303, signed_in.text
    assert signed_in.headers["location"] == "/dagster/runs"
    header = session_cookie(signed_in)
    flags = [part.strip().lower() for part in header.split(";")]
    assert "httponly" in flags and "samesite=strict" in flags and "path=/dagster" in flags
    assert "secure" not in flags  # plain http here; see the https test below
    max_age = int(next(f for f in flags if f.startswith("max-age=")).split("=")[1])
    assert 0 < max_age <= 8 * 3600
    value = cookie_value(header)
    secret = doors.keys["dev"].rsplit("_", 1)[1]
    assert secret not in value and doors.keys["dev"] not in value
    cookie = with_cookie(value)
    page = httpx.get(f"{server.url}/dagster/runs", headers={**cookie, "Accept": "text/html"})
    assert page.status_code == 200 and '"pathPrefix": "/dagster"' in page.text
    query = httpx.post(
        f"{server.url}/dagster/graphql",
        json={"query": ASSETS},
        headers={**cookie, "Origin": server.url},
    )
    assert query.json()["data"]["assetNodes"] == [{"assetKey": {"path": ["numbers"]}}]
    elsewhere = httpx.post(
        f"{server.url}/dagster/graphql",
        json={"query": ASSETS},
        headers={**cookie, "Origin": "http://evil.example"},
    )
    assert_error(elsewhere, 403, "cross_origin")
    answers = asyncio.run(
        ws_exchange(
            server,
            {**cookie, "Origin": server.url},
            [{"type": "connection_init", "payload": {}}],
            1,
        )
    )
    assert answers == [{"type": "connection_ack"}]
    status, body = asyncio.run(ws_status(server, {**cookie, "Origin": "http://127.0.0.1:1"}))
    assert status == 403 and body["error"]["code"] == "cross_origin"
    mutation = httpx.post(
        f"{server.url}/dagster/graphql",
        json={"query": LAUNCH},
        headers={**cookie, "Origin": server.url},
    )
    assert_error(mutation, 403, "mutation_refused")
    out = httpx.post(f"{server.url}/dagster/logout", headers={**cookie, "Origin": server.url})
    assert out.status_code == 303 and out.headers["location"] == "/dagster/login"
    assert 'dataos_dagster_session=""' in out.headers["set-cookie"]


def test_the_cookie_is_secure_when_the_request_came_over_https(doors: Doors) -> None:
    """uvicorn trusts X-Forwarded-Proto from 127.0.0.1, as from a TLS proxy in front; a
    proxy that rewrites Host names the public one in X-Forwarded-Host."""
    signed_in = sign_in(doors.real, doors.keys["dev"], **{"X-Forwarded-Proto": "https"})
    assert signed_in.status_code == 303, signed_in.text
    assert "secure" in [p.strip().lower() for p in session_cookie(signed_in).split(";")]
    proxied = sign_in(
        doors.real,
        doors.keys["dev"],
        **{
            "Origin": "https://dataos.example",
            "X-Forwarded-Host": "dataos.example",
            "X-Forwarded-Proto": "https",
        },
    )
    assert proxied.status_code == 303, proxied.text
    elsewhere = sign_in(
        doors.real,
        doors.keys["dev"],
        **{"Origin": "https://evil.example", "X-Forwarded-Host": "dataos.example"},
    )
    assert elsewhere.status_code == 403


def test_forged_expired_and_tampered_cookies_are_401(doors: Doors) -> None:
    server = doors.real
    good = cookie_value(session_cookie(sign_in(server, doors.keys["dev"])))
    payload, mac = good.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    as_operator = (
        base64.urlsafe_b64encode(json.dumps({**data, "u": "dataos-operator"}).encode())
        .decode()
        .rstrip("=")
    )
    key = derive_signing_key(
        Vault.from_settings(Settings.from_env({"DATAOS_HOME": str(server.home)}))
    )
    expired = encode(key, Session(data["u"], data["k"], int(time.time()) - 1))
    other_key = encode(b"k" * 32, Session(data["u"], data["k"], int(time.time()) + 600))
    for forged in (
        "nothing",
        f"{payload}.{mac[:-2]}AA",
        f"{as_operator}.{mac}",
        expired,
        other_key,
        good + "x",
        "",
    ):
        response = httpx.get(f"{server.url}/dagster/", headers=with_cookie(forged))
        assert_error(response, 401, "unauthenticated")
        browser = httpx.get(
            f"{server.url}/dagster/", headers={**with_cookie(forged), "Accept": "text/html"}
        )
        assert browser.status_code == 303
        assert browser.headers["location"].startswith("/dagster/login")
    assert httpx.get(f"{server.url}/dagster/", headers=with_cookie(good)).status_code == 200


def test_revoking_the_key_ends_its_sessions(doors: Doors) -> None:
    server = doors.real
    key = user_key(server, "leaver", ["roles:id:data-dev", "roles:id:dagster-viewer"])
    value = cookie_value(session_cookie(sign_in(server, key)))
    assert httpx.get(f"{server.url}/dagster/", headers=with_cookie(value)).status_code == 200
    operator = httpx.Client(base_url=server.url, headers=server.headers)
    [info] = operator.get("/heimdall/api/v1/users/leaver/apikeys").json()["items"]
    revoked = operator.delete(f"/heimdall/api/v1/users/leaver/apikeys/{info['key_id']}")
    assert revoked.status_code in (200, 204), revoked.text
    assert_error(
        httpx.get(f"{server.url}/dagster/", headers=with_cookie(value)), 401, "unauthenticated"
    )


def test_the_sign_in_form_is_csrf_safe_and_redirects_only_home(doors: Doors) -> None:
    server, key = doors.real, doors.keys["dev"]
    client = httpx.Client(base_url=server.url)
    form = client.get("/dagster/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None
    assert form.headers["x-frame-options"] == "DENY"
    for data, headers in (
        ({"api_key": key}, {}),  # no token
        ({"api_key": key, "csrf": "forged"}, {}),
        ({"api_key": key, "csrf": token.group(1)}, {"Origin": "http://evil.example"}),
        ({"api_key": key, "csrf": token.group(1)}, {"Sec-Fetch-Site": "cross-site"}),
    ):
        refused = client.post("/dagster/login", data=data, headers=headers)
        assert refused.status_code == 403, refused.text
        assert "dagster_session=" not in refused.headers.get("set-cookie", "")
    no_cookie = httpx.post(
        f"{server.url}/dagster/login", data={"api_key": key, "csrf": token.group(1)}
    )
    assert no_cookie.status_code == 403
    for target in (
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "/dagster/login",
    ):
        form = client.get("/dagster/login", params={"next": target})
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token is not None
        went = client.post(
            "/dagster/login", data={"api_key": key, "csrf": token.group(1), "next": target}
        )
        assert went.status_code == 303 and went.headers["location"] == "/dagster/", target
    bad = client.get("/dagster/login")
    token = re.search(r'name="csrf" value="([^"]+)"', bad.text)
    assert token is not None
    wrong = client.post("/dagster/login", data={"api_key": "dok_wrong", "csrf": token.group(1)})
    assert wrong.status_code == 401 and "not valid" in wrong.text


def test_a_huge_body_is_413(doors: Doors) -> None:
    big = json.dumps({"query": "{ version }", "variables": {"x": "a" * (2 << 20)}})
    for server, user in ((doors.real, "dev"), (doors.recorded, "recorded-dev")):
        before = len(doors.recorder.requests)
        response = httpx.post(
            f"{server.url}/dagster/graphql",
            content=big,
            headers={**doors.auth(user), "Content-Type": "application/json"},
        )
        assert_error(response, 413, "request_too_large")

        def chunks() -> Iterator[bytes]:
            for _ in range(40):
                yield b"a" * 65536

        streamed = httpx.post(
            f"{server.url}/dagster/graphql",
            content=chunks(),
            headers={**doors.auth(user), "Content-Type": "application/json"},
        )
        assert_error(streamed, 413, "request_too_large")
        assert len(doors.recorder.requests) == before
    huge = {"type": "start", "id": "1", "payload": {"query": "{ version }", "x": "a" * (2 << 20)}}
    answers = asyncio.run(ws_exchange(doors.real, doors.auth("dev"), [huge], 1))
    assert answers == [("closed", 1009)]


def test_credentials_and_hop_by_hop_headers_are_not_forwarded(doors: Doors) -> None:
    server = doors.recorded
    before = len(doors.recorder.requests)
    response = httpx.get(
        f"{server.url}/dagster/runs?x=1",
        headers={
            **doors.auth("recorded-dev"),
            "apikey": doors.keys["recorded-dev"],
            "Cookie": "dataos_dagster_session=abc; other=1",
            "Connection": "X-Private",
            "X-Private": "secret",
            "Proxy-Authorization": "Basic eDp5",
            "TE": "trailers",
            "X-Kept": "yes",
        },
    )
    assert response.status_code == 200, response.text
    assert "set-cookie" not in response.headers
    [forwarded] = doors.recorder.requests[before:]
    assert forwarded["path"] == "/dagster/runs?x=1"
    for header in ("authorization", "apikey", "cookie", "x-private", "proxy-authorization", "te"):
        assert header not in forwarded["headers"], header
    assert forwarded["headers"]["x-kept"] == "yes"
    assert forwarded["body"] == b""


# -- when Heimdall cannot decide --------------------------------------------------------------


def test_an_engine_failure_is_503_and_nothing_is_proxied(doors: Doors, tmp_path: Path) -> None:
    """Every decision fails (a Rego conflict in the decision rule), as the Heimdall API
    tests inject it; the door points at the recorder, which must see nothing."""
    root = tmp_path / "policies" / "heimdall"
    root.mkdir(parents=True)
    (root / "broken.rego").write_text(
        "package heimdall.access\n\ndecision := 1 if true\n\ndecision := 2 if true\n"
    )
    home = tmp_path / "home"
    home.mkdir()
    broken = start_server(
        home,
        extra_env={
            "DATAOS_POLICIES_ROOT": str(tmp_path / "policies"),
            "DAGSTER_UI_URL": doors.recorder.url,
        },
    )
    before = len(doors.recorder.requests)
    try:
        for response in (
            httpx.get(f"{broken.url}/dagster/", headers=broken.headers),
            httpx.post(
                f"{broken.url}/dagster/graphql", json={"query": ASSETS}, headers=broken.headers
            ),
        ):
            assert_error(response, 503, "policy_engine_unavailable")
        status, body = asyncio.run(ws_status(broken, broken.headers))
        assert status == 503 and body["error"]["code"] == "policy_engine_unavailable"
        denied = sign_in(broken, broken.api_key)
        assert denied.status_code == 503
        assert "dagster_session=" not in denied.headers.get("set-cookie", "")
    finally:
        stop_server(broken)
    assert len(doors.recorder.requests) == before


# -- make up ----------------------------------------------------------------------------------


def _commands(script: str) -> list[str]:
    """The script's lines with continuations joined."""
    return [line.strip() for line in script.replace("\\\n", " ").splitlines()]


def test_make_up_keeps_dagster_on_loopback_behind_the_door() -> None:
    """``scripts/up.sh`` read as text: both webservers bind 127.0.0.1, the users' one is
    read-only under /dagster, the code server has a unix socket and no port, the API server
    gets both addresses, the banner shows the door, and ``down.sh`` stops all it started."""
    up = (ROOT / "scripts" / "up.sh").read_text()
    down = (ROOT / "scripts" / "down.sh").read_text()
    started = [line for line in _commands(up) if line.startswith("start ")]
    webservers = [line for line in started if ".venv/bin/dagster-webserver " in line]
    [writable] = [line for line in webservers if "--read-only" not in line]
    [read_only] = [line for line in webservers if "--read-only" in line]
    assert '-h 127.0.0.1 -p "$internal_port"' in writable, writable
    for flag in ("--path-prefix /dagster", "-h 127.0.0.1", '-p "$ui_port"'):
        assert flag in read_only, (flag, read_only)
    assert "code_server=(.venv/bin/dagster code-server start)" in up
    [code] = [line for line in started if '"${code_server[@]}"' in line]
    assert '--socket "$socket"' in code and " -p " not in code and "--port" not in code
    assert not any(" dev " in line for line in started)
    assert 'dagster_url="http://127.0.0.1:$internal_port"' in up
    assert 'dagster_ui_url="http://127.0.0.1:$ui_port"' in up
    assert 'export DAGSTER_WEBSERVER_URL="$dagster_url"' in up
    assert 'export DAGSTER_UI_URL="$dagster_ui_url"' in up
    assert "0.0.0.0" not in up and "--host 0" not in up
    assert "Dagster UI   $url/dagster/" in up
    pidfiles = set(re.findall(r'start "[^"]+" "\$home/([a-z-]+\.pid)"', up))
    assert pidfiles == {
        "api.pid",
        "dagster-code.pid",
        "dagster.pid",
        "dagster-daemon.pid",
        "dagster-ui.pid",
    }
    assert pidfiles == set(re.findall(r"\$home/([a-z-]+\.pid):", down))
