"""The lineage layout (pure): layers follow the edges, cycles do not hang it, nodes never
overlap, and the node count is bounded with the root always drawn."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dataos_defs.web.lineage_graph import MAX_NODES, NODE_HEIGHT, NODE_WIDTH, Edge, Node, layout


def nodes(*ids: str) -> list[Node]:
    return [Node(id=i, label=i, kind="dataset", fqn=f"svc.db.s.{i}") for i in ids]


def test_a_chain_through_a_pipeline_goes_left_to_right() -> None:
    graph = [*nodes("orders", "customers_360"), Node("p", "shop-daily", "pipeline", "dagster.p")]
    placed = layout(graph, [Edge("orders", "p"), Edge("p", "customers_360")])
    layers = {p.node.id: p.layer for p in placed.nodes}
    assert layers == {"orders": 0, "p": 1, "customers_360": 2}
    assert len(placed.edges) == 2
    assert all(e.source.x + NODE_WIDTH < e.target.x for e in placed.edges)
    assert placed.edges[0].path.startswith(f"M{NODE_WIDTH + placed.nodes[0].x},")


def test_a_cycle_is_laid_out_and_self_edges_ignored() -> None:
    placed = layout(nodes("a", "b", "c"), [Edge("a", "b"), Edge("b", "c"), Edge("c", "a")])
    assert {p.node.id for p in placed.nodes} == {"a", "b", "c"}
    assert len({p.layer for p in placed.nodes}) == 3
    assert layout(nodes("a"), [Edge("a", "a")]).nodes[0].layer == 0


def test_the_node_count_is_bounded_and_the_root_kept() -> None:
    many = nodes(*(f"n{i}" for i in range(MAX_NODES + 30)))
    root = Node("root", "root", "dataset", "svc.db.s.root", root=True)
    placed = layout([*many, root], [Edge("n0", "root")])
    assert len(placed.nodes) == MAX_NODES and placed.left_out == 31
    assert any(p.node.root for p in placed.nodes)


def test_long_labels_are_shortened_for_the_box_only() -> None:
    [placed] = layout([Node("x", "a" * 80, "dataset", "f")], []).nodes
    assert len(placed.short_label) <= 26 and placed.node.label == "a" * 80


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=1, max_value=25).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=60),
        )
    )
)
def test_nodes_never_overlap_and_fit_the_canvas(graph: tuple[int, list[tuple[int, int]]]) -> None:
    count, pairs = graph
    placed = layout(
        nodes(*(str(i) for i in range(count))), [Edge(str(a), str(b)) for a, b in pairs]
    )
    assert len(placed.nodes) == count
    boxes = [(p.x, p.y) for p in placed.nodes]
    assert len(set(boxes)) == count
    for p in placed.nodes:
        assert p.x >= 0 and p.x + NODE_WIDTH <= placed.width
        assert p.y >= 0 and p.y + NODE_HEIGHT <= placed.height
    for edge in placed.edges:
        if (edge.source.node.id, edge.target.node.id) in {(str(a), str(b)) for a, b in pairs}:
            assert edge.source.layer != edge.target.layer
