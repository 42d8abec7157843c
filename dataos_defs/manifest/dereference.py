"""Inline the files a manifest refers to, so the server receives self-contained manifests.

A workflow job may say ``file: path/to/job.yaml`` instead of ``spec:``. The file holds
either a job (a mapping with ``spec``), a bare job spec (a mapping with ``stack``), or a
whole workflow manifest with exactly one job. Paths are tried relative to the manifest's
own folder first, then to the working directory (as DataOS docs write them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dataos_defs.manifest.errors import Issue
from dataos_defs.manifest.loader import Document, parse_yaml


def dereference(documents: list[Document]) -> list[Issue]:
    """Replace every workflow job's ``file`` by the ``spec`` it points to, in place."""
    issues: list[Issue] = []
    for document in documents:
        data = document.data
        if not isinstance(data, dict) or data.get("type") != "workflow":
            continue
        dag = (
            (data.get("workflow") or {}).get("dag")
            if isinstance(data.get("workflow"), dict)
            else None
        )
        if not isinstance(dag, list):
            continue
        for index, job in enumerate(dag):
            if isinstance(job, dict) and isinstance(job.get("file"), str) and "spec" not in job:
                path = ("workflow", "dag", index, "file")
                spec, problem = _job_spec(Path(document.file).parent, job["file"])
                if problem:
                    issues.append(document.source.issue(path, problem[0], problem[1]))
                    continue
                job.pop("file")
                job["spec"] = spec
    return issues


def _job_spec(folder: Path, reference: str) -> tuple[Any, tuple[str, str] | None]:
    candidates = [folder / reference, Path(reference)]
    target = next((c for c in candidates if c.is_file()), None)
    if target is None:
        return None, (
            f"job file '{reference}' not found",
            f"looked in {folder or '.'} and the working directory",
        )
    documents, issues = parse_yaml(target.read_text(encoding="utf-8"), str(target))
    if issues or len(documents) != 1 or not isinstance(documents[0].data, dict):
        return None, (f"job file '{reference}' is not one YAML mapping", f"check {target}")
    content = documents[0].data
    if "stack" in content:
        return content, None
    if isinstance(content.get("spec"), dict):
        return content["spec"], None
    jobs = (
        (content.get("workflow") or {}).get("dag")
        if isinstance(content.get("workflow"), dict)
        else None
    )
    if (
        isinstance(jobs, list)
        and len(jobs) == 1
        and isinstance(jobs[0], dict)
        and "spec" in jobs[0]
    ):
        return jobs[0]["spec"], None
    return None, (
        f"job file '{reference}' holds no job spec",
        "it must contain a job with 'spec', a spec with 'stack', or a one-job workflow",
    )
