"""The IEEE-754 primitives the op rules of :data:`~graphviz_core.engine.OPS` are written in.

Python's ``math`` raises where IEEE 754 returns ``inf`` or ``nan`` (``math.exp(1000)``,
``1 / 0.0``, ``0.0 ** -1``, ``math.sin(inf)``); these functions return what C99's
``<math.h>`` and PyTorch's float64 kernels return instead, signed zeros included
(``pow_(-0.0, -1) == -inf``). Each has a twin of the same name in
``static/explorer/ieee.mjs``: the op rules are translated to JavaScript over that
module (:mod:`graphviz_core.jsgen`), and ``tests/test_ieee.py`` holds the two alike.

Examples
--------
>>> div_(1.0, -0.0), pow_(-0.0, -1.0), pow_(-1e5, 101.0), log_(0.0)
(-inf, -inf, -inf, -inf)
"""

from __future__ import annotations

import math

__all__ = ["INF", "NAN", "isfinite_", "is_integer_", "is_odd_integer_", "exp_", "log_",
           "sqrt_", "div_", "pow_", "sin_", "cos_", "tanh_", "abs_", "ceil_"]

INF = math.inf
NAN = math.nan


def isfinite_(x: float) -> bool:
    """Neither inf nor nan (``x - x`` is 0 exactly then; faster than ``math.isfinite``)."""
    return x - x == 0.0


def is_integer_(x: float) -> bool:
    """A finite whole number."""
    return float(x).is_integer()


def is_odd_integer_(x: float) -> bool:
    """A finite odd whole number (``-3.0`` is one, ``1e300`` is not)."""
    return x % 2.0 == 1.0


def exp_(a: float) -> float:
    """``e**a``; ``inf`` where it overflows."""
    try:
        return math.exp(a)
    except OverflowError:
        return INF


def log_(a: float) -> float:
    """Natural log: ``-inf`` at ``+-0``, ``nan`` below 0."""
    if a > 0.0:
        return math.log(a)
    return -INF if a == 0.0 else NAN


def sqrt_(a: float) -> float:
    """Square root: ``sqrt_(-0.0) == -0.0``, ``nan`` below 0."""
    return math.sqrt(a) if a >= 0.0 else NAN


def div_(a: float, b: float) -> float:
    """``a / b``: signed ``inf`` for a non-zero ``a`` over ``+-0``, ``nan`` for ``0/0``."""
    try:
        return a / b
    except ZeroDivisionError:
        if a != a or a == 0.0:
            return NAN
        return math.copysign(INF, a) * math.copysign(1.0, b)


def pow_(a: float, p: float) -> float:
    """``a ** p`` as C99's ``pow``: never complex, never an exception.

    ``+-0`` to a negative power is ``inf``, signed for an odd whole exponent; a negative
    base to a fractional power is ``nan``; an overflow is ``inf``, negative for a negative
    base and an odd whole exponent; ``1 ** nan == 1`` and ``nan ** 0 == 1``.
    """
    if a == 0.0 and p < 0.0:
        return math.copysign(INF, a) if is_odd_integer_(p) else INF
    if a < 0.0 and p - p == 0.0 and not is_integer_(p) and a - a == 0.0:
        return NAN  # Python's ** would give a complex number, or raise when it is huge
    try:
        r = a ** p
    except OverflowError:
        return -INF if a < 0.0 and is_odd_integer_(p) else INF
    return r


def sin_(a: float) -> float:
    """Sine; ``nan`` for ``+-inf``."""
    return math.sin(a) if a - a == 0.0 else NAN


def cos_(a: float) -> float:
    """Cosine; ``nan`` for ``+-inf``."""
    return math.cos(a) if a - a == 0.0 else NAN


tanh_ = math.tanh
abs_ = abs


def ceil_(a: float) -> float:
    """The least whole float not below ``a``, as C's ``ceil``: ``+-inf`` and ``nan`` stay,
    and a result of zero keeps ``a``'s sign (``ceil_(-0.5) == -0.0``)."""
    if a - a != 0.0:
        return a
    c = float(math.ceil(a))
    return math.copysign(c, a) if c == 0.0 else c
