"""Where the tags of datasets and columns come from: one interface, one source per catalog.

Data policies select columns by tag (``PII.Email``). Tags come from three sources, always
united (a source adds tags, never removes one): declared on depot manifests
(``depot.datasets``, see ``manifest/depot.py``), derived by runs (an output column made
from a ``PII.Email`` column carries ``PII.Email``, recorded by Poros' ``DerivedColumnTags``)
and set in the catalog (Metis, ``metis.tag_index``; who may change those is
``metis.tag_rules``). Clusters read them only through :class:`ColumnTags`, so a new source
changes no cluster. :class:`LiveColumnTags` lets clusters built once see tags that change
afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

from dataos_defs.manifest.depot import Depot
from dataos_defs.minerva.model import TableName

DatasetTags = tuple[tuple[str, ...], dict[str, tuple[str, ...]]]
"""A dataset's own tags, and its columns' tags by lower-case column name."""

NO_TAGS: DatasetTags = ((), {})


class ColumnTags(Protocol):
    def for_table(self, name: TableName) -> DatasetTags:
        """The tags of the dataset and of its columns (lower-case column names); empty
        when nothing is known about the dataset."""
        ...


class ManifestColumnTags:
    """Tags declared on depot manifests (``depot.datasets[].tags`` and ``columns[].tags``),
    plus column tags ``derived`` by runs (dataset id -> column -> tags, lower case)."""

    def __init__(
        self,
        depots: Iterable[Depot],
        derived: Mapping[str, Mapping[str, Iterable[str]]] | None = None,
    ) -> None:
        self._datasets: dict[str, tuple[str, ...]] = {}
        self._columns: dict[str, dict[str, tuple[str, ...]]] = {}
        for depot in depots:
            for dataset, tags in depot.dataset_tags().items():
                self._datasets[dataset] = _merged(self._datasets.get(dataset, ()), tags)
            for dataset, columns in depot.column_tags().items():
                known = self._columns.setdefault(dataset, {})
                for column, tags in columns.items():
                    known[column] = _merged(known.get(column, ()), tags)
        for dataset, derived_columns in (derived or {}).items():
            known = self._columns.setdefault(dataset.lower(), {})
            for column, column_tags in derived_columns.items():
                known[column.lower()] = _merged(known.get(column.lower(), ()), column_tags)

    def for_table(self, name: TableName) -> DatasetTags:
        key = name.dataset_id.lower()
        return self._datasets.get(key, ()), dict(self._columns.get(key, {}))

    def column_tags(self) -> Mapping[str, Mapping[str, tuple[str, ...]]]:
        """Every declared column tag: dataset id -> column -> tags (for Heimdall's Trino
        document, ``heimdall.trino_data.compile_column_tags``)."""
        return self._columns


class LiveColumnTags:
    """The column tags of the moment: a :class:`ColumnTags` whose source is replaced as a
    whole when the tags change (each store change, in the Gateway). Clusters keep this one
    object, so new tags reach the next table they describe without rebuilding them."""

    def __init__(self, source: ColumnTags | None = None) -> None:
        self._source: ColumnTags = source or ManifestColumnTags(())

    def replace(self, source: ColumnTags) -> None:
        self._source = source

    def for_table(self, name: TableName) -> DatasetTags:
        return self._source.for_table(name)


def _merged(first: Iterable[str], second: Iterable[str]) -> tuple[str, ...]:
    """Both tag lists, each tag once, in the order first seen."""
    return tuple(dict.fromkeys([*first, *second]))


def merged_column_tags(
    *sources: Mapping[str, Mapping[str, Iterable[str]]],
) -> dict[str, dict[str, tuple[str, ...]]]:
    """The union of column tag maps (dataset id -> column -> tags), keys lower case.

    >>> merged_column_tags({"a.b.c": {"Email": ["PII.Email"]}}, {"a.b.c": {"email": ["X"]}})
    {'a.b.c': {'email': ('PII.Email', 'X')}}
    """
    found: dict[str, dict[str, tuple[str, ...]]] = {}
    for source in sources:
        for dataset, columns in source.items():
            known = found.setdefault(dataset.lower(), {})
            for column, tags in columns.items():
                known[column.lower()] = _merged(known.get(column.lower(), ()), tags)
    return found
