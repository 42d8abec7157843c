"""Names on ``dataos-ctl metis`` command lines: table and column FQNs, tags and facets,
checked before anything is sent (a clear error names what is wrong and how to write it).

A table is ``service.database.schema.table`` (a depot's tables: ``<depot>.<database>.
<schema>.<table>``); a column adds its name (``….table.column``); a name holding a ``.``
is quoted (``shop.public."order.items"``), as OpenMetadata writes FQNs.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from dataos_defs.cli.output import fail
from dataos_defs.metis import fqn as fqns

TABLE_PARTS = 4
FACET_KEYS = {
    "type": "type",
    "depot": "service",
    "service": "service",
    "schema": "schema",
    "tag": "tag",
    "owner": "owner",
}
"""``--facet`` keys → Metis' facets (a depot's service is named after the depot)."""
MAX_FACETS = 20
MAX_FACET_VALUE = 512
FQN_HINT = (
    "a table is service.database.schema.table (e.g. shoppg.shop.public.orders), a column "
    'adds .column; quote a name holding a dot: shoppg.shop.public."order.items"'
)


@dataclass(frozen=True)
class Target:
    """What ``metis tag`` changes: a table, or one of its top-level columns."""

    table: str
    column: str | None


def names_of(text: str) -> list[str]:
    if len(text) > fqns.MAX_FQN_LENGTH:
        fail(f"a fully qualified name is at most {fqns.MAX_FQN_LENGTH} characters", FQN_HINT)
    try:
        return fqns.split(text)
    except fqns.InvalidName as exc:
        fail(f"{text!r} is not a fully qualified name: {exc}", FQN_HINT)


def table_fqn(text: str) -> str:
    """``text`` as a table's FQN (exactly four names)."""
    names = names_of(text)
    if len(names) != TABLE_PARTS:
        fail(f"{text!r} names {len(names)} level(s), a table has {TABLE_PARTS}", FQN_HINT)
    return fqns.join(names)


def target_of(text: str) -> Target:
    """A table FQN (four names) or a column's (five)."""
    names = names_of(text)
    if len(names) not in (TABLE_PARTS, TABLE_PARTS + 1):
        fail(
            f"{text!r} names {len(names)} level(s): a table has {TABLE_PARTS}, a column "
            f"{TABLE_PARTS + 1} (nested columns cannot be tagged here)",
            FQN_HINT,
        )
    column = names[TABLE_PARTS] if len(names) > TABLE_PARTS else None
    return Target(fqns.join(names[:TABLE_PARTS]), column)


def tag_fqn(text: str) -> str:
    """A tag's FQN: ``Classification.Tag`` (e.g. ``PII.Email``)."""
    hint = "a tag is Classification.Tag, e.g. PII.Email"
    try:
        names = fqns.split(text)
    except fqns.InvalidName as exc:
        fail(f"{text!r} is not a tag: {exc}", hint)
    if len(names) < 2:
        fail(f"{text!r} is not a tag: it names no classification", hint)
    return fqns.join(names)


def facets_of(pairs: list[str]) -> list[str]:
    """``KEY=VALUE`` options → the search route's ``facet`` values (``name:value``)."""
    if len(pairs) > MAX_FACETS:
        fail(f"at most {MAX_FACETS} --facet options")
    found: list[str] = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not value:
            fail(f"--facet {pair!r} is not KEY=VALUE", "e.g. --facet depot=shoppg --facet tag=PII")
        facet = FACET_KEYS.get(key.strip().lower())
        if facet is None:
            fail(f"unknown facet {key!r}", f"facets: {', '.join(sorted(FACET_KEYS))}")
        if len(value) > MAX_FACET_VALUE:
            fail(f"a facet value is at most {MAX_FACET_VALUE} characters")
        found.append(f"{facet}:{value}")
    return found


def in_path(name: str) -> str:
    """An FQN as one path segment of a Metis route."""
    return quote(name, safe="")
