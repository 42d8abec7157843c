"""What a Minerva cluster says about its datasets: names, columns and where the engine finds them.

These are the Gateway's words (``dataos_defs/gateway/model.py`` describes the same tables);
they live here, one layer below the Gateway, because the clusters produce them and a lower
layer may not import a higher one. The Gateway should re-export these classes rather than
define its own, so both layers share one set of types.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class TableName:
    """A dataset as SQL names it: ``depot.collection.dataset`` (catalog, schema, table).

    Names are kept as the catalog spells them (lower case for every engine we serve)."""

    depot: str
    collection: str
    dataset: str

    @property
    def dataset_id(self) -> str:
        return f"{self.depot}.{self.collection}.{self.dataset}"

    @property
    def address(self) -> str:
        """The dataset's UDL, the object Heimdall decides on."""
        return f"dataos://{self.depot}:{self.collection}/{self.dataset}"


@dataclass(frozen=True)
class Column:
    """A column with its engine type (DuckDB spelling, e.g. ``VARCHAR``, ``BIGINT``,
    ``DECIMAL(10,2)``, ``DATE``, ``TIMESTAMP WITH TIME ZONE``) and its catalog tags
    (e.g. ``PII.Email``)."""

    name: str
    type: str
    tags: tuple[str, ...] = ()
    engine_type: str = ""
    """The type exactly as the engine reports it when its spelling differs from DuckDB's
    (a Trino catalog's ``varchar(4)``, ``timestamp(3) with time zone``): the Gateway's
    Trino masks cast back to it, as Trino's OPA plugin does. Empty for DuckDB engines."""


@dataclass(frozen=True)
class Table:
    """A dataset the cluster can read: its name, its columns in order and the name under
    which the engine reaches it (``physical``, already quoted SQL in the engine's dialect).
    Only the rewrite writes ``physical`` into SQL; users never see or name it."""

    name: TableName
    columns: tuple[Column, ...]
    physical: str
    tags: tuple[str, ...] = ()

    def column(self, name: str) -> Column | None:
        wanted = name.lower()
        return next((c for c in self.columns if c.name.lower() == wanted), None)


class Catalog(Protocol):
    """What a cluster exposes to the Gateway: the datasets it can read."""

    def table(self, name: TableName) -> Table | None:
        """The dataset, or None when the cluster cannot resolve it (names compared
        case-insensitively)."""

    def tables(self) -> list[TableName]:
        """Every dataset of the cluster (for SHOW and for tests)."""
