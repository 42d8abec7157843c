"""Caretaker's history: runs, steps and processes appended as Parquet partitions to blob storage.

Layout, one Hive-style partition per day (UTC) and workspace::

    <root>/<kind>/day=YYYY-MM-DD/workspace=<ws>/part-<recorded ms>-<uuid>.parquet

``kind`` is ``runs``, ``steps`` or ``processes`` (:mod:`history_schema` gives their Arrow
schemas). A record's day is that of its start (else its end, else when it was appended).

Where: ``DATAOS_CARETAKER_HISTORY_URL`` (an fsspec URL: ``s3://bucket/caretaker``,
``gs://...``, ``abfs://...``; the matching fsspec package, e.g. ``s3fs``, must be installed
where it is used; credentials come from its own chain, never the URL), else the folder
``$DATAOS_HOME/caretaker/history``. Every file operation goes through fsspec, so the tests
exercise the URL path on fsspec's ``memory://`` file system, a stand-in for the object
stores (no object store runs where this is developed).

Writes are atomic for readers: a part is written under ``<name>.parquet.tmp`` and moved to its
name when complete (a rename on a local disk; on object stores an object only appears once
its upload completes). Readers list ``part-*.parquet`` only, so they never see a partial file.
Every append writes new, uniquely named files, so concurrent appends (threads, processes)
never lose each other's rows.

Bounds: at most :data:`MAX_RECORDS_PER_APPEND` records per append (a larger batch is refused,
nothing written); texts clipped (``history_schema.MAX_TEXT_CHARS``); partitions older than
the retention (``DATAOS_CARETAKER_HISTORY_RETENTION_DAYS``, default 90) are deleted by
:meth:`HistoryStore.apply_retention`; :meth:`HistoryStore.compact` merges a day's small parts
(each append writes its own files); :meth:`HistoryStore.maintain` does both, bounded, for a
periodic job (``history_maintenance.py``).
"""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlparse

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from fsspec import AbstractFileSystem  # type: ignore[import-untyped]
from fsspec.core import url_to_fs  # type: ignore[import-untyped]

from dataos_defs.caretaker.checks import CheckRecord
from dataos_defs.caretaker.history_maintenance import compact_day, delete_expired, maintain
from dataos_defs.caretaker.history_schema import (
    KINDS,
    HistoryError,
    HistoryRecord,
    arrow_schema,
    record_class,
    to_table,
)

URL_ENV = "DATAOS_CARETAKER_HISTORY_URL"
RETENTION_ENV = "DATAOS_CARETAKER_HISTORY_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 90
MAX_RETENTION_DAYS = 3650
MAX_RECORDS_PER_APPEND = 50_000
OWNERS_REMEMBERED = 10_000
"""Owners (``run_as``) of the latest runs appended, to fill the steps appended after them."""
PART_SUFFIX = ".parquet"
TEMP_SUFFIX = ".parquet.tmp"
_DAY_FOLDER = re.compile(r"^day=(\d{4}-\d{2}-\d{2})$")
_PART_NAME = re.compile(r"^\d{13}-[0-9a-f]{8,32}(-\d{1,6})?$")
_WORKSPACE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")


@dataclass(frozen=True)
class Part:
    """One Parquet file of the history, with the partition its path names."""

    path: str
    kind: str
    day: date
    workspace: str


def default_root(home: Path | None = None) -> str:
    base = home or Path(os.environ.get("DATAOS_HOME", ".dataos"))
    return str((base / "caretaker" / "history").resolve())


def retention_from_env(environ: Mapping[str, str] | None = None) -> int:
    env = os.environ if environ is None else environ
    raw = env.get(RETENTION_ENV, "").strip()
    if not raw:
        return DEFAULT_RETENTION_DAYS
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_RETENTION_DAYS:
        raise HistoryError(
            f"{RETENTION_ENV} must be a whole number of days from 1 to {MAX_RETENTION_DAYS},"
            f" not {raw!r}",
            f"unset it for the default of {DEFAULT_RETENTION_DAYS} days",
        )
    return int(raw)


class HistoryStore:
    """The history under one root URL (a local folder when ``url`` is None)."""

    def __init__(
        self,
        url: str | None,
        retention_days: int = DEFAULT_RETENTION_DAYS,
        *,
        home: Path | None = None,
        max_records: int = MAX_RECORDS_PER_APPEND,
    ) -> None:
        if not 1 <= retention_days <= MAX_RETENTION_DAYS:
            raise HistoryError(
                f"history retention must be 1 to {MAX_RETENTION_DAYS} days, not {retention_days}"
            )
        if url and urlparse(url).password:
            raise HistoryError(
                f"{URL_ENV} must not hold credentials",
                "give the object store's credentials the way its fsspec package reads them"
                " (environment, instance role), never in the URL",
            )
        self.url = url or default_root(home)
        self.fs: AbstractFileSystem
        self.fs, self.root = url_to_fs(self.url)
        self.root = self.root.rstrip("/")
        self.retention_days = retention_days
        self.max_records = max_records
        self._owners: OrderedDict[str, str | None] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, home: Path | None = None) -> HistoryStore:
        url = os.environ.get(URL_ENV, "").strip() or None
        return cls(url, retention_from_env(), home=home)

    @property
    def is_local(self) -> bool:
        return "file" in _protocols(self.fs)

    def exists(self) -> bool:
        """Whether anything was ever written here (the root exists)."""
        return bool(self.fs.exists(self.root))

    def append(
        self,
        kind: str,
        records: Sequence[HistoryRecord],
        *,
        owners: Mapping[str, str | None] | None = None,
        name: str | None = None,
    ) -> list[str]:
        """Write the records as new parts, one per day and workspace; return their URLs
        (plain paths for a local history). Every part is written under its temp name
        first and published only once all of them are written.

        Steps and processes carry the ``run_as`` of their run: from ``owners`` (run id ->
        owner) when given, else remembered from the runs this store appended before (the
        recorder appends a run, then its steps); unknown owners stay NULL, which only an
        operator reads. Bad input raises :class:`HistoryError` and writes nothing.

        ``name`` (``<13-digit ms>-<hex>[-<n>]``) names the parts instead of a fresh uuid:
        appending the same records under the same name again replaces those parts rather
        than adding rows, which is how the recorder retries a batch after a crash."""
        record_class(kind)
        if name is not None and not _PART_NAME.match(name):
            raise HistoryError(f"part name {name!r} is not <13-digit ms>-<hex>[-<n>]")
        if len(records) > self.max_records:
            raise HistoryError(
                f"{len(records)} {kind} records in one append exceed the bound of"
                f" {self.max_records}",
                "append them in smaller batches",
            )
        if not records:
            return []
        recorded_ms = int(time.time() * 1000)
        groups = self._partitions(records, recorded_ms)
        table = to_table(kind, records, recorded_ms, self._owners_for(kind, records, owners))
        staged: list[tuple[str, str]] = []
        try:
            for (day, workspace), rows in sorted(groups.items()):
                folder = self.partition_folder(kind, day, workspace)
                part = f"part-{name or f'{recorded_ms:013d}-{uuid.uuid4().hex}'}"
                staged.append(self._stage(folder, part, table.take(rows)))
        except BaseException:
            self._discard([temp for temp, _ in staged])
            raise
        for temp, final in staged:
            self.fs.mv(temp, final)
        return [self.url_of(final) for _, final in staged]

    def parts(self, kind: str, day: date | None = None) -> list[Part]:
        """The complete parts of a kind (of one day), in path order; temp files excluded."""
        record_class(kind)
        day_glob = f"day={day.isoformat()}" if day else "day=*"
        found = self.fs.glob(f"{self.root}/{kind}/{day_glob}/workspace=*/part-*{PART_SUFFIX}")
        parts = [_part(str(path), kind) for path in found]
        return sorted((p for p in parts if p is not None), key=lambda p: p.path)

    def days(self, kind: str) -> list[date]:
        """The day partitions a kind has, oldest first."""
        record_class(kind)
        folder = f"{self.root}/{kind}"
        if not self.fs.exists(folder):
            return []
        names = (str(p).rstrip("/").rsplit("/", 1)[-1] for p in self.fs.ls(folder, detail=False))
        return sorted(date.fromisoformat(m[1]) for n in names if (m := _DAY_FOLDER.match(n)))

    def read(self, kind: str, day: date | None = None) -> pa.Table:
        """Every row of a kind (of one day) as Arrow, with ``day`` from the partition."""
        schema = arrow_schema(kind).append(pa.field("day", pa.date32()))
        tables = [self.read_part(part, with_day=True) for part in self.parts(kind, day)]
        return (
            pa.concat_tables(tables, promote_options="permissive")
            if tables
            else schema.empty_table()
        )

    def read_part(self, part: Part, *, with_day: bool = False) -> pa.Table:
        with self.fs.open(part.path, "rb") as handle:
            table = pq.read_table(handle)
        if with_day:
            days = pa.array([part.day] * table.num_rows, pa.date32())
            table = table.append_column("day", days)
        return table

    def url_of(self, path: str) -> str:
        """A path of this file system as a URL (plain path for local files)."""
        return path if self.is_local else self.fs.unstrip_protocol(path)

    def partition_folder(self, kind: str, day: date, workspace: str) -> str:
        return f"{self.root}/{kind}/day={day.isoformat()}/workspace={workspace}"

    def write_part(self, folder: str, name: str, table: pa.Table) -> str:
        """Write ``table`` to ``folder/name.parquet`` through a temp name; return its path."""
        temp, final = self._stage(folder, name, table)
        self.fs.mv(temp, final)
        return final

    def _stage(self, folder: str, name: str, table: pa.Table) -> tuple[str, str]:
        """Write the part under its temp name (removed again if the write fails)."""
        self.fs.makedirs(folder, exist_ok=True)
        temp = f"{folder}/{name}{TEMP_SUFFIX}"
        try:
            with self.fs.open(temp, "wb") as handle:
                pq.write_table(table, handle, compression="zstd")
        except BaseException:
            self._discard([temp])
            raise
        return temp, f"{folder}/{name}{PART_SUFFIX}"

    def _discard(self, temps: Sequence[str]) -> None:
        for temp in temps:
            if self.fs.exists(temp):
                self.fs.rm(temp)

    def compact(self, kind: str, day: date) -> list[str]:
        """Merge each workspace's parts of ``day`` into one (see history_maintenance)."""
        return compact_day(self, kind, day)

    def apply_retention(self, now: datetime | None = None) -> list[str]:
        """Delete every day partition older than the retention; return what was deleted."""
        return delete_expired(self, now or datetime.now(UTC))

    def maintain(self, now: datetime | None = None) -> tuple[list[str], list[str]]:
        """Apply the retention, then compact the days with many parts (history_maintenance);
        the folders deleted and the parts written."""
        return maintain(self, now or datetime.now(UTC))

    def _partitions(
        self, records: Sequence[HistoryRecord], recorded_ms: int
    ) -> dict[tuple[date, str], list[int]]:
        groups: dict[tuple[date, str], list[int]] = {}
        for index, record in enumerate(records):
            if not _WORKSPACE.match(record.workspace):
                raise HistoryError(
                    f"record {index}: workspace {record.workspace!r} cannot name a partition",
                    "a workspace is letters, digits, '-' and '_' (at most 128)",
                )
            moment = _moment(record) or recorded_ms
            day = datetime.fromtimestamp(moment / 1000, UTC).date()
            groups.setdefault((day, record.workspace), []).append(index)
        return groups

    def _owners_for(
        self,
        kind: str,
        records: Sequence[HistoryRecord],
        given: Mapping[str, str | None] | None,
    ) -> dict[str, str | None]:
        with self._lock:
            if kind == "runs":
                for record in records:
                    self._owners[record.run_id or ""] = getattr(record, "run_as", None)
                    self._owners.move_to_end(record.run_id or "")
                while len(self._owners) > OWNERS_REMEMBERED:
                    self._owners.popitem(last=False)
                return {}
            return {**self._owners, **(given or {})}


def _protocols(fs: AbstractFileSystem) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


def _part(path: str, kind: str) -> Part | None:
    """The part a listed path is, or None when its folders are not a partition."""
    pieces = path.rstrip("/").split("/")
    if len(pieces) < 3:
        return None
    day_folder, workspace_folder = pieces[-3], pieces[-2]
    day = _DAY_FOLDER.match(day_folder)
    workspace = workspace_folder.removeprefix("workspace=")
    if day is None or not _WORKSPACE.match(workspace):
        return None
    return Part(path, kind, date.fromisoformat(day[1]), workspace)


def _moment(record: HistoryRecord) -> int | None:
    """When the record happened: its start, else its end (a check: when it was evaluated)."""
    if isinstance(record, CheckRecord):
        return record.evaluated_ms
    return record.started_ms or record.ended_ms


__all__ = ["KINDS", "HistoryError", "HistoryStore", "Part"]
