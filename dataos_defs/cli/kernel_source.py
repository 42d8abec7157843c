"""The kernel model for ``dataos-ctl kernel``: settings + desired state, problems reported.

The desired state comes from manifests on disk (read as ``apply -f`` reads them) or from the
running platform: the Compute, Service and Bundle Resources the API lists, each fetched with
its stored manifest and validated into the same typed models, plus every workspace. Every
problem ends the command with exit 1 before anything is written, positioned as ``lint``
prints it (``FILE:LINE:COL: path: message (hint)``); a manifest read from the API is named
``api:TYPE/WORKSPACE/NAME``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import typer

from dataos_defs.cli.manifests import report_issues
from dataos_defs.cli.output import fail
from dataos_defs.cli.session import api_session

if TYPE_CHECKING:
    from dataos_defs.api.client import DataosClient
    from dataos_defs.kernel.desired import DesiredState
    from dataos_defs.kernel.model import Cloud, KernelModel
    from dataos_defs.manifest.loader import Document

# The Resource types the kernel builds on; a Bundle may hold Computes and Services inline.
KERNEL_TYPES = ("compute", "service", "bundle")


def default_outdir(cloud: str) -> Path:
    """``$DATAOS_HOME/kernel/CLOUD``: next to the platform's other local state."""
    from dataos_defs.heimdall.credentials import home_dir

    return home_dir() / "kernel" / cloud


def kernel_model(
    cloud: str,
    settings: Path,
    files: list[Path] | None,
    recursive: bool,
    workspace: str | None,
) -> KernelModel:
    """The model for ``cloud``; settings and manifests are both checked, so that one run
    reports the problems of each."""
    from dataos_defs.kernel.errors import KernelError
    from dataos_defs.kernel.load import load_settings
    from dataos_defs.kernel.mapping import build_model
    from dataos_defs.manifest.errors import ManifestError

    issues: list[Any] = []
    try:
        loaded = load_settings(settings)
    except ManifestError as exc:
        issues.extend(exc.issues)
    try:
        desired = _desired(files, recursive, workspace)
    except ManifestError as exc:
        issues.extend(exc.issues)
    if issues:
        report_issues([issue.to_dict() for issue in sorted(set(issues))])
        raise typer.Exit(1)
    try:
        return build_model(loaded, cast("Cloud", cloud), desired)
    except KernelError as exc:
        fail(f"{exc.where}: {exc.message}", exc.hint)


def _desired(files: list[Path] | None, recursive: bool, workspace: str | None) -> DesiredState:
    from dataos_defs.kernel.desired import desired_from_files

    if files:
        return desired_from_files(files, recursive, workspace or "public")
    if workspace is not None:
        fail(
            "-w applies to manifests read with -f", "the platform's Resources know their workspace"
        )
    with api_session() as client:
        return desired_from_api(client)


def desired_from_api(client: DataosClient) -> DesiredState:
    """The platform's desired state as the store holds it: every Compute, Service and Bundle
    the caller may read, validated like manifests, and every workspace (an empty one gets
    its namespace too). Raises :class:`ManifestError` when a stored manifest no longer
    validates (e.g. written by an older version)."""
    from dataos_defs.kernel.desired import desired_from_parsed
    from dataos_defs.manifest.validate import parse_documents

    documents = [
        _document(client.get_resource(kind, item["name"], item["workspace"]))
        for kind in KERNEL_TYPES
        for item in client.list_resources(kind, None, None)
    ]
    desired = desired_from_parsed(parse_documents(documents))
    listed = {str(space["name"]) for space in client.list_workspaces()}
    return dataclasses.replace(desired, workspaces=tuple(sorted(listed | set(desired.workspaces))))


def _document(resource: dict[str, Any]) -> Document:
    """A stored Resource as a manifest document; its workspace, which the store keeps beside
    the manifest, is written into it so that the Resource stays where it lives."""
    from dataos_defs.manifest.loader import Document
    from dataos_defs.manifest.source import SourceMap

    manifest = dict(resource["manifest"] or {})
    if resource.get("workspace"):
        manifest["workspace"] = resource["workspace"]
    where = "/".join(
        part for part in (resource["type"], resource.get("workspace"), resource["name"]) if part
    )
    name = f"api:{where}"
    return Document(file=name, index=0, data=manifest, source=SourceMap(name))
