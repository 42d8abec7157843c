"""A file depot in the embedded engine: each dataset is a view over DuckDB's file reader.

Datasets are found where flare writes them (``stacks/flare/datasets.py``): under the depot's
folder (relative to ``DATAOS_HOME``), ``<collection>/<dataset>.<ext>`` is one file and
``<collection>/<dataset>/`` a folder of files (read recursively); the collection ``none``
is the depot's folder itself. Listing the depot folder: a file is a dataset of ``none``; a
folder whose data files are all ``part-*`` files (what flare writes) is a dataset of
``none``; any other folder is a collection. Files and folders starting with ``.`` or ``_``
are ignored. A view lists its files, so each query lists the folder again and a new or
removed file rebuilds the view.

The depot's folder is confined (``adapters.localfs``) on every listing and read, and every
file a view reads must resolve inside that real folder: a symbolic link made after the
depot was applied is refused with a MinervaError naming the depot, the path and the rule.
Links that leave the folder are left out of listings.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb

from dataos_defs.adapters.duckdb_engine import READERS
from dataos_defs.adapters.localfs import Storage, StorageError
from dataos_defs.manifest.base import Scalar
from dataos_defs.manifest.depot_types import FileConnection
from dataos_defs.minerva.duck import Database, Freshness, sql_string
from dataos_defs.minerva.model import TableName
from dataos_defs.minerva.result import MinervaError
from dataos_defs.minerva.sources import Columns, gone

FLAT = "none"
_OPTION = re.compile(r"^[a-z_][a-z0-9_]*$")
_UNSAFE = re.compile(r"[/\\*?\[\]{}]|^[._]")
"""Names that are globs, paths or hidden (``.``/``_``, as listings leave them out)."""


class FileSource:
    def __init__(self, depot: str, conn: FileConnection, storage: Storage, db: Database) -> None:
        self.depot = depot
        self.path = conn.path
        self.storage = storage
        self.ext = "." + conn.format
        self.reader = READERS[conn.format]
        self.options = _reader_options(conn.options or {})
        self._db = db
        self._fresh = Freshness()

    def root(self) -> Path:
        """The depot's real folder, confined now (a link may have been made since)."""
        try:
            return self.storage.confine(self.path)
        except StorageError as exc:
            raise refused(self.depot, exc) from None

    def datasets(self) -> list[tuple[str, str]]:
        root = self.root()
        if not root.is_dir():
            return []
        found: set[tuple[str, str]] = set()
        for entry in _visible(root, root):
            if entry.is_file() and entry.suffix == self.ext:
                found.add((FLAT, entry.stem.lower()))
            elif entry.is_dir() and self._written_by_flare(entry, root):
                found.add((FLAT, entry.name.lower()))
            elif entry.is_dir():
                found.update((entry.name.lower(), n) for n in self._datasets_in(entry, root))
        return sorted(found)

    def describe(self, collection: str, dataset: str) -> Columns | None:
        query = self._query(collection, dataset)
        if query is None:
            return None
        try:
            return self._db.describe(query)
        except duckdb.Error as exc:
            raise MinervaError(
                f"cannot read {self.depot}.{collection}.{dataset} ({self.reader}): {exc}"
            ) from None

    def refresh(self, name: TableName, physical: str) -> None:
        """Create the view once; again only if the dataset moved (a file became a folder)."""
        query = self._query(name.collection, name.dataset)
        if query is None:
            raise gone(name)
        key = name.dataset_id
        if self._fresh.current(key, query):
            return
        with self._fresh.updating(key):
            if not self._fresh.current(key, query):
                self._db.replace_view(physical, query)
                self._fresh.built(key, query)

    def close(self) -> None:
        """Nothing to release: the views go with the database."""

    def _query(self, collection: str, dataset: str) -> str | None:
        """The reader query of a dataset, or None when no file holds it."""
        if _UNSAFE.search(collection) or _UNSAFE.search(dataset):
            return None
        root = self.root()
        folder = root if collection == FLAT else _child(root, collection)
        if folder is None or not folder.is_dir():
            return None
        single = _child(folder, dataset + self.ext)
        if single is not None and single.is_file():
            return self._select(sql_string(str(self._within(root, single))))
        data = _child(folder, dataset)
        files = _data_files(data, self.ext) if data is not None and data.is_dir() else []
        if not files:
            return None
        real = [self._within(root, f) for f in files]
        return self._select("[" + ", ".join(sql_string(str(f)) for f in real) + "]")

    def _within(self, root: Path, path: Path) -> Path:
        try:
            return self.storage.within(root, path, self.path)
        except StorageError as exc:
            raise refused(self.depot, exc) from None

    def _select(self, paths: str) -> str:
        return f"SELECT * FROM {self.reader}({paths}{self.options})"

    def _written_by_flare(self, folder: Path, root: Path) -> bool:
        files = [p for p in _visible(folder, root) if p.is_file() and p.suffix == self.ext]
        return bool(files) and all(p.name.startswith("part-") for p in files)

    def _datasets_in(self, collection: Path, root: Path) -> list[str]:
        names = []
        for entry in _visible(collection, root):
            if entry.is_file() and entry.suffix == self.ext:
                names.append(entry.stem.lower())
            elif entry.is_dir() and any(_data_files(entry, self.ext)):
                names.append(entry.name.lower())
        return names


def refused(depot: str, exc: StorageError) -> MinervaError:
    """A confinement refusal as the error a query gets: the depot, the path, the rule."""
    return MinervaError(f"depot '{depot}' is refused: {exc}")


def _visible(folder: Path, root: Path) -> list[Path]:
    """Entries not hidden, without links that leave the depot's real folder ``root``."""
    return sorted(
        p
        for p in folder.iterdir()
        if not p.name.startswith((".", "_")) and (not p.is_symlink() or _inside(p, root))
    )


def _inside(path: Path, root: Path) -> bool:
    return Path(os.path.realpath(path)).is_relative_to(root)


def _data_files(folder: Path, ext: str) -> list[Path]:
    """The data files under ``folder``, none hidden or inside a hidden folder, in order (the
    list is part of the view's query, so a new or removed file rebuilds the view)."""
    return sorted(
        p
        for p in folder.rglob("*" + ext)
        if not any(part.startswith((".", "_")) for part in p.relative_to(folder).parts)
    )


def _child(folder: Path, name: str) -> Path | None:
    """``folder/name``, matching the name case-insensitively when no exact entry exists."""
    exact = folder / name
    if exact.exists():
        return exact
    if not folder.is_dir():
        return None
    wanted = name.lower()
    return next((p for p in folder.iterdir() if p.name.lower() == wanted), None)


def _reader_options(options: dict[str, Scalar]) -> str:
    """The depot's ``options`` as named reader parameters (``, header = true``)."""
    parts = []
    for key, value in sorted(options.items()):
        if not _OPTION.match(key):
            raise MinervaError(f"file depot option '{key}' is not a reader parameter name")
        if isinstance(value, bool):
            literal = "true" if value else "false"
        elif isinstance(value, int | float):
            literal = repr(value)
        else:
            literal = sql_string(str(value))
        parts.append(f", {key} = {literal}")
    return "".join(parts)
