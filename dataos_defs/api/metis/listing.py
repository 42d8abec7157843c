"""Filtered, paged lists of one collection (``GET /{collection}``): the parent filters, the
regex filters (``metis.regex_filter``), the caller's visibility, then a page in FQN order
with base64url cursors (``after``/``before``), each entity answered with the extra fields
asked for (``table_extras``).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from dataos_defs.api.metis.errors import bad_request
from dataos_defs.api.metis.gate import Gate
from dataos_defs.api.metis.table_extras import table_answer
from dataos_defs.metis import fqn, regex_filter
from dataos_defs.metis.records import Listed


@dataclass(frozen=True)
class Page:
    limit: int
    after: str | None
    before: str | None
    include: str
    fields: frozenset[str]


def list_entities(
    gate: Gate,
    entity_type: str,
    filters: dict[str, str],
    regexes: regex_filter.RegexFilter,
    wanted_page: Page,
) -> dict[str, Any]:
    limit, after, before = wanted_page.limit, wanted_page.after, wanted_page.before
    rows = gate.catalog.listed(
        entity_type, service=filters.get("service"), include=wanted_page.include
    )
    rows = regexes.apply([row for row in rows if _matches(row, filters)])
    rows = gate.readable(rows, lambda row: (row.entity_type, row.fqn))
    total = len(rows)
    if after is not None:
        cursor = _cursor(after)
        rows = [row for row in rows if row.fqn > cursor]
        page = rows[:limit]
    elif before is not None:
        cursor = _cursor(before)
        rows = [row for row in rows if row.fqn < cursor]
        page = rows[-limit:] if limit else []
    else:
        page = rows[:limit]
    bodies = gate.catalog.get_many(row.id for row in page)
    paging: dict[str, Any] = {"total": total}
    if page and len(rows) > len(page) and (before is None or rows[-1].fqn != page[-1].fqn):
        paging["after"] = _encode(page[-1].fqn)
    if page and (after is not None or (before is not None and rows[0].fqn != page[0].fqn)):
        paging["before"] = _encode(page[0].fqn)
    return {
        "data": [
            table_answer(gate, bodies[row.id], wanted_page.fields)
            for row in page
            if row.id in bodies
        ],
        "paging": paging,
    }


def _matches(row: Listed, filters: dict[str, str]) -> bool:
    names = row.names
    for key, value in filters.items():
        try:
            wanted = fqn.split(value)
        except ValueError:
            return False
        if key in ("database", "databaseSchema", "parent") and names[: len(wanted)] != wanted:
            return False
        if key == "databaseSchema" and len(names) != len(wanted) + 1:
            return False
    return True


def _cursor(value: str) -> str:
    try:
        return base64.urlsafe_b64decode(value.encode() + b"=" * (-len(value) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise bad_request("the paging cursor is not valid") from None


def _encode(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")
