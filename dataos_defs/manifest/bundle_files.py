"""Inline the manifests a bundle names by ``file``, so the server receives one document.

``bundle.resources[].file`` names another manifest file, relative to the bundle's own
folder first, then to the working directory (as workflow job files are found). The file
is read, interpolated like the others, its own job ``file`` references inlined, and
validated on its own, so that its problems are reported at its own ``file:line``. Once
valid it replaces the ``file`` key by ``spec``; every key of it is then positioned at the
``file:`` line of the bundle (what the server reports is found from there).
"""

from __future__ import annotations

from pathlib import Path

from dataos_defs.manifest.dereference import dereference
from dataos_defs.manifest.errors import Issue
from dataos_defs.manifest.loader import Document, collect_documents
from dataos_defs.manifest.source import KeyPath
from dataos_defs.manifest.validate import parse_document


def inline_member_files(documents: list[Document], interpolation: bool = True) -> list[Issue]:
    """Replace every bundle resource's ``file`` by the ``spec`` it holds, in place."""
    issues: list[Issue] = []
    for document in documents:
        data = document.data
        if not isinstance(data, dict) or data.get("type") != "bundle":
            continue
        section = data.get("bundle")
        members = section.get("resources") if isinstance(section, dict) else None
        if not isinstance(members, list):
            continue
        for index, member in enumerate(members):
            if isinstance(member, dict) and isinstance(member.get("file"), str):
                if "spec" in member:
                    continue  # both given: the model reports it
                issues.extend(_inline(document, index, member, interpolation))
    return issues


def _inline(
    document: Document, index: int, member: dict[str, object], interpolation: bool
) -> list[Issue]:
    at: KeyPath = ("bundle", "resources", index, "file")
    reference = str(member["file"])
    folder = Path(document.file).parent
    target = next((p for p in (folder / reference, Path(reference)) if p.is_file()), None)
    if target is None:
        return [
            document.source.issue(
                at,
                f"resource file '{reference}' not found",
                f"looked in {folder} and the working directory",
            )
        ]
    found, issues = collect_documents([target], interpolation=interpolation)
    if issues:
        return issues
    if len(found) != 1 or not isinstance(found[0].data, dict):
        return [
            document.source.issue(
                at,
                f"resource file '{reference}' must hold exactly one manifest",
                f"{target} holds {len(found)} documents",
            )
        ]
    inner = found[0]
    issues = dereference([inner])
    if not issues:
        _, issues = parse_document(inner)
    if issues:
        return issues
    line = document.source.locate(at)
    del member["file"]
    member["spec"] = inner.data
    prefix: KeyPath = ("bundle", "resources", index, "spec")
    for path in [(), *inner.source.positions]:
        document.source.positions[prefix + path] = line
    return []
