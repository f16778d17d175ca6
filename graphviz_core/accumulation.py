"""Gradients accumulate: PyTorch's ``.grad`` buffers, and accumulation over micro-batches.

Our engine's :meth:`~graphviz_core.engine.Value.backward` starts every pass from zero;
PyTorch instead *adds* each backward pass into the leaves' ``.grad`` until
``zero_grad()`` clears them. :class:`GradBuffer` keeps that buffer beside the engine, and
:func:`accumulate` runs gradient accumulation over micro-batches with the engine's
gradients, to set beside one big batch.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from .rules import accumulated
from .training import regression_loss

__all__ = ["GradBuffer", "accumulate"]


class GradBuffer:
    """Each leaf's ``.grad`` as PyTorch keeps it: ``backward`` adds, ``zero_grad`` clears.

    Attributes
    ----------
    grad : dict
        Leaf name -> accumulated gradient (None: cleared, as ``zero_grad()`` leaves it).
    calls : int
        Backward passes added since the last ``zero_grad``.

    Examples
    --------
    >>> buffer = GradBuffer()
    >>> buffer.backward({"w": 7.5, "b": 5.0}); buffer.backward({"w": 7.5, "b": 5.0})
    >>> buffer.grad, buffer.calls
    ({'w': 15.0, 'b': 10.0}, 2)
    >>> buffer.zero_grad(); buffer.grad
    {'w': None, 'b': None}
    """

    def __init__(self):
        self.grad: dict[str, float | None] = {}
        self.calls = 0

    def backward(self, gradients: Mapping[str, float | None]) -> None:
        """Add one backward pass's gradients (``.grad += ...``; a cleared buffer starts anew;
        a gradient None - not computed - leaves its buffer as it is)."""
        for name, g in gradients.items():
            # the page's rule too
            self.grad[name] = accumulated(self.grad.get(name), None if g is None else float(g))
        self.calls += 1

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every buffer: to None (PyTorch's default since 2.0) or to 0.0."""
        self.grad = {name: None if set_to_none else 0.0 for name in self.grad}
        self.calls = 0


def accumulate(params, xs, ys, micro_batches: int, average: bool = True) -> dict:
    """Gradient accumulation of the mean squared error over ``micro_batches`` micro-batches.

    The points are split into equal consecutive micro-batches; each micro-batch's loss is
    its mean squared error, divided by ``micro_batches`` when ``average`` (the loss a
    training loop backpropagates: k·L with k = 1/K); its gradient, by the engine, is added
    to a :class:`GradBuffer`. The big batch is one backward pass over every point.

    Returns
    -------
    dict
        ``rows`` (per micro-batch: ``points``, ``loss``, ``grad`` [d/dw, d/db], ``running``
        .grad after it), ``accumulated``, ``big`` (the big batch's gradient), ``big_loss``
        and ``difference`` (largest absolute difference of accumulated and big).

    Examples
    --------
    >>> xs, ys = [0.0, 1.0, 2.0, 3.0], [1.0, 2.0, 2.0, 4.0]
    >>> r = accumulate([1.0, 0.5], xs, ys, 2)
    >>> r["accumulated"].tolist() == r["big"].tolist()
    True
    >>> (accumulate([1.0, 0.5], xs, ys, 2, average=False)["accumulated"] / r["big"]).tolist()
    [2.0, 2.0]
    """
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    if micro_batches < 1 or len(xs) % micro_batches:
        raise ValueError(f"{len(xs)} points do not split into {micro_batches} equal micro-batches")
    buffer = GradBuffer()
    rows = []
    scale = 1.0 / micro_batches if average else 1.0
    for points in np.split(np.arange(len(xs)), micro_batches):
        loss, grad = regression_loss(params, xs[points], ys[points], k=scale)
        buffer.backward({"w": grad[0], "b": grad[1]})
        rows.append({"points": points.tolist(), "loss": loss, "grad": grad,
                     "running": np.array([buffer.grad["w"], buffer.grad["b"]])})
    big_loss, big = regression_loss(params, xs, ys)
    accumulated = np.array([buffer.grad["w"], buffer.grad["b"]])
    return {"rows": rows, "accumulated": accumulated, "big": big, "big_loss": big_loss,
            "difference": float(np.max(np.abs(accumulated - big)))}
