"""``dataos-ctl history compact``: shrink the stored history of deleted Resources.

Deleted Resources keep their history for audit, payloads included; an operator compacts
the payloads of those deleted before a cut-off (``poros.compaction``). Nothing is ever
compacted without this command; ``--dry-run`` shows what it would do.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from dataos_defs.cli.apps import command_group
from dataos_defs.cli.output import check_format, console, fail, print_data, print_table
from dataos_defs.cli.session import api_session

app = command_group(help="Maintain the stored history of Resources (operators).")
_AGE = re.compile(r"^(\d{1,6})([dhm])$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def cut_off(older_than: str | None, deleted_before: str | None, now: datetime) -> datetime:
    """The moment before which deleted Resources are compacted, from exactly one option."""
    if (older_than is None) == (deleted_before is None):
        fail("give exactly one of --older-than (e.g. 30d) and --deleted-before (a date)")
    if older_than is not None:
        match = _AGE.match(older_than.strip())
        if match is None:
            fail(f"--older-than {older_than!r} is not an age", "use a number and d, h or m: 30d")
        return now - timedelta(**{_UNITS[match[2]]: int(match[1])})
    assert deleted_before is not None
    try:
        moment = datetime.fromisoformat(deleted_before.strip())
    except ValueError:
        fail(
            f"--deleted-before {deleted_before!r} is not a date",
            "e.g. 2026-11-01 or 2026-11-01T12:00Z",
        )
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@app.command("compact")
def compact(
    older_than: Annotated[
        str | None, typer.Option("--older-than", help="deleted longer ago than this: 30d, 12h")
    ] = None,
    deleted_before: Annotated[
        str | None,
        typer.Option("--deleted-before", help="deleted before this date (UTC if no zone)"),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="show what would be compacted")
    ] = False,
    output: Annotated[str, typer.Option("--output", help="table, json or yaml")] = "table",
) -> None:
    """Replace the stored manifests (and secrets) of long-deleted Resources with their
    identity; who applied or deleted what, when, and its digest stay in `get history`."""
    check_format(output)
    moment = cut_off(older_than, deleted_before, datetime.now(UTC))
    with api_session() as client:
        body = client.compact_history(moment.isoformat(), dry_run)
    if output != "table":
        print_data(body, output)
        return
    print_table(
        ("TYPE", "NAME", "WORKSPACE"),
        [(r["type"], r["name"], r["workspace"] or "") for r in body["resources"]],
    )
    verb = "would compact" if body["dry_run"] else "compacted"
    console.print(
        f"{verb} {body['revisions']} revisions of {len(body['resources'])} deleted Resources"
        f" ({body['bytes_freed']:,} bytes of payload)",
        markup=False,
    )
    if body["more"]:
        console.print("more Resources qualify: run the command again", markup=False)
