"""Compiled workflows really run: order, retries, checks, dry runs and missing executors.

The executors are plain functions writing to a temporary folder, as a stack would write
to a depot; each run happens in process on an ephemeral Dagster instance.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
from compile_helpers import compile_texts

from dataos_defs.compile import CheckOutput, JobContext, StackOutput, TransientError

WORKFLOW = """
    name: daily
    version: v1
    type: workflow
    workflow:
      dag:
        - name: extract
          {retry}
          spec:
            stack: flare:7.0
            stackSpec:
              job:
                inputs: [{{name: raw, dataset: "dataos://pg:public/raw"}}]
                outputs: [{{name: raw, dataset: "dataos://lakehouse:s/clean?acl=rw"}}]
        - name: notify
          dependencies: [extract]
          spec:
            stack: container
            stackSpec: {{image: busybox}}
        - name: check
          dependencies: [notify]
          spec:
            stack: soda
            stackSpec:
              inputs:
                - dataset: dataos://lakehouse:s/clean
                  checks: [row_count > 0, "missing_count(id) = 0"]
"""


class Stacks:
    """Executors sharing a log of what ran, in order, and a folder to write datasets to."""

    def __init__(self, folder: Path, failures: int = 0, error: type[Exception] = RuntimeError):
        self.folder = folder
        self.failures = failures
        self.error = error
        self.log: list[str] = []

    def flare(self, context: dg.AssetExecutionContext, job: JobContext) -> Iterator[StackOutput]:
        self.log.append(f"{job.job}#{context.retry_number}")
        if self.failures > 0:
            self.failures -= 1
            raise self.error("the depot hiccuped")
        for key in job.outputs:
            path = self.folder / "__".join(key.path)
            path.write_text("id\n1\n")
            yield StackOutput(key, {"path": str(path), "dry_run": job.dry_run})

    def container(
        self, context: dg.AssetExecutionContext, job: JobContext
    ) -> Iterator[StackOutput]:
        self.log.append(job.job)
        return iter(())

    def soda(self, context: dg.AssetExecutionContext, job: JobContext) -> Iterator[CheckOutput]:
        self.log.append(job.job)
        for check in job.checks:
            path = self.folder / "__".join(check.asset_key.path)
            rows = path.read_text().splitlines()[1:]
            passed = len(rows) > 0 if check.text.startswith("row_count") else "" not in rows
            yield CheckOutput(check.asset_key, check.name, passed, {"rows": len(rows)})

    def executors(self) -> dict[str, object]:
        return {"flare": self.flare, "container": self.container, "soda": self.soda}


def _execute(stacks: Stacks, retry: str = "", text: str = WORKFLOW) -> dg.ExecuteInProcessResult:
    defs = compile_texts(text.format(retry=retry), executors=stacks.executors())  # type: ignore[arg-type]
    job = defs.resolve_job_def("public__daily")
    return job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)


def test_jobs_run_in_dependency_order_and_checks_report(tmp_path: Path) -> None:
    stacks = Stacks(tmp_path)
    result = _execute(stacks)
    assert result.success
    assert stacks.log == ["extract#0", "notify", "check"]
    events = result.get_asset_materialization_events()
    keys = {"/".join(e.asset_key.path) for e in events if e.asset_key is not None}
    assert keys == {"lakehouse/s/clean", "dataos/public/daily/notify", "dataos/public/daily/check"}
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"row_count_gt_0": True, "missing_count_id_eq_0": True}


def test_a_job_failing_once_succeeds_with_retry_count_1(tmp_path: Path) -> None:
    stacks = Stacks(tmp_path, failures=1)
    result = _execute(stacks, retry="retry: {count: 1}")
    assert result.success
    assert stacks.log == ["extract#0", "extract#1", "notify", "check"]


def test_without_retry_a_failure_stops_the_downstream_jobs(tmp_path: Path) -> None:
    stacks = Stacks(tmp_path, failures=1)
    result = _execute(stacks)
    assert not result.success
    assert stacks.log == ["extract#0"]


def test_on_transient_error_retries_only_transient_failures(tmp_path: Path) -> None:
    retry = "retry: {count: 2, strategy: OnTransientError}"
    transient = Stacks(tmp_path, failures=1, error=TransientError)
    assert _execute(transient, retry=retry).success
    assert transient.log[:2] == ["extract#0", "extract#1"]
    final = Stacks(tmp_path, failures=1, error=ValueError)
    assert not _execute(final, retry=retry).success
    assert final.log == ["extract#0"]


def test_a_stack_without_executor_fails_at_run_time_naming_it(tmp_path: Path) -> None:
    stacks = Stacks(tmp_path)
    text = WORKFLOW.replace("stack: container", "stack: bento")
    result = _execute(stacks, text=text)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.error.message  # type: ignore[union-attr]
    assert "no executor for stack 'bento'" in message and "job 'notify'" in message
    assert stacks.log == ["extract#0"]


def test_a_dry_run_tells_the_executor(tmp_path: Path) -> None:
    seen: list[bool] = []

    def flare(context: dg.AssetExecutionContext, job: JobContext) -> Iterator[StackOutput]:
        seen.append(job.dry_run)
        return iter(())

    text = WORKFLOW.replace("stack: flare:7.0", "stack: flare:7.0\n            dryRun: true", 1)
    defs = compile_texts(text.format(retry=""), executors={"flare": flare})
    extract = defs.resolve_assets_def(dg.AssetKey(["lakehouse", "s", "clean"]))
    result = dg.materialize([extract], instance=dg.DagsterInstance.ephemeral())
    assert result.success and seen == [True]
    (event,) = result.get_asset_materialization_events()
    assert event.materialization.metadata["dataos/dry_run"].value is True


def test_an_executor_must_write_every_declared_output(tmp_path: Path) -> None:
    def flare(context: dg.AssetExecutionContext, job: JobContext) -> Iterator[StackOutput]:
        return iter(())

    defs = compile_texts(WORKFLOW.format(retry=""), executors={"flare": flare})
    result = defs.resolve_job_def("public__daily").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "did not write lakehouse/s/clean" in failure.step_failure_data.error.message  # type: ignore[union-attr]


def test_materialize_runs_the_assets_of_a_job(tmp_path: Path) -> None:
    stacks = Stacks(tmp_path)
    defs = compile_texts(WORKFLOW.format(retry=""), executors=stacks.executors())  # type: ignore[arg-type]
    assets = [a for a in defs.resolve_asset_graph().assets_defs if a.is_executable]
    result = dg.materialize(assets, instance=dg.DagsterInstance.ephemeral())
    assert result.success and len(stacks.log) == 3
