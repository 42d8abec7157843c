"""The Arrow schema of each history kind, derived from the record classes with explicit types.

A history row is a record of :mod:`dataos_defs.caretaker.records` (same names, same meaning)
plus two columns the history adds:

* ``run_as`` on steps and checks: the owner of their run, so a reader can be limited to
  the runs they own on every table (a run, and a process, already have it; a process
  without one takes its run's);
* ``recorded_ms``: when the row was appended (the history is append-only: a run recorded
  twice has two rows, and the newest ``recorded_ms`` is its latest state).

Text columns are bounded (:data:`MAX_TEXT_CHARS`); an error longer than that keeps its start.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import fields
from functools import cache
from typing import Any, Literal, get_args, get_origin

import pyarrow as pa  # type: ignore[import-untyped]

from dataos_defs.caretaker.checks import CheckRecord
from dataos_defs.caretaker.records import ProcessRecord, RunRecord, StepRecord

HistoryRecord = RunRecord | StepRecord | ProcessRecord | CheckRecord
RecordClass = type[RunRecord] | type[StepRecord] | type[ProcessRecord] | type[CheckRecord]
KINDS: dict[str, RecordClass] = {
    "runs": RunRecord,
    "steps": StepRecord,
    "checks": CheckRecord,
    "processes": ProcessRecord,
}
"""History kind -> the record class its rows hold (also the dataset names Minerva serves)."""
MAX_TEXT_CHARS = 4000
RUN_AS = "run_as"
RECORDED_MS = "recorded_ms"
_ARROW_TYPES: dict[type, pa.DataType] = {
    str: pa.string(),
    int: pa.int64(),
    float: pa.float64(),
    bool: pa.bool_(),
}


class HistoryError(ValueError):
    """Bad input to the history (unknown kind, wrong record class, too many records): says
    what is wrong and, when it helps, what to do instead. Nothing was written."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(f"{message} (hint: {hint})" if hint else message)
        self.message = message
        self.hint = hint


def record_class(kind: str) -> RecordClass:
    found = KINDS.get(kind)
    if found is None:
        raise HistoryError(
            f"unknown history kind '{kind}'", f"use one of: {', '.join(sorted(KINDS))}"
        )
    return found


@cache
def arrow_schema(kind: str) -> pa.Schema:
    """The record's fields with their Arrow types, then ``run_as`` (if the record has none)
    and ``recorded_ms``; every field nullable unless the record says it cannot be None."""
    cls = record_class(kind)
    hints = typing.get_type_hints(cls)
    columns = [
        pa.field(f.name, *_arrow_type(hints[f.name], f"{cls.__name__}.{f.name}"))
        for f in fields(cls)
    ]
    names = {f.name for f in fields(cls)}
    if RUN_AS not in names:
        columns.append(pa.field(RUN_AS, pa.string(), nullable=True))
    columns.append(pa.field(RECORDED_MS, pa.int64(), nullable=False))
    return pa.schema(columns)


def duckdb_columns(kind: str) -> list[tuple[str, str]]:
    """``(column, DuckDB type)`` of a history table as Minerva serves it (``day`` last)."""
    spelled = {
        pa.string(): "VARCHAR",
        pa.int64(): "BIGINT",
        pa.float64(): "DOUBLE",
        pa.bool_(): "BOOLEAN",
    }
    columns = [(f.name, spelled[f.type]) for f in arrow_schema(kind)]
    return [*columns, ("day", "DATE")]


def to_table(
    kind: str,
    records: Sequence[HistoryRecord],
    recorded_ms: int,
    owners: Mapping[str, str | None],
) -> pa.Table:
    """The records as an Arrow table of the kind's schema (texts clipped, owners filled)."""
    cls = record_class(kind)
    schema = arrow_schema(kind)
    wrong = next((r for r in records if not isinstance(r, cls)), None)
    if wrong is not None:
        raise HistoryError(
            f"history '{kind}' holds {cls.__name__} rows, not {type(wrong).__name__}",
            f"append {type(wrong).__name__} records to their own kind",
        )
    rows = [_row(record, recorded_ms, owners) for record in records]
    try:
        return pa.Table.from_pylist(rows, schema=schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise HistoryError(
            f"{kind} records do not match their types: {exc}",
            f"build them as {cls.__name__} declares",
        ) from None


def _row(
    record: HistoryRecord, recorded_ms: int, owners: Mapping[str, str | None]
) -> dict[str, Any]:
    row = {f.name: getattr(record, f.name) for f in fields(record)}
    for name, value in row.items():
        if isinstance(value, str) and len(value) > MAX_TEXT_CHARS:
            row[name] = value[:MAX_TEXT_CHARS]
    if row.get(RUN_AS) is None:
        run_id = row.get("run_id")
        row[RUN_AS] = owners.get(run_id) if isinstance(run_id, str) else None
    row[RECORDED_MS] = recorded_ms
    return row


def _arrow_type(hint: Any, where: str) -> tuple[pa.DataType, bool]:
    """The Arrow type of a field's annotation, and whether it may be None."""
    nullable = False
    if get_origin(hint) in (typing.Union, types.UnionType):
        members = [a for a in get_args(hint) if a is not type(None)]
        nullable = len(members) < len(get_args(hint))
        if len(members) != 1:
            raise HistoryError(f"{where}: a union of {members} has no history type")
        hint = members[0]
    if get_origin(hint) is Literal:
        values = get_args(hint)
        hint = type(values[0])
    found = _ARROW_TYPES.get(hint)
    if found is None:
        raise HistoryError(f"{where}: type {hint!r} has no history type")
    return found, nullable
