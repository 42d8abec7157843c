"""Depots and their credentials as read from the store, for whoever reads data at run time
(flare and soda jobs, Minerva clusters). Credentials are decrypted here, on demand, and
handed only to the code that opens a connection."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dataos_defs.manifest.depot import Depot
from dataos_defs.manifest.registry import resource_adapter
from dataos_defs.poros.store import Store


class StoreDepots:
    """A ``DepotResolver`` (stacks/flare/model.py) over the Poros store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def depot(self, name: str) -> Depot:
        found = self._store.get("depot", name)
        if found is None:
            raise LookupError(f"depot '{name}' is not applied")
        model = resource_adapter().validate_python(found.manifest)
        assert isinstance(model, Depot)
        return model

    def credentials(self, name: str, acl: str) -> Mapping[str, str]:
        """The key-values of the depot's credential set for ``acl`` (``rw`` serves ``r``)."""
        found = self._store.get("depot", name, unsanitize=True)
        if found is None:
            raise LookupError(f"depot '{name}' is not applied")
        section = found.manifest.get("depot", {})
        sets: dict[str, Mapping[str, Any]] = {}
        for inline in section.get("connectionSecret") or []:
            sets.setdefault(inline["acl"], inline.get("values") or inline.get("data") or {})
        for ref in section.get("secrets") or []:
            secret = self._store.get("instance-secret", ref["name"], unsanitize=True)
            if secret is not None:
                body = secret.manifest.get("instance-secret", {})
                sets.setdefault(body.get("acl", ""), body.get("data") or {})
        chosen = sets.get(acl) or (sets.get("rw") if acl == "r" else None) or {}
        return {key: str(value) for key, value in chosen.items()}
