"""``dataos-ctl kernel synth|plan|apply`` as users run it.

The commands run in-process through typer's runner; the CDKTF app and ``terraform`` run as the
child processes they are. Most tests give the command a stand-in app (a ``main.py`` answering
as the real one does, in milliseconds) and a stand-in ``terraform`` on PATH that records how
it was called; one test synthesizes the example with the real app, and the API source is read
from a real API server.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from dataos_defs.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ROOT / "terraform" / "kernel.yaml"
RESOURCES = ROOT / "resources"
# The stand-in app names its stacks out of alphabetical order: the commands must follow the
# order the app answers (dependency order), not sort it.
FAKE_STACKS = ("zz-cluster", "aa-platform")
FAKE_APP = f"""\
import argparse, json, pathlib, sys

parser = argparse.ArgumentParser()
parser.add_argument("--model", required=True)
parser.add_argument("--out", required=True)
args = parser.parse_args()
model = json.loads(pathlib.Path(args.model).read_text())
for stack in {list(FAKE_STACKS)!r}:
    folder = pathlib.Path(args.out) / "stacks" / stack
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cdk.tf.json").write_text(json.dumps({{"cloud": model["cloud"]}}))
print("synthesizing", file=sys.stderr)
print(json.dumps({{"stacks": {list(FAKE_STACKS)!r}, "outdir": args.out}}))
"""
# Records each call (argv and working directory) and fails the step named in FAKE_TF_FAIL
# ("plan aa-platform") with exit 3.
FAKE_TERRAFORM = f"""\
#!{sys.executable}
import json, os, pathlib, sys

argv = sys.argv[1:]
with open(os.environ["FAKE_TF_LOG"], "a") as log:
    log.write(json.dumps({{"argv": argv, "cwd": os.getcwd()}}) + "\\n")
stack = pathlib.Path(argv[0].removeprefix("-chdir=")).name
sys.exit(3 if os.environ.get("FAKE_TF_FAIL") == f"{{argv[1]}} {{stack}}" else 0)
"""
SERVICE = """\
name: report-ui
version: v1
type: service
workspace: shop
service:
  servicePort: 8501
  ingress: {enabled: true, path: /report, stripPath: true}
  stack: container
  compute: runnable-spark
  stackSpec:
    image: registry.example.com/report-ui:1.0
"""


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(arg) for arg in args])


@pytest.fixture
def fake_app(tmp_path: Path) -> Path:
    folder = tmp_path / "app"
    folder.mkdir()
    (folder / "main.py").write_text(FAKE_APP)
    return folder


@pytest.fixture
def fake_terraform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``terraform`` first on PATH; the file it logs its calls to."""
    folder = tmp_path / "bin"
    folder.mkdir()
    binary = folder / "terraform"
    binary.write_text(FAKE_TERRAFORM)
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "terraform-calls.jsonl"
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_TF_LOG", str(log))
    monkeypatch.delenv("DATAOS_TERRAFORM", raising=False)
    return log


def calls(log: Path) -> list[tuple[str, str]]:
    """``(stack, subcommand...)`` per terraform call, in order."""
    found = []
    for line in log.read_text().splitlines():
        argv = json.loads(line)["argv"]
        assert argv[0].startswith("-chdir=")
        found.append((Path(argv[0].removeprefix("-chdir=")).name, " ".join(argv[1:])))
    return found


def example(*extra: str | Path) -> list[str | Path]:
    return ["-f", RESOURCES, "-R", "--settings", SETTINGS, *extra]


def refused_synth(
    tmp_path: Path, fake_app: Path, cloud: str, settings: Path, *args: str | Path
) -> Result:
    """``kernel synth`` with ``settings`` and ``args``, which must fail before anything is
    written: exit 1 and no output folder."""
    out = tmp_path / "out"
    done = invoke("kernel", "synth", "--cloud", cloud, *args, "--settings", settings, "-o", out,
                  "--app", fake_app)  # fmt: skip
    assert done.exit_code == 1
    assert not out.exists()
    return done


@pytest.mark.parametrize("verb", ["synth", "plan", "apply"])
def test_help_shows_examples(verb: str) -> None:
    shown = invoke("kernel", verb, "-h")
    assert shown.exit_code == 0
    assert "Examples:" in shown.stdout
    assert f"  dataos-ctl kernel {verb} --cloud aws -f resources -R" in shown.stdout


def test_synth_writes_the_model_and_prints_the_stacks_in_order(
    tmp_path: Path, fake_app: Path
) -> None:
    out = tmp_path / "out"
    done = invoke("kernel", "synth", "--cloud", "gcp", *example("-o", out, "--app", fake_app))
    assert done.exit_code == 0, done.output
    assert done.stdout.splitlines() == [
        f"stack {stack}  {out.resolve() / 'stacks' / stack}" for stack in FAKE_STACKS
    ]
    assert "synth...complete: 2 stacks for gcp" in done.stderr
    model = json.loads((out / "model.json").read_text())
    assert model["cloud"] == "gcp"
    assert "gpu-training" in {group["compute"] for group in model["node_groups"]}


def test_bad_settings_are_positioned_and_nothing_is_written(tmp_path: Path, fake_app: Path) -> None:
    settings = tmp_path / "kernel.yaml"
    text = SETTINGS.read_text().replace("    max: 10\n", "    max: 0\n", 1)
    settings.write_text(text)
    line = text.splitlines().index("    max: 0") + 1
    done = refused_synth(tmp_path, fake_app, "aws", settings, "-f", RESOURCES, "-R")
    assert f"{settings}:{line}:" in done.stderr
    assert "nodePools.runnable.max" in done.stderr


def test_bad_manifest_and_bad_settings_are_reported_together(
    tmp_path: Path, fake_app: Path
) -> None:
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    bad = (RESOURCES / "computes.yaml").read_text().replace("purpose: gpu", "purpose: gpuu")
    (manifests / "computes.yaml").write_text(bad)
    line = bad.splitlines().index("  purpose: gpuu") + 1
    settings = tmp_path / "kernel.yaml"
    settings_text = SETTINGS.read_text().replace("cluster:\n", "cluster:\n  size: 3\n", 1)
    settings.write_text(settings_text)
    size_line = settings_text.splitlines().index("  size: 3") + 1
    done = refused_synth(tmp_path, fake_app, "aws", settings, "-f", manifests)
    assert f"{manifests / 'computes.yaml'}:{line}:" in done.stderr
    assert "compute.purpose" in done.stderr
    assert f"{settings}:{size_line}:3: cluster.size: unknown field" in done.stderr
    assert "2 problems found" in done.stderr


def test_settings_that_cannot_serve_the_cloud_name_what_to_add(
    tmp_path: Path, fake_app: Path
) -> None:
    settings = tmp_path / "kernel.yaml"
    text = SETTINGS.read_text()
    start = text.index("azure:\n")
    settings.write_text(text[:start] + text[text.index("\n\n", start) + 2 :])
    done = refused_synth(tmp_path, fake_app, "azure", settings, "-f", RESOURCES, "-R")
    assert "error: azure: the settings have no 'azure' section" in done.stderr


def test_a_workspace_without_files_is_refused(tmp_path: Path, fake_app: Path) -> None:
    done = refused_synth(tmp_path, fake_app, "aws", SETTINGS, "-w", "shop")
    assert "-w applies to manifests read with -f" in done.stderr


def test_plan_without_terraform_says_how_to_install_one(
    tmp_path: Path, fake_app: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("DATAOS_TERRAFORM", raising=False)
    out = tmp_path / "out"
    done = invoke("kernel", "plan", "--cloud", "aws", *example("-o", out, "--app", fake_app))
    assert done.exit_code == 2
    assert "no terraform or tofu binary found on PATH" in done.stderr
    for advice in ("developer.hashicorp.com", "apt install terraform", "OpenTofu"):
        assert advice in done.stderr
    assert not out.exists()
    named = invoke("kernel", "plan", "--cloud", "aws", "--binary", "tofu", *example())
    assert named.exit_code == 2
    assert "no tofu binary found" in named.stderr


def test_plan_runs_init_and_plan_per_stack_in_dependency_order(
    tmp_path: Path, fake_app: Path, fake_terraform: Path
) -> None:
    out = tmp_path / "out"
    done = invoke("kernel", "plan", "--cloud", "aws", *example("-o", out, "--app", fake_app))
    assert done.exit_code == 0, done.output
    assert calls(fake_terraform) == [
        ("zz-cluster", "init -input=false"),
        ("zz-cluster", "plan -input=false"),
        ("aa-platform", "init -input=false"),
        ("aa-platform", "plan -input=false"),
    ]
    first = json.loads(fake_terraform.read_text().splitlines()[0])["argv"][0]
    assert first == f"-chdir={out.resolve() / 'stacks' / 'zz-cluster'}"
    assert "kernel plan...complete: zz-cluster, aa-platform" in done.stderr


def test_the_first_failure_stops_the_run_with_terraforms_exit_code(
    tmp_path: Path, fake_app: Path, fake_terraform: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_TF_FAIL", "plan zz-cluster")
    done = invoke("kernel", "plan", "--cloud", "aws", *example("-o", tmp_path, "--app", fake_app))
    assert done.exit_code == 3
    assert "terraform plan failed in stack zz-cluster (exit 3)" in done.stderr
    assert calls(fake_terraform) == [
        ("zz-cluster", "init -input=false"),
        ("zz-cluster", "plan -input=false"),
    ]


def test_apply_leaves_confirmation_to_terraform_unless_auto_approve(
    tmp_path: Path, fake_app: Path, fake_terraform: Path
) -> None:
    args = ["kernel", "apply", "--cloud", "azure", *example("-o", tmp_path, "--app", fake_app)]
    assert invoke(*args).exit_code == 0
    assert invoke(*args, "--auto-approve", "--stack", "aa-platform").exit_code == 0
    assert calls(fake_terraform) == [
        ("zz-cluster", "init -input=false"),
        ("zz-cluster", "apply"),
        ("aa-platform", "init -input=false"),
        ("aa-platform", "apply"),
        ("aa-platform", "init -input=false"),
        ("aa-platform", "apply -input=false -auto-approve"),
    ]
    unknown = invoke(*args, "--stack", "nope")
    assert unknown.exit_code == 1
    assert "no stack nope" in unknown.stderr


def test_the_binary_can_be_named_by_the_environment(
    tmp_path: Path, fake_app: Path, fake_terraform: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    renamed = fake_terraform.parent / "bin" / "my-tofu"
    (fake_terraform.parent / "bin" / "terraform").rename(renamed)
    monkeypatch.setenv("DATAOS_TERRAFORM", str(renamed))
    done = invoke("kernel", "plan", "--cloud", "aws", *example("-o", tmp_path, "--app", fake_app))
    assert done.exit_code == 0, done.output
    assert len(calls(fake_terraform)) == 4


@pytest.mark.slow
def test_synth_the_example_for_aws_with_the_real_app(tmp_path: Path) -> None:
    out = tmp_path / "aws"
    done = invoke("kernel", "synth", "--cloud", "aws", *example("-o", out))
    assert done.exit_code == 0, done.output
    stacks = [line.split()[1] for line in done.stdout.splitlines()]
    assert stacks, done.output
    for stack in stacks:
        synthesized = json.loads((out / "stacks" / stack / "cdk.tf.json").read_text())
        assert "resource" in synthesized or "output" in synthesized
    assert (out / "manifest.json").is_file()
    model = json.loads((out / "model.json").read_text())
    assert model["cloud"] == "aws"
    assert {"gpu-training", "runnable-spark"} <= {g["compute"] for g in model["node_groups"]}


# -- the desired state from the running platform ---------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real API server with the example's Computes and a Service with ingress in 'shop'."""
    from interfaces.conftest import start_server, stop_server, wire

    from dataos_defs.api.client import DataosClient

    running = start_server(tmp_path_factory.mktemp("dataos-home"))
    try:
        with DataosClient(running.url, api_key=running.api_key) as client:
            client.create_workspace("shop", None, [])
            client.create_workspace("empty", None, [])
            computes = (RESOURCES / "computes.yaml").read_text()
            client.apply(wire(computes, "computes.yaml") + wire(SERVICE, "service.yaml"), None)
        yield running
    finally:
        stop_server(running)


@pytest.mark.slow
def test_the_desired_state_is_read_through_the_api(server: Any) -> None:
    from dataos_defs.api.client import DataosClient
    from dataos_defs.cli.kernel_source import desired_from_api

    with DataosClient(server.url, api_key=server.api_key) as client:
        desired = desired_from_api(client)
    assert [compute.name for compute in desired.computes] == ["gpu-training", "runnable-spark"]
    assert [(space, service.name) for space, service in desired.services] == [("shop", "report-ui")]
    assert {"shop", "empty", "public"} <= set(desired.workspaces)


@pytest.mark.slow
def test_synth_without_files_reads_the_running_platform(
    server: Any, tmp_path: Path, fake_app: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in server.env().items():
        if name.startswith("DATAOS_"):
            monkeypatch.setenv(name, value)
    out = tmp_path / "out"
    done = invoke("kernel", "synth", "--cloud", "aws", "--settings", SETTINGS, "-o", out,
                  "--app", fake_app)  # fmt: skip
    assert done.exit_code == 0, done.output
    model = json.loads((out / "model.json").read_text())
    assert {"gpu-training", "runnable-spark"} <= {g["compute"] for g in model["node_groups"]}
    assert [(r["workspace"], r["service"]) for r in model["ingress_routes"]] == [
        ("shop", "report-ui")
    ]
    assert {"shop", "empty"} <= {ns["workspace"] for ns in model["namespaces"]}
