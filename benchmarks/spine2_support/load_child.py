"""One timed load of a code location, in a fresh process: ``python -m
spine2_support.load_child dataos|handwritten COUNT MODULE_FILE|- [--signature]``.

Prints one JSON line: the load time, and with ``--signature`` a hash of the loaded graph.

The load is what a Dagster code server does when it starts and the webserver asks for the
location: ``LoadedRepositories`` (import the target, resolve lazy Definitions,
``load_all_definitions``: every asset job and the asset graph) and the repository
snapshot the webserver fetches (``RepositorySnap.from_def(..., defer_snapshots=True)``,
serialized). Before the clock starts, both sides import Dagster and load a tiny location
(``hand_location.py``) the same way, so Dagster's own lazy imports and first-use costs
are paid outside the figure and the ratio compares the definitions themselves; both also
import the platform's depot resource and executor, which the hand-written module uses.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from dagster import RepositoryDefinition
from dagster._core.remote_representation.external_data import RepositorySnap
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._grpc.server import LoadedRepositories
from dagster._serdes import serialize_value

DUMP_ENV = "SPINE2_SIGNATURE_FILE"
"""Where to write the full signature (to see how two sides differ)."""


def _signature(repo: RepositoryDefinition) -> dict[str, Any]:
    """Everything the two sides must agree on, in a comparable form."""
    graph = repo.asset_graph
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets_def = node.assets_def if node.is_executable else None
        op = assets_def.node_def if assets_def else None
        assets[key.to_user_string()] = [
            sorted(parent.to_user_string() for parent in node.parent_keys),
            node.group_name,
            sorted(node.tags.items()),
            sorted(node.owners),
            sorted(node.kinds),
            sorted((k, repr(v)) for k, v in node.metadata.items()),
            node.description,
            [op.name, sorted((k, str(v)) for k, v in op.tags.items())] if op else None,
            sorted(assets_def.required_resource_keys) if assets_def else None,
        ]
    jobs = {
        job.name: [
            sorted(k.to_user_string() for k in job.asset_layer.selected_asset_keys),
            sorted(job.tags.items()),
            job.executor_def.name,
        ]
        for job in repo.get_all_jobs()
        if not job.name.startswith("__")
    }
    resources = {
        key: repr(resource.config_schema.default_value)
        for key, resource in sorted(repo.get_top_level_resources().items())
    }
    schedules = {
        s.name: [s.cron_schedule, s.job_name, s.execution_timezone, str(s.default_status)]
        for s in repo.schedule_defs
    }
    schedule_tags = {s.name: [sorted(s.tags.items()), s.description] for s in repo.schedule_defs}
    return {
        "assets": assets,
        "jobs": jobs,
        "schedules": schedules,
        "tags": schedule_tags,
        "resources": resources,
    }


def _load(origin: LoadableTargetOrigin) -> RepositoryDefinition:
    loaded = LoadedRepositories(origin, None, ["dagster"], None)
    (repo,) = loaded.definitions_by_name.values()
    serialize_value(RepositorySnap.from_def(repo, defer_snapshots=True))
    return repo


def main(argv: list[str]) -> None:
    warmup = Path(__file__).resolve().parent / "hand_location.py"
    _load(LoadableTargetOrigin(executable_path=sys.executable, python_file=str(warmup)))
    import dataos_defs.location.definitions  # noqa: F401  (the resource class and executor of both)

    side, count = argv[0], int(argv[1])
    validate_s = 0.0
    if side == "dataos":
        from spine2_support import compiled_location

        start = time.perf_counter()
        compiled_location.prepare(count)
        validate_s = time.perf_counter() - start
        origin = LoadableTargetOrigin(
            executable_path=sys.executable,
            module_name="spine2_support.compiled_location",
            attribute="defs",
        )
    else:
        path = Path(argv[2])
        origin = LoadableTargetOrigin(
            executable_path=sys.executable,
            python_file=str(path),
            attribute="defs",
            working_directory=str(path.parent),
        )
    start = time.perf_counter()
    repo = _load(origin)
    seconds = time.perf_counter() - start
    result: dict[str, Any] = {
        "seconds": seconds,
        "validate_seconds": validate_s,
        "assets": len(repo.asset_graph.get_all_asset_keys()),
        "jobs": len([j for j in repo.get_all_jobs() if not j.name.startswith("__")]),
    }
    if "--signature" in argv:
        signature = json.dumps(_signature(repo), sort_keys=True)
        result["signature"] = hashlib.sha256(signature.encode()).hexdigest()
        if os.environ.get(DUMP_ENV):
            Path(os.environ[DUMP_ENV]).write_text(signature)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
