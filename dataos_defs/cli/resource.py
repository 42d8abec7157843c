"""``dataos-ctl resource apply|get|delete|log|runtime|update``: DataOS' grouped spelling.

Each verb is the top-level verb's own function registered a second time, so the two
spellings cannot drift apart.
"""

from __future__ import annotations

from dataos_defs.cli import apply, delete, get, runtime
from dataos_defs.cli.apps import command_group

UPDATE_HELP = (
    "Same as apply: create or update the Resources of the manifests given; all land "
    "together or none does (DataOS applies them one by one)."
)

app = command_group(
    help="Manage Resources (the same verbs as at the top level: apply, get, delete, ...).",
    no_args_is_help=True,
)
app.command("apply")(apply.apply)
app.command("update", help=UPDATE_HELP)(apply.apply)
app.command("delete")(delete.delete)
app.command("log")(runtime.log)
app.add_typer(get.app, name="get")
app.add_typer(runtime.app, name="runtime")
