"""A :class:`~graphviz_core.engine.Value` graph as a ``networkx`` graph the views can draw."""

from __future__ import annotations

import networkx as nx

from .engine import (OPS, Value, active_nodes, backward_pass, contribution, format_number,
                     number_text, topological_order)
from .collector import paused

__all__ = ["trace", "format_number", "latex_name", "op_definition"]


def trace(root: Value, backward: bool = True, groups=None) -> nx.MultiDiGraph:
    """Trace the graph behind ``root``: one node per Value, one edge per parent slot.

    Parameters
    ----------
    root : Value
        The output (the loss).
    backward : bool, default True
        Run ``root.backward()`` first, so gradients and local derivatives are current.
    groups : mapping of Value to str, optional
        Which group (a neuron, say) each Value belongs to; when given, every node gets
        the attribute ``group`` (``""`` outside any group). See
        :mod:`graphviz_core.grouping`.

    Returns
    -------
    networkx.MultiDiGraph
        A ``DiGraph`` subclass (``a*a`` needs two parallel edges). Nodes are ints in
        topological order (parents first, the root last) with attributes ``name``,
        ``op`` (``""`` for leaves), ``symbol``, ``param``, ``value``, ``grad``,
        ``kind`` (``"parameter"``, ``"data"``, ``"constant"`` or ``"op"``),
        ``requires_grad``, ``active`` (the backward pass computed its gradient),
        ``fault`` (None, or why its value or gradient is not finite) and ``text`` /
        ``latex`` (its definition, e.g. ``z1 = w * x``). Edges go parent -> child,
        keyed by the parent's slot, with ``slot``, ``value`` (what the edge carries
        forward), ``local`` (d child / d parent), ``contribution`` (grad of child x
        local, the part of the parent's gradient that this edge carries back),
        ``blocked`` (into a stop-gradient) and ``pruned`` (no gradient computed).
        Graph attributes: ``root``, ``evaluated``, ``skipped``, ``blocked``.

        A node's gradient is the sum of the contributions on its outgoing edges:
        the fan-out rule.

    Examples
    --------
    >>> from graphviz_core import parse
    >>> g = trace(parse("(w*x + b - y)**2").build({"w": 2, "x": 1.5, "b": 0.5, "y": 1}))
    >>> [g.nodes[n]["name"] for n in g]
    ['w', 'x', 'z1', 'b', 'z2', 'y', 'z3', 'L']
    >>> g.nodes[6]["text"], g.nodes[6]["grad"]
    ('z3 = z2 - y', 5.0)
    >>> g.edges[6, 7, 0]["local"], g.edges[6, 7, 0]["contribution"]
    (5.0, 5.0)
    """
    with paused():  # many containers and no cycles: see graphviz_core.collector
        return _trace(root, backward, groups)


def _trace(root: Value, backward: bool, groups) -> nx.MultiDiGraph:
    if backward:  # the order and the active nodes come with the backward pass
        order: list[Value] = []
        live = object()
        report = backward_pass(root, order, live)
        active = [v._mark is live for v in order]
    else:
        report = None
        order = topological_order(root)
        active_set = active_nodes(order, root)
        active = [v in active_set for v in order]
    index = {v: i for i, v in enumerate(order)}  # Values hash by identity
    names = _node_names(order)
    latex_names = [latex_name(name) for name in names]
    graph = nx.MultiDiGraph(root=len(order) - 1)
    if report is not None:
        graph.graph.update(evaluated=report.evaluated, skipped=report.skipped,
                           blocked=report.blocked)
    # The graph's dicts are filled directly (networkx's own structure, as add_node and
    # add_edge fill it): those calls take keyword dicts and clear a cache each time, which
    # made them most of a trace's cost.
    node_attrs, succ, pred = graph._node, graph._succ, graph._pred
    # each node's parents in slot order: the tape's inputs (graphviz_core.tape.to_tape),
    # known here at no cost; a traced graph's structure never changes after
    inputs: list[list[int]] = []
    graph.graph["_inputs"] = inputs
    for i, v in enumerate(order):
        parents = v.parents
        name = names[i]
        child_active = active[i]
        fault = v.fault
        grad_fault = v.grad_fault
        attrs = {"name": name, "op": v.op, "symbol": _symbol(v), "param": v.param,
                 "value": v.data, "grad": v.grad, "kind": v.kind,
                 "requires_grad": child_active if parents else v.requires_grad,
                 "active": child_active, "fault": fault or grad_fault, "value_fault": fault,
                 "grad_fault": grad_fault, "text": name}
        if groups is not None:
            attrs["group"] = groups.get(v, "")
        attrs["latex"] = latex_names[i]
        node_attrs[i] = attrs
        succ[i] = {}
        pred[i] = {}
        if not parents:
            inputs.append([])
            continue
        op = OPS[v.op]
        slots = [index[p] for p in parents]
        inputs.append(slots)
        attrs["text"] = f"{name} = {op_definition(op, [names[j] for j in slots], v.param, text=True)}"
        attrs["latex"] = (f"{latex_names[i]} = " + op_definition(
            op, [latex_names[j] for j in slots], v.param, text=False))
        # derived here, not kept by backward (which needs them only once): off the
        # backward path they are shown too
        locals_ = op.local(tuple([p.data for p in parents]), v.data, v.param)
        blocked = op.blocks_gradient
        grad = v.grad
        into = pred[i]
        for slot, (j, p, local) in enumerate(zip(slots, parents, locals_)):
            flows = child_active and not blocked and active[j]
            keyed = into.get(j)
            if keyed is None:
                keyed = into[j] = succ[j][i] = {}
            keyed[slot] = {"slot": slot, "value": p.data, "local": 0.0 if blocked else local,
                           "contribution": contribution(op, grad, local) if flows else 0.0,
                           "blocked": blocked, "pruned": not flows and not blocked}
    return graph


def _node_names(order: list[Value]) -> list[str]:
    """Names for drawing: given names kept, the root ``L``, other ops ``z1, z2, ...``."""
    taken = {v.name for v in order if v.name}
    names = []
    counter = 0
    for i, v in enumerate(order):
        if v.name:
            names.append(v.name)
        elif i == len(order) - 1 and v.parents:
            names.append(next(n for n in ("L", "out", "loss", "L0") if n not in taken))
        else:
            counter += 1
            while f"z{counter}" in taken:
                counter += 1
            names.append(f"z{counter}")
    return names


def _symbol(v: Value) -> str:
    if not v.op:
        return v.name
    if v.op == "pow":
        return f"^{number_text(v.param)}"
    return OPS[v.op].symbol


def op_definition(op, parent_names: list[str], param, text: bool) -> str:
    """What ``op`` computes from operands named ``parent_names``, as text or as LaTeX.

    Examples
    --------
    >>> op_definition(OPS["pow"], ["z1"], 2.0, text=True)
    'z1**2'
    """
    template = op.text if text else op.latex
    p = number_text(param) if param is not None else ""
    return template.format(*parent_names, p=p)


def latex_name(name: str) -> str:
    """A variable name in LaTeX: ``z1`` -> ``z_{1}``, ``lp`` -> ``\\mathrm{lp}``.

    Examples
    --------
    >>> latex_name("z12"), latex_name("w"), latex_name("x_in"), latex_name("2.5")
    ('z_{12}', 'w', 'x_{\\\\mathrm{in}}', '2.5')
    """
    if not name or not (name[0].isalpha()):
        return name
    head, sep, tail = name.partition("_")
    if not sep:
        stem = head.rstrip("0123456789")
        digits = head[len(stem):]
        return (_latex_word(stem) + (f"_{{{digits}}}" if digits else "")) if stem else name
    return f"{_latex_word(head)}_{{{_latex_word(tail)}}}"


_GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "eta", "theta", "lambda", "mu",
          "pi", "rho", "sigma", "tau", "phi", "omega"}


def _latex_word(word: str) -> str:
    if word in _GREEK:
        return f"\\{word}"
    if len(word) <= 1 or word.isdigit():
        return word
    return f"\\mathrm{{{word}}}"
