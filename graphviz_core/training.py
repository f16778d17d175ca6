"""Small numeric experiments for the lessons: descent paths, value-based rules, precision.

Everything here is plain numpy plus the engine (so every gradient comes from a
backward pass), with no UI imports. The functions answer the seed's questions
with numbers: does gradient descent on ``L`` and on ``L + C`` take the same path
(yes, bit for bit), what do a plateau scheduler and early stopping do with the
two (different things), what does float16 make of ``L + C`` (it loses ``L``),
and how do a logistic classifier's input gradients move its prediction (FGSM).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

import numpy as np

from .engine import Value
from .rules import below, descent_step, first_below, plateau_step  # once for server and page

__all__ = [
    "regression_data", "regression_loss", "regression_graph", "Trajectory", "gradient_descent", "PlateauScheduler",
    "ThresholdStopper", "first_below", "seed_loss_in_dtype", "PRECISIONS", "precision_table",
    "logged_drop",
    "glyph_dataset", "train_logistic", "predict", "input_gradient", "fgsm",
]

ValueAndGrad = Callable[[np.ndarray], tuple[float, np.ndarray]]


# --- the seed loss over a handful of points ---------------------------------------------------

def regression_data() -> tuple[np.ndarray, np.ndarray]:
    """Six fixed points ``(x_i, y_i)`` near the line ``y = 1.5 x - 0.5``.

    Returns
    -------
    xs, ys : numpy.ndarray
        Shape ``(6,)`` each; the same on every call (no random state).

    Examples
    --------
    >>> xs, ys = regression_data()
    >>> xs.shape, float(xs[0]), float(ys[0])
    ((6,), -1.0, -2.1)
    """
    xs = np.array([-1.0, -0.5, 0.0, 0.5, 1.0, 1.5])
    noise = np.array([-0.1, 0.15, -0.05, 0.1, -0.1, 0.05])
    return xs, 1.5 * xs - 0.5 + noise


def regression_loss(params, xs, ys, C: float = 0.0, k: float = 1.0) -> tuple[float, np.ndarray]:
    """``k * mean_i (w x_i + b - y_i)^2 + C`` and its gradient in ``(w, b)``, by the engine.

    The loss is built as a graph of :class:`~graphviz_core.engine.Value` s and
    differentiated by its backward pass, so the gradient is what backpropagation
    gives, not a formula typed by hand. ``C`` and ``k`` are constant leaves.

    Parameters
    ----------
    params : array-like of 2 floats
        ``(w, b)``.
    xs, ys : array-like
        The data points.
    C : float, default 0
        A constant added to the loss.
    k : float, default 1
        A constant factor of the loss.

    Returns
    -------
    value : float
    grad : numpy.ndarray
        ``[dL/dw, dL/db]``.

    Examples
    --------
    >>> value, grad = regression_loss([2.0, 0.5], [1.5], [1.0])
    >>> value, grad.tolist()
    (6.25, [7.5, 5.0])
    >>> regression_loss([2.0, 0.5], [1.5], [1.0], C=100.0)[1].tolist()
    [7.5, 5.0]
    """
    loss, w, b = regression_graph(params, xs, ys, C, k)
    loss.backward()
    return loss.data, np.array([w.grad, b.grad])


def regression_graph(params, xs, ys, C: float = 0.0, k: float = 1.0) -> tuple[Value, Value, Value]:
    """The graph :func:`regression_loss` differentiates: ``k * mean_i (w x_i + b - y_i)^2 + C``
    (``k`` only when not 1, ``C`` only when not 0), and its leaves ``w`` and ``b``.

    A page with no server replays its tape (:func:`~graphviz_core.tape.to_tape`) for a
    descent of its own, with the same numbers.

    Examples
    --------
    >>> loss, w, b = regression_graph([2.0, 0.5], [1.5], [1.0], C=3.0)
    >>> loss.data, w.name, b.name
    (9.25, 'w', 'b')
    """
    w = Value(float(params[0]), "w")
    b = Value(float(params[1]), "b")
    total = None
    for x, y in zip(xs, ys):
        term = (w * Value(float(x), "x", False, "data") + b -
                Value(float(y), "y", False, "data")) ** 2
        total = term if total is None else total + term
    loss = total * Value(1.0 / len(xs), "1/n", False, "constant")
    if k != 1.0:
        loss = Value(float(k), "k", False, "constant") * loss
    if C != 0.0:
        loss = loss + Value(float(C), "C", False, "constant")
    return loss, w, b


# --- gradient descent, with optional value-based rules ---------------------------------------

@dataclass(frozen=True)
class Trajectory:
    """One run of gradient descent.

    Attributes
    ----------
    params : numpy.ndarray
        Shape ``(n + 1, d)``: the start, then the parameters after each step.
    losses : numpy.ndarray
        Shape ``(n + 1,)``: the loss at each row of ``params``.
    grads : numpy.ndarray
        Shape ``(n + 1, d)``: the gradient at each row of ``params``.
    lrs : numpy.ndarray
        Shape ``(n,)``: the learning rate each step used.
    stopped : int or None
        The step at which an early-stopping rule ended the run, else None.
    """

    params: np.ndarray
    losses: np.ndarray
    grads: np.ndarray
    lrs: np.ndarray
    stopped: int | None = None


def gradient_descent(value_and_grad: ValueAndGrad, start, lr: float, steps: int,
                     scheduler: "PlateauScheduler | None" = None,
                     stopper: "ThresholdStopper | None" = None) -> Trajectory:
    """Run ``theta <- theta - lr * grad`` for ``steps`` steps from ``start``.

    Parameters
    ----------
    value_and_grad : callable
        ``theta -> (loss, gradient)``.
    start : array-like
    lr : float
        The (initial) learning rate.
    steps : int
    scheduler : PlateauScheduler, optional
        A fresh scheduler: it reads each loss and may lower the learning rate.
    stopper : ThresholdStopper, optional
        Ends the run when it says so (the rest of the arrays are then shorter).

    Returns
    -------
    Trajectory

    Examples
    --------
    >>> xs, ys = regression_data()
    >>> f = lambda p: regression_loss(p, xs, ys)
    >>> g = lambda p: regression_loss(p, xs, ys, C=100.0)
    >>> a = gradient_descent(f, [0.0, 0.0], 0.1, 20)
    >>> b = gradient_descent(g, [0.0, 0.0], 0.1, 20)
    >>> bool(np.array_equal(a.params, b.params))
    True
    >>> bool(a.losses[-1] < a.losses[0])
    True
    """
    theta = np.array(start, dtype=float)
    params, losses, grads, lrs = [theta.copy()], [], [], []
    stopped = None
    value, grad = value_and_grad(theta)
    losses.append(value)
    grads.append(grad)
    for step in range(steps):
        if stopper is not None and stopper.should_stop(value):
            stopped = step
            break
        rate = scheduler.step(value, lr) if scheduler is not None else lr
        lrs.append(rate)
        theta = descent_step(theta, rate, grad)  # the page's step too (rules.py)
        value, grad = value_and_grad(theta)
        params.append(theta.copy())
        losses.append(value)
        grads.append(grad)
    return Trajectory(np.array(params), np.array(losses), np.array(grads), np.array(lrs), stopped)


class PlateauScheduler:
    """Lower the learning rate when the loss stops improving, as PyTorch's ReduceLROnPlateau.

    A loss counts as an improvement when it is below ``best * (1 - threshold)``
    (PyTorch's default ``threshold_mode="rel"``, for a positive best value): the bar is
    relative to the best value so far, so adding a constant to the loss changes the
    decisions. The defaults are PyTorch's.

    Parameters
    ----------
    factor : float, default 0.1
        The learning rate is multiplied by this on a plateau.
    patience : int, default 10
        How many steps without improvement are tolerated.
    threshold : float, default 1e-4
        Relative improvement that counts.

    Attributes
    ----------
    reductions : list of int
        The steps at which the rate was lowered.

    Examples
    --------
    >>> s = PlateauScheduler(factor=0.5, patience=1, threshold=0.01)
    >>> [s.step(v, 1.0) for v in (10.0, 9.0, 8.99, 8.98)]
    [1.0, 1.0, 1.0, 0.5]
    >>> s.reductions
    [3]
    """

    def __init__(self, factor: float = 0.1, patience: int = 10, threshold: float = 1e-4):
        self.factor, self.patience, self.threshold = factor, patience, threshold
        self.best: float | None = None  # the best loss so far (None before the first)
        self.bad = 0
        self.count = 0
        self.scale = 1.0
        self.reductions: list[int] = []

    def step(self, loss: float, lr: float) -> float:
        """Read one loss; return the learning rate to use (``lr`` times the cuts so far)."""
        # the page's rule too (rules.py): improvement below best * (1 - threshold), patience
        self.best, self.bad, cut = plateau_step(self.best, self.bad, loss, self.patience,
                                                self.threshold)
        if cut:
            self.scale *= self.factor
            self.reductions.append(self.count)
        self.count += 1
        return lr * self.scale


class ThresholdStopper:
    """Stop when the loss falls below a fixed threshold.

    Examples
    --------
    >>> ThresholdStopper(0.1).should_stop(0.05), ThresholdStopper(0.1).should_stop(100.05)
    (True, False)
    """

    def __init__(self, threshold: float):
        self.threshold = threshold

    def should_stop(self, loss: float) -> bool:
        return below(loss, self.threshold)  # the page's rule too (rules.py)


# --- precision -----------------------------------------------------------------------------------

PRECISIONS = ("float16", "float32", "float64")


def seed_loss_in_dtype(values: dict, C: float, dtype) -> dict:
    """The seed loss ``L = (w x + b - y)^2`` and ``L + C``, forward and backward, in ``dtype``.

    Every operation rounds to ``dtype`` (numpy scalars), as a mixed-precision run
    would. The backward pass of ``L + C`` starts with ``1`` at the ``+ C`` node
    and meets the same operations as that of ``L``, so its gradients are the same
    numbers in every precision; the *values* are not.

    Returns
    -------
    dict
        ``L``, ``LC`` (= L + C), ``recovered`` (= (L + C) - C), ``grad`` and
        ``grad_shifted`` (``[dL/dw, dL/db]`` through each graph), as Python floats.

    Examples
    --------
    >>> v = {"w": 2.0, "x": 1.5, "b": 0.5, "y": 1.0}
    >>> r = seed_loss_in_dtype(v, 1000.0, np.float16)
    >>> r["L"], r["LC"], r["recovered"]
    (6.25, 1006.0, 6.0)
    >>> r["grad"] == r["grad_shifted"]
    True
    """
    t = np.dtype(dtype).type
    w, x, b, y = (t(values[k]) for k in ("w", "x", "b", "y"))
    c = t(C)
    z1 = t(w * x)
    z2 = t(z1 + b)
    z3 = t(z2 - y)
    L = t(z3 * z3)
    LC = t(L + c)
    recovered = t(LC - c)

    def backward(seed):
        dz3 = t(seed * t(t(2) * z3))
        return [float(t(dz3 * x)), float(dz3)]

    return {"L": float(L), "LC": float(LC), "recovered": float(recovered),
            "grad": backward(t(1)), "grad_shifted": backward(t(t(1) * t(1)))}


def precision_table(values: dict, C: float) -> list[dict]:
    """:func:`seed_loss_in_dtype` in float16, float32 and float64, beside the exact answer.

    The exact loss is computed with :class:`fractions.Fraction` from the inputs
    as float64 holds them; ``error`` is ``recovered - exact`` (what is left of
    ``L`` after going through ``L + C``).

    Examples
    --------
    >>> rows = precision_table({"w": 2.0, "x": 1.5, "b": 0.5, "y": 1.0}, 1000.0)
    >>> [r["dtype"] for r in rows], [r["error"] for r in rows]
    (['float16', 'float32', 'float64'], [-0.25, 0.0, 0.0])
    """
    w, x, b, y = (Fraction(float(values[k])) for k in ("w", "x", "b", "y"))
    exact = (w * x + b - y) ** 2
    rows = []
    for name in PRECISIONS:
        r = seed_loss_in_dtype(values, C, np.dtype(name))
        r["dtype"] = name
        r["exact"] = float(exact)
        r["error"] = float(Fraction(r["recovered"]) - exact)
        r["value_error"] = float(Fraction(r["L"]) - exact)
        rows.append(r)
    return rows


def logged_drop(values: dict, C: float, lr: float, dtype) -> dict:
    """One descent step on the seed loss in ``dtype``: how much L fell, and what L + C shows.

    The step uses the gradient computed in ``dtype`` (identical for L and L + C);
    the drop is read from the logged values before and after.

    Returns
    -------
    dict
        ``drop`` (of L) and ``drop_shifted`` (of L + C), as Python floats.

    Examples
    --------
    >>> v = {"w": 2.0, "x": 1.5, "b": 0.5, "y": 1.0}
    >>> r = logged_drop(v, 1000.0, 0.01, np.float16)
    >>> r["drop"] > 0, r["drop_shifted"] == r["drop"]
    (True, False)
    """
    t = np.dtype(dtype).type
    before = seed_loss_in_dtype(values, C, dtype)
    gw, gb = before["grad"]
    after_values = {**values, "w": float(t(t(values["w"]) - t(t(lr) * t(gw)))),
                    "b": float(t(t(values["b"]) - t(t(lr) * t(gb))))}
    after = seed_loss_in_dtype(after_values, C, dtype)
    return {"drop": float(t(t(before["L"]) - t(after["L"]))),
            "drop_shifted": float(t(t(before["LC"]) - t(after["LC"])))}


# --- a logistic classifier over 8x8 glyphs ---------------------------------------------------

def glyph_dataset(images: dict, positive: str, negative: str, copies: int = 24,
                  noise: float = 0.15, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Noisy copies of two glyphs as a training set (label 1 for ``positive``).

    Returns
    -------
    X : numpy.ndarray
        Shape ``(2 * copies, 64)``, values clipped to [0, 1].
    labels : numpy.ndarray
        Shape ``(2 * copies,)``.

    Examples
    --------
    >>> from graphviz_core.glyphs import glyphs
    >>> X, t = glyph_dataset(glyphs(), "T", "L", copies=3)
    >>> X.shape, t.tolist()
    ((6, 64), [1.0, 1.0, 1.0, 0.0, 0.0, 0.0])
    """
    rng = np.random.default_rng(seed)
    rows, labels = [], []
    for name, label in ((positive, 1.0), (negative, 0.0)):
        base = np.asarray(images[name], dtype=float).ravel()
        for _ in range(copies):
            rows.append(np.clip(base + rng.normal(0.0, noise, base.size), 0.0, 1.0))
            labels.append(label)
    return np.array(rows), np.array(labels)


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=float)))


def train_logistic(X: np.ndarray, labels: np.ndarray, steps: int = 300, lr: float = 0.5,
                   l2: float = 0.01) -> tuple[np.ndarray, float]:
    """Fit ``p = sigmoid(X @ w + b)`` by full-batch gradient descent on cross-entropy.

    Starts from zeros, so the result is the same on every run.

    Examples
    --------
    >>> from graphviz_core.glyphs import glyphs
    >>> X, t = glyph_dataset(glyphs(), "T", "L")
    >>> w, b = train_logistic(X, t)
    >>> bool(np.all((predict(w, b, X) > 0.5) == (t == 1)))
    True
    """
    w = np.zeros(X.shape[1])
    b = 0.0
    n = len(labels)
    for _ in range(steps):
        err = _sigmoid(X @ w + b) - labels
        w -= lr * (X.T @ err / n + l2 * w)
        b -= lr * float(err.mean())
    return w, b


def predict(weights, bias: float, pixels) -> np.ndarray | float:
    """``sigmoid(pixels . weights + bias)``: the probability of the positive class.

    Examples
    --------
    >>> float(predict(np.zeros(4), 0.0, np.ones(4)))
    0.5
    """
    flat = np.asarray(pixels, dtype=float)
    flat = flat.reshape(-1, np.size(weights)) if flat.size != np.size(weights) else flat.ravel()
    return _sigmoid(flat @ np.ravel(weights) + bias)


def input_gradient(weights, bias: float, pixels, label: int) -> tuple[float, np.ndarray]:
    """Loss and ``dL/dx`` for one image, from the engine's backward pass.

    Returns
    -------
    loss : float
    grad : numpy.ndarray
        Same shape as ``pixels``.

    Examples
    --------
    >>> loss, g = input_gradient(np.full(4, 2.0), 0.0, np.zeros(4), 1)
    >>> g.tolist()  # (p - 1) * w with p = 0.5
    [-1.0, -1.0, -1.0, -1.0]
    """
    from .glyphs import logistic_loss

    pixels = np.asarray(pixels, dtype=float)
    loss, leaves = logistic_loss(weights, bias, pixels, label)
    loss.backward()
    return loss.data, np.array([v.grad for v in leaves]).reshape(pixels.shape)


def fgsm(pixels, grad, eps: float) -> np.ndarray:
    """The fast gradient sign step ``clip(x + eps * sign(dL/dx), 0, 1)``.

    Examples
    --------
    >>> fgsm(np.array([0.5, 0.0, 1.0]), np.array([1.0, -2.0, 3.0]), 0.1).tolist()
    [0.6, 0.0, 1.0]
    """
    return np.clip(np.asarray(pixels, dtype=float) + eps * np.sign(grad), 0.0, 1.0)
