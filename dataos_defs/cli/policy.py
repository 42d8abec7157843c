"""``dataos-ctl policy decisions|eval|test``: look into Heimdall's decisions and policies."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dataos_defs.cli.apps import command_group
from dataos_defs.cli.lists import LIST_HELP, split_commas
from dataos_defs.cli.output import check_format, console, fail, print_data, print_table
from dataos_defs.cli.session import api_session

app = command_group(help="Access policies: decisions, explanations, Rego tests.")
OutputOpt = Annotated[str, typer.Option("-o", "--output", help="table, json or yaml")]


@app.command("decisions")
def decisions(
    since: Annotated[str | None, typer.Option(help="ISO-8601 time, e.g. 2026-11-24T05:00")] = None,
    subject: Annotated[str | None, typer.Option(help="user id or subject tag")] = None,
    limit: Annotated[int, typer.Option(help="newest N")] = 50,
    output: OutputOpt = "table",
) -> None:
    """The decision log: who asked to do what, the answer and the deciding policy."""
    check_format(output)
    with api_session() as client:
        items = client.decisions(since, subject, limit)
    if output != "table":
        print_data(items, output)
        return
    print_table(
        ("TIME", "SUBJECT", "PREDICATE", "OBJECT", "ALLOW", "POLICY", "MS"),
        [
            (
                d["time"],
                d["subject"],
                d["predicate"],
                d["object"],
                d["allow"],
                d.get("policy") or "",
                d["latency_ms"],
            )
            for d in items
        ],
    )


@app.command("eval")
def evaluate(
    predicate: Annotated[
        str, typer.Option("--predicate", "-p", help="the action: read, write, ...")
    ],
    obj: Annotated[str, typer.Option("--object", help="object path (UDL, resource or API path)")],
    user: Annotated[str | None, typer.Option("--user", help="decide for this user id")] = None,
    subject: Annotated[
        list[str] | None,
        typer.Option("--subject", help=f"subject tags: {LIST_HELP}", callback=split_commas),
    ] = None,
    object_tags: Annotated[
        list[str] | None,
        typer.Option("--object-tag", help=f"object tags: {LIST_HELP}", callback=split_commas),
    ] = None,
    output: OutputOpt = "table",
) -> None:
    """Explain a decision: the answer, the deciding policy and every matching policy."""
    check_format(output)
    who = None
    if user or subject:
        who = {"id": user, "tags": list(subject or ())}
    with api_session() as client:
        answer = client.authorize(predicate, obj, list(object_tags or ()), who, explain=True)
    if output != "table":
        print_data(answer, output)
        return
    verdict = "ALLOW" if answer["allow"] else "DENY"
    console.print(f"{verdict}: {answer['subject']} {predicate} {obj}", markup=False)
    console.print(f"reason:   {answer['reason']}", markup=False)
    console.print(f"allowing: {', '.join(answer.get('allowing') or []) or '-'}", markup=False)
    console.print(f"denying:  {', '.join(answer.get('denying') or []) or '-'}", markup=False)


@app.command("test")
def test(
    paths: Annotated[list[Path] | None, typer.Argument(help="files or folders")] = None,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="list every test")] = False,
) -> None:
    """Run the ``test_*`` rules of ``_test.rego`` files (offline, like ``opa test``)."""
    from dataos_defs.heimdall.engine import EngineError
    from dataos_defs.heimdall.pdp import run_rego_tests

    try:
        results = run_rego_tests(paths or [Path("policies")])
    except (EngineError, FileNotFoundError) as exc:
        fail(f"policies do not load: {exc}")
    failed = [r for r in results if not r.passed and not r.skipped]
    for result in results:
        if verbose or (not result.passed and not result.skipped):
            state = "SKIP" if result.skipped else ("PASS" if result.passed else "FAIL")
            detail = f" ({result.error})" if result.error else ""
            console.print(f"{state} {result.rule} [{result.file}]{detail}", markup=False)
    passed = sum(r.passed for r in results)
    skipped = sum(r.skipped for r in results)
    console.print(f"{passed} passed, {len(failed)} failed, {skipped} skipped")
    if failed or not results:
        raise typer.Exit(1)
