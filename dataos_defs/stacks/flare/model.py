"""What a flare run needs from its caller and what it hands back."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from dataos_defs.manifest.depot import Depot


class DepotResolver(Protocol):
    """Depots by name and their credentials, resolved by the caller from secrets at run time.

    ``depot`` raises ``LookupError`` (or ``KeyError``) for a depot that does not exist.
    ``credentials`` returns the key-values of the set for ``acl`` (``username``/``user``,
    ``password``); only the values of keys other than the user name are treated as secret.
    """

    def depot(self, name: str) -> Depot: ...

    def credentials(self, name: str, acl: str) -> Mapping[str, str]: ...


class AccessDenied(Exception):
    """A :class:`Governor` refused the run: its identity may not read or write a dataset,
    or no decision could be made (``decided`` False). The message says who, what and why;
    the stacks pass it on untouched, and nothing has been read or written for it."""

    def __init__(self, message: str, *, decided: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.decided = decided


class Governor(Protocol):
    """The identity a run acts as, enforced by the caller (the code location).

    A run asks :meth:`authorize` for everything it will read and write before it reads
    anything; every dataset it loads is then replaced, right after loading, by what
    :meth:`govern` lets that identity see; and before an output is written,
    :meth:`derive_tags` records the column tags it inherits. Each raises
    :class:`AccessDenied` to stop the run (fail closed). Addresses are UDLs without
    ``?acl`` (``dataos://depot:collection/dataset``).
    """

    def authorize(self, reads: Sequence[str], writes: Sequence[str]) -> None:
        """Raise unless the identity may read every ``reads`` and write every ``writes``."""
        ...

    def govern(self, address: str, columns: Sequence[tuple[str, str]], relation: str) -> str | None:
        """A DuckDB ``SELECT`` over ``relation`` (quoted SQL name of the loaded data, whose
        ``(name, DuckDB type)`` columns are ``columns``) with the identity's masks and row
        filters, or None when none applies. Raises for a dataset not authorized."""
        ...

    def derive_tags(
        self,
        address: str,
        lineage: Mapping[str, Sequence[ColumnSource]],
        untraced: Collection[str] = (),
        *,
        append: bool = False,
    ) -> None:
        """Record, before ``address`` is written, the tags each of its columns inherits from
        the columns ``lineage`` names; ``untraced`` columns (lineage unknown) inherit the
        tags of everything the run read. An ``append`` keeps the tags the dataset's rows
        already carry. Raises for a dataset not authorized for writing."""
        ...


class FlareError(Exception):
    """A failed flare run: ``where`` names the input, step or output (``step 'x'``).

    A failure inside a SQL step also carries the ``step``'s name and the ``sql`` its author
    wrote (credentials redacted), which the code location logs beside the error."""

    def __init__(
        self, where: str, problem: str, *, step: str | None = None, sql: str | None = None
    ) -> None:
        self.where = where
        self.problem = problem
        self.step = step
        self.sql = sql
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class ColumnSource:
    """An input column an output column is derived from."""

    dataset: str
    column: str


@dataclass(frozen=True)
class InputResult:
    name: str
    dataset: str | None
    rows: int


@dataclass(frozen=True)
class OutputResult:
    """One written dataset; ``asset_key`` is ``(depot, collection, dataset)``."""

    name: str
    dataset: str
    asset_key: tuple[str, str, str]
    rows: int
    columns: tuple[tuple[str, str], ...]
    save_mode: str
    format: str
    lineage: Mapping[str, tuple[ColumnSource, ...]]
    written: bool


@dataclass(frozen=True)
class FlareResult:
    inputs: tuple[InputResult, ...]
    outputs: tuple[OutputResult, ...]
    state: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    dry_run: bool = False


class Redactor:
    """Removes credential values from text that may reach a user (error messages)."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def add(self, values: Iterable[str]) -> None:
        self._secrets.update(v for v in values if v and len(v) >= 3)

    def __call__(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text
