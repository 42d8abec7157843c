"""One test per mapping rule of the compiler (manifests -> Dagster definitions)."""

from __future__ import annotations

import json

import dagster as dg
import pytest
from compile_helpers import compile_texts, model, summarize
from dagster_k8s.job import USER_DEFINED_K8S_CONFIG_KEY, UserDefinedDagsterK8sConfig

from dataos_defs.compile import CompileError, CompileInput, compile_definitions, keys
from dataos_defs.compile.runtime import duration_seconds, retry_policy
from dataos_defs.manifest.common import Retry
from dataos_defs.manifest.compute import NodePool

FLARE = """
    name: {name}
    version: v1
    type: workflow
    workflow:
      dag:
        - name: {job}
          spec:
            stack: flare:7.0
            stackSpec:
              job:
                inputs:
                  - name: src
                    dataset: {source}
                outputs:
                  - name: src
                    dataset: {target}
"""


def flare(name: str, source: str, target: str, job: str = "copy") -> str:
    return FLARE.format(name=name, job=job, source=source, target=target)


def test_output_key_strips_acl_and_appends_name_to_a_collection_address() -> None:
    defs = compile_texts(
        flare("wf", "dataos://pg:public/a?acl=r", "dataos://lakehouse:sample?acl=rw")
    )
    assets = summarize(defs)["assets"]
    assert assets["lakehouse/sample/src"]["deps"] == ["pg/public/a"]
    assert (
        assets["lakehouse/sample/src"]["metadata"]["dataos/udl"] == "dataos://lakehouse:sample/src"
    )
    assert assets["pg/public/a"]["group"] == "depot_pg"
    assert assets["pg/public/a"]["executable"] is False


def test_lineage_crosses_workflows_without_external_duplicates() -> None:
    defs = compile_texts(
        flare("first", "dataos://pg:public/a", "dataos://lakehouse:s/b?acl=rw"),
        flare("second", "dataos://lakehouse:s/b", "dataos://lakehouse:s/c?acl=rw"),
    )
    assets = summarize(defs)["assets"]
    assert assets["lakehouse/s/c"]["deps"] == ["lakehouse/s/b"]
    assert assets["lakehouse/s/b"]["executable"] is True
    assert sorted(assets) == ["lakehouse/s/b", "lakehouse/s/c", "pg/public/a"]


def test_a_job_reading_its_own_output_does_not_depend_on_itself() -> None:
    defs = compile_texts(flare("inc", "dataos://lakehouse:s/t", "dataos://lakehouse:s/t?acl=rw"))
    dg.Definitions.validate_loadable(defs)
    assert summarize(defs)["assets"]["lakehouse/s/t"]["deps"] == []


def test_two_writers_of_one_dataset_are_a_compile_error() -> None:
    with pytest.raises(CompileError, match=r"dataos://lakehouse:s/b is written by"):
        compile_texts(
            flare("one", "dataos://pg:p/a", "dataos://lakehouse:s/b"),
            flare("two", "dataos://pg:p/x", "dataos://lakehouse:s/b"),
        )


DAG = """
    name: mixed
    version: v1
    type: workflow
    owner: ada@example.com
    tags: [Tier.Gold, "dataos:workspace:x", "{long}"]
    workflow:
      dag:
        - name: prepare
          tags: [prep]
          spec:
            stack: container
            compute: gpu-pool
            stackSpec: {image: "busybox"}
            envs: {LOG_FORMAT: json, DB_PASSWORD: hunter2-secret, FLAG: true}
            secrets: [plain-secret]
            dataosSecrets:
              - {name: pg-creds, allKeys: true}
              - {name: api, keys: [API_URL]}
              - {name: certs, consumptionType: file}
            runAsApiKey: abcdef-api-key-value
            resources:
              requests: {cpu: 500m, memory: 1Gi}
              limits: {cpu: "2", memory: 4Gi}
        - name: load
          dependencies: [prepare]
          retry: {count: 3, strategy: OnTransientError, duration: 1m30s}
          spec:
            stack: flare:7.0
            dryRun: true
            stackSpec:
              job:
                inputs: [{name: a, dataset: "dataos://pg:public/a"}]
                outputs: [{name: a, dataset: "dataos://lakehouse:s/a?acl=rw", format: Iceberg}]
        - name: scan
          dependencies: [load]
          spec:
            stack: scanner:2.0
            stackSpec: {depot: "dataos://pg"}
""".replace("{long}", "x" * 70)


def test_job_dependencies_order_assets_through_outputs_and_job_keys() -> None:
    summary = summarize(compile_texts(DAG, workspace="team-a"))
    assets = summary["assets"]
    prepare, scan = "dataos/team-a/mixed/prepare", "dataos/team-a/mixed/scan"
    assert assets["lakehouse/s/a"]["deps"] == [prepare, "pg/public/a"]
    assert assets[scan]["deps"] == ["lakehouse/s/a"]
    assert assets[prepare]["kinds"] == ["container"]
    assert assets[scan]["kinds"] == ["scanner"]
    assert assets["lakehouse/s/a"]["kinds"] == ["flare", "iceberg"]
    assert {a["group"] for k, a in assets.items() if k != "pg/public/a"} == {"team_a"}
    job = summary["jobs"]["team_a__mixed"]
    assert job["assets"] == [
        "dataos/team-a/mixed/prepare",
        "dataos/team-a/mixed/scan",
        "lakehouse/s/a",
    ]
    assert job["tags"] == {
        "dataos/owner": "ada@example.com",
        "dataos/workflow": "mixed",
        "dataos/workspace": "team-a",
    }
    assert summary["schedules"] == {}


def test_tags_are_sanitized_and_system_tags_kept() -> None:
    spec = summarize(compile_texts(DAG))["assets"]["dataos/public/mixed/prepare"]
    assert spec["owners"] == ["ada@example.com"]
    assert spec["tags"] == {
        "Tier.Gold": "",
        "dagster/kind/container": "",
        "dataos/job": "prepare",
        "dataos/stack": "container",
        "dataos/workflow": "mixed",
        "dataos/workspace": "public",
        "dataos_workspace_x": "",
        "prep": "",
    }
    assert spec["metadata"]["dataos/tags"] == ["Tier.Gold", "dataos:workspace:x", "x" * 70, "prep"]


def test_owner_mapping() -> None:
    assert keys.owner("ops") == "team:ops"
    assert keys.owner("ada@example.com") == "ada@example.com"
    assert keys.owner(" ") is None
    summary = summarize(compile_texts(flare("w", "dataos://a:b/c", "dataos://d:e/f"), owner="x"))
    assert summary["assets"]["d/e/f"]["owners"] == ["team:x"]


def test_retry_maps_to_a_retry_policy() -> None:
    assert retry_policy(Retry()) is None
    policy = retry_policy(Retry(count=3, strategy="OnTransientError", duration="1m30s"))
    assert policy == dg.RetryPolicy(max_retries=3, delay=90)
    assert duration_seconds("2h") == 7200
    assert duration_seconds("1x") is None
    ops = summarize(compile_texts(DAG))["ops"]
    assert ops["public__mixed__load"]["retry"] == {"max_retries": 3, "delay": 90.0}


def test_dry_run_is_compiled_and_flagged() -> None:
    assets = summarize(compile_texts(DAG))["assets"]
    assert assets["lakehouse/s/a"]["metadata"]["dataos/dry_run"] is True


def _k8s(defs: dg.Definitions, op: str) -> dict[str, object]:
    raw = summarize(defs)["ops"][op]["tags"][USER_DEFINED_K8S_CONFIG_KEY]
    config = json.loads(raw) if isinstance(raw, str) else raw
    UserDefinedDagsterK8sConfig.from_dict(config)
    return config


def test_k8s_config_from_resources_envs_secrets_and_node_pool() -> None:
    pool = NodePool.model_validate(
        {
            "nodeSelector": {"pool": "gpu"},
            "tolerations": [{"key": "gpu", "value": "yes", "effect": "NoSchedule"}],
        }
    )
    inputs = [CompileInput(model(DAG))]
    defs = compile_definitions(inputs, {}, compute={"gpu-pool": pool})
    config = _k8s(defs, "public__mixed__prepare")
    labels = {
        "dataos.io/workspace": "public",
        "dataos.io/workflow": "mixed",
        "dataos.io/job": "prepare",
    }
    assert config == {
        "job_metadata": {"labels": labels},
        "pod_template_spec_metadata": {"labels": labels},
        "container_config": {
            "resources": {
                "requests": {"cpu": "500m", "memory": "1Gi"},
                "limits": {"cpu": "2", "memory": "4Gi"},
            },
            "env": [
                {"name": "LOG_FORMAT", "value": "json"},
                {"name": "FLAG", "value": "true"},
                {
                    "name": "API_URL",
                    "value_from": {"secret_key_ref": {"name": "api", "key": "API_URL"}},
                },
            ],
            "env_from": [
                {"secret_ref": {"name": "plain-secret"}},
                {"secret_ref": {"name": "pg-creds"}},
            ],
            "volume_mounts": [
                {
                    "name": "secret-certs",
                    "mount_path": "/etc/dataos/secrets/certs",
                    "read_only": True,
                }
            ],
        },
        "pod_spec_config": {
            "node_selector": {"pool": "gpu"},
            "tolerations": [
                {"key": "gpu", "operator": "Equal", "value": "yes", "effect": "NoSchedule"}
            ],
            "volumes": [{"name": "secret-certs", "secret": {"secret_name": "certs"}}],
        },
    }
    scan = _k8s(defs, "public__mixed__scan")
    assert set(scan) == {"job_metadata", "pod_template_spec_metadata"}
    assert scan["job_metadata"]["labels"]["dataos.io/job"] == "scan"


def test_node_pools_come_from_compute_resources_too() -> None:
    compute = model(
        """
        name: gpu-pool
        version: v1
        type: compute
        compute:
          dataplane: hub
          purpose: runnable
          nodePool:
            nodeSelector: {pool: gpu}
        """
    )
    defs = compile_definitions([CompileInput(model(DAG)), CompileInput(compute)], {})
    pod = _k8s(defs, "public__mixed__prepare")["pod_spec_config"]
    assert pod == {"node_selector": {"pool": "gpu"}, "volumes": pod["volumes"]}  # type: ignore[index]


def test_no_secret_value_reaches_compiled_definitions() -> None:
    text = json.dumps(summarize(compile_texts(DAG)), default=str)
    assert "hunter2-secret" not in text
    assert "abcdef-api-key-value" not in text
    assert "DB_PASSWORD" not in text


SODA = """
    name: quality
    version: v1
    type: workflow
    workflow:
      dag:
        - name: check-a
          spec:
            stack: soda+python:1.0
            stackSpec:
              inputs:
                - dataset: dataos://lakehouse:s/a
                  checks:
                    - row_count > 0
                    - row_count > 0
                    - missing_count(id) = 0:
                        name: ids are present
                        attributes: {title: No missing ids, category: Completeness}
                - dataset: dataos://pg:public/raw
                  checks:
                    - duplicate_count(id, day) = 0
"""


def test_soda_checks_become_asset_checks_with_unique_names() -> None:
    defs = compile_texts(SODA, flare("w", "dataos://pg:public/a", "dataos://lakehouse:s/a"))
    dg.Definitions.validate_loadable(defs)
    summary = summarize(defs)
    assert summary["assets"]["lakehouse/s/a"]["checks"] == [
        "ids_are_present",
        "row_count_gt_0",
        "row_count_gt_0_2",
    ]
    assert summary["assets"]["pg/public/raw"]["checks"] == ["duplicate_count_id_day_eq_0"]
    assert summary["assets"]["pg/public/raw"]["executable"] is False
    check = summary["checks"]["lakehouse/s/a:ids_are_present"]
    assert check["metadata"] == {
        "dataos/category": "Completeness",
        "dataos/check": "missing_count(id) = 0",
        "dataos/job": "check-a",
        "dataos/title": "No missing ids",
        "dataos/workflow": "quality",
    }
    jobs = summary["jobs"]
    assert len(jobs["public__quality"]["checks"]) == 4
    assert jobs["public__w"]["checks"] == []  # another workflow's checks never run with w


def test_check_names_stay_unique_across_workflows() -> None:
    other = SODA.replace("name: quality", "name: quality-2")
    summary = summarize(compile_texts(SODA, other))
    names = summary["assets"]["pg/public/raw"]["checks"]
    assert names == ["duplicate_count_id_day_eq_0", "duplicate_count_id_day_eq_0_2"]


def test_schedule_carries_cron_timezone_and_running_status() -> None:
    text = flare("s", "dataos://a:b/c", "dataos://d:e/f").replace(
        "workflow:\n",
        "workflow:\n      schedule: {cron: '*/5 * * * *', timezone: Asia/Kolkata}\n",
        1,
    )
    schedules = summarize(compile_texts(text))["schedules"]
    assert schedules == {
        "public__s__schedule": {
            "cron": "*/5 * * * *",
            "timezone": "Asia/Kolkata",
            "job": "public__s",
            "default_status": "RUNNING",
        }
    }


def test_names_are_sanitized_for_dagster() -> None:
    assert keys.name("a-b.c") == "a_b_c"
    assert keys.check_name("values in (a) must exist in t (b)") == "values_in_a_must_exist_in_t_b"
    assert keys.check_name("missing_percent(x) < 5%") == "missing_percent_x_lt_5_pct"
    assert keys.tag_items(["ok", "a b", "-"]) == {"ok": "", "a_b": ""}


def test_a_bare_limit_is_also_the_request() -> None:
    """Kubernetes defaults a missing request to the limit; so do we, or the launcher's default
    request (250m) could exceed a smaller limit and the pod be refused."""
    from dataos_defs.compile.k8s import k8s_config
    from dataos_defs.manifest.common import RuntimeSpec

    spec = RuntimeSpec.model_validate(
        {
            "stack": "python3:1.0",
            "resources": {"limits": {"cpu": "100m"}, "requests": {"memory": "1Gi"}},
        }
    )
    config = k8s_config(spec, {}, {})
    assert config is not None
    assert config["container_config"]["resources"] == {
        "requests": {"cpu": "100m", "memory": "1Gi"},
        "limits": {"cpu": "100m"},
    }
