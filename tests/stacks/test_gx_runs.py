"""Quality checks on Great Expectations in real Dagster runs of compiled workflows: a check
failing at its ``fail`` level blocks the assets downstream of the checked dataset, and the
unexpected values an asset check shows are the values the run's identity may see (masked).

Real parts: the code location compiled from a SQLite store under a temporary
``DATAOS_HOME``, Heimdall's policies, DuckDB, Iceberg and Dagster in process.
"""

from __future__ import annotations

import json

import dagster as dg
import pytest

from dataos_defs.poros.identities import Identities
from tests.dagster.governance_support import (
    CUSTOMERS,
    World,
    failure_messages,
    make_world,
    sha256,
)

pytestmark = pytest.mark.slow

PIPELINE = """
name: {name}
version: v1
type: workflow
workflow:
  dag:
    - name: land
      spec:
        stack: flare:7.0
        compute: runnable-default
        stackSpec:
          job:
            inputs:
              - {{name: customers, dataset: "dataos://landing:none/customers", format: csv}}
            steps:
              - sequence:
                  - {{name: landed, sql: "SELECT id, email, country, age FROM customers"}}
            outputs:
              - {{name: landed, dataset: "dataos://lake:shop/{name}_landed?acl=rw", format: iceberg}}
    - name: quality
      dependencies: [land]
      spec:
        stack: soda+python:1.0
        compute: runnable-default
        stackSpec:
          inputs:
            - dataset: dataos://lake:shop/{name}_landed
              checks:
                - {check}
    - name: publish
      dependencies: [land]
      spec:
        stack: flare:7.0
        compute: runnable-default
        stackSpec:
          job:
            inputs:
              - {{name: landed, dataset: "dataos://lake:shop/{name}_landed", format: iceberg}}
            steps:
              - sequence:
                  - {{name: published, sql: "SELECT * FROM landed"}}
            outputs:
              - {{name: published, dataset: "dataos://lake:shop/{name}_published?acl=rw", format: iceberg}}
"""

PROBE = """
name: {name}
version: v1
type: workflow
workflow:
  dag:
    - name: probe
      spec:
        stack: soda+python:1.0
        compute: runnable-default
        stackSpec:
          inputs:
            - dataset: dataos://landing:none/customers
              checks:
                - invalid_count(email) = 0:
                    valid format: email
                - missing_count(email) = 0:
                    missing regex: "."
                - invalid_count(email) < 1:
                    valid values: [nobody@example.com]
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """One governed world for the module; each test applies workflows of its own names."""
    home = tmp_path_factory.mktemp("gx") / "home"
    with pytest.MonkeyPatch.context() as patch:
        for name in ("DATAOS_DATABASE_URL", "DATAOS_EXECUTORS", "DATAOS_POLICIES_ROOT"):
            patch.delenv(name, raising=False)
        patch.setenv("DATAOS_HOME", str(home))
        world = make_world(home)
        with world.store() as store:
            Identities(store).create_user("data-dev", "person")
        world.apply(
            """
name: data-dev-lands
version: v1
type: policy
layer: user
policy:
  access:
    subjects: {tags: [[users:id:data-dev]]}
    predicates: [read, write, select]
    objects: {paths: ["dataos://landing:**", "dataos://lake:**"]}
    allow: true
"""
        )
    return world


@pytest.fixture
def env(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    for name in ("DATAOS_DATABASE_URL", "DATAOS_EXECUTORS", "DATAOS_POLICIES_ROOT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATAOS_HOME", str(world.home))
    return world


def run_pipeline(world: World, name: str, check: str) -> dg.ExecuteInProcessResult:
    world.apply(PIPELINE.format(name=name, check=check), actor="etl-bot", run_as="etl-bot")
    return world.run(name)


def ran(result: dg.ExecuteInProcessResult, job: str) -> bool:
    """Whether the step of a workflow job succeeded in the run."""
    return any(
        e.is_step_success and e.step_key is not None and e.step_key.endswith(job)
        for e in result.all_events
    )


def published(world: World, name: str) -> bool:
    return world.table("shop", f"{name}_published") is not None


def test_a_check_failing_at_its_fail_level_blocks_the_downstream_asset(env: World) -> None:
    result = run_pipeline(env, "blocked", "row_count = 99")
    assert not result.success
    [evaluation] = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert evaluation.metadata["dataos/gx/expectations"].value == (
        "expect_table_row_count_to_be_between"
    )
    assert evaluation.metadata["dataos/gx/observed_value"].value == len(CUSTOMERS)
    assert any("blocking asset check" in m for m in failure_messages(result))
    assert env.table("shop", "blocked_landed") is not None, "the checked dataset was written"
    assert not ran(result, "publish") and not published(env, "blocked")


def test_a_warning_or_a_passing_check_lets_the_downstream_asset_run(env: World) -> None:
    warned = run_pipeline(env, "warned", "row_count:\n                    warn: when < 99")
    assert warned.success, failure_messages(warned)
    [evaluation] = warned.get_asset_check_evaluations()
    assert (evaluation.passed, evaluation.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert published(env, "warned")
    passed = run_pipeline(env, "passed", f"row_count = {len(CUSTOMERS)}")
    assert passed.success and published(env, "passed")


def test_unexpected_values_of_a_masked_column_are_masked_in_the_asset_check(
    env: World,
) -> None:
    """Attack: a data-dev-owned workflow writes checks whose failing rows would show the
    raw e-mails (every value invalid, missing by a regex, outside a set of values)."""
    env.apply(PROBE.format(name="probe-dev"), actor="data-dev", run_as="data-dev")
    result = env.run("probe-dev")
    raw = [email for _, email, _, _ in CUSTOMERS]
    hashed = {sha256(email) for email in raw}
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == 3
    shown = json.dumps([{k: v.value for k, v in e.metadata.items()} for e in evaluations])
    for email in raw:
        assert email not in shown and email.split("@")[0] not in shown
    samples = [e.metadata["dataos/gx/unexpected_sample"].value for e in evaluations]
    assert all(samples) and all(set(s) <= hashed for s in samples), samples


def test_an_exempted_identity_sees_its_own_raw_values(env: World) -> None:
    env.apply(PROBE.format(name="probe-bot"), actor="etl-bot", run_as="etl-bot")
    result = env.run("probe-bot")
    by_check = {e.metadata["dataos/check"].value: e for e in result.get_asset_check_evaluations()}
    assert by_check["invalid_count(email) = 0"].passed, "raw e-mails are well formed"
    regex = by_check["missing_count(email) = 0"].metadata
    assert set(regex["dataos/gx/unexpected_sample"].value) <= {e for _, e, _, _ in CUSTOMERS}


def test_a_check_after_a_job_reading_its_dataset_blocks_nothing(env: World) -> None:
    """Quality after ``publish``, which reads the checked dataset: blocking ``publish`` on
    the check would be a cycle, so the failing check is reported and blocks nothing."""
    text = PIPELINE.format(name="late", check="row_count = 99")
    late = "name: quality\n      dependencies: [publish]"
    env.apply(text.replace("name: quality\n      dependencies: [land]", late), "etl-bot", "etl-bot")
    result = env.run("late")
    assert result.success, failure_messages(result)
    [evaluation] = result.get_asset_check_evaluations()
    assert not evaluation.passed and not evaluation.blocking
    assert published(env, "late") and ran(result, "quality")
