"""The generated workflow set of the compile + load figures, both as DataOS manifests and as
the Dagster module a developer would write by hand for the same graph.

Workflow ``i`` has two flare jobs: ``extract`` reads the shared external table
``pg:public/orders`` (and, except at the head of every chain of 20, the last dataset of
workflow ``i - 1``) and writes ``d0``, ``d1``; ``publish`` depends on it, reads ``d0`` and
writes ``d2``, ``d3``. So N workflows write 4N datasets, with lineage across workflows.
The two depots they use, ``pg`` and ``lakehouse``, are applied too.

The hand-written module spells out what the compiler produces for the same manifests
(keys, deps, groups, tags, owners, kinds, metadata, op tags, the depot resources each op
requires, job selections, schedules, the executor); the benchmark checks that both load
into the same graph before comparing their times.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

WORKSPACE = "bulk"
OWNER = "ops"
CRON = "0 * * * *"
CHAIN = 20
SOURCE = "dataos://pg:public/orders"
TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class JobShape:
    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    after: str | None


def shape(i: int) -> tuple[JobShape, JobShape]:
    """The two jobs of workflow ``i``: their input and output UDLs (without ``?acl``)."""
    lake = f"dataos://lakehouse:w{i}"
    previous = (f"dataos://lakehouse:w{i - 1}/d3",) if i % CHAIN else ()
    return (
        JobShape("extract", (SOURCE, *previous), (f"{lake}/d0", f"{lake}/d1"), None),
        JobShape("publish", (f"{lake}/d0",), (f"{lake}/d2", f"{lake}/d3"), "extract"),
    )


def workflow_manifest(i: int) -> dict[str, Any]:
    """Workflow ``i`` as the manifest a DataOS user applies."""
    dag = []
    for job in shape(i):
        inputs = [{"name": f"in{n}", "dataset": udl} for n, udl in enumerate(job.inputs)]
        outputs = [
            {"name": f"out{n}", "dataset": f"{udl}?acl=rw"} for n, udl in enumerate(job.outputs)
        ]
        dag.append(
            {
                "name": job.name,
                "dependencies": [job.after] if job.after else None,
                "spec": {
                    "stack": "flare:7.0",
                    "compute": "runnable-default",
                    "stackSpec": {"job": {"inputs": inputs, "outputs": outputs}},
                },
            }
        )
    return {
        "name": f"wf-{i}",
        "version": "v1",
        "type": "workflow",
        "tags": ["bench"],
        "workflow": {"schedule": {"cron": CRON, "concurrencyPolicy": "Forbid"}, "dag": dag},
    }


DEPOTS: dict[str, dict[str, Any]] = {
    "pg": {
        "type": "POSTGRESQL",
        "postgresql": {"subprotocol": "postgresql", "host": "db", "port": 5432, "database": "x"},
    },
    "lakehouse": {"type": "LAKEHOUSE", "lakehouse": {"warehouse": "warehouse"}},
}
"""Depot name -> its ``depot`` section (no credentials: the figures need none)."""


def depot_manifests() -> list[dict[str, Any]]:
    """The applied depots the workflows read and write."""
    return [
        {"name": name, "version": "v2alpha", "type": "depot", "depot": {**body, "external": True}}
        for name, body in DEPOTS.items()
    ]


def _key(udl: str) -> list[str]:
    depot, _, rest = udl.removeprefix("dataos://").partition(":")
    return [depot, *rest.split("/")]


def _template(name: str) -> Template:
    return Template((TEMPLATES / f"{name}.py.tmpl").read_text())


def _asset_block(i: int, job: JobShape, upstream: JobShape | None, spec: Template) -> str:
    """One ``@multi_asset``: what ``compile.assets.job_asset`` makes of the job."""
    system = {
        "dataos/workspace": WORKSPACE,
        "dataos/workflow": f"wf-{i}",
        "dataos/job": job.name,
        "dataos/stack": "flare",
    }
    deps = [_key(udl) for udl in job.inputs]
    deps += [_key(udl) for udl in (upstream.outputs if upstream else ()) if _key(udl) not in deps]
    labels = {f"dataos.io/{k}": v for k, v in (("workspace", WORKSPACE), ("workflow", f"wf-{i}"))}
    labels["dataos.io/job"] = job.name
    k8s = {"job_metadata": {"labels": labels}, "pod_template_spec_metadata": {"labels": labels}}
    specs = []
    for udl in job.outputs:
        metadata = {
            **{k: v for k, v in system.items() if k != "dataos/stack"},
            "dataos/stack": "flare:7.0",
            "dataos/compute": "runnable-default",
            "dataos/udl": udl,
            "dataos/tags": ["bench"],
        }
        specs.append(
            spec.substitute(
                key=repr(_key(udl)),
                deps=repr(deps),
                group=WORKSPACE,
                owner=f"team:{OWNER}",
                tags=repr({"bench": "", **system}),
                metadata=repr(metadata),
            ).rstrip("\n")
        )
    depots = sorted({_key(udl)[0] for udl in (*job.inputs, *job.outputs)})
    return _template("asset").substitute(
        op=f"{WORKSPACE}__wf_{i}__{job.name}",
        specs="\n".join(specs),
        op_tags=repr({**system, "dagster-k8s/config": k8s}),
        resources=repr({f"depot_{depot}" for depot in depots}),
    )


def render_handwritten(count: int) -> str:
    """The hand-written Dagster module for workflows ``0..count-1``."""
    spec, workflow = _template("spec"), _template("workflow")
    blocks, assets, jobs, schedules = [], [], [], []
    for i in range(count):
        extract, publish = shape(i)
        blocks.append(_asset_block(i, extract, None, spec))
        blocks.append(_asset_block(i, publish, extract, spec))
        job = f"{WORKSPACE}__wf_{i}"
        tags = {
            "dataos/workspace": WORKSPACE,
            "dataos/workflow": f"wf-{i}",
            "dataos/owner": f"team:{OWNER}",
        }
        keys = "\n".join(f"        {_key(u)!r}," for u in (*extract.outputs, *publish.outputs))
        blocks.append(workflow.substitute(job=job, keys=keys, tags=repr(tags), cron=CRON))
        assets += [f"        {job}__extract,", f"        {job}__publish,"]
        jobs.append(f"        {job},")
        schedules.append(f"        {job}__schedule,")
    resources = "".join(
        f"        {f'depot_{name}'!r}: DepotResource(name={name!r}, type={section['type']!r}),\n"
        for name, section in sorted(DEPOTS.items())
    )
    return _template("module").substitute(
        count=count,
        resources=resources.rstrip("\n"),
        workflows="".join(blocks),
        assets="\n".join(assets),
        jobs="\n".join(jobs),
        schedules="\n".join(schedules),
    )
