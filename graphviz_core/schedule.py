"""The forward and backward passes of a traced graph as ordered steps to play back.

A step is plain data (ints, floats, strings, lists), ready for JSON and for the
browser-side player: which nodes light up, which edges carry what, and the
formula of the step with its numbers filled in.
"""

from __future__ import annotations

import networkx as nx

from .engine import OPS
from .trace import format_number, latex_name

__all__ = ["schedule", "MODES"]

MODES = ("forward", "backward")


def schedule(graph: nx.MultiDiGraph, mode: str) -> list[dict]:
    """The steps of one pass over a graph made by :func:`~graphviz_core.trace.trace`.

    Parameters
    ----------
    graph : networkx.MultiDiGraph
    mode : {"forward", "backward"}

    Returns
    -------
    list of dict
        One dict per step, in playing order, with keys

        - ``index``: position in the list;
        - ``kind``: ``"inputs"`` (the leaves get their values), ``"op"`` (a node
          computes its value), ``"seed"`` (dL/dL = 1), ``"gradient"`` (a node's
          gradient arrives along one edge), ``"sum"`` (several contributions meet at
          a fan-out and add up) or ``"blocked"`` (the step after a stop-gradient
          node's own: it passes nothing on, x 0 on its input edge);
        - ``node``: the node that is complete after the step (``None`` for inputs),
          ``nodes``: every node that lights up;
        - ``edges``: the ``[parent, child, slot]`` edges that carry something in
          this step (forward: into ``node``; backward: out of ``node``, travelled
          from child to parent);
        - ``value``: the node's value (forward) or gradient (backward);
        - ``terms`` (backward): one per edge, ``{"edge", "grad", "local",
          "contribution", "blocked"}``: incoming gradient x local derivative;
        - ``text`` and ``latex``: the formula with numbers, e.g.
          ``dL/dz2 = dL/dz3 * 1 = 5``.

        Backward steps cover only the nodes whose gradient the pass computes:
        pruned nodes (no ``requires_grad`` upstream, or cut off by a
        stop-gradient) have no step.

    Examples
    --------
    >>> from graphviz_core import parse, trace
    >>> g = trace(parse("(w*x + b - y)**2").build({"w": 2, "x": 1.5, "b": 0.5, "y": 1}))
    >>> [s["text"] for s in schedule(g, "forward")][:2]
    ['w = 2, x = 1.5, b = 0.5, y = 1', 'z1 = w * x = 2 * 1.5 = 3']
    >>> schedule(g, "backward")[3]["text"]
    'dL/dz2 = dL/dz3 * 1 = 5 * 1 = 5'
    """
    if mode == "forward":
        return _forward(graph)
    if mode == "backward":
        return _backward(graph)
    raise ValueError(f"mode must be 'forward' or 'backward', not {mode!r}")


def _forward(graph: nx.MultiDiGraph) -> list[dict]:
    nodes = graph.nodes
    leaves = [n for n in graph if graph.in_degree(n) == 0]
    steps = []
    if leaves:
        shown = [n for n in leaves if nodes[n]["kind"] != "constant"] or leaves
        steps.append(_step(
            "inputs", None, leaves, [], None,
            ", ".join(f"{nodes[n]['name']} = {format_number(nodes[n]['value'])}" for n in shown),
            ",\\; ".join(f"{latex_name(nodes[n]['name'])} = {format_number(nodes[n]['value'])}"
                         for n in shown)))
    for n in graph:
        if graph.in_degree(n) == 0:
            continue
        node = nodes[n]
        edges = sorted(graph.in_edges(n, keys=True), key=lambda e: e[2])
        op = OPS[node["op"]]
        p = format_number(node["param"]) if node["param"] is not None else ""
        numbers = [_operand(graph.nodes[u]["value"]) for u, _, _ in edges]
        value = format_number(node["value"])
        text = f"{node['text']} = {op.text.format(*numbers, p=p)} = {value}"
        latex = f"{node['latex']} = {op.latex.format(*numbers, p=_latex_exponent(node['param']))} = {value}"
        steps.append(_step("op", n, [n], edges, node["value"], text, latex))
    return _numbered(steps)


def _backward(graph: nx.MultiDiGraph) -> list[dict]:
    nodes = graph.nodes
    root = graph.graph.get("root", len(graph) - 1)
    if root not in nodes or not nodes[root]["active"]:
        return []
    loss = nodes[root]["name"]
    d = lambda n: f"d{loss}/d{nodes[n]['name']}"
    dl = lambda n: (f"\\frac{{\\partial {latex_name(loss)}}}"
                    f"{{\\partial {latex_name(nodes[n]['name'])}}}")
    steps = [_step("seed", root, [root], [], 1.0, f"{d(root)} = 1", f"{dl(root)} = 1")]
    for n in reversed(list(graph)):
        if n == root or not nodes[n]["active"]:
            continue
        edges = sorted((e for e in graph.out_edges(n, keys=True)
                        if nodes[e[1]]["active"]), key=lambda e: (e[1], e[2]))
        terms = []
        for u, v, k in edges:
            data = graph.edges[u, v, k]
            terms.append({"edge": [u, v, k], "grad": nodes[v]["grad"], "local": data["local"],
                          "contribution": data["contribution"], "blocked": data["blocked"]})
        grad = nodes[n]["grad"]
        blocked = bool(terms) and all(t["blocked"] for t in terms)
        kind = "blocked" if blocked else "sum" if len(terms) > 1 else "gradient"
        symbolic = " + ".join(
            f"{d(t['edge'][1])} * 0 (stop-gradient)" if t["blocked"] else
            f"{d(t['edge'][1])} * {_operand(t['local'])}" for t in terms)
        numeric = " + ".join(f"{_operand(t['grad'])} * {_operand(t['local'])}" for t in terms)
        text = f"{d(n)} = {symbolic} = {numeric} = {format_number(grad)}"
        latex_terms = " + ".join(
            f"{dl(t['edge'][1])} \\cdot 0_{{\\mathrm{{sg}}}}" if t["blocked"] else
            f"{dl(t['edge'][1])} \\cdot {_operand(t['local'])}" for t in terms)
        latex_numbers = " + ".join(f"{_operand(t['grad'])} \\cdot {_operand(t['local'])}"
                                   for t in terms)
        latex = f"{dl(n)} = {latex_terms} = {latex_numbers} = {format_number(grad)}"
        step = _step(kind, n, [n] + [t["edge"][1] for t in terms], edges, grad, text, latex)
        step["terms"] = terms
        steps.append(step)
        if nodes[n]["op"] == "sg":
            steps.append(_blocked_step(graph, n, d, dl))
    return _numbered(steps)


def _blocked_step(graph: nx.MultiDiGraph, n: int, d, dl) -> dict:
    """The gradient reaching stop-gradient ``n`` goes no further: x 0 on its input edge."""
    (parent, _, key), = graph.in_edges(n, keys=True)
    grad = graph.nodes[n]["grad"]
    text = f"{d(parent)} += {d(n)} * 0 = {_operand(grad)} * 0 = 0 (stop-gradient: blocked)"
    latex = (rf"{dl(parent)} \mathrel{{+}}= {dl(n)} \cdot 0 = {_operand(grad)} \cdot 0 = 0"
             r"\quad(\mathrm{sg})")
    step = _step("blocked", n, [n, parent], [(parent, n, key)], 0.0, text, latex)
    step["terms"] = [{"edge": [parent, n, key], "grad": grad, "local": 0.0,
                      "contribution": 0.0, "blocked": True}]
    return step


def _step(kind, node, nodes, edges, value, text, latex) -> dict:
    return {"kind": kind, "node": node, "nodes": list(dict.fromkeys(nodes)),
            "edges": [list(e) for e in edges], "value": value, "text": text, "latex": latex}


def _numbered(steps: list[dict]) -> list[dict]:
    for i, step in enumerate(steps):
        step["index"] = i
    return steps


def _operand(x: float) -> str:
    """A number inside a formula: negative ones in parentheses."""
    text = format_number(x)
    return f"({text})" if text.startswith("-") else text


def _latex_exponent(param) -> str:
    return "" if param is None else format_number(param)
