"""A Trino coordinator through the official ``trino`` DB-API client.

One connection per statement: the client's connection and cursor are not meant to be
shared between threads, and opening one costs no round trip (the statement's ``POST``
is the first request). Errors of every kind come out as :class:`TrinoClientError` with
Trino's own message and error name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlparse

import requests
import trino
from trino.auth import BasicAuthentication
from trino.exceptions import Error as TrinoError
from trino.exceptions import HttpError, TrinoConnectionError, TrinoQueryError

from dataos_defs.heimdall.trino_data import GATEWAY_PRINCIPALS

DEFAULT_USER = GATEWAY_PRINCIPALS[0]
DEFAULT_SOURCE = "dataos-gateway"


class TrinoClientError(Exception):
    """Trino refused or failed a statement, or could not be reached."""

    def __init__(self, message: str, error_name: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.error_name = error_name


@dataclass(frozen=True)
class Endpoint:
    """Where a coordinator listens, who we are to it, and how patiently we ask."""

    scheme: str
    host: str
    port: int
    user: str = DEFAULT_USER
    password: str | None = field(default=None, repr=False)
    source: str = DEFAULT_SOURCE
    timeout: float = 30.0
    attempts: int = 3

    @classmethod
    def parse(cls, url: str, **options: Any) -> Endpoint:
        """From ``http[s]://[user@]host[:port]``; ``options`` set the other fields."""
        parsed = urlparse(url if "://" in url else f"http://{url}")
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"not a Trino coordinator URL: {url!r} (http[s]://host:port)")
        port = parsed.port or (443 if parsed.scheme == "https" else 8080)
        user = unquote(parsed.username) if parsed.username else DEFAULT_USER
        return cls(parsed.scheme, parsed.hostname, port, user, **options)


@dataclass
class Statement:
    """A running statement: its columns ``(name, Trino type)``, a row fetcher and a closer
    (which cancels the statement on the coordinator if it is still running)."""

    columns: list[tuple[str, str]]
    fetch: Callable[[int], list[tuple[Any, ...]]]
    close: Callable[[], None]


def run(
    endpoint: Endpoint,
    sql: str,
    *,
    session_user: str | None = None,
    register_interrupt: Callable[[Callable[[], None]], None] | None = None,
) -> Statement:
    """Start ``sql`` and wait for its columns; rows are fetched on demand.

    ``session_user`` is the user the statement runs as (``X-Trino-User``): the Gateway's
    caller, so that Trino's access control (the OPA plugin asking Heimdall) applies that
    user's access, masks and row filters. The endpoint's own user stays the authenticated
    principal, which Trino lets impersonate the caller only if its access control allows
    ``ImpersonateUser`` (``policies/trino``: the Gateway's principal only).

    ``register_interrupt`` is handed a function that cancels the statement from another
    thread (the client's ``cancel``: ``DELETE`` of the current ``nextUri``, Trino's
    documented way to end a query), before the statement is sent."""
    password = endpoint.password
    auth = BasicAuthentication(endpoint.user, password) if password else None
    conn = trino.dbapi.connect(
        host=endpoint.host,
        port=endpoint.port,
        http_scheme=endpoint.scheme,
        user=session_user or endpoint.user,
        source=endpoint.source,
        auth=auth or trino.constants.DEFAULT_AUTH,
        request_timeout=endpoint.timeout,
        max_attempts=endpoint.attempts,
        heartbeat_interval=None,
    )
    cursor = conn.cursor()

    def interrupt() -> None:
        with suppress(TrinoError, HttpError, requests.RequestException):
            cursor.cancel()

    if register_interrupt is not None:
        register_interrupt(interrupt)

    def close() -> None:
        try:
            cursor.close()
        except (TrinoError, HttpError, requests.RequestException):
            pass
        finally:
            conn.close()

    def fetch(size: int) -> list[tuple[Any, ...]]:
        with _translated():
            return [tuple(row) for row in cursor.fetchmany(size)]

    try:
        with _translated():
            cursor.execute(sql)
            description = cursor.description or []
    except TrinoClientError:
        close()
        raise
    columns = [(str(d[0]), str(d[1])) for d in description]
    return Statement(columns, fetch, close)


def rows(endpoint: Endpoint, sql: str) -> list[tuple[Any, ...]]:
    """All rows of a small statement (catalog queries)."""
    statement = run(endpoint, sql)
    try:
        found: list[tuple[Any, ...]] = []
        while batch := statement.fetch(1000):
            found.extend(batch)
        return found
    finally:
        statement.close()


@contextmanager
def _translated() -> Iterator[None]:
    """The client's exceptions as :class:`TrinoClientError`."""
    try:
        yield
    except TrinoQueryError as exc:
        raise TrinoClientError(exc.message, exc.error_name) from None
    except TrinoConnectionError as exc:
        raise TrinoClientError(f"cannot reach Trino: {exc}") from None
    except (TrinoError, HttpError) as exc:
        raise TrinoClientError(f"Trino client error: {exc}") from None
    except requests.RequestException as exc:
        raise TrinoClientError(f"cannot reach Trino: {exc}") from None
