"""Keeping the history small and bounded: compaction of a day's parts, retention of days.

Compaction merges the parts of one day and workspace into parts of at most
:data:`MAX_COMPACTED_ROWS` rows, then deletes the parts it merged. The merged part is named
after the parts it replaces (a hash of their names), so two compactions racing over the same
parts write the same file and delete the same inputs: the rows stay once. Parts appended
while a compaction runs are not among its inputs and stay as they are. A reader that lists
the folder between the merged part's arrival and the inputs' deletion can count those rows
twice for that one query, and a query still reading a deleted input fails (the next one
lists again); so :func:`maintain` compacts closed days, and today only once it is crowded.

Retention deletes whole ``day=`` folders older than the store's retention, nothing else.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from itertools import groupby
from typing import TYPE_CHECKING

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from dataos_defs.caretaker.history_schema import KINDS

if TYPE_CHECKING:
    from dataos_defs.caretaker.history import HistoryStore, Part

MAX_COMPACTED_ROWS = 1_000_000
COMPACT_TODAY_AT_PARTS = 64
"""Today's partitions are compacted once one holds this many parts (closed days always)."""
MAX_DAYS_PER_MAINTENANCE = 14
"""Days compacted by one :func:`maintain` call at most (the rest wait for the next call)."""


def compact_day(store: HistoryStore, kind: str, day: date) -> list[str]:
    """Merge each workspace's parts of ``day``; return the parts written (none when every
    workspace already has a single part)."""
    written: list[str] = []
    parts = store.parts(kind, day)
    for workspace, grouped in groupby(parts, key=lambda p: p.workspace):
        group = list(grouped)
        if len(group) < 2:
            continue
        folder = store.partition_folder(kind, day, workspace)
        for batch in _batches(store, group):
            merged = pa.concat_tables(
                [store.read_part(p) for p in batch], promote_options="permissive"
            )
            written.append(store.write_part(folder, _merged_name(batch), merged))
            for part in batch:
                if store.fs.exists(part.path):
                    store.fs.rm(part.path)
    return written


def maintain(store: HistoryStore, now: datetime) -> tuple[list[str], list[str]]:
    """Retention, then compaction of the days that need it (oldest first, bounded): what a
    periodic job (a Dagster schedule or the recorder's sensor) calls. Returns the folders
    deleted and the parts written."""
    deleted = delete_expired(store, now)
    written: list[str] = []
    budget = MAX_DAYS_PER_MAINTENANCE
    for kind in KINDS:
        for day in store.days(kind):
            if budget == 0:
                return deleted, written
            if _needs_compaction(store, kind, day, now.date()):
                written.extend(compact_day(store, kind, day))
                budget -= 1
    return deleted, written


def _needs_compaction(store: HistoryStore, kind: str, day: date, today: date) -> bool:
    counts = Counter(part.workspace for part in store.parts(kind, day))
    threshold = COMPACT_TODAY_AT_PARTS if day >= today else 2
    return any(count >= threshold for count in counts.values())


def delete_expired(store: HistoryStore, now: datetime) -> list[str]:
    """Delete the day partitions before ``now``'s day minus the retention; the folders
    deleted, as URLs."""
    oldest_kept = now.date() - timedelta(days=store.retention_days)
    deleted: list[str] = []
    for kind in KINDS:
        for day in store.days(kind):
            if day < oldest_kept:
                folder = f"{store.root}/{kind}/day={day.isoformat()}"
                store.fs.rm(folder, recursive=True)
                deleted.append(store.url_of(folder))
    return deleted


def _batches(store: HistoryStore, parts: Sequence[Part]) -> Iterator[list[Part]]:
    """Consecutive parts whose rows add up to at most MAX_COMPACTED_ROWS (a part larger
    than that is a batch of its own); a batch of one part is not rewritten."""
    batch: list[Part] = []
    rows = 0
    for part in parts:
        count = _row_count(store, part)
        if batch and rows + count > MAX_COMPACTED_ROWS:
            if len(batch) > 1:
                yield batch
            batch, rows = [], 0
        batch.append(part)
        rows += count
    if len(batch) > 1:
        yield batch


def _row_count(store: HistoryStore, part: Part) -> int:
    with store.fs.open(part.path, "rb") as handle:
        return int(pq.ParquetFile(handle).metadata.num_rows)


def _merged_name(batch: Sequence[Part]) -> str:
    names = [p.path.rsplit("/", 1)[-1] for p in batch]
    first_stamp = names[0].removeprefix("part-").split("-", 1)[0]
    digest = hashlib.sha256("\n".join(sorted(names)).encode()).hexdigest()[:32]
    return f"part-{first_stamp}-c{digest}"
