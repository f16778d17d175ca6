"""Layered left-to-right drawing of a computation graph.

A Sugiyama-style pipeline, written for the graphs a backpropagation lesson draws (inputs on the
left, the loss on the right):

1. **Layering.** The layering with the least total edge length above the longest-path one
   (dot's ranking LP, solved by network simplex): few long edges, so few dummies and
   crossings. Leaves sit one layer left of their earliest consumer, sinks in the rightmost
   layer, and op nodes move right when that shortens their edges.
2. **Virtual nodes.** Edges longer than one layer are split by dummy nodes, one per layer
   crossed; the dummies take part in the ordering and in the coordinates, and become the bend
   points of the drawn edge. A graph of n nodes gets at most 2n + 200 dummies, shortest edges
   first; longer edges beyond that budget (only hostile shapes like ``x+x+...+x`` reach it)
   are drawn as straight segments and left out of the next two steps.
3. **Crossing reduction.** Two initial orders from a depth-first search (operands in order,
   so related nodes start together), each improved by sifting (every node moved to its best
   slot in its layer, with an exact crossing matrix); the better one is refined by alternating
   sifting sweeps down and up and adjacent transpositions. Crossings between consecutive
   layers are counted exactly with an accumulator tree (Barth-Juenger-Mutzel). Very large
   graphs get fewer rounds, and above 40,000 nodes plus dummies two median sweeps only.
4. **Coordinates.** Brandes-Koepf: four alignments of nodes with their median neighbours,
   each compacted with a minimum separation of one unit, combined by the average median, so
   long edges run straight and the drawing is balanced.

Everything is deterministic: ties are broken by node order (node ids sorted, or insertion
order when the ids are not comparable) and by edge insertion order, never by hash order.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Hashable, Mapping

import networkx as nx
import numpy as np

__all__ = ["count_crossings", "layout", "widen"]

# Above these sizes (nodes including dummies) the crossing reduction does less work, so huge
# graphs still finish in seconds.
_LARGE = 12_000
_HUGE = 40_000
# Components above this many nodes keep the longest-path layering (network simplex is
# superlinear; bench/bench_layout.py measures it).
_SIMPLEX_LIMIT = 20_000
# At most _DUMMY_PER_NODE * n + _DUMMY_BASE dummy nodes for a graph of n nodes (see
# _direct_edges). Traced MLPs need ~0.2 n, so typical graphs never reach it; one leaf feeding a
# chain of k ops (``x+x+...+x``) would need ~k**2 / 2. The later stages cost roughly linear
# time in nodes plus dummies, so the budget bounds the work of any graph with bounded in-degree.
_DUMMY_PER_NODE = 2
_DUMMY_BASE = 200


def layout(graph: nx.DiGraph, scale: float = 1.0, center=None) -> dict:
    """Position the nodes of a DAG in layers from left (inputs) to right (loss).

    Layers are one unit apart horizontally and nodes of a layer at least one unit apart
    vertically, both multiplied by `scale`; the aspect ratio is kept (the drawing is not
    squeezed into a unit box). Each edge also gets an attribute ``points``: the polyline from
    the parent's position to the child's position, with a bend in every layer it crosses
    (within a budget of dummy nodes, see Notes).

    Parameters
    ----------
    graph : networkx.DiGraph or networkx.MultiDiGraph
        A directed acyclic graph; edges go from an operand to the node computed from it.
        Parallel edges (``a * a``) are drawn on top of each other. Node attributes are not
        needed; the edge attribute ``slot`` (operand index), when present, orders the
        operands, else edge insertion order does. The edge attribute ``points`` is set on
        every edge (every key of a multigraph), as a list of ``(x, y)`` float tuples starting
        at the parent's position and ending at the child's; parallel edges get equal lists.
    scale : float, optional (default=1.0)
        Length of one unit of the layout: the distance between consecutive layers and the
        minimum distance between two nodes of one layer.
    center : array-like of two floats, optional (default=None, meaning ``(0, 0)``)
        Where the middle of the drawing's bounding box goes.

    Returns
    -------
    pos : dict
        A dictionary of positions keyed by node, values ``(x, y)`` float tuples; ``x`` grows
        from inputs to the loss, ``y`` grows upwards (first operands are drawn higher).

    Raises
    ------
    ValueError
        If the graph is undirected or has a cycle.

    Notes
    -----
    Leaves (in-degree 0) sit one layer left of their earliest consumer, op nodes at their
    longest path from the sources (moved right when that shortens their edges), sinks in the
    rightmost layer. Weakly connected components are laid out separately, stacked from top to
    bottom in the order of their first node, and right-aligned.

    An edge spanning several layers is routed through one dummy node per layer crossed, but
    the whole graph gets at most ``2 * n + 200`` dummies (``n`` nodes), which bounds the work
    whatever the shape. Traced MLPs need about ``0.2 * n``; a hostile input such as
    ``x+x+...+x`` (one leaf feeding a chain of ``k`` adds) would need about ``k**2 / 2``.
    When the edges need more, the shortest ones get their dummies first (ties: by child in
    node order, then operand order) until the budget is spent, and the rest are drawn
    *direct*: ``points`` is just ``[parent, child]``, a straight segment that may pass over
    other nodes, and the edge takes no part in the crossing reduction or the coordinate
    assignment (its nodes are still layered with it).

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.MultiDiGraph()
    >>> G.add_edges_from([(0, 2), (1, 2), (2, 3), (2, 3)])  # c = a * b; d = c * c
    [0, 0, 0, 1]
    >>> pos = layout(G)
    >>> [pos[n][0] for n in range(4)]
    [-1.0, -1.0, 0.0, 1.0]
    >>> pos[0][1] > pos[1][1]  # the first operand is drawn above the second
    True
    >>> G.edges[2, 3, 1]["points"] == [pos[2], pos[3]]
    True
    >>> layout(G, scale=2.0, center=(10, 0))[3]
    (12.0, 0.0)
    """
    if not graph.is_directed():
        raise ValueError("layout needs a directed graph")
    if center is None:
        center = (0.0, 0.0)
    cx, cy = float(center[0]), float(center[1])
    if len(graph) == 0:
        return {}

    nodes = _ordered_nodes(graph)
    index = {node: i for i, node in enumerate(nodes)}
    parents = [[index[p] for p in _operands(graph, node)] for node in nodes]
    children = [[index[c] for c in graph.succ[node]] for node in nodes]
    if any(i in parents[i] for i in range(len(nodes))):
        raise ValueError("layout needs an acyclic graph; found a self-loop")

    raw_x = [0.0] * len(nodes)
    raw_y = [0.0] * len(nodes)
    bends: dict[tuple[int, int], list[tuple[float, float]]] = {}
    components, orders = _components_in_order(parents)
    layerings = [_compute_layers(parents, children, comp, order)
                 for comp, order in zip(components, orders)]
    n_layers = [max(layering.values()) + 1 for layering in layerings]
    direct = _direct_edges(parents, components, layerings)
    right = max(n_layers) - 1
    top = 0.0
    for comp, layering, count in zip(components, layerings, n_layers):
        drawing = _layout_component(parents, comp, layering, direct)
        shift_x = right - (count - 1)
        ys = [drawing.y[i] for i in comp]
        shift_y = top - min(ys)
        for i in comp:
            raw_x[i] = drawing.x[i] + shift_x
            raw_y[i] = drawing.y[i] + shift_y
        for edge, chain in drawing.bends.items():
            bends[edge] = [(x + shift_x, y + shift_y) for x, y in chain]
        top += max(ys) - min(ys) + 1.0

    # Order 0 is the top of a layer: flip so y grows upwards, then centre and scale.
    mid_x = (min(raw_x) + max(raw_x)) / 2.0
    mid_y = (min(raw_y) + max(raw_y)) / 2.0
    scale = float(scale)

    def place(x: float, y: float) -> tuple[float, float]:
        return ((x - mid_x) * scale + cx, (mid_y - y) * scale + cy)

    pos = {node: place(raw_x[i], raw_y[i]) for i, node in enumerate(nodes)}
    multi = graph.is_multigraph()
    edge_iter = graph.edges(keys=True, data=True) if multi else graph.edges(data=True)
    for edge in edge_iter:
        u, v, data = edge[0], edge[1], edge[-1]
        middle = [place(x, y) for x, y in bends.get((index[u], index[v]), ())]
        data["points"] = [pos[u], *middle, pos[v]]
    return pos


def widen(graph: nx.DiGraph, positions: dict, aspect: float = 1.6) -> dict:
    """Stretch a layered drawing sideways until it is ``aspect`` times as wide as tall.

    An MLP (grouped or not) has a few layers of many nodes each: drawn with square units
    it is a thin column. The edges' ``points`` are stretched with the nodes; a drawing
    that is wide enough already is returned as it is.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.MultiDiGraph([(0, 2), (1, 2), (3, 2)])
    >>> pos = widen(g, layout(g), aspect=2)
    >>> pos[0], pos[2], g.edges[0, 2, 0]["points"]
    ((-2.0, 1.0), (2.0, 0.0), [(-2.0, 1.0), (2.0, 0.0)])
    """
    if not positions:
        return positions
    xs, ys = [x for x, _ in positions.values()], [y for _, y in positions.values()]
    width, height = max(xs) - min(xs), max(ys) - min(ys)
    if width <= 0 or width >= aspect * height:
        return positions
    f = aspect * height / width
    for _, _, data in graph.edges(data=True):
        if "points" in data:
            data["points"] = [(x * f, y) for x, y in data["points"]]
    return {n: (x * f, y) for n, (x, y) in positions.items()}


def count_crossings(graph: nx.DiGraph, positions: Mapping, points: str | None = "points") -> int:
    """Count the crossings of a drawing made of straight segments.

    Each edge is drawn as the polyline in its edge attribute `points` (when the attribute is
    present) or else as the straight segment between its end nodes. Two segments count as
    crossing when they cross properly (each one strictly changes side of the other);
    segments that only touch, share an end or overlap (parallel edges) do not count.

    Parameters
    ----------
    graph : networkx.DiGraph or networkx.MultiDiGraph
        The drawn graph (direction is ignored).
    positions : mapping
        Node -> ``(x, y)``.
    points : str or None, optional (default="points")
        The edge attribute holding the polyline; ``None`` draws every edge straight.

    Returns
    -------
    int
        The number of crossing pairs of segments.

    Notes
    -----
    The plane is cut into vertical slabs at every x where a segment starts or ends; within a
    slab two segments cross exactly when their vertical order differs at the slab's two sides,
    so the crossings are an inversion count, O(S log S) for S pieces of segments. Vertical
    segments are ignored, and two segments crossing exactly on a slab boundary (which needs
    a bend or node of one lying on the other) are not counted.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph([(0, 3), (1, 2)])
    >>> count_crossings(G, {0: (0, 0), 1: (0, 1), 2: (1, 0), 3: (1, 1)})
    1
    >>> count_crossings(G, {0: (0, 0), 1: (0, 1), 2: (1, 1), 3: (1, 0)})
    0
    """
    segments: list[tuple[float, float, float, float]] = []
    seen: set = set()
    for u, v, data in graph.edges(data=True):
        chain = data.get(points) if points is not None else None
        if chain is None:
            chain = [positions[u], positions[v]]
        for (x0, y0), (x1, y1) in zip(chain, chain[1:]):
            x0, y0, x1, y1 = float(x0), float(y0), float(x1), float(y1)
            if x0 == x1:
                continue
            if x0 > x1:
                x0, y0, x1, y1 = x1, y1, x0, y0
            seg = (x0, y0, x1, y1)
            if seg not in seen:  # membership only: no iteration over the set
                seen.add(seg)
                segments.append(seg)
    if len(segments) < 2:
        return 0

    columns = sorted({s[0] for s in segments} | {s[2] for s in segments})
    slot = {x: i for i, x in enumerate(columns)}
    slabs: list[list[tuple[float, float]]] = [[] for _ in range(len(columns) - 1)]
    for x0, y0, x1, y1 in segments:
        slope = (y1 - y0) / (x1 - x0)
        first, last = slot[x0], slot[x1]
        left_y = y0
        for k in range(first, last):
            right_x = columns[k + 1]
            right_y = y1 if k + 1 == last else y0 + slope * (right_x - x0)
            slabs[k].append((left_y, right_y))
            left_y = right_y
    return sum(_strict_inversions(pieces) for pieces in slabs)


def _strict_inversions(pieces: list[tuple[float, float]]) -> int:
    """Pairs with left ends strictly ordered one way and right ends strictly the other."""
    if len(pieces) < 2:
        return 0
    rights = sorted({r for _, r in pieces})
    rank = {r: i + 1 for i, r in enumerate(rights)}
    tree = _CountTree(len(rights))
    total = 0
    # Sorting equal left ends by right end keeps pairs that share a left end uncounted.
    ordered = sorted(pieces)
    i = 0
    while i < len(ordered):
        j = i
        while j < len(ordered) and ordered[j][0] == ordered[i][0]:
            j += 1
        group = [rank[r] for _, r in ordered[i:j]]
        for r in group:  # count against earlier groups only
            total += i - tree.at_most(r)
        for r in group:
            tree.add(r)
        i = j
    return total


class _CountTree:
    """How many of the positions added so far are at most ``k`` (a Fenwick tree over
    1..size): both crossing counts sweep one side and ask about the other."""

    def __init__(self, size: int):
        self.size = size
        self.tree = [0] * (size + 1)

    def add(self, k: int) -> None:
        tree, size = self.tree, self.size
        while k <= size:
            tree[k] += 1
            k += k & -k

    def at_most(self, k: int) -> int:
        tree, total = self.tree, 0
        while k > 0:
            total += tree[k]
            k -= k & -k
        return total


# --------------------------------------------------------------------------- graph plumbing


def _ordered_nodes(graph: nx.DiGraph) -> list[Hashable]:
    nodes = list(graph.nodes)
    try:
        return sorted(nodes)
    except TypeError:
        return nodes


def _operands(graph: nx.DiGraph, node) -> list[Hashable]:
    """Parents in operand order: by the edge attribute ``slot`` where it is a number (the
    trace sets it), else in edge insertion order. The first operand is drawn on top."""
    preds = graph.pred[node]
    multi = graph.is_multigraph()

    def slot(parent):
        datas = preds[parent].values() if multi else (preds[parent],)
        slots = [d.get("slot") for d in datas]
        slots = [s for s in slots if isinstance(s, (int, float)) and not isinstance(s, bool)]
        return min(slots) if slots else float("inf")

    return sorted(preds, key=slot)  # stable: insertion order among equal slots


# --------------------------------------------------------------------------- layering


def _components_in_order(parents: list[list[int]]) -> tuple[list[list[int]], list[list[int]]]:
    """The weakly connected components (each sorted, ordered by their smallest node) and a
    topological order of each, by networkx over the node indices."""
    plain = nx.DiGraph()
    plain.add_nodes_from(range(len(parents)))
    plain.add_edges_from((p, v) for v, ps in enumerate(parents) for p in ps)
    components = sorted(sorted(comp) for comp in nx.weakly_connected_components(plain))
    try:
        order = list(nx.topological_sort(plain))
    except nx.NetworkXUnfeasible:
        raise ValueError("layout needs an acyclic graph; found a cycle") from None
    component_of = {v: c for c, comp in enumerate(components) for v in comp}
    orders: list[list[int]] = [[] for _ in components]
    for v in order:  # the whole order, restricted to a component, is an order of it
        orders[component_of[v]].append(v)
    return components, orders


def _compute_layers(parents, children, comp: list[int], order: list[int]) -> dict[int, int]:
    is_leaf = {v: not parents[v] for v in comp}
    layer: dict[int, int] = {}
    for v in order:  # longest path from the sources
        layer[v] = max((layer[p] + 1 for p in parents[v]), default=0)
    if 2 < len(comp) <= _SIMPLEX_LIMIT:
        _shortest_edges(parents, children, comp, order, layer)
    last = max(layer.values())
    for v in comp:
        if not children[v]:
            layer[v] = last
    _pull_right(parents, children, order, layer, is_leaf)
    for v in comp:  # leaves next to their earliest consumer
        if is_leaf[v] and children[v]:
            layer[v] = min(layer[c] for c in children[v]) - 1
    low = min(layer.values())
    if low:
        for v in comp:
            layer[v] -= low
    return layer


def _shortest_edges(parents, children, comp, order, layer) -> None:
    """Raise `layer` to the least layering with the smallest total edge length.

    This is the ranking LP of Gansner et al. (dot): minimise sum(layer[v] - layer[u]) over
    edges subject to layer[v] - layer[u] >= 1. Its dual is a min-cost flow, solved with
    networkx's network simplex; by complementary slackness every edge carrying flow is tight
    (length exactly 1) in an optimal layering, so the least layering above the longest-path
    one that keeps those edges tight is optimal. Fewer long edges mean fewer dummy nodes and
    far fewer crossings: the neurons of an MLP layer come out staggered along the add chains
    that consume them instead of stacked with long edges fanning out.
    """
    # A leaf with a single consumer always ends up right before it: leave it out of the
    # problem (a third of the nodes of a traced MLP), it is placed afterwards.
    def kept(v):
        return parents[v] or len(children[v]) > 1

    flow_graph = nx.DiGraph()
    for v in comp:
        if kept(v):
            ins = sum(1 for p in parents[v] if kept(p))
            flow_graph.add_node(v, demand=ins - len(children[v]))
    for v in comp:
        for p in parents[v]:
            if kept(p):
                flow_graph.add_edge(p, v, weight=-1)
    _, flow = nx.network_simplex(flow_graph)
    # Difference constraints layer[b] >= layer[a] + w, relaxed to a fixpoint from below.
    raise_after: dict[int, list[tuple[int, int]]] = {v: [(c, 1) for c in children[v]] for v in comp}
    for p, out in flow.items():
        for c, amount in out.items():
            if amount > 0:
                raise_after[c].append((p, -1))
    queue = deque(order)
    queued = dict.fromkeys(comp, True)
    while queue:
        a = queue.popleft()
        queued[a] = False
        base = layer[a]
        for b, w in raise_after[a]:
            if layer[b] < base + w:
                layer[b] = base + w
                if not queued[b]:
                    queued[b] = True
                    queue.append(b)


def _pull_right(parents, children, order, layer, is_leaf) -> None:
    """Move op nodes within their slack where that shortens the edges in total.

    Leaves follow their earliest consumer, so an edge from a leaf with a single consumer has
    a fixed length and does not count; a shared leaf counts the lengths to all its consumers.
    Each move strictly lowers the total edge length, so the passes terminate.
    """

    movable = [v for v in reversed(order) if not is_leaf[v] and children[v]]
    for _ in range(8):
        moved = False
        for v in movable:
            op_parents = [p for p in parents[v] if not is_leaf[p]]
            low = max((layer[p] + 1 for p in op_parents), default=1)
            high = min(layer[c] for c in children[v]) - 1
            if high <= low and layer[v] == low == high:
                continue
            shared = []
            for p in parents[v]:
                if is_leaf[p] and len(children[p]) > 1:
                    others = [layer[c] for c in children[p] if c != v]
                    shared.append((min(others), sum(others), len(children[p])))
            out_deg = len(children[v])
            in_deg = len(op_parents)

            def cost(t):
                total = (in_deg - out_deg) * t
                for m_other, s_other, count in shared:
                    total += t + s_other - count * min(t, m_other)
                return total

            candidates = {low, high, layer[v]}
            candidates.update(m for m, _, _ in shared if low <= m <= high)
            current = layer[v]
            best = min(sorted(candidates), key=lambda t: (cost(t), abs(t - current), -t))
            if best != current and cost(best) < cost(current):
                layer[v] = best
                moved = True
        if not moved:
            break


# --------------------------------------------------------------------------- one component


def _direct_edges(parents, components, layerings) -> set[tuple[int, int]]:
    """The edges drawn without dummy nodes, so the graph has at most
    ``_DUMMY_PER_NODE * n + _DUMMY_BASE`` dummies; empty for all but hostile graphs.

    Dummies cost time in every later stage (a leaf feeding a chain of 1,000 adds needs half a
    million), so they are rationed: shortest edges first, because a short edge
    gains most from bends (it stays in its layers' order) and costs least, while a very long
    edge would take a whole column of dummies from hundreds of short ones.
    """
    n = len(parents)
    budget = _DUMMY_PER_NODE * n + _DUMMY_BASE
    edges = []  # (dummies needed, child, operand index, parent): child and index break ties
    for comp, layer in zip(components, layerings):
        for v in comp:
            for k, p in enumerate(parents[v]):
                need = layer[v] - layer[p] - 1
                if need > 0:
                    edges.append((need, v, k, p))
    if sum(e[0] for e in edges) <= budget:
        return set()
    edges.sort()
    spent = 0
    for i, (need, _, _, _) in enumerate(edges):
        if spent + need > budget:
            return {(p, v) for _, v, _, p in edges[i:]}
        spent += need
    return set()


class _Drawing:
    __slots__ = ("x", "y", "bends")

    def __init__(self):
        self.x: dict[int, float] = {}
        self.y: dict[int, float] = {}
        self.bends: dict[tuple[int, int], list[tuple[float, float]]] = {}


def _layout_component(
    parents, comp: list[int], layer_of: dict[int, int], direct: set[tuple[int, int]]
) -> _Drawing:
    # Local ids: the component's nodes 0..k-1 in node order, then the dummies.
    local = {v: i for i, v in enumerate(comp)}
    layer = [layer_of[v] for v in comp]
    ups: list[list[int]] = [[] for _ in comp]
    downs: list[list[int]] = [[] for _ in comp]
    chains: dict[tuple[int, int], list[int]] = {}
    for v in comp:
        lv = local[v]
        for p in parents[v]:  # operand order: ups lists stay in that order
            if (p, v) in direct:  # over the dummy budget: a straight segment, not ordered
                chains[(p, v)] = []
                continue
            lp = local[p]
            prev = lp
            chain = []
            for r in range(layer[lp] + 1, layer[lv]):
                d = len(layer)
                layer.append(r)
                ups.append([prev])
                downs.append([])
                downs[prev].append(d)
                chain.append(d)
                prev = d
            ups[lv].append(prev)
            downs[prev].append(lv)
            chains[(p, v)] = chain
    n_real = len(comp)
    n_layers = max(layer) + 1

    layers = _reduce_crossings(ups, downs, layer, n_layers, n_real)
    coord = _assign_coordinates(layers, ups, downs, n_real)

    drawing = _Drawing()
    for v in comp:
        lv = local[v]
        drawing.x[v] = float(layer[lv])
        drawing.y[v] = coord[lv]
    for edge, chain in chains.items():
        drawing.bends[edge] = [(float(layer[d]), coord[d]) for d in chain]
    return drawing


# --------------------------------------------------------------------------- crossing reduction


def _dfs_preorder(start_nodes, neighbours, layer, n_layers) -> list[list[int]]:
    n = len(layer)
    seen = [False] * n
    layers: list[list[int]] = [[] for _ in range(n_layers)]
    for s in start_nodes:
        if seen[s]:
            continue
        stack = [s]
        while stack:
            v = stack.pop()
            if seen[v]:
                continue
            seen[v] = True
            layers[layer[v]].append(v)
            for w in reversed(neighbours[v]):
                if not seen[w]:
                    stack.append(w)
    return layers


def _layer_crossings(upper: list[int], lower_size: int, downs, pos) -> int:
    """Crossings between two consecutive layers (accumulator tree, Barth-Juenger-Mutzel)."""
    if lower_size < 2 or len(upper) < 2:
        return 0
    tree = _CountTree(lower_size)
    total = 0
    seen = 0
    for u in upper:
        targets = sorted(pos[v] + 1 for v in downs[u])
        for t in targets:
            total += seen - tree.at_most(t)
        for t in targets:
            tree.add(t)
            seen += 1
    return total


def _total_crossings(layers, downs, pos) -> int:
    return sum(
        _layer_crossings(layers[r], len(layers[r + 1]), downs, pos) for r in range(len(layers) - 1)
    )


def _median_key(positions: list[int]) -> float:
    """Weighted median of neighbour positions (Gansner et al.), -1 when there are none."""
    m = len(positions)
    if m == 0:
        return -1.0
    positions.sort()
    half = m // 2
    if m % 2 == 1:
        return float(positions[half])
    if m == 2:
        return (positions[0] + positions[1]) / 2.0
    left = positions[half - 1] - positions[0]
    right = positions[-1] - positions[half]
    if left + right == 0:
        return (positions[half - 1] + positions[half]) / 2.0
    return (positions[half - 1] * right + positions[half] * left) / (left + right)


def _sweep(layers, order_range, neighbours, pos) -> None:
    """Reorder each layer by the median of its neighbours in the previous layer of the sweep.

    Nodes without neighbours there keep their slots. Ties are broken by the barycenter, then
    by the current position.
    """
    for r in order_range:
        current = layers[r]
        keyed = []
        fixed_slots = []
        for slot, v in enumerate(current):
            ps = [pos[w] for w in neighbours[v]]
            if not ps:
                fixed_slots.append(slot)
                continue
            bary = sum(ps) / len(ps)
            keyed.append((_median_key(ps), bary, slot, v))
        if not keyed:
            continue
        keyed.sort()
        new = list(current)
        fixed = set(fixed_slots)
        movable_slots = [s for s in range(len(current)) if s not in fixed]
        for s, item in zip(movable_slots, keyed):
            new[s] = item[3]
        layers[r] = new
        for i, v in enumerate(new):
            pos[v] = i


def _pair_crossings(a: list[int], b: list[int]) -> tuple[int, int]:
    """(crossings with a's node left of b's, with b's node left of a's), a and b sorted."""
    if not a or not b:
        return 0, 0
    ab = 0  # pairs x in a, y in b with x > y
    ba = 0  # pairs with x < y
    for y in b:
        ab += len(a) - bisect_right(a, y)
        ba += bisect_left(a, y)
    return ab, ba


def _transpose(layers, ups, downs, pos, allow_ties: bool, max_passes: int) -> None:
    """Swap adjacent nodes while that lowers the crossings with both neighbouring layers."""
    n_layers = len(layers)
    candidate = [True] * n_layers
    for _ in range(max_passes):
        any_swap = False
        for r in range(n_layers):
            if not candidate[r]:
                continue
            candidate[r] = False
            row = layers[r]
            if len(row) < 2:
                continue
            has_up = r > 0
            has_down = r + 1 < n_layers
            up_pos = [sorted(pos[w] for w in ups[v]) for v in row] if has_up else None
            down_pos = [sorted(pos[w] for w in downs[v]) for v in row] if has_down else None
            swapped_here = False
            for i in range(len(row) - 1):
                c_vw = c_wv = 0
                if has_up:
                    x, y = _pair_crossings(up_pos[i], up_pos[i + 1])
                    c_vw += x
                    c_wv += y
                if has_down:
                    x, y = _pair_crossings(down_pos[i], down_pos[i + 1])
                    c_vw += x
                    c_wv += y
                if c_wv < c_vw or (allow_ties and c_vw > 0 and c_wv == c_vw):
                    v, w = row[i], row[i + 1]
                    row[i], row[i + 1] = w, v
                    pos[v], pos[w] = i + 1, i
                    if has_up:
                        up_pos[i], up_pos[i + 1] = up_pos[i + 1], up_pos[i]
                    if has_down:
                        down_pos[i], down_pos[i + 1] = down_pos[i + 1], down_pos[i]
                    swapped_here = True
            if swapped_here:
                any_swap = True
                candidate[r] = True
                if r > 0:
                    candidate[r - 1] = True
                if r + 1 < n_layers:
                    candidate[r + 1] = True
        if not any_swap:
            break


def _crossing_matrix(row, adjacent_size, neighbours, pos) -> np.ndarray:
    """C[i, j]: crossings between the edges of row[i] and row[j] towards one adjacent layer
    when row[i] is left of row[j]."""
    n = len(row)
    owners, columns = [], []
    for i, v in enumerate(row):
        for w in neighbours[v]:
            owners.append(i)
            columns.append(pos[w])
    cross = np.zeros((n, n))
    if not owners:
        return cross
    incidence = np.zeros((n, adjacent_size))
    incidence[owners, columns] = 1.0
    # after[i, b]: neighbours of row[i] strictly after position b.
    after = np.cumsum(incidence[:, ::-1], axis=1)[:, ::-1] - incidence
    # C[:, j] sums after[:, b] over the neighbours b of row[j]; the incidence is sparse, so
    # gather its columns instead of a dense product.
    owners_arr = np.asarray(owners)
    starts = np.flatnonzero(np.r_[True, owners_arr[1:] != owners_arr[:-1]])
    cross[:, owners_arr[starts]] = np.add.reduceat(after[:, columns], starts, axis=1)
    return cross


def _sift_layer(row, cross) -> tuple[list[int], int]:
    """Move each node of the layer to its best slot (sifting); returns new order and gain."""
    n = len(row)
    order = list(range(n))
    gain = 0
    for v in range(n):
        i = order.index(v)
        rest = np.array(order[:i] + order[i + 1 :], dtype=np.intp)
        when_right = np.concatenate(([0.0], np.cumsum(cross[rest, v])))
        when_left = np.concatenate(([0.0], np.cumsum(cross[v, rest])))
        cost = when_right + (when_left[-1] - when_left)
        k = int(np.argmin(cost))
        if cost[k] < cost[i] - 0.5:
            gain += int(round(cost[i] - cost[k]))
            order.pop(i)
            order.insert(k, v)
    return [row[j] for j in order], gain


def _sift_sweep(layers, ups, downs, pos, downwards: bool, max_cells: int) -> int:
    """Sift every layer once, top to bottom or back; returns the crossings removed."""
    n_layers = len(layers)
    rows = range(n_layers) if downwards else range(n_layers - 1, -1, -1)
    total_gain = 0
    for r in rows:
        row = layers[r]
        n = len(row)
        if n < 2:
            continue
        cross = np.zeros((n, n))
        if r > 0:
            if n * len(layers[r - 1]) > max_cells:
                continue
            cross += _crossing_matrix(row, len(layers[r - 1]), ups, pos)
        if r + 1 < n_layers:
            if n * len(layers[r + 1]) > max_cells:
                continue
            cross += _crossing_matrix(row, len(layers[r + 1]), downs, pos)
        new_row, gain = _sift_layer(row, cross)
        if gain:
            total_gain += gain
            layers[r] = new_row
            for i, v in enumerate(new_row):
                pos[v] = i
    return total_gain


def _reduce_crossings(ups, downs, layer, n_layers, n_real) -> list[list[int]]:
    """Order the layers: the better of two depth-first initial orders, improved by sifting
    (each node moved to its best slot in its layer) and adjacent transpositions."""
    n_all = len(layer)
    if n_all > _HUGE:
        max_rounds, transpose_passes, max_cells = 0, 0, 0
    elif n_all > _LARGE:
        max_rounds, transpose_passes, max_cells = 2, 2, 250_000
    else:
        max_rounds, transpose_passes, max_cells = 10, 12, 1_000_000

    sinks = [v for v in range(n_real) if not downs[v]]
    sources = [v for v in range(n_real) if not ups[v]]
    starts = [_dfs_preorder(sinks, ups, layer, n_layers)]
    if max_rounds:
        starts.append(_dfs_preorder(sources, downs, layer, n_layers))

    best = None
    for layers in starts:
        pos = _positions(layers, n_all)
        if max_rounds:
            _sift_sweep(layers, ups, downs, pos, True, max_cells)
        elif transpose_passes:
            _transpose(layers, ups, downs, pos, False, transpose_passes)
        crossings = _total_crossings(layers, downs, pos)
        if best is None or crossings < best[0]:
            best = (crossings, layers, pos)
    crossings, layers, pos = best
    if n_all > _HUGE:  # too big for local search: two median sweeps only
        _sweep(layers, range(1, n_layers), ups, pos)
        _sweep(layers, range(n_layers - 2, -1, -1), downs, pos)
        return layers

    for round_ in range(1, max_rounds):
        if crossings == 0:
            break
        gain = _sift_sweep(layers, ups, downs, pos, round_ % 2 == 0, max_cells)
        if transpose_passes:
            _transpose(layers, ups, downs, pos, False, transpose_passes)
        before, crossings = crossings, _total_crossings(layers, downs, pos)
        if gain == 0 or before - crossings < max(1, crossings // 500):
            break
    if transpose_passes and crossings > 0:
        # Swapping on ties lets the order leave a plateau; keep it only if it helped.
        trial = [list(row) for row in layers]
        trial_pos = list(pos)
        _transpose(trial, ups, downs, trial_pos, True, transpose_passes)
        _transpose(trial, ups, downs, trial_pos, False, transpose_passes)
        if _total_crossings(trial, downs, trial_pos) < crossings:
            return trial
    return layers


def _positions(layers, n_all) -> list[int]:
    pos = [0] * n_all
    for row in layers:
        for i, v in enumerate(row):
            pos[v] = i
    return pos


# --------------------------------------------------------------------------- coordinates


def _type1_conflicts(layers, ups, pos, n_real) -> set[tuple[int, int]]:
    """Edges that cross an edge between two dummies (Brandes-Koepf, Alg. 1), both directions."""
    marked: set[tuple[int, int]] = set()
    for r in range(1, len(layers) - 1):
        lower = layers[r + 1]
        k0 = 0
        scan = 0
        last = len(lower) - 1
        for l1, v in enumerate(lower):
            inner_up = None
            if v >= n_real:
                u = ups[v][0]
                if u >= n_real:
                    inner_up = u
            if l1 == last or inner_up is not None:
                k1 = pos[inner_up] if inner_up is not None else len(layers[r]) - 1
                while scan <= l1:
                    w = lower[scan]
                    for u in ups[w]:
                        if pos[u] < k0 or pos[u] > k1:
                            if not (u >= n_real and w >= n_real):
                                marked.add((u, w))
                                marked.add((w, u))
                    scan += 1
                k0 = k1
    return marked


def _align_and_compact(layers, neighbours, marked, n_all) -> list[float]:
    """One Brandes-Koepf pass: layers in processing order, each ordered in the compaction
    direction; returns the leftmost coordinates of the blocks."""
    pos = [0] * n_all
    for row in layers:
        for i, v in enumerate(row):
            pos[v] = i
    root = list(range(n_all))
    align = list(range(n_all))
    for row in layers[1:]:
        r = -1
        for v in row:
            nbrs = neighbours[v]
            if not nbrs:
                continue
            nbrs = sorted(nbrs, key=pos.__getitem__)
            d = len(nbrs)
            for m in ((d - 1) // 2, d // 2) if d % 2 == 0 else ((d - 1) // 2,):
                if align[v] == v:
                    u = nbrs[m]
                    if r < pos[u] and (u, v) not in marked:
                        align[u] = v
                        root[v] = root[u]
                        align[v] = root[v]
                        r = pos[u]

    # Compaction: longest path in the graph of blocks, each block as far left as it can go.
    succ: dict[int, list[int]] = {}
    indeg = [0] * n_all
    for row in layers:
        for a, b in zip(row, row[1:]):
            ra, rb = root[a], root[b]
            succ.setdefault(ra, []).append(rb)
            indeg[rb] += 1
    block_x = [0.0] * n_all
    ready = [v for v in range(n_all) if root[v] == v and indeg[v] == 0]
    ready.reverse()
    while ready:
        b = ready.pop()
        xb = block_x[b] + 1.0
        for c in succ.get(b, ()):
            if block_x[c] < xb:
                block_x[c] = xb
            indeg[c] -= 1
            if indeg[c] == 0:
                ready.append(c)
    return [block_x[root[v]] for v in range(n_all)]


def _assign_coordinates(layers, ups, downs, n_real) -> list[float]:
    n_all = len(ups)
    pos = [0] * n_all
    for row in layers:
        for i, v in enumerate(row):
            pos[v] = i
    marked = _type1_conflicts(layers, ups, pos, n_real)
    candidates = []
    for neighbours, rows in ((ups, layers), (downs, layers[::-1])):
        for flip in (False, True):
            ordered = [row[::-1] for row in rows] if flip else rows
            xs = _align_and_compact(ordered, neighbours, marked, n_all)
            if flip:
                xs = [-x for x in xs]
            candidates.append(xs)

    widths = [max(xs) - min(xs) for xs in candidates]
    narrowest = min(range(4), key=lambda k: (widths[k], k))
    low, high = min(candidates[narrowest]), max(candidates[narrowest])
    for k, xs in enumerate(candidates):
        shift = (low - min(xs)) if k % 2 == 0 else (high - max(xs))
        candidates[k] = [x + shift for x in xs]
    coord = []
    for v in range(n_all):
        four = sorted(xs[v] for xs in candidates)
        coord.append((four[1] + four[2]) / 2.0)
    return coord
