"""A traced graph as a tape: the ops in topological order, for replay in the browser."""

from __future__ import annotations

import networkx as nx

from .rebuild import is_variable

__all__ = ["to_tape"]


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
    nodes = graph.nodes
    order = list(graph)
    inputs = {n: [] for n in order}
    for u, v, key in sorted(graph.edges(keys=True), key=lambda e: (e[1], e[2])):
        inputs[v].append(u)
    return {
        "op": [nodes[n]["op"] for n in order],
        "inputs": [inputs[n] for n in order],
        "param": [nodes[n]["param"] for n in order],
        "value": [nodes[n]["value"] for n in order],
        # a named constant (k, C, eps) has a slider too; a number (2, 0.5) has none
        "variable": {nodes[n]["name"]: n for n in order
                     if not nodes[n]["op"] and is_variable(nodes[n]["name"], nodes[n]["kind"])},
        "active": [1 if nodes[n]["active"] else 0 for n in order],
        "root": graph.graph.get("root", len(order) - 1),
    }
