"""``dataos-ctl login``: check an API key against the server, then save it for later calls."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from dataos_defs.cli.output import console, err_console
from dataos_defs.cli.session import api_session


def login(
    api_key: Annotated[
        str | None,
        typer.Option("--api-key", "-k", help="default: DATAOS_API_KEY, else asked for"),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option("--url", help="API URL; default: DATAOS_API_URL, the saved URL, or local"),
    ] = None,
) -> None:
    """Verify an API key, then write it with the URL to $DATAOS_HOME/credentials (mode 0600).

    Typing the key at the prompt keeps it out of the shell history and the process list.
    """
    from dataos_defs.api.client import DEFAULT_API_URL, api_url
    from dataos_defs.heimdall.contexts import context_path, selected_name
    from dataos_defs.heimdall.credentials import (
        API_KEY_ENV,
        API_URL_ENV,
        Credentials,
        CredentialsError,
        write_credentials,
    )

    key = api_key or os.environ.get(API_KEY_ENV) or typer.prompt("API key", hide_input=True)
    key = key.strip()
    if url is None:
        try:
            url = api_url()
        except CredentialsError as exc:
            err_console.print(f"ignoring the saved credentials: {exc.message}", markup=False)
            url = os.environ.get(API_URL_ENV) or DEFAULT_API_URL
    with api_session(url, key) as client:
        me = client.whoami()
        url = client.base_url
    path = context_path(selected_name())
    write_credentials(path, Credentials(url, key, me["id"]))
    console.print(f"logged in to {url} as {me['id']}; credentials saved in {path}", markup=False)
