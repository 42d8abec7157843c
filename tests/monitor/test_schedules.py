"""Each scheduled Monitor becomes a Dagster job and schedule in the code location's real
Definitions; the job's op hands the monitor to the trigger and fails on an evaluation error."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterInstance, DefaultScheduleStatus

from dataos_defs.compile import CompileInput
from dataos_defs.compile.monitors import compile_monitors, monitor_job_name
from dataos_defs.location.definitions import build_definitions
from dataos_defs.manifest.loader import parse_yaml
from dataos_defs.manifest.monitor import Monitor
from dataos_defs.manifest.validate import parse_documents
from dataos_defs.poros.apply import apply_resources
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store
from tests.monitor.test_report_monitor import WORKFLOW, monitor

EVERY_MINUTE = "'*/1 * * * *'"


def test_the_code_location_compiles_a_job_and_a_running_schedule_per_monitor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATAOS_HOME", str(tmp_path))
    monkeypatch.delenv("DATAOS_DATABASE_URL", raising=False)
    settings = Settings.from_env()
    berlin = monitor().replace("'*/5 * * * *'", f"{EVERY_MINUTE}\n  timezone: Europe/Berlin")
    with Store.open(settings=settings) as store:
        for text in (WORKFLOW, berlin):
            documents, issues = parse_yaml(text, "m.yaml")
            assert not issues
            apply_resources(store, parse_documents(documents), None, "dev")
    definitions = build_definitions(settings)
    job_name = "monitor__public__nightly_failed"
    schedule = definitions.get_schedule_def(f"{job_name}__schedule")
    assert schedule.cron_schedule == "*/1 * * * *"
    assert schedule.execution_timezone == "Europe/Berlin"
    assert schedule.default_status == DefaultScheduleStatus.RUNNING
    assert schedule.job_name == job_name
    job = definitions.resolve_job_def(job_name)
    assert job.tags == {"dataos/workspace": "public", "dataos/monitor": "nightly-failed"}
    assert definitions.resolve_job_def("public__nightly").name == "public__nightly"
    assert "key" not in repr(job.tags) and "Bearer" not in str(definitions.get_repository_def())


def _model(text: str) -> Monitor:
    documents, _ = parse_yaml(text, "m.yaml")
    model = parse_documents(documents)[0].model
    assert isinstance(model, Monitor)
    return model


@pytest.mark.parametrize(
    ("answer", "success"),
    [
        ({"outcome": "firing", "action": "opened", "incident": {"id": "i-1"}}, True),
        ({"outcome": "error", "reason": "the owner may not run it"}, False),
    ],
)
def test_the_job_asks_the_trigger_and_fails_on_an_evaluation_error(
    answer: Mapping[str, Any], success: bool
) -> None:
    asked: list[tuple[str, str]] = []

    def trigger(workspace: str, name: str) -> Mapping[str, Any]:
        asked.append((workspace, name))
        return answer

    compiled = compile_monitors([CompileInput(_model(monitor()), "sales", "dev")], trigger)
    job = compiled.resolve_job_def(monitor_job_name("sales", "nightly-failed"))
    result = job.execute_in_process(instance=DagsterInstance.ephemeral(), raise_on_error=False)
    assert result.success is success
    assert asked == [("sales", "nightly-failed")]
    if not success:
        failure = result.failure_data_for_node("monitor__sales__nightly_failed__evaluate")
        assert failure is not None and "the owner may not run it" in str(failure.error)


def test_monitors_without_a_schedule_and_other_kinds_compile_to_nothing() -> None:
    stream = _model(monitor()).model_copy()
    stream.monitor.schedule = None
    assert compile_monitors([CompileInput(stream)], lambda w, n: {}).schedules in (None, [])
