"""The monitor scheduler's identity: how Dagster's monitor jobs ask the API server to evaluate.

Each Monitor's schedule runs a Dagster job whose op calls
``POST /monitor/api/v1/monitors/{workspace}/{name}/evaluate``. The op authenticates as the
application user ``monitor-scheduler`` with an API key that the API server creates when it
starts and writes to ``<DATAOS_HOME>/monitor/scheduler.credentials`` (mode 0600, refused when
others may read it; ``monitor`` is a state folder no depot may reach). On Kubernetes the same
file is mounted from a Secret into the code location.

What that key allows is only that route, and only to ask for an evaluation now: the
evaluation always acts as the monitor's owner as the store recorded it, never as the caller
nor as anything the request says. One key is live at a time; a start that finds the file
and its key valid keeps them, otherwise it revokes the user's other keys and writes a new one
(under a file lock, so the workers of one server agree).
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from dataos_defs.heimdall.credentials import (
    Credentials,
    CredentialsError,
    read_credentials,
    write_credentials,
)
from dataos_defs.poros.identities import Identities, UserExists

SCHEDULER_USER_ID = "monitor-scheduler"
SCHEDULER_TAG = "roles:id:monitor-scheduler"
STATE_FOLDER = "monitor"
CREDENTIALS_NAME = "scheduler.credentials"
KEY_NAME = "monitor-scheduler"
log = logging.getLogger(__name__)


def credentials_file(home: Path) -> Path:
    return home / STATE_FOLDER / CREDENTIALS_NAME


def is_scheduler(user_id: str, tags: tuple[str, ...]) -> bool:
    """The scheduler's identity: its user id and the tag only the server gives it."""
    return user_id == SCHEDULER_USER_ID and SCHEDULER_TAG in tags


def ensure_scheduler(identities: Identities, home: Path, api_url: str) -> None:
    """The scheduler user and one valid key in its credentials file (see the module docstring)."""
    path = credentials_file(home)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _locked(path.with_suffix(".lock")):
        if _valid(identities, path, api_url):
            return
        user = identities.get_user(SCHEDULER_USER_ID)
        if user is None:
            with suppress(UserExists):
                identities.create_user(
                    SCHEDULER_USER_ID,
                    "application",
                    "Monitor scheduler",
                    tags=[SCHEDULER_TAG],
                    actor="monitor",
                )
        elif user.type != "application" or SCHEDULER_TAG not in user.tags:
            log.error(
                "user '%s' exists but is not the monitor scheduler; monitors will not run on "
                "schedule until an operator deletes it",
                SCHEDULER_USER_ID,
            )
            return
        for key in identities.list_api_keys(SCHEDULER_USER_ID):
            if key.revoked_at is None:
                identities.revoke_api_key(SCHEDULER_USER_ID, key.key_id)
        created = identities.create_api_key(SCHEDULER_USER_ID, KEY_NAME, actor="monitor")
        write_credentials(path, Credentials(api_url, created.key, SCHEDULER_USER_ID))


def read_scheduler_credentials(home: Path) -> Credentials:
    """The key the monitor jobs use; raises :class:`CredentialsError` when there is none."""
    path = credentials_file(home)
    found = read_credentials(path)
    if found is None:
        raise CredentialsError(
            f"no monitor scheduler credentials at {path}",
            "start the API server on the same DATAOS_HOME (it writes them)",
        )
    return found


def _valid(identities: Identities, path: Path, api_url: str) -> bool:
    """Whether the file holds a live key of the scheduler (its address is brought up to date)."""
    try:
        found = read_credentials(path)
    except CredentialsError:
        return False
    if found is None:
        return False
    principal = identities.authenticate(found.api_key)
    if principal is None or not is_scheduler(principal.user_id, tuple(principal.tags)):
        return False
    if found.api_url != api_url:
        write_credentials(path, Credentials(api_url, found.api_key, SCHEDULER_USER_ID))
    return True


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
