"""The identity a workflow's runs act as is compiled into its job: the executor's
``JobContext.run_as`` and the job's (and schedule's) ``dataos/run-as`` tag. A run launched
with another ``dataos/run-as`` tag still hands the executor the compiled identity."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
from compile_helpers import compile_texts, model

from dataos_defs.compile import CompileInput, JobContext, StackOutput, compile_definitions
from dataos_defs.compile.plan import build_plan

WORKFLOW = """
    name: nightly
    version: v1
    type: workflow
    workflow:
      schedule: {cron: "0 3 * * *"}
      dag:
        - name: copy
          spec:
            stack: flare:7.0
            stackSpec:
              job:
                inputs: [{name: raw, dataset: "dataos://pg:public/raw"}]
                outputs: [{name: raw, dataset: "dataos://lakehouse:s/raw?acl=rw"}]
"""


def test_the_job_context_and_tags_carry_the_identity_compiled_in() -> None:
    plan = build_plan([CompileInput(model(WORKFLOW), "public", "ops", "etl-bot")])
    [job] = plan.workflows[0].jobs
    assert job.context.run_as == "etl-bot"
    defs = compile_texts(WORKFLOW, owner="ops", run_as="etl-bot")
    assert defs.resolve_job_def("public__nightly").tags["dataos/run-as"] == "etl-bot"
    schedule = defs.resolve_schedule_def("public__nightly__schedule")
    assert schedule.tags["dataos/run-as"] == "etl-bot"
    assert schedule.tags["dataos/owner"] == "team:ops"


def test_without_an_identity_the_job_has_none_and_no_tag() -> None:
    plan = build_plan([CompileInput(model(WORKFLOW), "public", "ops")])
    assert plan.workflows[0].jobs[0].context.run_as is None
    defs = compile_texts(WORKFLOW, owner="ops")
    assert "dataos/run-as" not in defs.resolve_job_def("public__nightly").tags


def test_a_run_tag_cannot_change_whom_the_executor_runs_as() -> None:
    seen: list[str | None] = []

    def flare(context: dg.AssetExecutionContext, job: JobContext) -> Iterator[StackOutput]:
        seen.append(job.run_as)
        yield from (StackOutput(key) for key in job.outputs)

    inputs = [CompileInput(model(WORKFLOW), "public", "ops", "etl-bot")]
    defs = compile_definitions(inputs, {"flare": flare})
    job = defs.resolve_job_def("public__nightly")
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance, tags={"dataos/run-as": "mallory"})
        assert result.success
        run = instance.get_run_by_id(result.run_id)
        assert run is not None and run.tags["dataos/run-as"] == "mallory"
    assert seen == ["etl-bot"]
