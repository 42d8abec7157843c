"""Running a CLI verb against the API: one client, errors turned into clear exits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

from dataos_defs.cli.output import err_console, fail, print_issues

if TYPE_CHECKING:
    from dataos_defs.api.client import DataosClient

LOGIN_HINT = (
    "run 'dataos-ctl login' with a valid API key, or set DATAOS_API_KEY "
    "(a new installation writes the operator's key to $DATAOS_HOME/credentials)"
)


@contextmanager
def api_session(url: str | None = None, api_key: str | None = None) -> Iterator[DataosClient]:
    """Yield a client; unreachable server, missing credentials and API errors end the
    command with exit 1. The HTTP client is imported here, when a verb runs, not when
    ``--help`` or a Tab completion loads the CLI."""
    from dataos_defs.api.client import ApiFailure, ApiUnavailable, CredentialsError, DataosClient

    try:
        with DataosClient(url, api_key=api_key) as client:
            yield client
    except ApiUnavailable as exc:
        fail(str(exc))
    except CredentialsError as exc:
        fail(exc.message, exc.hint)
    except ApiFailure as exc:
        if exc.status == 401:
            fail(exc.error.get("message", str(exc)), LOGIN_HINT)
        if exc.issues:
            count = print_issues(exc.issues)
            err_console.print(f"{count} problem{'s' if count != 1 else ''}; nothing was changed")
            raise typer.Exit(1) from exc
        fail(exc.error.get("message", str(exc)), exc.error.get("hint"))
