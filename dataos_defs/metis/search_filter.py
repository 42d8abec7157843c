"""The Elasticsearch query subset the ingestion sends as ``query_filter``, evaluated over
an entity as answered (its ``_source``).

Supported: ``bool`` (``must``, ``filter``, ``should`` with ``minimum_should_match``,
``must_not``), ``term``, ``terms``, ``match``, ``prefix``, ``wildcard``, ``exists``, ``ids``
and ``match_all``; a field is a dotted path (``service.name``; a ``.keyword`` suffix is
ignored) through objects and lists. Anything else is refused (:class:`FilterError`), never
silently read as "match": a filter that is not understood must not widen a result. Bounded:
at most :data:`MAX_NODES` clauses, :data:`MAX_DEPTH` levels.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from typing import Any

MAX_NODES = 500
MAX_DEPTH = 12


class FilterError(ValueError):
    """The filter is not in the subset, or too large."""


def compile_filter(data: Any) -> dict[str, Any]:
    """The query of a ``query_filter`` (``{"query": {...}}`` or the query itself), checked."""
    if isinstance(data, dict) and set(data) == {"query"}:
        data = data["query"]
    if not isinstance(data, dict):
        raise FilterError("query_filter must be a JSON object")
    count = _check(data, 0)
    if count > MAX_NODES:
        raise FilterError(f"query_filter has more than {MAX_NODES} clauses")
    return data


def _check(node: Any, depth: int) -> int:
    if depth > MAX_DEPTH:
        raise FilterError(f"query_filter is nested deeper than {MAX_DEPTH}")
    if not isinstance(node, dict) or len(node) != 1:
        raise FilterError("each clause is an object with one key")
    ((kind, body),) = node.items()
    if kind not in CLAUSES:
        raise FilterError(f"'{kind}' is not in the supported query subset")
    if kind != "bool":
        return 1
    if not isinstance(body, dict):
        raise FilterError("bool takes an object")
    count = 1
    for key, value in body.items():
        if key == "minimum_should_match":
            continue
        if key not in ("must", "filter", "should", "must_not"):
            raise FilterError(f"bool.{key} is not supported")
        for child in value if isinstance(value, list) else [value]:
            count += _check(child, depth + 1)
    return count


def matches(query: dict[str, Any], source: dict[str, Any]) -> bool:
    ((kind, body),) = query.items()
    return bool(CLAUSES[kind](body, source))


def _bool(body: dict[str, Any], source: dict[str, Any]) -> bool:
    def clauses(key: str) -> list[dict[str, Any]]:
        value = body.get(key) or []
        return value if isinstance(value, list) else [value]

    required = clauses("must") + clauses("filter")
    if not all(matches(clause, source) for clause in required):
        return False
    if any(matches(clause, source) for clause in clauses("must_not")):
        return False
    should = clauses("should")
    if not should:
        return True
    default = 0 if required else 1
    wanted = int(body.get("minimum_should_match", default))
    return sum(matches(clause, source) for clause in should) >= wanted


def values(source: Any, field: str) -> Iterator[Any]:
    """Every value at the dotted ``field`` of ``source`` (lists flattened)."""
    path = field.removesuffix(".keyword").split(".")
    current: list[Any] = [source]
    for key in path:
        following: list[Any] = []
        for item in current:
            for element in item if isinstance(item, list) else [item]:
                if isinstance(element, dict) and key in element:
                    following.append(element[key])
        current = following
    for item in current:
        yield from item if isinstance(item, list) else [item]


def _same(found: Any, wanted: Any) -> bool:
    if isinstance(found, bool) or isinstance(wanted, bool):
        return str(found).lower() == str(wanted).lower()
    return bool(found == wanted or str(found) == str(wanted))


def _field_value(body: Any) -> tuple[str, Any]:
    if not isinstance(body, dict) or len(body) != 1:
        raise FilterError("a term clause names one field")
    ((field, value),) = body.items()
    if isinstance(value, dict):
        value = value.get("value", value.get("query"))
    return str(field), value


def _term(body: Any, source: dict[str, Any]) -> bool:
    field, wanted = _field_value(body)
    return any(_same(found, wanted) for found in values(source, field))


def _terms(body: Any, source: dict[str, Any]) -> bool:
    field, wanted = _field_value(body)
    options = wanted if isinstance(wanted, list) else [wanted]
    return any(_same(found, option) for found in values(source, field) for option in options)


def _match(body: Any, source: dict[str, Any]) -> bool:
    field, wanted = _field_value(body)
    return any(str(found).lower() == str(wanted).lower() for found in values(source, field))


def _prefix(body: Any, source: dict[str, Any]) -> bool:
    field, wanted = _field_value(body)
    return any(str(found).startswith(str(wanted)) for found in values(source, field))


def _wildcard(body: Any, source: dict[str, Any]) -> bool:
    field, wanted = _field_value(body)
    pattern = str(wanted).lower()
    return any(fnmatch.fnmatchcase(str(found).lower(), pattern) for found in values(source, field))


def _exists(body: Any, source: dict[str, Any]) -> bool:
    field = body.get("field") if isinstance(body, dict) else None
    if not isinstance(field, str):
        raise FilterError("exists names a field")
    return any(found is not None for found in values(source, field))


def _ids(body: Any, source: dict[str, Any]) -> bool:
    wanted = body.get("values") if isinstance(body, dict) else None
    return isinstance(wanted, list) and source.get("id") in wanted


def _all(_body: Any, _source: dict[str, Any]) -> bool:
    return True


CLAUSES: dict[str, Any] = {
    "bool": _bool,
    "term": _term,
    "terms": _terms,
    "match": _match,
    "match_phrase": _match,
    "prefix": _prefix,
    "wildcard": _wildcard,
    "exists": _exists,
    "ids": _ids,
    "match_all": _all,
}
