"""``dataos-ctl user``: users, their tags and their API keys (Heimdall)."""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dataos_defs.cli import user_changes
from dataos_defs.cli.apps import command_group
from dataos_defs.cli.lists import LIST_HELP, split_commas
from dataos_defs.cli.output import check_format, console, err_console, fail, print_data, print_table
from dataos_defs.cli.session import api_session

if TYPE_CHECKING:
    from dataos_defs.api.client import DataosClient

app = command_group(help="Manage users, their tags and API keys.")
tag_app = command_group(help="Tags of a user: what access policies match.")
apikey_app = command_group(help="API keys of a user.")
app.add_typer(tag_app, name="tag")
app.add_typer(apikey_app, name="apikey")
app.add_typer(user_changes.app, name="changes")

IdOpt = Annotated[
    str | None,
    typer.Option("-i", "--id", "-u", "--user-id", "--user_id", help="user id (default: you)"),
]
DurationOpt = Annotated[
    str, typer.Option("-d", "--duration", help="lifetime: 24h, 30d, 1h30m ... or never")
]
OutputOpt = Annotated[str, typer.Option("-o", "--output", help="table, json or yaml")]
TagsOpt = Annotated[
    list[str], typer.Option("-t", "--tag", "--tags", help=LIST_HELP, callback=split_commas)
]
USER_COLUMNS = ("NAME", "ID", "TYPE", "EMAIL", "TAGS")
KEY_COLUMNS = ("KEY ID", "NAME", "STATE", "EXPIRES AT", "LAST USED AT", "CREATED AT")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
DURATION = re.compile(r"(\d+)([smhdw])")


def parse_duration(text: str) -> int | None:
    """Seconds in ``24h``, ``30d``, ``1h30m`` (units s, m, h, d, w); ``None`` for ``never``."""
    if text.strip().lower() == "never":
        return None
    parts = DURATION.findall(text.strip())
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        fail(f"'{text}' is not a duration", "write e.g. 24h, 30d, 1h30m (s, m, h, d, w) or never")
    seconds = sum(int(number) * UNITS[unit] for number, unit in parts)
    if seconds <= 0:
        fail("an API key needs a positive duration", "or --duration never")
    return seconds


def _me(client: DataosClient, user_id: str | None) -> str:
    return user_id or str(client.whoami()["id"])


def _user_row(user: dict[str, Any]) -> tuple[Any, ...]:
    return (
        user.get("name") or "",
        user["id"],
        user["type"],
        user.get("email") or "",
        ", ".join(user["tags"]),
    )


def _key_row(key: dict[str, Any]) -> tuple[Any, ...]:
    return (
        key["key_id"],
        key["name"],
        key["state"],
        key.get("expires_at") or "never",
        key.get("last_used_at") or "",
        key["created_at"],
    )


@app.command("get")
def get(
    user_id: IdOpt = None,
    all_users: Annotated[bool, typer.Option("-a", "--all", help="every user")] = False,
    output: OutputOpt = "table",
) -> None:
    """Show yourself, one user (-i) or every user (-a)."""
    check_format(output)
    with api_session() as client:
        if all_users:
            data: Any = client.list_users()
            users = data
        else:
            data = client.get_user(user_id) if user_id else client.whoami()
            users = [data]
    if output != "table":
        print_data(data, output)
    else:
        print_table(USER_COLUMNS, [_user_row(u) for u in users])


@app.command("create")
def create(
    user_id: Annotated[
        str, typer.Option("-i", "--id", "-u", "--user-id", "--user_id", help="user id")
    ],
    kind: Annotated[str, typer.Option("-t", "--type", help="person or application")] = "person",
    name: Annotated[str | None, typer.Option("-n", "--name", help="display name")] = None,
    email: Annotated[str | None, typer.Option("-e", "--email", help="e-mail address")] = None,
    tags: Annotated[
        list[str] | None, typer.Option("--tags", help=LIST_HELP, callback=split_commas)
    ] = None,
    key_name: Annotated[
        str | None,
        typer.Option(
            "--apikeyName",
            "--apikey-name",
            help="also create the user's first API key with this name, printed once",
        ),
    ] = None,
    duration: Annotated[
        str | None,
        typer.Option(
            "-d", "--duration", help="with --apikeyName: the key's lifetime (default 24h)"
        ),
    ] = None,
) -> None:
    """Create a user; it is tagged with its own id (and, for a person, the user role).

    With --apikeyName the user and its first API key are created together (or neither is),
    and the key is printed on stdout, this once: store it at once.

    Examples: dataos-ctl user create -u alice -n Alice --tags roles:id:data-dev;
    dataos-ctl user create -u etl-bot -t application --apikeyName ci -d 30d"""
    if duration is not None and key_name is None:
        fail("-d/--duration is the API key's lifetime: give --apikeyName NAME too")
    seconds = parse_duration(duration or "24h")
    with api_session() as client:
        if key_name is None:
            created = client.create_user(user_id, kind, name, email, tags or [])
        else:
            from dataos_defs.api.client_users import create_user_with_key

            user = {"id": user_id, "type": kind, "name": name, "email": email, "tags": tags or []}
            created = create_user_with_key(client, user, key_name, seconds)
    if key_name is None:
        console.print(f"user {created['id']}...created", markup=False)
        return
    err_console.print(f"user {created['id']}...created", markup=False)
    _print_new_key(created["apikey"])


@app.command("delete")
def delete(
    user_id: Annotated[str, typer.Option("-i", "--id", "-u", "--user-id", help="user id")],
) -> None:
    """Delete a user; its API keys stop working at once."""
    with api_session() as client:
        client.delete_user(user_id)
    console.print(f"user {user_id}...deleted", markup=False)


def _some(tags: list[str]) -> None:
    if not tags:
        fail("no tag given", "write -t roles:id:analyst, or several: -t roles:id:a,roles:id:b")


def _print_tags(user: dict[str, Any]) -> None:
    print_table(("ID", "TAG"), [(user["id"], tag) for tag in user["tags"]])


@tag_app.command("add")
def tag_add(tags: TagsOpt, user_id: IdOpt = None) -> None:
    """Add tags (roles, workspaces or any tag) to a user."""
    _some(tags)
    with api_session() as client:
        user = client.add_user_tags(_me(client, user_id), tags)
    _print_tags(user)


@tag_app.command("remove")
@tag_app.command("delete", hidden=True)
def tag_remove(tags: TagsOpt, user_id: IdOpt = None) -> None:
    """Remove tags from a user (the tag naming the user itself stays)."""
    _some(tags)
    with api_session() as client:
        user = client.remove_user_tags(_me(client, user_id), tags)
    _print_tags(user)


@apikey_app.command("create")
def apikey_create(
    user_id: IdOpt = None,
    name: Annotated[str | None, typer.Option("-n", "--name", help="default key-<key id>")] = None,
    duration: DurationOpt = "24h",
    output: Annotated[str, typer.Option("-o", "--output", help="key, json or yaml")] = "key",
) -> None:
    """Create an API key and print it: this is the only time it can be seen."""
    if output not in ("key", "json", "yaml"):
        fail(f"unknown output format '{output}'", "one of: key, json, yaml")
    seconds = parse_duration(duration)
    with api_session() as client:
        created = client.create_api_key(_me(client, user_id), name, seconds)
    if output != "key":
        print_data(created, output)
        return
    _print_new_key(created)


def _print_new_key(created: dict[str, Any]) -> None:
    """What it is on stderr, the key alone on stdout (``KEY=$(dataos-ctl ...)`` works)."""
    expires = f"expires {created['expires_at']}" if created.get("expires_at") else "never expires"
    err_console.print(
        f"API key '{created['name']}' ({created['key_id']}) of user {created['user_id']} "
        f"created; it {expires}. Store it now: it cannot be shown again.",
        markup=False,
    )
    sys.stdout.write(created["key"] + "\n")


def _keys(user_id: str | None, name: str | None) -> tuple[str, list[dict[str, Any]]]:
    with api_session() as client:
        owner = _me(client, user_id)
        keys = client.list_api_keys(owner)
    return owner, [k for k in keys if name is None or k["name"] == name]


@apikey_app.command("list")
def apikey_list(user_id: IdOpt = None, output: OutputOpt = "table") -> None:
    """List a user's API keys: ids, names and states, never the keys themselves.

    Unlike DataOS, which shows tokens again, the server keeps only a digest of each key:
    a lost key cannot be shown, create a new one and revoke the old."""
    check_format(output)
    _, keys = _keys(user_id, None)
    if output != "table":
        print_data(keys, output)
    else:
        print_table(KEY_COLUMNS, [_key_row(k) for k in keys])


STORED_AS_DIGESTS = (
    "API keys are stored as digests only: a key is shown once, when it is created, and "
    "cannot be shown again (DataOS shows it again; this server cannot)."
)


@apikey_app.command("get")
def apikey_get(
    user_id: IdOpt = None,
    name: Annotated[
        str | None, typer.Option("-n", "--name", help="only the key of this name")
    ] = None,
    output: OutputOpt = "table",
) -> None:
    """DataOS' way to see a key again: here it lists the keys (names, states, expiry) and
    says how to get a new one, since keys are stored as digests only.

    Example: dataos-ctl user apikey get -i alice -n ci"""
    check_format(output)
    owner, keys = _keys(user_id, name)
    err_console.print(STORED_AS_DIGESTS, markup=False)
    if output != "table":
        print_data(keys, output)
    elif keys:
        print_table(KEY_COLUMNS, [_key_row(k) for k in keys])
    else:
        err_console.print(
            f"user {owner} has no API key{f' named {name!r}' if name else ''}", markup=False
        )
    err_console.print(
        f"to get a usable key, create a new one: dataos-ctl user apikey create -i {owner} "
        f"-n NAME -d 24h (and revoke a lost one: dataos-ctl user apikey revoke -i {owner} -n NAME)",
        markup=False,
    )


@apikey_app.command("revoke")
@apikey_app.command("delete", hidden=True)
def apikey_revoke(
    user_id: IdOpt = None,
    name: Annotated[str | None, typer.Option("-n", "--name", help="the key's name")] = None,
    key_id: Annotated[str | None, typer.Option("-k", "--key-id", help="the key's id")] = None,
) -> None:
    """Revoke a user's API key by name (-n) or key id (-k); it stops working at once."""
    if (name is None) == (key_id is None):
        fail("apikey revoke needs either -n NAME or -k KEY_ID")
    with api_session() as client:
        owner = _me(client, user_id)
        if key_id is not None:
            targets = [key_id]
        else:
            keys = client.list_api_keys(owner)
            targets = [k["key_id"] for k in keys if k["name"] == name and k["state"] != "revoked"]
            if not targets:
                fail(f"user {owner} has no unrevoked API key named '{name}'")
        for target in targets:
            client.revoke_api_key(owner, target)
            console.print(f"API key {target} of user {owner}...revoked", markup=False)
