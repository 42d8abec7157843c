"""``dataos-ctl apply``: validate locally, then apply the whole set through the API."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from dataos_defs.cli.manifests import read_manifests, wire_documents
from dataos_defs.cli.output import console
from dataos_defs.cli.session import api_session


def apply(
    files: Annotated[list[Path], typer.Option("-f", "--manifestFile", help="file or folder")],
    workspace: Annotated[str | None, typer.Option("-w", "--workspace")] = None,
    lint_only: Annotated[bool, typer.Option("-l", "--lint", help="check, do not apply")] = False,
    recursive: Annotated[bool, typer.Option("-R", "--recursive")] = False,
    de_ref: Annotated[
        bool, typer.Option("-d", "--de-ref", help="print the de-referenced manifests, do not apply")
    ] = False,
    disable_interpolation: Annotated[bool, typer.Option("--disable-interpolation")] = False,
) -> None:
    """Create or update Resources; all manifests land together or none does."""
    loaded = read_manifests(files, recursive, not disable_interpolation, workspace)
    if loaded is None:
        raise typer.Exit(1)
    documents, _ = loaded
    if de_ref:
        import yaml

        sys.stdout.write(
            yaml.safe_dump_all([d.data for d in documents], sort_keys=False, allow_unicode=True)
        )
        return
    with api_session() as client:
        response = client.apply(wire_documents(documents), workspace, dry_run=lint_only)
    for result in response["results"]:
        where = f"({result['workspace']})" if result["workspace"] else ""
        ident = f"{result['name']}:{result['version']}:{result['type']}"
        outcome = "valid" if lint_only else result["action"]
        console.print(f"applying{where} {ident}...{outcome}", markup=False)
