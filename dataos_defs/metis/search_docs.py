"""What search knows of an entity: its searchable text and its facets.

One :class:`Document` per entity, rebuilt from the entity's body on every write (in the
write's transaction), so search never drifts from the catalog. The text is split by
weight: the name counts most, then tags and owners, then columns, then descriptions.
Facets are the values a result list is narrowed and counted by: ``type`` (the entity
type), ``service`` (a depot's service is named after the depot), ``schema``, ``tag`` and
``owner``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from dataos_defs.metis.records import StoredEntity

FACETS = ("type", "service", "schema", "tag", "owner")
MAX_TERMS = 16
"""Words of a query that are matched; the rest are ignored (bounded work per query)."""
MAX_FIELD_CHARS = 200_000
"""Text kept per field: a table of 4,096 columns still fits, a giant SQL body is cut."""
WORD = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Document:
    entity_id: str
    entity_type: str
    fqn: str
    deleted: bool
    name: str
    tags_text: str
    columns_text: str
    description: str
    facets: dict[str, list[str]] = field(default_factory=dict)


def document(stored: StoredEntity) -> Document:
    body = stored.body
    tags = sorted(set(_tags(body)))
    owners = sorted(set(_owners(body)))
    service = _service(stored)
    schema = _schema(stored)
    facets = {
        "type": [stored.entity_type],
        "service": [service] if service else [],
        "schema": [schema] if schema else [],
        "tag": tags,
        "owner": owners,
    }
    names = " ".join(filter(None, [body.get("name"), body.get("displayName"), stored.fqn]))
    return Document(
        entity_id=stored.id,
        entity_type=stored.entity_type,
        fqn=stored.fqn,
        deleted=stored.deleted,
        name=_cut(names),
        tags_text=_cut(" ".join([*tags, *owners])),
        columns_text=_cut(" ".join(_columns(body.get("columns")) or _tasks(body.get("tasks")))),
        description=_cut(_descriptions(body)),
        facets=facets,
    )


def _cut(text: str) -> str:
    """The words of ``text``, space-separated and bounded: both backends then see the same
    tokens (PostgreSQL's parser would keep ``Tier.Gold`` or ``a/b`` as one host or path)."""
    return " ".join(WORD.findall(text[:MAX_FIELD_CHARS]))


def _service(stored: StoredEntity) -> str | None:
    if stored.entity_type.endswith("Service"):
        return stored.body.get("name")
    return stored.service


def _schema(stored: StoredEntity) -> str | None:
    if stored.entity_type == "databaseSchema":
        return str(stored.body.get("name"))
    schema = stored.body.get("databaseSchema")
    return schema.get("name") if isinstance(schema, dict) else None


def _tags(body: dict[str, Any]) -> Iterator[str]:
    for tag in body.get("tags") or []:
        if isinstance(tag, dict) and isinstance(tag.get("tagFQN"), str):
            yield tag["tagFQN"]
    for column in _all_columns(body.get("columns")):
        for tag in column.get("tags") or []:
            if isinstance(tag, dict) and isinstance(tag.get("tagFQN"), str):
                yield tag["tagFQN"]


def _owners(body: dict[str, Any]) -> Iterator[str]:
    for owner in body.get("owners") or []:
        if isinstance(owner, dict):
            name = owner.get("name") or owner.get("fullyQualifiedName")
            if isinstance(name, str):
                yield name


def _all_columns(columns: Any) -> Iterator[dict[str, Any]]:
    for column in columns or []:
        if isinstance(column, dict):
            yield column
            yield from _all_columns(column.get("children"))


def _columns(columns: Any) -> list[str]:
    return [str(c.get("name", "")) for c in _all_columns(columns)]


def _tasks(tasks: Any) -> list[str]:
    return [str(t.get("name", "")) for t in tasks or [] if isinstance(t, dict)]


def _descriptions(body: dict[str, Any]) -> str:
    parts = [body.get("description") or "", body.get("query") or ""]
    parts.extend(c.get("description") or "" for c in _all_columns(body.get("columns")))
    return " ".join(p for p in parts if isinstance(p, str) and p)


def terms(text: str) -> list[str]:
    """The words of a query, lowercased, at most :data:`MAX_TERMS` (no operators: a query
    is words, so nothing in it can change how the backend parses it)."""
    return [word.lower() for word in WORD.findall(text)][:MAX_TERMS]
