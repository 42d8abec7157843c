"""The scanner's own environment (.venv-metis), the schema fixtures and the SDK harness."""

from __future__ import annotations

import ast
import json
import subprocess
import tomllib
import uuid
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from tests.metis import om_schemas
from tests.metis.sdk_support import (
    ADD_LINEAGE,
    HEALTH_CHECK,
    PATCH_COLUMN_TAGS,
    PIPELINE_SERVICE_AND_PIPELINE,
    PRELUDE,
    require_metis_python,
    run_module,
    run_snippet,
)

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "metis-ingestion" / "uv.lock"


def locked_versions(lock: Path) -> dict[str, str]:
    packages = tomllib.loads(lock.read_text("utf-8"))["package"]
    return {p["name"]: p["version"] for p in packages if "version" in p}


def test_the_lock_pins_the_measured_ingestion_and_stays_apart_from_dagster() -> None:
    scanner = locked_versions(LOCK)
    assert scanner["openmetadata-ingestion"] == "2.0.7.0"
    assert scanner["antlr4-python3-runtime"] == "4.9.2"
    assert "dagster" not in scanner  # only the tiny dagster-pipes
    platform = locked_versions(ROOT / "uv.lock")
    assert "openmetadata-ingestion" not in platform
    assert platform.get("antlr4-python3-runtime") != "4.9.2"


def test_the_lock_was_made_from_the_project_as_it_stands() -> None:
    """``uv sync --frozen`` never checks this: a dependency edited without ``uv lock`` would
    be silently ignored."""
    project = tomllib.loads((LOCK.parent / "pyproject.toml").read_text("utf-8"))
    lock = tomllib.loads(LOCK.read_text("utf-8"))
    wanted = {
        (r.name, tuple(sorted(r.extras)), r.specifier)
        for r in map(Requirement, project["project"]["dependencies"])
    }
    (root,) = [p for p in lock["package"] if p["name"] == project["project"]["name"]]
    locked = {
        (d["name"], tuple(sorted(d.get("extras", []))), SpecifierSet(d.get("specifier", "")))
        for d in root["metadata"]["requires-dist"]
    }
    assert wanted == locked, "run `uv lock --project metis-ingestion`"
    constraints = {
        (r.name, r.specifier)
        for r in map(Requirement, project["tool"]["uv"]["constraint-dependencies"])
    }
    locked_constraints = {
        (c["name"], SpecifierSet(c["specifier"])) for c in lock["manifest"]["constraints"]
    }
    assert constraints == locked_constraints, "run `uv lock --project metis-ingestion`"


@pytest.mark.parametrize(
    "snippet", [HEALTH_CHECK, PIPELINE_SERVICE_AND_PIPELINE, ADD_LINEAGE, PATCH_COLUMN_TAGS]
)
def test_example_snippets_are_python(snippet: str) -> None:
    ast.parse(PRELUDE + snippet)


def test_every_fixture_is_listed_in_the_index_with_the_locked_version() -> None:
    files = {p.stem for p in om_schemas.SCHEMAS_DIR.glob("*.json")} - {"index"}
    assert files == set(om_schemas.names())
    versions = json.loads((om_schemas.SCHEMAS_DIR / "index.json").read_text())["versions"]
    assert versions["openmetadata-ingestion"] == locked_versions(LOCK)["openmetadata-ingestion"]


@pytest.mark.slow
def test_every_fixture_is_a_json_schema() -> None:
    for name in om_schemas.names():
        om_schemas.Draft202012Validator.check_schema(om_schemas.schema(name))


def reference(kind: str = "table", name: str = "orders") -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()),
        "type": kind,
        "name": name,
        "fullyQualifiedName": f"shop.public.{name}",
    }


def test_om_schemas_accept_an_exact_answer_and_name_every_stray_key() -> None:
    om_schemas.assert_om("EntityReference", reference())
    errors = om_schemas.om_errors(
        "EntityReference", {**reference(), "lifeCycle": {}, "id": "not-a-uuid"}
    )
    assert any("lifeCycle" in e and "Additional properties" in e for e in errors), errors
    assert any(e.startswith("$.id:") for e in errors), errors
    with pytest.raises(AssertionError, match="not an OpenMetadata EntityReference"):
        om_schemas.assert_om("EntityReference", {"type": "table"})
    with pytest.raises(KeyError, match="known: "):
        om_schemas.schema("Tabel")


def bulk_result() -> dict[str, object]:
    return {
        "status": "success",
        "numberOfRowsProcessed": 1,
        "numberOfRowsPassed": 1,
        "numberOfRowsFailed": 0,
        "successRequest": [{"request": "shop.public.orders", "status": 200}],
        "failedRequest": [],
    }


def test_a_bulk_operation_result_validates() -> None:
    om_schemas.assert_om("BulkOperationResult", bulk_result())


@pytest.mark.slow
def test_the_client_models_agree_with_the_fixtures() -> None:
    om_schemas.assert_om_by_model("EntityReference", reference(), reference("pipeline", "p"))
    om_schemas.assert_om_by_model("BulkOperationResult", bulk_result())
    errors = om_schemas.om_model_errors("EntityReference", {**reference(), "lifeCycle": {}})
    assert len(errors) == 1
    assert "lifeCycle" in errors[0]
    assert "Extra inputs are not permitted" in errors[0]


@pytest.mark.slow
def test_the_fixtures_are_those_the_installed_package_exports() -> None:
    python = require_metis_python()
    script = ROOT / "scripts" / "export_openmetadata_schemas.py"

    completed = subprocess.run(
        [str(python), "-W", "ignore", str(script), "--check"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]


@pytest.mark.slow
def test_the_harness_passes_the_token_in_the_environment_only() -> None:
    token = f"secret-{uuid.uuid4().hex}"
    result = run_snippet(
        """
        import os, sys
        emit({"argv": sys.argv, "token": os.environ["METIS_TOKEN"],
              "hostPort": os.environ["METIS_HOST_PORT"], "input": INPUT})
        """,
        host_port="http://127.0.0.1:9/metis/api",
        token=token,
        input={"a": [1, 2]},
    )
    output = result.check()
    assert output["token"] == token
    assert output["hostPort"] == "http://127.0.0.1:9/metis/api"
    assert output["input"] == {"a": [1, 2]}
    assert token not in json.dumps(output["argv"])


@pytest.mark.slow
def test_the_sdk_reports_an_unreachable_server_as_a_failed_process() -> None:
    result = run_snippet(HEALTH_CHECK, host_port="http://127.0.0.1:9/metis/api", token="t")
    assert result.returncode == 1
    assert result.output is None
    assert "Transport failure on GET http://127.0.0.1:9/metis/api/v1/system/version" in (
        result.stderr
    )


@pytest.mark.slow
def test_the_ingestion_cli_is_installed() -> None:
    result = run_module("metadata", "--help")
    assert result.ok, result.stderr
    assert "ingest" in result.stdout
