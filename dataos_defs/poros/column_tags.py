"""Column tags derived by runs: a column computed from tagged columns carries their tags.

Data policies select columns by tag (``PII.Email``). A tag declared on a source column
(``depot.datasets[].columns[].tags``) must follow the data wherever a workflow copies or
derives it, or a pipeline's output would be ungoverned. Flare computes column lineage for
every output; the run records here, *before* it writes the output, the tags each output
column inherits, so a dataset is never readable without the tags of what it was made from.
Each run replaces the derived tags of the datasets it writes (a column that no longer
derives from a tagged one loses them). Writing bumps the store's change marker, so Heimdall
and the Gateway reload within a second.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select

from dataos_defs.poros import queries as q
from dataos_defs.poros.store import Store
from dataos_defs.poros.tables import ColumnTagRow

MAX_TAGS_PER_COLUMN = 64
"""A bound on what one run may record for one column (tags are short strings)."""


@dataclass(frozen=True)
class DerivedTags:
    """The tags of one output column and the input columns (``dataset.column``) they came
    from."""

    tags: tuple[str, ...]
    derived_from: tuple[str, ...] = ()


class DerivedColumnTags:
    """Derived tags by dataset id (``depot.collection.dataset``, lower case)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def record(self, dataset_id: str, columns: Mapping[str, DerivedTags], written_by: str) -> None:
        """Replace the derived tags of ``dataset_id`` with ``columns`` (empty tags dropped)."""
        key = dataset_id.lower()
        at = q.now()
        with self._store.writing() as session:
            session.execute(delete(ColumnTagRow).where(ColumnTagRow.dataset == key))
            for column, derived in sorted(columns.items()):
                tags = list(dict.fromkeys(derived.tags))[:MAX_TAGS_PER_COLUMN]
                if not tags:
                    continue
                session.add(
                    ColumnTagRow(
                        dataset=key,
                        column_name=column.lower(),
                        tags=tags,
                        derived_from=sorted(set(derived.derived_from)),
                        written_by=written_by,
                        updated_at=at,
                    )
                )

    def all(self) -> dict[str, dict[str, tuple[str, ...]]]:
        """Every derived tag: dataset id -> lower-case column -> tags."""
        found: dict[str, dict[str, tuple[str, ...]]] = {}
        with self._store.reading() as session:
            for row in session.scalars(select(ColumnTagRow)):
                found.setdefault(row.dataset, {})[row.column_name] = tuple(row.tags)
        return found

    def of(self, dataset_id: str) -> dict[str, DerivedTags]:
        key = dataset_id.lower()
        with self._store.reading() as session:
            rows: Sequence[ColumnTagRow] = session.scalars(
                select(ColumnTagRow).where(ColumnTagRow.dataset == key)
            ).all()
            return {r.column_name: DerivedTags(tuple(r.tags), tuple(r.derived_from)) for r in rows}
