"""What a table answer carries beyond its entity when ``fields`` asks: its latest profile
(``profile``, and each column's ``profile``), its usage (``usageSummary``) and its joins
(``joins``). Kept beside the entity (``metis.profiles``, ``metis.usage``), added here.

Profiles are data, so a column's value statistics (min, max, quartiles, histogram, top
values…) are answered only to a reader for whom the column is not masked: the Gateway's
own data policies decide (``Gateway.clusters.governance``, the answer behind ``explain``),
over the column's catalog tags, the tags its depot declares and those runs derived. For a
masked column, or when no Gateway runs on this server (no decision: fail closed), only
counts and proportions remain (``profiles.without_values``). Joins name other tables'
columns: only those of tables the reader may read are answered.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dataos_defs.api.gateway_routes import caller_of
from dataos_defs.api.metis.gate import Gate
from dataos_defs.gateway.model import Column, Table, TableName
from dataos_defs.metis import fqn as fqns
from dataos_defs.metis import profiles, usage
from dataos_defs.metis.profiles import Profile
from dataos_defs.metis.records import StoredEntity
from dataos_defs.minerva.tags import ManifestColumnTags
from dataos_defs.poros.column_tags import DerivedColumnTags

EXTRA_FIELDS = frozenset({"profile", "usageSummary", "joins"})


def wanted(fields: str | None) -> frozenset[str]:
    """The extra fields a ``fields`` parameter asks for (``*`` asks for all)."""
    if not fields:
        return frozenset()
    asked = {part.strip() for part in fields.split(",")}
    return EXTRA_FIELDS if "*" in asked else EXTRA_FIELDS & asked


def table_answer(
    gate: Gate, stored: StoredEntity, fields: Iterable[str], profile: Profile | None = None
) -> dict[str, Any]:
    """The entity as ``gate`` answers it, with the extra fields asked for (tables only).
    ``profile`` is answered instead of the latest one when given."""
    body = gate.answer(stored)
    asked = set(fields)
    if stored.entity_type != "table" or not asked:
        return body
    engine = gate.catalog.engine
    if "profile" in asked:
        shown = profile or profiles.latest(engine, stored.id)
        if shown is not None:
            with_profile(gate, stored, body, shown)
    if "usageSummary" in asked:
        summary = usage.summary(engine, stored.id)
        if summary is not None:
            body["usageSummary"] = summary
    if "joins" in asked:
        joins = usage.joins_of(engine, stored.id)
        if joins is not None:
            body["joins"] = readable_joins(gate, joins)
    return body


def with_profile(gate: Gate, stored: StoredEntity, body: dict[str, Any], profile: Profile) -> None:
    """Put ``profile`` into the answer ``body``, value statistics of masked columns left out."""
    body["profile"] = profile.table
    masked = masked_columns(gate, stored, body.get("columns") or [])
    columns = []
    for column in body.get("columns") or []:
        found = profile.column(str(column.get("name")))
        if found is None:
            columns.append(column)
            continue
        name = str(column.get("name")).lower()
        shown = profiles.without_values(found) if masked is None or name in masked else found
        columns.append({**column, "profile": shown})
    body["columns"] = columns


def masked_columns(
    gate: Gate, stored: StoredEntity, columns: list[dict[str, Any]]
) -> frozenset[str] | None:
    """Lower-case names of the table's columns masked for the caller; None: every column
    (no Gateway on this server to decide)."""
    gateway = getattr(gate.request.app.state, "gateway", None)
    if gateway is None:
        return None
    names = stored.names
    if len(names) != 4:
        return None
    service, _database, schema, table = (name.lower() for name in names)
    name = TableName(service, schema, table)
    gateway.refresh()
    declared = ManifestColumnTags(
        gateway.clusters.depots().values(), DerivedColumnTags(gate.request.app.state.store).all()
    )
    _, declared_columns = declared.for_table(name)
    described = tuple(_described(column, declared_columns) for column in columns)
    governance = gateway.clusters.governance(
        Table(name, described, physical=""), caller_of(gate.identity).tags
    )
    return frozenset(column.lower() for column in governance.masks)


def _described(column: dict[str, Any], declared: dict[str, tuple[str, ...]]) -> Column:
    """A catalog column as governance sees it: its Metis tags and the declared or derived
    tags of its name."""
    name = str(column.get("name"))
    tags = [str(tag.get("tagFQN")) for tag in column.get("tags") or []]
    return Column(
        name=name,
        type=str(column.get("dataType") or ""),
        tags=tuple(dict.fromkeys([*tags, *declared.get(name.lower(), ())])),
    )


def readable_joins(gate: Gate, joins: usage.TableJoins) -> dict[str, Any]:
    """``joins`` with only the columns and tables of tables the caller may read."""
    named = [j for c in joins.columnJoins or [] for j in c.joinedWith or []]
    named += list(joins.directTableJoins or [])
    mentioned = sorted({t for j in named if (t := _table_of(j.fullyQualifiedName)) is not None})
    allowed = set(gate.readable(mentioned, lambda table: ("table", table)))

    def kept(found: list[usage.JoinedWith] | None) -> list[usage.JoinedWith]:
        return [j for j in found or [] if _table_of(j.fullyQualifiedName) in allowed]

    shown = joins.model_copy(
        update={
            "columnJoins": [
                c.model_copy(update={"joinedWith": kept(c.joinedWith)})
                for c in joins.columnJoins or []
            ],
            "directTableJoins": kept(joins.directTableJoins),
        }
    )
    answer: dict[str, Any] = shown.model_dump(mode="json", exclude_none=True)
    return answer


def _table_of(name: str) -> str | None:
    """The table FQN of a table or column FQN (``service.database.schema.table[.column]``)."""
    try:
        names = fqns.split(name)
    except ValueError:
        return None
    return fqns.join(names[:4]) if len(names) >= 4 else None
