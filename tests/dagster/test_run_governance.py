"""Workflow runs act as an identity and are governed like that identity's queries, at run
time: Heimdall decides every dataset a step reads and writes before it reads anything, and
what it reads carries the identity's masks and row filters (real Dagster in process, real
DuckDB, Iceberg and a SQLite store under a temporary ``DATAOS_HOME``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dagster import AssetCheckEvaluation
from governance_support import (
    CHECK,
    CUSTOMERS,
    SOURCE,
    TARGET,
    World,
    access,
    emails,
    failure_messages,
    make_world,
    sha256,
)

from dataos_defs.compile import JobContext
from dataos_defs.heimdall.service import DEFAULT_POLICIES_ROOT
from dataos_defs.location.governance import RUN_SOURCE, run_governor
from dataos_defs.poros.identities import Identities
from dataos_defs.stacks.flare import AccessDenied


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    home = tmp_path / "home"
    for name in ("DATAOS_DATABASE_URL", "DATAOS_EXECUTORS", "DATAOS_POLICIES_ROOT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATAOS_HOME", str(home))
    return make_world(home)


def test_a_plain_user_reads_hashed_emails_and_the_output_holds_them_hashed(world: World) -> None:
    world.copy("copy-alice", "alice")
    result = world.run("copy-alice")
    assert result.success, failure_messages(result)
    table = world.table("shop", "customers_copy")
    assert table is not None
    assert emails(table) == sorted(sha256(e) for _, e, _, _ in CUSTOMERS)
    [event] = result.get_asset_materialization_events()
    assert event.materialization.metadata["dataos/run_as"].value == "alice"


def test_a_user_exempted_by_pass_through_reads_raw_emails(world: World) -> None:
    world.copy("copy-bot", "etl-bot")
    assert world.run("copy-bot").success
    table = world.table("shop", "customers_copy")
    assert table is not None
    assert emails(table) == sorted(e for _, e, _, _ in CUSTOMERS)


def test_a_row_filter_drops_the_rows_the_user_may_not_see(world: World) -> None:
    world.copy("copy-uma", "uma")
    assert world.run("copy-uma").success
    table = world.table("shop", "customers_copy")
    assert table is not None
    rows = sorted((r["id"], r["country"], r["email"]) for r in table.to_pylist())
    assert rows == [(i, c, sha256(e)) for i, e, c, _ in CUSTOMERS if c == "UK"]


def test_a_run_that_may_not_read_an_input_fails_naming_it_and_writes_nothing(
    world: World,
) -> None:
    orders = "dataos://landing:none/orders"
    world.apply(access("deny-orders", "[users:id:alice]", "read", orders, allow=False))
    world.copy("copy-orders", "alice", source=orders)
    result = world.run("copy-orders")
    assert not result.success
    message = " ".join(failure_messages(result))
    assert "workflow public/copy-orders job copy runs as alice" in message
    assert f"alice may not read {orders}: denied by policy deny-orders" in message
    assert "ask for an access policy or run as a user who may" in message
    assert world.table("shop", "customers_copy") is None


def test_a_run_that_may_not_write_its_output_fails_and_writes_nothing(world: World) -> None:
    target = "dataos://lake:vault/customers_copy"
    world.apply(access("deny-vault", "[users:id:alice]", "write", "dataos://lake:vault/**", False))
    world.copy("copy-vault", "alice", target=target)
    result = world.run("copy-vault")
    assert not result.success
    assert any(f"alice may not write {target}" in m for m in failure_messages(result))
    assert world.table("vault", "customers_copy") is None


def test_a_policy_changed_between_apply_and_run_is_the_one_applied(world: World) -> None:
    world.copy("copy-alice", "alice")
    world.delete("policy", "people-read-landing")
    result = world.run("copy-alice")
    assert not result.success
    message = " ".join(failure_messages(result))
    assert f"alice may not read {SOURCE}: no policy allows read on {SOURCE}" in message
    assert world.table("shop", "customers_copy") is None


def test_a_deleted_user_fails_the_step(world: World) -> None:
    world.copy("copy-alice", "alice")
    with world.store() as store:
        Identities(store).delete_user("alice")
    result = world.run("copy-alice")
    assert not result.success
    assert any("runs as alice, which is not a user" in m for m in failure_messages(result))
    assert world.table("shop", "customers_copy") is None


def test_run_time_decisions_are_logged_as_workflow_run(world: World) -> None:
    world.copy("copy-alice", "alice")
    assert world.run("copy-alice").success
    logged = {
        (d["subject"], d["predicate"], d["object"], d["allow"])
        for d in world.decisions()
        if d["source"] == RUN_SOURCE
    }
    assert logged == {("alice", "read", SOURCE, True), ("alice", "write", TARGET, True)}


def test_soda_checks_evaluate_the_rows_and_values_the_user_may_see(world: World) -> None:
    world.apply(CHECK.format(name="check-uma"), actor="uma", run_as="uma")
    world.apply(CHECK.format(name="check-bot"), actor="etl-bot", run_as="etl-bot")
    uma = checks(world, "check-uma")
    bot = checks(world, "check-bot")
    # uma keeps two UK rows, with e-mails hashed; the exempted bot sees all four, raw.
    assert uma["row_count"].metadata["dataos/metric/row_count"].value == 2
    assert not uma["row_count"].passed
    assert uma["invalid_count"].metadata["dataos/metric/invalid_count(email)"].value == 2
    assert bot["row_count"].passed and bot["invalid_count"].passed


def checks(world: World, workflow: str) -> dict[str, AssetCheckEvaluation]:
    """The run's check evaluations by metric (check names get suffixes across workflows)."""
    result = world.run(workflow)
    return {
        c.check_name.split("_eq_")[0].removesuffix("_email"): c
        for c in result.get_asset_check_evaluations()
    }


FAULT = """package heimdall.access

# Fault injection: two values for one complete rule, only for the orders dataset, so the
# engine fails on exactly the requests that name it.
decision := {"allow": true, "reason": "fault", "policy": null, "collection": null} if {
	endswith(object.get(input.object, "path", ""), "/orders")
}
"""


def test_an_engine_fault_on_one_dataset_fails_the_step_closed(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    faulty = tmp_path / "policies"
    shutil.copytree(DEFAULT_POLICIES_ROOT, faulty)
    (faulty / "heimdall" / "fault.rego").write_text(FAULT)
    monkeypatch.setenv("DATAOS_POLICIES_ROOT", str(faulty))
    world.apply(access("alice-orders", "[users:id:alice]", "read", "dataos://landing:**"))
    world.copy("copy-orders", "alice", source="dataos://landing:none/orders")
    world.copy("copy-alice", "alice", target="dataos://lake:shop/customers_fine")

    fine = world.run("copy-alice")
    assert fine.success, "datasets the fault does not touch are decided as usual"
    result = world.run("copy-orders")
    assert not result.success
    message = " ".join(failure_messages(result))
    assert "no decision could be made" in message and "fail closed" in message
    assert world.table("shop", "customers_copy") is None
    assert any(
        d["source"] == RUN_SOURCE and not d["allow"] and d["reason"] == "policy engine error"
        for d in world.decisions()
    )


def test_the_jobs_sql_reaches_no_file_around_the_governed_inputs(world: World) -> None:
    raw = world.home / "data" / "landing" / "customers.csv"
    world.copy("copy-around", "alice", sql=f"SELECT * FROM read_csv('{raw}')")
    result = world.run("copy-around")
    assert not result.success
    assert any("file system operations are disabled" in m for m in failure_messages(result))
    assert world.table("shop", "customers_copy") is None


def test_nothing_is_governed_or_tagged_that_was_not_authorized_first(world: World) -> None:
    job = JobContext("public", "w", "j", "flare", None, None, (), run_as="alice")
    governor = run_governor(job, world.settings)
    with pytest.raises(AccessDenied, match="was not authorized for reading"):
        governor.govern(SOURCE, [("email", "VARCHAR")], '"raw"')
    governor.authorize([SOURCE], [])
    assert governor.govern(SOURCE, [("email", "VARCHAR")], '"raw"') is not None
    with pytest.raises(AccessDenied, match="was not authorized for writing"):
        governor.derive_tags(TARGET, {"email": ()})
