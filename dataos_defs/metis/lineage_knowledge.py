"""The knowledge-graph view of a lineage graph: the pipelines that made its edges, the
owners and the tags of its entities, as nodes and typed links beside the lineage.

Opt-in (``knowledgeGraph=true`` on the lineage routes): the OpenMetadata client parses a
lineage answer with a model that forbids unknown keys, so the view is one extra key,
``knowledgeGraph``, added only on request::

    {"pipelines": [EntityReference], "owners": [EntityReference],
     "tags": [{"tagFQN", "source"}],
     "links": [{"from": <entity id>, "to": <pipeline id | owner id | tag FQN>,
                "relation": "readBy" | "producedBy" | "ownedBy" | "taggedWith", "column"?: name}]}

It is built from what the caller already sees: the entities of the graph (visible ones
only), and the pipelines left in the edges' details (a hidden one is removed before).
Bounded by the graph (``lineage.MAX_NODES``) and by :data:`MAX_LINKS`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dataos_defs.metis.records import StoredEntity

MAX_LINKS = 20_000


class TooManyLinks(ValueError):
    pass


class _View:
    def __init__(self) -> None:
        self.pipelines: dict[str, dict[str, Any]] = {}
        self.owners: dict[str, dict[str, Any]] = {}
        self.tags: dict[str, dict[str, Any]] = {}
        self.links: list[dict[str, Any]] = []
        self._linked: set[tuple[str, str, str, str | None]] = set()

    def link(self, source: str, target: str, relation: str, column: str | None = None) -> None:
        if (source, target, relation, column) in self._linked:
            return
        self._linked.add((source, target, relation, column))
        if len(self.links) >= MAX_LINKS:
            raise TooManyLinks(
                f"the knowledge graph holds more than {MAX_LINKS} links; ask for a smaller depth"
            )
        link = {"from": source, "to": target, "relation": relation}
        if column is not None:
            link["column"] = column
        self.links.append(link)

    def tag(self, entity_id: str, label: Any, column: str | None) -> None:
        if not isinstance(label, dict) or not isinstance(label.get("tagFQN"), str):
            return
        tag_fqn = label["tagFQN"]
        self.tags.setdefault(
            tag_fqn, {"tagFQN": tag_fqn, "source": label.get("source", "Classification")}
        )
        self.link(entity_id, tag_fqn, "taggedWith", column)

    def answer(self) -> dict[str, Any]:
        return {
            "pipelines": list(self.pipelines.values()),
            "owners": list(self.owners.values()),
            "tags": list(self.tags.values()),
            "links": self.links,
        }


def knowledge_graph(
    found: Mapping[str, Any], entities: Mapping[str, StoredEntity]
) -> dict[str, Any]:
    """The view of ``found`` (a lineage answer, pipelines already filtered) given the full
    ``entities`` of its nodes by id."""
    view = _View()
    for edge in _edges(found):
        pipeline = edge["lineageDetails"].get("pipeline")
        if isinstance(pipeline, dict) and isinstance(pipeline.get("id"), str):
            view.pipelines.setdefault(pipeline["id"], pipeline)
            view.link(edge["fromEntity"], pipeline["id"], "readBy")
            view.link(edge["toEntity"], pipeline["id"], "producedBy")
    for entity_id in _node_ids(found):
        stored = entities.get(entity_id)
        if stored is not None:
            _describe(view, stored)
    return view.answer()


def _describe(view: _View, stored: StoredEntity) -> None:
    for owner in stored.body.get("owners") or []:
        if isinstance(owner, dict) and isinstance(owner.get("id"), str):
            view.owners.setdefault(owner["id"], owner)
            view.link(stored.id, owner["id"], "ownedBy")
    for label in stored.body.get("tags") or []:
        view.tag(stored.id, label, None)
    for column in stored.body.get("columns") or []:
        if isinstance(column, dict):
            for label in column.get("tags") or []:
                view.tag(stored.id, label, str(column.get("name")))


def _edges(found: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    return [*found["upstreamEdges"], *found["downstreamEdges"]]


def _node_ids(found: Mapping[str, Any]) -> list[str]:
    return [found["entity"]["id"], *(node["id"] for node in found["nodes"])]
