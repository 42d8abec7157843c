"""Golden run-worker Jobs: what ``K8sRunLauncher`` creates for each compiled workflow job.

No Kubernetes API server can run here: the real launcher, configured from
``deploy/dagster/dagster.yaml``, posts to the stand-in of ``k8s_support`` (the documented
"create Job" call), which records the Job as a cluster would receive it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import dagster as dg
import pytest
from dagster._core.instance import DagsterInstance
from dagster._core.storage.dagster_run import DagsterRun
from dagster._grpc.types import ExecuteRunArgs
from dagster._serdes import deserialize_value
from k8s_support import (
    LOCATION,
    ApiStandIn,
    check_golden,
    code_image,
    container,
    deploy_instance,
    deployed_run,
    env_sources,
    sanitize,
    secret_values,
    validate_strict,
    workflow_jobs,
)

from dataos_defs.adapters.k8s_launcher import RUN_K8S_CONFIG, RUN_RESOURCES, RUNTIME_SECRET


@dataclass(frozen=True)
class Launched:
    run: DagsterRun
    namespace: str
    body: dict[str, Any]


@pytest.fixture(scope="module")
def launched(
    k8s_instance: DagsterInstance, stand_in: ApiStandIn, defs: dg.Definitions
) -> dict[str, Launched]:
    """Every workflow job, run once through ``instance.launch_run`` (nothing executes)."""
    out = {}
    stand_in.take()
    for job in workflow_jobs(defs):
        run = deployed_run(k8s_instance, job)
        k8s_instance.launch_run(run.run_id, workspace=None)  # type: ignore[arg-type]
        [(namespace, body)] = stand_in.take()
        out[job.name] = Launched(run, namespace, body)
    assert not stand_in.unexpected
    return out


def test_every_workflow_is_launched(launched: dict[str, Launched]) -> None:
    assert sorted(launched) == [
        "public__shop_catalog",
        "public__shop_countries",
        "public__shop_daily",
    ]


def test_golden_run_jobs(launched: dict[str, Launched]) -> None:
    for name, item in launched.items():
        job = sanitize(item.body, item.run.run_id)
        main = container(job)
        execute = main["args"][-1]
        main["args"][-1] = "<serialized ExecuteRunArgs>"
        assert execute != main["args"][-1]
        check_golden(f"run__{name}", job)


def test_run_jobs_validate_strictly(launched: dict[str, Launched]) -> None:
    for item in launched.values():
        assert validate_strict(item.body)


def test_run_job_identity(launched: dict[str, Launched]) -> None:
    """Namespace, name, labels, image and the command point at the DataOS workflow's run."""
    launcher = deploy_instance()["run_launcher"]["config"]
    for name, item in launched.items():
        run_id = item.run.run_id
        assert item.namespace == launcher["job_namespace"]
        metadata = item.body["metadata"]
        assert metadata["name"] == f"dagster-run-{run_id}"
        pod_labels = item.body["spec"]["template"]["metadata"]["labels"]
        for labels in (metadata["labels"], pod_labels):
            assert labels["dagster/job"] == name
            assert labels["dagster/run-id"] == run_id
            assert labels["dagster/code-location"] == LOCATION
            assert labels["app.kubernetes.io/component"] == "run_worker"
            assert labels.items() >= launcher["labels"].items()
        pod = item.body["spec"]["template"]["spec"]
        assert pod["serviceAccountName"] == launcher["service_account_name"]
        assert pod["restartPolicy"] == "Never"
        main = container(item.body)
        assert main["image"] == code_image()
        assert main["args"][:-1] == ["/usr/local/bin/python", "-m", "dagster", "api", "execute_run"]
        args = deserialize_value(main["args"][-1], ExecuteRunArgs)
        assert (args.job_origin.job_name, args.run_id) == (name, run_id)
        assert item.run.tags["dataos/workflow"] == name.split("__")[1].replace("_", "-")


def test_run_worker_gets_the_launcher_defaults(launched: dict[str, Launched]) -> None:
    """The run worker only orchestrates: small defaults, whatever the manifest asked for."""
    for item in launched.values():
        spec = item.body["spec"]
        assert spec["backoffLimit"] == 0
        assert spec["ttlSecondsAfterFinished"] == 86400
        annotations = spec["template"]["metadata"]["annotations"]
        assert annotations == RUN_K8S_CONFIG["pod_template_spec_metadata"]["annotations"]
        assert container(item.body)["resources"] == RUN_RESOURCES
        assert "nodeSelector" not in spec["template"]["spec"]


def test_run_jobs_reference_secrets_only(launched: dict[str, Launched]) -> None:
    secrets = secret_values()
    for item in launched.values():
        text = json.dumps(item.body)
        for value in secrets:
            assert value not in text
        env, whole = env_sources(item.body)
        assert whole == [RUNTIME_SECRET]
        password = env["DAGSTER_PG_PASSWORD"]
        assert "value" not in password
        assert password["valueFrom"]["secretKeyRef"] == {
            "name": "dagster-postgresql-secret",
            "key": "postgresql-password",
        }
        assert {name for name, item in env.items() if "value" in item} == {
            "DAGSTER_RUN_JOB_NAME",
            "DAGSTER_HOME",
            "DATAOS_RUN_MODE",
        }
