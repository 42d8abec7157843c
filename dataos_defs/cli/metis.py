"""``dataos-ctl metis``: the catalog from the command line, over Metis' OpenMetadata routes
(``/metis/api/v1``), as the caller: search, a table with its columns, tags, owners,
profile and last runs, a lineage graph, and tagging a table or a column.

Every command is what the routes allow the caller: what they may not read does not
exist for them (the same "not found" as a missing entity), and ``metis tag`` is a JSON
Patch through ``PATCH /tables/{id}`` with ``If-Match``, so Metis' tag rule decides
(``dataos_defs.metis.tag_rules``: a governed tag such as ``PII.Email`` needs the ``tag``
predicate on the dataset; some depot-declared tags cannot be removed at all).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from dataos_defs.cli import metis_names as names
from dataos_defs.cli import metis_views as views
from dataos_defs.cli.apps import command_group
from dataos_defs.cli.output import check_format, fail, print_data
from dataos_defs.cli.session import api_session

if TYPE_CHECKING:
    from dataos_defs.api.client import DataosClient

API = "/metis/api/v1"
MAX_LIMIT = 1000
MAX_DEPTH = 5
MAX_RUN_PIPELINES = 10
PATCH_HEADERS = {"Content-Type": "application/json-patch+json"}

app = command_group(
    help="The Metis catalog: search it, read a table, follow lineage, tag columns. Shows "
    "only what you may read.\n\n"
    "Examples:\n\n"
    "  dataos-ctl metis search customers --facet depot=shoppg --facet tag=PII\n\n"
    "  dataos-ctl metis get table shoppg.shop.public.customers\n\n"
    "  dataos-ctl metis lineage lakehouse.default.shop.customers_360 --upstream 2 --columns\n\n"
    "  dataos-ctl metis tag add shoppg.shop.public.customers.email PII.Email",
    no_args_is_help=True,
)
get_app = command_group(help="Read one catalog entity.", no_args_is_help=True)
tag_app = command_group(
    help="Add or remove a tag on a table or one of its columns (Metis' tag rule applies).",
    no_args_is_help=True,
)
app.add_typer(get_app, name="get")
app.add_typer(tag_app, name="tag")

OutputOpt = Annotated[str, typer.Option("-o", "--output", help="table, json or yaml")]
TableArg = Annotated[
    str, typer.Argument(help="the table's FQN: service.database.schema.table", show_default=False)
]
TargetArg = Annotated[
    str,
    typer.Argument(
        help="a table (service.database.schema.table) or a column (…table.column)",
        show_default=False,
    ),
]
TagArg = Annotated[str, typer.Argument(help="the tag's FQN, e.g. PII.Email", show_default=False)]


def _call(client: DataosClient, method: str, path: str, **kwargs: Any) -> Any:
    return client.request(method, API + path, **kwargs)


@app.command("search")
def search(
    text: Annotated[
        str, typer.Argument(help="words to look for (names, descriptions, columns, tags, owners)")
    ],
    facet: Annotated[
        list[str] | None,
        typer.Option(
            "--facet",
            help="narrow by KEY=VALUE (repeatable); keys: type, depot, service, schema, tag, owner",
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", help=f"at most this many hits (1-{MAX_LIMIT})")
    ] = 20,
    output: OutputOpt = "table",
) -> None:
    """Search the catalog; counts per facet follow the hits.

    Example: dataos-ctl metis search "orders email" --facet type=table --limit 5
    """
    check_format(output)
    if not 1 <= limit <= MAX_LIMIT:
        fail(f"--limit is between 1 and {MAX_LIMIT}, not {limit}")
    if len(text) > 512:
        fail("a search is at most 512 characters")
    params: dict[str, Any] = {"q": text or "*", "index": "all", "size": limit}
    params["facet"] = names.facets_of(facet or [])
    with api_session() as client:
        answer = _call(client, "GET", "/search/query", params=params)
    summary = views.search_summary(answer)
    if output != "table":
        print_data(summary, output)
        return
    views.show_search(summary)


@get_app.command("table")
def get_table(fqn: TableArg, output: OutputOpt = "table") -> None:
    """A table: its columns with their tags, owners, description, profile (if any) and the
    last runs of the pipelines that write it.

    Example: dataos-ctl metis get table shoppg.shop.public.customers -o yaml
    """
    check_format(output)
    table = names.table_fqn(fqn)
    with api_session() as client:
        path = f"/tables/name/{names.in_path(table)}"
        found = _call(client, "GET", path, params={"fields": "profile"})
        runs = _last_runs(client, table)
    if output != "table":
        print_data({"table": found, "lastRuns": runs}, output)
        return
    views.show_table(found, runs)


def _last_runs(client: DataosClient, table: str) -> list[dict[str, Any]]:
    """The latest run of each pipeline on the table's upstream edges (that you may read)."""
    graph = _call(
        client,
        "GET",
        f"/lineage/table/name/{names.in_path(table)}",
        params={"upstreamDepth": 1, "downstreamDepth": 0},
    )
    pipelines: list[str] = []
    for edge in graph["upstreamEdges"]:
        pipeline = (edge.get("lineageDetails") or {}).get("pipeline") or {}
        name = pipeline.get("fullyQualifiedName")
        if name and name not in pipelines:
            pipelines.append(name)
    from dataos_defs.api.client import ApiFailure

    runs = []
    for name in pipelines[:MAX_RUN_PIPELINES]:
        try:
            found = _call(client, "GET", f"/pipelines/name/{names.in_path(name)}")
        except ApiFailure as exc:
            if exc.status == 404:
                continue  # deleted since the edge was recorded
            raise
        status = found.get("pipelineStatus") or {}
        if status:
            runs.append(
                {
                    "pipeline": name,
                    "status": status.get("executionStatus"),
                    "timestamp": status.get("timestamp"),
                }
            )
    return runs


@app.command("lineage")
def lineage(
    fqn: TableArg,
    upstream: Annotated[int, typer.Option("--upstream", help=f"levels up (0-{MAX_DEPTH})")] = 1,
    downstream: Annotated[
        int, typer.Option("--downstream", help=f"levels down (0-{MAX_DEPTH})")
    ] = 1,
    columns: Annotated[bool, typer.Option("--columns", help="also list column lineage")] = False,
    output: OutputOpt = "table",
) -> None:
    """The lineage graph around a table, as a tree (datasets you may not read, and what
    lies behind them, are not shown).

    Example: dataos-ctl metis lineage lakehouse.default.shop.customers_360 --upstream 3 --columns
    """
    check_format(output)
    for flag, depth in (("--upstream", upstream), ("--downstream", downstream)):
        if not 0 <= depth <= MAX_DEPTH:
            fail(f"{flag} is between 0 and {MAX_DEPTH}, not {depth}")
    table = names.table_fqn(fqn)
    params = {"upstreamDepth": upstream, "downstreamDepth": downstream}
    with api_session() as client:
        graph = _call(client, "GET", f"/lineage/table/name/{names.in_path(table)}", params=params)
    if output != "table":
        print_data(graph, output)
        return
    views.show_lineage(graph, columns)


@tag_app.command("add")
def tag_add(target: TargetArg, tag: TagArg) -> None:
    """Tag a table or a column. A governed tag (PII.*, or one a data policy masks by)
    needs the 'tag' predicate on the dataset.

    Example: dataos-ctl metis tag add shoppg.shop.public.customers.email PII.Email
    """
    _change_tag(names.target_of(target), names.tag_fqn(tag), adding=True)


@tag_app.command("remove")
def tag_remove(target: TargetArg, tag: TagArg) -> None:
    """Remove a tag from a table or a column (a governed tag needs the 'tag' predicate;
    a tag a depot manifest declares cannot be removed here).

    Example: dataos-ctl metis tag remove shoppg.shop.public.customers.email PII.Email
    """
    _change_tag(names.target_of(target), names.tag_fqn(tag), adding=False)


def _change_tag(target: names.Target, tag: str, *, adding: bool) -> None:
    from dataos_defs.cli.metis_tagging import change_tag

    with api_session() as client:
        said = change_tag(client, target, tag, adding=adding)
    views.say(said)
