"""Heimdall through the real server: enforcement on every route, workspace isolation,
DataOS policies applied at runtime, the decision log, the OPA API with the real OPA client."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import httpx
import pytest
from manifests import product, workflow
from opa_client.opa import OpaClient

from dataos_defs.api.client import ApiFailure, DataosClient
from tests.interfaces.conftest import Server, run_cli, start_server, stop_server, user_key, wire

pytestmark = pytest.mark.slow


def new_user(server: Server, user_id: str, tags: list[str]) -> DataosClient:
    """A person with ``tags`` and a fresh API key, as a client."""
    return DataosClient(server.url, api_key=user_key(server, user_id, tags))


DATA_ACCESS = """\
name: teams-basepg
version: v1
type: policy
description: both teams' workflows read and write the base depot (admission asks for it)
policy:
  access:
    subjects:
      tags: [[users:id:alice], [users:id:bob]]
    predicates: [read, write]
    objects:
      paths: ["dataos://basepg:public/*", "dataos://basepg:copies/*"]
    allow: true
"""


@pytest.fixture(scope="module")
def world(server: Server) -> dict[str, DataosClient]:
    """Two teams with a workspace each, a workflow in each, and one user per team."""
    with DataosClient(server.url, api_key=server.api_key) as operator:
        operator.apply(wire(product("base")), None)
        operator.apply(wire(DATA_ACCESS), None)
        for team in ("team-a", "team-b"):
            operator.create_workspace(team, team, [])
            text = workflow(f"{team}-flow", "basepg", team.replace("-", ""))
            operator.apply(wire(text), team)
    return {
        "alice": new_user(server, "alice", ["dataos:workspace:team-a"]),
        "bob": new_user(server, "bob", ["dataos:workspace:team-b"]),
        "operator": DataosClient(server.url, api_key=server.api_key),
    }


def _status(call) -> int:
    try:
        call()
    except ApiFailure as exc:
        return exc.status
    return 200


def test_a_user_without_policies_is_refused_with_the_reason(server: Server, world) -> None:
    carol = new_user(server, "carol", [])
    with pytest.raises(ApiFailure) as caught:
        carol.get_resource("workflow", "team-a-flow", "team-a")
    assert caught.value.status == 403
    assert "no policy allows read on poros://workflow:team-a/team-a-flow" in str(caught.value)
    assert carol.list_resources("workflow", None, None) == []


def _probe(client: DataosClient, user: str, team: str) -> dict[str, int]:
    """The HTTP status of get, apply, log (a read decision) and delete in ``team``."""
    name = f"{user}-probe-{team}"
    text = workflow(name, "basepg", f"{user}{team[-1]}")
    logs = client.authorize("read", f"poros://workflow:{team}/{team}-flow/logs")
    return {
        "get": _status(lambda: client.get_resource("workflow", f"{team}-flow", team)),
        "apply": _status(lambda: client.apply(wire(text), team)),
        "log": 200 if logs["allow"] else 403,
        "delete": _status(lambda: client.delete_resource("workflow", name, team)),
    }


def test_cross_workspace_matrix_has_no_violations(server: Server, world) -> None:
    """get / apply / delete / log for each user on each workspace: own workspace only."""
    violations = []
    checked = 0
    for user, team in itertools.product(("alice", "bob"), ("team-a", "team-b")):
        own = (user, team) in {("alice", "team-a"), ("bob", "team-b")}
        for verb, status in _probe(world[user], user, team).items():
            checked += 1
            if (status == 200) != own or status not in (200, 403):
                violations.append((user, team, verb, status))
    assert checked == 16
    assert violations == []


def test_listing_shows_only_the_callers_workspace(world) -> None:
    names = {r["name"] for r in world["alice"].list_resources("workflow", None, None)}
    assert "team-a-flow" in names
    assert "team-b-flow" not in names


def test_an_applied_access_policy_takes_effect_and_deny_beats_allow(server, world) -> None:
    grant = """\
name: alice-reads-team-b
version: v1
type: policy
policy:
  access:
    subjects: {tags: [[users:id:alice]]}
    predicates: [read]
    objects: {paths: ["poros://workflow:team-b/**"]}
    allow: true
"""
    deny = (
        grant.replace("alice-reads-team-b", "alice-not-b-flow")
        .replace('"poros://workflow:team-b/**"', '"poros://workflow:team-b/team-b-flow"')
        .replace("allow: true", "allow: false")
    )
    operator, alice = world["operator"], world["alice"]
    operator.apply(wire(grant), None)
    assert alice.get_resource("workflow", "team-b-flow", "team-b")["name"] == "team-b-flow"
    operator.apply(wire(deny), None)
    with pytest.raises(ApiFailure) as caught:
        alice.get_resource("workflow", "team-b-flow", "team-b")
    assert "denied by policy alice-not-b-flow" in str(caught.value)
    explained = alice.authorize("read", "poros://workflow:team-b/team-b-flow", explain=True)
    assert explained["allowing"] == ["alice-reads-team-b"]
    assert explained["denying"] == ["alice-not-b-flow"]
    operator.delete_resource("policy", "alice-not-b-flow", None)
    operator.delete_resource("policy", "alice-reads-team-b", None)
    assert _status(lambda: alice.get_resource("workflow", "team-b-flow", "team-b")) == 403


def test_a_policy_that_cannot_be_enforced_is_refused(world) -> None:
    bad = """\
name: broken-glob
version: v1
type: policy
policy:
  access:
    subjects: {tags: [[users:id:alice]]}
    predicates: [read]
    objects: {paths: ["dataos://lake:[a"]}
    allow: true
"""
    with pytest.raises(ApiFailure) as caught:
        world["operator"].apply(wire(bad), None)
    assert caught.value.status == 422
    assert world["operator"].list_resources("policy", None, "broken-glob") == []


def test_depot_owner_policy_is_created_with_the_depot(server, world) -> None:
    dora = new_user(server, "dora", ["roles:id:data-dev"])
    text = product("dora").replace("database: shop", "database: dora").split("---\n")
    dora.apply(wire(text[0] + "---\n" + text[1]), None)
    assert dora.authorize("write", "dataos://dorapg:public/orders")["allow"]
    assert not world["alice"].authorize("write", "dataos://dorapg:public/orders")["allow"]


def test_secrets_need_their_own_permission(world) -> None:
    alice = world["alice"]
    sanitized = alice.get_resource("instance-secret", "basesec", None)
    assert sanitized["manifest"]["instance-secret"]["data"]["password"] == "<redacted>"
    with pytest.raises(ApiFailure) as caught:
        alice.get_resource("instance-secret", "basesec", None, unsanitize=True)
    assert caught.value.status == 403


def test_users_serve_themselves_but_not_others(world) -> None:
    alice = world["alice"]
    assert _status(lambda: alice._call("GET", "/heimdall/api/v1/users/alice")) == 200
    assert _status(lambda: alice._call("GET", "/heimdall/api/v1/users/bob")) == 403
    tagged = lambda: alice._call(  # noqa: E731
        "POST", "/heimdall/api/v1/users/alice/tags", json={"tags": ["roles:id:operator"]}
    )
    assert _status(tagged) == 403


def test_decision_log_records_decisions_without_keys(server, world) -> None:
    world["alice"].list_resources("workflow", None, None)
    entries = world["operator"].decisions(subject="alice", limit=1000)
    assert entries, "no decision of alice logged"
    assert {"decision_id", "time", "predicate", "object", "allow", "latency_ms"} <= set(entries[0])
    log_text = (server.home / "decisions.jsonl").read_text()
    assert "dok_" not in log_text
    assert server.api_key not in log_text
    with pytest.raises(ApiFailure) as caught:
        world["alice"].decisions()
    assert caught.value.status == 403


def test_policy_cli_eval_and_decisions(server, world) -> None:
    explained = run_cli(
        server,
        "policy",
        "eval",
        "--user",
        "alice",
        "--subject",
        "users:id:alice",
        "--subject",
        "dataos:workspace:team-a",
        "--predicate",
        "read",
        "--object",
        "poros://workflow:team-a/team-a-flow",
    )
    assert explained.returncode == 0, explained.stderr
    assert explained.stdout.startswith("ALLOW: alice read")
    assert "workspace-team-a" in explained.stdout
    logged = run_cli(server, "policy", "decisions", "--subject", "alice", "-o", "json")
    assert json.loads(logged.stdout)


def test_policy_cli_runs_rego_tests() -> None:
    result = run_cli(None, "policy", "test")
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed, 0 failed" in result.stdout


def test_the_real_opa_client_works_against_heimdall(server) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    client = OpaClient(host=host, port=int(port), token=server.api_key)
    try:
        assert client.check_health()
        module = (
            "package demo\n\ndefault allow := false\n\nallow if input.user == data.demo.admin\n"
        )
        assert client.update_policy_from_string(module, "demo.rego")
        assert "demo.rego" in client.get_policies_list()
        assert "heimdall/access.rego" in client.get_policies_list()
        assert client.update_or_create_data({"admin": "root"}, "demo")
        assert client.get_data("demo")["result"] == {"admin": "root", "allow": False}
        allowed = client.query_rule({"user": "root"}, "demo", "allow")
        denied = client.query_rule({"user": "eve"}, "demo", "allow")
        assert (allowed["result"], denied["result"]) == (True, False)
        decision = client.query_rule(
            {
                "subject": {"tags": ["roles:id:operator"]},
                "predicate": "read",
                "object": {"path": "dataos://x:y/z"},
            },
            "heimdall/access",
            "allow",
        )
        assert decision["result"] is True
        assert client.ad_hoc_query("x := data.demo.admin")["result"] == [{"x": "root"}]
        assert client.delete_policy("demo.rego")
        assert "demo.rego" not in client.get_policies_list()
    finally:
        client.close_connection()


def test_opa_api_keeps_the_heimdall_document_and_base_policies(server) -> None:
    headers = server.headers
    put = httpx.put(f"{server.url}/v1/data/heimdall/policies", json=[], headers=headers)
    assert put.status_code == 403
    replaced = httpx.put(
        f"{server.url}/v1/policies/heimdall/access.rego", content="package x", headers=headers
    )
    assert replaced.status_code == 403
    undefined = httpx.post(f"{server.url}/v1/data/nothing/here", json={}, headers=headers)
    assert undefined.json() == {}
    assert httpx.post(f"{server.url}/v1/data/heimdall/access/allow", json={}).status_code == 401


def test_engine_fault_denies_every_request(tmp_path: Path) -> None:
    """A policy set whose decision rule fails at evaluation: nothing is allowed, all 503."""
    root = tmp_path / "policies" / "heimdall"
    root.mkdir(parents=True)
    (root / "broken.rego").write_text(
        "package heimdall.access\n\ndecision := 1 if true\n\ndecision := 2 if true\n"
    )
    home = tmp_path / "home"
    home.mkdir()
    broken = start_server(home, extra_env={"DATAOS_POLICIES_ROOT": str(tmp_path / "policies")})
    try:
        with DataosClient(broken.url, api_key=broken.api_key) as operator:
            assert operator.list_workspaces() == []
            for call in (
                lambda: operator.get_resource("depot", "x", None),
                lambda: operator.create_workspace("w", None, []),
                lambda: operator.apply(wire(product("f")), None),
            ):
                with pytest.raises(ApiFailure) as caught:
                    call()
                assert caught.value.status == 503
                assert caught.value.error["code"] == "policy_engine_unavailable"
            assert operator.list_resources(None, None, None) == []
    finally:
        stop_server(broken)


def trino_input(user: str, operation: str, **action: object) -> dict[str, object]:
    """The document Trino's OPA plugin sends (``opa.policy.*-uri`` endpoints)."""
    context = {"identity": {"user": user, "groups": []}, "softwareStack": {"trinoVersion": "476"}}
    return {"input": {"context": context, "action": {"operation": operation, **action}}}


def test_trino_plugin_requests_get_dataos_masks_and_access(server, world) -> None:
    """Trino-shaped requests over HTTP: the example's e-mail mask (by the PII.Email tag the
    source table declares) for a plain user, clear e-mails for a pii-reader (priority 10
    beats 50), and table access from DataOS policies."""
    resources = Path(__file__).parents[2] / "resources"
    for part in ("secrets.yaml", "depots.yaml", "policies.yaml"):
        applied = run_cli(server, "apply", "-f", str(resources / part))
        assert applied.returncode == 0, applied.stdout + applied.stderr
    new_user(server, "una", ["roles:id:user"]).close()
    new_user(server, "pia", ["roles:id:user", "roles:id:pii-reader"]).close()
    column = {
        "catalogName": "shoppg",
        "schemaName": "public",
        "tableName": "customers",
        "columnName": "email",
        "columnType": "varchar",
    }
    headers = server.headers

    def ask(rule: str, document: dict[str, object]) -> object:
        answer = httpx.post(f"{server.url}/v1/data/trino/{rule}", json=document, headers=headers)
        assert answer.status_code == 200, answer.text
        return answer.json().get("result")

    masked = ask("columnMask", trino_input("una", "GetColumnMask", resource={"column": column}))
    assert masked == {"expression": 'lower(to_hex(sha256(to_utf8(CAST("email" AS varchar)))))'}
    clear = ask("columnMask", trino_input("pia", "GetColumnMask", resource={"column": column}))
    assert clear is None
    table = {
        "table": {
            "catalogName": "basepg",
            "schemaName": "team-a",
            "tableName": "orders",
            "columns": ["id"],
        }
    }
    assert ask("allow", trino_input("alice", "SelectFromColumns", resource=table)) is False


def test_workspace_membership_never_reaches_data(world) -> None:
    """Resources and datasets are separate namespaces: a workspace named like a schema
    gives its members nothing on that schema's tables."""
    alice = world["alice"]
    assert alice.authorize("read", "poros://workflow:team-a/team-a-flow")["allow"]
    assert not alice.authorize("read", "dataos://basepg:team-a/orders")["allow"]
    assert not alice.authorize("read", "dataos://workflow:team-a/team-a-flow")["allow"]
