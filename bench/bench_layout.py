"""Benchmark of graphviz_core.layout against Graphviz dot and networkx multipartite_layout.

Run from the repository root::

    python bench/bench_layout.py            # ~10 to ~5,000 nodes
    python bench/bench_layout.py --large    # adds ~10,000 nodes

Graphs are traced scalar MLPs built directly in networkx (the shape the engine produces): each
neuron is ``tanh(sum_i w_i * x_i + b)`` with the sum a left fold of binary ``add`` nodes, and the
loss is the sum of the squared errors of the outputs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import networkx as nx

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from graphviz_core.layout import count_crossings, layout  # noqa: E402


class _Builder:
    def __init__(self):
        self.graph = nx.MultiDiGraph()

    def leaf(self, kind: str) -> int:
        node = len(self.graph)
        self.graph.add_node(node, op="", kind=kind)
        return node

    def op(self, name: str, *args: int) -> int:
        node = len(self.graph)
        self.graph.add_node(node, op=name, kind="op")
        for a in args:
            self.graph.add_edge(a, node)
        return node


def mlp_graph(n_in: int, hidden_sizes: list[int], n_out: int) -> nx.MultiDiGraph:
    """Trace of one forward pass of a scalar MLP with a squared-error loss."""
    b = _Builder()
    acts = [b.leaf("data") for _ in range(n_in)]
    for size in [*hidden_sizes, n_out]:
        nxt = []
        for _ in range(size):
            total = None
            for a in acts:
                term = b.op("mul", b.leaf("parameter"), a)
                total = term if total is None else b.op("add", total, term)
            total = b.op("add", total, b.leaf("parameter"))
            nxt.append(b.op("tanh", total))
        acts = nxt
    loss = None
    for out in acts:
        sq = b.op("pow", b.op("sub", out, b.leaf("data")))
        loss = sq if loss is None else b.op("add", loss, sq)
    return b.graph


def seed_graph() -> nx.MultiDiGraph:
    """L = (w*x + b - y)**2 with w, x, b, y = nodes 0..3."""
    b = _Builder()
    w, x, bias, y = b.leaf("parameter"), b.leaf("data"), b.leaf("parameter"), b.leaf("data")
    z1 = b.op("mul", w, x)
    z2 = b.op("add", z1, bias)
    z3 = b.op("sub", z2, y)
    b.op("pow", z3)
    return b.graph


SIZES = {
    "seed": seed_graph,
    "mlp(2,[2],1)": lambda: mlp_graph(2, [2], 1),
    "mlp(2,[4,4],1)": lambda: mlp_graph(2, [4, 4], 1),
    "mlp(3,[4,4],1)": lambda: mlp_graph(3, [4, 4], 1),
    "mlp(5,[14,14],4)": lambda: mlp_graph(5, [14, 14], 4),
    "mlp(10,[30,30],10)": lambda: mlp_graph(10, [30, 30], 10),
}
LARGE = {"mlp(12,[48,48],12)": lambda: mlp_graph(12, [48, 48], 12)}


def dummy_count(graph: nx.DiGraph) -> int:
    """Bends of the drawn edges = dummy nodes (parallel edges share theirs)."""
    seen = set()
    total = 0
    for u, v, pts in graph.edges(data="points"):
        if (u, v) not in seen:
            seen.add((u, v))
            total += len(pts) - 2
    return total


def dot_layout(graph: nx.DiGraph) -> tuple[dict, float]:
    """Positions from `dot -Tplain` (rankdir=LR) and the wall time of the dot process."""
    lines = ["digraph G {", "rankdir=LR;", "node [shape=circle, width=0.3, fixedsize=true];"]
    lines += [f"n{v};" for v in graph.nodes]
    lines += [f"n{u} -> n{v};" for u, v in graph.edges()]
    lines.append("}")
    src = "\n".join(lines)
    t0 = time.perf_counter()
    out = subprocess.run(["dot", "-Tplain"], input=src, capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - t0
    pos = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        if parts and parts[0] == "node":
            pos[int(parts[1][1:])] = (float(parts[2]), float(parts[3]))
    return pos, elapsed


def multipartite(graph: nx.DiGraph) -> dict:
    layers = {}
    for i, gen in enumerate(nx.topological_generations(graph)):
        for v in sorted(gen):
            layers.setdefault(i, []).append(v)
    return nx.multipartite_layout(graph, subset_key=layers)


def main() -> None:
    """Print the table; ``--large`` adds a ~10,000-node graph (dot needs ~25 s on it)."""
    have_dot = shutil.which("dot") is not None
    sizes = dict(SIZES)
    if "--large" in sys.argv[1:]:
        sizes.update(LARGE)
    header = (
        f"{'graph':<20}{'nodes':>7}{'dummies':>9}{'ours s':>9}{'ours X':>9}{'straight':>10}"
        f"{'dot s':>9}{'dot X':>9}{'multipartite X':>16}"
    )
    print(header)
    print("-" * len(header))
    for name, make in sizes.items():
        g = make()
        t0 = time.perf_counter()
        pos = layout(g)
        ours_t = time.perf_counter() - t0
        ours_x = count_crossings(g, pos)
        straight_x = count_crossings(g, pos, points=None)
        row = f"{name:<20}{len(g):>7}{dummy_count(g):>9}{ours_t:>9.3f}{ours_x:>9}{straight_x:>10}"
        if have_dot:
            dpos, dot_t = dot_layout(g)
            row += f"{dot_t:>9.3f}{count_crossings(g, dpos, points=None):>9}"
        else:
            row += f"{'-':>9}{'-':>9}"
        row += f"{count_crossings(g, multipartite(g), points=None):>16}"
        print(row, flush=True)
    print()
    print("X = crossings of straight segments: 'ours X' along the drawn polylines (bends at")
    print("the dummy nodes); 'straight', dot and multipartite between node positions (dot's")
    print("splines ignored). dot s = wall time of `dot -Tplain` incl. process start.")
    if not have_dot:
        print("dot not installed")


if __name__ == "__main__":
    main()
