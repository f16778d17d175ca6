"""A traced graph as a tape: the ops in topological order, replayed in the browser and,
for a slider release, on the server (:class:`Replay`)."""

from __future__ import annotations

from operator import itemgetter
from typing import Mapping, NamedTuple

import networkx as nx

from .collector import paused
from .engine import (BACKWARD_KIND, BLOCK, CROSSWISE, FAULT_WORDS, LOCAL_CONSTANTS, OPS,
                     fault_for, grad_fault_for, to_float)
from .rebuild import is_variable

__all__ = ["to_tape", "Replay", "Numbers", "constant_variables"]


def to_tape(graph: nx.MultiDiGraph) -> dict:
    """Export a graph made by :func:`~graphviz_core.trace.trace` as plain, JSON-ready lists.

    The browser replays the tape forward (new leaf values -> every value) and
    backward (every gradient, local derivative and contribution) with the same
    op rules as :data:`~graphviz_core.engine.OPS`, so a slider drag needs no
    server round trip. The Python engine stays the definition of every op.

    Returns
    -------
    dict
        ``op`` (``""`` for a leaf), ``inputs`` (node indices per slot), ``param``
        (the constant exponent of ``pow``, else None), ``value`` (the traced
        value; leaves keep theirs unless overridden), ``variable`` (name -> index
        of the leaf that a slider drives: every named leaf, not literal numbers),
        ``active`` (1 where the backward pass computes a gradient, so pruning is
        replayed too) and ``root``.

    Examples
    --------
    >>> from graphviz_core import parse, trace
    >>> tape = to_tape(trace(parse("x*x + 1").build({"x": 3})))
    >>> tape["op"], tape["inputs"]
    (['', 'mul', '', 'add'], [[], [0, 0], [], [1, 2]])
    >>> tape["variable"]
    {'x': 0}
    """
    with paused():  # a list per node, and no cycles: see graphviz_core.collector
        return _tape(graph)


def _tape(graph: nx.MultiDiGraph) -> dict:
    nodes = [d for _, d in graph.nodes(data=True)]
    inputs = graph.graph.get("_inputs")  # recorded by trace(); else read off the edges
    return {
        "op": [d["op"] for d in nodes],
        "inputs": inputs if inputs is not None else [[u for u, _ in slots] for slots in _slots(graph)],
        "param": [d["param"] for d in nodes],
        "value": [d["value"] for d in nodes],
        # a named constant (k, C, eps) has a slider too; a number (2, 0.5) has none
        "variable": {d["name"]: n for n, d in graph.nodes(data=True)
                     if not d["op"] and is_variable(d["name"], d["kind"])},
        "active": [1 if d["active"] else 0 for d in nodes],
        "root": graph.graph.get("root", len(nodes) - 1),
    }


def _slots(graph: nx.MultiDiGraph) -> list[list[tuple[int, dict]]]:
    """Per node of a traced graph (nodes ``0..n-1``), its in-edges in slot order as
    ``(parent, edge attributes)``: the tape's inputs."""
    out = []
    # networkx's own dicts ({child: {parent: {slot: attributes}}}), read without a view
    # object per node; a child's slots are 0, 1, ...
    for keyed_by_parent in graph._pred.values():
        edges = [(k, u, d) for u, keyed in keyed_by_parent.items() for k, d in keyed.items()]
        if len(edges) > 1:
            edges.sort(key=itemgetter(0))
        out.append([(u, d) for _, u, d in edges])
    return out


def constant_variables(graph: nx.MultiDiGraph, variables) -> tuple[str, ...]:
    """The ``variables`` whose leaf is drawn as a constant (``kind="constant"``), in the
    order of their first leaf: :attr:`Replay.constant_variables` without reading the tape.

    Examples
    --------
    >>> from graphviz_core import parse, trace
    >>> e = parse("w*x + c")
    >>> constant_variables(trace(e.build({"w": 2, "x": 1, "c": 3}, {}, {"c": "constant"})),
    ...                    e.variables)
    ('c',)
    """
    nodes = list(graph.nodes.values())
    return _constant_names(nodes, _leaves(nodes, variables))


def _constant_names(nodes: list[dict], leaves: dict[str, list[int]]) -> tuple[str, ...]:
    """The variables (of ``leaves``, :func:`_leaves`) whose first leaf is drawn as a constant."""
    return tuple(name for name, at in leaves.items() if nodes[at[0]]["kind"] == "constant")


def _leaves(nodes: list[dict], variables) -> dict[str, list[int]]:
    """Each variable's leaf nodes (a name may be used by several leaves)."""
    wanted = set(variables)
    leaves: dict[str, list[int]] = {}
    for i, d in enumerate(nodes):
        if not d["op"] and d["name"] in wanted:
            leaves.setdefault(d["name"], []).append(i)
    return leaves


class Numbers(NamedTuple):
    """Every number of a traced graph, as :class:`Replay` recomputes it: per node (tape
    order) ``value``, ``grad``, ``value_fault``, ``grad_fault``; per edge (the order of
    :attr:`Replay.edges`) ``edge_value``, ``edge_local``, ``edge_contribution``."""

    value: list
    grad: list
    value_fault: list
    grad_fault: list
    edge_value: list
    edge_local: list
    edge_contribution: list


class Replay:
    """A traced graph's values and gradients recomputed for new variable values over its
    flat tape: no :class:`~graphviz_core.engine.Value` is built and nothing is traced again.

    What a slider release needs while the structure stands (the same ops, the same
    ``requires_grad`` switches): the numbers come out bit for bit as a fresh
    ``trace(expression.build(values))`` gives them, because each op runs the same rule of
    :data:`~graphviz_core.engine.OPS` on the same inputs, and gradients are summed in the
    same (reverse tape) order as :meth:`Value.backward <graphviz_core.engine.Value.backward>`.

    Parameters
    ----------
    graph : networkx.MultiDiGraph
        Made by :func:`~graphviz_core.trace.trace` (its numbers are the starting point:
        leaves that are not variables keep theirs).
    variables : iterable of str
        The names of the leaves that new values set (an expression's ``variables``).

    Attributes
    ----------
    graph : networkx.MultiDiGraph
        The graph :meth:`write` writes into.
    edges : list of dict
        Its edges' attributes, by child node and slot: the order of the edge numbers.
    constant_variables : tuple of str
        The variables whose leaf is drawn as a constant (``kind="constant"``).

    Examples
    --------
    >>> from graphviz_core import parse, trace
    >>> e = parse("(w*x + b - y)**2")
    >>> g = trace(e.build({"w": 2, "x": 1.5, "b": 0.5, "y": 1}))
    >>> replay = Replay(g, e.variables)
    >>> numbers = replay.run({"w": 1.0, "x": 1.5, "b": 0.5, "y": 1.0})
    >>> numbers.value[-1], numbers.grad[0]
    (1.0, 3.0)
    >>> replay.write(numbers)   # into the graph's attributes
    >>> g.nodes[0]["grad"] == trace(e.build({"w": 1, "x": 1.5, "b": 0.5, "y": 1})).nodes[0]["grad"]
    True
    """

    def __init__(self, graph: nx.MultiDiGraph, variables):
        with paused():  # lists per node, and no cycles: see graphviz_core.collector
            self._read(graph, variables)

    def _read(self, graph: nx.MultiDiGraph, variables) -> None:
        nodes = [d for _, d in graph.nodes(data=True)]
        self.graph = graph
        n = len(nodes)
        self._root = graph.graph.get("root", n - 1)
        self._op = [OPS.get(d["op"]) for d in nodes]
        self._param = [d["param"] for d in nodes]
        self._active = [bool(d["active"]) for d in nodes]
        self._value = [d["value"] for d in nodes]
        self._value_fault = [d["value_fault"] for d in nodes]
        self._leaves = _leaves(nodes, variables)
        self.constant_variables = _constant_names(nodes, self._leaves)
        # per node its inputs in slot order, and the attributes of those edges (flat)
        self._inputs: list[tuple[int, ...]] = []
        self._first_edge: list[int] = []  # where a node's edges start in the flat lists
        self.edges: list[dict] = []  # edge attribute dicts, by child then slot
        for slots in _slots(graph):
            self._first_edge.append(len(self.edges))
            self._inputs.append(tuple([u for u, _ in slots]))
            self.edges += [d for _, d in slots]
        self._tails = [u for ins in self._inputs for u in ins]  # each edge's parent
        # per op node: (node, op, inputs, parameter, backward kind, constant local derivatives)
        self._steps = [(i, op, self._inputs[i], self._param[i], BACKWARD_KIND[op.name],
                        LOCAL_CONSTANTS.get(op.name))
                       for i, op in enumerate(self._op) if op is not None]
        self._nodes = nodes

    def run(self, values: Mapping[str, float]) -> Numbers:
        """The numbers of the graph at ``values`` (variable name -> value; names missing
        keep their traced value)."""
        active = self._active
        value = list(self._value)
        value_fault = list(self._value_fault)
        for name, leaves in self._leaves.items():
            if name in values:
                x = to_float(values[name])
                for i in leaves:
                    value[i] = x
                    value_fault[i] = None if x - x == 0.0 else FAULT_WORDS["not_finite"]
        at = value.__getitem__
        # forward, as Value._apply (two inputs, the common case, without a tuple of them)
        for i, op, ins, p, _, _ in self._steps:
            if len(ins) == 2:
                x, y = value[ins[0]], value[ins[1]]
                out = value[i] = op.forward(x, y, p)
                value_fault[i] = None if out - out == 0.0 else fault_for(op.name, (x, y), out, p)
            else:
                xs = tuple(map(at, ins))
                out = value[i] = op.forward(*xs, p)
                value_fault[i] = None if out - out == 0.0 else fault_for(op.name, xs, out, p)
        # backward, as Value.backward: the same reverse order, so the same sums; the edges'
        # local derivatives and contributions as trace draws them (zero where none flows)
        grad = [-0.0 if a else 0.0 for a in active]
        grad[self._root] = 1.0
        edge_local = [0.0] * len(self._tails)
        edge_contribution = [0.0] * len(self._tails)
        first_edge = self._first_edge
        for i, op, ins, p, kind, constants in reversed(self._steps):
            if kind is BLOCK:
                continue
            # the op's rule, or what backward reads off it once (engine.BACKWARD_KIND, LOCAL_CONSTANTS)
            if constants is not None:
                local = constants
            elif kind is CROSSWISE:
                local = (value[ins[1]], value[ins[0]])
            else:
                local = op.local(tuple(map(at, ins)), value[i], p)
            e = first_edge[i]
            edge_local[e:e + len(ins)] = local
            if not active[i]:
                continue
            g, selects = grad[i], op.selects
            for j, d in zip(ins, local):
                if active[j]:
                    grad[j] += (c := 0.0 if selects and d == 0.0 else g * d)  # contribution()
                    edge_contribution[e] = c
                e += 1
        grad_fault = [None if not a or g - g == 0.0 else grad_fault_for(g)
                      for a, g in zip(active, grad)]
        return Numbers(value, grad, value_fault, grad_fault, list(map(at, self._tails)),
                       edge_local, edge_contribution)

    def write(self, numbers: Numbers) -> None:
        """Put ``numbers`` into the graph's node and edge attributes, as a trace has them."""
        for d, value, grad, value_fault, grad_fault in zip(
                self._nodes, numbers.value, numbers.grad, numbers.value_fault,
                numbers.grad_fault):
            d["value"] = value
            d["grad"] = grad
            d["value_fault"] = value_fault
            d["grad_fault"] = grad_fault
            d["fault"] = value_fault or grad_fault
        for d, value, local, part in zip(self.edges, numbers.edge_value, numbers.edge_local,
                                         numbers.edge_contribution):
            d["value"] = value
            d["local"] = local
            d["contribution"] = part
