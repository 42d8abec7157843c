"""``dataos-ctl init`` and ``context list|select|delete``: one CLI, several instances.

Each context keeps one instance's URL and API key in its own 0600 file under
``$DATAOS_HOME`` (:mod:`dataos_defs.heimdall.contexts`); ``local`` is the embedded server's
own credentials file. Keys are never printed.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from dataos_defs.cli.apps import command_group
from dataos_defs.cli.output import check_format, console, fail, print_data, print_table
from dataos_defs.cli.session import api_session

app = command_group(
    help="Instances this CLI talks to: list, select or delete contexts ('init' creates one)."
)


def init(
    name: Annotated[str, typer.Option("-n", "--name", help="name of the context, e.g. staging")],
    url: Annotated[str, typer.Option("--url", help="the instance's API URL, e.g. https://…")],
    api_key: Annotated[
        str | None,
        typer.Option("--api-key", "-k", help="default: DATAOS_API_KEY, else asked for"),
    ] = None,
) -> None:
    """Create (or replace) a context: verify the API key against the instance, save both in
    a file only you can read, and select the context.

    Example: dataos-ctl init -n staging --url https://dataos.staging.example.com
    """
    from dataos_defs.heimdall.contexts import check_name, context_path, select
    from dataos_defs.heimdall.credentials import (
        API_KEY_ENV,
        Credentials,
        CredentialsError,
        write_credentials,
    )

    try:
        check_name(name)
    except CredentialsError as exc:
        fail(exc.message, exc.hint)
    key = api_key or os.environ.get(API_KEY_ENV) or typer.prompt("API key", hide_input=True)
    with api_session(url, key.strip()) as client:
        me = client.whoami()
        base = client.base_url
    path = context_path(name)
    write_credentials(path, Credentials(base, key.strip(), me["id"]))
    select(name)
    console.print(f"context {name} ({base}, as {me['id']})...created and selected", markup=False)


@app.command("list")
def list_contexts(
    output: Annotated[str, typer.Option("--output", help="table, json or yaml")] = "table",
) -> None:
    """The contexts, the selected one marked with '*' (keys are never shown)."""
    from dataos_defs.heimdall.contexts import list_contexts as contexts
    from dataos_defs.heimdall.credentials import CredentialsError

    check_format(output)
    try:
        found = contexts()
    except CredentialsError as exc:
        fail(exc.message, exc.hint)
    rows = [
        {
            "name": c.name,
            "selected": c.selected,
            "url": c.credentials.api_url if c.credentials else None,
            "user": c.credentials.user_id if c.credentials else None,
            "file": str(c.path),
        }
        for c in found
    ]
    if output != "table":
        print_data(rows, output)
        return
    print_table(
        ("", "NAME", "URL", "USER", "FILE"),
        [
            ("*" if r["selected"] else "", r["name"], r["url"] or "-", r["user"] or "-", r["file"])
            for r in rows
        ],
    )


@app.command("select")
def select_context(
    name: Annotated[str, typer.Option("-n", "--name", help="the context to use from now on")],
) -> None:
    """Use another context for the following commands (DATAOS_CONTEXT overrides it once)."""
    from dataos_defs.heimdall.contexts import select
    from dataos_defs.heimdall.credentials import CredentialsError

    try:
        select(name)
    except CredentialsError as exc:
        fail(exc.message, exc.hint)
    console.print(f"context {name}...selected", markup=False)


@app.command("delete")
def delete_context(
    name: Annotated[str, typer.Option("-n", "--name", help="the context to forget")],
) -> None:
    """Forget a context and its saved key (the instance itself is untouched)."""
    from dataos_defs.heimdall.contexts import delete
    from dataos_defs.heimdall.credentials import CredentialsError

    try:
        existed = delete(name)
    except CredentialsError as exc:
        fail(exc.message, exc.hint)
    console.print(f"context {name}...{'deleted' if existed else 'nothing'}", markup=False)
