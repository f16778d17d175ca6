"""A scalar tanh MLP built with the engine, and ``mlp(n_in, h1, ..., n_out)``: how a student
asks the explorer for one (a graph far larger than one would type).
"""

from __future__ import annotations

import re

import numpy as np

from .engine import Value, topological_order
from .trace import trace
from .messages import problem
from .limits import GROUP_ABOVE, MLP_MAX_DRAWN, MLP_MAX_INPUTS, MLP_MAX_NODES

__all__ = ["mlp_loss", "mlp_graph", "ScalarMLP", "builder_from_text"]


def mlp_loss(n_in: int = 3, hidden: tuple[int, ...] = (4, 4), n_out: int = 1,
             seed: int = 0, inputs: dict | None = None, groups: dict | None = None) -> Value:
    """Squared error of a scalar tanh MLP on one example, as in micrograd's demo.

    Each neuron is ``tanh(b + sum_i w_i x_i)`` (summed pairwise); weights come
    from a seeded numpy generator, so the graph is the same on every run.

    ``groups``, when given, is filled with Value -> neuron for every node of a neuron
    (bias, weights, products, sums, tanh): ``"h1[0]"`` for the first neuron of the first
    hidden layer, ``"out[0]"`` for the first output. Inputs and the loss stay outside.

    Examples
    --------
    >>> L = mlp_loss(2, (2,), 1)
    >>> from graphviz_core import topological_order
    >>> len(topological_order(L))
    28
    """
    rng = np.random.default_rng(seed)
    inputs = inputs or {}
    activations = [Value(float(inputs.get(f"x{i}", v)), f"x{i}", kind="data") for i, v in
                   enumerate(rng.uniform(-1, 1, n_in))]
    sizes = [n_in, *hidden, n_out]
    for layer, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:])):
        hidden_layer = layer < len(sizes) - 2
        outputs = []
        for j in range(fan_out):
            terms = [Value(float(rng.uniform(-1, 1)), f"b{layer}_{j}")]
            members = [terms[0]]
            for i, a in enumerate(activations):
                weight = Value(float(rng.uniform(-1, 1)), f"w{layer}_{j}_{i}")
                terms.append(weight * a)
                members += (weight, terms[-1])
            # pairwise sums (as numpy adds): a neuron of n inputs is log2(n) adds deep,
            # not n, so its drawing stays compact when it is opened
            while len(terms) > 1:
                pairs = [terms[k] + terms[k + 1] for k in range(0, len(terms) - 1, 2)]
                members += pairs
                terms = pairs + terms[len(terms) - len(terms) % 2:]
            total = terms[0]
            if hidden_layer:
                total = total.tanh()
                members.append(total)
            if groups is not None:
                neuron = f"h{layer + 1}[{j}]" if hidden_layer else f"out[{j}]"
                groups.update(dict.fromkeys(members, neuron))
            outputs.append(total)
        activations = outputs
    targets = rng.uniform(-1, 1, n_out)
    loss = None
    for out, t in zip(activations, targets):
        term = (out - Value(float(t), "y", kind="data")) ** 2
        loss = term if loss is None else loss + term
    return loss


def mlp_graph(n_in: int = 3, hidden: tuple[int, ...] = (4, 4), n_out: int = 1,
              seed: int = 0, inputs: dict | None = None):
    """:func:`mlp_loss` traced with its neuron groups: the graph that
    :mod:`~graphviz_core.grouping` and :mod:`~graphviz_core.levels` draw.

    Returns
    -------
    networkx.MultiDiGraph
        As :func:`~graphviz_core.trace.trace` makes it with ``groups``: each node of a
        neuron has the ``group`` attribute ``"h1[0]"``, ``"out[0]"``...

    Examples
    --------
    >>> g = mlp_graph(2, (2,), 1)
    >>> len(g), g.nodes[11]["op"], g.nodes[11]["group"]
    (28, 'tanh', 'h1[0]')
    """
    groups: dict = {}
    return trace(mlp_loss(n_in, hidden, n_out, seed, inputs, groups), groups=groups)


_MLP_CALL = re.compile(r"\s*mlp\s*\(\s*(\d+(?:\s*,\s*\d+)+)\s*\)\s*\Z")


class ScalarMLP:
    """A scalar tanh MLP with fixed seeded weights; its inputs ``x0, x1, ...`` are the variables.

    It answers like an :class:`~graphviz_core.expression.Expression` (``variables``,
    ``build``), so the explorer can draw ``mlp(2, 16, 16, 1)`` - a graph far larger
    than one would type.

    Examples
    --------
    >>> net = ScalarMLP(2, (2,), 1)
    >>> net.variables, net.node_count()
    (('x0', 'x1'), 28)
    >>> ScalarMLP(2, (60, 60), 1).drawn_count()  # 11,586 nodes, grouped
    126
    """

    # its build fills neuron groups: the explorer draws it by levels (graphviz_core.levels)
    neurons = True

    def __init__(self, n_in: int, hidden: tuple[int, ...], n_out: int, seed: int = 0):
        self.n_in, self.hidden, self.n_out, self.seed = n_in, tuple(hidden), n_out, seed
        self.variables = tuple(f"x{i}" for i in range(n_in))
        self.source = f"mlp({', '.join(str(n) for n in (n_in, *hidden, n_out))})"
        rng = np.random.default_rng(seed)
        self.defaults = {name: float(v) for name, v in zip(self.variables, rng.uniform(-1, 1, n_in))}

    def node_count(self) -> int:
        sizes = [self.n_in, *self.hidden, self.n_out]
        # a neuron: bias, a weight, a product and a sum per input, and tanh in hidden layers
        neurons = sum(fan_out * (3 * fan_in + 1 + (i < len(sizes) - 2))
                      for i, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:])))
        # the loss: target, difference and square per output, and the sums between them
        return self.n_in + neurons + 3 * self.n_out + self.n_out - 1

    def drawn_count(self) -> int:
        """Nodes drawn: all of them up to ``GROUP_ABOVE``, else one per neuron, input and
        loss node."""
        if self.node_count() <= GROUP_ABOVE:
            return self.node_count()
        return self.n_in + sum(self.hidden) + self.n_out + 4 * self.n_out - 1

    def build(self, values: dict, requires_grad: dict | None = None,
              kinds: dict | None = None, groups: dict | None = None) -> Value:
        """The loss for input ``values``; ``groups`` as in :func:`mlp_loss`."""
        return self._build(values, requires_grad, kinds, groups)[0]

    def _build(self, values, requires_grad=None, kinds=None, groups=None) -> tuple[Value, dict]:
        root = mlp_loss(self.n_in, self.hidden, self.n_out, self.seed,
                        inputs={k: float(v) for k, v in values.items()}, groups=groups)
        leaves = {v.name: v for v in topological_order(root)
                  if not v.parents and v.name in self.variables}
        for name, flag in (requires_grad or {}).items():
            if name in leaves:
                leaves[name].requires_grad = bool(flag)
        return root, leaves


def builder_from_text(text: str) -> ScalarMLP | None:
    """``mlp(n_in, h1, ..., n_out)`` -> a :class:`ScalarMLP`; None for any other text.

    Raises
    ------
    ExpressionError
        When the sizes are zero, there are more than ``MLP_MAX_INPUTS`` inputs (a slider
        each), the graph would exceed ``MLP_MAX_NODES`` nodes, or its drawing
        ``MLP_MAX_DRAWN`` nodes: all counted before anything is built.

    Examples
    --------
    >>> builder_from_text("mlp(2, 16, 16, 1)").node_count()
    982
    >>> builder_from_text("w*x") is None
    True
    >>> builder_from_text("mlp(1000, 1, 1)")
    Traceback (most recent call last):
    ...
    graphviz_core.expression.ExpressionError: mlp(...) takes at most 24 inputs (a slider each), not 1,000 (at position 0)
    """
    match = _MLP_CALL.match(text) if isinstance(text, str) and len(text) < 200 else None
    if match is None:
        return None
    sizes = [int(n) for n in match.group(1).split(",")]
    if len(sizes) < 2 or min(sizes) < 1 or max(sizes) > 1000:
        raise problem("mlp_sizes", 0)
    if sizes[0] > MLP_MAX_INPUTS:
        raise problem("mlp_inputs", 0, limit=MLP_MAX_INPUTS, n=f"{sizes[0]:,}")
    net = ScalarMLP(sizes[0], tuple(sizes[1:-1]), sizes[-1])
    if net.node_count() > MLP_MAX_NODES:
        raise problem("mlp_nodes", 0, call=f"mlp{tuple(sizes)}", n=f"{net.node_count():,}",
                      limit=f"{MLP_MAX_NODES:,}")
    if net.drawn_count() > MLP_MAX_DRAWN:
        raise problem("mlp_drawn", 0, call=f"mlp{tuple(sizes)}", n=f"{net.drawn_count():,}",
                      limit=f"{MLP_MAX_DRAWN:,}")
    return net
