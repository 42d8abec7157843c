"""Who may change the tags that drive masks: the one rule every writer of the catalog asks.

Column tags select data policies' masks (``PII.Email`` → hashed e-mails), so they are
governance, not documentation: a user who may edit a table's descriptions must not unmask
its data by removing a tag, nor unmask it by adding one that a ``pass_through`` policy
selects. The rule (:func:`refusal`):

1. A tag is *governed* when its classification (the first level of its FQN) is ``PII``
   or is selected by a data policy's mask (the first level of every column-tag glob; a
   glob whose first level is itself a pattern governs every classification).
2. Adding or removing a governed tag — on a column or the table, by a JSON Patch, a PUT or
   a bulk PUT, by renaming or dropping the column, by hard-deleting the table — and any
   change to a governed classification or tag entity, needs the predicate ``tag``
   (:data:`TAG_PREDICATE`) on the object :func:`tag_object` names: the dataset
   (``dataos://depot:schema/table``) for a table. Operators have it (``**``); nobody else
   does until a policy grants it. No decision is a refusal (fail closed): 403.
3. The ingestion's user (``metis``) may add governed tags it reads from sources without
   the predicate, and may never remove one (403).
4. Catalog tags only ever add to the tags declared on depot manifests and derived by runs
   (``minerva.tags``): removing a tag in Metis never removes a declared one. So a change
   that removes from a table that still exists a governed tag its depot manifest declares
   is refused even to whoever may tag (409: it would still mask), with a hint to change
   ``depot.datasets``.

Soft-deleting a table changes no tag (its tags keep masking: ``tag_index``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dataos_defs.manifest.depot import Depot
from dataos_defs.manifest.policy import Policy
from dataos_defs.metis import fqn as fqns
from dataos_defs.metis.access import SCANNER_USER_ID, dataset_object, entity_object
from dataos_defs.metis.tag_index import dataset_id

TAG_PREDICATE = "tag"
ALWAYS_GOVERNED = frozenset({"PII"})
GLOB_CHARACTERS = frozenset("*?[]{}")
TAG_ENTITIES = frozenset({"classification", "tag"})
Pair = tuple[str, str]
"""``(lower-case column name, tag FQN)``; the column is ``""`` for a tag of the table."""


@dataclass(frozen=True)
class Governed:
    """The classifications whose tags are governance."""

    classifications: frozenset[str] = ALWAYS_GOVERNED
    everything: bool = False

    def covers(self, tag_fqn: str) -> bool:
        return self.everything or classification_of(tag_fqn) in self.classifications


@dataclass(frozen=True)
class TagChange:
    """The governed tags a write adds, removes, and keeps with other attributes (who
    applied it, its type...: Poros drops on a re-apply the labels it wrote, so forging
    ``appliedBy`` would be a delayed removal)."""

    added: frozenset[Pair] = frozenset()
    removed: frozenset[Pair] = frozenset()
    altered: frozenset[Pair] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.altered)


@dataclass(frozen=True)
class Refusal:
    status: int
    message: str
    hint: str


def classification_of(tag_fqn: str) -> str:
    try:
        return fqns.split(tag_fqn)[0]
    except ValueError:
        return tag_fqn.split(".", 1)[0]


def governed(policies: Iterable[Policy]) -> Governed:
    """:class:`Governed` for the data policies in force (archived ones included: they
    can be revived by one apply, and a tag removed meanwhile would not come back)."""
    found = set(ALWAYS_GOVERNED)
    for policy in policies:
        data = policy.policy.data
        column = data.selector.column if data is not None and data.selector else None
        for glob in (column.tags if column is not None else None) or []:
            first = glob.split(".", 1)[0]
            if not first or GLOB_CHARACTERS.intersection(first):
                return Governed(frozenset(found), everything=True)
            found.add(first)
    return Governed(frozenset(found))


def declared_pairs(depots: Iterable[Depot], dataset: str | None) -> frozenset[Pair]:
    """The tags depot manifests declare on ``dataset`` (an id, lower case)."""
    if dataset is None:
        return frozenset()
    pairs: set[Pair] = set()
    for depot in depots:
        for column, tags in depot.column_tags().get(dataset, {}).items():
            pairs.update((column, tag) for tag in tags)
        pairs.update(("", tag) for tag in depot.dataset_tags().get(dataset, []))
    return frozenset(pairs)


def change(
    entity_type: str,
    entity_fqn: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    rules: Governed,
) -> TagChange:
    """The governed tags a write turning ``before`` into ``after`` adds and removes (None:
    the entity does not exist, or is erased)."""
    if entity_type in TAG_ENTITIES:
        if not rules.covers(entity_fqn) or _same(before, after):
            return TagChange()
        mark = frozenset({("", entity_fqn)})
        return TagChange(
            added=mark if after is not None else frozenset(),
            removed=mark if before is not None else frozenset(),
        )
    old = {p: label for p, label in _labels(before).items() if rules.covers(p[1])}
    new = {p: label for p, label in _labels(after).items() if rules.covers(p[1])}
    return TagChange(
        added=frozenset(new.keys() - old.keys()),
        removed=frozenset(old.keys() - new.keys()),
        altered=frozenset(p for p in old.keys() & new.keys() if old[p] != new[p]),
    )


def tag_object(entity_type: str, entity_fqn: str) -> str:
    """What the predicate ``tag`` is asked on: a table's dataset, else the entity."""
    try:
        names = fqns.split(entity_fqn)
    except ValueError:
        return entity_object(entity_type, entity_fqn)
    dataset = dataset_object(entity_type, names, frozenset(names[:1]))
    return dataset or entity_object(entity_type, entity_fqn)


def refusal(
    entity_type: str,
    entity_fqn: str,
    found: TagChange,
    *,
    actor: str,
    may_tag: Callable[[str], bool],
    declared: frozenset[Pair] = frozenset(),
    erased: bool = False,
) -> Refusal | None:
    """Why ``actor`` may not make ``found`` (None: it may). ``may_tag(object)`` asks
    Heimdall for :data:`TAG_PREDICATE` and answers False when no decision can be made."""
    if not found:
        return None
    if (found.removed or found.altered) and actor == SCANNER_USER_ID:
        return Refusal(
            403,
            f"the scanner may not remove or alter governance tags "
            f"({_listed(found.removed | found.altered)} of "
            f"{entity_fqn}); they drive data policies' masks",
            "an operator removes them, or keep the column in the source",
        )
    target = tag_object(entity_type, entity_fqn)
    if actor != SCANNER_USER_ID and not may_tag(target):
        return Refusal(
            403,
            f"{actor} may not change governance tags "
            f"({_listed(found.added | found.removed | found.altered)}) "
            f"of {entity_fqn}: they drive data policies' masks and need '{TAG_PREDICATE}' "
            f"on {target}",
            f"ask an operator for an access policy allowing '{TAG_PREDICATE}' on {target}",
        )
    kept = found.removed & declared
    if kept and not erased:
        column, tag = sorted(kept)[0]
        where = f"column {column}" if column else "the table"
        return Refusal(
            409,
            f"{tag} on {where} of {entity_fqn} is declared on its depot manifest and cannot "
            "be removed through Metis (it would still mask: declared tags always apply)",
            "remove it from depot.datasets of the depot manifest and apply it",
        )
    return None


def _listed(pairs: frozenset[Pair]) -> str:
    shown = [f"{column}: {tag}" if column else tag for column, tag in sorted(pairs)[:5]]
    return ", ".join(shown) + (", …" if len(pairs) > 5 else "")


def _labels(body: Mapping[str, Any] | None) -> dict[Pair, Any]:
    """Every tag of the body (top-level columns and the table) with its label(s)."""
    found: dict[Pair, list[Any]] = {}
    if body is None:
        return {}
    columns = body.get("columns")
    for column in columns if isinstance(columns, list) else []:
        if isinstance(column, dict) and isinstance(column.get("name"), str):
            _collect(found, column["name"].lower(), column.get("tags"))
    _collect(found, "", body.get("tags"))
    return {
        pair: sorted(json.dumps(x, sort_keys=True) for x in labels)
        for pair, labels in found.items()
    }


def _collect(found: dict[Pair, list[Any]], column: str, labels: Any) -> None:
    for label in labels if isinstance(labels, list) else []:
        if isinstance(label, dict) and isinstance(label.get("tagFQN"), str) and label["tagFQN"]:
            found.setdefault((column, label["tagFQN"]), []).append(label)


def _same(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> bool:
    if before is None or after is None:
        return before is after
    server = {"version", "updatedAt", "updatedBy", "id", "href", "changeDescription"}
    return {k: v for k, v in before.items() if k not in server} == {
        k: v for k, v in after.items() if k not in server
    }


def dataset_of_table(entity_type: str, entity_fqn: str) -> str | None:
    """The dataset id of a table entity (None for anything else)."""
    return dataset_id(entity_fqn) if entity_type == "table" else None
