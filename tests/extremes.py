"""Numbers at the edges of float64, where the engine, the page's replay and PyTorch must agree.

Shared by tests/test_ieee.py, tests/test_torch.py and tests/test_tape_replay.py. Leaves drawn
from :data:`LEAVES` reach every fault: overflow (``exp(700 + 700)``, ``1e5**100``), zero
and signed zero (``u - u``, ``0 * -1``), underflow (``1e-300 * 1e-300``), every domain
fault (log and sqrt of negatives, division by zero, zero to a negative power, a negative
base to a fractional power), and inf and nan as inputs of later ops.
"""

from __future__ import annotations

import math
import random

# what a slider or a typed constant can hold
LEAVES = (0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 3.0, -3.0, 1e-300, -1e-300, 700.0, -700.0,
          1e5, -1e5)
# what an op can see as an input: the leaves and what ops make of them
INPUTS = LEAVES + (710.0, -750.0, 1e300, -1e300, 5e-324, math.inf, -math.inf, math.nan)
# constant exponents (the parser allows +-100)
EXPONENTS = (2.0, 3.0, -1.0, -2.0, 0.0, 1.0, 0.5, -0.5, 1.5, 100.0, -100.0, 1 / 3, 99.0, -99.0)


def same_float(a: float, b: float, rel: float = 0.0) -> bool:
    """``a`` and ``b`` agree: both nan, or the same sign (zeros included) and within ``rel``
    relative (inf and 0 exactly)."""
    if a != a or b != b:
        return a != a and b != b
    if math.copysign(1.0, a) != math.copysign(1.0, b):
        return False
    if a == 0.0 or b == 0.0 or math.isinf(a) or math.isinf(b) or rel == 0.0:
        return a == b
    return math.isclose(a, b, rel_tol=rel)


def encode(x):
    """A float as JSON can hold it (tests/js/call_module.mjs decodes it)."""
    if isinstance(x, float):
        if x != x:
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        if x == 0.0 and math.copysign(1.0, x) < 0:
            return "-0"
    return x


def decode(x):
    """What :func:`encode` (or the JavaScript side) wrote, as a float."""
    return {"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "-0": -0.0}.get(x, x)


# --- random expressions at the edges -------------------------------------------------------

UNARY = ["exp", "log", "sqrt", "tanh", "sigmoid", "relu", "abs", "sin", "cos", "sg", "-"]
BINARY = ["+", "-", "*", "/", "**", "min", "max"]
EXPONENT_TEXTS = ["2", "3", "0.5", "-1", "-2", "1.5", "100", "-100", "99"]

# (expression, first values, values the page replays with): every disagreement ever seen
KNOWN = [
    # issue 10: (-0.0)**-1 is -inf, so L = -3 (the page said -3, the server 3)
    ("tanh(((u - u) * (-u))**-1) * u", {"u": 3.0}, {"u": 3.0}),
    # issue 10: an overflow, not "negative base to a fractional power"
    ("x**100", {"x": 1.0}, {"x": -1e5}),
    ("log(min(u, 1e-3))**relu(min(w, u))", {"u": 1.0, "w": 1.0}, {"u": 700.0, "w": 700.0}),
    # issue 10: zeros where one side gave 0.0 and the other nan or -inf
    ("(u*0)**-1 + (u - u)**0.5 + 1/(-u*0)", {"u": 1.0}, {"u": -0.0}),
    ("relu(u - u)**-1 * abs(u) + clip(u, w, w - 1)", {"u": 1.0, "w": 0.0}, {"u": -0.0, "w": 0.0}),
    ("(u*v)**(u - v) + sqrt(u - v) + log(u*u - v*v)", {"u": 1.0, "v": 1.0}, {"u": -0.0, "v": 0.0}),
]


def random_expression(rng: random.Random, names: list[str], depth: int = 0) -> str:
    """A random expression over ``names`` with every op of the language."""
    if depth > 3 or rng.random() < 0.25:
        if rng.random() < 0.8:
            return rng.choice(names)
        return f"{rng.uniform(-2, 2):.3g}" if rng.random() < 0.7 else repr(abs(rng.choice(LEAVES)))
    roll = rng.random()
    a = random_expression(rng, names, depth + 1)
    if roll < 0.35:
        f = rng.choice(UNARY)
        return f"-({a})" if f == "-" else f"{f}({a})"
    b = random_expression(rng, names, depth + 1)
    if roll < 0.9:
        op = rng.choice(BINARY)
        if op == "**":
            return f"({a})**{rng.choice(EXPONENT_TEXTS + ['(' + b + ')'])}"
        return f"{op}({a}, {b})" if op in ("min", "max") else f"({a}) {op} ({b})"
    c = random_expression(rng, names, depth + 1)
    return f"clip({a}, {b}, {c})"


def extreme_leaf(rng: random.Random) -> float:
    """Half the time one of :data:`LEAVES`, else a number in [-2, 2]."""
    return rng.choice(LEAVES) if rng.random() < 0.5 else rng.uniform(-2, 2)


def extreme_cases(count: int, seed: int = 7):
    """``count`` random ``(expression, first values, second values, requires_grad off)``:
    every op, fan-out, constant and variable exponents, leaves often from :data:`LEAVES`."""
    rng = random.Random(seed)
    while count:
        names = ["u", "v", "w"][: rng.randint(1, 3)]
        text = random_expression(rng, names)
        # reuse a variable on purpose: fan-out in most graphs
        text = f"({text}) * {rng.choice(names)} + {rng.choice(names)}"
        first = {n: extreme_leaf(rng) for n in names}
        second = {n: extreme_leaf(rng) for n in names}
        off = {n: False for n in names if rng.random() < 0.2}
        yield text, first, second, off
        count -= 1
