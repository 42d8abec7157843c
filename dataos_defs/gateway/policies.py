"""The data policies in force for one user on one table (DATAOS_CONTRACT §4).

The policies are compiled by ``trino_data.compile_data_policies``, the compiler behind
Trino's OPA policies, and matched here exactly as ``policies/trino/trino_data_policies.rego``
matches them, so that the Gateway's rewrite and a Trino cluster behind the OPA plugin
apply the same masks and filters:

* scope: the table's depot, collection and dataset against the policy's globs (a level
  not given is ``**``; ``dataset_id`` is split at its dots);
* user: ``match: any`` (one glob matches one of the user's tags) or ``all`` (every glob
  matches one of them);
* column (masks): by name, case-insensitively, or by one of the column's catalog tags
  (globs whose levels are separated by ``.``, as in ``PII.*``);
* of the masks selecting a column, the lowest priority number wins (no priority = 100),
  ties go to the first name; a winning ``pass_through`` means no mask;
* every filter policy selecting the user applies, ANDed. Archived policies are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any, cast

from dataos_defs.gateway.model import AppliedFilter, AppliedMask, Governance, Table, TableName
from dataos_defs.heimdall.policy_data import Pattern, PatternKind, PolicyDataError
from dataos_defs.heimdall.trino_data import compile_data_policies
from dataos_defs.manifest.policy import DataPolicy, Policy
from dataos_defs.manifest.policy_parts import Mask, RowFilter

CACHE_SIZE = 4096
ColumnKey = tuple[tuple[str, tuple[str, ...]], ...]
"""A table's columns as governance sees them: (name, tags) in order."""
_RE2_HEX_ESCAPE = re.compile(r"\\x\{([0-9a-f]{1,2})\}")


@dataclass(frozen=True)
class Matcher:
    """A compiled glob evaluated as the Rego ``matches`` rule does: ``exact`` compares,
    ``prefix`` tests the start, ``regex`` must match the whole value."""

    pattern: Pattern
    regex: re.Pattern[str] | None

    @classmethod
    def of(cls, compiled: Mapping[str, str]) -> Matcher:
        kind = cast(PatternKind, compiled["kind"])
        pattern = Pattern(compiled["glob"], kind, compiled["value"])
        if pattern.kind != "regex":
            return cls(pattern, None)
        return cls(pattern, re.compile(_python_regex(pattern.value)))

    def __call__(self, value: str) -> bool:
        if self.regex is not None:
            return self.regex.fullmatch(value) is not None
        if self.pattern.kind == "exact":
            return value == self.pattern.value
        return value.startswith(self.pattern.value)

    def matches_any(self, values: frozenset[str] | tuple[str, ...]) -> bool:
        if self.pattern.kind == "exact":
            return self.pattern.value in values
        return any(self(value) for value in values)


def _python_regex(re2: str) -> str:
    """The RE2 pattern ``compile_glob`` emits, for Python's ``re``: they differ only in how
    a control character is escaped (``\\x{1f}`` in RE2, ``\\x1f`` in Python)."""
    return _RE2_HEX_ESCAPE.sub(lambda found: "\\x" + found[1].zfill(2), re2)


@dataclass(frozen=True)
class Scope:
    depot: Matcher
    collection: Matcher
    dataset: Matcher

    @classmethod
    def of(cls, compiled: Mapping[str, Mapping[str, str]]) -> Scope:
        return cls(*(Matcher.of(compiled[level]) for level in ("depot", "collection", "dataset")))

    def covers(self, name: TableName) -> bool:
        return (
            self.depot(name.depot)
            and self.collection(name.collection)
            and self.dataset(name.dataset)
        )


@dataclass(frozen=True)
class UserSelector:
    match: str
    tags: tuple[Matcher, ...]

    @classmethod
    def of(cls, compiled: Mapping[str, Any]) -> UserSelector:
        return cls(compiled["match"], tuple(Matcher.of(tag) for tag in compiled["tags"]))

    def selects(self, user_tags: frozenset[str]) -> bool:
        if self.match == "all":
            return all(tag.matches_any(user_tags) for tag in self.tags)
        return any(tag.matches_any(user_tags) for tag in self.tags)


@dataclass(frozen=True)
class MaskPolicy:
    name: str
    priority: int
    scope: Scope
    users: UserSelector
    column_names: frozenset[str]
    column_tags: tuple[Matcher, ...]
    mask: Mask

    @classmethod
    def of(cls, compiled: Mapping[str, Any], data: DataPolicy) -> MaskPolicy:
        if data.mask is None:
            raise PolicyDataError(f"mask policy {compiled['name']!r} has no mask")
        return cls(
            name=compiled["name"],
            priority=compiled["priority"],
            scope=Scope.of(compiled["scope"]),
            users=UserSelector.of(compiled["users"]),
            column_names=frozenset(compiled["columns"]["names"]),
            column_tags=tuple(Matcher.of(tag) for tag in compiled["columns"]["tags"]),
            mask=data.mask,
        )

    def selects_column(self, name: str, tags: tuple[str, ...]) -> bool:
        if name.lower() in self.column_names:
            return True
        return any(pattern.matches_any(tags) for pattern in self.column_tags)


@dataclass(frozen=True)
class FilterPolicy:
    name: str
    scope: Scope
    users: UserSelector
    filters: tuple[RowFilter, ...]

    @classmethod
    def of(cls, compiled: Mapping[str, Any], data: DataPolicy) -> FilterPolicy:
        return cls(
            name=compiled["name"],
            scope=Scope.of(compiled["scope"]),
            users=UserSelector.of(compiled["users"]),
            filters=tuple(data.filters or ()),
        )


@dataclass(frozen=True)
class Selection:
    """The policies whose user selector picks one user (whatever the table)."""

    masks: tuple[MaskPolicy, ...]
    filters: tuple[FilterPolicy, ...]

    @cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted([m.name for m in self.masks] + [f.name for f in self.filters]))


class DataPolicies:
    """The applied data policies, compiled once, answering per table and user.

    Answers are memoized (bounded LRU) per user tag set and per (table, columns with their
    tags, user tag set): the gateway asks for every table of every query. The returned
    :class:`Governance` is shared between callers and must not be modified.
    """

    def __init__(self, policies: Iterable[Policy], *, cache_size: int = CACHE_SIZE) -> None:
        policies = list(policies)
        compiled = compile_data_policies(policies)
        data = {
            p.name: p.policy.data
            for p in policies
            if p.policy.data is not None and not p.policy.data.isArchived
        }
        self.masks = tuple(MaskPolicy.of(m, data[m["name"]]) for m in compiled["masks"])
        self.filters = tuple(FilterPolicy.of(f, data[f["name"]]) for f in compiled["filters"])
        self._selection = lru_cache(maxsize=cache_size)(self._select)
        self._governance = lru_cache(maxsize=cache_size)(self._resolve)

    def fingerprint(self, user_tags: Iterable[str]) -> tuple[str, ...]:
        """The names of the policies selecting the user: two users with the same
        fingerprint are governed alike on every table (a key for rewrite caches)."""
        return self._selection(frozenset(user_tags)).names

    def governance(self, table: Table, user_tags: Iterable[str]) -> Governance:
        columns = tuple((column.name, column.tags) for column in table.columns)
        return self._governance(table.name, columns, frozenset(user_tags))

    def _select(self, user_tags: frozenset[str]) -> Selection:
        return Selection(
            masks=tuple(m for m in self.masks if m.users.selects(user_tags)),
            filters=tuple(f for f in self.filters if f.users.selects(user_tags)),
        )

    def _resolve(
        self, name: TableName, columns: ColumnKey, user_tags: frozenset[str]
    ) -> Governance:
        selection = self._selection(user_tags)
        masks = [m for m in selection.masks if m.scope.covers(name)]
        applied: dict[str, AppliedMask] = {}
        exempted: set[str] = set()
        for column, tags in columns:
            winner = winning_mask(masks, column, tags)
            if winner is None:
                continue
            if winner.mask.operator == "pass_through":
                exempted.add(winner.name)
            else:
                applied[column] = AppliedMask(winner.name, column, winner.mask, winner.priority)
        filters = tuple(
            AppliedFilter(f.name, f.filters) for f in selection.filters if f.scope.covers(name)
        )
        return Governance(masks=applied, filters=filters, exempted=tuple(sorted(exempted)))


def winning_mask(
    masks: Sequence[MaskPolicy], column: str, tags: tuple[str, ...]
) -> MaskPolicy | None:
    """Of the masks selecting the column, the lowest priority number; ties by name."""
    candidates = [m for m in masks if m.selects_column(column, tags)]
    return min(candidates, key=lambda m: (m.priority, m.name), default=None)
