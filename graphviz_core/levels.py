"""Levels of detail for a traced network: a node per layer, per neuron, or per op.

A network traced with neuron groups (:func:`~graphviz_core.mlp.mlp_loss` fills them,
``h1[3]``, ``out[0]``) also has *layers*: a neuron's layer is its group id up to ``[``
(``h1``, ``out``), the inputs form the layer ``x`` and the nodes after the last layer
(target, difference, square, sum) the layer ``L``. At the ``"layer"`` level every layer is
one node and one edge joins each pair of consecutive layers; opening a layer draws its
neurons, opening a neuron its ops (:mod:`graphviz_core.grouping`). A layer shows its
*output vector* (each neuron's output; the inputs; the loss) by its norm, and its gradient
by the norm of the gradient of that vector.

Examples
--------
>>> from graphviz_core.mlp import mlp_graph
>>> g = mlp_graph(2, (3, 3), 1)
>>> d = level_graph(g, "layer")
>>> [d.nodes[n]["name"] for n in d]
['x', 'h1', 'h2', 'out', 'L']
>>> [(d.nodes[u]["name"], d.nodes[v]["name"]) for u, v in d.edges()]
[('x', 'h1'), ('h1', 'h2'), ('h2', 'out'), ('out', 'L')]
>>> len(level_graph(g, "layer", ["h1"]))  # h1 drawn as its 3 neurons
7
"""

from __future__ import annotations

import networkx as nx

from .grouping import group_attrs, group_members, latex_label, members_by, neuron_of, quotient
from .schedule import vector_norm

__all__ = ["LEVELS", "INPUT_LAYER", "LOSS_LAYER", "layer_members", "layer_outputs",
           "layer_norms", "level_graph", "drawn_size", "layer_matrix"]

LEVELS = ("layer", "neuron", "op")
INPUT_LAYER = "x"  # the inputs, drawn as one vector
LOSS_LAYER = "L"  # everything after the last layer of neurons: target, error, loss


def _layer_of_group(gid: str) -> str:
    return gid.partition("[")[0]


def _neurons_in(neurons: dict[str, list[int]], layer: str) -> list[str]:
    return [gid for gid in neurons if _layer_of_group(gid) == layer]


def layer_members(graph: nx.MultiDiGraph) -> dict[str, list[int]]:
    """Each layer's traced nodes in node order, the layers in computing order.

    Examples
    --------
    >>> from graphviz_core.mlp import mlp_graph
    >>> g = mlp_graph(2, (2,), 1)
    >>> {k: len(v) for k, v in layer_members(g).items()}
    {'x': 2, 'h1': 16, 'out': 7, 'L': 3}
    """
    nodes = graph.nodes
    layer_of: dict[str, str] = {}  # a group's layer, worked out once per group

    def layer(n, attrs) -> str:
        gid = attrs.get("group")
        if gid:
            key = layer_of.get(gid)
            if key is None:
                key = layer_of[gid] = _layer_of_group(gid)
            return key
        if (graph.in_degree(n) == 0 and graph.out_degree(n)
                and all(nodes[s].get("group") for s in graph.successors(n))):
            return INPUT_LAYER
        return LOSS_LAYER
    return members_by(graph, "_layers", layer)


def layer_outputs(graph: nx.MultiDiGraph) -> dict[str, list[int]]:
    """Each layer's output vector as traced nodes: its neurons' outputs in order, the
    inputs themselves, and the loss alone for ``L``.

    Examples
    --------
    >>> from graphviz_core.mlp import mlp_graph
    >>> g = mlp_graph(2, (2,), 1)
    >>> layer_outputs(g)
    {'x': [4, 8], 'h1': [11, 22], 'out': [24], 'L': [27]}
    """
    neurons = group_members(graph)
    outputs: dict[str, list[int]] = {}
    for layer, members in layer_members(graph).items():
        if layer == INPUT_LAYER:
            outputs[layer] = list(members)
        elif layer == LOSS_LAYER:
            outputs[layer] = [graph.graph.get("root", len(graph) - 1)]
        else:
            outputs[layer] = [neurons[gid][-1] for gid in _neurons_in(neurons, layer)]
    return outputs


def layer_norms(graph: nx.MultiDiGraph) -> dict[str, tuple[float, float]]:
    """Each layer's ``(norm of its output, norm of that output's gradient)``.

    Examples
    --------
    >>> from graphviz_core.mlp import mlp_graph
    >>> g = mlp_graph(2, (2,), 1)
    >>> norms = layer_norms(g)
    >>> norms["L"] == (g.nodes[27]["value"], 1.0)
    True
    """
    nodes = graph.nodes
    return {layer: (vector_norm(nodes[n]["value"] for n in outs),
                    vector_norm(nodes[n]["grad"] for n in outs))
            for layer, outs in layer_outputs(graph).items()}


def _open_sets(graph, level: str, opened) -> tuple[set, set, dict, dict]:
    neurons = group_members(graph)
    layers = layer_members(graph)
    if level == "neuron":
        open_layers = set(layers)
    else:
        open_layers = {g for g in opened if g in layers}
    open_neurons = {g for g in opened if g in neurons and _layer_of_group(g) in open_layers}
    return open_layers, open_neurons, neurons, layers


def drawn_size(graph: nx.MultiDiGraph, level: str, opened=()) -> int:
    """How many nodes :func:`level_graph` draws, without drawing.

    Examples
    --------
    >>> from graphviz_core.mlp import mlp_graph
    >>> g = mlp_graph(2, (3, 3), 1)
    >>> drawn_size(g, "layer"), drawn_size(g, "neuron"), drawn_size(g, "neuron", ["h1[0]"])
    (5, 12, 19)
    """
    open_layers, open_neurons, neurons, layers = _open_sets(graph, level, opened)
    size = 0
    for layer, members in layers.items():
        if layer not in open_layers:
            size += 1
            continue
        inside = _neurons_in(neurons, layer)
        size += len(members) - sum(len(neurons[g]) for g in inside)  # inputs, loss nodes
        size += sum(len(neurons[g]) if g in open_neurons else 1 for g in inside)
    return size


def level_graph(graph: nx.MultiDiGraph, level: str = "layer", opened=(),
                limit: int | None = None) -> nx.MultiDiGraph:
    """The drawing of a grouped network at ``level``, with the groups in ``opened`` open.

    Parameters
    ----------
    graph : networkx.MultiDiGraph
        Traced with neuron groups (``trace(root, groups=...)``).
    level : {"layer", "neuron"}
        ``"layer"``: every layer closed unless named in ``opened``; ``"neuron"``: every
        layer open (a node per neuron, as :func:`~graphviz_core.grouping.group_graph`).
    opened : iterable of str
        Open layers (``"h1"``) and neurons (``"h1[3]"``), oldest first; a neuron opens
        only inside an open layer, unknown names are ignored.
    limit : int, optional
        The most nodes to draw: the oldest open groups close until the drawing fits.

    Returns
    -------
    networkx.MultiDiGraph
        As :func:`~graphviz_core.grouping.group_graph` draws it; a closed layer is a node
        with ``kind="layer"``, ``op="layer"``, ``members``, ``outputs`` (its output
        vector, traced nodes), ``size`` (its length) and ``text``/``latex`` saying what
        it computes. Every node has ``outputs`` (``[]`` but for layers). Graph attribute
        ``open``: the groups drawn open, oldest first.
    """
    if level not in ("layer", "neuron"):
        raise ValueError(f"level must be 'layer' or 'neuron', not {level!r}")
    kept = list(dict.fromkeys(opened))
    while limit is not None and kept and drawn_size(graph, level, kept) > limit:
        kept.pop(0)
    open_layers, open_neurons, neurons, layers = _open_sets(graph, level, kept)
    outputs = layer_outputs(graph)
    draw_as = {}
    group_of = dict(graph.nodes(data="group", default=""))
    for layer, members in layers.items():
        for n in members:
            gid = group_of[n]
            draw_as[n] = (layer if layer not in open_layers else
                          gid if gid and gid not in open_neurons else n)
    closed = {layer: members for layer, members in layers.items() if layer not in open_layers}
    closed.update({gid: ms for gid, ms in neurons.items()
                   if _layer_of_group(gid) in open_layers and gid not in open_neurons})
    # a closed layer's output is its last output node: the drawing's order follows it
    groups = {key: ms if key in neurons else _output_last(ms, outputs[key])
              for key, ms in closed.items()}

    def group_node(gid, members, name):
        if gid in neurons:
            return {**group_attrs(graph, gid, members, name), "outputs": []}
        return _layer_node(graph, gid, members, outputs[gid], neurons)

    drawn = quotient(graph, draw_as, groups, group_node, neurons)
    for n in drawn:
        drawn.nodes[n].setdefault("outputs", [])
    drawn.graph["open"] = [g for g in kept if g in open_layers or g in open_neurons]
    drawn.graph["level"] = level
    return drawn


def _output_last(members: list[int], outs: list[int]) -> list[int]:
    last = outs[-1]
    return [n for n in members if n != last] + [last]


def _layer_node(graph, layer: str, members: list[int], outs: list[int], neurons) -> dict:
    nodes = graph.nodes
    out = outs[-1]
    size = len(outs)
    inner = _neurons_in(neurons, layer)
    attrs = {**nodes[out], "name": layer, "op": "layer", "kind": "layer", "tape": out,
             "members": members, "group": layer, "param": None, "outputs": list(outs),
             "size": size, "neuron": None, "symbol": "▤",
             "value": vector_norm(nodes[n]["value"] for n in outs),
             "grad": vector_norm(nodes[n]["grad"] for n in outs),
             "active": any(nodes[n]["active"] for n in outs)}
    if layer == INPUT_LAYER:
        names = ", ".join(nodes[n]["name"] for n in outs)
        attrs.update(text=f"{layer} = ({names})", latex=rf"\mathbf{{{layer}}}")
    elif layer == LOSS_LAYER:
        root = nodes[out]
        attrs.update(symbol=root["symbol"],
                     text=f"{layer} = Σ (out - y)²",
                     latex=rf"{latex_label(layer)} = \sum (\mathrm{{out}} - y)^2")
    else:
        first = neurons[inner[0]]
        act = next((nodes[n]["op"] for n in first[-1:] if nodes[n]["op"] == "tanh"), None)
        pre = f"W_{layer} · in + b_{layer}"
        attrs.update(symbol="▤", text=f"{layer} = {f'{act}({pre})' if act else pre}",
                     latex=(rf"\mathbf{{{layer}}} = " +
                            (rf"\tanh(W_{{\mathrm{{{layer}}}}}\,\mathbf{{in}} + "
                             rf"\mathbf{{b}}_{{\mathrm{{{layer}}}}})" if act else
                             rf"W_{{\mathrm{{{layer}}}}}\,\mathbf{{in}} + "
                             rf"\mathbf{{b}}_{{\mathrm{{{layer}}}}}")))
    return attrs


def layer_matrix(graph: nx.MultiDiGraph, layer: str) -> dict:
    """A layer's weights and their gradients as matrices: row ``j`` = neuron ``j``, column
    ``i`` = its ``i``-th input (the previous layer's output ``i``).

    Returns
    -------
    dict
        ``rows`` (neuron names), ``columns`` (input names), ``weight`` and ``grad``
        (lists of rows of floats), ``node`` (the weight's traced node per cell),
        ``edge`` (per cell, the traced edge ``[input, product, slot]`` the weight
        multiplies) - the core's numbers, nothing recomputed.

    Examples
    --------
    >>> from graphviz_core.mlp import mlp_graph
    >>> g = mlp_graph(2, (3,), 1)
    >>> m = layer_matrix(g, "h1")
    >>> m["rows"], m["columns"], len(m["weight"][0])
    (['h1[0]', 'h1[1]', 'h1[2]'], ['x0', 'x1'], 2)
    >>> m["weight"][0][1] == g.nodes[m["node"][0][1]]["value"]
    True
    """
    members = group_members(graph)
    names = {n: graph.nodes[n]["name"] for n in graph}
    names.update({ms[-1]: g for g, ms in members.items()})
    rows, weight, grad, node, edge, columns = [], [], [], [], [], None
    for gid in _neurons_in(members, layer):
        ms = members[gid]
        neuron = neuron_of(graph, set(ms), ms[-1])
        if neuron is None:
            continue
        rows.append(gid)
        terms = neuron["terms"]
        if columns is None:
            columns = [names[a] for _, a, _, _ in terms]
        weight.append([graph.nodes[w]["value"] for w, _, _, _ in terms])
        grad.append([graph.nodes[w]["grad"] for w, _, _, _ in terms])
        node.append([w for w, _, _, _ in terms])
        edge.append([[a, p, 1] for _, a, p, _ in terms])
    return {"layer": layer, "rows": rows, "columns": columns or [], "weight": weight,
            "grad": grad, "node": node, "edge": edge}
