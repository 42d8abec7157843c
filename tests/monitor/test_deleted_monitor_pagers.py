"""A deleted monitor's open incident reaches its pagers as resolved, once.

A real store (SQLite or PostgreSQL), a real pager applied with a webhook to an HTTP
receiver on 127.0.0.1, the real deliverer and dispatch: the monitor fires, is deleted, and
the next evaluation of another monitor (or the API's orphan pass) resolves its incident and
delivers that, with why; a second pass delivers nothing more.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from dataos_defs.monitor.deliveries import Deliverer
from dataos_defs.monitor.deliveries_targets import ALLOW_NETWORKS_ENV
from dataos_defs.monitor.incidents import IncidentSpec, MonitorRef
from dataos_defs.monitor.orphans import RESOLVED_BECAUSE, resolve_deleted_monitors
from dataos_defs.monitor.pagers import active_pagers, dispatch, use_deliverer
from tests.monitor.conftest import World
from tests.monitor.deliveries_support import HttpReceiver, deliverer, http_receiver
from tests.monitor.test_report_monitor import WORKFLOW, monitor

BODY = (
    '{"action": "{{ .action }}", "state": "{{ .state }}", "why": "{{ .resolvedBecause }}",'
    ' "severity": "{{ .properties.severity }}", "name": "{{ .Name }}"}'
)
REF = MonitorRef("public", "nightly-failed")


def hook(url: str, workspace: str = "public") -> str:
    return f"""\
name: ops-hook
version: v1alpha
type: pager
workspace: {workspace}
pager:
  conditions:
    - {{valueJqFilter: .properties.severity, operator: equals, value: high}}
  output:
    webHook: {{url: "{url}/hook", verb: post, bodyTemplate: '{BODY}'}}
"""


@pytest.fixture
def receiving(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[HttpReceiver, Deliverer]]:
    monkeypatch.setenv(ALLOW_NETWORKS_ENV, "127.0.0.1/32")
    world.user("dev", "roles:id:data-dev")
    world.apply(WORKFLOW, "dev")
    with http_receiver() as receiver:
        made, _ = deliverer(tmp_path)
        previous = use_deliverer(made)
        try:
            yield receiver, made
        finally:
            use_deliverer(previous)
            made.close()


def fire_then_delete(world: World) -> str:
    world.apply(monitor(), "dev")
    spec = IncidentSpec("nightly-failed", "high", "workflowruntimefailure")
    opened = world.incidents.settle(REF, True, spec, {"report": {}})
    assert opened is not None and opened.action == "opened"
    world.store.delete("monitor", REF.name, REF.workspace, "dev")
    return str(opened.incident["id"])


def test_the_orphan_pass_delivers_the_resolution_once(
    world: World, receiving: tuple[HttpReceiver, Deliverer]
) -> None:
    receiver, made = receiving
    world.apply(hook(receiver.url), "dev")
    incident = fire_then_delete(world)
    assert resolve_deleted_monitors(world.store, world.incidents, dispatch, active_pagers) == 1
    assert made.drain()
    assert resolve_deleted_monitors(world.store, world.incidents, dispatch, active_pagers) == 0
    assert made.drain()
    bodies = [json.loads(r.body) for r in receiver.received]
    assert bodies == [
        {
            "action": "resolved",
            "state": "resolved",
            "why": RESOLVED_BECAUSE,
            "severity": "high",
            "name": "nightly-failed",
        }
    ]
    assert world.incidents.get(incident)["state"] == "resolved"  # type: ignore[index]


def test_another_monitors_evaluation_delivers_it(
    world: World, receiving: tuple[HttpReceiver, Deliverer]
) -> None:
    receiver, made = receiving
    world.apply(hook(receiver.url), "dev")
    fire_then_delete(world)
    world.apply(monitor(name="nightly").replace("nightly-failed", "still-here"), "dev")
    world.evaluate("still-here")  # its own outcome does not matter here
    deleted = [(i, pagers) for i, pagers in world.dispatched if i["monitor"] == REF.name]
    assert [(i["action"], i["resolvedBecause"], p) for i, p in deleted] == [
        ("resolved", RESOLVED_BECAUSE, ["ops-hook"])
    ]
    assert made.drain() and receiver.received == []  # world.dispatch records, sends nothing


def test_another_workspaces_pager_never_hears_of_it(
    world: World, receiving: tuple[HttpReceiver, Deliverer]
) -> None:
    receiver, made = receiving
    world.store.create_workspace("finance", None, [], "dataos-operator")
    world.apply(hook(receiver.url, workspace="finance"), "dev", workspace="finance")
    fire_then_delete(world)
    assert resolve_deleted_monitors(world.store, world.incidents, dispatch, active_pagers) == 1
    assert made.drain() and receiver.received == []
