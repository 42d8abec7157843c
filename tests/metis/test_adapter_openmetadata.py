"""The scanner adapter: workflow configs openmetadata-ingestion 2.0.7 accepts, secrets kept out
of files and logs, the subprocess bounded in time and output."""

from __future__ import annotations

import json
import os
import stat
import textwrap
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest
from pydantic import SecretStr

from dataos_defs.adapters import openmetadata as om
from dataos_defs.adapters.openmetadata import (
    FilterPattern,
    MetisServer,
    ScannerConfigError,
    ScannerSource,
    WorkflowKind,
    prepare,
)
from tests.metis import om_schemas
from tests.metis.sdk_support import run_snippet

PASSWORD = 'p"a\\s$HOME s\n€-${PATH}'
"""Quotes, a backslash, $-variables, a newline, non-ASCII: all must survive exactly."""
TOKEN = "dataos_api_key_2f1c9e"
SERVER = MetisServer(api_url="http://127.0.0.1:7400/", token=SecretStr(TOKEN))
WORK = Path("/work-dir")


def postgres(kind: WorkflowKind = WorkflowKind.METADATA, **fields: Any) -> ScannerSource:
    connection = {
        "type": "Postgres",
        "username": "metis",
        "authType": {"password": SecretStr(PASSWORD)},
        "hostPort": "127.0.0.1:5432",
        "database": "shop",
    }
    return ScannerSource(
        kind=kind,
        connector="postgres",
        service_name="shop",
        service_connection=connection,
        **fields,
    )


def metadata_source() -> ScannerSource:
    return postgres(
        schema_filter=FilterPattern(includes=("^public$",), excludes=("^pg_",)),
        table_filter=FilterPattern(excludes=("^tmp_.*$", "a$HOME")),
        mark_deleted_tables=True,
        include_views=True,
        include_tags=False,
        include_stored_procedures=False,
    )


def test_a_postgres_metadata_workflow() -> None:
    prepared = prepare(metadata_source(), SERVER, WORK)
    assert prepared.command == "ingest"
    assert json.loads(prepared.config_text()) == {
        "source": {
            "type": "postgres",
            "serviceName": "shop",
            "serviceConnection": {
                "config": {
                    "type": "Postgres",
                    "username": "metis",
                    "authType": {"password": "${DATAOS_SCANNER_SECRET_1}"},
                    "hostPort": "127.0.0.1:5432",
                    "database": "shop",
                }
            },
            "sourceConfig": {
                "config": {
                    "type": "DatabaseMetadata",
                    "schemaFilterPattern": {"includes": ["^public$"], "excludes": ["^pg_"]},
                    "tableFilterPattern": {"excludes": ["^tmp_.*$", "a$HOME"]},
                    "markDeletedTables": True,
                    "includeViews": True,
                    "includeTags": False,
                    "includeStoredProcedures": False,
                }
            },
        },
        "sink": {"type": "metadata-rest", "config": {}},
        "workflowConfig": {
            "loggerLevel": "INFO",
            "openMetadataServerConfig": {
                "hostPort": "http://127.0.0.1:7400/metis/api",
                "authProvider": "openmetadata",
                "securityConfig": {"jwtToken": "${DATAOS_SCANNER_TOKEN}"},
            },
        },
    }


def test_no_secret_reaches_the_file_or_the_repr() -> None:
    prepared = prepare(metadata_source(), SERVER, WORK)
    text = prepared.config_text()
    for secret in (PASSWORD, TOKEN, json.dumps(PASSWORD)[1:-1], "€"):
        assert secret not in text
        assert secret not in repr(prepared)
    assert set(prepared.environment()) == {"DATAOS_SCANNER_TOKEN", "DATAOS_SCANNER_SECRET_1"}


def test_the_loader_expands_the_placeholders_to_the_exact_secrets_and_nothing_else(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What ``load_config_file`` does: ``os.path.expandvars`` over the text, then JSON."""
    prepared = prepare(metadata_source(), SERVER, WORK)
    for name, value in prepared.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HOME", "/root")
    loaded = json.loads(os.path.expandvars(prepared.config_text()))
    source = loaded["source"]
    assert source["serviceConnection"]["config"]["authType"]["password"] == PASSWORD
    assert source["sourceConfig"]["config"]["tableFilterPattern"]["excludes"][1] == "a$HOME"
    server = loaded["workflowConfig"]["openMetadataServerConfig"]
    assert server["securityConfig"]["jwtToken"] == TOKEN


def test_output_is_redacted_in_every_form_of_a_secret() -> None:
    prepared = prepare(metadata_source(), SERVER, WORK)
    escaped = json.dumps(PASSWORD)[1:-1]
    encoded = quote_plus(PASSWORD)
    text = (
        f"input_value={{'password': '{PASSWORD}'}} raw={escaped} token {TOKEN}"
        f" url=postgresql://metis:{encoded}@db/shop"
    )
    redacted = prepared.redact(text)
    for form in (PASSWORD, escaped, TOKEN, encoded):
        assert form not in redacted
    assert redacted.count(om.REDACTED) == 4


@pytest.mark.parametrize(
    ("kind", "command", "source_type"),
    [
        (WorkflowKind.LINEAGE, "ingest", "postgres-lineage"),
        (WorkflowKind.USAGE, "usage", "postgres-usage"),
        (WorkflowKind.PROFILER, "profile", "postgres"),
    ],
)
def test_each_kind_has_its_command_source_and_steps(
    kind: WorkflowKind, command: str, source_type: str
) -> None:
    prepared = prepare(postgres(kind), SERVER, WORK)
    assert prepared.command == command
    config = prepared.config
    assert config["source"]["type"] == source_type
    assert config["source"]["sourceConfig"]["config"] == {"type": kind.value}
    steps = {key for key in config if key not in {"source", "workflowConfig"}}
    if kind is WorkflowKind.USAGE:
        assert steps == {"processor", "stage", "bulkSink"}
        assert config["stage"]["config"]["filename"] == "/work-dir/usage-stage"
        assert config["bulkSink"]["config"]["filename"] == "/work-dir/usage-stage"
    elif kind is WorkflowKind.PROFILER:
        assert steps == {"processor", "sink"}
        assert config["processor"] == {"type": "orm-profiler", "config": {}}
    else:
        assert steps == {"sink"}


def test_options_a_kind_lacks_are_refused_up_front() -> None:
    with pytest.raises(ScannerConfigError, match="DatabaseUsage workflow has no markDeletedTables"):
        prepare(postgres(WorkflowKind.USAGE, mark_deleted_tables=True), SERVER, WORK)
    with pytest.raises(ScannerConfigError, match="DatabaseLineage workflow has no includeViews"):
        prepare(postgres(WorkflowKind.LINEAGE, include_views=False), SERVER, WORK)
    with pytest.raises(ScannerConfigError, match="options repeat typed fields: includeViews"):
        prepare(postgres(options={"includeViews": False}), SERVER, WORK)


def test_a_connection_held_by_metis_and_version_validation_off() -> None:
    source = ScannerSource(
        kind=WorkflowKind.LINEAGE,
        connector="postgres",
        service_name="shop",
        options={"queryLogDuration": 1, "resultLimit": 1000},
    )
    server = SERVER.model_copy(update={"verify_version": False})
    prepared = prepare(source, server, WORK)
    assert "serviceConnection" not in prepared.config["source"]
    assert prepared.config["source"]["sourceConfig"]["config"] == {
        "type": "DatabaseLineage",
        "queryLogDuration": 1,
        "resultLimit": 1000,
    }
    workflow = prepared.config["workflowConfig"]["openMetadataServerConfig"]
    assert workflow["enableVersionValidation"] is False
    assert set(prepared.environment()) == {"DATAOS_SCANNER_TOKEN"}


def trino() -> ScannerSource:
    return ScannerSource(
        connector="trino",
        service_name="minerva",
        service_connection={
            "type": "Trino",
            "hostPort": "trino.example:8443",
            "username": "metis",
            "authType": {"password": SecretStr("trino-secret")},
            "catalog": "lakehouse",
        },
        schema_filter=FilterPattern(excludes=("^information_schema$",)),
        include_views=True,
    )


def all_configs() -> list[dict[str, Any]]:
    """Every kind, as the ingestion reads them (placeholders as plain strings)."""
    sources = [metadata_source(), trino()] + [
        postgres(kind) for kind in (WorkflowKind.LINEAGE, WorkflowKind.USAGE)
    ]
    sources.append(postgres(WorkflowKind.PROFILER, table_filter=FilterPattern(includes=("^o",))))
    return [json.loads(prepare(source, SERVER, WORK).config_text()) for source in sources]


def test_every_generated_config_is_an_openmetadata_workflow_config() -> None:
    for config in all_configs():
        om_schemas.assert_om("OpenMetadataWorkflowConfig", config)


def test_the_workflow_schema_catches_a_misspelt_key() -> None:
    config = all_configs()[0]
    config["workflowConfig"]["openMetadataServerConfig"]["hostport"] = "x"
    assert om_schemas.om_errors("OpenMetadataWorkflowConfig", config) == [
        "$.workflowConfig.openMetadataServerConfig: Additional properties are not allowed"
        " ('hostport' was unexpected)"
    ]
    config = all_configs()[0]
    config["source"]["sourceConfig"]["config"]["includeTagz"] = True
    assert om_schemas.om_errors("OpenMetadataWorkflowConfig", config)


@pytest.mark.slow
def test_the_ingestion_reads_the_file_and_its_secrets_as_the_adapter_meant(
    tmp_path: Path,
) -> None:
    """The package's own loader and ``OpenMetadataWorkflowConfig`` on the real file."""
    prepared = prepare(metadata_source(), SERVER, tmp_path)
    config_file = tmp_path / "workflow.json"
    config_file.write_text(prepared.config_text())
    result = run_snippet(
        """
        import os, pathlib
        from metadata.config.common import load_config_file
        from metadata.generated.schema.metadataIngestion.workflow import (
            OpenMetadataWorkflowConfig,
        )
        config = OpenMetadataWorkflowConfig.model_validate(
            load_config_file(pathlib.Path(INPUT["file"]))
        )
        connection = config.source.serviceConnection.root.config
        server = config.workflowConfig.openMetadataServerConfig
        emit({
            "password": connection.authType.password.get_secret_value(),
            "token": server.securityConfig.jwtToken.get_secret_value(),
            "tableExcludes": [
                p for p in config.source.sourceConfig.config.tableFilterPattern.excludes
            ],
            "masked": config.model_dump_json(),
        })
        """,
        input={"file": str(config_file)},
        env=prepared.environment(),
    )
    output = result.check()
    assert output["password"] == PASSWORD
    assert output["token"] == TOKEN
    assert output["tableExcludes"] == ["^tmp_.*$", "a$HOME"]
    assert PASSWORD not in output["masked"]


@pytest.mark.slow
def test_the_package_model_accepts_every_generated_config() -> None:
    om_schemas.assert_om_by_model("OpenMetadataWorkflowConfig", *all_configs())


FAKE_METADATA = """\
#!/bin/sh
# Stands in for `python -m metadata <command> -c <file>`: echoes what a real run would show.
printf 'argv: %s\\n' "$*"
printf 'env: %s\\n' "$(env | cut -d= -f1 | sort | tr '\\n' ' ')"
printf 'mode: %s\\n' "$(stat -c %a "$5")"
printf 'leak: %s\\n' "$DATAOS_SCANNER_TOKEN"
printf '\\033[1m[2026] INFO {metadata.Utils:logger:226} - Workflow Source Summary:\\033[0m\\n'
echo '[2026] INFO - Processed records: 54'
echo '[2026] INFO - Updated records: 0'
echo '[2026] INFO - Warnings: 2'
echo '[2026] INFO - Filtered: 3'
echo '[2026] INFO - Errors: 0'
echo '[2026] INFO - Success %: 100.0'
echo '[2026] INFO - Workflow Sink Summary:'
echo '[2026] INFO - Processed records: 53'
echo '[2026] INFO - Errors: 1'
echo '[2026] INFO - Success %: 98.15'
echo '[2026] INFO - Workflow Success %: 99.07'
sleep "${FAKE_SLEEP:-0}"
exit 1
"""


def fake_python(tmp_path: Path) -> Path:
    script = tmp_path / "python"
    script.write_text(FAKE_METADATA)
    script.chmod(0o755)
    return script


def test_run_parses_the_summary_redacts_and_passes_a_minimal_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "do-not-pass")
    prepared = prepare(metadata_source(), SERVER, tmp_path)
    result = om.run(prepared, work_dir=tmp_path, python=fake_python(tmp_path), timeout=60)
    assert result.exit_code == 1
    assert not result.ok
    assert [(s.name, s.records, s.warnings, s.filtered, s.errors) for s in result.steps] == [
        ("Source", 54, 2, 3, 0),
        ("Sink", 53, 0, 0, 1),
    ]
    assert result.steps[1].success_pct == 98.15
    assert result.success_pct == 99.07
    assert (result.records, result.warnings, result.failures) == (107, 2, 1)
    assert f"argv: -m metadata ingest -c {tmp_path / 'workflow.json'}" in result.output
    assert "mode: 600" in result.output
    assert f"leak: {om.REDACTED}" in result.output
    assert TOKEN not in result.output
    env_line = next(line for line in result.output.splitlines() if line.startswith("env: "))
    assert "AWS_SECRET_ACCESS_KEY" not in env_line
    assert "DATAOS_SCANNER_SECRET_1" in env_line
    assert "\x1b[" not in result.output
    config_text = (tmp_path / "workflow.json").read_text()
    assert PASSWORD not in config_text
    assert TOKEN not in config_text
    assert stat.S_IMODE((tmp_path / "workflow.json").stat().st_mode) == 0o600


def test_run_kills_the_process_group_at_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(om, "PASSED_THROUGH", (*om.PASSED_THROUGH, "FAKE_SLEEP"))
    monkeypatch.setenv("FAKE_SLEEP", "30")
    prepared = prepare(metadata_source(), SERVER, tmp_path)
    result = om.run(prepared, work_dir=tmp_path, python=fake_python(tmp_path), timeout=2)
    assert result.timed_out
    assert result.exit_code is None
    assert result.seconds < 20
    assert len(result.steps) == 2


def test_output_is_bounded(tmp_path: Path) -> None:
    script = tmp_path / "python"
    script.write_text(
        textwrap.dedent(
            """\
            #!/bin/sh
            i=0
            while [ $i -lt 2000 ]; do echo "line $i $(printf '%0100d' 0)"; i=$((i+1)); done
            """
        )
    )
    script.chmod(0o755)
    prepared = prepare(metadata_source(), SERVER, tmp_path)
    result = om.run(
        prepared, work_dir=tmp_path, python=script, timeout=60, tail_lines=10, line_limit=20
    )
    lines = result.output.splitlines()
    assert len(lines) == 10
    assert lines[-1].startswith("line 1999")
    assert all(len(line) <= 22 for line in lines)


@pytest.mark.slow
def test_the_real_ingestion_fails_cleanly_without_a_server_and_leaks_nothing(
    tmp_path: Path,
) -> None:
    from tests.metis.sdk_support import require_metis_python

    require_metis_python()
    server = MetisServer(api_url="http://127.0.0.1:9", token=SecretStr(TOKEN))
    prepared = prepare(metadata_source(), server, tmp_path)
    result = om.run(prepared, work_dir=tmp_path, timeout=300)
    assert result.exit_code == 1, result.output
    assert "127.0.0.1:9/metis/api" in result.output
    assert PASSWORD not in result.output
    assert json.dumps(PASSWORD)[1:-1] not in result.output
    assert TOKEN not in result.output


def test_the_environment_is_found_by_variable_or_next_to_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = fake_python(tmp_path)
    monkeypatch.setenv(om.METIS_PYTHON_VARIABLE, str(python))
    assert om.metis_python() == python
    monkeypatch.setenv(om.METIS_PYTHON_VARIABLE, str(tmp_path / "missing" / "python"))
    assert om.metis_python() is None
    with pytest.raises(FileNotFoundError, match="make install-metis"):
        om.run(prepare(metadata_source(), SERVER, tmp_path))
    monkeypatch.delenv(om.METIS_PYTHON_VARIABLE)
    default = om.DEFAULT_METIS_VENV / "bin" / "python"
    assert om.metis_python() == (default if default.is_file() else None)
