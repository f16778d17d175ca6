"""Large traced graphs drawn with groups: a neuron as one node that opens on a click.

A traced graph whose nodes carry a ``group`` attribute (``trace(root, groups=...)``,
filled by :func:`~graphviz_core.mlp.mlp_loss`) is drawn as its *quotient*: every
closed group becomes one node standing for its members, every other node stays as it
is, and the traced edges that cross groups become the drawn edges (parallel ones into
a group merged, each remembering the traced edges it stands for). Opening a group
(``expanded``) draws its members again. The values, gradients and formulas stay the
traced graph's: a group shows its *output* (its last member, a neuron's activation).
"""

from __future__ import annotations

import networkx as nx

from .engine import OPS
from .schedule import (backward_steps, blocked_step, forward_steps, grad_ref, graph_numbers,
                       local_ref, new_step, norm_ref, op_formulas, partials, value_ref,
                       vector_norm)
from .trace import latex_name, op_definition

__all__ = ["group_members", "members_by", "group_graph", "grouped_schedule", "quotient", "flow",
           "DrawingNumbers", "group_attrs", "neuron_of", "latex_label"]

_SHOWN_TERMS = 4  # longer sums are written as their first terms, an ellipsis and the last one


def group_members(graph: nx.MultiDiGraph) -> dict[str, list[int]]:
    """Each group's members in node order, the groups ordered by their output (last member).

    Parameters
    ----------
    graph : networkx.MultiDiGraph
        Made by :func:`~graphviz_core.trace.trace` with ``groups``; nodes without a
        ``group`` attribute (or with ``""``) belong to none.

    Returns
    -------
    dict of str to list of int

    Examples
    --------
    >>> from graphviz_core.mlp import mlp_graph
    >>> g = mlp_graph(2, (2,), 1)
    >>> {k: len(v) for k, v in group_members(g).items()}
    {'h1[0]': 8, 'h1[1]': 8, 'out[0]': 7}
    """
    return members_by(graph, "_groups", lambda n, attrs: attrs.get("group") or None)


def members_by(graph: nx.MultiDiGraph, cache: str, key) -> dict[str, list[int]]:
    """Traced nodes collected by ``key(node, attrs)`` (None: under no key), each key's
    nodes in node order, the keys ordered by their last node; worked out once per graph
    (kept in ``graph.graph[cache]``: a traced graph's groups never change).

    Examples
    --------
    >>> from graphviz_core.mlp import mlp_graph
    >>> g = mlp_graph(2, (2,), 1)
    >>> members_by(g, "_ops", lambda n, attrs: attrs["op"] or None)["tanh"]
    [11, 22]
    """
    cached = graph.graph.get(cache)
    if cached is not None:
        return cached
    members: dict[str, list[int]] = {}
    for n, attrs in graph.nodes(data=True):  # networkx's own (node, dict) pairs: no view per node
        k = key(n, attrs)
        if k is not None:
            members.setdefault(k, []).append(n)
    graph.graph[cache] = dict(sorted(members.items(), key=lambda item: item[1][-1]))
    return graph.graph[cache]


def group_graph(graph: nx.MultiDiGraph, expanded=()) -> nx.MultiDiGraph:
    """The graph to draw: closed groups as single nodes, open ones as their members.

    Parameters
    ----------
    graph : networkx.MultiDiGraph
        A traced graph with ``group`` node attributes.
    expanded : iterable of str
        The groups drawn open (member by member).

    Returns
    -------
    networkx.MultiDiGraph
        Nodes ``0 .. D-1`` in topological order (ties by the traced index they show).
        Every node has the traced attributes of the node it shows plus ``tape`` (that
        traced index: a group's output), ``members`` (a group's traced nodes, ``[]``
        otherwise) and ``group`` (its group id: the group itself, or the open group it
        belongs to; ``""`` for none). A group node has ``kind="group"``, ``op="group"``,
        the name of its group, and ``neuron`` (see below) when it is a neuron. A group's
        output is named after its group in drawings, open or closed. Edges are keyed by
        ``slot`` and carry ``via`` (the ``(traced child, slot)`` pairs of the traced
        edges they stand for; their traced parent is the drawn parent's ``tape``...
        or, into a group, any member of the parent), ``blocked`` and ``contribution``
        (the sum of the traced edges' contributions). Graph attributes: ``root`` and the
        backward counts of ``graph``.

    Raises
    ------
    ValueError
        When the groups would make the drawing cyclic.

    Examples
    --------
    >>> from graphviz_core.mlp import mlp_graph
    >>> g = mlp_graph(2, (2,), 1)
    >>> d = group_graph(g)
    >>> [d.nodes[n]["name"] for n in d]
    ['x0', 'x1', 'h1[0]', 'h1[1]', 'out[0]', 'y', 'z15', 'L']
    >>> d.nodes[2]["tape"], g.nodes[11]["op"], len(d.nodes[2]["members"])  # shows its tanh
    (11, 'tanh', 8)
    >>> sorted(d.edges[2, 4, 0]["via"])  # h1[0] feeds out[0] through one product
    [(12, 1)]
    >>> len(group_graph(g, expanded=["h1[0]"]))  # h1[0] drawn as its 8 members
    15
    """
    members = group_members(graph)
    open_ = set(expanded) & set(members)
    draw_as = {n: gid if gid and gid not in open_ else n
               for n, gid in graph.nodes(data="group", default="")}
    return quotient(graph, draw_as, {gid: ms for gid, ms in members.items() if gid not in open_},
                    lambda gid, ms, name: group_attrs(graph, gid, ms, name), members)


def quotient(graph: nx.MultiDiGraph, draw_as: dict, groups: dict[str, list[int]], group_node,
             neurons: dict[str, list[int]]) -> nx.MultiDiGraph:
    """The drawing where traced node ``n`` is drawn as ``draw_as[n]`` (itself or a group id).

    ``groups`` holds the closed groups' members (the last one is the group's output);
    ``group_node(gid, members, name)`` makes a closed group's attributes (``name``: traced
    node -> its name in drawings); a neuron's output is named after its neuron (``neurons``).
    Every drawn edge has ``via`` and, aligned with it, ``tails``: the traced parent of each
    traced edge it stands for. See :func:`group_graph` for the rest.
    """
    nodes = graph.nodes
    output = {gid: ms[-1] for gid, ms in groups.items()}
    tape = lambda key: output[key] if isinstance(key, str) else key  # noqa: E731
    plain_in: list[tuple] = []  # (drawn u, traced u, traced v, slot, data): into drawn traced nodes
    into_group: dict[tuple, list] = {}  # (drawn u, group) -> [(traced v, slot, data, traced u)]
    # networkx's own dicts (adjacency(): {child: {slot: data}} per node), in the order
    # graph.edges() gives, without a view object per edge
    for u, children in graph.adjacency():
        du = draw_as[u]
        for v, keyed in children.items():
            dv = draw_as[v]
            if du == dv and isinstance(du, str):
                continue  # inside a closed group
            for k, data in keyed.items():
                if isinstance(dv, str):
                    into_group.setdefault((du, dv), []).append((v, k, data, u))
                else:
                    plain_in.append((du, u, v, k, data))
    keys = list(dict.fromkeys(draw_as.values()))
    graph_of_keys = nx.DiGraph()
    graph_of_keys.add_nodes_from(keys)
    graph_of_keys.add_edges_from((du, v) for du, _, v, _, _ in plain_in)
    graph_of_keys.add_edges_from(into_group)
    try:
        order = list(nx.lexicographical_topological_sort(graph_of_keys, key=tape))
    except nx.NetworkXUnfeasible:
        raise ValueError("these groups make the drawing cyclic") from None
    index = {key: i for i, key in enumerate(order)}
    name = {n: d["name"] for n, d in graph.nodes(data=True)}
    name.update({ms[-1]: gid for gid, ms in neurons.items()})

    drawn = nx.MultiDiGraph(root=index[draw_as[graph.graph.get("root", len(graph) - 1)]],
                            **{k: graph.graph[k] for k in ("evaluated", "skipped", "blocked")
                               if k in graph.graph})
    for key in order:
        if isinstance(key, str):
            drawn.add_node(index[key], **group_node(key, groups[key], name))
            continue
        attrs = {**nodes[key], "name": name[key], "tape": key, "members": [],
                 "group": nodes[key].get("group", "")}
        if attrs["op"]:
            parents = [name[u] for u, _, _ in sorted(graph.in_edges(key, keys=True),
                                                     key=lambda e: e[2])]
            op = OPS[attrs["op"]]
            attrs["text"] = f"{name[key]} = {op_definition(op, parents, attrs['param'], True)}"
            attrs["latex"] = (f"{latex_label(name[key])} = "
                              f"{op_definition(op, [latex_label(p) for p in parents], attrs['param'], False)}")
        drawn.add_node(index[key], **attrs)
    for du, u, v, k, data in sorted(plain_in, key=lambda e: (index[e[2]], e[3])):
        c = data["contribution"]
        drawn.add_edge(index[du], index[v], key=k, slot=k, via=[(v, k)], tails=[u],
                       blocked=data["blocked"], contribution=c, flow=abs(c))
    by_group: dict[str, list] = {}
    for (du, gid), via in into_group.items():
        by_group.setdefault(gid, []).append((min((v, k) for v, k, _, _ in via), du, via))
    for gid, sources in by_group.items():
        for slot, (_, du, via) in enumerate(sorted(sources)):
            via = sorted(via, key=lambda e: e[:2])
            drawn.add_edge(index[du], index[gid], key=slot, slot=slot,
                           via=[(v, k) for v, k, _, _ in via], tails=[u for _, _, _, u in via],
                           blocked=all(d["blocked"] for _, _, d, _ in via),
                           contribution=sum(d["contribution"] for _, _, d, _ in via),
                           flow=flow([(u, d["contribution"]) for _, _, d, u in via]))
    return drawn


class DrawingNumbers:
    """Copies a traced graph's numbers into its drawing (made by :func:`quotient`, as
    :func:`group_graph` and :func:`graphviz_core.levels.level_graph` make it), as the
    drawing would be made at them: after the traced graph's numbers changed in place
    (:meth:`graphviz_core.tape.Replay.write`), the drawing need not be made again.

    A drawn node shows its traced node's (``tape``) numbers, or, with ``outputs`` (a
    layer), the norms of their values and gradients; a drawn edge carries its traced
    edge's contribution, or, into a closed group, their sum and :func:`flow`.

    Examples
    --------
    >>> from graphviz_core import trace
    >>> from graphviz_core.mlp import ScalarMLP
    >>> from graphviz_core.tape import Replay
    >>> net, groups = ScalarMLP(2, (2,), 1), {}
    >>> g = trace(net.build({"x0": 0.5, "x1": 0.5}, groups=groups), groups=groups)
    >>> d = group_graph(g)
    >>> replay, copy = Replay(g, net.variables), DrawingNumbers(d, g)
    >>> replay.write(replay.run({"x0": 1.0, "x1": -1.0})); copy.write()
    >>> d.nodes[d.graph["root"]]["value"] == g.nodes[g.graph["root"]]["value"]
    True
    """

    _NODE_NUMBERS = ("value", "grad", "fault", "value_fault", "grad_fault")

    def __init__(self, drawn: nx.MultiDiGraph, graph: nx.MultiDiGraph):
        traced = graph.nodes
        self._nodes = [(d, traced[d["tape"]], [traced[n] for n in d.get("outputs") or ()])
                       for _, d in drawn.nodes(data=True)]
        pred = graph.pred
        self._edges = []  # (drawn edge, into a closed group, its traced edges in via order)
        for _, v, d in drawn.edges(data=True):
            sources = [next(keyed[k] for keyed in pred[tv].values() if k in keyed)
                       for tv, k in d["via"]]
            into_group = bool(drawn.nodes[v]["members"])
            self._edges.append((d, into_group, sources))

    def write(self) -> None:
        """The drawing's numbers from the traced graph's."""
        keys = self._NODE_NUMBERS
        for d, source, outputs in self._nodes:
            for key in keys:
                d[key] = source[key]
            if outputs:
                d["value"] = vector_norm(n["value"] for n in outputs)
                d["grad"] = vector_norm(n["grad"] for n in outputs)
        for d, into_group, sources in self._edges:
            if into_group:
                d["contribution"] = sum(e["contribution"] for e in sources)
                d["flow"] = flow([(u, e["contribution"]) for u, e in zip(d["tails"], sources)])
            else:
                c = d["contribution"] = sources[0]["contribution"]
                d["flow"] = abs(c)


def flow(parts) -> float:
    """How much gradient a drawn edge carries back: the norm of what reaches each traced
    parent along it, ``sqrt(sum_p (sum of p's contributions)^2)`` over ``(parent,
    contribution)`` pairs; ``|contribution|`` for an edge of one traced parent.

    Into a layer that alone uses a layer's outputs, it is the norm of that layer's gradient.

    Examples
    --------
    >>> flow([(0, 3.0), (1, 4.0)]), flow([(0, 3.0), (0, -5.0)])
    (5.0, 2.0)
    """
    per: dict = {}
    for parent, c in parts:
        per[parent] = per.get(parent, 0.0) + c
    return vector_norm(per.values())


def group_attrs(graph: nx.MultiDiGraph, gid: str, members: list[int], name: dict) -> dict:
    """The drawn node of closed group ``gid``, as :func:`quotient`'s ``group_node`` makes it:
    its output's traced attributes, ``kind="group"``, ``members``, ``neuron``
    (:func:`neuron_of`) and the ``text``/``latex`` of what it computes (``name``: traced
    node -> its name in drawings).

    Examples
    --------
    >>> from graphviz_core.mlp import mlp_graph
    >>> g = mlp_graph(2, (2,), 1)
    >>> ms = group_members(g)["out[0]"]
    >>> group_attrs(g, "out[0]", ms, {n: g.nodes[n]["name"] for n in g})["text"]
    'out[0] = b1_0 + w1_0_0*z5 + w1_0_1*z12'
    """
    out = members[-1]
    attrs = {**graph.nodes[out], "name": gid, "op": "group", "kind": "group", "tape": out,
             "members": members, "group": gid, "param": None}
    neuron = neuron_of(graph, set(members), out)
    attrs["neuron"] = neuron
    if neuron is None:
        attrs.update(symbol="▣", text=f"{gid} = a group of {len(members)} nodes",
                     latex=rf"{latex_label(gid)}")
        return attrs
    act = neuron["act"]
    terms = [f"{name[w]}*{name[a]}" for w, a, _, _ in neuron["terms"]]
    inner = " + ".join([name[neuron["bias"]]] + _shorten(terms))
    k = len(terms)
    latex_inner = (" + ".join([latex_label(name[neuron["bias"]])] +
                              [rf"{latex_label(name[w])}\,{latex_label(name[a])}" for w, a, _, _ in
                               neuron["terms"]]) if k <= _SHOWN_TERMS else
                   rf"{latex_label(name[neuron['bias']])} + \sum_{{i=0}}^{{{k - 1}}} w_{{i}}\,a_{{i}}")
    attrs.update(
        symbol=OPS[act].symbol if act else "Σ",
        text=f"{gid} = {_apply_text(act, inner)}",
        latex=f"{latex_label(gid)} = {_apply_latex(act, latex_inner)}")
    return attrs


def neuron_of(graph: nx.MultiDiGraph, members: set, out: int) -> dict | None:
    """``act(bias + sum_i w_i * a_i)`` read off a group, or None if it is not that shape.

    Returns
    -------
    dict or None
        ``act`` (an op name or None), ``pre`` (the sum), ``bias`` and ``terms``:
        ``(weight, input, product, slot of the input)`` in the order of the sum.

    Examples
    --------
    >>> from graphviz_core.mlp import mlp_graph
    >>> g = mlp_graph(2, (2,), 1)
    >>> ms = group_members(g)["h1[0]"]
    >>> n = neuron_of(g, set(ms), ms[-1])
    >>> n["act"], len(n["terms"]), g.nodes[n["bias"]]["name"]
    ('tanh', 2, 'b0_0')
    """
    nodes, pred = graph.nodes, graph.pred

    def parents(n):  # in slot order
        return [u for _, u in sorted((k, u) for u, keys in pred[n].items() for k in keys)]

    act, pre = None, out
    ps = parents(out)
    if len(ps) == 1 and ps[0] in members:
        act, pre = nodes[out]["op"], ps[0]
    # the sum: a tree of adds (pairwise, or a left fold) over the bias and the products,
    # read left to right
    terms, bias, stack = [], [], [pre]
    while stack:
        n = stack.pop()
        op = nodes[n]["op"]
        if op == "add":
            left, right = parents(n)
            if left not in members or right not in members:
                return None
            stack += (right, left)
        elif op == "mul":
            w, a = parents(n)
            if w not in members or nodes[w]["op"] or a in members:
                return None
            terms.append((w, a, n, 1))
        elif op is None or op == "":
            bias.append(n)
        else:
            return None
    if len(bias) != 1 or not terms or len(members) != 1 + 3 * len(terms) + (act is not None):
        return None
    return {"act": act, "pre": pre, "bias": bias[0], "terms": terms}


def grouped_schedule(graph: nx.MultiDiGraph, drawn: nx.MultiDiGraph, mode: str) -> list[dict]:
    """The forward or backward pass over a drawing made by :func:`group_graph`.

    One step per drawn node (a group computes, or receives its gradient, in one step),
    as :func:`~graphviz_core.schedule.schedule` makes them: ``node``, ``nodes`` and
    ``edges`` are *drawn* indices; the placeholders of ``text_template`` and
    ``latex_template`` are *traced* indices, so a replay of the traced graph's tape
    fills them.

    Examples
    --------
    >>> from graphviz_core.mlp import mlp_graph
    >>> g = mlp_graph(2, (2,), 1)
    >>> d = group_graph(g)
    >>> [s["text"] for s in grouped_schedule(g, d, "forward")][1]
    'h1[0] = tanh(b0_0 + w0_0_0*x0 + w0_0_1*x1) = tanh((-0.9181) + (-0.9669) * 0.2739 + 0.6265 * (-0.4604)) = tanh(-1.471) = -0.8998'
    >>> grouped_schedule(g, d, "backward")[-2]["text"]
    'dL/dx1 = dL/dh1[0] * ∂h1[0]/∂x1 + dL/dh1[1] * ∂h1[1]/∂x1 = 1.165 * 0.1903 * 0.6265 + 0.8457 * 0.6558 * 0.459 = 0.3935'
    """
    if mode == "forward":
        return _forward(graph, drawn)
    if mode == "backward":
        return _backward(graph, drawn)
    raise ValueError(f"mode must be 'forward' or 'backward', not {mode!r}")


def _forward(graph, drawn) -> list[dict]:
    nodes = drawn.nodes
    return forward_steps(drawn, graph_numbers(graph), lambda n: _formulas(graph, drawn, n),
                         tape=lambda n: nodes[n]["tape"], latex=latex_label,
                         shown=lambda n: _shown(nodes[n]))


def _shown(node: dict, grad: bool = False) -> str:
    """The placeholder of what a drawn node shows: a layer its output vector's norm (its
    one element's value if it has one), any other node its traced node's number."""
    outputs = node.get("outputs") or [node["tape"]]
    ref = grad_ref if grad else value_ref
    return ref(outputs[0]) if len(outputs) == 1 else norm_ref(outputs, grad)


def _norm_name(node: dict, name: str) -> str:
    """``‖h1‖`` for a layer of several outputs, else ``name`` itself."""
    return f"‖{name}‖" if len(node.get("outputs") or ()) > 1 else name


def _formulas(graph, drawn, n: int) -> tuple[str, str]:
    """What drawn node ``n`` computes: its op, a closed neuron's sum and activation, or a
    closed group's output."""
    node, t = drawn.nodes[n], drawn.nodes[n]["tape"]
    neuron = node.get("neuron")
    if node["kind"] == "layer":
        name = _norm_name(node, node["name"])
        return (f"{node['text']}; {name} = {_shown(node)}",
                f"{node['latex']};\\; {_norm_name(node, latex_label(node['name']))} = {_shown(node)}")
    if node["kind"] != "group":
        operands = sorted(graph.in_edges(t, keys=True), key=lambda e: e[2])
        return op_formulas(node, t, [u for u, _, _ in operands])
    if neuron is None:
        return f"{node['text']} = {value_ref(t)}", f"{node['latex']} = {value_ref(t)}"
    act, pre = neuron["act"], value_ref(neuron["pre"])
    numeric = " + ".join(
        [value_ref(neuron["bias"], operand=True)] +
        [f"{value_ref(w, operand=True)} * {value_ref(a, operand=True)}"
         for w, a, _, _ in neuron["terms"]])
    values = [] if len(neuron["terms"]) > _SHOWN_TERMS or act is None else [numeric]
    text = " = ".join([node["text"]] + [_apply_text(act, x) for x in values + [pre]]
                      if act else [node["text"], numeric]) + f" = {value_ref(t)}"
    latex = (f"{node['latex']} = {_apply_latex(act, pre) + ' = ' if act else ''}"
             f"{value_ref(t)}")
    return text, latex


def _backward(graph, drawn) -> list[dict]:
    numbers = graph_numbers(graph)
    nodes = drawn.nodes
    d, dl = partials(drawn)
    traced_d, traced_dl = partials(graph)

    def blocked(n: int) -> dict:
        step = blocked_step(graph, numbers, nodes[n]["tape"], traced_d, traced_dl)
        (u, _, k), = drawn.in_edges(n, keys=True)
        step.update(node=n, nodes=[n, u], edges=[[u, n, k]])
        step["terms"][0]["edge"] = [u, n, k]
        return step
    return backward_steps(drawn, numbers, lambda n: _gradient_step(graph, drawn, numbers, n, d, dl),
                          blocked)


def _gradient_step(graph, drawn, numbers, n: int, d, dl) -> dict:
    """dL/dn as the sum of what comes back along each drawn edge out of ``n``.

    An edge into a drawn node carries ``dL/dv * dv/dn``; an edge into a neuron carries
    ``dL/dv * act' * w`` (through the product it feeds); any other group edge the
    contributions of the traced edges it stands for.
    """
    nodes = drawn.nodes
    t = nodes[n]["tape"]
    edges = sorted((e for e in drawn.out_edges(n, keys=True) if nodes[e[1]]["active"]),
                   key=lambda e: (e[1], e[2]))
    if nodes[n]["kind"] == "layer" or any(nodes[v]["kind"] == "layer" for _, v, _ in edges):
        return _layer_gradient_step(drawn, numbers, n, edges, d, dl)
    terms, symbolic, numeric, latex_terms = [], [], [], []
    for e in edges:
        v = e[1]
        data, child = drawn.edges[e], nodes[v]
        grad = child["grad"]
        blocked = data["blocked"]
        if blocked:
            parts = ["0"]
        elif child["kind"] != "group":
            (tv, slot), = data["via"]
            parts = [grad_ref(tv, operand=True), local_ref(tv, slot)]
        elif child.get("neuron"):
            tv, slot = data["via"][0]
            act = child["neuron"]["act"]
            parts = ([grad_ref(child["tape"], operand=True)] +
                     ([local_ref(child["tape"], 0)] if act else []) + [local_ref(tv, slot)])
        else:
            parts = ["(" + " + ".join(f"{grad_ref(tv, operand=True)} * {local_ref(tv, slot)}"
                                      for tv, slot in data["via"]) + ")"]
        local = (graph.edges[drawn.nodes[n]["tape"], data["via"][0][0], data["via"][0][1]]["local"]
                 if child["kind"] != "group" and not blocked
                 else data["contribution"] / grad if grad else 0.0)
        terms.append({"edge": list(e), "grad": grad, "local": local,
                      "contribution": data["contribution"], "blocked": blocked})
        name_v, name_n = child["name"], nodes[n]["name"]
        if blocked:
            symbolic.append(f"{d(v)} * 0 (stop-gradient)")
            latex_terms.append(rf"{dl(v)} \cdot 0_{{\mathrm{{sg}}}}")
        elif child["kind"] != "group":
            symbolic.append(f"{d(v)} * {parts[1]}")
            latex_terms.append(rf"{dl(v)} \cdot {parts[1]}")
        else:
            symbolic.append(f"{d(v)} * ∂{name_v}/∂{name_n}")
            latex_terms.append(rf"{dl(v)} \cdot \frac{{\partial {latex_label(name_v)}}}"
                               rf"{{\partial {latex_label(name_n)}}}")
        numeric.append(" * ".join(parts))
    count = f" ({len(terms)} terms)" if len(terms) > _SHOWN_TERMS else ""
    text = (f"{d(n)} = {' + '.join(_shorten(symbolic))} = "
            f"{' + '.join(_shorten(numeric))}{count} = {grad_ref(t)}")
    latex_numbers = [x.replace(" * ", r" \cdot ") for x in numeric]
    dots = r"\dots"
    latex = (f"{dl(n)} = {' + '.join(_shorten(latex_terms, dots))} = "
             f"{' + '.join(_shorten(latex_numbers, dots))} = {grad_ref(t)}")
    neuron = nodes[n].get("neuron")
    if neuron is not None:  # inside the neuron: its sum, then each weight and the bias
        pre, act = neuron["pre"], neuron["act"]
        total = "dL/d(sum)" if act else d(n)
        if act:
            text += (f"; inside: {total} = {grad_ref(t, operand=True)} * {local_ref(t, 0)} = "
                     f"{grad_ref(pre)}")
        text += (f"; each weight gets {total} * its input, e.g. "
                 f"{grad_ref(pre, operand=True)} * {value_ref(neuron['terms'][0][1], operand=True)} = "
                 f"{grad_ref(neuron['terms'][0][0])}")
    blocked = bool(terms) and all(t_["blocked"] for t_ in terms)
    kind = "blocked" if blocked else "sum" if len(terms) > 1 else "gradient"
    step = new_step(numbers, kind, n, [n] + [e[1] for e in edges], edges, nodes[n]["grad"],
                 text, latex)
    step["terms"] = terms
    return step


def _layer_gradient_step(drawn, numbers, n: int, edges, d, dl) -> dict:
    """The gradient of a layer (its norm), or of a node whose gradient comes from a closed
    layer: written by what it comes from, not term by term (a layer pair stands for
    thousands of traced edges)."""
    nodes = drawn.nodes
    node = nodes[n]
    norm_d = _norm_name(node, d(n))
    norm_dl = _norm_name(node, dl(n)).replace("‖", r"\Vert ")
    terms, symbolic, latex_terms = [], [], []
    for e in edges:
        data, child = drawn.edges[e], nodes[e[1]]
        terms.append({"edge": list(e), "grad": child["grad"], "local": 0.0,
                      "contribution": data["contribution"], "blocked": data["blocked"]})
        symbolic.append(f"{d(e[1])} * ∂{child['name']}/∂{node['name']}")
        latex_terms.append(rf"{dl(e[1])} \cdot \frac{{\partial {latex_label(child['name'])}}}"
                           rf"{{\partial {latex_label(node['name'])}}}")
    shown = _shown(node, grad=True)
    text = f"{d(n)} = {' + '.join(_shorten(symbolic))}; {norm_d} = {shown}"
    dots = r"\dots"
    latex = f"{dl(n)} = {' + '.join(_shorten(latex_terms, dots))};\\; {norm_dl} = {shown}"
    kind = "sum" if len(terms) > 1 else "gradient"
    step = new_step(numbers, kind, n, [n] + [e[1] for e in edges], edges, node["grad"],
                    text, latex)
    step["terms"] = terms
    return step


def _shorten(items: list[str], ellipsis: str = "…") -> list[str]:
    if len(items) <= _SHOWN_TERMS:
        return items
    return items[:_SHOWN_TERMS - 2] + [ellipsis] + items[-1:]


def _apply_text(act: str | None, inner: str) -> str:
    return OPS[act].text.format(inner, p="") if act else inner


def _apply_latex(act: str | None, inner: str) -> str:
    if not act:
        return inner
    return OPS[act].latex.format(rf"\left({inner}\right)", p="")


def latex_label(name: str) -> str:
    """A drawn node's name in LaTeX: a group's ``h1[3]`` -> ``\\mathrm{h1}[3]``, any
    other name as :func:`~graphviz_core.trace.latex_name` writes it.

    Examples
    --------
    >>> latex_label("h1[3]"), latex_label("z12")
    ('\\\\mathrm{h1}[3]', 'z_{12}')
    """
    head, sep, tail = name.partition("[")
    return rf"\mathrm{{{head}}}[{tail}" if sep else latex_name(name)
