"""``apply -r``: re-run the applied workflows once they are deployed, changed or not.

Each is a new run of its current revision, asked of the server exactly as
``runtime re-run`` asks (``POST .../runtime/workflow/<name>/re-run``), so it is authorized as
``runtime run``. A workflow without a schedule that the apply created or changed is left
alone: the server runs such a workflow once on apply already, and a second run would
duplicate its writes. Services and Workers are not re-run (their replicas are replaced only
by a changed manifest, which the apply itself rolls out): that is said, not hidden.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dataos_defs.cli.output import console, err_console
from dataos_defs.manifest.workflow import runs_once_when_applied

if TYPE_CHECKING:
    from dataos_defs.api.client import DataosClient

WORKLOADS = ("service", "worker")


def rerun_applied(
    client: DataosClient, results: list[dict[str, Any]], manifests: list[dict[str, Any]]
) -> None:
    """Re-run every applied workflow (see the module docstring); an API refusal ends the
    command (exit 1) with the server's message."""
    once = {
        m.get("name")
        for m in manifests
        if m.get("type") == "workflow" and runs_once_when_applied(m)
    }
    for result in results:
        where = f"({result['workspace']})" if result["workspace"] else ""
        ident = f"{result['name']}:{result['version']}:{result['type']}"
        if result["type"] in WORKLOADS:
            err_console.print(
                f"re-run{where} {ident}...skipped: a {result['type']} is replaced only when a "
                "changed manifest is applied",
                markup=False,
            )
        elif result["type"] != "workflow":
            continue
        elif result["name"] in once and result["action"] in ("created", "updated"):
            console.print(f"re-run{where} {ident}...run by the apply (no schedule)", markup=False)
        else:
            started = client.runtime_action(result["name"], "re-run", result["workspace"])
            console.print(f"re-run{where} {ident}...{started['run_id']}", markup=False)
