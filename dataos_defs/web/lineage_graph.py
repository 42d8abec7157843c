"""A lineage graph laid out on the server, for an SVG drawn by a template (no JS library).

Metis answers a lineage graph as entities and dataset → dataset edges, each edge possibly
naming the pipeline that made it; here a pipeline becomes a node of its own between the
datasets it reads and writes (``orders → shop-daily → customers_360``), so the picture
says *how* data moved, not only from where.

The layout is the classic layered (Sugiyama-style) one, small enough to read at a glance:

1. cycles are broken by ignoring the edges a depth-first walk finds going back;
2. every node gets the layer of its longest path from a source (columns, left to right);
3. nodes are ordered in their layer by the barycenter of their neighbours, sweeping right
   then left a few times (fewer crossings);
4. coordinates follow from layer and order; an edge is a cubic curve from the right side
   of its source to the left side of its target.

Everything is bounded: at most :data:`MAX_NODES` nodes are laid out (the caller's graph is
already depth-limited); the rest are counted as left out, never drawn half.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

MAX_NODES = 120
NODE_WIDTH = 200
NODE_HEIGHT = 44
GAP_X = 72
GAP_Y = 20
MARGIN = 16
SWEEPS = 4
LABEL_CHARS = 26
"""Characters of a label drawn in a box; the full name is in the node's ``<title>``."""

NodeKind = Literal["dataset", "pipeline"]


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    kind: NodeKind
    fqn: str
    root: bool = False


@dataclass(frozen=True)
class Edge:
    source: str
    target: str


@dataclass(frozen=True)
class PlacedNode:
    node: Node
    x: int
    y: int
    layer: int

    @property
    def short_label(self) -> str:
        label = self.node.label
        return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


@dataclass(frozen=True)
class PlacedEdge:
    source: PlacedNode
    target: PlacedNode
    path: str


@dataclass(frozen=True)
class Layout:
    width: int
    height: int
    nodes: tuple[PlacedNode, ...]
    edges: tuple[PlacedEdge, ...]
    left_out: int

    @property
    def node_width(self) -> int:
        return NODE_WIDTH

    @property
    def node_height(self) -> int:
        return NODE_HEIGHT


def layout(nodes: Sequence[Node], edges: Iterable[Edge]) -> Layout:
    """Place ``nodes`` (the first :data:`MAX_NODES`, the root always among them) and the
    ``edges`` between placed nodes (a node's edge to itself is not drawn)."""
    kept = _bounded(nodes)
    ids = {node.id for node in kept}
    wanted = list(
        dict.fromkeys(
            e for e in edges if e.source in ids and e.target in ids and e.source != e.target
        )
    )
    forward = _acyclic([node.id for node in kept], wanted)
    layers = _layers([node.id for node in kept], forward)
    order = _ordered(layers, forward)
    by_id = {node.id: node for node in kept}
    tallest = max((len(column) for column in order), default=0)
    height = 2 * MARGIN + max(tallest * (NODE_HEIGHT + GAP_Y) - GAP_Y, NODE_HEIGHT)
    placed: dict[str, PlacedNode] = {}
    for layer, column in enumerate(order):
        top = (height - (len(column) * (NODE_HEIGHT + GAP_Y) - GAP_Y)) // 2
        for index, node_id in enumerate(column):
            x = MARGIN + layer * (NODE_WIDTH + GAP_X)
            y = top + index * (NODE_HEIGHT + GAP_Y)
            placed[node_id] = PlacedNode(by_id[node_id], x, y, layer)
    width = 2 * MARGIN + max(len(order) * (NODE_WIDTH + GAP_X) - GAP_X, NODE_WIDTH)
    drawn = tuple(
        PlacedEdge(placed[e.source], placed[e.target], _curve(placed[e.source], placed[e.target]))
        for e in wanted
    )
    ordered_nodes = tuple(sorted(placed.values(), key=lambda p: (p.layer, p.y)))
    return Layout(width, height, ordered_nodes, drawn, len(nodes) - len(kept))


def _bounded(nodes: Sequence[Node]) -> list[Node]:
    unique = list({node.id: node for node in nodes}.values())
    if len(unique) <= MAX_NODES:
        return unique
    roots = [node for node in unique if node.root]
    others = [node for node in unique if not node.root]
    return roots + others[: MAX_NODES - len(roots)]


def _acyclic(ids: list[str], edges: list[Edge]) -> list[Edge]:
    """``edges`` without those a depth-first walk meets going back (a cycle's last edge)."""
    outgoing: dict[str, list[Edge]] = defaultdict(list)
    for edge in edges:
        outgoing[edge.source].append(edge)
    state: dict[str, int] = {}
    back: set[Edge] = set()
    for start in ids:
        if start in state:
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        state[start] = 1
        while stack:
            node, position = stack.pop()
            if position < len(outgoing[node]):
                stack.append((node, position + 1))
                edge = outgoing[node][position]
                seen = state.get(edge.target)
                if seen == 1:
                    back.add(edge)
                elif seen is None:
                    state[edge.target] = 1
                    stack.append((edge.target, 0))
            else:
                state[node] = 2
    return [edge for edge in edges if edge not in back]


def _layers(ids: list[str], edges: list[Edge]) -> dict[str, int]:
    """Each node's longest path from a source (Kahn's order over an acyclic graph)."""
    incoming: dict[str, int] = dict.fromkeys(ids, 0)
    outgoing: dict[str, list[str]] = defaultdict(list)
    for edge in edges:
        incoming[edge.target] += 1
        outgoing[edge.source].append(edge.target)
    layer = dict.fromkeys(ids, 0)
    ready = [node for node in ids if incoming[node] == 0]
    while ready:
        node = ready.pop(0)
        for target in outgoing[node]:
            layer[target] = max(layer[target], layer[node] + 1)
            incoming[target] -= 1
            if incoming[target] == 0:
                ready.append(target)
    return layer


def _ordered(layers: dict[str, int], edges: list[Edge]) -> list[list[str]]:
    """Nodes per layer, ordered by the barycenter of their neighbours (a few sweeps)."""
    count = max(layers.values(), default=-1) + 1
    columns: list[list[str]] = [[] for _ in range(count)]
    for node, layer in layers.items():
        columns[layer].append(node)
    before: dict[str, list[str]] = defaultdict(list)
    after: dict[str, list[str]] = defaultdict(list)
    for edge in edges:
        before[edge.target].append(edge.source)
        after[edge.source].append(edge.target)
    for sweep in range(SWEEPS):
        rightwards = sweep % 2 == 0
        indexes = range(1, count) if rightwards else range(count - 2, -1, -1)
        for layer in indexes:
            neighbour = columns[layer - 1] if rightwards else columns[layer + 1]
            position = {node: index for index, node in enumerate(neighbour)}
            links = before if rightwards else after
            columns[layer] = _by_barycenter(columns[layer], links, position)
    return columns


def _by_barycenter(
    column: list[str], links: dict[str, list[str]], position: dict[str, int]
) -> list[str]:
    def center(item: tuple[int, str]) -> tuple[float, int]:
        index, node = item
        seen = [position[other] for other in links[node] if other in position]
        return (sum(seen) / len(seen) if seen else float(index), index)

    return [node for _, node in sorted(enumerate(column), key=center)]


def _curve(source: PlacedNode, target: PlacedNode) -> str:
    x1, y1 = source.x + NODE_WIDTH, source.y + NODE_HEIGHT // 2
    x2, y2 = target.x, target.y + NODE_HEIGHT // 2
    bend = max((x2 - x1) // 2, GAP_X // 2)
    return f"M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2},{y2}"
