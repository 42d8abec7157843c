"""Heimdall's identity service: the bootstrap operator and the built-in users.

A new installation has no user, and without a user nobody can call the API. So on its
first start the server creates the operator ``dataos-operator`` with one API key that
never expires, prints the key once on its stderr and writes it to the credentials file,
where ``dataos-ctl`` finds it. Later starts find a user and do nothing. The key appears
nowhere else: not in the store (only its digest), not in any log the server writes.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from dataos_defs.heimdall.credentials import Credentials, credentials_path, write_credentials
from dataos_defs.poros.identities import Identities, NewApiKey

OPERATOR_ID = "dataos-operator"
OPERATOR_NAME = "DataOS operator"
OPERATOR_TAGS = (f"users:id:{OPERATOR_ID}", "roles:id:operator", "roles:id:system-dev")
BOOTSTRAP_KEY_NAME = "bootstrap"
# Deleting the operator could leave an installation nobody can administer.
PROTECTED_USERS = frozenset({OPERATOR_ID})


def bootstrap_operator(
    identities: Identities, home: Path, api_url: str, stream: TextIO | None = None
) -> NewApiKey | None:
    """Create the operator and its key if the store has no live user; ``None`` otherwise.

    A credentials file that cannot be written (a read-only home in a container) is
    reported, not fatal: the key printed on ``stream`` is then the only copy.
    """
    out = stream or sys.stderr
    created = identities.bootstrap(OPERATOR_ID, OPERATOR_NAME, OPERATOR_TAGS, BOOTSTRAP_KEY_NAME)
    if created is None:
        return None
    path = credentials_path(home)
    print(f"bootstrap operator API key (shown once): {created.key}", file=out)
    try:
        write_credentials(path, Credentials(api_url, created.key, OPERATOR_ID))
    except OSError as exc:
        print(f"could not write the credentials file {path}: {exc.strerror}", file=out)
    else:
        print(f"written to {path} (mode 0600), where dataos-ctl finds it", file=out)
    out.flush()
    return created


def delete_user(identities: Identities, user_id: str) -> None:
    """Delete a user unless it is built in."""
    identities.delete_user(user_id, protected=PROTECTED_USERS)
