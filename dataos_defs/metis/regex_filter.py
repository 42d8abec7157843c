"""The regex filters of list requests (``databaseRegex``, ``databaseSchemaRegex``,
``tableRegex`` with ``regexMode`` and ``regexFilterByFqn``), applied by the server as the
profiler expects (OpenMetadata 2.x sends its filter patterns instead of filtering itself).

The patterns come from callers, so they never run on Python's backtracking ``re`` (one
pattern could hold a worker for minutes): DuckDB's ``regexp_matches`` runs them with RE2,
in time linear in the name, and a pattern RE2 cannot compile (lookarounds,
backreferences) is refused with RE2's reason. Patterns are capped at
:data:`MAX_PATTERN_CHARS` and the names at :data:`MAX_NAMES` per request.

Semantics are the client's own filters' (``metadata.utils.filters``: ``re.match`` with
``IGNORECASE``): a pattern matches a name from its start, case-insensitively. ``include``
keeps what every given pattern matches; ``exclude`` drops what any of them matches.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import duckdb

from dataos_defs.metis import fqn
from dataos_defs.metis.records import Listed

MAX_PATTERN_CHARS = 1_000
MAX_NAMES = 1_000_000
MODES = ("include", "exclude")
LEVELS: dict[str, int] = {"databaseRegex": 1, "databaseSchemaRegex": 2, "tableRegex": 3}
"""A parameter → the FQN level whose name it matches (service is level 0)."""
PARAMETERS = (*LEVELS, "regexMode", "regexFilterByFqn")


_DATABASE = duckdb.connect()
"""An empty in-memory database: each call takes its own cursor (a connection of its own,
cheaper than opening a database), so threads never share one."""


class RegexFilterError(ValueError):
    """A filter the server refuses: the message says which parameter and why."""


@dataclass(frozen=True)
class RegexFilter:
    patterns: tuple[tuple[int, str], ...]
    """(FQN level, pattern) of each regex parameter given."""
    mode: str
    by_fqn: bool

    def apply(self, rows: Sequence[Listed]) -> list[Listed]:
        """The rows the filter keeps; a pattern of a level a row lacks (``tableRegex`` on a
        schema) does not judge that row."""
        kept = list(rows)
        verdicts: list[dict[int, bool]] = []
        for level, pattern in self.patterns:
            judged = [i for i, row in enumerate(kept) if level < len(row.names)]
            found = matches([self._subject(kept[i], level) for i in judged], pattern)
            verdicts.append(dict(zip(judged, found, strict=True)))
        if self.mode == "include":
            return [row for i, row in enumerate(kept) if all(v.get(i, True) for v in verdicts)]
        return [row for i, row in enumerate(kept) if not any(v.get(i, False) for v in verdicts)]

    def _subject(self, row: Listed, level: int) -> str:
        names = row.names
        if self.by_fqn:
            return row.fqn if level == len(names) - 1 else fqn.join(names[: level + 1])
        return names[level]


def parse(params: Mapping[str, str]) -> RegexFilter:
    """The filter the query parameters ask for (no pattern: keeps everything)."""
    patterns: list[tuple[int, str]] = []
    for parameter, level in LEVELS.items():
        pattern = params.get(parameter)
        if pattern is None or pattern == "":
            continue
        if len(pattern) > MAX_PATTERN_CHARS:
            raise RegexFilterError(
                f"{parameter} is {len(pattern)} characters long; at most {MAX_PATTERN_CHARS}"
            )
        problem = compile_problem(pattern)
        if problem is not None:
            raise RegexFilterError(f"{parameter} is not a regular expression RE2 runs: {problem}")
        patterns.append((level, pattern))
    mode = params.get("regexMode", "include")
    if mode not in MODES:
        raise RegexFilterError(f"regexMode must be include or exclude, not {mode!r}")
    by_fqn = params.get("regexFilterByFqn", "false").lower() == "true"
    return RegexFilter(tuple(patterns), mode, by_fqn)


def compile_problem(pattern: str) -> str | None:
    """RE2's reason to refuse ``pattern`` (DuckDB compiles it), or None."""
    with _DATABASE.cursor() as conn:
        try:
            conn.execute("SELECT regexp_matches('', ?)", [pattern]).fetchall()
        except duckdb.Error as exc:
            return str(exc).splitlines()[-1][:300]
    return None


def matches(names: Sequence[str], pattern: str) -> list[bool]:
    """Whether ``pattern`` matches each name from its start, ignoring case (RE2)."""
    if not names:
        return []
    if len(names) > MAX_NAMES:
        raise RegexFilterError(f"at most {MAX_NAMES} names are filtered by one request")
    anchored = f"^(?:{pattern})"
    with _DATABASE.cursor() as conn:
        found = conn.execute(
            "SELECT list_transform(?::VARCHAR[], lambda name: regexp_matches(name, ?, 'i'))",
            [list(names), anchored],
        ).fetchone()
    assert found is not None
    return [bool(value) for value in found[0]]
