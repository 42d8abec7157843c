"""How ``dataos-ctl metis`` shows Metis' answers to people: search hits, a table with its
columns, and a lineage graph as an indented tree (``-o json``/``yaml`` print the answers
as they are).

Bounded: a tree prints at most :data:`MAX_TREE_LINES` lines, and a dataset reached twice
is printed once (its second mention says so), so a wide graph stays readable.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from dataos_defs.cli.output import console, print_table

MAX_TREE_LINES = 500
MAX_TEXT = 60
INDEXED_TYPES = {
    "table_search_index": "table",
    "database_search_index": "database",
    "database_schema_search_index": "databaseSchema",
    "database_service_search_index": "databaseService",
    "stored_procedure_search_index": "storedProcedure",
    "pipeline_search_index": "pipeline",
    "pipeline_service_search_index": "pipelineService",
    "tag_search_index": "tag",
    "classification_search_index": "classification",
    "query_search_index": "query",
}
SHAPES = (
    ("columns", "table"),
    ("storedProcedureCode", "storedProcedure"),
    ("tasks", "pipeline"),
    ("classification", "tag"),
    ("query", "query"),
    ("database", "databaseSchema"),
)
"""A field only one entity type has → that type (a hit of an all-index search)."""


def say(text: str) -> None:
    console.print(text, markup=False)


def short(text: Any) -> str:
    value = " ".join(str(text or "").split())
    return value if len(value) <= MAX_TEXT else value[: MAX_TEXT - 1] + "…"


def when(millis: Any) -> str:
    if not isinstance(millis, int | float):
        return "-"
    return datetime.fromtimestamp(millis / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def tag_names(labels: Any) -> str:
    names = [str(label.get("tagFQN")) for label in labels or [] if isinstance(label, dict)]
    return ", ".join(names) or "-"


def owner_names(owners: Any) -> str:
    names = [
        str(owner.get("displayName") or owner.get("name") or owner.get("id"))
        for owner in owners or []
        if isinstance(owner, dict)
    ]
    return ", ".join(names) or "-"


def entity_type(hit: dict[str, Any]) -> str:
    """A hit's entity type: its index when that names one type, else its shape."""
    if hit.get("_index") in INDEXED_TYPES:
        return INDEXED_TYPES[hit["_index"]]
    source = hit.get("_source") or {}
    for field, kind in SHAPES:
        if field in source:
            return kind
    service = source.get("service")
    if isinstance(service, dict):
        return "pipeline" if service.get("type") == "pipelineService" else "database"
    return "service" if "serviceType" in source else "classification"


def search_summary(answer: dict[str, Any]) -> dict[str, Any]:
    """The search answer, trimmed to what a person reads (also the ``-o json`` shape)."""
    hits = answer["hits"]["hits"]
    return {
        "total": answer["hits"]["total"]["value"],
        "hits": [
            {
                "type": entity_type(hit),
                "fullyQualifiedName": hit["_source"].get("fullyQualifiedName"),
                "description": hit["_source"].get("description"),
                "tags": [t.get("tagFQN") for t in hit["_source"].get("tags") or []],
            }
            for hit in hits
        ],
        "facets": {
            name: {bucket["key"]: bucket["doc_count"] for bucket in facet["buckets"]}
            for name, facet in (answer.get("aggregations") or {}).items()
            if facet["buckets"]
        },
    }


def show_search(summary: dict[str, Any]) -> None:
    rows = [
        (
            hit["type"],
            hit["fullyQualifiedName"],
            ", ".join(hit["tags"]) or "-",
            short(hit["description"]),
        )
        for hit in summary["hits"]
    ]
    print_table(("TYPE", "NAME", "TAGS", "DESCRIPTION"), rows)
    say(f"{len(rows)} of {summary['total']} shown")
    for name, buckets in summary["facets"].items():
        counted = ", ".join(f"{key} ({count})" for key, count in buckets.items())
        say(f"{name}: {counted}")


def show_table(table: dict[str, Any], runs: list[dict[str, Any]]) -> None:
    say(f"table: {table['fullyQualifiedName']}")
    say(f"type: {table.get('tableType') or '-'}")
    say(f"description: {table.get('description') or '-'}")
    say(f"owners: {owner_names(table.get('owners'))}")
    say(f"tags: {tag_names(table.get('tags'))}")
    say(f"version: {table.get('version')}  updated: {when(table.get('updatedAt'))}")
    print_table(
        ("COLUMN", "TYPE", "TAGS", "DESCRIPTION"),
        [
            (
                column["name"],
                column.get("dataTypeDisplay") or column.get("dataType"),
                tag_names(column.get("tags")),
                short(column.get("description")),
            )
            for column in table.get("columns") or []
        ],
    )
    profile = table.get("profile")
    if isinstance(profile, dict):
        say("profile:")
        for key, value in profile.items():
            if not isinstance(value, dict | list):
                say(f"  {key}: {when(value) if key == 'timestamp' else value}")
    if runs:
        say("last runs:")
        print_table(
            ("PIPELINE", "STATUS", "AT"),
            [(run["pipeline"], run["status"], when(run["timestamp"])) for run in runs],
        )
    else:
        say("last runs: -")


def show_lineage(graph: dict[str, Any], columns: bool) -> None:
    names = {graph["entity"]["id"]: graph["entity"]}
    names.update((node["id"], node) for node in graph["nodes"])
    root = graph["entity"]
    say(f"{root['fullyQualifiedName']} ({root['type']})")
    lines = [
        *_tree(names, graph["upstreamEdges"], root["id"], "up"),
        *_tree(names, graph["downstreamEdges"], root["id"], "down"),
    ]
    for line in lines[:MAX_TREE_LINES]:
        say(line)
    if len(lines) > MAX_TREE_LINES:
        say(f"… {len(lines) - MAX_TREE_LINES} more lines (see -o json)")
    if columns:
        _column_table(names, [*graph["upstreamEdges"], *graph["downstreamEdges"]])


def _tree(
    names: dict[str, Any], edges: list[dict[str, Any]], root: str, direction: str
) -> Iterator[str]:
    near = "fromEntity" if direction == "up" else "toEntity"
    far = "toEntity" if direction == "up" else "fromEntity"
    around: dict[str, list[dict[str, Any]]] = {}
    for edge in edges:
        around.setdefault(edge[far], []).append(edge)
    if not edges:
        return
    yield "upstream:" if direction == "up" else "downstream:"
    arrow = "<-" if direction == "up" else "->"
    shown: set[str] = {root}
    stack = [(edge, 1) for edge in reversed(around.get(root, []))]
    while stack:
        edge, depth = stack.pop()
        key = edge[near]
        pipeline = (edge.get("lineageDetails") or {}).get("pipeline")
        via = f"  [via {pipeline.get('fullyQualifiedName')}]" if pipeline else ""
        again = "  (shown above)" if key in shown else ""
        yield f"{'  ' * depth}{arrow} {_name(names, key)}{via}{again}"
        if key not in shown:
            shown.add(key)
            stack.extend((child, depth + 1) for child in reversed(around.get(key, [])))


def _column_table(names: dict[str, Any], edges: list[dict[str, Any]]) -> None:
    rows = [
        (
            ", ".join(mapping.get("fromColumns") or []) or "-",
            mapping.get("toColumn") or "-",
            mapping.get("function") or "-",
        )
        for edge in edges
        for mapping in (edge.get("lineageDetails") or {}).get("columnsLineage") or []
    ]
    if not rows:
        say("column lineage: none recorded")
        return
    say("column lineage:")
    print_table(("FROM", "TO", "FUNCTION"), rows)


def _name(names: dict[str, Any], key: str) -> str:
    node = names.get(key) or {}
    return str(node.get("fullyQualifiedName") or key)
