"""What the OPA-compatible API lets a caller read and write, beyond the method on the path.

A bare OPA answers any document to whoever reaches it. Here the documents are Heimdall's
policies and every user's tags, and every user may ``post`` to ``/v1/data/**`` to ask for
decisions (system policy ``system-ask-decisions``). So, in ``opa.py`` and ``opa_fast.py``:

1. **Platform documents are read only through their decision rules.** ``data.heimdall``
   (compiled access and data policies, identities, column tags) and the packages of the
   platform's modules (``policies/``: ``heimdall.access``, ``trino``) answer only
   :data:`DECISION_RULES` to a ``post``. Any other path under them — ``data.heimdall``
   itself, ``data.heimdall.access.policies``, ``data.trino.subject_tags``, or ``data`` —
   reads policies: it needs ``get`` on the same API path, as ``GET /v1/data/...`` does.
   An ad-hoc query (``/v1/query``) can read anything, so it needs ``get`` on ``/v1/data``.
2. **A decision about someone else is Heimdall's to allow.** A decision rule's input names
   its subject (``input.subject`` for ``heimdall.access``, ``input.context.identity`` for
   ``trino``). Asking about another user, or with tags or groups the caller does not hold,
   needs ``read`` on ``heimdall://user/<id>``, as Heimdall's own ``authorize`` endpoint does.
   Trino's coordinator asks about every user: its identity needs that for ``heimdall://user/**``.
3. **Platform packages cannot be written.** ``PUT /v1/policies`` refuses a module whose
   package lies under a platform root (a module of package ``heimdall`` could add
   ``access.grants`` and allow everything), and ``PUT``/``DELETE /v1/data`` refuse paths
   under one. Other packages and data are the caller's, as in OPA.

Paths of extra modules and data (``data.demo.allow``) are answered to a ``post`` alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from dataos_defs.heimdall.objects import user_object

DATA_ROOT = "heimdall"
"""Where the compiled data document lives (``data.heimdall``)."""
DECISION_RULES: frozenset[tuple[str, ...]] = frozenset(
    {
        ("heimdall", "access", "allow"),
        ("heimdall", "access", "decision"),
        ("heimdall", "access", "batch"),
        ("trino", "allow"),
        ("trino", "batch"),
        ("trino", "rowFilters"),
        ("trino", "columnMask"),
        ("trino", "batchColumnMasks"),
    }
)
_LEADING = re.compile(r"\A(?:\s+|#[^\n]*)*")
_PACKAGE = re.compile(r"package\s+([A-Za-z_][A-Za-z0-9_]*)")

Requirement = tuple[str, str]
"""A decision the caller needs: (predicate, object)."""


def package_root(module: str) -> str | None:
    """The first segment of a module's package (``package heimdall.access`` → ``heimdall``),
    or None when the module does not start with a package declaration we can read.

    Only comments and blank space may come before ``package`` in Rego; both engines
    accept the name on the next line and refuse ``package ["x"]``."""
    leading = _LEADING.match(module)
    found = _PACKAGE.match(module, leading.end() if leading else 0)
    return found.group(1) if found else None


def platform_roots(base_modules: Mapping[str, str]) -> frozenset[str]:
    """``heimdall`` and the package roots of the platform's own modules."""
    roots = {package_root(raw) for raw in base_modules.values()}
    return frozenset({DATA_ROOT, *(root for root in roots if root is not None)})


def protected(parts: list[str], roots: frozenset[str]) -> bool:
    """Whether a document path is (under) a platform root, or the whole of ``data``."""
    return not parts or parts[0] in roots


def read_requirements(
    parts: list[str], document: Any, caller: str, tags: Iterable[str], roots: frozenset[str]
) -> list[Requirement]:
    """The decisions, beyond the method on the path, needed to evaluate ``data.<parts>``
    with input ``document`` (rules 1 and 2 of the module docstring)."""
    if not protected(parts, roots):
        return []
    if tuple(parts) not in DECISION_RULES:
        return [("get", "/v1/data" + "".join(f"/{part}" for part in parts))]
    subject, asked = _subject(parts[0], document)
    if subject == caller and asked <= frozenset(tags):
        return []
    return [("read", user_object(subject))]


def _subject(package: str, document: Any) -> tuple[str, frozenset[str]]:
    """Who a decision rule is asked about, and the tags the input gives them."""
    doc = document if isinstance(document, dict) else {}
    if package == "trino":
        identity = _mapping(_mapping(doc.get("context")).get("identity"))
        user = identity.get("user")
        groups = identity.get("groups") or []
        tags = {f"roles:id:{g}" if isinstance(g, str) else repr(g) for g in _list(groups)}
        return (user if isinstance(user, str) and user else "anonymous"), frozenset(tags)
    subject = _mapping(doc.get("subject"))
    user = subject.get("id")
    tags = {t if isinstance(t, str) else repr(t) for t in _list(subject.get("tags") or [])}
    return (user if isinstance(user, str) and user else "anonymous"), frozenset(tags)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
