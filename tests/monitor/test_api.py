"""Incidents and evaluations over a real API server, tried the way an attacker would: a plain
data developer reading another workspace's incidents or triggering an evaluation that acts
as someone else, the scheduler's key used for anything else, a monitor naming runAsUser.

Runs come from a Dagster GraphQL stand-in (real HTTP on 127.0.0.1) that the server reads;
the code location's trigger calls the server with the scheduler's key, as a monitor job does.
"""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from dagster import DagsterInstance, Failure

from dataos_defs.adapters.localfs import STATE_ENTRIES
from dataos_defs.api.client import ApiFailure, DataosClient
from dataos_defs.api.incident_routes import MIN_INTERVAL_S
from dataos_defs.compile import CompileInput
from dataos_defs.compile.monitors import compile_monitors, monitor_job_name
from dataos_defs.location.monitor_trigger import evaluate_remotely
from dataos_defs.manifest.monitor import Monitor
from dataos_defs.monitor.scheduler import STATE_FOLDER, credentials_file
from tests.dagster.graphql_stand_in import DagsterStandIn, serve
from tests.interfaces.conftest import Server, run_cli, start_server, stop_server, user_key, wire
from tests.monitor.deliveries_support import HttpReceiver, http_receiver
from tests.monitor.test_report_monitor import PAGER, WORKFLOW, monitor

pytestmark = pytest.mark.slow


@dataclass
class Platform:
    server: Server
    dagster: DagsterStandIn
    keys: dict[str, str]
    scheduler: str
    receiver: HttpReceiver

    def as_(self, who: str) -> httpx.Client:
        key = self.scheduler if who == "scheduler" else self.keys[who]
        return httpx.Client(base_url=self.server.url, headers={"Authorization": f"Bearer {key}"})

    def evaluate(self, who: str, workspace: str, name: str) -> httpx.Response:
        with self.as_(who) as client:
            return client.post(f"/monitor/api/v1/monitors/{workspace}/{name}/evaluate")

    def incidents(self, who: str, **params: Any) -> list[dict[str, Any]]:
        with self.as_(who) as client:
            answer = client.get("/monitor/api/v1/incidents", params=params)
        assert answer.status_code == 200, answer.text
        found: list[dict[str, Any]] = answer.json()
        return found


def apply(server: Server, key: str, text: str, workspace: str) -> None:
    with DataosClient(server.url, api_key=key) as client:
        client.apply(wire(text), workspace)


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    home = tmp_path_factory.mktemp("monitor-api")
    dagster = DagsterStandIn(list)
    with serve(dagster) as dagster_url, http_receiver() as receiver:
        loopback = {"DATAOS_PAGER_ALLOW_NETWORKS": "127.0.0.1/32"}
        server = start_server(home, extra_env={"DAGSTER_WEBSERVER_URL": dagster_url, **loopback})
        try:
            keys = {
                "dev": user_key(server, "dev", ["roles:id:data-dev"]),
                "mallory": user_key(server, "mallory", ["roles:id:data-dev"]),
                "operator": server.api_key,
            }
            with DataosClient(server.url, api_key=server.api_key) as operator:
                operator.create_workspace("ops", None, [])
            apply(server, server.api_key, WORKFLOW, "public")
            apply(
                server,
                keys["dev"],
                PAGER.replace("http://127.0.0.1:9/hook", receiver.url),
                "public",
            )
            for name in ("nightly-failed", "nightly-failed-2", "nightly-failed-3"):
                apply(
                    server,
                    keys["dev"],
                    monitor().replace("nightly-failed\n", f"{name}\n", 1),
                    "public",
                )
            apply(server, server.api_key, WORKFLOW, "ops")
            apply(server, server.api_key, monitor(workspace="ops"), "ops")
            dagster.add_run("public__nightly", "FAILURE")
            dagster.add_run("ops__nightly", "FAILURE")
            credentials = credentials_file(home).read_text()
            scheduler = json.loads(credentials)["api_key"]
            yield Platform(server, dagster, keys, scheduler, receiver)
        finally:
            stop_server(server)


@pytest.fixture(scope="module")
def opened(platform: Platform) -> dict[str, str]:
    ids = {}
    for workspace in ("public", "ops"):
        answer = platform.evaluate("scheduler", workspace, "nightly-failed")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["outcome"], body["action"]) == ("firing", "opened"), body
        ids[workspace] = body["incident"]["id"]
    return ids


def test_an_opened_incident_reaches_the_workspaces_pager(
    platform: Platform, opened: dict[str, str]
) -> None:
    assert platform.receiver.arrived.wait(30), "no delivery arrived"
    delivered = platform.receiver.received[0]
    assert delivered.method == "POST"
    assert b"nightly-failed" in delivered.body
    assert all(opened["ops"].encode() not in r.body for r in platform.receiver.received)


def test_the_scheduler_key_is_private_and_in_a_state_folder_no_depot_reaches(
    platform: Platform,
) -> None:
    path = credentials_file(platform.server.home)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert STATE_FOLDER in STATE_ENTRIES
    assert platform.scheduler not in platform.server.log()


def test_a_data_developer_sees_only_incidents_of_monitors_they_may_read(
    platform: Platform, opened: dict[str, str]
) -> None:
    seen = platform.incidents("mallory")
    assert [i["id"] for i in seen] == [opened["public"]]
    assert platform.incidents("mallory", workspace="ops") == []
    with platform.as_("mallory") as client:
        hidden = client.get(f"/monitor/api/v1/incidents/{opened['ops']}")
        shown = client.get(f"/monitor/api/v1/incidents/{opened['public']}")
    assert hidden.status_code == 404 and opened["ops"] not in hidden.text.replace(
        f"'{opened['ops']}'", ""
    )
    assert shown.status_code == 200 and shown.json()["monitor"] == "nightly-failed"
    assert {i["id"] for i in platform.incidents("operator")} >= set(opened.values())
    assert opened["ops"] not in {i["id"] for i in platform.incidents("dev")}


def test_nobody_triggers_an_evaluation_that_acts_as_someone_else(platform: Platform) -> None:
    in_public = platform.evaluate("mallory", "public", "nightly-failed-2")
    assert in_public.status_code == 403, in_public.text
    assert "acts as dev" in in_public.json()["error"]["message"]
    elsewhere = platform.evaluate("mallory", "ops", "nightly-failed")
    assert elsewhere.status_code == 403
    with httpx.Client(base_url=platform.server.url) as anonymous:
        assert anonymous.post("/monitor/api/v1/monitors/public/x/evaluate").status_code == 401
    with platform.as_("mallory") as client:
        forged = client.post(
            "/monitor/api/v1/monitors/public/nightly-failed-2/evaluate",
            headers={"X-Dataos-Run-As": "dev", "X-Dataos-User": "monitor-scheduler"},
            json={"runAs": "dev", "owner": "mallory"},
        )
    assert forged.status_code == 403, "nothing in the request chooses the identity"
    own = platform.evaluate("dev", "public", "nightly-failed-2")
    assert own.status_code == 200 and own.json()["outcome"] == "firing"


def test_the_scheduler_key_allows_nothing_else(platform: Platform) -> None:
    with platform.as_("scheduler") as client:
        listed = client.get("/poros/api/v1/resources", params={"workspace": "public"})
        query = client.post("/gateway/api/v1/query", json={"sql": "SELECT 1"})
    assert (listed.status_code, listed.json()) == (200, {"items": []}), "it reads no Resource"
    assert query.status_code in (400, 403), query.text
    with (
        DataosClient(platform.server.url, api_key=platform.scheduler) as client,
        pytest.raises(ApiFailure) as refused,
    ):
        client.apply(wire(monitor().replace("nightly-failed\n", "planted\n", 1)), "public")
    assert "may not" in str(refused.value.issues or refused.value.error)
    assert platform.incidents("scheduler") == []


def test_evaluations_of_a_monitor_are_rate_limited(platform: Platform) -> None:
    first = platform.evaluate("scheduler", "public", "nightly-failed-3")
    assert first.status_code == 200
    again = platform.evaluate("scheduler", "public", "nightly-failed-3")
    assert again.status_code == 429


def test_a_monitor_naming_another_runAsUser_is_refused_at_apply(platform: Platform) -> None:
    """Borrowing someone's authority is refused when the monitor is applied (nothing is
    stored); the evaluation refuses it again for monitors stored some other way."""
    borrowed = "runAsUser: dataos-operator\n" + monitor().replace(
        "nightly-failed\n", "borrowed\n", 1
    )
    with pytest.raises(ApiFailure) as refused:
        apply(platform.server, platform.keys["mallory"], borrowed, "public")
    assert refused.value.status == 422
    (issue,) = refused.value.issues
    assert "run the monitor as them" in json.dumps(issue)
    answer = platform.evaluate("scheduler", "public", "borrowed")
    assert answer.status_code == 404


def test_a_monitor_job_run_by_dagster_resolves_through_the_server_and_the_cli_lists_it(
    platform: Platform, opened: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATAOS_HOME", str(platform.server.home))
    monkeypatch.setenv("DATAOS_API_URL", platform.server.url)
    platform.dagster.add_run("public__nightly", "SUCCESS")
    answers: list[Mapping[str, Any]] = []

    def trigger(workspace: str, name: str) -> Mapping[str, Any]:
        answers.append(_when_allowed(lambda: evaluate_remotely(workspace, name)))
        return answers[-1]

    model = wire(monitor())[0]["manifest"]
    compiled = compile_monitors([CompileInput(Monitor.model_validate(model), "public")], trigger)
    job = compiled.resolve_job_def(monitor_job_name("public", "nightly-failed"))
    assert job.execute_in_process(instance=DagsterInstance.ephemeral()).success
    assert [(a["outcome"], a["action"]) for a in answers] == [("clear", "resolved")]
    listed = run_cli(
        platform.server,
        "get",
        "incidents",
        "-w",
        "public",
        "--state",
        "resolved",
        DATAOS_API_KEY=platform.keys["dev"],
    )
    assert listed.returncode == 0, listed.stderr
    assert opened["public"] in listed.stdout and "|" in listed.stdout
    assert "resolved" in listed.stdout
    assert os.environ["DATAOS_API_URL"] == platform.server.url


def _when_allowed(call: Callable[[], Mapping[str, Any]]) -> Mapping[str, Any]:
    """``call`` once the monitor's rate limit lets it through (at most a few seconds)."""
    deadline = time.monotonic() + 3 * MIN_INTERVAL_S
    while True:
        try:
            return call()
        except Failure as exc:
            if " 429 " not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/monitor/api/v1/incidents"),
        ("GET", "/monitor/api/v1/incidents/any"),
        ("POST", "/monitor/api/v1/monitors/public/nightly-failed/evaluate"),
    ],
)
def test_requests_without_a_valid_key_get_401(platform: Platform, method: str, path: str) -> None:
    forged = [
        {},
        {"Authorization": "Bearer dok_0123456789abcdef_" + "A" * 43},
        {"apikey": "not-a-key"},
        {"Authorization": f"Basic {platform.scheduler}"},
    ]
    for headers in forged:
        answer = httpx.request(method, platform.server.url + path, headers=headers)
        assert answer.status_code == 401, (headers, answer.text)


def test_a_workspace_smuggled_in_the_path_is_refused(platform: Platform) -> None:
    for workspace in ("..%2Fops", "ops%00", "%2A"):
        answer = platform.evaluate("mallory", workspace, "nightly-failed")
        assert answer.status_code in (403, 404), (workspace, answer.text)
    assert platform.incidents("mallory", workspace="*") == []


def test_deleting_a_monitor_resolves_its_open_incident(
    platform: Platform, opened: dict[str, str]
) -> None:
    assert opened["ops"] in {i["id"] for i in platform.incidents("operator", state="open")}
    with DataosClient(platform.server.url, api_key=platform.server.api_key) as operator:
        operator.delete_resource("monitor", "nightly-failed", "ops")
    assert opened["ops"] not in {i["id"] for i in platform.incidents("operator", state="open")}
    resolved = {i["id"] for i in platform.incidents("operator", state="resolved")}
    assert opened["ops"] in resolved
