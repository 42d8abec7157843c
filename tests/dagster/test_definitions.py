"""The code location compiled from a real Poros store (``dataos_defs.location.definitions``)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.remote_representation.external_data import RepositorySnap
from dagster._serdes import serialize_value
from dagster_support import DAGSTER, ROOT, apply_example, dagster_env

from dataos_defs.location.definitions import StoreUnreadable, build_definitions
from dataos_defs.location.executors import (
    EXECUTORS_ENV,
    executors,
    run_container_as,
    run_flare,
    run_scanner_here,
    run_soda,
)
from dataos_defs.manifest.loader import load_documents
from dataos_defs.manifest.validate import parse_documents
from dataos_defs.poros.apply import apply_resources
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store

EXTRA = """\
name: extra
version: v1
type: workflow
workflow:
  dag:
    - name: hello
      spec: {stack: python3, compute: runnable-default, stackSpec: {}}
"""


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("dataos-home")
    applied = apply_example(home)
    assert "workflow/shop-daily" in applied
    return home


def settings(home: Path) -> Settings:
    return Settings.from_env({"DATAOS_HOME": str(home)})


def test_example_product_compiles_from_the_store(home: Path) -> None:
    defs = build_definitions(settings(home))
    dg.Definitions.validate_loadable(defs)
    repo = defs.get_repository_def()
    assert repo.has_job("public__shop_daily")
    schedule = repo.get_schedule_def("public__shop_daily__schedule")
    assert schedule.cron_schedule == "30 5 * * *"
    job = repo.get_job("public__shop_daily")
    assert job.tags["dataos/workflow"] == "shop-daily"
    assert job.tags["dataos/owner"] == "team:shop-team"


def test_compiled_definitions_hold_no_secret_value(home: Path) -> None:
    defs = build_definitions(settings(home))
    specs = defs.resolve_all_asset_specs()
    text = repr([(s.key, s.metadata, s.tags, s.description) for s in specs])
    assert "shop-local-only" not in text


def test_depots_are_resources_and_the_repository_snapshot_holds_no_secret(home: Path) -> None:
    repo = build_definitions(settings(home)).get_repository_def()
    resources = repo.get_top_level_resources()
    assert sorted(resources) == ["depot_lakehouse", "depot_landing", "depot_shoppg"]
    assert resources["depot_shoppg"].config_schema.default_value == {
        "name": "shoppg",
        "type": "POSTGRESQL",
    }
    job = repo.get_job("public__shop_daily")
    assert job.executor_def.name == "dataos_multiprocess"
    snapshot = serialize_value(RepositorySnap.from_def(repo))
    assert "depot_shoppg" in snapshot
    assert "shop-local-only" not in snapshot
    assert "shop-local-only" not in repr(job.run_config_schema.config_type)


def test_a_process_compiles_once_per_state_of_the_store(tmp_path: Path) -> None:
    apply_example(tmp_path)
    first = build_definitions(settings(tmp_path))
    assert build_definitions(settings(tmp_path)) is first
    (tmp_path / "extra.yaml").write_text(EXTRA)
    with Store.open(settings=settings(tmp_path)) as store:
        parsed = parse_documents(load_documents([tmp_path / "extra.yaml"]))
        apply_resources(store, parsed, None, "tester")
    changed = build_definitions(settings(tmp_path))
    assert changed is not first
    assert changed.get_repository_def().has_job("public__extra")


def test_dagster_cli_validates_the_workspace(home: Path, tmp_path: Path) -> None:
    env = dagster_env(tmp_path / "elsewhere", DATAOS_HOME=str(home))
    done = subprocess.run(
        [str(DAGSTER), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Validation successful for code location dataos" in done.stdout + done.stderr


def test_a_missing_store_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreUnreadable, match=r"poros\.db does not exist; start the platform"):
        build_definitions(settings(tmp_path / "nothing-here"))


def test_a_store_without_tables_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "poros.db").write_bytes(b"")
    with pytest.raises(StoreUnreadable, match=r"cannot be read .*no such table"):
        build_definitions(settings(tmp_path))


def test_the_cli_reports_an_unreadable_store(tmp_path: Path) -> None:
    env = dagster_env(tmp_path, DATAOS_HOME=str(tmp_path / "nothing-here"))
    done = subprocess.run(
        [str(DAGSTER), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert "StoreUnreadable" in done.stdout + done.stderr


def test_executors_registry_takes_extra_stacks_from_the_environment() -> None:
    assert executors({}) == {
        "flare": run_flare,
        "soda": run_soda,
        "container": run_container_as,
        "alpha": run_container_as,
        "scanner": run_scanner_here,
    }
    extra = executors({EXECUTORS_ENV: "stub_stack:EXECUTORS"})
    assert set(extra) == {"flare", "soda", "container", "alpha", "scanner", "python3"}
    with pytest.raises(ValueError, match="module:attribute"):
        executors({EXECUTORS_ENV: "stub_stack"})
