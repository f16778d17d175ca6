"""Check a gradient the way a student would: a central finite difference of the forward pass.

Backpropagation's ∂L/∂v beside ``(L(v + h) - L(v - h)) / 2h``: two more forward passes of
the same built graph, no derivative rule involved.
"""

from __future__ import annotations

from typing import Mapping

from .rules import agrees, central  # the page's gradient check too (rules.py)

__all__ = ["central_difference", "agrees"]


def central_difference(expression, values: Mapping[str, float], name: str,
                       h: float = 1e-5) -> float:
    """``(L(name + h) - L(name - h)) / 2h`` for anything with ``build(values) -> Value``.

    Examples
    --------
    >>> from graphviz_core import parse
    >>> d = central_difference(parse("(w*x + b - y)**2"), {"w": 2, "x": 1.5, "b": 0.5, "y": 1}, "w")
    >>> round(d, 6)
    7.5
    """
    up = expression.build({**values, name: values[name] + h}).data
    down = expression.build({**values, name: values[name] - h}).data
    return central(up, down, h)
