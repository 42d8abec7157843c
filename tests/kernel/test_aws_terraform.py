"""The AWS cluster stack through real Terraform: ``validate``, then an offline ``plan``.

This machine image (and CI) carries a ``terraform`` binary and a filesystem mirror of the
hashicorp/aws 5.100.0 provider; the registry is unreachable. The stack's ``>= 5.100, < 7``
constraint lets the 6.x bindings' JSON be checked against that provider: an argument only 6.x
knows fails ``validate`` here. The plan runs with fake credentials and the provider's skip
flags, which only the test-only override file (tests/kernel/terraform_override/) supplies;
``-refresh=false`` and an empty state mean no AWS API call — but one: Terraform opens the
ephemeral generator of the store's Fernet key at plan time, so the override also points the
Secrets Manager endpoint at a local stub that answers ``GetRandomPassword`` with a marker,
and the tests check that the marker appears nowhere in the plan.

Without the binary or the mirror these tests fail in CI (``CI=true``) and skip elsewhere,
naming what is missing. One ``terraform init`` per module.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from dataos_defs.kernel.model import KernelModel

from .stack_support import example_model, synth_cluster_to

pytestmark = pytest.mark.slow

OVERRIDE = Path(__file__).parent / "terraform_override" / "test_override.tf.json"
MIRROR = Path(os.environ.get("DATAOS_TF_PLUGIN_DIR", "/opt/tf-plugins"))
AWS_IN_MIRROR = "registry.terraform.io/hashicorp/aws"
EFFECTS = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE"}


def _missing_tools() -> str | None:
    binary = shutil.which("terraform")
    if binary is None:
        return "no `terraform` binary on PATH (install Terraform >= 1.11)"
    providers = list((MIRROR / AWS_IN_MIRROR).glob("*/*/terraform-provider-aws_*"))
    if not providers:
        return f"no hashicorp/aws provider in the filesystem mirror {MIRROR}/{AWS_IN_MIRROR}"
    return None


@pytest.fixture(scope="module")
def terraform_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Fails in CI, skips elsewhere, when Terraform or the provider mirror is missing."""
    missing = _missing_tools()
    if missing:
        message = f"AWS Terraform validation NOT RUN: {missing}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    home = tmp_path_factory.mktemp("terraform-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_"))}
    env.update(
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
        CHECKPOINT_DISABLE="1",
        TF_DATA_DIR=str(home / "data"),
        TF_PLUGIN_CACHE_DIR=str(home / "plugin-cache"),
        # harmless when missing (a warning); keeps the user's CLI config out of the test
        TF_CLI_CONFIG_FILE=str(home / "none.tfrc"),
        # fake credentials: the plan must never reach AWS
        AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE",
        AWS_SECRET_ACCESS_KEY="fake-secret-access-key-for-an-offline-plan",
        AWS_EC2_METADATA_DISABLED="true",
    )
    (home / "plugin-cache").mkdir()
    return env


def _terraform(stack_dir: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        ["terraform", *args],
        cwd=stack_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, f"terraform {args[0]} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


# What the stub hands out as the generated key: 43 url-safe base64 characters.
GENERATED_MARKER = "StubGeneratedFernetKeyMarker0123456789abcde"


class _SecretsManagerStub(BaseHTTPRequestHandler):
    """Answers Secrets Manager's ``GetRandomPassword`` (JSON 1.1 protocol) and records calls."""

    calls: list[str] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        target = self.headers.get("X-Amz-Target", "")
        self.calls.append(target)
        known = target == "secretsmanager.GetRandomPassword"
        body = json.dumps({"RandomPassword": GENERATED_MARKER} if known else {}).encode()
        self.send_response(200 if known else 400)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the calls are recorded instead."""


@pytest.fixture(scope="module")
def secrets_manager_stub() -> Iterator[str]:
    """The endpoint URL of a local stub of Secrets Manager."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SecretsManagerStub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join()


def _override(endpoint: str) -> dict[str, Any]:
    """The test-only override file, with Secrets Manager pointed at the stub."""
    override: dict[str, Any] = json.loads(OVERRIDE.read_text())
    override["provider"]["aws"][0]["endpoints"] = [{"secretsmanager": endpoint}]
    return override


@pytest.fixture(scope="module")
def model() -> KernelModel:
    """The repository's example: its Computes become the node groups planned here."""
    return example_model()


@pytest.fixture(scope="module")
def stack_dir(
    model: KernelModel,
    terraform_env: dict[str, str],
    secrets_manager_stub: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Path]:
    """The synthesized stack with the test-only override, initialized from the mirror."""
    stack = synth_cluster_to(model, tmp_path_factory.mktemp("cdktf.out"))
    (stack / OVERRIDE.name).write_text(json.dumps(_override(secrets_manager_stub), indent=2))
    _terraform(stack, terraform_env, "init", f"-plugin-dir={MIRROR}", "-no-color")
    yield stack


@pytest.fixture(scope="module")
def plan(stack_dir: Path, terraform_env: dict[str, str]) -> dict[str, Any]:
    _terraform(
        stack_dir, terraform_env, "plan", "-refresh=false", "-lock=false", "-no-color", "-out=plan"
    )
    return json.loads(_terraform(stack_dir, terraform_env, "show", "-json", "plan"))


def _planned(plan: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {
        r["name"]: r["values"]
        for r in plan["planned_values"]["root_module"]["resources"]
        if r["type"] == kind and r["mode"] == "managed"
    }


def test_terraform_validates_the_stack_against_the_mirrored_provider(
    stack_dir: Path, terraform_env: dict[str, str]
) -> None:
    result = json.loads(_terraform(stack_dir, terraform_env, "validate", "-json", "-no-color"))
    assert result["valid"] is True, result["diagnostics"]
    assert result["warning_count"] == 0, result["diagnostics"]
    lock = (stack_dir / ".terraform.lock.hcl").read_text()
    assert 'provider "registry.terraform.io/hashicorp/aws"' in lock
    assert 'version     = "5.100.0"' in lock


def test_plan_creates_everything_and_nothing_else(plan: dict[str, Any]) -> None:
    """Only creations (and reads of the policy documents, deferred to apply)."""
    assert plan["errored"] is False
    managed = [change for change in plan["resource_changes"] if change["mode"] == "managed"]
    assert {tuple(change["change"]["actions"]) for change in managed} == {("create",)}
    planned = plan["planned_values"]["root_module"]["resources"]
    assert len(managed) == len([r for r in planned if r["mode"] == "managed"]) > 50


def test_plan_has_one_node_group_per_compute(model: KernelModel, plan: dict[str, Any]) -> None:
    groups = {
        values["node_group_name"]: values
        for values in _planned(plan, "aws_eks_node_group").values()
    }
    assert set(groups) == {g.name for g in model.node_groups}
    for group in model.node_groups:
        planned = groups[group.name]
        assert planned["instance_types"] == [group.machine_type]
        assert planned["scaling_config"] == [
            {"min_size": group.min_size, "max_size": group.max_size, "desired_size": group.min_size}
        ]
        assert planned["labels"] == group.labels
        assert planned["disk_size"] == group.disk_gb
        assert planned["taint"] == [
            {"key": t.key, "value": t.value, "effect": EFFECTS[t.effect]} for t in group.taints
        ]
        assert planned["ami_type"] == (
            "AL2023_x86_64_NVIDIA" if group.gpu else "AL2023_x86_64_STANDARD"
        )


def test_plan_has_the_database_with_an_aws_managed_password(
    model: KernelModel, plan: dict[str, Any]
) -> None:
    database = _planned(plan, "aws_db_instance")["database"]
    assert database["manage_master_user_password"] is True
    assert database["password"] is None
    assert database["engine"] == "postgres"
    assert database["engine_version"] == model.database.engine_version
    assert database["instance_class"] == model.database.instance_class
    assert database["allocated_storage"] == model.database.storage_gb
    assert database["multi_az"] is model.database.high_availability
    assert database["publicly_accessible"] is False


def test_plan_switches_on_network_policy_enforcement(plan: dict[str, Any]) -> None:
    """EKS ignores NetworkPolicies unless the VPC CNI's policy agent runs: the zero-trust
    rules of the platform stack depend on this add-on setting."""
    (addon,) = _planned(plan, "aws_eks_addon").values()
    assert addon["addon_name"] == "vpc-cni"
    assert json.loads(addon["configuration_values"]) == {"enableNetworkPolicy": "true"}


def test_plan_has_the_buckets(model: KernelModel, plan: dict[str, Any]) -> None:
    buckets = {values["bucket"] for values in _planned(plan, "aws_s3_bucket").values()}
    assert buckets == {model.buckets.warehouse, model.buckets.history}
    versioning = _planned(plan, "aws_s3_bucket_versioning").values()
    assert [v["versioning_configuration"][0]["status"] for v in versioning] == ["Enabled"] * 2


def test_every_tagged_resource_carries_the_models_tags(
    model: KernelModel, plan: dict[str, Any]
) -> None:
    tagged = [
        r for r in plan["planned_values"]["root_module"]["resources"] if "tags_all" in r["values"]
    ]
    assert len(tagged) > 30
    for resource in tagged:
        assert model.tags.items() <= resource["values"]["tags_all"].items(), resource["address"]


def _passwords(node: Any) -> list[Any]:
    """Values of ``*password*`` attributes anywhere in the plan, but for flags and nulls."""
    found: list[Any] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if "password" in key and value not in (None, True, False, {}, []):
                found.append((key, value))
            found.extend(_passwords(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_passwords(item))
    return found


def test_the_plan_holds_no_secret_value(plan: dict[str, Any]) -> None:
    assert _passwords(plan["planned_values"]) == []
    assert "fake-secret-access-key" not in json.dumps(plan)


def test_the_store_key_is_generated_at_plan_time_and_never_written_to_the_plan(
    model: KernelModel, plan: dict[str, Any]
) -> None:
    """The only call the plan makes is the key generator's, to the stub; the generated value
    is handed to a write-only argument and so appears nowhere in the plan."""
    assert set(_SecretsManagerStub.calls) == {"secretsmanager.GetRandomPassword"}
    assert GENERATED_MARKER not in json.dumps(plan)
    entry = _planned(plan, "aws_secretsmanager_secret")["secret-key"]
    assert entry["name"] == model.secret_key_secret
    version = _planned(plan, "aws_secretsmanager_secret_version")["secret-key-version"]
    assert version["secret_string_wo"] is None
    assert version["secret_string_wo_version"] == 1
    assert version["secret_string"] in (None, "")
