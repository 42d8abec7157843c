"""Quality check results in Caretaker, from real Dagster runs of soda checks on GX.

Real parts: workflows compiled from a SQLite store under a temporary ``DATAOS_HOME``,
Heimdall's policies, DuckDB and Great Expectations, a persistent Dagster instance, the
Caretaker sensor, the Parquet history, the Gateway and a real API server. The attacker is a
``roles:id:data-dev`` user reaching for another owner's checks over HTTP and SQL; and no
unexpected value a check saw (raw or masked) may reach Caretaker's table or history.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import dagster as dg
import httpx
import pytest
from sqlalchemy import Engine, select

from dataos_defs.caretaker import schema
from dataos_defs.caretaker.checks import CheckRecord, check_record
from dataos_defs.caretaker.db import writer_engine
from dataos_defs.caretaker.history import HistoryStore
from dataos_defs.caretaker.recorder import RunBatch, now_ms, record
from dataos_defs.caretaker.records import RunRecord
from dataos_defs.caretaker.retention import Retention
from dataos_defs.gateway.service import Caller, Denied, Gateway, QueryRequest
from dataos_defs.heimdall.credentials import Credentials, credentials_path, write_credentials
from dataos_defs.heimdall.identity import OPERATOR_ID, OPERATOR_TAGS
from dataos_defs.heimdall.service import Heimdall
from dataos_defs.location import naming
from dataos_defs.location.caretaker_sensor import evaluate
from dataos_defs.location.definitions import build_definitions
from dataos_defs.poros.identities import Identities
from tests.dagster.dagster_support import interfaces
from tests.dagster.governance_support import CUSTOMERS, World, make_world

pytestmark = pytest.mark.slow

CHECKED = """
name: {name}
version: v1
type: workflow
workflow:
  dag:
    - name: quality
      spec:
        stack: soda+python:1.0
        compute: runnable-default
        stackSpec:
          inputs:
            - dataset: dataos://landing:none/customers
              checks:
                - row_count = {rows}
                - row_count:
                    warn: when < 99
                - missing_count(email) = 0:
                    missing regex: "."
"""
CLUSTER = """
name: minervashop
version: v1
type: cluster
cluster:
  type: minerva
  minerva:
    depots: [{address: "dataos://lake"}]
"""
DATA_DEV_POLICY = """
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
CHECKS_SQL = 'SELECT run_id, "check", outcome, run_as FROM caretaker.runs.checks'
ETL_READER = Caller("etl-bot", ("roles:id:caretaker-reader", "users:id:etl-bot"))
DEV_READER = Caller("data-dev", ("roles:id:caretaker-reader", "users:id:data-dev"))
DEV = Caller("data-dev", ("roles:id:data-dev", "roles:id:user", "users:id:data-dev"))
RAW = [email for _, email, _, _ in CUSTOMERS]


@dataclass
class Checked:
    world: World
    instance: dg.DagsterInstance
    definitions: dg.Definitions
    engine: Engine
    bot_run: str
    dev_run: str
    samples: list[str]
    """Every unexpected-sample value the runs' asset checks showed in Dagster."""

    def tick(self, cursor: str | None = None) -> str | None:
        context = dg.build_sensor_context(
            instance=self.instance, cursor=cursor, definitions=self.definitions
        )
        evaluate(context, self.world.settings)
        return context.cursor

    def rows(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(schema.checks))]


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Checked]:
    home = tmp_path_factory.mktemp("checks") / "home"
    with pytest.MonkeyPatch.context() as patch:
        for name in ("DATAOS_DATABASE_URL", "DATAOS_EXECUTORS", "DATAOS_POLICIES_ROOT"):
            patch.delenv(name, raising=False)
        patch.setenv("DATAOS_HOME", str(home))
        world = make_world(home)
        with world.store() as store:
            Identities(store).create_user("data-dev", "person")
        world.apply(DATA_DEV_POLICY)
        world.apply(CLUSTER)
        bot = CHECKED.format(name="checked-bot", rows=len(CUSTOMERS))
        world.apply(bot, actor="etl-bot", run_as="etl-bot")
        world.apply(CHECKED.format(name="checked-dev", rows=99), "data-dev", "data-dev")
        definitions = build_definitions(world.settings)
        (home / "dagster").mkdir()
        with dg.DagsterInstance.local_temp(str(home / "dagster")) as instance:
            results = [
                definitions.resolve_job_def(naming.job_name("public", name)).execute_in_process(
                    instance=instance, raise_on_error=False
                )
                for name in ("checked-bot", "checked-dev")
            ]
            samples = [
                str(value)
                for result in results
                for e in result.get_asset_check_evaluations()
                for value in _sample(e.metadata)
            ]
            engine = writer_engine(world.settings.database_url)
            found = Checked(
                world, instance, definitions, engine, results[0].run_id, results[1].run_id, samples
            )
            found.tick()
            yield found


def _sample(metadata: Any) -> list[Any]:
    found = metadata.get("dataos/gx/unexpected_sample")
    return list(found.value or []) if found is not None else []


def by_check(rows: list[dict[str, Any]], run_id: str) -> dict[str, dict[str, Any]]:
    return {r["check"]: r for r in rows if r["run_id"] == run_id}


def test_pass_warn_and_fail_are_recorded_with_their_figures(checked: Checked) -> None:
    found = by_check(checked.rows(), checked.bot_run)
    assert len(found) == 3, found
    outcomes = sorted((r["outcome"], r["severity"]) for r in found.values())
    assert outcomes == [("fail", "ERROR"), ("pass", "ERROR"), ("warn", "WARN")]
    for row in found.values():
        assert (row["workspace"], row["resource_name"], row["job"]) == (
            "public",
            "checked-bot",
            "quality",
        )
        assert row["asset_key"] and row["evaluated_ms"] > 0
    failed = next(r for r in found.values() if r["outcome"] == "fail")
    assert failed["unexpected_count"] == len(CUSTOMERS) and not failed["passed"]
    assert json.loads(failed["metrics"]) == {"missing_count(email)": len(CUSTOMERS)}, failed
    passed = next(r for r in found.values() if r["outcome"] == "pass")
    assert passed["passed"] and json.loads(passed["observed_value"]) == len(CUSTOMERS)
    assert json.loads(passed["metrics"]) == {"row_count": len(CUSTOMERS)}, passed


def test_no_unexpected_value_reaches_the_table_or_the_history(checked: Checked) -> None:
    """The runs' checks showed raw (etl-bot) and masked (data-dev) e-mails in Dagster."""
    assert any(s in RAW for s in checked.samples), "the bot's sample holds raw e-mails"
    assert any(s not in RAW for s in checked.samples), "data-dev's sample is masked"
    stored = json.dumps(checked.rows(), default=str)
    history = HistoryStore.from_env(checked.world.home).read("checks")
    archived = json.dumps(history.to_pylist(), default=str)
    assert history.num_rows == 6
    for value in {*checked.samples, *RAW}:
        assert value not in stored and value not in archived
    for local in (e.split("@")[0] for e in RAW if len(e.split("@")[0]) > 3):
        assert local not in stored and local not in archived  # "ada" is hex: a run id has it
    assert "unexpected_sample" not in stored and "sample" not in schema.checks.c


def test_reading_the_runs_again_records_nothing_twice(checked: Checked) -> None:
    before = sorted(checked.rows(), key=lambda r: (r["run_id"], r["check"]))
    history = HistoryStore.from_env(checked.world.home)
    archived = history.read("checks").num_rows
    checked.tick(None)
    checked.tick(None)
    after = sorted(checked.rows(), key=lambda r: (r["run_id"], r["check"]))
    assert after == before and len(after) == 6
    assert history.read("checks").num_rows == archived == 6


def test_the_history_carries_the_owner_and_the_governed_query_keeps_to_it(
    checked: Checked,
) -> None:
    history = HistoryStore.from_env(checked.world.home).read("checks").to_pylist()
    owners = {(r["run_id"], r["run_as"]) for r in history}
    assert owners == {(checked.bot_run, "etl-bot"), (checked.dev_run, "data-dev")}
    with checked.world.store() as store:
        heimdall = Heimdall(store, checked.world.home)
        gateway = Gateway(store, heimdall, checked.world.home)
        try:

            def rows(caller: Caller) -> list[tuple[object, ...]]:
                page = gateway.run(caller, QueryRequest(CHECKS_SQL, cluster="minervashop"))
                return list(page.rows)

            mine = rows(ETL_READER)
            assert {(r[0], r[3]) for r in mine} == {(checked.bot_run, "etl-bot")}
            assert {r[2] for r in mine} == {"pass", "warn", "fail"}
            assert {r[0] for r in rows(DEV_READER)} == {checked.dev_run}
            with pytest.raises(Denied):
                rows(DEV)
        finally:
            gateway.close()
            heimdall.close()


def test_only_figures_are_kept_of_an_evaluation() -> None:
    """A string observed value (the min of a text column) or a text metric is data."""
    kept = check_record(
        "r1",
        ("public", "workflow", "wf"),
        "quality",
        ("landing/none/customers", "min_email", False, "ERROR"),
        {
            "dataos/outcome": "fail",
            "dataos/metric/min(email)": "ada@example.com",
            "dataos/metric/row_count": 4,
            "dataos/gx/observed_value": "ada@example.com",
            "dataos/gx/unexpected_count": 2,
            "dataos/gx/unexpected_sample": ["ada@example.com", "alan@example.com"],
            "dataos/explanation": "min(email) = ada@example.com",
        },
        1,
    )
    assert "example.com" not in json.dumps(kept.__dict__)
    assert (kept.metrics, kept.observed_value, kept.unexpected_count) == (
        '{"row_count": 4}',
        None,
        2,
    )
    assert kept.outcome == "fail"


def finance_batch() -> RunBatch:
    at = now_ms() - 60_000
    run = RunRecord(
        "fin-run", "finance", "workflow", "payroll", "failed", at, at + 500, 500,
        "finance-bot", "finance__payroll",
    )  # fmt: skip
    check = CheckRecord(
        "fin-run", "finance", "workflow", "payroll", "quality", "finance/salaries",
        "max_salary_lt_100", "fail", "ERROR", False, at, '{"max": 250000}', "250000", 1,
    )  # fmt: skip
    return RunBatch(run, checks=[check])


@pytest.fixture(scope="module")
def server(checked: Checked) -> Iterator[Any]:
    """The API server on the world's home; its store has users already, so the operator's
    key is made here rather than by the server's first start."""
    record(checked.engine, [finance_batch()], Retention())
    with checked.world.store() as store:
        people = Identities(store)
        people.create_user(OPERATOR_ID, "application", tags=OPERATOR_TAGS)
        key = people.create_api_key(OPERATOR_ID).key
    write_credentials(credentials_path(checked.world.home), Credentials(None, key, OPERATOR_ID))
    helpers = interfaces()
    started = helpers.start_server(checked.world.home)
    try:
        yield started
    finally:
        helpers.stop_server(started)


API = "/caretaker/api/v1/checks"


def test_the_api_and_the_cli_show_checks_governed_like_steps(checked: Checked, server: Any) -> None:
    helpers = interfaces()
    key = helpers.user_key(server, "attacker", ["roles:id:data-dev"])
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=server.url, headers=headers) as dev:
        own = dev.get(API, params={"run_id": checked.bot_run})
        assert own.status_code == 200, own.text
        assert {c["outcome"] for c in own.json()["checks"]} == {"pass", "warn", "fail"}
        for run_id in ("fin-run", "no-such-run"):
            answer = dev.get(API, params={"run_id": run_id})
            assert answer.status_code == 404 and "250000" not in answer.text
        named = dev.get(API, params={"workspace": "finance", "name": "payroll"})
        assert named.status_code == 403 and "250000" not in named.text
        assert dev.get(API).status_code == 400
    assert httpx.get(f"{server.url}{API}?run_id=fin-run").status_code == 401
    table = helpers.run_cli(server, "operations", "checks", "-n", "checked-bot", "--last", "5")
    assert table.returncode == 0, table.stderr
    lines = [line for line in table.stdout.splitlines() if checked.bot_run in line]
    assert len(lines) == 3 and all("|" in line for line in lines)
    assert {o for o in ("pass", "warn", "fail") if any(f"| {o} " in x for x in lines)} == {
        "pass",
        "warn",
        "fail",
    }
    refused = helpers.run_cli(
        server, "operations", "checks", "-n", "payroll", "-w", "finance", DATAOS_API_KEY=key
    )
    assert refused.returncode != 0 and "250000" not in refused.stdout
