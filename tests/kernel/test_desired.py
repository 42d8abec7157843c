"""Reading the kernel's desired state from manifests: validated like ``apply -f``, only
Computes, Services and workspaces kept, Bundles' inline Resources and workspaces included."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from dataos_defs.kernel.desired import desired_from_files
from dataos_defs.kernel.node_groups import with_builtin_computes
from dataos_defs.manifest.errors import ManifestError
from dataos_defs.manifest.registry import BUILTIN_RESOURCES

from .mapping_support import RESOURCES, compute

COMPUTE = """\
name: spark
version: v1
type: compute
compute:
  dataplane: hub
  purpose: runnable
"""
SERVICE = """\
name: {name}
version: v1
type: service
{workspace}service:
  servicePort: 8080
  ingress: {{enabled: true, path: /{name}}}
  stack: container
  compute: runnable-default
  stackSpec: {{image: registry.example.com/app:1}}
"""
SECRET = """\
name: token
version: v1
type: instance-secret
instance-secret:
  type: key-value
  acl: r
  data:
    token: t0ken
"""
BUNDLE = """\
name: lab
version: v1beta
type: bundle
bundle:
  workspaces:
    - name: lab
  resources:
    - id: gpu
      spec:
        name: gpu-lab
        version: v1
        type: compute
        compute: {dataplane: hub, purpose: gpu}
    - id: web
      workspace: bundled
      spec:
"""


def folder(tmp_path: Path, **files: str) -> Path:
    for name, text in files.items():
        (tmp_path / f"{name}.yaml").write_text(text)
    return tmp_path


def bundle_with_service() -> str:
    return BUNDLE + textwrap.indent(SERVICE.format(name="web", workspace=""), " " * 8)


def test_the_example_holds_two_computes_one_service_and_lives_in_public() -> None:
    desired = desired_from_files([RESOURCES], recursive=True)
    assert [c.name for c in desired.computes] == ["gpu-training", "runnable-spark"]
    assert [(workspace, s.name) for workspace, s in desired.services] == [("public", "hello-api")]
    assert desired.workspaces == ("public",)


def test_workspaces_come_from_resources_bundles_and_the_default(tmp_path: Path) -> None:
    manifests = folder(
        tmp_path,
        compute=COMPUTE,
        secret=SECRET,
        shop=SERVICE.format(name="orders", workspace="workspace: shop\n"),
        plain=SERVICE.format(name="plain", workspace=""),
        bundle=bundle_with_service(),
    )
    desired = desired_from_files([manifests], recursive=False, workspace="team")
    assert [c.name for c in desired.computes] == ["gpu-lab", "spark"]
    assert [(space, s.name) for space, s in desired.services] == [
        ("bundled", "web"),
        ("shop", "orders"),
        ("team", "plain"),
    ]
    assert desired.workspaces == ("bundled", "lab", "shop", "team")


def test_a_broken_manifest_of_any_type_is_a_positioned_error(tmp_path: Path) -> None:
    broken = SECRET.replace("  acl: r", "  acl: r\n  acll: rw")
    with pytest.raises(ManifestError) as caught:
        desired_from_files([folder(tmp_path, compute=COMPUTE, secret=broken)], recursive=True)
    [issue] = caught.value.issues
    assert (Path(issue.file).name, issue.line, issue.path) == (
        "secret.yaml",
        7,
        "instance-secret.acll",
    )
    assert issue.hint == "did you mean 'acl'?"


def test_a_compute_both_alone_and_in_a_bundle_is_an_error(tmp_path: Path) -> None:
    manifests = folder(
        tmp_path, compute=COMPUTE, bundle=bundle_with_service().replace("gpu-lab", "spark")
    )
    with pytest.raises(ManifestError) as caught:
        desired_from_files([manifests], recursive=True)
    [issue] = caught.value.issues
    assert (Path(issue.file).name, issue.line, issue.path) == ("compute.yaml", 1, "name")
    assert issue.message == "compute 'spark' is defined twice"
    assert issue.hint == f"first defined at {tmp_path / 'bundle.yaml'}:10"


def test_a_missing_folder_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="no such file or directory"):
        desired_from_files([tmp_path / "nope"], recursive=True)


def test_the_builtin_computes_are_the_registry_ones_and_poros_shares_them() -> None:
    from dataos_defs.poros import BUILTIN_RESOURCES as POROS_BUILTINS

    assert POROS_BUILTINS is BUILTIN_RESOURCES
    added = with_builtin_computes([compute("spark")])
    assert [c.name for c in added] == ["query-default", "runnable-default", "spark"]
    assert {c.name for c in added} - {"spark"} == BUILTIN_RESOURCES["compute"]
    assert [c.compute.purpose for c in added] == ["query", "runnable", "runnable"]
