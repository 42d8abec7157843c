"""``dataos-ctl apply``: validate locally, then apply the whole set through the API.

The server answers once the set is committed and reconciles Dagster in the background; with
``--wait`` the command follows that reconciliation (:mod:`dataos_defs.cli.waiting`) and exits
non-zero unless every applied workflow it deploys ends ``active``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dataos_defs.cli.manifests import read_manifests, wire_documents
from dataos_defs.cli.output import console, err_console, fail
from dataos_defs.cli.session import api_session

if TYPE_CHECKING:
    from dataos_defs.api.client import DataosClient

DEFAULT_TIMEOUT_S = 900.0


def apply(
    files: Annotated[list[Path], typer.Option("-f", "--manifestFile", help="file or folder")],
    workspace: Annotated[
        str | None,
        typer.Option(
            "-w", "--workspace", help="workspace of workspace-level Resources without one"
        ),
    ] = None,
    lint_only: Annotated[bool, typer.Option("-l", "--lint", help="check, do not apply")] = False,
    recursive: Annotated[
        bool,
        typer.Option("-R", "--recursive", help="also read the folders inside the folders given"),
    ] = False,
    de_ref: Annotated[
        bool, typer.Option("-d", "--de-ref", help="print the de-referenced manifests, do not apply")
    ] = False,
    disable_interpolation: Annotated[
        bool, typer.Option("--disable-interpolation", help="leave ${...} references as they are")
    ] = False,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait",
            help="wait until Dagster has deployed the applied workflows (each active or "
            "error), showing progress; exit 1 unless all are active",
        ),
    ] = False,
    timeout: Annotated[
        float,
        typer.Option("--timeout", min=1, help="with --wait or -r: give up after this many seconds"),
    ] = DEFAULT_TIMEOUT_S,
    re_run: Annotated[
        bool,
        typer.Option(
            "-r",
            "--re-run",
            help="then run each applied workflow again, changed or not, once deployed "
            "(waits like --wait); services and workers are not re-run",
        ),
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="a bundle re-applied without some of its members deletes them even when "
            "other Resources use them",
        ),
    ] = False,
) -> None:
    """Create or update Resources; all manifests land together or none does.

    Prints 'applying(WORKSPACE) name:version:type...created|updated|unchanged' per
    Resource on stdout, then 'apply...complete' on stderr. Unlike DataOS, which applies
    manifests one by one, one invalid manifest changes nothing. A Bundle's members are
    applied by the server in dependency order: their progress is printed as it happens,
    within --timeout, and the exit code is 1 unless the bundle ends active.

    With -r each applied workflow then runs again (a new run of its current revision,
    authorized as 'runtime run'), once Dagster has deployed it; a workflow without a
    schedule that the apply created or changed is run by the apply itself, not twice.
    Unlike DataOS, -r re-runs no service or worker (a changed manifest replaces them).

    Examples: dataos-ctl apply -f flows/ -R; dataos-ctl apply -f daily.yaml -r -w public"""
    if re_run and (lint_only or de_ref):
        fail("-r/--re-run runs what was applied; -l/--lint and -d/--de-ref apply nothing")
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
        # No read timeout unless --wait bounds the command: a big set takes a while to commit.
        started = time.monotonic()
        response = client.apply(
            wire_documents(documents),
            workspace,
            dry_run=lint_only,
            timeout=timeout if wait or re_run else None,
            force=force,
        )
        for result in response["results"]:
            where = f"({result['workspace']})" if result["workspace"] else ""
            ident = f"{result['name']}:{result['version']}:{result['type']}"
            outcome = "valid" if lint_only else result["action"]
            console.print(f"applying{where} {ident}...{outcome}", markup=False)
        if (wait or re_run) and not lint_only:
            _wait(client, response, timeout, timeout - (time.monotonic() - started))
        if re_run:
            from dataos_defs.cli.rerun import rerun_applied

            rerun_applied(client, response["results"], [d.data for d in documents])
        bundles = {r["name"]: r["action"] for r in response["results"] if r["type"] == "bundle"}
        if bundles and not lint_only:
            _follow(client, bundles, timeout - (time.monotonic() - started))
    err_console.print(f"{'lint' if lint_only else 'apply'}...complete", markup=False)


def _wait(client: DataosClient, response: dict[str, Any], timeout: float, left: float) -> None:
    from dataos_defs.cli import waiting

    keys = [(p["name"], p["workspace"]) for p in response.get("pending") or []]
    if not keys:
        return
    if not response.get("reconciling"):
        fail(
            f"{len(keys)} workflow(s) stay pending: the API server deploys nothing to Dagster "
            "(it has no DAGSTER_WEBSERVER_URL)",
            "start the platform with 'make up', which runs Dagster and configures the server",
        )
    versions = {
        (r["name"], r["workspace"]): r["version"]
        for r in response["results"]
        if r["type"] == "workflow"
    }
    try:
        waited = waiting.wait_for(client, keys, max(left, 0.0), waiting.stderr_display())
    except KeyboardInterrupt:
        fail("stopped waiting; the server keeps reconciling in the background", code=130)
    if not waiting.report(waited, versions, timeout, console, err_console):
        raise typer.Exit(1)


def _follow(client: DataosClient, bundles: dict[str, str], left: float) -> None:
    """Bundles are applied in the background: print their members' progress until done."""
    from dataos_defs.cli import waiting

    try:
        done = waiting.follow_bundles(client, bundles, max(left, 0.0), console, err_console)
    except KeyboardInterrupt:
        fail("stopped following; the server keeps applying the bundle in the background", code=130)
    if not done:
        raise typer.Exit(1)
