"""Helpers the compile tests share: manifests from text, compiling, a readable summary.

Imported as ``from compile_helpers import ...`` (pytest puts this folder on ``sys.path``).
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.definitions.dependency import NodeHandle

from dataos_defs.compile import CompileInput, StackExecutor, compile_definitions
from dataos_defs.compile.definitions import DepotResourceFactory
from dataos_defs.manifest.base import ResourceBase
from dataos_defs.manifest.loader import load_documents, parse_yaml
from dataos_defs.manifest.validate import parse_document, parse_documents

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = ROOT / "resources"


def model(text: str) -> ResourceBase:
    """The valid Resource written in ``text`` (dedented)."""
    documents, problems = parse_yaml(textwrap.dedent(text), "m.yaml")
    assert not problems and len(documents) == 1
    parsed, issues = parse_document(documents[0])
    assert parsed is not None and not issues, [str(i) for i in issues]
    return parsed.model


def example_inputs() -> list[CompileInput]:
    """The example data product of ``resources/``, as Poros hands it over (with who applied
    and whom its runs act as)."""
    parsed = parse_documents(load_documents([RESOURCES]))
    return [CompileInput(p.model, p.workspace(None), "shop-team", "shop-team") for p in parsed]


def compile_texts(
    *texts: str,
    executors: Mapping[str, StackExecutor] | None = None,
    workspace: str | None = None,
    owner: str | None = None,
    depot_resource: DepotResourceFactory | None = None,
    run_as: str | None = None,
) -> dg.Definitions:
    inputs = [CompileInput(model(t), workspace, owner, run_as) for t in texts]
    return compile_definitions(inputs, executors or {}, depot_resource=depot_resource)


def _plain(value: Any) -> Any:
    """Metadata values as JSON (Dagster wraps lists and dicts in ``JsonMetadataValue``)."""
    return getattr(value, "value", value)


def summarize(defs: dg.Definitions) -> dict[str, Any]:
    """What the snapshot pins: assets, checks, jobs, schedules and op tags, sorted."""
    repo = defs.get_repository_def()
    graph = repo.asset_graph
    assets: dict[str, Any] = {}
    for spec in sorted(defs.resolve_all_asset_specs(), key=lambda s: s.key.to_user_string()):
        node = graph.get(spec.key)
        assets[spec.key.to_user_string()] = {
            "group": spec.group_name,
            "deps": sorted(d.asset_key.to_user_string() for d in spec.deps),
            "kinds": sorted(spec.kinds),
            "owners": list(spec.owners),
            "tags": dict(sorted(spec.tags.items())),
            "description": spec.description,
            "metadata": {k: _plain(v) for k, v in sorted(spec.metadata.items())},
            "executable": node.is_executable,
            "checks": sorted(k.name for k in node.check_keys),
        }
    checks = {}
    for key in sorted(graph.asset_check_keys, key=lambda k: k.to_user_string()):
        check = graph.get_check_spec(key)
        checks[key.to_user_string()] = {
            "description": check.description,
            "metadata": {k: _plain(v) for k, v in sorted(check.metadata.items())},
        }
    ops = {}
    for assets_def in graph.assets_defs:
        if assets_def.is_executable:
            op = assets_def.op
            ops[op.name] = {
                "tags": {k: op.tags[k] for k in sorted(op.tags)},
                "retry": None
                if op.retry_policy is None
                else {"max_retries": op.retry_policy.max_retries, "delay": op.retry_policy.delay},
                "resources": sorted(assets_def.required_resource_keys - {"io_manager"}),
            }
    jobs = {}
    for job in sorted(repo.get_all_jobs(), key=lambda j: j.name):
        if job.name.startswith("__"):
            continue
        layer = job.asset_layer
        entities = {
            key
            for node in job.graph.nodes
            for key in layer.get_selected_entity_keys_for_node(NodeHandle(node.name, None))
        }
        jobs[job.name] = {
            "assets": sorted(k.to_user_string() for k in layer.selected_asset_keys),
            "checks": sorted(
                k.to_user_string() for k in entities if isinstance(k, dg.AssetCheckKey)
            ),
            "tags": dict(sorted(job.tags.items())),
        }
    schedules = {
        s.name: {
            "cron": s.cron_schedule,
            "timezone": s.execution_timezone,
            "job": s.job_name,
            "default_status": s.default_status.value,
        }
        for s in sorted(repo.schedule_defs, key=lambda s: s.name)
    }
    resources = {
        key: resource.config_schema.default_value
        for key, resource in sorted(repo.get_top_level_resources().items())
    }
    return {
        "assets": assets,
        "checks": checks,
        "ops": dict(sorted(ops.items())),
        "jobs": jobs,
        "schedules": schedules,
        "resources": resources,
    }


def summary_json(defs: dg.Definitions) -> str:
    return json.dumps(summarize(defs), indent=2, sort_keys=False, default=str) + "\n"
