"""``dataos-ctl lint``: validate manifests offline; exit 1 on any problem."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from dataos_defs.cli.output import console, fail


def lint(
    files: Annotated[list[Path], typer.Option("-f", "--manifestFile", help="file or folder")],
    recursive: Annotated[
        bool,
        typer.Option("-R", "--recursive", help="also read the folders inside the folders given"),
    ] = False,
    output: Annotated[str, typer.Option("-o", "--output", help="text or json")] = "text",
    disable_interpolation: Annotated[
        bool, typer.Option("--disable-interpolation", help="leave ${...} references as they are")
    ] = False,
) -> None:
    """Check manifests without a server: shape, names, crons, UDLs, job graphs, writers."""
    if output not in ("text", "json"):
        fail(f"unknown output format '{output}'", "one of: text, json")
    from dataos_defs.manifest.dereference import dereference
    from dataos_defs.manifest.errors import ManifestError
    from dataos_defs.manifest.loader import collect_documents
    from dataos_defs.manifest.validate import parse_documents

    documents, issues = collect_documents(
        files, recursive=recursive, interpolation=not disable_interpolation
    )
    count = len(documents)
    issues.extend(dereference(documents))
    try:
        parse_documents(documents)
    except ManifestError as exc:
        issues.extend(exc.issues)
    issues = sorted(set(issues))
    if output == "json":
        body = {"valid": not issues, "documents": count, "issues": [i.to_dict() for i in issues]}
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
    else:
        for issue in issues:
            console.print(str(issue), markup=False)
        verdict = "ok" if not issues else f"{len(issues)} problem{'s' if len(issues) != 1 else ''}"
        console.print(f"{count} manifest{'s' if count != 1 else ''} checked: {verdict}")
    if issues:
        raise typer.Exit(1)
