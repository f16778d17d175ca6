"""Check a gradient the way a student would: a central finite difference of the forward pass.

Backpropagation's ∂L/∂v beside ``(L(v + h) - L(v - h)) / 2h``: two more forward passes of
the same built graph, no derivative rule involved.
"""

from __future__ import annotations

import math
from typing import Mapping

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
    return (up - down) / (2 * h)


def agrees(gradient: float, difference: float, tol: float = 1e-5) -> bool:
    """Whether a gradient and a central difference agree to ``tol``, relative beyond 1.

    Examples
    --------
    >>> agrees(7.5, 7.500000000038), agrees(1.0, 0.5)
    (True, False)
    """
    if not (math.isfinite(gradient) and math.isfinite(difference)):
        return gradient == difference or (gradient != gradient and difference != difference)
    return abs(gradient - difference) <= tol * max(1.0, abs(gradient))
