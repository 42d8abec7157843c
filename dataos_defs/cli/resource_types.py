"""The Resource types, known to the CLI without importing the manifest models.

``dataos-ctl --help`` and shell completion must answer in milliseconds, so the names live
here as plain text; ``tests/interfaces/test_cli_identifiers.py`` checks them against
:mod:`dataos_defs.manifest.registry`, the models that validate manifests.
"""

from __future__ import annotations

import difflib

WORKSPACE_TYPES = (
    "workflow",
    "service",
    "worker",
    "secret",
    "database",
    "cluster",
    "volume",
    "resource",
    "monitor",
    "pager",
    "lakehouse",
    "lens",
)
INSTANCE_TYPES = (
    "policy",
    "depot",
    "compute",
    "stack",
    "operator",
    "bundle",
    "instance-secret",
    "grant",
)
RESOURCE_TYPES = WORKSPACE_TYPES + INSTANCE_TYPES

TYPE_HELP = (
    f"Resource type. Workspace types: {', '.join(WORKSPACE_TYPES)}. "
    f"Instance types: {', '.join(INSTANCE_TYPES)}."
)


def close_type(kind: str) -> str | None:
    """The known type nearest to a mistyped ``kind``, if one is near enough."""
    found = difflib.get_close_matches(kind.lower(), RESOURCE_TYPES, n=1, cutoff=0.6)
    return found[0] if found else None


def type_problem(kind: str) -> tuple[str, str] | None:
    """``(message, hint)`` when ``kind`` is not a Resource type, else ``None``."""
    if kind in RESOURCE_TYPES:
        return None
    near = close_type(kind)
    hint = f"did you mean '{near}'?" if near else f"one of: {', '.join(RESOURCE_TYPES)}"
    return f"unknown Resource type '{kind}'", hint
