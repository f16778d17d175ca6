"""Numbers at the edges of float64, where the engine, the page's replay and PyTorch must agree.

Shared by tests/test_ieee.py, tests/test_torch.py and tests/test_tape_replay.py. Leaves drawn
from :data:`LEAVES` reach every fault: overflow (``exp(700 + 700)``, ``1e5**100``), zero
and signed zero (``u - u``, ``0 * -1``), underflow (``1e-300 * 1e-300``), every domain
fault (log and sqrt of negatives, division by zero, zero to a negative power, a negative
base to a fractional power), and inf and nan as inputs of later ops.
"""

from __future__ import annotations

import math

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
