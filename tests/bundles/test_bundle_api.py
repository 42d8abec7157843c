"""A Bundle through the API server: members in dependency order, each once its conditions
hold; re-applied unchanged it changes nothing; deleted, its members go in reverse order.

Services and Workers run on the test's workload stand-in (``conftest.Workloads``): the
test says when the Service is ``running:1``, which releases the Worker waiting for it.
"""

from __future__ import annotations

import time

from bundle_texts import NEVER, SERVICE_AND_WORKER

from tests.bundles.conftest import Platform


def test_members_are_applied_in_order_once_their_conditions_hold(platform: Platform) -> None:
    text = SERVICE_AND_WORKER.format(name="shop", ws="team-b", timeout="30s")
    answer = platform.apply(text)
    assert answer.status_code == 200, answer.text
    assert [(r["type"], r["action"]) for r in answer.json()["results"]] == [("bundle", "created")]

    deadline = time.monotonic() + 20
    while True:
        found = platform.bundle("shop")
        states = {m["id"]: m["state"] for m in found["members"]}
        if states.get("pump") == "waiting":
            break
        assert time.monotonic() < deadline, found
        time.sleep(0.1)
    assert states == {"creds": "created", "db": "created", "api": "created", "pump": "waiting"}
    assert found["status"] == "pending"
    assert (
        "3/4 applied; waiting on api: runtime is [running:1] (observed pending)"
        in (found["status_reason"])
    )
    assert platform.get("worker", "pump", "team-b").status_code == 404

    platform.workloads.ready[("service", "team-b", "api")] = 1
    done = platform.wait_bundle("shop")
    assert (done["status"], done["status_reason"]) == ("active", "4/4 applied")
    worker = platform.get("worker", "pump", "team-b").json()
    assert "dataos:bundle:shop" in worker["manifest"]["tags"]
    assert worker["owner"] is not None
    workspace = platform.call("GET", "/poros/api/v1/workspaces/team-b").json()
    assert "dataos:bundle:shop" in workspace["tags"]
    secret = platform.get("instance-secret", "shop-sec").json()
    assert "hunter2" not in str(secret["manifest"])
    bundle = platform.get("bundle", "shop").json()
    assert "hunter2" not in str(bundle["manifest"])


def test_re_applying_an_unchanged_bundle_changes_nothing(platform: Platform) -> None:
    text = SERVICE_AND_WORKER.format(name="same", ws="team-c", timeout="30s")
    platform.workloads.ready[("service", "team-c", "api")] = 1
    assert platform.apply(text).status_code == 200
    assert platform.wait_bundle("same")["status"] == "active"
    before = {
        key: len(platform.history(*key))
        for key in [
            ("bundle", "same", None),
            ("depot", "samedb", None),
            ("worker", "pump", "team-c"),
        ]
    }
    again = platform.apply(text)
    assert [r["action"] for r in again.json()["results"]] == ["unchanged"]
    found = platform.bundle("same")
    assert found["status"] == "active"
    after = {key: len(platform.history(*key)) for key in before}
    assert after == before


def test_a_condition_that_never_holds_times_out_with_a_clear_error(platform: Platform) -> None:
    assert platform.apply(NEVER.format(name="never")).status_code == 200
    done = platform.wait_bundle("never")
    assert done["status"] == "error"
    assert done["status_reason"] == (
        "member later (instance-secret 'never-later') timed out after 1 s waiting on "
        "creds: status is [error] (observed active)"
    )
    assert platform.get("instance-secret", "never-later").status_code == 404
    states = {m["id"]: m["state"] for m in done["members"]}
    assert states == {"creds": "created", "later": "failed"}


def test_deleting_a_bundle_deletes_its_members_in_reverse_order(platform: Platform) -> None:
    text = SERVICE_AND_WORKER.format(name="gone", ws="team-d", timeout="30s")
    platform.workloads.ready[("service", "team-d", "api")] = 1
    assert platform.apply(text).status_code == 200
    assert platform.wait_bundle("gone")["status"] == "active"

    answer = platform.call("DELETE", "/poros/api/v1/bundles/gone")
    assert answer.status_code == 200, answer.text
    deleted = [(d["type"], d["name"]) for d in answer.json()["deleted"]]
    assert deleted == [
        ("worker", "pump"),
        ("service", "api"),
        ("depot", "gonedb"),
        ("instance-secret", "gone-sec"),
        ("bundle", "gone"),
    ]
    assert answer.json()["workspaces"] == ["team-d"]
    assert platform.call("GET", "/poros/api/v1/workspaces/team-d").status_code == 404
    assert platform.get("depot", "gonedb").status_code == 404


def test_a_member_others_depend_on_keeps_the_bundle_unless_forced(platform: Platform) -> None:
    text = NEVER.format(name="kept").replace("status: {is: [error]}", "status: {is: [active]}")
    assert platform.apply(text).status_code == 200
    assert platform.wait_bundle("kept")["status"] == "active"
    outside = """\
name: outsidedb
version: v2alpha
type: depot
depot:
  type: POSTGRESQL
  external: true
  postgresql: {subprotocol: postgresql, host: localhost, port: 5432, database: shop}
  secrets:
    - name: kept-sec
      keys: [kept-sec]
"""
    assert platform.apply(outside).status_code == 200

    refused = platform.call("DELETE", "/poros/api/v1/resources/bundle/kept")
    assert refused.status_code == 409, refused.text
    assert platform.get("instance-secret", "kept-later").status_code == 200
    assert platform.get("bundle", "kept").status_code == 200

    forced = platform.call("DELETE", "/poros/api/v1/resources/bundle/kept", params={"force": True})
    assert forced.status_code == 200, forced.text
    assert platform.get("instance-secret", "kept-sec").status_code == 404
    assert platform.get("bundle", "kept").status_code == 404


def test_a_new_apply_supersedes_the_job_in_flight(platform: Platform) -> None:
    text = SERVICE_AND_WORKER.format(name="moved", ws="team-f", timeout="30s")
    assert platform.apply(text).status_code == 200
    deadline = time.monotonic() + 20
    while "waiting on api" not in (platform.bundle("moved")["status_reason"] or ""):
        assert time.monotonic() < deadline, platform.bundle("moved")
        time.sleep(0.1)

    changed = text.replace("timeout: 30s", "timeout: 45s")
    answer = platform.apply(changed)
    assert [r["action"] for r in answer.json()["results"]] == ["updated"]
    platform.workloads.ready[("service", "team-f", "api")] = 1
    done = platform.wait_bundle("moved")
    assert (done["status"], done["status_reason"]) == ("active", "4/4 applied")
    states = {m["id"]: m["state"] for m in done["members"]}
    assert states == {
        "creds": "unchanged",
        "db": "unchanged",
        "api": "unchanged",
        "pump": "created",
    }
    assert len(platform.history("worker", "pump", "team-f")) == 1
