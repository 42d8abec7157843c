"""Source credentials in service connections: sealed with the platform's vault.

A database service PUT carries its source's connection with the password in clear (the
lineage, usage and profiler workflows read it back). Metis keeps the connection with every
secret value replaced by :data:`REDACTED` and the values encrypted beside it (one Fernet
token per version, ``Vault.seal``). A secret is any value under a key that names one
(:func:`is_secret_key`), at any depth. A connection sent back with the marker in place of
a secret keeps the stored value, as OpenMetadata does with its masked passwords.
"""

from __future__ import annotations

import re
from typing import Any

from dataos_defs.manifest.source import KeyPath
from dataos_defs.poros.vault import REDACTED, Vault, redact, restore

SECRET_KEY = re.compile(r"password|secret|token|privatekey|passphrase|credential", re.I)
MASKS = frozenset({REDACTED, "*********"})
"""Values meaning "keep the stored secret": the platform's marker and OpenMetadata's mask."""
Secrets = list[tuple[KeyPath, Any]]


def is_secret_key(key: str) -> bool:
    return bool(SECRET_KEY.search(key))


def secret_paths(value: Any, prefix: KeyPath = ()) -> list[KeyPath]:
    """Paths of every secret value under ``value`` (secret keys holding a non-null value)."""
    found: list[KeyPath] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if is_secret_key(str(key)) and item is not None and not isinstance(item, dict):
                found.append((*prefix, key))
            else:
                found.extend(secret_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(secret_paths(item, (*prefix, index)))
    return found


def separate(
    connection: dict[str, Any], stored: Secrets, stored_connection: Any = None
) -> tuple[dict[str, Any], Secrets]:
    """The connection with its secrets redacted, and the secret values.

    A masked value takes the stored value at the same path only when the rest of the
    connection is what it was (``stored_connection``, redacted): otherwise whoever may
    update a service could point it at a host of theirs and have the scanner send it the
    stored password. The masked value then stays masked (no secret is kept).
    """
    redacted, secrets = redact(connection, secret_paths(connection))
    unchanged = _unmasked(redacted) == _unmasked(stored_connection)
    previous = dict(stored) if unchanged else {}
    kept: Secrets = []
    for path, value in secrets:
        if isinstance(value, str) and value in MASKS:
            if path in previous:
                kept.append((path, previous[path]))
        else:
            kept.append((path, value))
    return redacted, kept


def _unmasked(value: Any) -> Any:
    """``value`` with every mask and secret value made equal, for comparing connections."""
    if isinstance(value, dict):
        return {
            k: None if is_secret_key(str(k)) and not isinstance(v, dict) else _unmasked(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_unmasked(item) for item in value]
    return value


def reveal(connection: dict[str, Any], secrets: Secrets) -> dict[str, Any]:
    return restore(connection, secrets)


def seal(vault: Vault, secrets: Secrets) -> str | None:
    return vault.seal(secrets)


def unseal(vault: Vault, token: str | None) -> Secrets:
    return vault.open(token) if token else []
