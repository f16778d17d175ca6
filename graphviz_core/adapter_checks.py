"""What the adapters share: their error, their mismatch report and the comparison itself.

An adapter (:func:`~graphviz_core.from_micrograd`, :func:`~graphviz_core.from_torch`)
rebuilds a foreign graph with our engine, runs our backward pass and compares every value
and gradient with the one the foreign library computed. A disagreement is never hidden:
it is a :class:`GradientMismatch`, warned by default and raised with ``strict=True``.
"""

from __future__ import annotations

import math
import warnings
from typing import Iterable, NamedTuple

from .engine import Value, topological_order
from .trace import trace

__all__ = ["AdapterError", "GradientMismatch", "Difference", "compare_with_source"]

REL_TOL = 1e-9  # both sides compute in float64; sums over fan-out may add in another order


class AdapterError(ValueError):
    """A foreign graph that cannot be converted: an op our engine lacks (named in the
    message), a tensor that is not a scalar, an in-place op, a failing ``backward()``."""


class Difference(NamedTuple):
    """One node where our engine and the source library disagree."""

    node: str       # the node's name in our drawing (``w``, ``z3``, ``L``)
    what: str       # "value" or "gradient"
    ours: float
    theirs: float


class GradientMismatch(UserWarning):
    """Our values or gradients differ from those the source library computed.

    Warned (``warnings.warn``) by the adapters, or raised with ``strict=True``.

    Attributes
    ----------
    differences : list of Difference
        ``(node, what, ours, theirs)`` for every disagreeing node.
    """

    def __init__(self, message: str, differences: list[Difference]):
        super().__init__(message)
        self.differences = differences


def close(a: float, b: float, scale: float = 1.0) -> bool:
    """Equal within ``REL_TOL`` relative (and ``1e-12 * scale`` absolute); nan matches nan.

    Examples
    --------
    >>> close(0.1 + 0.2, 0.3), close(float("nan"), float("nan")), close(1.0, 1.001)
    (True, True, False)
    """
    if a != a or b != b:
        return a != a and b != b
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-12 * scale)


def compare_with_source(root: Value, pairs: Iterable[tuple[Value, float, float | None]],
                        library: str, strict: bool = False) -> list[Difference]:
    """Compare ``root``'s graph, after our backward pass, with the source's numbers.

    Parameters
    ----------
    root : Value
        Our root; our backward pass is run here (through :func:`~graphviz_core.trace`).
    pairs : iterable of (Value, float, float or None)
        Our node, the source's value for it, and the source's gradient (None where
        the source has none). Nodes outside ``root``'s graph are skipped. Gradients are compared where our backward pass computes
        one (a constant or a node cut off by a stop-gradient has none).
    library : str
        The source's name, for the message.
    strict : bool
        Raise the :class:`GradientMismatch` instead of warning it.

    Returns
    -------
    list of Difference
        Empty when everything agrees.
    """
    graph = trace(root)  # runs our backward pass; says which nodes it computes
    nodes = graph.nodes
    index = {v: i for i, v in enumerate(topological_order(root))}  # trace's node order
    values = [d["value"] for _, d in graph.nodes(data=True)]
    scale = max([1.0] + [abs(x) for x in values if math.isfinite(x)])
    grad_scale = max([scale] + [abs(g) for _, g in graph.nodes(data="grad") if math.isfinite(g)])
    differences = []
    for v, value, grad in pairs:
        if v not in index:
            continue  # computed but not used by the result
        node = nodes[index[v]]
        if not close(node["value"], float(value), scale):
            differences.append(Difference(node["name"], "value", node["value"], float(value)))
        if (grad is not None and node["active"]
                and not close(node["grad"], float(grad), grad_scale)):
            differences.append(Difference(node["name"], "gradient", node["grad"], float(grad)))
    if not differences:
        return []
    shown = "; ".join(f"{d.what} of {d.node}: ours {d.ours!r}, {library} {d.theirs!r}"
                      for d in differences[:5])
    more = f" (and {len(differences) - 5} more)" if len(differences) > 5 else ""
    mismatch = GradientMismatch(
        f"{len(differences)} number(s) differ from {library}'s own: {shown}{more}", differences)
    if strict:
        raise mismatch
    warnings.warn(mismatch, stacklevel=3)
    return differences
