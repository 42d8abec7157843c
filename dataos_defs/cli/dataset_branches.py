"""``dataos-ctl dataset`` branches and tags of snapshots, in DataOS' forms: ``list-branch``,
``create-branch -b NAME --sid ID``, ``delete-branch -b NAME``, ``rename-branch -b NAME -n
NEW``, ``fastforward-branch --source NAME --target NAME``; ``create-tag``/``delete-tag`` are
ours. ``main`` is the dataset itself: ``set-snapshot``/``rollback`` move it, these do not.
DataOS' ``replace-branch`` and ``cherrypick-snapshot`` are not offered (pyiceberg has no
cherry-pick; replacing a branch's history is what ``set-snapshot`` does for ``main``)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from dataos_defs.cli.dataset_base import AddressOpt, OutputOpt, address_of, change, read, say
from dataos_defs.cli.output import check_format, print_data, print_table

BranchOpt = Annotated[str, typer.Option("-b", "--branch", help="the branch, e.g. test")]
TagOpt = Annotated[str, typer.Option("-t", "--tag", help="the tag, e.g. audited-2024")]
SidOpt = Annotated[
    int | None, typer.Option("--sid", help="the snapshot id (default: the current one)")
]


def list_branch(
    ctx: typer.Context, address: AddressOpt = None, output: OutputOpt = "table"
) -> None:
    """The dataset's branches and tags with their snapshots (main first)."""
    check_format(output)
    found = read(ctx, address, "/branches")
    if output != "table":
        print_data(found, output)
        return
    print_table(
        ("NAME", "TYPE", "SNAPSHOTID"),
        [(r["name"], r["type"], r["snapshot_id"]) for r in found["refs"]],
    )


def _ref(ctx: typer.Context, address: str | None, **body: Any) -> dict[str, Any]:
    payload = {"address": address_of(ctx, address), **body}
    return change("/branches", {k: v for k, v in payload.items() if v is not None})


def create_branch(
    ctx: typer.Context, branch: BranchOpt, sid: SidOpt = None, address: AddressOpt = None
) -> None:
    """Create a branch at a snapshot."""
    done = _ref(ctx, address, action="create", name=branch, snapshot_id=sid)
    say(f"{done['address']}: branch {done['name']} created at {done['snapshot_id']}")


def delete_branch(ctx: typer.Context, branch: BranchOpt, address: AddressOpt = None) -> None:
    """Delete a branch (not main); its snapshots may then expire."""
    done = _ref(ctx, address, action="delete", name=branch)
    say(f"{done['address']}: branch {done['name']} deleted (was at {done['snapshot_id']})")


def rename_branch(
    ctx: typer.Context,
    branch: BranchOpt,
    name: Annotated[str, typer.Option("-n", "--name", help="the new name, e.g. sample")],
    address: AddressOpt = None,
) -> None:
    """Rename a branch."""
    done = _ref(ctx, address, action="rename", name=branch, to=name)
    say(f"{done['address']}: branch {done['name']} renamed to {done['to']}")


def fastforward_branch(
    ctx: typer.Context,
    source: Annotated[str, typer.Option("--source", help="the branch to move, e.g. test")],
    target: Annotated[str, typer.Option("--target", help="the branch to catch up with")],
    address: AddressOpt = None,
) -> None:
    """Move a branch to the head of another whose history contains it."""
    done = _ref(ctx, address, action="fastforward", name=source, to=target)
    say(f"{done['address']}: branch {done['name']} fast-forwarded to {done['snapshot_id']}")


def create_tag(
    ctx: typer.Context, tag: TagOpt, sid: SidOpt = None, address: AddressOpt = None
) -> None:
    """Tag a snapshot (ours; keeps it from expiring)."""
    done = _ref(ctx, address, action="create", kind="tag", name=tag, snapshot_id=sid)
    say(f"{done['address']}: tag {done['name']} created at {done['snapshot_id']}")


def delete_tag(ctx: typer.Context, tag: TagOpt, address: AddressOpt = None) -> None:
    """Delete a tag (ours)."""
    done = _ref(ctx, address, action="delete", kind="tag", name=tag)
    say(f"{done['address']}: tag {done['name']} deleted (was at {done['snapshot_id']})")


def register(app: typer.Typer) -> None:
    for name, command in (
        ("list-branch", list_branch),
        ("create-branch", create_branch),
        ("delete-branch", delete_branch),
        ("rename-branch", rename_branch),
        ("fastforward-branch", fastforward_branch),
        ("create-tag", create_tag),
        ("delete-tag", delete_tag),
    ):
        app.command(name)(command)
