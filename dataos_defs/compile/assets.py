"""Second pass: a :class:`JobPlan` becomes one ``@multi_asset`` (and its asset checks).

No ``from __future__ import annotations`` here: Dagster inspects the annotation of the
compute function's ``context`` parameter and needs the class, not a string.
"""

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetsDefinition,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from dataos_defs.compile import keys
from dataos_defs.compile.context import StackExecutor
from dataos_defs.compile.k8s import K8S_CONFIG_TAG, dataos_labels, k8s_config
from dataos_defs.compile.plan import CheckPlan, JobPlan, OutputPlan
from dataos_defs.compile.runtime import retry_policy, run_job
from dataos_defs.location import naming
from dataos_defs.manifest.compute import NodePool

METIS_PAGE = "/catalog/datasets/"
"""The web app's page of a catalog dataset (``dataos_defs.web.catalog``), by quoted FQN."""


def _tags(plan: JobPlan, extra: tuple[str, ...] = ()) -> dict[str, str]:
    spec = plan.job.spec
    labels = [*plan.workflow.tags, *(plan.job.tags or []), *((spec.tags or []) if spec else [])]
    tags = keys.tag_items([*labels, *extra])
    tags.update(
        keys.system_tags(
            workspace=plan.context.workspace,
            workflow=plan.context.workflow,
            job=plan.context.job,
            stack=plan.context.stack,
        )
    )
    return tags


def _base_metadata(plan: JobPlan) -> dict[str, Any]:
    spec = plan.job.spec
    metadata: dict[str, Any] = {
        "dataos/workspace": plan.context.workspace,
        "dataos/workflow": plan.context.workflow,
        "dataos/job": plan.context.job,
        "dataos/stack": spec.stack if spec is not None else plan.context.stack,
    }
    if spec is not None:
        metadata["dataos/compute"] = spec.compute
    if plan.context.dry_run:
        metadata["dataos/dry_run"] = True
    retry = plan.context.retry
    if retry.count:
        metadata["dataos/retry"] = retry.model_dump(exclude_none=True)
    if plan.job.file is not None:
        metadata["dataos/file"] = plan.job.file
    return metadata


def _description(plan: JobPlan, output: OutputPlan | None = None) -> str | None:
    if output is not None and output.description:
        return output.description
    return plan.job.description or plan.job.title


def metis_metadata(fqn: str | None) -> dict[str, Any]:
    """The dataset's Metis FQN and a link to its catalog page (served by the API server,
    which also serves the Dagster UI, so the link is a path on the same host).

    >>> metis_metadata('lake.default.shop."a b"')["dataos/metis_url"].url
    '/catalog/datasets/lake.default.shop.%22a%20b%22'
    """
    if fqn is None:
        return {}
    return {
        "dataos/metis_fqn": fqn,
        "dataos/metis_url": MetadataValue.url(METIS_PAGE + quote(fqn, safe="")),
    }


def _output_spec(plan: JobPlan, output: OutputPlan, common: dict[str, Any]) -> AssetSpec:
    metadata = {**common, "dataos/udl": output.udl, **metis_metadata(output.metis_fqn)}
    if output.format:
        metadata["dataos/format"] = output.format
    if output.save_mode:
        metadata["dataos/saveMode"] = output.save_mode
    labels = [*plan.workflow.tags, *(plan.job.tags or []), *output.tags]
    if labels:
        metadata["dataos/tags"] = labels
    kinds = {plan.context.stack, *([output.format] if output.format else [])}
    return AssetSpec(
        output.key,
        deps=plan.deps,
        description=_description(plan, output),
        metadata=metadata,
        group_name=keys.group_name(plan.context.workspace),
        owners=[plan.owner] if plan.owner else None,
        tags=_tags(plan, output.tags),
        kinds=kinds,
    )


def _marker_spec(plan: JobPlan, common: dict[str, Any]) -> AssetSpec:
    labels = [*plan.workflow.tags, *(plan.job.tags or [])]
    metadata = {**common, **({"dataos/tags": labels} if labels else {})}
    return AssetSpec(
        plan.keys[0],
        deps=plan.deps,
        description=_description(plan),
        metadata=metadata,
        group_name=keys.group_name(plan.context.workspace),
        owners=[plan.owner] if plan.owner else None,
        tags=_tags(plan),
        kinds={plan.context.stack},
    )


def check_spec(plan: JobPlan, check: CheckPlan) -> AssetCheckSpec:
    """Blocking (see ``plan._blocking``): a check failing at its ``fail`` level (ERROR
    severity) fails its step, and the jobs reading the checked dataset downstream do not
    run; a warning never blocks."""
    target = check.target
    metadata: dict[str, Any] = {
        "dataos/check": target.text,
        "dataos/workflow": plan.context.workflow,
        "dataos/job": plan.context.job,
    }
    if check.title:
        metadata["dataos/title"] = check.title
    if check.category:
        metadata["dataos/category"] = check.category
    return AssetCheckSpec(
        target.name,
        asset=target.asset_key,
        description=check.title or target.text,
        metadata=metadata,
        blocking=check.blocking,
    )


def job_asset(
    plan: JobPlan, executors: Mapping[str, StackExecutor], pools: Mapping[str, NodePool]
) -> AssetsDefinition:
    """One op for the whole job: a DataOS job runs as one unit (one pod), whatever it writes.

    The compute function closes over the job's small context and the shared executor
    mapping only; the manifest models are referenced, never copied.
    """
    common = _base_metadata(plan)
    if plan.outputs:
        specs = [_output_spec(plan, output, common) for output in plan.outputs]
    else:
        specs = [_marker_spec(plan, common)]
    op_tags: dict[str, Any] = keys.system_tags(
        workspace=plan.context.workspace,
        workflow=plan.context.workflow,
        job=plan.context.job,
        stack=plan.context.stack,
    )
    job = plan.context
    labels = dataos_labels(job.workspace, job.workflow, job.job)
    op_tags[K8S_CONFIG_TAG] = k8s_config(plan.job.spec, pools, labels)

    @multi_asset(
        name=naming.op_name(job.workspace, job.workflow, job.job),
        specs=specs,
        check_specs=[check_spec(plan, check) for check in plan.checks] or None,
        description=_description(plan),
        op_tags=op_tags,
        retry_policy=retry_policy(job.retry),
        allow_arbitrary_check_specs=bool(plan.checks),
        required_resource_keys={keys.depot_resource_key(depot) for depot in job.depots},
    )
    def _run(
        context: AssetExecutionContext,
    ) -> Iterator[MaterializeResult[Any] | AssetCheckResult]:
        yield from run_job(context, job, executors)

    return _run
