"""First pass: every workflow job becomes a :class:`JobPlan` of plain keys and names.

Planning sees all Resources at once, which is what lineage across workflows needs: who
writes each dataset, which inputs nobody writes (external assets of their depot), which
check names are taken on each dataset, and which datasets each job must wait for.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from dagster import AssetKey

from dataos_defs.compile import keys
from dataos_defs.compile.context import CheckTarget, CompileError, CompileInput, JobContext
from dataos_defs.manifest.base import DEFAULT_WORKSPACE
from dataos_defs.manifest.depot import Depot
from dataos_defs.manifest.stacks import FlareSpec, ScannerSpec, SodaSpec, StackSpecValue
from dataos_defs.manifest.udl import Udl
from dataos_defs.manifest.workflow import Job, Workflow
from dataos_defs.metis.fqn import InvalidName
from dataos_defs.metis.poros_catalog import database_name, table_fqn


@dataclass(frozen=True)
class OutputPlan:
    """One dataset a flare job writes."""

    key: AssetKey
    udl: str
    format: str | None = None
    save_mode: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()
    metis_fqn: str | None = None
    """The dataset's table in Metis, when its depot is applied (``dataset_fqn``)."""


@dataclass(frozen=True)
class CheckPlan:
    """One soda check: where it is in the manifest and what it says."""

    target: CheckTarget
    title: str | None
    category: str | None
    blocking: bool = True
    """Whether failing at its ``fail`` level stops what reads the dataset downstream."""


@dataclass
class JobPlan:
    context: JobContext
    job: Job
    workflow: Workflow
    owner: str | None
    outputs: list[OutputPlan] = field(default_factory=list)
    checks: list[CheckPlan] = field(default_factory=list)
    deps: list[AssetKey] = field(default_factory=list)
    """Inputs read plus the outputs of upstream jobs, without the job's own outputs."""

    @property
    def keys(self) -> tuple[AssetKey, ...]:
        return self.context.outputs


@dataclass
class WorkflowPlan:
    workflow: Workflow
    workspace: str
    owner: str | None
    jobs: list[JobPlan]
    run_as: str | None = None


@dataclass
class Plan:
    workflows: list[WorkflowPlan]
    external: dict[AssetKey, str]
    """Datasets read or checked that no workflow writes -> their UDL."""


def _stack(job: Job) -> str:
    return job.spec.stack_ref.name if job.spec is not None else "unresolved"


def _flare(spec: FlareSpec) -> tuple[list[AssetKey], list[OutputPlan]]:
    inputs = [keys.dataset_key(i.dataset) for i in spec.job.inputs if i.dataset is not None]
    outputs = []
    for output in spec.job.outputs or []:
        if output.dataset is None:
            continue
        options = output.options
        outputs.append(
            OutputPlan(
                keys.dataset_key(output.dataset, output.name),
                output.address or output.dataset,
                output.format,
                options.saveMode if options is not None else None,
                output.description or output.title,
                tuple(output.tags or ()),
            )
        )
    return inputs, outputs


def _depots(
    stack_spec: StackSpecValue | None,
    reads: list[AssetKey],
    writes: list[OutputPlan],
    applied: frozenset[str],
) -> tuple[str, ...]:
    """The applied depots a job reaches: those of the datasets it reads, writes and compares
    with (a soda reference check's ``depot.collection.dataset``) and the depot a scanner job
    scans. A flare ``query`` input may
    name any depot in its SQL, so a job with one reaches every applied depot. Depots that
    are not applied stay out: the run then fails naming them, as it would without resources.
    """
    if isinstance(stack_spec, FlareSpec) and any(i.query for i in stack_spec.job.inputs):
        return tuple(sorted(applied))
    names = {key.path[0] for key in reads} | {output.key.path[0] for output in writes}
    if isinstance(stack_spec, ScannerSpec) and stack_spec.depot_name is not None:
        names.add(stack_spec.depot_name)
    if isinstance(stack_spec, SodaSpec):
        names.update(
            other.split(".")[0]
            for item in stack_spec.inputs
            for check in item.parsed_checks
            if (other := check.parsed.other_table) is not None and other.count(".") == 2
        )
    return tuple(sorted(names & applied))


def _soda(spec: SodaSpec) -> tuple[list[AssetKey], list[CheckPlan]]:
    inputs, checks = [], []
    for i, item in enumerate(spec.inputs):
        key = keys.dataset_key(item.dataset)
        inputs.append(key)
        for check in item.parsed_checks:
            config = check.config
            attributes = config.attributes if config is not None else None
            label = (config.name if config is not None else None) or check.parsed.text
            target = CheckTarget(key, keys.check_name(label), check.parsed.text, i, check.index)
            checks.append(
                CheckPlan(
                    target,
                    attributes.title if attributes else None,
                    attributes.category if attributes else None,
                )
            )
    return inputs, checks


def _job_plan(
    job: Job,
    workflow: Workflow,
    workspace: str,
    owner: str | None,
    applied: frozenset[str],
    run_as: str | None = None,
) -> JobPlan:
    spec = job.spec
    stack_spec = spec.stack_spec if spec is not None else None
    inputs: list[AssetKey] = []
    outputs: list[OutputPlan] = []
    checks: list[CheckPlan] = []
    if isinstance(stack_spec, FlareSpec):
        inputs, outputs = _flare(stack_spec)
    elif isinstance(stack_spec, SodaSpec):
        inputs, checks = _soda(stack_spec)
    marker = not outputs
    out_keys = (
        (keys.marker_key(workspace, workflow.name, job.name),)
        if marker
        else tuple(o.key for o in outputs)
    )
    context = JobContext(
        workspace=workspace,
        workflow=workflow.name,
        job=job.name,
        stack=_stack(job),
        spec=spec,
        stack_spec=stack_spec,
        outputs=out_keys,
        inputs=tuple(dict.fromkeys(inputs)),
        dry_run=spec.dryRun if spec is not None else False,
        retry=job.effective_retry,
        marker=marker,
        depots=_depots(stack_spec, inputs, outputs, applied) if applied else (),
        run_as=run_as,
    )
    return JobPlan(context, job, workflow, owner, outputs, checks)


def _unique_check_names(plans: list[JobPlan]) -> None:
    """Check names are unique per dataset across all workflows (Dagster keys them so)."""
    taken: dict[AssetKey, set[str]] = defaultdict(set)
    for plan in plans:
        renamed = []
        for check in plan.checks:
            target = check.target
            base, candidate, n = target.name, target.name, 1
            while candidate in taken[target.asset_key]:
                n += 1
                candidate = f"{base}_{n}"
            taken[target.asset_key].add(candidate)
            renamed.append(replace(check, target=replace(target, name=candidate)))
        plan.checks = renamed
        plan.context = replace(plan.context, checks=tuple(c.target for c in renamed))


def _writers(plans: list[JobPlan]) -> dict[AssetKey, JobPlan]:
    writers: dict[AssetKey, JobPlan] = {}
    problems = []
    for plan in plans:
        for key in plan.keys:
            first = writers.setdefault(key, plan)
            if first is not plan:
                c, f = plan.context, first.context
                problems.append(
                    f"dataset {keys.udl_of(key)} is written by {c.workspace}/{c.workflow}/"
                    f"{c.job} and by {f.workspace}/{f.workflow}/{f.job}; one job owns a dataset"
                )
    if problems:
        raise CompileError(problems)
    return writers


def _link(workflow: WorkflowPlan) -> None:
    """Each job waits for what it reads and for every output of its upstream jobs."""
    by_name = {plan.job.name: plan for plan in workflow.jobs}
    for plan in workflow.jobs:
        upstream = [
            key
            for name, _ in plan.job.dependency_items()
            if name in by_name
            for key in by_name[name].keys
        ]
        own = set(plan.keys)
        plan.deps = [k for k in dict.fromkeys([*plan.context.inputs, *upstream]) if k not in own]


def _blocking(plans: list[JobPlan], writers: dict[AssetKey, JobPlan]) -> None:
    """A check failing at its ``fail`` level blocks the jobs reading its dataset downstream,
    unless a job its own job waits for reads that dataset: Dagster would then make that job
    wait for the check as well, a cycle. Such a check is reported, failing, and blocks nothing
    (its job has already let the readers run)."""
    for plan in plans:
        if not plan.checks:
            continue
        read = {key for upstream in _ancestors(plan, writers) for key in upstream.deps}
        plan.checks = [replace(c, blocking=c.target.asset_key not in read) for c in plan.checks]


def _ancestors(plan: JobPlan, writers: dict[AssetKey, JobPlan]) -> list[JobPlan]:
    """The jobs ``plan`` waits for, directly or not, across workflows."""
    found: dict[int, JobPlan] = {}
    todo = list(plan.deps)
    while todo:
        writer = writers.get(todo.pop())
        if writer is None or writer is plan or id(writer) in found:
            continue
        found[id(writer)] = writer
        todo.extend(writer.deps)
    return list(found.values())


def dataset_fqn(udl: str, depots: Mapping[str, Depot]) -> str | None:
    """The Metis FQN of a dataset (``<depot>.<database>.<collection>.<dataset>``, as
    ``metis.poros_catalog`` names a depot's tables); None when its depot is not applied or
    a name cannot be one (a ``"`` in it).

    >>> dataset_fqn("dataos://lake:shop/orders?acl=rw", {})
    """
    parsed = Udl.parse(udl)
    depot = depots.get(parsed.depot)
    if depot is None or not parsed.collection or not parsed.dataset:
        return None
    section = depot.depot.model_dump(mode="json", exclude_none=True, by_alias=True)
    try:
        return table_fqn(parsed.depot, database_name(section), parsed.collection, parsed.dataset)
    except InvalidName:
        return None


def applied_depots(resources: Sequence[CompileInput]) -> dict[str, Depot]:
    """The Depot Resources among ``resources``, by name."""
    return {item.model.name: item.model for item in resources if isinstance(item.model, Depot)}


def build_plan(resources: Sequence[CompileInput], *, with_depots: bool = False) -> Plan:
    """Plan every workflow of ``resources``; other Resource types are ignored here.

    With ``with_depots``, each job lists the applied depots it reaches (``JobContext.depots``).
    """
    depots = applied_depots(resources)
    applied = frozenset(depots) if with_depots else frozenset()
    workflows: list[WorkflowPlan] = []
    for item in resources:
        model = item.model
        if not isinstance(model, Workflow):
            continue
        workspace = item.workspace or model.workspace or DEFAULT_WORKSPACE
        owner = keys.owner(item.owner or model.owner)
        run_as = item.run_as
        jobs = [
            _job_plan(job, model, workspace, owner, applied, run_as) for job in model.workflow.dag
        ]
        for plan in jobs:
            plan.outputs = [
                replace(output, metis_fqn=dataset_fqn(output.udl, depots))
                for output in plan.outputs
            ]
        workflows.append(WorkflowPlan(model, workspace, owner, jobs, run_as))
    plans = [plan for workflow in workflows for plan in workflow.jobs]
    writers = _writers(plans)
    _unique_check_names(plans)
    for workflow in workflows:
        _link(workflow)
    _blocking(plans, writers)
    external: dict[AssetKey, str] = {}
    for plan in plans:
        for key in [*plan.context.inputs, *(c.target.asset_key for c in plan.checks)]:
            if key not in writers:
                external.setdefault(key, keys.udl_of(key))
    return Plan(workflows, external)
