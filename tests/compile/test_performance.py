"""Compiling a large instance: 500 workflows writing 2,000 datasets compile to one consistent
set of Definitions. How fast is measured by ``make bench`` (``benchmarks/spine2.py``,
compile + load against hand-written Dagster), not here: a wall-clock limit in a unit test
flakes on a loaded 2-core runner."""

from __future__ import annotations

from dataos_defs.compile import CompileInput, compile_definitions
from dataos_defs.manifest.workflow import Workflow


def _workflow(i: int) -> Workflow:
    """Four chained flare jobs; chains of 20 workflows read the previous one's last dataset."""
    jobs = []
    for j in range(4):
        source = f"dataos://lakehouse:w{i}/d{j - 1}" if j else f"dataos://pg:public/t{i}"
        prev = f"dataos://lakehouse:w{i - 1}/d3"
        extra = [{"name": "prev", "dataset": prev}] if i % 20 else []
        jobs.append(
            {
                "name": f"job-{j}",
                "dependencies": [f"job-{j - 1}"] if j else None,
                "spec": {
                    "stack": "flare:7.0",
                    "resources": {"requests": {"cpu": "1", "memory": "2Gi"}},
                    "stackSpec": {
                        "job": {
                            "inputs": [{"name": "src", "dataset": source}, *extra],
                            "outputs": [
                                {"name": "src", "dataset": f"dataos://lakehouse:w{i}/d{j}?acl=rw"}
                            ],
                        }
                    },
                },
            }
        )
    schedule = {"cron": "0 * * * *", "concurrencyPolicy": "Forbid"}
    return Workflow.model_validate(
        {
            "name": f"wf-{i}",
            "version": "v1",
            "type": "workflow",
            "tags": ["bulk"],
            "workflow": {"schedule": schedule, "dag": jobs},
        }
    )


def test_500_workflows_and_2000_datasets_compile() -> None:
    inputs = [CompileInput(_workflow(i), "bulk", "ops") for i in range(500)]
    defs = compile_definitions(inputs, {})
    assert len(list(defs.assets or [])) == 2000 + 500  # one op per job, one external table each
