"""The graphs each lesson needs, built with the engine so every number comes from it.

Most scenes are typed expressions (:data:`SCENES`): the explorer can load them into
its expression box. The rest (PPO beside REINFORCE, a logistic model over pixels,
an MLP) are builders that return :class:`~graphviz_core.engine.Value` roots.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from .engine import Value, clip, minimum, stop_gradient
from .engine import topological_order
from .expression import ExpressionError, parse

__all__ = [
    "Scene", "SCENES", "SEED", "scene", "seed_loss", "shifted_and_scaled", "ppo_clip_loss",
    "reinforce_loss", "ppo_case", "logistic_loss", "glyphs", "mlp_loss", "ScalarMLP",
    "builder_from_text",
]


@dataclass(frozen=True)
class Scene:
    """A small graph that makes one point, as an expression with starting values.

    Attributes
    ----------
    slug : str
    source : str
        The expression, in the language of :func:`~graphviz_core.expression.parse`.
    values : dict
        A starting value for every variable.
    kinds : dict
        Roles that differ from :func:`~graphviz_core.expression.default_kind`.
    requires_grad : dict
        Leaves that start with ``requires_grad=False``.
    """

    slug: str
    source: str
    values: dict
    kinds: dict = field(default_factory=dict)
    requires_grad: dict = field(default_factory=dict)

    def build(self, values: dict | None = None, requires_grad: dict | None = None) -> Value:
        """Build the scene's graph, with ``values`` overriding the starting ones.

        Examples
        --------
        >>> SCENES["seed"].build().data
        6.25
        """
        return parse(self.source).build({**self.values, **(values or {})},
                                        {**self.requires_grad, **(requires_grad or {})},
                                        self.kinds)


SCENES: dict[str, Scene] = {s.slug: s for s in (
    # the seed's figure: L = (w x + b - y)^2, z1 = w x, z2 = z1 + b, z3 = z2 - y
    Scene("seed", "(w*x + b - y)**2", {"w": 2.0, "x": 1.5, "b": 0.5, "y": 1.0}),
    # gradients multiply along a chain of one-input ops
    Scene("chain-rule", "tanh(exp(w*x))**2", {"w": 0.5, "x": -1.0}),
    # u feeds two paths; its gradient is the sum of what comes back along both
    Scene("fan-out", "u*v + sin(u)", {"u": 1.2, "v": 0.8}),
    # the forward value is u^3, but sg(u*u) is a constant to the backward pass: u^2, not 3u^2
    Scene("stop-gradient", "sg(u*u)*u", {"u": 1.5}),
    # the seed loss shifted by C and scaled by k
    Scene("loss-value", "k*(w*x + b - y)**2 + C",
          {"w": 2.0, "x": 1.5, "b": 0.5, "y": 1.0, "k": 1.0, "C": 0.0},
          kinds={"k": "constant", "C": "constant"},
          requires_grad={"k": False, "C": False}),
)}

SEED = SCENES["seed"]


def scene(slug: str) -> Scene:
    """The scene called ``slug`` (KeyError names the known ones).

    Examples
    --------
    >>> scene("fan-out").source
    'u*v + sin(u)'
    """
    try:
        return SCENES[slug]
    except KeyError:
        raise KeyError(f"unknown scene {slug!r}; known: {', '.join(SCENES)}") from None


def seed_loss(w: float = 2.0, x: float = 1.5, b: float = 0.5, y: float = 1.0) -> Value:
    """The seed's ``L = (w*x + b - y)**2``, with w, b parameters and x, y data.

    Examples
    --------
    >>> L = seed_loss(); _ = L.backward(); L.data
    6.25
    """
    return SEED.build({"w": w, "x": x, "b": b, "y": y})


def shifted_and_scaled(values: dict, C: float = 0.0, k: float = 1.0) -> dict:
    """Value and parameter gradients of ``k*L + C`` for the seed loss ``L``.

    Returns
    -------
    dict
        ``{"value": float, "grads": {"w": ..., "b": ..., "x": ..., "y": ...}}``.

    Examples
    --------
    >>> base = shifted_and_scaled(SEED.values)
    >>> shifted_and_scaled(SEED.values, C=100.0)["grads"] == base["grads"]
    True
    """
    expression = parse(SCENES["loss-value"].source)
    root, leaves = expression._build({**SEED.values, **values, "C": C, "k": k},
                                     {"C": False, "k": False})
    root.backward()
    return {"value": root.data,
            "grads": {n: leaves[n].grad for n in ("w", "b", "x", "y")}}


# --- PPO and REINFORCE ---------------------------------------------------------------

def ppo_clip_loss(lp: float, lpo: float, A: float, eps: float) -> tuple[Value, dict[str, Value]]:
    """The PPO clipped objective as a loss: ``-min(rho*A, clip(rho, 1-eps, 1+eps)*A)``.

    ``rho = exp(lp - lpo)`` is the probability ratio pi_theta / pi_old, ``lp`` the
    log-probability under the current policy (the parameter), ``lpo`` under the
    old one (data), ``A`` the advantage (data).

    Returns
    -------
    root : Value
    leaves : dict of str to Value
        ``lp``, ``lpo``, ``A``, ``eps`` and the intermediates ``rho``, ``clipped``.

    Examples
    --------
    >>> L, leaves = ppo_clip_loss(lp=-0.9, lpo=-1.0, A=2.0, eps=0.2)
    >>> _ = L.backward(); round(leaves["lp"].grad, 6)
    -2.210342
    """
    lp_, lpo_ = Value(lp, "lp"), Value(lpo, "lpo", requires_grad=False, kind="data")
    A_ = Value(A, "A", requires_grad=False, kind="data")
    eps_ = Value(eps, "eps", requires_grad=False, kind="constant")
    rho = (lp_ - lpo_).exp()
    rho.name = "rho"
    clipped = clip(rho, 1 - eps_, 1 + eps_)
    clipped.name = "clip"
    objective = minimum(rho * A_, clipped * A_)
    objective.name = "min"
    loss = -objective
    loss.name = "L_PPO"
    return loss, {"lp": lp_, "lpo": lpo_, "A": A_, "eps": eps_, "rho": rho, "clipped": clipped}


def ppo_case(lp: float, lpo: float, A: float, eps: float) -> dict:
    """Which branch of PPO's min is taken, and the detached REINFORCE weight that matches it.

    Returns
    -------
    dict
        ``rho``, ``clipped`` (True when the clipped term is the smaller one and it
        differs from the unclipped one, so no gradient flows), ``w`` (``rho`` or
        ``0``) and ``reason`` (a short English phrase).

    Examples
    --------
    >>> ppo_case(lp=0.5, lpo=0.0, A=1.0, eps=0.2)["clipped"]
    True
    """
    rho = math.exp(lp - lpo)
    lo, hi = 1 - eps, 1 + eps
    clipped_rho = min(max(rho, lo), hi)
    # min(rho*A, clip(rho)*A) takes the clipped term only when it is strictly smaller
    clipped = clipped_rho != rho and clipped_rho * A < rho * A
    if not clipped:
        reason = ("rho lies inside [1-eps, 1+eps]" if lo <= rho <= hi else
                  "rho is outside [1-eps, 1+eps], but the unclipped term is the smaller one")
    else:
        reason = ("rho > 1+eps with A > 0: the clipped term is smaller" if rho > hi else
                  "rho < 1-eps with A < 0: the clipped term is smaller")
    return {"rho": rho, "clipped": clipped, "w": 0.0 if clipped else rho, "reason": reason}


def reinforce_loss(lp: float, lpo: float, A: float, eps: float) -> tuple[Value, dict[str, Value]]:
    """REINFORCE with a detached weight: ``-sg(w) * A * lp``, the same gradient as PPO.

    ``w = rho * m``, where ``m`` is 1 when PPO's gradient flows and 0 when clipping
    stops it (see :func:`ppo_case`); ``m`` is computed from the forward values,
    as implementations do under ``no_grad``, and enters as a constant.

    Examples
    --------
    >>> L, leaves = reinforce_loss(lp=-0.9, lpo=-1.0, A=2.0, eps=0.2)
    >>> _ = L.backward(); round(leaves["lp"].grad, 6)
    -2.210342
    """
    case = ppo_case(lp, lpo, A, eps)
    lp_, lpo_ = Value(lp, "lp"), Value(lpo, "lpo", requires_grad=False, kind="data")
    A_ = Value(A, "A", requires_grad=False, kind="data")
    mask = Value(0.0 if case["clipped"] else 1.0, "m", requires_grad=False, kind="constant")
    rho = (lp_ - lpo_).exp()
    rho.name = "rho"
    weight = stop_gradient(rho * mask)
    weight.name = "w"
    loss = -(weight * A_ * lp_)
    loss.name = "L_RF"
    return loss, {"lp": lp_, "lpo": lpo_, "A": A_, "m": mask, "rho": rho, "w": weight}


# --- a logistic model over small images -------------------------------------------------

_GLYPHS = {
    "T": ["########", "########", "...##...", "...##...", "...##...", "...##...", "...##...",
          "...##..."],
    "L": ["##......", "##......", "##......", "##......", "##......", "##......", "########",
          "########"],
    "O": [".######.", "##....##", "##....##", "##....##", "##....##", "##....##", "##....##",
          ".######."],
    "X": ["##....##", ".##..##.", "..####..", "...##...", "...##...", "..####..", ".##..##.",
          "##....##"],
}


def glyphs() -> dict[str, np.ndarray]:
    """Four 8x8 glyphs (T, L, O, X) as float arrays in [0, 1], made in numpy.

    Examples
    --------
    >>> glyphs()["T"].shape
    (8, 8)
    """
    return {k: np.array([[1.0 if c == "#" else 0.0 for c in row] for row in rows])
            for k, rows in _GLYPHS.items()}


def logistic_loss(weights: np.ndarray, bias: float, pixels: np.ndarray,
                  label: int) -> tuple[Value, list[Value]]:
    """Binary cross-entropy of ``sigmoid(sum(w * x) + b)`` for one image, built with the engine.

    The pixels are leaves that require a gradient, so ``dL/dx`` (saliency, FGSM)
    comes from the backward pass like any other gradient.

    Returns
    -------
    root : Value
    pixel_leaves : list of Value
        In the row-major order of ``pixels``.

    Examples
    --------
    >>> L, xs = logistic_loss(np.zeros(4), 0.0, np.ones(4), 1)
    >>> round(L.data, 6)  # -log(sigmoid(0))
    0.693147
    """
    flat_w = np.asarray(weights, dtype=float).ravel()
    flat_x = np.asarray(pixels, dtype=float).ravel()
    xs = [Value(v, f"x{i}", kind="data") for i, v in enumerate(flat_x)]
    logit = Value(bias, "b")
    for i, (w, x) in enumerate(zip(flat_w, xs)):
        logit = logit + Value(w, f"w{i}") * x
    p = logit.sigmoid()
    p.name = "p"
    loss = -p.log() if label == 1 else -(1 - p).log()
    loss.name = "L"
    return loss, xs


# --- a small MLP -------------------------------------------------------------------------

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


_MLP_CALL = re.compile(r"\s*mlp\s*\(\s*(\d+(?:\s*,\s*\d+)+)\s*\)\s*\Z")
# Traced MLPs above GROUP_ABOVE nodes are drawn grouped, a neuron as one node (ungrouped,
# 11,586 nodes cost 7.7 s of layout and 13 MB of JSON). MLP_MAX_NODES caps the work of one
# scene (build + trace + group + layout ~0.6 s at 11,586 nodes, see bench/README.md);
# MLP_MAX_DRAWN caps what is drawn, grouped (every input and the loss's nodes stay single).
GROUP_ABOVE = 1500
MLP_MAX_NODES = 20_000
MLP_MAX_DRAWN = 1500


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
        When the sizes are zero, the graph would exceed ``MLP_MAX_NODES`` nodes, or its
        drawing ``MLP_MAX_DRAWN`` nodes.

    Examples
    --------
    >>> builder_from_text("mlp(2, 16, 16, 1)").node_count()
    982
    >>> builder_from_text("w*x") is None
    True
    """
    match = _MLP_CALL.match(text) if isinstance(text, str) and len(text) < 200 else None
    if match is None:
        return None
    sizes = [int(n) for n in match.group(1).split(",")]
    if len(sizes) < 2 or min(sizes) < 1 or max(sizes) > 1000:
        raise ExpressionError("mlp(n_in, h1, ..., n_out) takes two or more sizes from 1 to 1000",
                              0)
    net = ScalarMLP(sizes[0], tuple(sizes[1:-1]), sizes[-1])
    if net.node_count() > MLP_MAX_NODES:
        raise ExpressionError(f"mlp{tuple(sizes)} would have {net.node_count():,} nodes; "
                              f"at most {MLP_MAX_NODES:,} are drawn", 0)
    if net.drawn_count() > MLP_MAX_DRAWN:
        raise ExpressionError(f"mlp{tuple(sizes)} would draw {net.drawn_count():,} nodes even "
                              f"with a node per neuron; at most {MLP_MAX_DRAWN:,} are drawn", 0)
    return net
