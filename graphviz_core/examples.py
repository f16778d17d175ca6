"""The lesson examples: small typed expressions, each with starting values, that make one point.

The explorer can load each into its expression box; the lessons build their graphs from
them, so every number comes from the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .engine import Value
from .expression import gradients, parse

__all__ = ["Example", "EXAMPLES", "SEED", "example", "seed_loss", "shifted_and_scaled"]


@dataclass(frozen=True)
class Example:
    """A lesson example: a small graph that makes one point, as an expression with starting values.

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
        """Build the example's graph, with ``values`` overriding the starting ones.

        Examples
        --------
        >>> EXAMPLES["seed"].build().data
        6.25
        """
        return parse(self.source).build({**self.values, **(values or {})},
                                        {**self.requires_grad, **(requires_grad or {})},
                                        self.kinds)


EXAMPLES: dict[str, Example] = {e.slug: e for e in (
    # the seed's figure: L = (w x + b - y)^2, z1 = w x, z2 = z1 + b, z3 = z2 - y
    Example("seed", "(w*x + b - y)**2", {"w": 2.0, "x": 1.5, "b": 0.5, "y": 1.0}),
    # gradients multiply along a chain of one-input ops
    Example("chain-rule", "tanh(exp(w*x))**2", {"w": 0.5, "x": -1.0}),
    # u feeds two paths; its gradient is the sum of what comes back along both
    Example("fan-out", "u*v + sin(u)", {"u": 1.2, "v": 0.8}),
    # the forward value is u^3, but sg(u*u) is a constant to the backward pass: u^2, not 3u^2
    Example("stop-gradient", "sg(u*u)*u", {"u": 1.5}),
    # the seed loss shifted by C and scaled by k
    Example("loss-value", "k*(w*x + b - y)**2 + C",
          {"w": 2.0, "x": 1.5, "b": 0.5, "y": 1.0, "k": 1.0, "C": 0.0},
          kinds={"k": "constant", "C": "constant"},
          requires_grad={"k": False, "C": False}),
)}

SEED = EXAMPLES["seed"]


def example(slug: str) -> Example:
    """The example called ``slug`` (KeyError names the known ones).

    Examples
    --------
    >>> example("fan-out").source
    'u*v + sin(u)'
    """
    try:
        return EXAMPLES[slug]
    except KeyError:
        raise KeyError(f"unknown example {slug!r}; known: {', '.join(EXAMPLES)}") from None


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
    value, grads = gradients(EXAMPLES["loss-value"].source,
                             {**SEED.values, **values, "C": C, "k": k})
    return {"value": value, "grads": {n: grads[n] for n in ("w", "b", "x", "y")}}
