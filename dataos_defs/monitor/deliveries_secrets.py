"""Secret references in pager outputs, resolved from the store's vault when a delivery is sent.

A header value, a URL, a token, or the SMTP password may be, or contain,
``${{secret.<name>.<key>}}``: the value of ``key`` in the Secret ``name`` of the pager's
workspace, or else in the Instance-secret ``name`` (the order jobs consume them in). The
CLI leaves ``${{...}}`` alone when it interpolates ``${VAR}``, so the reference is what
the store keeps, and the value is read, decrypted, used for one request and dropped:
never stored in the pager, never passed to templates, never logged. Errors name the
secret and key, never a value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Protocol

from dataos_defs.manifest.common import env_text
from dataos_defs.manifest.pager import SECRET_REFERENCE as REFERENCE
from dataos_defs.poros.store import Store

INSTANCE_ONLY = ""
"""The workspace to resolve platform settings' references in: no Secret lives there, so
only Instance-secrets are found (a workspace Secret cannot shadow the SMTP password)."""
MAX_SECRET_CHARS = 64 * 1024


class SecretUnavailable(LookupError):
    """A referenced secret or key does not exist (the message names them, not values)."""


class SecretSource(Protocol):
    def value(self, workspace: str, name: str, key: str) -> str: ...


def references(text: str) -> list[tuple[str, str]]:
    """The ``(name, key)`` pairs ``text`` references."""
    return [(m.group(1), m.group(2)) for m in REFERENCE.finditer(text)]


def resolve(text: str, workspace: str, source: SecretSource, used: set[str]) -> str:
    """``text`` with each reference replaced by its value; the values go into ``used`` so
    the caller can scrub them from any error it reports."""

    def value(match: re.Match[str]) -> str:
        found = source.value(workspace, match.group(1), match.group(2))
        used.add(found)
        return found

    return REFERENCE.sub(value, text)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every (non-trivial) secret value masked."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, "<secret>")
    return text


class StoreSecrets:
    """Secret values read from the store (the vault decrypts them) at delivery time."""

    def __init__(self, open_store: Callable[[], Store]) -> None:
        self._open_store = open_store

    def value(self, workspace: str, name: str, key: str) -> str:
        with self._open_store() as store:
            found = store.get("secret", name, workspace, unsanitize=True)
            section = "secret"
            if found is None:
                found = store.get("instance-secret", name, unsanitize=True)
                section = "instance-secret"
        if found is None:
            raise SecretUnavailable(
                f"secret '{name}' is neither a Secret of workspace '{workspace}' nor an "
                "Instance-secret: apply it, or change the pager's reference"
            )
        data = (found.manifest.get(section) or {}).get("data") or {}
        if key not in data:
            raise SecretUnavailable(f"secret '{name}' has no key '{key}'")
        text = env_text(data[key])
        if len(text) > MAX_SECRET_CHARS or "\n" in text or "\r" in text:
            raise SecretUnavailable(
                f"secret '{name}' key '{key}' is not a single line of at most "
                f"{MAX_SECRET_CHARS} characters, so it cannot go into a header or URL"
            )
        return text
