"""``dataos-ctl metis tag add|remove``: one tag on a table or a column, as a JSON Patch
through ``PATCH /metis/api/v1/tables/{id}`` with ``If-Match`` (the version read), so the
server's tag rule decides and a concurrent change is never overwritten: on 412 the table
is read again and the change recomputed, at most :data:`ATTEMPTS` times.

A removal carries a ``test`` of the label it removes, and a column's change a ``test`` of the
column's name at the index it uses, so a change in between fails the patch instead of
touching another tag or column.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dataos_defs.cli.metis_names import Target, in_path
from dataos_defs.cli.output import fail

if TYPE_CHECKING:
    from dataos_defs.api.client import DataosClient

API = "/metis/api/v1"
ATTEMPTS = 3
PATCH_TYPE = "application/json-patch+json"


def change_tag(client: DataosClient, target: Target, tag: str, *, adding: bool) -> str:
    """Add or remove ``tag`` on ``target``; what was done, for the user."""
    from dataos_defs.api.client import ApiFailure

    if adding:
        _require_tag(client, tag)
    where = target.table if target.column is None else f"{target.table}.{target.column}"
    attempts = 0
    while True:
        attempts += 1
        table = client.request("GET", f"{API}/tables/name/{in_path(target.table)}")
        base, labels = _labels_at(table, target)
        present = [label.get("tagFQN") for label in labels]
        if adding and tag in present:
            return f"{where} is already tagged {tag}; nothing changed"
        if not adding and tag not in present:
            fail(f"{where} is not tagged {tag}; nothing changed", f"its tags: {_listed(present)}")
        operations = _operations(base, present, tag, adding=adding)
        if target.column is not None:
            pinned = base.removesuffix("/tags") + "/name"
            operations.insert(0, {"op": "test", "path": pinned, "value": target.column})
        headers = {"Content-Type": PATCH_TYPE, "If-Match": f'W/"{table["version"]}"'}
        try:
            client.request("PATCH", f"{API}/tables/{table['id']}", json=operations, headers=headers)
        except ApiFailure as exc:
            if exc.status != 412:
                raise
            if attempts >= ATTEMPTS:
                fail(
                    f"{target.table} kept changing while it was being tagged; nothing changed",
                    "run the command again",
                )
            continue
        return f"{where}: {'tagged' if adding else 'untagged'} {tag}"


def _require_tag(client: DataosClient, tag: str) -> None:
    from dataos_defs.api.client import ApiFailure

    try:
        client.request("GET", f"{API}/tags/name/{in_path(tag)}")
    except ApiFailure as exc:
        if exc.status == 404:
            fail(
                f"there is no tag {tag} in the catalog (or you may not read it); nothing changed",
                "list tags with: dataos-ctl metis search <word> --facet type=tag",
            )
        raise


def _labels_at(table: dict[str, Any], target: Target) -> tuple[str, list[dict[str, Any]]]:
    """The JSON Pointer of the tag list to change, and its labels."""
    if target.column is None:
        return "/tags", list(table.get("tags") or [])
    columns = table.get("columns") or []
    known = [column.get("name") for column in columns]
    if target.column not in known:
        fail(
            f"{target.table} has no column {target.column!r}; nothing changed",
            f"its columns: {_listed(known)} (names are case-sensitive)",
        )
    index = known.index(target.column)
    return f"/columns/{index}/tags", list(columns[index].get("tags") or [])


def _operations(base: str, present: list[Any], tag: str, *, adding: bool) -> list[dict[str, Any]]:
    if adding:
        label = {
            "tagFQN": tag,
            "source": "Classification",
            "labelType": "Manual",
            "state": "Confirmed",
        }
        return [{"op": "add", "path": f"{base}/-", "value": label}]
    at = present.index(tag)
    return [
        {"op": "test", "path": f"{base}/{at}/tagFQN", "value": tag},
        {"op": "remove", "path": f"{base}/{at}"},
    ]


def _listed(values: list[Any]) -> str:
    shown = ", ".join(str(value) for value in values[:50])
    return (shown or "none") + (" …" if len(values) > 50 else "")
