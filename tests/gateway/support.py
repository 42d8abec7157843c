"""A catalog of fixed tables for rewrite tests and the rewrite benchmark."""

from __future__ import annotations

from dataos_defs.gateway.model import Table, TableName


class DictCatalog:
    """The given tables, looked up by dataset id, case-insensitively (as the engines do)."""

    def __init__(self, *tables: Table) -> None:
        self._tables = {table.name.dataset_id.lower(): table for table in tables}

    def table(self, name: TableName) -> Table | None:
        return self._tables.get(name.dataset_id.lower())

    def tables(self) -> list[TableName]:
        return [table.name for table in self._tables.values()]
