"""What the embedded cluster needs from each attached depot, whatever kind it is."""

from __future__ import annotations

from typing import Protocol

from dataos_defs.minerva.model import TableName
from dataos_defs.minerva.result import MinervaError

Columns = list[tuple[str, str]]
"""``(column, DuckDB type)`` in order."""


class Source(Protocol):
    """One depot attached to the embedded engine.

    ``datasets`` lists ``(collection, dataset)`` pairs without reading data; ``describe``
    gives a dataset's columns from metadata (None when it does not exist); ``refresh``
    makes the dataset's physical object exist and be current before a query reads it.
    Names arrive in lower case and are matched case-insensitively."""

    def datasets(self) -> list[tuple[str, str]]: ...

    def describe(self, collection: str, dataset: str) -> Columns | None: ...

    def refresh(self, name: TableName, physical: str) -> None: ...

    def close(self) -> None: ...


def gone(name: TableName) -> MinervaError:
    return MinervaError(f"table '{name.dataset_id}' no longer exists")
