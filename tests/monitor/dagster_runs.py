"""Real Dagster runs of a workflow's job, on an ephemeral instance, read as a report's runs."""

from collections.abc import Mapping, Sequence

from dagster import DagsterInstance, JobDefinition, OpExecutionContext, RunsFilter, job, op

from dataos_defs.api.monitor_runs import STATUS_WORDS
from dataos_defs.location import naming
from dataos_defs.monitor.report import RunSummary
from dataos_defs.poros.records import ResourceKey


def workflow_job(workspace: str, workflow: str) -> JobDefinition:
    """The job the code location compiles for the workflow, of one op that fails on demand."""

    @op(config_schema={"fail": bool})
    def work(context: OpExecutionContext) -> None:
        if context.op_config["fail"]:
            raise RuntimeError("the source table is gone")

    @job(name=naming.job_name(workspace, workflow))
    def workflow_run() -> None:
        work()

    return workflow_run


def run(instance: DagsterInstance, definition: JobDefinition, *, fail: bool) -> str:
    result = definition.execute_in_process(
        run_config={"ops": {"work": {"config": {"fail": fail}}}},
        instance=instance,
        raise_on_error=False,
    )
    assert result.success is not fail
    return result.run_id


class InstanceRuns:
    """:class:`~dataos_defs.monitor.report.RunView` over a Dagster instance's run storage."""

    def __init__(self, instance: DagsterInstance) -> None:
        self.instance = instance

    def latest_runs(self, resources: Sequence[ResourceKey]) -> Mapping[ResourceKey, RunSummary]:
        found = {}
        for key in resources:
            job_name = naming.job_name(key.workspace or "public", key.name)
            records = self.instance.get_run_records(RunsFilter(job_name=job_name), limit=1)
            if records:
                record = records[0]
                found[key] = RunSummary(
                    record.dagster_run.run_id,
                    STATUS_WORDS.get(record.dagster_run.status.value, "unknown"),
                    int(record.start_time * 1000) if record.start_time else None,
                    int(record.end_time * 1000) if record.end_time else None,
                )
        return found
