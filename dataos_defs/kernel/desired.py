"""The part of the platform's desired state the cloud kernel builds on, read from manifests.

Manifests are read and validated exactly as ``dataos-ctl apply -f`` reads them (loader,
job-file dereferencing, the Resource union, the rules across the set), so a broken manifest
anywhere in the folder is an error even when its type means nothing to the kernel.
Only Computes (node pools), Services (ingress) and workspaces are kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from dataos_defs.manifest.base import DEFAULT_WORKSPACE, ResourceBase
from dataos_defs.manifest.bundle import Bundle
from dataos_defs.manifest.compute import Compute
from dataos_defs.manifest.dereference import dereference
from dataos_defs.manifest.errors import Issue, ManifestError
from dataos_defs.manifest.loader import load_documents
from dataos_defs.manifest.registry import resource_adapter
from dataos_defs.manifest.service import Service
from dataos_defs.manifest.source import KeyPath
from dataos_defs.manifest.validate import ParsedResource, parse_documents


@dataclass(frozen=True)
class DesiredState:
    """Computes by name, Services by (workspace, name), workspaces by name: all sorted."""

    computes: tuple[Compute, ...]
    services: tuple[tuple[str, Service], ...]
    workspaces: tuple[str, ...]


@dataclass(frozen=True)
class _Found:
    """A Resource with the workspace it lives in and where it is written (for errors)."""

    model: ResourceBase
    workspace: str | None
    parsed: ParsedResource
    path: KeyPath


def desired_from_files(
    paths: Iterable[str | Path], recursive: bool, workspace: str = DEFAULT_WORKSPACE
) -> DesiredState:
    """The desired state in the manifests under ``paths``.

    ``workspace`` is where workspace-level Resources that name none live (``-w``).
    Raises :class:`ManifestError` with every problem, positioned, when a manifest is invalid.
    """
    documents = load_documents(paths, recursive=recursive)
    problems = dereference(documents)
    if problems:
        raise ManifestError(problems)
    return desired_from_parsed(parse_documents(documents), workspace)


def desired_from_parsed(
    resources: Sequence[ParsedResource], workspace: str = DEFAULT_WORKSPACE
) -> DesiredState:
    """The desired state of already validated Resources (from files or from the store).

    Resources written inline in a Bundle (``bundle.resources[].spec``) count like the
    others; those a Bundle names by ``file`` are read when the Bundle is applied, not here.
    Workspaces are those a workspace-level Resource lives in plus those Bundles declare.
    """
    found = list(_everything(resources, workspace))
    _refuse_duplicates(found)
    computes = [item.model for item in found if isinstance(item.model, Compute)]
    services = [
        (item.workspace or workspace, item.model)
        for item in found
        if isinstance(item.model, Service)
    ]
    spaces = {item.workspace for item in found if item.workspace is not None}
    spaces.update(_bundle_workspaces(resources))
    return DesiredState(
        computes=tuple(sorted(computes, key=lambda compute: compute.name)),
        services=tuple(sorted(services, key=lambda pair: (pair[0], pair[1].name))),
        workspaces=tuple(sorted(spaces)),
    )


def _everything(resources: Sequence[ParsedResource], default: str) -> Iterator[_Found]:
    """Every Resource, those written inline in Bundles included, with its workspace."""
    for resource in resources:
        yield _Found(resource.model, _workspace_of(resource.model, None, default), resource, ())
        if isinstance(resource.model, Bundle):
            yield from _inline(resource, resource.model, default)


def _inline(resource: ParsedResource, bundle: Bundle, default: str) -> Iterator[_Found]:
    for index, item in enumerate(bundle.bundle.resources):
        if item.spec is None:
            continue
        # parse_documents validated every inline manifest already: this cannot fail
        model: ResourceBase = resource_adapter().validate_python(item.spec)
        path: KeyPath = ("bundle", "resources", index, "spec")
        yield _Found(model, _workspace_of(model, item.workspace, default), resource, path)


def _workspace_of(model: ResourceBase, bundle_says: str | None, default: str) -> str | None:
    if model.LEVEL != "workspace":
        return None
    return bundle_says or model.workspace or default


def _bundle_workspaces(resources: Sequence[ParsedResource]) -> Iterator[str]:
    for resource in resources:
        if isinstance(resource.model, Bundle):
            for declared in resource.model.bundle.workspaces or []:
                yield declared.name


def _refuse_duplicates(found: Sequence[_Found]) -> None:
    """A Compute or Service defined both on its own and inside a Bundle (or in two Bundles):
    the kernel could not tell which node pool or ingress is meant."""
    first: dict[tuple[str, str | None, str], _Found] = {}
    issues: list[Issue] = []
    for item in found:
        if not isinstance(item.model, Compute | Service):
            continue
        key = (item.model.KIND, item.workspace, item.model.name)
        seen = first.setdefault(key, item)
        if seen is not item:
            issues.append(
                item.parsed.issue(
                    (*item.path, "name"),
                    f"{item.model.KIND} '{item.model.name}' is defined twice",
                    f"first defined at {_where(seen)}",
                )
            )
    if issues:
        raise ManifestError(issues)


def _where(item: _Found) -> str:
    line, _ = item.parsed.document.source.locate((*item.path, "name"))
    return f"{item.parsed.document.file}:{line}"
