"""Values that are secrets wherever they appear, whatever the Resource type declares.

Types declare their secret fields (``secret_paths()``: a secret's ``data``, a v1 depot's
``connectionSecret``). Real manifests also carry credentials inline in places no schema
can foresee — a scanner's ``sourceConnection.config.password``, a job's ``runAsApiKey``,
connector options — so keys whose names say "secret value" are treated as secrets too.
Keys that hold *names of* secrets (``secrets``, ``dataosSecrets``, ``imagePullSecret``)
are references, not values, and stay readable.

>>> sensitive_paths({"a": {"password": "x", "secrets": [{"name": "s"}]}, "runAsApiKey": "k"})
[('a', 'password'), ('runAsApiKey',)]
"""

from __future__ import annotations

import re
from typing import Any

from dataos_defs.manifest.source import KeyPath

_SECRET_KEY = re.compile(
    r"(pass(word|wd|phrase)?|pwd|api_?key|apitoken|token|secret_?key|secret_?access_?key|"
    r"access_?key(_?id)?|private_?key|client_?secret|credentials?|auth_?token|"
    r"bearer|connection_?string|dsn|sas_?token|shared_?access_?key)$",
    re.IGNORECASE,
)
_REFERENCE_KEYS = frozenset({"secrets", "dataossecrets", "imagepullsecret", "secretprojection"})


def is_sensitive_key(key: str) -> bool:
    normalized = key.replace("-", "_").replace(".", "_")
    return normalized.lower() not in _REFERENCE_KEYS and bool(_SECRET_KEY.search(normalized))


def sensitive_paths(data: Any, prefix: KeyPath = ()) -> list[KeyPath]:
    """Paths of values under secret-looking keys (a whole sub-tree counts as one value)."""
    found: list[KeyPath] = []
    if isinstance(data, dict):
        for key, value in data.items():
            path = (*prefix, key)
            if isinstance(key, str) and is_sensitive_key(key) and value not in (None, ""):
                found.append(path)
            else:
                found.extend(sensitive_paths(value, path))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found.extend(sensitive_paths(value, (*prefix, index)))
    return found
