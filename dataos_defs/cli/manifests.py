"""Reading manifests from disk for ``apply`` and ``lint``: load, interpolate, inline, validate."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from dataos_defs.cli.output import err_console, print_issues

if TYPE_CHECKING:
    from dataos_defs.manifest.loader import Document
    from dataos_defs.manifest.validate import ParsedResource


def read_manifests(
    paths: list[Path], recursive: bool, interpolation: bool, workspace: str | None
) -> tuple[list[Document], list[ParsedResource]] | None:
    """Documents and their validated Resources, or ``None`` after printing every issue."""
    from dataos_defs.manifest.bundle_files import inline_member_files
    from dataos_defs.manifest.dereference import dereference
    from dataos_defs.manifest.errors import ManifestError
    from dataos_defs.manifest.loader import load_documents
    from dataos_defs.manifest.validate import parse_documents

    try:
        documents = load_documents(paths, recursive=recursive, interpolation=interpolation)
        problems = dereference(documents)
        problems.extend(inline_member_files(documents, interpolation))
        if problems:
            raise ManifestError(problems)
        return documents, parse_documents(documents, workspace)
    except ManifestError as exc:
        report_issues([issue.to_dict() for issue in exc.issues])
        return None


def report_issues(issues: list[dict[str, Any]]) -> None:
    count = print_issues(issues)
    err_console.print(f"{count} problem{'s' if count != 1 else ''} found", markup=False)


def wire_documents(documents: list[Document]) -> list[dict[str, Any]]:
    """The API's document form: manifest plus positions, so server errors keep file:line."""
    return [
        {
            "manifest": doc.data,
            "file": doc.file,
            "index": doc.index,
            "positions": doc.source.to_json(),
        }
        for doc in documents
    ]
