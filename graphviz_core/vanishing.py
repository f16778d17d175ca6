"""Vanishing and exploding gradients: a deep scalar MLP whose depth, initial weight scale
and activation a student chooses, and what the backward pass does to the gradient on its way
down through the layers.

Each hidden neuron is ``act(b + sum_i w_i h_i)`` with ``b = 0`` and weights drawn from
``N(0, 1) * scale / sqrt(fan_in)`` (seeded: the same network on every run); the output is
linear and the loss is ``(out - y)**2``. Going back through a layer multiplies the gradient
by the layer's weights and by ``act'(z)``, and ``sigmoid'(z) <= 0.25``: across ``depth``
layers of sigmoid that is at most ``0.25**depth`` times the weights' part.

Examples
--------
>>> net = DeepNet(depth=6, activation="sigmoid")
>>> rows = layer_report(net)
>>> [r["layer"] for r in rows]
['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'out']
>>> rows[-2]["grad"] / rows[0]["grad"] > 100   # h1 gets a hundredth of what h6 gets
True
"""

from __future__ import annotations

import math

import numpy as np

from .engine import Value
from .levels import layer_norms
from .trace import trace

__all__ = ["ACTIVATIONS", "DERIVATIVE_BOUND", "DeepNet", "layer_report", "WIDTH"]

ACTIVATIONS = ("sigmoid", "tanh", "relu")
# the largest local derivative each activation has: sigmoid' = s(1 - s) <= 1/4 (at z = 0)
DERIVATIVE_BOUND = {"sigmoid": 0.25, "tanh": 1.0, "relu": 1.0}
WIDTH = 8  # neurons per hidden layer
INPUTS = 2
TARGET = 1.0


class DeepNet:
    """A deep scalar MLP, built like :class:`~graphviz_core.mlp.ScalarMLP` (``variables``,
    ``defaults``, ``source``, ``build``, ``node_count``; neuron groups ``"h1[0]"``, ...), so
    the explorer draws it by levels.

    Examples
    --------
    >>> net = DeepNet(depth=3, activation="relu", scale=2 ** 0.5)
    >>> net.variables, net.source
    (('x0', 'x1'), 'deep(relu, depth=3, scale=1.414)')
    >>> len(topological_order(net.build(net.defaults))) == net.node_count()
    True
    """

    neurons = True  # its build fills neuron groups: drawn by levels (graphviz_core.levels)

    def __init__(self, depth: int, activation: str = "sigmoid", scale: float = 1.0,
                 width: int = WIDTH, seed: int = 0):
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, not {activation!r}")
        self.depth, self.activation, self.scale, self.width = int(depth), activation, float(scale), width
        self.sizes = [INPUTS, *[width] * self.depth, 1]
        rng = np.random.default_rng(seed)
        # one standard-normal draw per weight, scaled at build: the same network at every scale
        self.normal = [rng.standard_normal((fan_out, fan_in))
                       for fan_in, fan_out in zip(self.sizes, self.sizes[1:])]
        self.variables = tuple(f"x{i}" for i in range(INPUTS))
        self.defaults = {name: float(v) for name, v in zip(self.variables, rng.uniform(-1, 1, INPUTS))}
        self.source = f"deep({activation}, depth={self.depth}, scale={self.scale:.4g})"

    def node_count(self) -> int:
        # a neuron: bias, a weight, a product and a sum per input, and its activation if hidden
        neurons = sum(fan_out * (3 * fan_in + 1 + (k < self.depth))
                      for k, (fan_in, fan_out) in enumerate(zip(self.sizes, self.sizes[1:])))
        return INPUTS + neurons + 3  # the target, the difference and the square

    def build(self, values: dict, requires_grad: dict | None = None, kinds: dict | None = None,
              groups: dict | None = None) -> Value:
        """The loss at input ``values``; ``groups`` as in :func:`~graphviz_core.mlp.mlp_loss`."""
        flags = requires_grad or {}
        h = [Value(float(values.get(name, self.defaults[name])), name, kind="data",
                   requires_grad=flags.get(name, True)) for name in self.variables]
        for layer, weights in enumerate(self.normal):
            hidden = layer < self.depth
            std = self.scale / math.sqrt(weights.shape[1])
            out = []
            for j, row in enumerate(weights):
                bias = Value(0.0, f"b{layer}_{j}")
                terms, members = [bias], [bias]
                for i, (z, a) in enumerate(zip(row, h)):
                    w = Value(float(z * std), f"w{layer}_{j}_{i}")
                    terms.append(w * a)
                    members += (w, terms[-1])
                while len(terms) > 1:  # pairwise sums, as mlp_loss
                    pairs = [terms[k] + terms[k + 1] for k in range(0, len(terms) - 1, 2)]
                    members += pairs
                    terms = pairs + terms[len(terms) - len(terms) % 2:]
                total = terms[0]
                if hidden:
                    total = getattr(total, self.activation)()
                    members.append(total)
                if groups is not None:
                    groups.update(dict.fromkeys(members, f"h{layer + 1}[{j}]" if hidden else "out[0]"))
                out.append(total)
            h = out
        return (h[0] - Value(TARGET, "y", kind="data")) ** 2


def layer_report(net: DeepNet, values: dict | None = None) -> list[dict]:
    """Per layer, first to last, what the engine's backward pass gives.

    Returns
    -------
    list of dict
        ``layer`` (``"h1"`` ... ``"out"``), ``grad`` (the norm of the gradient of the
        layer's output vector, ``||dL/dh||``: what reaches the layer), ``weight_grad`` (the
        norm of the gradient of its weights, ``||dL/dW||``), ``derivatives`` (each neuron's local
        derivative ``act'(z)``, the traced edge's ``local``; empty for the linear
        output) and ``mean_derivative`` (their mean, 1 for the output).

    Examples
    --------
    >>> rows = layer_report(DeepNet(depth=2, activation="sigmoid"))
    >>> all(0 < d <= 0.25 for r in rows for d in r["derivatives"])
    True
    """
    groups: dict = {}
    g = trace(net.build(values or net.defaults, groups=groups), groups=groups)
    nodes = g.nodes
    norms = layer_norms(g)
    rows = []
    for layer in range(len(net.sizes) - 1):
        hidden = layer < net.depth
        name = f"h{layer + 1}" if hidden else "out"
        grads = [nodes[n]["grad"] for n in g if not nodes[n]["op"]
                 and nodes[n]["name"].startswith(f"w{layer}_")]
        derivatives = [d["local"] for n in g if hidden and nodes[n]["op"] == net.activation
                       and nodes[n].get("group", "").startswith(f"{name}[")
                       for _, _, d in g.in_edges(n, data=True)]
        rows.append({"layer": name, "grad": norms[name][1], "weight_grad": math.sqrt(sum(x * x for x in grads)),
                     "derivatives": derivatives,
                     "mean_derivative": float(np.mean(derivatives)) if derivatives else 1.0})
    return rows
