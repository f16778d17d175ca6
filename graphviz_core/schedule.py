"""The forward and backward passes of a traced graph as ordered steps to play back.

A step is plain data (ints, floats, strings, lists), ready for JSON and for the
browser-side player: which nodes light up, which edges carry what, and the
formula of the step with its numbers filled in.
"""

from __future__ import annotations

import math
import re

import networkx as nx

from .engine import OPS, blocks_gradient
from .modes import Mode
from .trace import format_number, latex_name

__all__ = ["schedule", "fill", "op_formulas", "gradient_step", "forward_steps", "backward_steps",
           "blocked_step", "new_step", "graph_numbers", "partials", "value_ref", "grad_ref",
           "local_ref", "norm_ref", "vector_norm"]


def schedule(graph: nx.MultiDiGraph, mode: Mode) -> list[dict]:
    """The steps of one pass over a graph made by :func:`~graphviz_core.trace.trace`.

    Parameters
    ----------
    graph : networkx.MultiDiGraph
    mode : {"forward", "backward"}
        One of :data:`~graphviz_core.modes.PASSES`.

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
    def formulas(n: int) -> tuple[str, str]:
        operands = sorted(graph.in_edges(n, keys=True), key=lambda e: e[2])
        return op_formulas(graph.nodes[n], n, [u for u, _, _ in operands])
    return forward_steps(graph, graph_numbers(graph), formulas)


def forward_steps(drawing: nx.MultiDiGraph, numbers: tuple, formulas, tape=None,
                  latex=latex_name, shown=None) -> list[dict]:
    """The forward pass over a drawing: its inputs, then one step per computed node.

    A drawing is a traced graph or one drawn from it (:func:`graphviz_core.grouping.
    group_graph`); steps index its nodes, their placeholders the traced graph.

    Parameters
    ----------
    drawing : networkx.MultiDiGraph
        Nodes in computing order, with ``name``, ``kind`` and ``value``.
    numbers : tuple
        :func:`graph_numbers` of the traced graph.
    formulas : callable
        Drawn node -> (text, LaTeX) templates of what it computes.
    tape : callable, optional
        Drawn node -> the traced node whose value it shows (the node itself by default).
    latex : callable
        A name in LaTeX.
    shown : callable, optional
        Drawn input -> the placeholder of the value it shows (``value_ref(tape(n))`` by
        default).

    Examples
    --------
    >>> from graphviz_core import parse, trace
    >>> g = trace(parse("2*w").build({"w": 3}))
    >>> [s["text"] for s in forward_steps(g, graph_numbers(g), lambda n: ("L = 6", "L = 6"))]
    ['w = 3', 'L = 6']
    """
    tape = tape or (lambda n: n)
    shown_value = shown or (lambda n: value_ref(tape(n)))
    nodes = drawing.nodes
    leaves = [n for n in drawing if drawing.in_degree(n) == 0]
    steps = []
    if leaves:
        inputs = [n for n in leaves if nodes[n]["kind"] != "constant"] or leaves
        steps.append(new_step(
            numbers, "inputs", None, leaves, [], None,
            ", ".join(f"{nodes[n]['name']} = {shown_value(n)}" for n in inputs),
            ",\\; ".join(f"{latex(nodes[n]['name'])} = {shown_value(n)}" for n in inputs)))
    for n in drawing:
        if drawing.in_degree(n) == 0:
            continue
        edges = sorted(drawing.in_edges(n, keys=True), key=lambda e: e[2])
        text, latex_text = formulas(n)
        steps.append(new_step(numbers, "op", n, [n], edges, nodes[n]["value"], text, latex_text))
    return numbered(steps)


def op_formulas(node: dict, n: int, operands: list[int]) -> tuple[str, str]:
    """The forward formula of op node ``n`` as text and LaTeX templates (placeholders).

    Parameters
    ----------
    node : dict
        The node's attributes (``op``, ``param``, ``text``, ``latex``) as
        :func:`~graphviz_core.trace.trace` records them.
    n : int
        The node's index, for its value placeholder.
    operands : list of int
        The indices of its inputs, in slot order.

    Examples
    --------
    >>> from graphviz_core import parse, trace
    >>> g = trace(parse("w*x").build({"w": 2, "x": 3}))
    >>> op_formulas(g.nodes[2], 2, [0, 1])[0]
    'L = w * x = \u27e8pv|0\u27e9 * \u27e8pv|1\u27e9 = \u27e8v|2\u27e9'
    """
    op = OPS[node["op"]]
    p = format_number(node["param"]) if node["param"] is not None else ""
    values = [value_ref(u, operand=True) for u in operands]
    return (f"{node['text']} = {op.text.format(*values, p=p)} = {value_ref(n)}",
            f"{node['latex']} = {op.latex.format(*values, p=p)} = {value_ref(n)}")


def _backward(graph: nx.MultiDiGraph) -> list[dict]:
    numbers = graph_numbers(graph)
    d, dl = partials(graph)
    return backward_steps(graph, numbers, lambda n: _gradient_step(graph, numbers, n, d, dl),
                          lambda n: blocked_step(graph, numbers, n, d, dl))


def backward_steps(drawing: nx.MultiDiGraph, numbers: tuple, gradient, blocked) -> list[dict]:
    """The backward pass over a drawing: the seed, then each node's gradient, root first.

    Parameters
    ----------
    drawing : networkx.MultiDiGraph
        Nodes in computing order, with ``active`` and ``op``; ``graph["root"]`` the loss.
    numbers : tuple
        :func:`graph_numbers` of the traced graph.
    gradient : callable
        Drawn node -> the step that computes its gradient.
    blocked : callable
        Stop-gradient node -> the step after its own, where nothing passes.

    Examples
    --------
    >>> from graphviz_core import parse, trace
    >>> g = trace(parse("2*w").build({"w": 3}))
    >>> [s["kind"] for s in schedule(g, "backward")]
    ['seed', 'gradient']
    """
    nodes = drawing.nodes
    root = drawing.graph.get("root", len(drawing) - 1)
    if root not in nodes or not nodes[root]["active"]:
        return []
    d, dl = partials(drawing)
    steps = [new_step(numbers, "seed", root, [root], [], 1.0, f"{d(root)} = 1", f"{dl(root)} = 1")]
    for n in reversed(list(drawing)):
        if n == root or not nodes[n]["active"]:
            continue
        steps.append(gradient(n))
        if blocks_gradient(nodes[n]["op"]):
            steps.append(blocked(n))
    return numbered(steps)


def gradient_step(graph: nx.MultiDiGraph, n: int) -> dict | None:
    """The backward step that computes node ``n``'s gradient alone (None if none does).

    The same step as in ``schedule(graph, "backward")`` (the seed step for the root),
    without scheduling the whole pass: a click on one node of a large graph costs one step.

    Examples
    --------
    >>> from graphviz_core import parse, trace
    >>> g = trace(parse("(w*x + b - y)**2").build({"w": 2, "x": 1.5, "b": 0.5, "y": 1}))
    >>> gradient_step(g, 4)["text"]
    'dL/dz2 = dL/dz3 * 1 = 5 * 1 = 5'
    """
    nodes = graph.nodes
    if n not in nodes or not nodes[n]["active"]:
        return None
    d, dl = partials(graph)
    if n == graph.graph.get("root", len(graph) - 1):
        return new_step(graph_numbers(graph), "seed", n, [n], [], 1.0, f"{d(n)} = 1", f"{dl(n)} = 1")
    return _gradient_step(graph, graph_numbers(graph), n, d, dl)


def partials(graph: nx.MultiDiGraph):
    """``dL/dn`` as text and as LaTeX: two functions of a node index of ``graph``.

    Examples
    --------
    >>> from graphviz_core import parse, trace
    >>> d, dl = partials(trace(parse("w*2").build({"w": 3})))
    >>> d(0)
    'dL/dw'
    """
    nodes = graph.nodes
    loss = nodes[graph.graph.get("root", len(graph) - 1)]["name"]
    d = lambda n: f"d{loss}/d{nodes[n]['name']}"
    dl = lambda n: (f"\\frac{{\\partial {latex_name(loss)}}}"
                    f"{{\\partial {latex_name(nodes[n]['name'])}}}")
    return d, dl


def _gradient_step(graph: nx.MultiDiGraph, numbers, n: int, d, dl) -> dict:
    nodes = graph.nodes
    edges = sorted((e for e in graph.out_edges(n, keys=True)
                    if nodes[e[1]]["active"]), key=lambda e: (e[1], e[2]))
    terms = []
    for u, v, k in edges:
        data = graph.edges[u, v, k]
        terms.append({"edge": [u, v, k], "grad": nodes[v]["grad"], "local": data["local"],
                      "contribution": data["contribution"], "blocked": data["blocked"]})
    blocked = bool(terms) and all(t["blocked"] for t in terms)
    kind = "blocked" if blocked else "sum" if len(terms) > 1 else "gradient"
    symbolic = " + ".join(
        f"{d(v)} * 0 (stop-gradient)" if t["blocked"] else f"{d(v)} * {local_ref(v, k)}"
        for t, (_, v, k) in zip(terms, edges))
    numeric = " + ".join(f"{grad_ref(v, operand=True)} * {'0' if t['blocked'] else local_ref(v, k)}"
                         for t, (_, v, k) in zip(terms, edges))
    text = f"{d(n)} = {symbolic} = {numeric} = {grad_ref(n)}"
    latex_terms = " + ".join(
        f"{dl(v)} \\cdot 0_{{\\mathrm{{sg}}}}" if t["blocked"] else
        f"{dl(v)} \\cdot {local_ref(v, k)}" for t, (_, v, k) in zip(terms, edges))
    latex_numbers = " + ".join(
        f"{grad_ref(v, operand=True)} \\cdot {'0' if t['blocked'] else local_ref(v, k)}"
        for t, (_, v, k) in zip(terms, edges))
    latex = f"{dl(n)} = {latex_terms} = {latex_numbers} = {grad_ref(n)}"
    step = new_step(numbers, kind, n, [n] + [t["edge"][1] for t in terms], edges,
                 nodes[n]["grad"], text, latex)
    step["terms"] = terms
    return step


def blocked_step(graph: nx.MultiDiGraph, numbers, n: int, d, dl) -> dict:
    """The gradient reaching stop-gradient ``n`` goes no further: x 0 on its input edge.

    ``n`` indexes the traced ``graph``; ``d``, ``dl`` are its :func:`partials`.

    Examples
    --------
    >>> from graphviz_core import parse, trace
    >>> g = trace(parse("sg(u)*u").build({"u": 2}))
    >>> blocked_step(g, graph_numbers(g), 1, *partials(g))["text"]
    'dL/du += dL/dz1 * 0 = 2 * 0 = 0 (stop-gradient: blocked)'
    """
    (parent, _, key), = graph.in_edges(n, keys=True)
    grad = graph.nodes[n]["grad"]
    g = grad_ref(n, operand=True)
    text = f"{d(parent)} += {d(n)} * 0 = {g} * 0 = 0 (stop-gradient: blocked)"
    latex = (rf"{dl(parent)} \mathrel{{+}}= {dl(n)} \cdot 0 = {g} \cdot 0 = 0"
             r"\quad(\mathrm{sg})")
    step = new_step(numbers, "blocked", n, [n, parent], [(parent, n, key)], 0.0, text, latex)
    step["terms"] = [{"edge": [parent, n, key], "grad": grad, "local": 0.0,
                      "contribution": 0.0, "blocked": True}]
    return step


# --- numbers in formulas: placeholders, filled here and by the browser after a slider moves ---

_TOKEN = re.compile(r"\u27e8(p?)([vgl]|n[vg])\|(\d+(?:,\d+)*)(?:\|(\d+))?(?:~(\d+))?\u27e9")


def vector_norm(xs) -> float:
    """The Euclidean norm of some numbers (a layer's outputs or their gradients).

    ``math.hypot``: no overflow or underflow on the way. The page computes it with
    ``Math.hypot`` over the same replayed numbers.

    Examples
    --------
    >>> vector_norm([3.0, -4.0]), vector_norm([])
    (5.0, 0.0)
    """
    return math.hypot(*xs)


def norm_ref(nodes, grad: bool = False) -> str:
    """The placeholder of the norm of ``nodes``' values (or gradients): a layer's output.

    Examples
    --------
    >>> fill(norm_ref([0, 1]), lambda n: [3.0, 4.0][n], None, None)
    '5'
    """
    return f"\u27e8n{'g' if grad else 'v'}|{','.join(str(n) for n in nodes)}\u27e9"


def value_ref(n: int, operand: bool = False) -> str:
    """The placeholder of node ``n``'s value (``operand``: in parentheses when negative).

    Examples
    --------
    >>> fill(value_ref(0) + " + " + value_ref(1, operand=True), lambda n: -1.0, None, None)
    '-1 + (-1)'
    """
    return f"\u27e8{'p' if operand else ''}v|{n}\u27e9"


def grad_ref(n: int, operand: bool = False) -> str:
    """The placeholder of node ``n``'s gradient, as :func:`value_ref`.

    Examples
    --------
    >>> fill(grad_ref(3), None, lambda n: 0.5, None)
    '0.5'
    """
    return f"\u27e8{'p' if operand else ''}g|{n}\u27e9"


def local_ref(child: int, slot: int) -> str:
    """The placeholder of ``d child / d (its input slot)``, in parentheses when negative.

    Examples
    --------
    >>> fill(local_ref(2, 1), None, None, lambda n, slot: -2.0)
    '(-2)'
    """
    return f"\u27e8pl|{child}|{slot}\u27e9"


def fill(template: str, value, grad, local) -> str:
    """Put numbers into a step's ``text_template`` or ``latex_template``.

    Placeholders are ``\u27e8v|n\u27e9`` (value of node n), ``\u27e8g|n\u27e9`` (its gradient),
    ``\u27e8l|n|slot\u27e9`` (local derivative of node n with respect to its input ``slot``) and
    ``\u27e8nv|a,b,...\u27e9`` / ``\u27e8ng|a,b,...\u27e9`` (the norm of those nodes' values / gradients);
    a ``p`` before the letter puts a negative number in parentheses, ``~d`` before the end
    shows ``d`` significant digits instead of 4 (``\u27e8v|n~6\u27e9``). The browser
    fills the same templates with the numbers of its tape replay.

    Parameters
    ----------
    template : str
    value, grad : callable
        node -> float.
    local : callable
        (node, slot) -> float.

    Examples
    --------
    >>> fill("z = \u27e8v|0\u27e9 * \u27e8pg|1\u27e9", lambda n: 2.0, lambda n: -0.5, None)
    'z = 2 * (-0.5)'
    """
    def number(match: re.Match) -> str:
        paren, kind, n, slot, digits = match.groups()
        digits = int(digits or 4)
        if kind[0] == "n":
            of = value if kind == "nv" else grad
            return format_number(vector_norm(of(int(i)) for i in n.split(",")), digits)
        x = (value(int(n)) if kind == "v" else grad(int(n)) if kind == "g"
             else local(int(n), int(slot)))
        return _operand(x, digits) if paren else format_number(x, digits)
    return _TOKEN.sub(number, template)


def graph_numbers(graph: nx.MultiDiGraph) -> tuple:
    """The traced graph's value, gradient and local-derivative look-ups for :func:`fill`.

    Examples
    --------
    >>> from graphviz_core import parse, trace
    >>> value, grad, local = graph_numbers(trace(parse("2*w").build({"w": 3})))
    >>> value(2), grad(1), local(2, 1)
    (6.0, 2.0, 2.0)
    """
    attrs, pred = graph.nodes, graph.pred

    def local(n: int, slot: int) -> float:
        # looked up where a step asks (a drawing by layers asks a few of 15,000 edges),
        # not a table of every edge made first: an edge into n is keyed by its slot
        for keyed in pred[n].values():
            if slot in keyed:
                return keyed[slot]["local"]
        raise KeyError((n, slot))
    return lambda n: attrs[n]["value"], lambda n: attrs[n]["grad"], local


def new_step(numbers, kind, node, nodes, edges, value, text, latex) -> dict:
    """One step as plain data: ``text`` and ``latex`` are templates, filled with ``numbers``.

    Examples
    --------
    >>> step = new_step((lambda n: 2.0, None, None), "op", 1, [1], [(0, 1, 0)], 2.0,
    ...                 "z = " + value_ref(1), "z = " + value_ref(1))
    >>> step["text"], step["edges"]
    ('z = 2', [[0, 1, 0]])
    """
    return {"kind": kind, "node": node, "nodes": list(dict.fromkeys(nodes)),
            "edges": [list(e) for e in edges], "value": value,
            "text": fill(text, *numbers), "latex": fill(latex, *numbers),
            "text_template": text, "latex_template": latex}


def numbered(steps: list[dict]) -> list[dict]:
    """The steps with ``index`` set to their position (the order they play in)."""
    for i, step in enumerate(steps):
        step["index"] = i
    return steps


def _operand(x: float, digits: int = 4) -> str:
    """A number inside a formula: negative ones in parentheses."""
    text = format_number(x, digits)
    return f"({text})" if text.startswith("-") else text


