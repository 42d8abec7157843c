"""The column tags the catalog holds, as the Gateway and Heimdall read them to mask.

Data policies select columns by tag (``PII.Email``). A tag set on a column in Metis (a JSON
Patch of a table's ``columns/i/tags``, or a PUT of the table, as the OpenMetadata SDK and
ingestion send them) must drive the masks like a tag declared on a depot manifest or
derived by a run: the three sources are united (``minerva.tags.ManifestColumnTags``).

The catalog projects every table it writes into ``metis_column_tags`` inside the write's
transaction (:func:`project`): one row per tagged top-level column, keyed by the dataset
id the policies see (``service.schema.table``, lower case; a table of a database service
named after a depot is that depot's dataset, see ``access.dataset_object``). Each change
moves the generation in ``metis_markers``, the one cheap value readers compare
(:meth:`CatalogColumnTags.marker`) to reload within their freshness interval.

A soft-deleted table keeps its rows: deleting a catalog entry must not unmask its data
(the data stays where it is); only a hard delete, which needs the tag permission when
governance tags are on the table (``tag_rules``), forgets them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, inspect, select, update

from dataos_defs.metis import fqn as fqns
from dataos_defs.metis.records import StoredEntity
from dataos_defs.metis.schema import column_tags, entities, markers

MARKER = "column_tags"
ColumnTagMap = dict[str, dict[str, tuple[str, ...]]]
"""Dataset id (``depot.collection.dataset``, lower case) → lower-case column → tags."""


def dataset_id(table_fqn: str) -> str | None:
    """The dataset id a table entity stands for (``service.schema.table``), None when its
    FQN is not ``service.database.schema.table``.

    >>> dataset_id("shoppg.shop.public.Customers")
    'shoppg.public.customers'
    """
    try:
        names = fqns.split(table_fqn)
    except ValueError:
        return None
    if len(names) != 4:
        return None
    service, _database, schema, table = names
    return f"{service}.{schema}.{table}".lower()


def tagged_columns(body: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Lower-case column name → the tag FQNs of that top-level column (untagged ones left
    out; two columns differing only in case share their tags)."""
    found: dict[str, tuple[str, ...]] = {}
    columns = body.get("columns")
    for column in columns if isinstance(columns, list) else []:
        if not isinstance(column, dict) or not isinstance(column.get("name"), str):
            continue
        labels = column.get("tags")
        listed = labels if isinstance(labels, list) else []
        named = [label.get("tagFQN") for label in listed if isinstance(label, dict)]
        tags = [tag for tag in named if isinstance(tag, str) and tag]
        if tags:
            name = column["name"].lower()
            found[name] = tuple(dict.fromkeys([*found.get(name, ()), *tags]))
    return found


def project(conn: Connection, stored: StoredEntity) -> None:
    """Make the rows of ``stored`` (a table) what its body says; the generation moves only
    when they change. Called by the catalog inside every write's transaction."""
    if stored.entity_type != "table":
        return
    dataset = dataset_id(stored.fqn)
    wanted = tagged_columns(stored.body) if dataset is not None else {}
    current = {
        row.column_name: (row.dataset, tuple(row.tags))
        for row in conn.execute(
            select(column_tags.c.column_name, column_tags.c.dataset, column_tags.c.tags).where(
                column_tags.c.entity_id == stored.id
            )
        )
    }
    if current == {name: (dataset, tags) for name, tags in wanted.items()}:
        return
    conn.execute(delete(column_tags).where(column_tags.c.entity_id == stored.id))
    if wanted and dataset is not None:
        conn.execute(
            insert(column_tags),
            [
                {"entity_id": stored.id, "column_name": n, "dataset": dataset, "tags": list(t)}
                for n, t in sorted(wanted.items())
            ],
        )
    _bump(conn)


def forget(conn: Connection, entity_id: str) -> None:
    """Drop the rows of an entity erased for good (a hard delete)."""
    gone = conn.execute(delete(column_tags).where(column_tags.c.entity_id == entity_id))
    if gone.rowcount:
        _bump(conn)


def reproject(conn: Connection) -> None:
    """Project every table of the catalog (the migration that creates the projection)."""
    from dataos_defs.metis import rows

    query = select(entities).where(entities.c.entity_type == "table")
    for row in conn.execute(query).mappings().all():
        project(conn, rows.stored_of(row))
    _bump(conn)


def _bump(conn: Connection) -> None:
    moved = conn.execute(
        update(markers).where(markers.c.name == MARKER).values(generation=markers.c.generation + 1)
    )
    if not moved.rowcount:
        conn.execute(insert(markers).values(name=MARKER, generation=1))


class CatalogColumnTags:
    """The catalog's column tags, read from the store (any process serving it: the API
    server, the Dagster code location). Until Metis' schema exists in the store (the API
    server migrates it when it starts) there are none."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._ready = False

    def marker(self) -> int | None:
        """The generation of the catalog's column tags: changes with every change of them."""
        if not self._exists():
            return None
        with self._engine.connect() as conn:
            found = conn.execute(
                select(markers.c.generation).where(markers.c.name == MARKER)
            ).scalar()
        return int(found) if found is not None else 0

    def column_tags(self) -> ColumnTagMap:
        """Every tagged column of every table (soft-deleted ones included), united by
        dataset id."""
        found: ColumnTagMap = {}
        if not self._exists():
            return found
        query = select(column_tags.c.dataset, column_tags.c.column_name, column_tags.c.tags)
        with self._engine.connect() as conn:
            for dataset, column, tags in conn.execute(query):
                known = found.setdefault(dataset, {})
                known[column] = tuple(dict.fromkeys([*known.get(column, ()), *tags]))
        return found

    def _exists(self) -> bool:
        if not self._ready:
            self._ready = inspect(self._engine).has_table(markers.name)
        return self._ready
