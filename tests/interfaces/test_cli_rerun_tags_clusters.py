"""``get --tags``, ``runtime re-run`` / ``apply -r`` and ``get runtime -t cluster`` through the
real ``dataos-ctl`` against a real server, top-level and ``resource`` group forms alike.

No Dagster runs here: a re-run that reaches the server's run route is answered there (a
workflow never deployed is refused as such), which shows the request was understood and
authorized as ``runtime run`` is. The Trino cluster's health is probed over Trino's
documented REST contract (``GET /v1/info``: ``nodeVersion.version``, ``starting``,
``uptime``) against a local stand-in HTTP server on 127.0.0.1, since no Trino server can run
here; the embedded cluster's engine is the real DuckDB engine inside the API server.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from manifests import product

from dataos_defs.minerva.settings import trino_url_env
from tests.interfaces.conftest import Server, free_port, run_cli, start_server, stop_server
from tests.manifest_texts import workflow

pytestmark = pytest.mark.slow
PLAIN = "roles:id:data-dev"

EXTRA = """\
name: tsec
version: v1
type: instance-secret
tags: [tier.gold, pii]
instance-secret:
  type: key-value
  acl: r
  data: {token: t0k3n}
---
name: ecluster
version: v1
type: cluster
cluster:
  type: minerva
  minerva:
    depots: [{address: "dataos://tpg"}]
---
name: tcluster
version: v1
type: cluster
cluster:
  type: minerva
  minerva:
    depots: [{address: "dataos://tpg"}]
---
name: dcluster
version: v1
type: cluster
cluster:
  type: minerva
  minerva:
    depots: [{address: "dataos://tpg"}]
"""


class TrinoInfo(BaseHTTPRequestHandler):
    """Trino's ``GET /v1/info`` as documented; anything else is 404."""

    seen: list[str] = []

    def do_GET(self) -> None:
        TrinoInfo.seen.append(self.path)
        if self.path != "/v1/info":
            self.send_error(404)
            return
        body = json.dumps(
            {
                "nodeVersion": {"version": "476"},
                "environment": "test",
                "coordinator": True,
                "starting": False,
                "uptime": "1.50h",
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        return


@pytest.fixture(scope="module")
def trino() -> Iterator[str]:
    stand_in = ThreadingHTTPServer(("127.0.0.1", 0), TrinoInfo)
    thread = threading.Thread(target=stand_in.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{stand_in.server_address[1]}"
    stand_in.shutdown()
    stand_in.server_close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, trino: str) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("dataos-home")
    nobody = f"http://127.0.0.1:{free_port()}"
    env = {trino_url_env("tcluster"): trino, trino_url_env("dcluster"): nobody}
    running = start_server(home, extra_env=env)
    files = home / "manifests"
    files.mkdir()
    (files / "product.yaml").write_text(product("t"))
    (files / "extra.yaml").write_text(EXTRA)
    applied = run_cli(running, "apply", "-f", str(files / "product.yaml"))
    assert applied.returncode == 0, applied.stderr
    applied = run_cli(running, "apply", "-f", str(files / "extra.yaml"))
    assert applied.returncode == 0, applied.stderr
    assert run_cli(running, "workspace", "create", "-n", "team-x").returncode == 0
    (files / "team.yaml").write_text(workflow("x-copy", "tpg", "customers"))
    team = run_cli(running, "apply", "-f", str(files / "team.yaml"), "-w", "team-x")
    assert team.returncode == 0, team.stderr
    yield running
    stop_server(running)


def _key(server: Server, user: str) -> str:
    made = run_cli(server, "user", "create", "-u", user, "--tags", PLAIN, "--apikeyName", "k")
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


@pytest.fixture(scope="module")
def dana(server: Server) -> str:
    return _key(server, "dana")


@pytest.fixture(scope="module")
def eve(server: Server) -> str:
    return _key(server, "eve")


# -- get --tags ---------------------------------------------------------------------------


@pytest.mark.parametrize("group", [(), ("resource",)])
def test_get_tags_adds_a_tags_column(server: Server, group: tuple[str, ...]) -> None:
    shown = run_cli(server, *group, "get", "-t", "instance-secret", "--tags")
    assert shown.returncode == 0, shown.stderr
    header = [cell.strip() for cell in shown.stdout.splitlines()[0].split("|")]
    assert header[-1] == "TAGS"
    row = next(line for line in shown.stdout.splitlines() if "tsec" in line)
    assert row.split("|")[-1].strip() == "tier.gold,pii"
    plain = run_cli(server, *group, "get", "-t", "instance-secret")
    assert "TAGS" not in plain.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("get", "-t", "instance-secret", "-o", "json"),
        ("get", "-i", "tsec | v1 | instance-secret", "-o", "json"),
        ("resource", "get", "--id", "instance-secret:v1:tsec", "-o", "yaml"),
    ],
)
def test_json_and_yaml_always_carry_tags(server: Server, args: tuple[str, ...]) -> None:
    import yaml

    shown = run_cli(server, *args)
    assert shown.returncode == 0, shown.stderr
    data = yaml.safe_load(shown.stdout)
    items = data if isinstance(data, list) else [data]
    by_name = {item["name"]: item for item in items}
    assert by_name["tsec"]["tags"] == ["tier.gold", "pii"]
    assert all("tags" in item for item in items)


def test_a_listing_that_does_not_ask_for_tags_is_unchanged(server: Server) -> None:
    listed = httpx.get(f"{server.url}/poros/api/v1/resources", headers=server.headers)
    assert all("tags" not in item for item in listed.json()["items"])
    tagged = httpx.get(
        f"{server.url}/poros/api/v1/resources", params={"tags": "true"}, headers=server.headers
    )
    assert {i["name"]: i["tags"] for i in tagged.json()["items"]}["tsec"] == ["tier.gold", "pii"]
    one = f"{server.url}/poros/api/v1/resources/instance-secret/tsec"
    assert "tags" not in httpx.get(one, headers=server.headers).json()
    asked = httpx.get(one, params={"tags": "true"}, headers=server.headers).json()
    assert asked["tags"] == ["tier.gold", "pii"]


def test_tags_list_only_what_the_caller_may_read(server: Server, dana: str) -> None:
    every = run_cli(server, "get", "-a", "--tags", "-o", "json", DATAOS_API_KEY=dana)
    assert every.returncode == 0, every.stderr
    assert "x-copy" not in {item["name"] for item in json.loads(every.stdout)}


# -- runtime re-run and apply -r ------------------------------------------------------------

NOT_DEPLOYED = "not deployed"
RERUN_FORMS = [
    (("runtime", "re-run", "-t", "workflow", "-n", "t-copy", "-w", "public"), NOT_DEPLOYED),
    (("resource", "runtime", "re-run", "-t", "workflow", "-n", "t-copy"), NOT_DEPLOYED),
    (("runtime", "re-run", "-i", "t-copy | v1 | workflow | public"), NOT_DEPLOYED),
    (("resource", "runtime", "re-run", "--id", "workflow:v1:t-copy:public"), NOT_DEPLOYED),
    (("runtime", "re-run", "-t", "service", "-n", "api"), "re-run supports -t workflow"),
    (("resource", "runtime", "re-run", "-t", "worker", "-n", "w"), "cannot be re-run here"),
    (("runtime", "re-run", "-t", "depot", "-n", "tpg"), "not available yet"),
    (("runtime", "re-run", "-t", "workflow"), "needs -n NAME"),
    (("runtime", "re-run", "-t", "workflow", "-n", "nope"), "not found"),
    (("runtime", "re-run", "-i", "t-copy:v1"), "name | version | type | workspace"),
]


@pytest.mark.parametrize(("args", "expected"), RERUN_FORMS)
def test_rerun_forms(server: Server, args: tuple[str, ...], expected: str) -> None:
    result = run_cli(server, *args)
    assert result.returncode == 1, result.stdout
    assert expected in result.stderr


def test_rerun_is_authorized_exactly_as_run(server: Server, dana: str) -> None:
    for verb in ("run", "re-run"):
        theirs = run_cli(
            server, "runtime", verb, "-t", "workflow", "-n", "x-copy", "-w", "team-x",
            DATAOS_API_KEY=dana,
        )  # fmt: skip
        assert theirs.returncode == 1
        assert "may not" in theirs.stderr
        assert "not deployed" not in theirs.stderr  # nothing about it leaks before the decision
    mine = run_cli(
        server, "runtime", "re-run", "-n", "t-copy", "-t", "workflow", DATAOS_API_KEY=dana
    )
    assert NOT_DEPLOYED in mine.stderr
    forged = httpx.post(
        f"{server.url}/poros/api/v1/runtime/workflow/x-copy/re-run",
        params={"workspace": "team-x"},
        headers={"Authorization": f"Bearer {dana}"},
    )
    assert forged.status_code == 403


def test_apply_rerun_needs_a_deployment(server: Server) -> None:
    path = server.home / "manifests" / "product.yaml"
    for form in (("apply",), ("resource", "apply")):
        result = run_cli(server, *form, "-f", str(path), "-r")
        assert result.returncode == 1, result.stdout
        assert "deploys nothing to Dagster" in result.stderr or NOT_DEPLOYED in result.stderr
    lint = run_cli(server, "apply", "-f", str(path), "-l", "--re-run")
    assert lint.returncode == 1
    assert "apply nothing" in lint.stderr


# -- get runtime -t cluster -----------------------------------------------------------------


@pytest.mark.parametrize("group", [(), ("resource",)])
def test_embedded_cluster_runtime(server: Server, group: tuple[str, ...]) -> None:
    shown = run_cli(
        server, *group, "get", "runtime", "-t", "cluster", "-n", "ecluster", "-o", "json"
    )
    assert shown.returncode == 0, shown.stderr
    body = json.loads(shown.stdout)
    assert (body["engine"], body["health"]) == ("duckdb", "healthy")
    assert body["endpoint"] == "embedded DuckDB in the API server"
    table = run_cli(server, *group, "get", "runtime", "-i", "ecluster | v1 | cluster | public")
    assert "health healthy" in table.stdout


def test_trino_cluster_runtime_probes_v1_info(server: Server) -> None:
    TrinoInfo.seen.clear()
    shown = run_cli(server, "get", "runtime", "-t", "cluster", "-n", "tcluster", "-o", "json")
    assert shown.returncode == 0, shown.stderr
    body = json.loads(shown.stdout)
    assert (body["engine"], body["health"]) == ("trino", "healthy")
    assert body["details"]["version"] == "476"
    assert TrinoInfo.seen == ["/v1/info"]
    table = run_cli(server, "get", "runtime", "--id", "cluster:v1:tcluster:public")
    assert "trino 476, up 1.50h" in table.stdout


def test_unreachable_trino_is_said(server: Server) -> None:
    shown = run_cli(server, "get", "runtime", "-t", "cluster", "-n", "dcluster", "-o", "json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["health"] == "unreachable"


def test_open_queries_show_their_user_to_them_and_operators_only(
    server: Server, dana: str, eve: str
) -> None:
    opened = httpx.post(
        f"{server.url}/gateway/api/v1/query",
        json={
            "sql": "SELECT x FROM (VALUES (1), (2), (3)) AS t(x)",
            "cluster": "ecluster",
            "pageSize": 1,
        },
        headers={"Authorization": f"Bearer {dana}"},
    )
    assert opened.status_code == 200, opened.text
    query_id = opened.json()["queryId"]
    args = ("get", "runtime", "-t", "cluster", "-n", "ecluster", "-o", "json")
    hers = json.loads(run_cli(server, *args, DATAOS_API_KEY=dana).stdout)
    assert [q["query_id"] for q in hers["queries"]] == [query_id]
    other = json.loads(run_cli(server, *args, DATAOS_API_KEY=eve).stdout)
    assert other["running"] == 1
    assert other["queries"] == []
    operator = json.loads(run_cli(server, *args).stdout)
    assert [(q["query_id"], q["user"]) for q in operator["queries"]] == [(query_id, "dana")]


def test_cluster_runtime_is_governed_and_checked(server: Server, dana: str) -> None:
    hidden = run_cli(
        server, "get", "runtime", "-t", "cluster", "-n", "ecluster", "-w", "team-x",
        DATAOS_API_KEY=dana,
    )  # fmt: skip
    assert hidden.returncode == 1
    assert "not found" not in hidden.stderr
    missing = run_cli(server, "get", "runtime", "-t", "cluster", "-n", "nope")
    assert missing.returncode == 1
    assert "not found" in missing.stderr
    unnamed = run_cli(server, "get", "runtime", "-t", "cluster")
    assert unnamed.returncode == 1
    assert "needs -n NAME" in unnamed.stderr


def test_help_of_the_new_forms(server: Server) -> None:
    # -h not last: Typer answers, not the generated help tree (regenerated by the lead)
    rerun = _words(run_cli(None, "runtime", "re-run", "-h", "-n", "x").stdout)
    assert "current revision" in rerun
    assert "Examples" in rerun
    apply = _words(run_cli(None, "apply", "-h", "-f", "x").stdout)
    assert "--re-run" in apply
    assert "Unlike DataOS, -r re-runs no service" in apply
    get = _words(run_cli(None, "get", "-h", "-t", "depot").stdout)
    assert "--tags" in get
    runtime = _words(run_cli(None, "get", "runtime", "-h", "-t", "cluster").stdout)
    assert "Trino endpoint" in runtime


def _words(text: str) -> str:
    """Help text with its line wrapping undone."""
    return " ".join(text.split())
