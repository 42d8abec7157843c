"""Reading a rotated JSON-lines log newest-first, only as far back as asked.

Files are read newest first: the live file backwards in blocks, then the archives, newest
first. An archive rotated before ``since`` holds nothing newer, so reading stops there;
within a plain file reading also stops once lines are older than ``since`` by more than
:data:`ORDER_SLACK` (lines are appended in time order, to within the writers' queueing).
A cheap test on the raw line (a needle it must contain) runs before any JSON parsing.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import re
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dataos_defs.heimdall.rotating_log import Archive

Entry = dict[str, object]
ORDER_SLACK = timedelta(seconds=60)
_TIME = re.compile(rb'"time":"([^"]+)"')
_BLOCK = 1024 * 1024


@dataclass(frozen=True)
class Query:
    """Which lines to keep: ``needles`` (raw bytes, any one must occur) before parsing,
    ``keep`` on the parsed entry, ``since`` on its time; the newest ``limit`` of them."""

    limit: int
    since: datetime | None = None
    needles: tuple[bytes, ...] = ()
    keep: Callable[[Entry], bool] = lambda entry: True

    def matches(self, line: bytes) -> Entry | None:
        if self.needles and not any(n in line for n in self.needles):
            return None
        if self.since is not None and not self._recent(line, self.since):
            return None
        try:
            entry = json.loads(line)
        except ValueError:
            return None
        return entry if isinstance(entry, dict) and self.keep(entry) else None

    @staticmethod
    def _recent(line: bytes, since: datetime) -> bool:
        moment = line_time(line)
        return moment is None or moment >= since


def as_utc(moment: datetime) -> datetime:
    """A naive time is taken as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def line_time(line: bytes) -> datetime | None:
    found = _TIME.search(line)
    if found is None:
        return None
    try:
        return as_utc(datetime.fromisoformat(found.group(1).decode()))
    except ValueError:
        return None


def newest(live: Path, rotated: Callable[[], list[Archive]], query: Query) -> list[Entry]:
    """The newest ``query.limit`` matching entries of the live file, then of the archives
    (listed once the live file is read, newest first), returned oldest first."""
    since = as_utc(query.since) if query.since else None
    bounded = Query(query.limit, since, query.needles, query.keep)
    found: list[Entry] = []
    if _scan_plain(live, bounded, query.limit, found):
        return found[::-1]
    for archive in rotated():
        wanted = query.limit - len(found)
        if wanted <= 0 or (since is not None and archive.rotated < since):
            break
        path = archive.path
        if path.suffix == ".jsonl" and not path.exists():
            path = path.with_name(path.name + ".gz")
        if path.suffix == ".gz":
            found += _scan_compressed(path, bounded, wanted)
        elif _scan_plain(path, bounded, wanted, found):
            break
    return found[::-1]


def _scan_plain(path: Path, query: Query, wanted: int, found: list[Entry]) -> bool:
    """Add matches newest first; True when older lines cannot match (past ``since``)."""
    floor = query.since - ORDER_SLACK if query.since else None
    for line in reverse_lines(path):
        if floor is not None:
            moment = line_time(line)
            if moment is not None and moment < floor:
                return True
        entry = query.matches(line)
        if entry is not None:
            found.append(entry)
            wanted -= 1
            if wanted == 0:
                return False
    return False


def _scan_compressed(path: Path, query: Query, wanted: int) -> list[Entry]:
    """The newest ``wanted`` matches of a gzip archive, newest first."""
    kept: deque[Entry] = deque(maxlen=wanted)
    try:
        with gzip.open(path, "rb") as lines:
            for line in lines:
                entry = query.matches(line) if line.strip() else None
                if entry is not None:
                    kept.append(entry)
    except FileNotFoundError:
        return []
    return list(reversed(kept))


def reverse_lines(path: Path, block: int = _BLOCK) -> Iterator[bytes]:
    """The complete lines of ``path``, last first, read backwards in blocks (a last line
    still being written, without its newline, is left out)."""
    with contextlib.ExitStack() as stack:
        try:
            handle = stack.enter_context(open(path, "rb"))
        except FileNotFoundError:
            return
        position = os.fstat(handle.fileno()).st_size
        tail = b""
        newest = True
        while position > 0:
            step = min(block, position)
            position -= step
            handle.seek(position)
            chunk = handle.read(step) + tail
            parts = chunk.split(b"\n")
            if newest:
                parts[-1] = b""
                newest = False
            tail = parts[0]
            for line in reversed(parts[1:]):
                if line.strip():
                    yield line
        if tail.strip():
            yield tail
