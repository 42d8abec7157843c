"""``dataos-ctl``: thin verbs over the DataOS API; heavy imports wait until a verb runs."""

from __future__ import annotations

from dataos_defs.cli import (
    apply,
    basics,
    cluster,
    completion,
    context,
    dataset,
    delete,
    develop,
    get,
    history,
    kernel,
    lint,
    login,
    metis,
    operations,
    policy,
    query,
    resource,
    runtime,
    serve,
    user,
    workspace,
)
from dataos_defs.cli.apps import command_group

app = command_group(
    name="dataos-ctl",
    help="Command line of the DataOS platform (on Dagster).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
)
app.command("help")(basics.help_command)
app.command("version")(basics.version)
app.command("health")(basics.health)
app.command("completion")(completion.completion)
app.command("apply")(apply.apply)
app.command("lint")(lint.lint)
app.command("delete")(delete.delete)
app.command("serve")(serve.serve)
app.command("login")(login.login)
app.command("init")(context.init)
app.command("log")(runtime.log)
app.command("query")(query.query)
app.add_typer(runtime.app, name="runtime")
app.add_typer(get.app, name="get")
app.add_typer(history.app, name="history")
app.add_typer(workspace.app, name="workspace")
app.add_typer(user.app, name="user")
app.add_typer(policy.app, name="policy")
app.add_typer(serve.heimdall_app, name="heimdall")
app.add_typer(develop.app, name="develop")
app.add_typer(cluster.app, name="cluster")
app.add_typer(dataset.app, name="dataset")
app.add_typer(resource.app, name="resource")
app.add_typer(kernel.app, name="kernel")
app.add_typer(operations.app, name="operations")
app.add_typer(context.app, name="context")
app.add_typer(metis.app, name="metis")


def run() -> None:
    app()
