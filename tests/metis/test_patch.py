"""RFC 6902 JSON Patch as the SDK sends it (array indices, add/remove/replace/test...)."""

from __future__ import annotations

from typing import Any

import pytest

from dataos_defs.metis.patch import MAX_OPERATIONS, PatchError, apply_patch

TABLE: dict[str, Any] = {
    "columns": [{"name": "id", "tags": []}, {"name": "email", "tags": []}],
    "description": "old",
}


def test_column_tag_add_and_remove_by_index() -> None:
    label = {"tagFQN": "PII.Email", "source": "Classification"}
    added = apply_patch(TABLE, [{"op": "add", "path": "/columns/1/tags/0", "value": label}])
    assert added["columns"][1]["tags"] == [label]
    assert TABLE["columns"][1]["tags"] == [], "the document given is never changed"
    removed = apply_patch(added, [{"op": "remove", "path": "/columns/1/tags/0"}])
    assert removed == TABLE


@pytest.mark.parametrize(
    ("operations", "expected"),
    [
        ([{"op": "replace", "path": "/description", "value": "new"}], {"description": "new"}),
        ([{"op": "move", "from": "/description", "path": "/summary"}], {"summary": "old"}),
        ([{"op": "copy", "from": "/description", "path": "/summary"}], {"summary": "old"}),
        ([{"op": "add", "path": "/a~1b", "value": 1}], {"a/b": 1}),
        ([{"op": "add", "path": "/columns/-", "value": {"name": "x"}}], {}),
    ],
)
def test_operations(operations: list[dict[str, Any]], expected: dict[str, Any]) -> None:
    result = apply_patch(TABLE, operations)
    for key, value in expected.items():
        assert result[key] == value


@pytest.mark.parametrize(
    "operations",
    [
        {"op": "add"},
        [{"op": "frobnicate", "path": "/x"}],
        [{"op": "remove", "path": "/nope"}],
        [{"op": "add", "path": "/columns/9", "value": 1}],
        [{"op": "add", "path": "/columns/01", "value": 1}],
        [{"op": "replace", "path": "/description"}],
        [{"op": "test", "path": "/description", "value": "other"}],
        [{"op": "move", "from": "/columns", "path": "/columns/0/x"}],
        [{"op": "remove", "path": ""}],
        [{"op": "add", "path": "description", "value": 1}],
        [{"op": "add", "path": "/x", "value": 1}] * (MAX_OPERATIONS + 1),
    ],
)
def test_bad_patches_are_refused_and_change_nothing(operations: Any) -> None:
    with pytest.raises(PatchError):
        apply_patch(TABLE, operations)
    assert TABLE["description"] == "old"
