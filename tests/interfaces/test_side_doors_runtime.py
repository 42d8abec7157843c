"""Side doors through what runs leave behind and what clusters describe, through a real
server: workflow logs (whose, and which run), ``get history`` (secrets of old revisions)
and ``cluster catalogs`` (connection details of depots the caller may not read).

Dagster is stood in for by ``tests/dagster/graphql_stand_in.py`` (Dagster 1.13's GraphQL
shapes), extended here with the run logs it answers, each run's messages naming its job
and a data value, as an engine error quoting a row would."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from dataos_defs.api.client import DataosClient
from dataos_defs.location import naming
from dataos_defs.manifest.loader import parse_yaml
from dataos_defs.minerva.settings import DEFAULT_CLUSTER_ENV
from dataos_defs.poros.vault import canonical_json
from tests.dagster.graphql_stand_in import DagsterStandIn, serve
from tests.interfaces.conftest import Server, start_server, stop_server
from tests.manifest_texts import depot, secret

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

FIRST, SECOND = "first-s3cr3t-value", "second-s3cr3t-value"
WORKFLOW = """\
name: {name}
version: v1
type: workflow
workflow:
  dag:
    - name: hello
      spec:
        stack: python3
        compute: runnable-default
{run_as}        stackSpec: {{}}
"""
PG_CLUSTER = {
    "name": "pgcluster",
    "version": "v1",
    "type": "cluster",
    "cluster": {"type": "minerva", "minerva": {"depots": [{"address": "dataos://secretpg"}]}},
}
DENY_DEPOT = {
    "name": "dana-not-secretpg",
    "version": "v1",
    "type": "policy",
    "policy": {
        "access": {
            "subjects": {"tags": [["users:id:dana"]]},
            "predicates": ["read"],
            "objects": {"paths": ["poros://depot/secretpg"]},
            "allow": False,
        }
    },
}


class LoggingStandIn(DagsterStandIn):
    """The stand-in, answering ``logsForRun``: one message per run naming its job."""

    def _Logs(self, variables: dict[str, Any]) -> dict[str, Any]:
        run = self.run(variables["runId"])
        event = {
            "__typename": "MessageEvent",
            "message": f"{run.job}: could not convert 'ada@example.com' to INT",
            "timestamp": "1700000000000",
            "level": "ERROR",
            "stepKey": None,
        }
        page = {"cursor": "1", "hasMore": False, "events": [event]}
        return {"logsForRun": {"__typename": "EventConnection", **page}}


def wire(text: str) -> list[dict[str, Any]]:
    documents, issues = parse_yaml(text, "m.yaml")
    assert not issues
    return [{"manifest": d.data} for d in documents]


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Server, dict[str, str], LoggingStandIn]]:
    stand_in = LoggingStandIn(list)
    home = tmp_path_factory.mktemp("side-doors-runtime")
    with serve(stand_in) as url:
        env = {"DAGSTER_WEBSERVER_URL": url, DEFAULT_CLUSTER_ENV: "pgcluster"}
        server = start_server(home, extra_env=env)
        try:
            keys = {"operator": server.api_key}
            with DataosClient(server.url, api_key=server.api_key) as admin:
                for user in ("dana", "pia"):
                    admin.create_user(user, tags=["roles:id:data-dev"])
                    keys[user] = str(admin.create_api_key(user)["key"])
                admin.apply(wire(secret("histsec", FIRST)), None)
                admin.delete_resource("instance-secret", "histsec", None)
                admin.apply(
                    wire(secret("histsec", SECOND) + "---\n" + depot("secretpg", "histsec")), None
                )
                admin.apply([{"manifest": PG_CLUSTER}], None)
                reconciled(
                    admin, admin.apply(wire(WORKFLOW.format(name="flowop", run_as="")), None)
                )
                dana = "        runAsUser: dana\n"
                applied = admin.apply(wire(WORKFLOW.format(name="flowdana", run_as=dana)), None)
                reconciled(admin, applied)
            yield server, keys, stand_in
        finally:
            stop_server(server)


def reconciled(admin: DataosClient, applied: dict[str, Any], seconds: float = 60) -> None:
    """Poll the workflows an apply left pending until the server's background reconciliation
    has decided them (their runs on apply launched before the tests add theirs)."""
    assert applied["reconciling"] and applied["pending"], applied
    deadline = time.monotonic() + seconds
    for ref in applied["pending"]:
        while admin.get_resource("workflow", ref["name"], ref["workspace"])["status"] == "pending":
            assert time.monotonic() < deadline, f"{ref['name']} is still pending"
            time.sleep(0.1)


def logs(server: Server, key: str, workflow: str, run_id: str | None = None) -> httpx.Response:
    params = {"run_id": run_id} if run_id else {}
    return httpx.get(
        f"{server.url}/poros/api/v1/logs/workflow/{workflow}",
        params=params,
        headers={"Authorization": f"Bearer {key}"},
    )


def test_the_run_as_identity_reads_its_logs(world) -> None:
    server, keys, stand_in = world
    stand_in.add_run(naming.job_name("public", "flowdana"), "FAILURE")
    for key in (keys["dana"], keys["operator"]):
        answer = logs(server, key, "flowdana")
        assert answer.status_code == 200, answer.text
        assert answer.json()["lines"][0]["message"].startswith("public__flowdana: ")


def test_logs_are_shown_only_to_who_may_see_what_the_runs_saw(world) -> None:
    """pia is a member of the workspace (read on the logs) but may not act as dana."""
    server, keys, stand_in = world
    stand_in.add_run(naming.job_name("public", "flowop"), "FAILURE")
    stand_in.add_run(naming.job_name("public", "flowdana"), "FAILURE")
    for who, workflow, acting in (
        ("pia", "flowdana", "dana"),
        ("dana", "flowop", "dataos-operator"),
    ):
        answer = logs(server, keys[who], workflow)
        assert answer.status_code == 403, answer.text
        message = answer.json()["error"]["message"]
        assert f"show what its runs saw as {acting}, and {who} may not act as {acting}" in message
        assert "ada@example.com" not in answer.text


def test_a_run_of_another_workflow_is_not_shown(world) -> None:
    """dana may read her workflow's logs, not those of the operator's run through them."""
    server, keys, stand_in = world
    theirs = stand_in.add_run(naming.job_name("public", "flowop"), "FAILURE")
    for key in (keys["dana"], keys["operator"]):
        answer = logs(server, key, "flowdana", run_id=theirs)
        assert answer.status_code == 404, answer.text
        assert f"workflow 'flowdana' has no run '{theirs}'" in answer.json()["error"]["message"]
        assert "flowop" not in answer.text
    assert logs(server, keys["operator"], "flowop", run_id=theirs).status_code == 200


def test_history_keeps_no_secret_value(world) -> None:
    server, keys, _ = world
    with DataosClient(server.url, api_key=keys["operator"]) as admin:
        history = admin.history("instance-secret", "histsec", None)
        current = admin.get_resource("instance-secret", "histsec", None, unsanitize=True)
    revisions = history["revisions"]
    assert [r["action"] for r in revisions] == ["created", "deleted", "created"]
    text = str(history)
    assert FIRST not in text and SECOND not in text
    plain = hashlib.sha256(canonical_json(current["manifest"])).hexdigest()
    assert revisions[-1]["digest"] != plain, "a keyed digest: values cannot be guessed from it"
    sanitized = httpx.get(
        f"{server.url}/poros/api/v1/resources/instance-secret/histsec",
        headers={"Authorization": f"Bearer {keys['dana']}"},
    )
    assert sanitized.status_code == 200 and SECOND not in sanitized.text


def catalogs(server: Server, key: str) -> httpx.Response:
    return httpx.get(
        f"{server.url}/gateway/api/v1/clusters/pgcluster/catalogs",
        headers={"Authorization": f"Bearer {key}"},
    )


def test_cluster_catalogs_show_references_and_only_readable_depots(world) -> None:
    server, keys, _ = world
    shown = catalogs(server, keys["dana"])
    assert shown.status_code == 200, shown.text
    properties = shown.json()["catalogs"]["secretpg"]
    assert "connection-password=${ENV:MINERVA_SECRETPG_PASSWORD}" in properties
    assert FIRST not in shown.text and SECOND not in shown.text
    with DataosClient(server.url, api_key=keys["operator"]) as admin:
        admin.apply([{"manifest": DENY_DEPOT}], None)
    refused = catalogs(server, keys["dana"])
    assert refused.status_code == 403, refused.text
    assert "dana may not read poros://depot/secretpg" in refused.json()["error"]["message"]
    assert "jdbc:postgresql" not in refused.text
    assert catalogs(server, keys["pia"]).status_code == 200
