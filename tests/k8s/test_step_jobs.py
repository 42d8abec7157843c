"""Golden step Jobs: what ``k8s_job_executor`` creates for each compiled DataOS job.

A compiled DataOS job is one op, so each becomes one step Job, shaped by the op's
``dagster-k8s/config`` tag (``spec.resources``, ``envs``, ``dataosSecrets``, the Compute's
node pool). No Kubernetes API server can run here: dagster-k8s's own ``K8sStepHandler``
(from the executor of ``dataos_defs.adapters.k8s_launcher.step_executor``) launches each
step against the stand-in of ``k8s_support``, following the documented create-Job contract.
"""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import dataclass
from typing import Any

import dagster as dg
import pytest
from dagster._core.definitions.job_base import InMemoryJob
from dagster._core.execution.api import create_execution_plan
from dagster._core.execution.context.system import PlanData, PlanOrchestrationContext
from dagster._core.execution.context_creation_job import create_context_free_log_manager
from dagster._core.execution.plan.step import ExecutionStep
from dagster._core.execution.retries import RetryMode
from dagster._core.executor.init import InitExecutorContext
from dagster._core.executor.step_delegating import StepDelegatingExecutor
from dagster._core.executor.step_delegating.step_handler.base import StepHandlerContext
from dagster._core.instance import DagsterInstance
from dagster._grpc.types import ExecuteStepArgs
from dagster._serdes import deserialize_value
from dagster_k8s.job import get_user_defined_k8s_config
from k8s_support import (
    FIXTURES,
    ApiStandIn,
    check_golden,
    container,
    deployed_run,
    env_sources,
    sanitize,
    secret_values,
    validate_strict,
    workflow_jobs,
)
from kubernetes.utils import parse_quantity  # type: ignore[import-untyped]

from dataos_defs.adapters.k8s_launcher import (
    RUN_RESOURCES,
    RUNTIME_SECRET,
    K8sSettings,
    step_executor,
)
from dataos_defs.compile.k8s import K8S_CONFIG_TAG

SIZED = "public__shop_countries__customers_by_country"
"""The fixture job that asks for resources, env vars and secrets (``fixtures/workflow.yaml``)."""
MEMORY_ONLY = "public__shop_countries__countries_top"
"""The fixture job that asks for a memory request only."""


@dataclass(frozen=True)
class StepJob:
    run_id: str
    namespace: str
    body: dict[str, Any]
    tags: dict[str, str]


def _executor(instance: DagsterInstance, job: dg.JobDefinition) -> StepDelegatingExecutor:
    definition = step_executor(K8sSettings())
    config = definition.apply_config_mapping({})
    assert config.success and config.value is not None, config.errors
    executor = definition.executor_creation_fn(  # type: ignore[misc]
        InitExecutorContext(
            job=InMemoryJob(job),
            executor_def=definition,
            executor_config=config.value["config"],
            instance=instance,
        )
    )
    assert isinstance(executor, StepDelegatingExecutor)
    return executor


@pytest.fixture(scope="module")
def steps(
    k8s_instance: DagsterInstance, stand_in: ApiStandIn, defs: dg.Definitions
) -> dict[str, StepJob]:
    """Every step of every workflow job, launched once (nothing executes)."""
    out = {}
    stand_in.take()
    for job in workflow_jobs(defs):
        run = deployed_run(k8s_instance, job)
        plan = create_execution_plan(job)
        executor = _executor(k8s_instance, job)
        context = PlanOrchestrationContext(
            plan_data=PlanData(
                job=InMemoryJob(job),
                dagster_run=run,
                instance=k8s_instance,
                execution_plan=plan,
                raise_on_error=True,
                retry_mode=RetryMode.DISABLED,
            ),
            log_manager=create_context_free_log_manager(k8s_instance, run),
            executor=executor,
            output_capture=None,
        )
        for step in plan.get_all_steps_in_topo_order():
            assert isinstance(step, ExecutionStep)
            args = ExecuteStepArgs(
                run.job_code_origin, run.run_id, [step.key], k8s_instance.get_ref()
            )
            handler = StepHandlerContext(k8s_instance, context, [step], args, run)
            list(executor._step_handler.launch_step(handler))
            [(namespace, body)] = stand_in.take()
            out[step.key] = StepJob(run.run_id, namespace, body, dict(step.tags or {}))
    assert not stand_in.unexpected
    return out


def _node_pool() -> dict[str, Any]:
    """The fixture Compute's pool, as Kubernetes spells it."""
    import yaml

    pool = yaml.safe_load((FIXTURES / "compute.yaml").read_text())["compute"]["nodePool"]
    return {"nodeSelector": pool["nodeSelector"], "tolerations": pool["tolerations"]}


def test_every_dataos_job_is_one_step_job(steps: dict[str, StepJob]) -> None:
    assert sorted(steps) == [
        "public__shop_catalog__scan_lakehouse",
        "public__shop_catalog__scan_shoppg",
        "public__shop_countries__countries_top",
        "public__shop_countries__customers_by_country",
        "public__shop_daily__customer_360",
        "public__shop_daily__ingest_customers",
        "public__shop_daily__ingest_orders",
        "public__shop_daily__quality_customer_360",
    ]


def test_golden_step_jobs(steps: dict[str, StepJob]) -> None:
    for key, item in steps.items():
        job = sanitize(item.body, item.run_id)
        env = container(job)["env"]
        [packed] = [e for e in env if e["name"] == "DAGSTER_COMPRESSED_EXECUTE_STEP_ARGS"]
        packed["value"] = "<compressed ExecuteStepArgs>"
        check_golden(f"step__{key}", job)


def test_step_jobs_validate_strictly(steps: dict[str, StepJob]) -> None:
    for item in steps.values():
        assert validate_strict(item.body)


def test_op_tags_are_accepted_by_dagster_k8s(steps: dict[str, StepJob]) -> None:
    """The compiled tag parses through dagster-k8s's own schema, unchanged."""
    for item in steps.values():
        parsed = get_user_defined_k8s_config(item.tags).to_dict()
        assert parsed.pop("merge_behavior") == "DEEP"
        written = json.loads(item.tags[K8S_CONFIG_TAG])
        assert {k: v for k, v in parsed.items() if v} == written


def test_step_jobs_carry_the_node_pool(steps: dict[str, StepJob]) -> None:
    pool = _node_pool()
    for item in steps.values():
        pod = item.body["spec"]["template"]["spec"]
        assert pod["nodeSelector"] == pool["nodeSelector"]
        assert pod["tolerations"] == pool["tolerations"]


def test_resources_come_from_the_manifest_over_the_defaults(steps: dict[str, StepJob]) -> None:
    """dagster-k8s merges the op tag deeply over the launcher's default requests."""
    expected = {
        SIZED: {
            "requests": {"cpu": "500m", "memory": "1Gi"},
            "limits": {"cpu": "2", "memory": "4Gi"},
        },
        MEMORY_ONLY: {"requests": {"cpu": "250m", "memory": "2Gi"}},
    }
    for key, item in steps.items():
        resources = container(item.body)["resources"]
        assert resources == expected.get(key, RUN_RESOURCES), key
        for name, limit in resources.get("limits", {}).items():
            request = resources["requests"].get(name, limit)
            assert parse_quantity(request) <= parse_quantity(limit), (key, name)


def test_env_and_secrets_of_the_sized_job(steps: dict[str, StepJob]) -> None:
    job = steps[SIZED].body
    env, whole = env_sources(job)
    assert env["LOG_FORMAT"] == {"name": "LOG_FORMAT", "value": "json"}
    assert env["DUCKDB_THREADS"] == {"name": "DUCKDB_THREADS", "value": "4"}
    for key in ("username", "password"):
        assert env[key] == {
            "name": key,
            "valueFrom": {"secretKeyRef": {"name": "shoppg-r", "key": key}},
        }
    assert "SHOP_PG_PASSWORD" not in env
    assert whole == [RUNTIME_SECRET, "shop-runtime", "shoppg-rw"]
    mount = {"name": "secret-lakehouse-ca", "mountPath": "/etc/dataos/secrets/lakehouse-ca"}
    assert container(job)["volumeMounts"] == [{**mount, "readOnly": True}]
    volumes = job["spec"]["template"]["spec"]["volumes"]
    assert volumes == [{"name": "secret-lakehouse-ca", "secret": {"secretName": "lakehouse-ca"}}]


def test_no_secret_value_in_any_step_job(steps: dict[str, StepJob]) -> None:
    """Values only under names Dagster or the manifest's plain ``envs`` set; the packed step
    arguments are unpacked and searched too."""
    secrets = secret_values()
    for item in steps.values():
        env, _ = env_sources(item.body)
        packed = env.pop("DAGSTER_COMPRESSED_EXECUTE_STEP_ARGS")["value"]
        unpacked = zlib.decompress(base64.b64decode(packed)).decode()
        assert deserialize_value(unpacked, ExecuteStepArgs).run_id == item.run_id
        for text in (json.dumps(item.body), unpacked):
            for value in secrets:
                assert value not in text
        literal = {name for name, entry in env.items() if "value" in entry}
        assert literal <= {"DAGSTER_RUN_JOB_NAME", "DAGSTER_RUN_STEP_KEY", "DAGSTER_HOME"} | {
            "LOG_FORMAT",
            "DUCKDB_THREADS",
            "DATAOS_RUN_MODE",
        }
        for name in set(env) - literal:
            assert set(env[name]["valueFrom"]) == {"secretKeyRef"}


def test_step_job_identity(steps: dict[str, StepJob]) -> None:
    for key, item in steps.items():
        workflow_job = key.rsplit("__", 1)[0]
        for metadata in (item.body["metadata"], item.body["spec"]["template"]["metadata"]):
            labels = metadata["labels"]
            assert labels["dagster/op"] == key
            assert labels["dagster/job"] == workflow_job
            assert labels["app.kubernetes.io/component"] == "step_worker"
            assert labels["dataos.io/platform"] == "dataos"
        annotations = item.body["spec"]["template"]["metadata"]["annotations"]
        assert annotations == {"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"}
        assert item.tags["dataos/job"] and item.tags["dataos/workflow"] in workflow_job.replace(
            "_", "-"
        )
        env, _ = env_sources(item.body)
        assert env["DAGSTER_RUN_STEP_KEY"]["value"] == key
        assert container(item.body)["args"] == [
            "/usr/local/bin/python",
            "-m",
            "dagster",
            "api",
            "execute_step",
        ]
