"""A logistic model over small images: four 8x8 glyph bitmaps and its loss, built with the engine."""

from __future__ import annotations

import numpy as np

from .engine import Value

__all__ = ["glyphs", "logistic_loss"]

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
