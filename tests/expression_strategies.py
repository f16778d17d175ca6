"""Hypothesis strategies for expressions in the language of ``graphviz_core.expression.parse``.

Shared by the finite-difference tests (test_expression.py) and the PyTorch comparison
(test_torch.py). Expressions are built so that most points are smooth and finite:
``log`` and ``sqrt`` only ever see ``exp(...)`` or ``(...)**2 + 1``, denominators are
``(...)**2 + 1``, fractional and variable exponents get a positive base. Kinks (relu,
abs, min, max, clip) are left in: tests skip points where a perturbation changes a
branch (see :func:`branch_signature`).
"""

from __future__ import annotations

import math
import re
import struct

from hypothesis import strategies as st

from graphviz_core.engine import OPS, Value, blocks_gradient, topological_order
from graphviz_core.expression import FUNCTIONS

VARIABLES = ("w", "x", "b", "y")

CONSTANTS = st.sampled_from(["0.5", "1.5", "2", "3", "0.25", "1"])


# (template, number of sub-expressions); sub-expressions are always parenthesised
FORMS = [
    # binary arithmetic
    ("({0}) + ({1})", 2), ("({0}) - ({1})", 2), ("({0}) * ({1})", 2),
    ("({0}) / (({1})**2 + 1)", 2),
    # unary minus and plus
    ("-({0})", 1), ("+({0})", 1),
    # smooth functions on their domains
    ("exp({0})", 1), ("log(({0})**2 + 1)", 1), ("log(exp({0}))", 1),
    ("sqrt(({0})**2 + 1)", 1), ("sqrt(exp({0}))", 1), ("tanh({0})", 1), ("sigmoid({0})", 1),
    ("sin({0})", 1), ("cos({0})", 1),
    # kinks
    ("relu({0})", 1), ("abs({0})", 1), ("min({0}, {1})", 2), ("max({0}, {1})", 2),
    ("clip({0}, {1}, ({1}) + ({2})**2 + 0.5)", 3), ("clip({0}, -1, 1)", 1),
    # stop-gradient
    ("sg({0})", 1),
    # powers: integer constant exponents on any base, fractional ones on a positive base
    ("({0})**2", 1), ("({0})**3", 1), ("({0})**0", 1), ("({0})**1", 1),
    ("(({0})**2 + 1)**-1", 1), ("(({0})**2 + 1)**0.5", 1), ("(({0})**2 + 1)**1.5", 1),
    ("(({0})**2 + 1)**-0.5", 1), ("(({0})**2 + 1)**(1/3)", 1), ("(({0})**2 + 1)**-(2.5)", 1),
    # a variable exponent on a positive base, and a constant base to a variable power
    ("(({0})**2 + 1)**tanh({1})", 2), ("2**tanh({0})", 1),
]


@st.composite
def _trees(draw, variables: tuple[str, ...], depth: int, forms: tuple = tuple(FORMS)) -> str:
    if depth == 0 or draw(st.integers(0, 2)) == 0:
        return draw(st.one_of(st.sampled_from(variables), CONSTANTS))
    template, arity = draw(st.sampled_from(forms))
    return template.format(*(draw(_trees(variables, depth - 1, forms)) for _ in range(arity)))


def forms_without(*words: str) -> tuple:
    """The :data:`FORMS` whose template uses none of ``words`` (for a library lacking ops)."""
    return tuple(f for f in FORMS if not any(w in f[0] for w in words))


def expressions(variables: tuple[str, ...], max_depth: int = 4,
                forms: tuple = tuple(FORMS)) -> st.SearchStrategy[str]:
    """Expression strings over ``variables`` (each appears at least once), made of ``forms``."""
    # make sure every variable appears: add a small-weight use of each missing one
    return _trees(variables, max_depth, forms).map(
        lambda s: s if all(_mentions(s, v) for v in variables)
        else f"({s}) + 0.125 * ({' + '.join(variables)})")


def _mentions(source: str, name: str) -> bool:
    return re.search(rf"\b{name}\b", source) is not None


@st.composite
def expression_cases(draw, max_depth: int = 4, low: float = -2.0, high: float = 2.0,
                     forms: tuple = tuple(FORMS)):
    """``(source, variables, values)`` with 1-4 variables and values in [low, high]."""
    n = draw(st.integers(1, 4))
    variables = VARIABLES[:n]
    source = draw(expressions(variables, max_depth, forms))
    values = {v: draw(st.floats(low, high, allow_nan=False, allow_infinity=False))
              for v in variables}
    return source, variables, values


# --- helpers over built graphs -----------------------------------------------------------

def numbers_of(graph) -> tuple:
    """Every number of a traced (or grouped) graph by its bits (-0.0 differs from 0.0, nan
    equals nan), with its faults and backward counts: equal for bit-identical graphs."""
    def bits(x):
        if isinstance(x, float):
            return struct.pack("<d", x) if x == x else "nan"
        return x
    nodes = tuple(tuple(bits(d[k]) for k in ("value", "grad", "fault", "value_fault", "grad_fault"))
                  for _, d in graph.nodes(data=True))
    edges = tuple((u, v, k, *(bits(d[key]) for key in ("value", "local", "contribution")
                              if key in d))
                  for u, v, k, d in graph.edges(keys=True, data=True))
    return nodes, edges, graph.graph.get("evaluated"), graph.graph.get("skipped")


def replay(order: list[Value], leaf_values: dict[int, float]) -> list[float]:
    """Forward values of ``order`` (a topological order) with some leaves changed.

    Stop-gradient nodes keep their built value: the function whose derivative the
    backward pass computes treats them as constants.
    """
    index = {id(v): i for i, v in enumerate(order)}
    out: list[float] = []
    for v in order:
        if not v.parents:
            out.append(leaf_values.get(id(v), v.data))
        elif blocks_gradient(v.op):
            out.append(v.data)
        else:
            out.append(OPS[v.op].forward(*(out[index[id(p)]] for p in v.parents), v.param))
    return out


def has_ties(root: Value) -> bool:
    """Ties at kinks (min/max/clip, relu/abs at 0), where libraries split the gradient
    differently (PyTorch halves a min/max tie; we give it to the first input)."""
    for v in topological_order(root):
        xs = [p.data for p in v.parents]
        if v.op in ("min", "max") and xs[0] == xs[1]:
            return True
        if v.op == "clip" and (xs[0] == xs[1] or xs[0] == xs[2] or xs[1] == xs[2]):
            return True
        if v.op in ("relu", "abs") and xs[0] == 0.0:
            return True
    return False


def branch_signature(order: list[Value], values: list[float]) -> tuple:
    """Which side of every kink each node is on (relu, abs, min, max, clip)."""
    index = {id(v): i for i, v in enumerate(order)}
    sig = []
    for v in order:
        xs = [values[index[id(p)]] for p in v.parents]
        if v.op in ("relu", "abs"):
            sig.append((xs[0] > 0) - (xs[0] < 0))
        elif v.op in ("min", "max"):
            sig.append((xs[0] > xs[1]) - (xs[0] < xs[1]))
        elif v.op == "clip":
            sig.append(((xs[0] > xs[1]) - (xs[0] < xs[1]), (xs[0] > xs[2]) - (xs[0] < xs[2])))
    return tuple(sig)


def finite_difference_check(root: Value, leaves: dict[str, Value], grads: dict[str, float],
                            h: float = 1e-4) -> tuple[bool, str]:
    """Compare ``grads`` with a central finite difference (5-point stencil) of ``root``'s graph.

    Returns ``(checked, message)``: ``checked`` is False when the point is not usable
    (a branch changes inside the stencil, or a value is not finite or huge); the
    message says what disagrees, or is empty.
    """
    order = topological_order(root)
    center = replay(order, {})
    if not all(math.isfinite(x) and abs(x) < 1e6 for x in center):
        return False, "non-finite or huge values"
    base_sig = branch_signature(order, center)
    scale = max(1.0, max(abs(x) for x in center))
    problems = []
    for name, leaf in leaves.items():
        fs = []
        for k in (-2, -1, 1, 2):
            vals = replay(order, {id(leaf): leaf.data + k * h})
            if branch_signature(order, vals) != base_sig:
                return False, "kink inside the stencil"
            if not all(math.isfinite(x) for x in vals):
                return False, "non-finite values inside the stencil"
            fs.append(vals[-1])
        fd = (fs[0] - 8 * fs[1] + 8 * fs[2] - fs[3]) / (12 * h)
        g = grads[name]
        tol = 1e-5 * (abs(fd) + abs(g)) + 1e-10 * scale / h
        if not abs(fd - g) <= tol:
            problems.append(f"{name}: backward {g!r} vs finite difference {fd!r}")
    return True, "; ".join(problems)


def check_fanout_rule(graph) -> None:
    """Assert the fan-out rule on a traced graph: a node's gradient is the sum of the
    contributions on its outgoing edges (the root excepted: its gradient is 1)."""
    root = graph.graph["root"]
    assert graph.nodes[root]["grad"] == 1.0
    for n, data in graph.nodes(data=True):
        if n == root:
            continue
        contributions = [c for _, _, c in graph.out_edges(n, data="contribution")]
        grad = data["grad"]
        if all(math.isfinite(c) for c in contributions):
            total = math.fsum(contributions)
            spread = math.fsum(abs(c) for c in contributions)
            assert abs(grad - total) <= 1e-12 * spread, (n, grad, contributions)
        else:  # inf and nan add up the same in any order
            total = sum(contributions)
            assert grad == total or (math.isnan(grad) and math.isnan(total)), (n, grad, contributions)


# --- text for the parser's fuzz (test_expression.py, test_reliability.py) -----------------------

# every character of the language: names, digits, operators, the functions' letters, blanks
LANGUAGE = "wxby0123456789.e+-*/() ,_" + "".join(sorted(set("".join(FUNCTIONS)))) + "\t\n"
VALID = ["(w*x + b - y)**2", "tanh(exp(w*x))**2", "u*v + sin(u)", "sg(u*u)*u",
         "k*(w*x + b - y)**2 + C", "-min(exp(lp - lpo)*A, clip(exp(lp - lpo), 1-eps, 1+eps)*A)",
         "log(sigmoid(w*x + b)) + relu(x) - abs(y) / (1 + cos(w)**2)", "x**-2.5 + 2**x",
         "max(x, 1e-3) ** (1/3)"]


@st.composite
def mutations(draw):
    """A :data:`VALID` expression with 1-6 characters inserted, deleted or replaced (by one of
    the language's, a near miss, or any character at all)."""
    text = list(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["insert", "delete", "replace"]))
        i = draw(st.integers(0, len(text)))
        ch = draw(st.one_of(st.sampled_from(LANGUAGE + "[]{}<>=!%@^~&|'\"#:;\\\r$`?"),
                            st.characters()))
        if kind == "insert":
            text.insert(i, ch)
        elif text and i < len(text):
            if kind == "delete":
                del text[i]
            else:
                text[i] = ch
    return "".join(text)
