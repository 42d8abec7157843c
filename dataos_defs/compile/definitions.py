"""Resources -> Dagster Definitions: the one public entry point of the compiler."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from dagster import (
    AssetCheckKey,
    AssetKey,
    AssetsDefinition,
    AssetSelection,
    AssetSpec,
    ConfigurableResource,
    Definitions,
    ExecutorDefinition,
    ResourceDefinition,
    ScheduleDefinition,
    define_asset_job,
)

from dataos_defs.compile import keys
from dataos_defs.compile.assets import job_asset
from dataos_defs.compile.context import CompileInput, StackExecutor
from dataos_defs.compile.plan import Plan, WorkflowPlan, applied_depots, build_plan
from dataos_defs.compile.schedules import workflow_schedule
from dataos_defs.location import naming
from dataos_defs.manifest.compute import Compute, NodePool
from dataos_defs.manifest.depot import Depot
from dataos_defs.manifest.udl import Udl

DepotResourceFactory = Callable[[Depot], ConfigurableResource | ResourceDefinition]
"""Makes the resource of one applied depot; it must hold no secret (it is compiled)."""


def _pools(
    resources: Sequence[CompileInput], compute: Mapping[str, NodePool] | None
) -> dict[str, NodePool]:
    """Node pools of the Compute Resources being compiled, overridden by ``compute``."""
    pools = {
        item.model.name: item.model.compute.nodePool
        for item in resources
        if isinstance(item.model, Compute) and item.model.compute.nodePool is not None
    }
    pools.update(compute or {})
    return pools


def _external(plan: Plan) -> list[AssetSpec]:
    """Datasets read or checked but written by no workflow: assets of their depot."""
    specs = []
    for key, udl in sorted(plan.external.items(), key=lambda item: tuple(item[0].path)):
        depot = Udl.parse(udl).depot
        specs.append(
            AssetSpec(
                key,
                group_name=keys.depot_group(depot),
                metadata={"dataos/udl": udl, "dataos/depot": depot},
                tags=keys.system_tags(depot=depot),
                description=f"{udl}, written outside the compiled workflows",
            )
        )
    return specs


def _workflow_tags(workflow: WorkflowPlan) -> dict[str, str]:
    """The job's tags, which its schedule, sensors, retries and re-executions carry too.

    ``dataos/run-as`` names the identity the runs act as, for people and tools reading
    runs; executors never trust it (they take the identity compiled into the job).
    """
    tags = keys.system_tags(workspace=workflow.workspace, workflow=workflow.workflow.name)
    if workflow.owner:
        tags["dataos/owner"] = workflow.owner
    run_as = keys.tag_value(workflow.run_as) if workflow.run_as else None
    if run_as:
        tags["dataos/run-as"] = run_as
    return tags


def _depot_resources(
    resources: Sequence[CompileInput], factory: DepotResourceFactory | None
) -> dict[str, ConfigurableResource | ResourceDefinition]:
    if factory is None:
        return {}
    depots = applied_depots(resources)
    return {keys.depot_resource_key(name): factory(depots[name]) for name in sorted(depots)}


def compile_definitions(
    resources: Sequence[CompileInput],
    executors: Mapping[str, StackExecutor],
    *,
    compute: Mapping[str, NodePool] | None = None,
    depot_resource: DepotResourceFactory | None = None,
    executor: ExecutorDefinition | None = None,
) -> Definitions:
    """Every workflow of ``resources`` as assets, asset checks, one job and a schedule.

    Pure: no I/O and nothing from secrets; ``executors`` (stack name -> executor) are only
    called when a job runs, and a stack without one fails that run, not the compile.
    ``compute`` maps Compute names to node pools (on top of Compute Resources given).
    With ``depot_resource``, every applied depot becomes a resource under
    ``depot_<name>`` and each job's asset requires those of the depots it reaches.
    ``executor`` is the jobs' executor (Dagster's default when None).
    Raises :class:`CompileError` when two jobs write the same dataset.
    """
    plan = build_plan(resources, with_depots=depot_resource is not None)
    pools = _pools(resources, compute)
    assets: list[AssetsDefinition | AssetSpec] = [*_external(plan)]
    jobs = []
    schedules: list[ScheduleDefinition] = []
    for workflow in plan.workflows:
        asset_keys: list[AssetKey] = []
        check_keys: list[AssetCheckKey] = []
        for job in workflow.jobs:
            assets.append(job_asset(job, executors, pools))
            asset_keys.extend(job.keys)
            check_keys.extend(AssetCheckKey(c.asset_key, c.name) for c in job.context.checks)
        name = naming.job_name(workflow.workspace, workflow.workflow.name)
        selection = AssetSelection.assets(*asset_keys).without_checks()
        if check_keys:
            selection = selection | AssetSelection.checks(*check_keys)
        tags = _workflow_tags(workflow)
        jobs.append(
            define_asset_job(
                name=name,
                selection=selection,
                tags=tags,
                description=workflow.workflow.workflow.title or workflow.workflow.description,
            )
        )
        schedule = workflow.workflow.workflow.schedule
        if schedule is not None:
            schedules.append(workflow_schedule(f"{name}__schedule", name, schedule, tags))
    return Definitions(
        assets=assets,
        jobs=jobs,
        schedules=schedules,
        resources=_depot_resources(resources, depot_resource),
        executor=executor,
    )
