"""The vocabulary the Gateway's parts share: tables as the catalog describes them (defined
by Minerva, which produces them, and re-exported here), the data policies that govern one
table for one user, the rewrite's result and its refusals.

The query path (``service.py``) is: identify the caller, ask Heimdall for ``select`` on each
dataset the query names, resolve the data policies that apply (``policies.py``), rewrite
the query so every base table becomes a masked, filtered subquery (``rewrite.py``, masks in
``masks.py``), then run the rewritten SQL on the cluster the selector picks (``minerva``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from dataos_defs.manifest.policy_parts import Mask, RowFilter
from dataos_defs.minerva.model import Catalog, Column, Table, TableName

__all__ = [
    "AppliedFilter",
    "AppliedMask",
    "Catalog",
    "Column",
    "Governance",
    "GovernanceFor",
    "Refused",
    "Rewritten",
    "StatementKind",
    "Table",
    "TableName",
]

StatementKind = Literal["select", "show", "describe", "explain"]


@dataclass(frozen=True)
class AppliedMask:
    """The mask that won for one column (lowest priority number; ties by policy name)."""

    policy: str
    column: str
    mask: Mask
    priority: int


@dataclass(frozen=True)
class AppliedFilter:
    """A filter policy selecting the user: the rows it keeps (its filters ANDed)."""

    policy: str
    filters: tuple[RowFilter, ...]


@dataclass(frozen=True)
class Governance:
    """The data policies in force for one user on one table.

    ``masks`` maps a column name (as the table spells it) to its winning mask; a column
    whose winner is ``pass_through`` is absent, and so is a column no policy selects.
    ``exempted`` names the pass_through policies that won, for explain/audit.
    Filters are ANDed: the user keeps the rows every filter keeps."""

    masks: dict[str, AppliedMask] = field(default_factory=dict)
    filters: tuple[AppliedFilter, ...] = ()
    exempted: tuple[str, ...] = ()

    @property
    def policies(self) -> tuple[str, ...]:
        names = {m.policy for m in self.masks.values()}
        names |= {f.policy for f in self.filters} | set(self.exempted)
        return tuple(sorted(names))


GovernanceFor = Callable[[Table], Governance]
"""Resolves the policies in force for the calling user on a table."""


@dataclass(frozen=True)
class Rewritten:
    """A governed statement ready for the engine.

    ``sql`` is in the engine's dialect; ``tables`` are the datasets the statement reads
    (each must be authorized before it runs); ``policies`` every data policy that shaped
    the result (masks, filters, winning pass_through exemptions), by dataset id."""

    kind: StatementKind
    sql: str
    tables: tuple[TableName, ...]
    policies: dict[str, tuple[str, ...]]


class Refused(Exception):
    """The Gateway will not run this statement; ``message`` says why, ``hint`` what to do.

    Raised for anything that is not provably governed: unparseable SQL, statements other
    than SELECT/WITH/SHOW/DESCRIBE/EXPLAIN, unknown tables, table functions, ..."""

    def __init__(self, message: str, hint: str | None = None, *, code: str = "refused") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code
