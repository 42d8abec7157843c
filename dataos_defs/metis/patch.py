"""RFC 6902 JSON Patch over plain JSON values, with RFC 6901 pointers.

Bounded: at most :data:`MAX_OPERATIONS` operations per patch. The document is copied first,
so a failing patch changes nothing.

>>> apply_patch({"a": [1, 2]}, [{"op": "add", "path": "/a/-", "value": 3}])
{'a': [1, 2, 3]}
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

MAX_OPERATIONS = 1000
OPERATIONS = ("add", "remove", "replace", "move", "copy", "test")


class PatchError(ValueError):
    """A patch that is malformed or does not apply to the document."""


def apply_patch(document: Any, operations: Sequence[Any]) -> Any:
    if not isinstance(operations, list):
        raise PatchError("a JSON Patch is a JSON array of operations")
    if len(operations) > MAX_OPERATIONS:
        raise PatchError(f"a patch holds at most {MAX_OPERATIONS} operations")
    result = copy.deepcopy(document)
    for index, operation in enumerate(operations):
        try:
            result = _apply(result, operation)
        except PatchError as exc:
            raise PatchError(f"operation {index}: {exc}") from None
    return result


def parse_pointer(pointer: Any) -> list[str]:
    if not isinstance(pointer, str) or (pointer and not pointer.startswith("/")):
        raise PatchError(f"{pointer!r} is not a JSON pointer")
    if pointer == "":
        return []
    return [part.replace("~1", "/").replace("~0", "~") for part in pointer[1:].split("/")]


def _apply(document: Any, operation: Any) -> Any:
    if not isinstance(operation, dict) or operation.get("op") not in OPERATIONS:
        raise PatchError(f"an operation needs an 'op' among {', '.join(OPERATIONS)}")
    op = operation["op"]
    path = parse_pointer(operation.get("path"))
    if op in ("add", "replace", "test") and "value" not in operation:
        raise PatchError(f"'{op}' needs a 'value'")
    if op == "add":
        return _add(document, path, copy.deepcopy(operation["value"]))
    if op == "remove":
        return _remove(document, path)[0]
    if op == "replace":
        document, _ = _remove(document, path)
        return _add(document, path, copy.deepcopy(operation["value"]))
    if op == "test":
        if _get(document, path) != operation["value"]:
            raise PatchError(f"test failed at {operation['path']}")
        return document
    source = parse_pointer(operation.get("from"))
    if op == "move":
        if path[: len(source)] == source and len(path) > len(source):
            raise PatchError("cannot move a value into itself")
        document, value = _remove(document, source)
        return _add(document, path, value)
    return _add(document, path, copy.deepcopy(_get(document, source)))


def _get(document: Any, path: list[str]) -> Any:
    node = document
    for part in path:
        if isinstance(node, dict):
            if part not in node:
                raise PatchError(f"no member '{part}'")
            node = node[part]
        elif isinstance(node, list):
            node = node[_index(node, part, allow_end=False)]
        else:
            raise PatchError(f"cannot descend into a scalar at '{part}'")
    return node


def _index(node: list[Any], part: str, *, allow_end: bool) -> int:
    if part == "-" and allow_end:
        return len(node)
    if not part.isdigit() or (part != "0" and part.startswith("0")):
        raise PatchError(f"'{part}' is not an array index")
    index = int(part)
    limit = len(node) if allow_end else len(node) - 1
    if index > limit:
        raise PatchError(f"array index {index} is out of range")
    return index


def _add(document: Any, path: list[str], value: Any) -> Any:
    if not path:
        return value
    parent = _get(document, path[:-1])
    last = path[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, allow_end=True), value)
    else:
        raise PatchError(f"cannot add to a scalar at '{last}'")
    return document


def _remove(document: Any, path: list[str]) -> tuple[Any, Any]:
    if not path:
        raise PatchError("cannot remove the whole document")
    parent = _get(document, path[:-1])
    last = path[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"no member '{last}'")
        return document, parent.pop(last)
    if isinstance(parent, list):
        return document, parent.pop(_index(parent, last, allow_end=False))
    raise PatchError(f"cannot remove from a scalar at '{last}'")
