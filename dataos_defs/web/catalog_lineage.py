"""A dataset's lineage for the viewer: Metis' graph (the API's, with its visibility rule)
turned into a laid-out picture, a text alternative, and column lineage on demand.

The graph is the one ``GET /metis/api/v1/lineage/table/name/{fqn}`` answers for the same
caller (``lineage_routes.graph_for``, the route's own function): entities the viewer may not
read are absent and the walk does not pass through them, and a pipeline the viewer may not
read is dropped from the edges that name it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dataos_defs.api.metis.entity_routes import readable
from dataos_defs.api.metis.gate import Gate
from dataos_defs.api.metis.lineage_routes import graph_for
from dataos_defs.web.lineage_graph import Edge, Layout, Node, NodeKind, layout

DEFAULT_DEPTH = 2
MAX_DEPTH = 3
MAX_COLUMN_SOURCES = 200


@dataclass(frozen=True)
class Step:
    """One edge in words: ``source`` → ``target``, made by ``pipeline`` when known."""

    source: str
    target: str
    pipeline: str | None


@dataclass(frozen=True)
class LineageView:
    fqn: str
    name: str
    depth: int
    layout: Layout
    steps: list[Step]
    columns: list[str]


@dataclass(frozen=True)
class ColumnSource:
    column: str
    dataset: str
    function: str | None


def lineage_view(gate: Gate, table_fqn: str, depth: int) -> LineageView:
    """The graph around the dataset, ``depth`` levels up and down (404 if unreadable)."""
    depth = max(1, min(depth, MAX_DEPTH))
    root = readable(gate, "table", table_fqn, None, "non-deleted")
    found = graph_for(gate, root, depth, depth)
    entities = {found["entity"]["id"]: found["entity"], **{n["id"]: n for n in found["nodes"]}}
    nodes = [_node(entity, entity["id"] == root.id) for entity in entities.values()]
    edges: list[Edge] = []
    steps: list[Step] = []
    for edge in [*found["upstreamEdges"], *found["downstreamEdges"]]:
        source, target = entities.get(edge["fromEntity"]), entities.get(edge["toEntity"])
        if source is None or target is None:
            continue
        pipeline = edge["lineageDetails"].get("pipeline")
        if pipeline is not None:
            node = _node({**pipeline, "type": "pipeline"}, False)
            nodes.append(node)
            edges += [Edge(source["id"], node.id), Edge(node.id, target["id"])]
        else:
            edges.append(Edge(source["id"], target["id"]))
        steps.append(Step(_fqn(source), _fqn(target), _fqn(pipeline) if pipeline else None))
    columns = [str(column.get("name")) for column in root.body.get("columns") or []]
    name = str(root.body.get("displayName") or root.body.get("name"))
    return LineageView(root.fqn, name, depth, layout(nodes, edges), steps, columns)


def column_sources(gate: Gate, table_fqn: str, column: str) -> list[ColumnSource]:
    """Where one column of the dataset comes from: the ``fromColumns`` of the upstream
    edges (one level, visible ones only) whose ``toColumn`` is this column."""
    root = readable(gate, "table", table_fqn, None, "non-deleted")
    wanted = f"{root.fqn}.{column}"
    found = graph_for(gate, root, 1, 0)
    names = {node["id"]: _fqn(node) for node in found["nodes"]}
    sources: list[ColumnSource] = []
    for edge in found["upstreamEdges"]:
        dataset = names.get(edge["fromEntity"])
        if dataset is None:
            continue
        for mapping in edge["lineageDetails"].get("columnsLineage") or []:
            if mapping.get("toColumn") != wanted:
                continue
            for source in mapping.get("fromColumns") or []:
                short = str(source).removeprefix(dataset + ".")
                sources.append(ColumnSource(short, dataset, mapping.get("function")))
    return sources[:MAX_COLUMN_SOURCES]


def _fqn(entity: dict[str, Any]) -> str:
    return str(entity.get("fullyQualifiedName") or entity.get("name") or entity.get("id"))


def _node(entity: dict[str, Any], root: bool) -> Node:
    kind: NodeKind = "pipeline" if entity.get("type") == "pipeline" else "dataset"
    label = str(entity.get("displayName") or entity.get("name") or _fqn(entity))
    return Node(id=str(entity["id"]), label=label, kind=kind, fqn=_fqn(entity), root=root)
