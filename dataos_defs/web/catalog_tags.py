"""Tagging a column from the dataset page: a JSON Patch sent through the Metis PATCH route's
own function, so the page obeys exactly the rule the API obeys (``update`` on the table,
asked of Heimdall, plus whatever Metis decides for tags that drive masks) — never a second
rule here. Whether the form is shown at all is the same question asked ahead
(:func:`may_tag`); a refused POST is refused by the PATCH path itself.

The patch pins the column it edits (a ``test`` of its name at its index), so a schema that
changed between showing the form and posting it makes the change fail, not land on another
column.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request

from dataos_defs.api.authz import may
from dataos_defs.api.errors import ApiError
from dataos_defs.api.identity import Identity
from dataos_defs.api.metis.entity_routes import patch_entity, readable
from dataos_defs.api.metis.gate import Gate
from dataos_defs.metis import tag_rules
from dataos_defs.metis.access import entity_object

TAG = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}(\.[A-Za-z0-9_-]{1,64}){1,3}$")
"""A classification tag's FQN, ``Classification.Tag`` (``PII.Email``)."""


def may_tag(request: Request, identity: Identity, table_fqn: str) -> bool:
    """Whether to show the tag forms: Heimdall's ``update`` on the table (fail closed)."""
    return may(request, identity, "update", entity_object("table", table_fqn))


def may_tag_governed(request: Request, identity: Identity, table_fqn: str) -> bool:
    """Whether the viewer also holds Metis' ``tag`` predicate for tags that drive masks
    (``tag_rules``): only to say so on the page; the POST is decided by the PATCH path."""
    target = tag_rules.tag_object("table", table_fqn)
    return may(request, identity, tag_rules.TAG_PREDICATE, target)


def change_tag(gate: Gate, table_fqn: str, column: str, tag: str, *, add: bool) -> None:
    """Add (or remove) ``tag`` on ``column``; raises the API's errors (404, 403, 400, 412)."""
    if not TAG.fullmatch(tag):
        raise ApiError(
            400, "bad_tag", f"{tag[:80]!r} is not a tag", "a tag is Classification.Tag (PII.Email)"
        )
    stored = readable(gate, "table", table_fqn, None, "non-deleted")
    columns: list[dict[str, Any]] = stored.body.get("columns") or []
    index = next((i for i, c in enumerate(columns) if c.get("name") == column), None)
    if index is None:
        raise ApiError(404, "not_found", f"{table_fqn} has no column {column[:80]!r}")
    tags = [str(t.get("tagFQN")) for t in columns[index].get("tags") or []]
    pin = {"op": "test", "path": f"/columns/{index}/name", "value": column}
    if add:
        if tag in tags:
            return
        label = {"tagFQN": tag, "source": "Classification", "labelType": "Manual"}
        change = {"op": "add", "path": f"/columns/{index}/tags/-", "value": label}
    else:
        if tag not in tags:
            return
        change = {"op": "remove", "path": f"/columns/{index}/tags/{tags.index(tag)}"}
    patch_entity(gate, "table", stored.fqn, None, [pin, change], stored.version_tenths)
