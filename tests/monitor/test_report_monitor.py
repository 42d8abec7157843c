"""Report monitors over real Dagster runs: a failing workflow opens one incident, kept while
it keeps failing, resolved by a successful run; durations; what the owner may not read."""

from __future__ import annotations

import pytest
from dagster import DagsterInstance

from dataos_defs.caretaker import db as caretaker_db
from dataos_defs.caretaker.recorder import record_run
from dataos_defs.caretaker.records import RunRecord
from dataos_defs.manifest.errors import ManifestError
from dataos_defs.monitor import jqfilter
from dataos_defs.monitor.caretaker_runs import CaretakerRuns
from dataos_defs.poros.db import write_transaction
from tests.monitor.conftest import World
from tests.monitor.dagster_runs import InstanceRuns, run, workflow_job

WORKFLOW = """\
name: nightly
version: v1
type: workflow
workflow:
  dag:
    - name: work
      spec:
        stack: python3
        compute: runnable-default
        stackSpec: {}
"""
PAGER = """\
name: ops-hook
version: v1alpha
type: pager
pager:
  conditions:
    - {valueJqFilter: .properties.severity, operator: equals, value: high}
  output:
    webHook: {url: "http://127.0.0.1:9/hook", verb: post}
"""
MONITOR = """\
name: nightly-failed
version: v1alpha
type: monitor
monitor:
  schedule: '*/5 * * * *'
  type: report_monitor
  report:
    source:
      dataOsInstance:
        path: "/collated/api/v1/reports/resources/runtime?id=workflow:v1:{name}:{workspace}"
    conditions:
      - valueComparison:
          observationType: workflow-runs
          valueJqFilter: '{jq}'
          operator: equals
          value: failed
{extra}  incident:
    name: nightly-failed
    severity: high
    incidentType: workflowruntimefailure
"""
HELD_10M = """\
      - durationComparison:
          operator: greater_than
          value: 10m
"""


def monitor(
    jq: str = ".value[] | .lastRun.status",
    extra: str = "",
    name: str = "nightly",
    workspace: str = "public",
) -> str:
    return MONITOR.format(jq=jq, extra=extra, name=name, workspace=workspace)


@pytest.fixture
def dagster() -> DagsterInstance:
    return DagsterInstance.ephemeral()


@pytest.fixture
def dev(world: World) -> World:
    world.user("dev", "roles:id:data-dev")
    world.apply(WORKFLOW, "dev")
    return world


@pytest.mark.slow
def test_a_failing_workflow_fires_once_stays_deduplicated_and_resolves(
    dev: World, dagster: DagsterInstance
) -> None:
    dev.apply(PAGER, "dev")
    dev.apply(monitor(), "dev")
    runs = InstanceRuns(dagster)
    nightly = workflow_job("public", "nightly")
    failed_run = run(dagster, nightly, fail=True)

    first = dev.evaluate("nightly-failed", runs=runs)
    assert first.outcome == "firing" and first.transition is not None
    assert first.transition.action == "opened"
    incident = first.transition.incident
    assert incident["name"] == "nightly-failed" and incident["severity"] == "high"
    assert incident["incidentType"] == "workflowruntimefailure"
    assert incident["context"]["report"]["value"][0]["lastRun"]["id"] == failed_run
    assert incident["context"]["conditions"][0]["observed"] == ["failed"]

    dev.clock.advance(300)
    again = dev.evaluate("nightly-failed", runs=runs)
    assert again.transition is not None and again.transition.action == "updated"
    kept = again.transition.incident
    assert (kept["id"], kept["occurrences"], kept["state"]) == (incident["id"], 2, "open")
    assert kept["lastSeen"] - kept["firstSeen"] == 300_000
    assert len(dev.incidents.listed(state="open")) == 1

    run(dagster, nightly, fail=False)
    dev.clock.advance(300)
    cleared = dev.evaluate("nightly-failed", runs=runs)
    assert cleared.outcome == "clear" and cleared.transition is not None
    resolved = cleared.transition.incident
    assert (resolved["id"], resolved["state"]) == (incident["id"], "resolved")
    assert resolved["resolvedAt"] == dev.clock.now
    assert dev.evaluate("nightly-failed", runs=runs).transition is None

    actions = [(sent["action"], sent["id"], pagers) for sent, pagers in dev.dispatched]
    assert actions == [(a, incident["id"], ["ops-hook"]) for a in ("opened", "updated", "resolved")]
    assert dev.dispatched[0][0]["properties"]["severity"] == "high"

    run(dagster, nightly, fail=True)
    dev.clock.advance(300)
    reopened = dev.evaluate("nightly-failed", runs=runs)
    assert reopened.transition is not None and reopened.transition.action == "opened"
    assert reopened.transition.incident["id"] != incident["id"]
    assert len(dev.incidents.listed()) == 2


@pytest.mark.slow
def test_failed_for_more_than_ten_minutes_counts_from_when_it_first_held(
    dev: World, dagster: DagsterInstance
) -> None:
    dev.apply(monitor(extra=HELD_10M), "dev")
    runs = InstanceRuns(dagster)
    nightly = workflow_job("public", "nightly")
    run(dagster, nightly, fail=True)
    started = dev.clock.now
    assert dev.evaluate("nightly-failed", runs=runs).outcome == "clear"
    dev.clock.advance(5 * 60)
    assert dev.evaluate("nightly-failed", runs=runs).outcome == "clear"
    state = dev.incidents.state(_ref())
    assert state is not None and state["holdingSince"] == started
    dev.clock.advance(6 * 60)
    fired = dev.evaluate("nightly-failed", runs=runs)
    assert fired.outcome == "firing"
    assert fired.context["conditions"][1]["observed"] == [660.0]

    run(dagster, nightly, fail=False)
    dev.clock.advance(60)
    assert dev.evaluate("nightly-failed", runs=runs).outcome == "clear"
    state = dev.incidents.state(_ref())
    assert state is not None and state["holdingSince"] is None
    run(dagster, nightly, fail=True)
    dev.clock.advance(60)
    assert dev.evaluate("nightly-failed", runs=runs).outcome == "clear", "the count restarts"


@pytest.mark.slow
def test_the_duration_of_selected_runs(dev: World, dagster: DagsterInstance) -> None:
    run(dagster, workflow_job("public", "nightly"), fail=False)
    runs = InstanceRuns(dagster)
    for operator, outcome in (("greater_than", "clear"), ("less_than", "firing")):
        dev.apply(
            monitor(jq=".value[] | .type", extra=_lasting(operator)).replace(
                "value: failed", "value: workflow"
            ),
            "dev",
        )
        dev.clock.advance(60)
        assert dev.evaluate("nightly-failed", runs=runs).outcome == outcome, operator


def _lasting(operator: str) -> str:
    return f"""\
      - durationComparison:
          selectorJqFilter: '.value[] | .lastRun'
          startedJqFilter: .startedMs
          completedJqFilter: .endedMs
          operator: {operator}
          value: 1h
"""


def _ref():  # type: ignore[no-untyped-def]
    from dataos_defs.monitor.incidents import MonitorRef

    return MonitorRef("public", "nightly-failed")


@pytest.mark.parametrize(
    ("jq", "expected"),
    [
        ("range(5000)", "conditions[0].valueJqFilter: jq filter 'range(5000)' failed: more than"),
        ('error("no such key")', "failed: no such key"),
        ("[range(1e9)] | length", f"ran longer than {jqfilter.TIMEOUT_S} s and was stopped"),
    ],
    ids=["too-many-results", "jq-error", "timeout"],
)
def test_jq_errors_and_limits_put_the_monitor_in_error_and_change_no_incident(
    dev: World, dagster: DagsterInstance, jq: str, expected: str
) -> None:
    dev.apply(monitor(), "dev")
    runs = InstanceRuns(dagster)
    run(dagster, workflow_job("public", "nightly"), fail=True)
    opened = dev.evaluate("nightly-failed", runs=runs)
    assert opened.transition is not None
    dev.apply(monitor(jq=jq), "dev")
    dev.clock.advance(60)
    broken = dev.evaluate("nightly-failed", runs=runs)
    assert broken.outcome == "error" and broken.transition is None
    assert broken.reason is not None and expected in broken.reason
    state = dev.incidents.state(_ref())
    assert state is not None and state["outcome"] == "error" and expected in state["error"]
    [still] = dev.incidents.listed()
    assert (still["state"], still["occurrences"]) == ("open", 1)
    assert jqfilter.run(".a", {"a": 2}) == [2], "a stopped worker is replaced"


def test_a_filter_that_does_not_compile_is_refused_at_apply(dev: World) -> None:
    with pytest.raises(ManifestError, match="not a valid jq filter"):
        dev.apply(monitor(jq=".value["), "dev")
    assert dev.store.get("monitor", "nightly-failed", "public") is None
    with pytest.raises(jqfilter.JqError, match="does not compile"):
        jqfilter.run(".value[", {})


def test_a_too_large_input_is_refused_before_jq_runs() -> None:
    with pytest.raises(jqfilter.JqError, match="bytes of JSON"):
        jqfilter.run(".", {"blob": "x" * (jqfilter.MAX_INPUT_BYTES + 1)})


def test_a_monitor_reports_only_on_its_workspace_and_what_its_owner_may_read(
    dev: World,
) -> None:
    dev.store.create_workspace("finance", None, [], "dataos-operator")
    dev.apply(WORKFLOW, "cfo", workspace="finance")
    dev.apply(monitor(workspace="finance"), "dev")
    refused = dev.evaluate("nightly-failed", runs=_AlwaysFailed())
    assert refused.outcome == "error" and refused.reason is not None
    assert "reports only on its own workspace" in refused.reason
    dev.apply(monitor(workspace=""), "dev", workspace="finance")
    found = dev.evaluate("nightly-failed", workspace="finance", runs=_AlwaysFailed())
    assert found.outcome == "clear"
    assert found.context["report"]["value"] == [], "dev may not read finance's workflow"


def test_a_monitor_never_acts_as_the_user_runAsUser_names(dev: World) -> None:
    dev.apply("runAsUser: dataos-operator\n" + monitor(), "dev")
    refused = dev.evaluate("nightly-failed", runs=_AlwaysFailed())
    assert refused.outcome == "error" and refused.reason is not None
    assert "runAsUser 'dataos-operator' is not admitted" in refused.reason
    assert dev.incidents.listed() == []


def test_without_an_orchestrator_workflow_runtimes_are_an_error_not_a_clear(dev: World) -> None:
    dev.apply(monitor(), "dev")
    unknown = dev.evaluate("nightly-failed", runs=None)
    assert unknown.outcome == "error" and unknown.reason is not None
    assert "no orchestrator" in unknown.reason


class _AlwaysFailed:
    def latest_runs(self, resources):  # type: ignore[no-untyped-def]
        from dataos_defs.monitor.report import RunSummary

        return {key: RunSummary("r1", "failed", 1, 2) for key in resources}


def test_caretakers_live_runs_are_read_before_dagster(dev: World) -> None:
    caretaker_db.upgrade(dev.store.engine)
    dev.apply(monitor(), "dev")
    view = CaretakerRuns(dev.store.engine)

    def record(run_id: str, state: str, started_ms: int) -> None:
        run = RunRecord(
            run_id, "public", "workflow", "nightly", state, started_ms, started_ms + 5, 5,
            "dev", "public__nightly",
        )  # fmt: skip
        with write_transaction(dev.store.engine) as conn:
            record_run(conn, run)

    record("r-1", "failed", 1_000)
    fired = dev.evaluate("nightly-failed", runs=view)
    assert fired.outcome == "firing"
    assert fired.context["report"]["value"][0]["lastRun"]["id"] == "r-1"
    record("r-2", "succeeded", 2_000)
    dev.clock.advance(60)
    assert dev.evaluate("nightly-failed", runs=view).outcome == "clear"
