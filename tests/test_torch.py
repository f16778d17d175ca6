"""Our engine against PyTorch (float64): random expressions, and every op at the edges of
float64 (tests/extremes.py), where the rule is IEEE 754 as torch float64 computes it.
Skipped without torch (``pip install torch==2.13.0``).

The torch graph is made by walking our *built* graph in topological order and applying the
matching torch op to each node, never by evaluating the text.
"""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import HealthCheck, assume, given, settings

from expression_strategies import check_fanout_rule, expression_cases, has_ties
from extremes import EXPONENTS, INPUTS, extreme_cases, same_float
from hypothesis_budget import examples
from graphviz_core import OPS, ExpressionError, Value, parse, topological_order, trace
from graphviz_core.mlp import mlp_loss

torch = None  # the torch module, set by _torch below when these tests run


@pytest.fixture(autouse=True, scope="module")
def _torch():
    """torch, imported when these tests run rather than when pytest collects them (its import
    costs ~2 s of CPU, in every worker otherwise); skipped where torch is not installed."""
    global torch
    torch = pytest.importorskip("torch")

TORCH_OPS = {
    "add": lambda a, b, p: a + b,
    "sub": lambda a, b, p: a - b,
    "mul": lambda a, b, p: a * b,
    "div": lambda a, b, p: a / b,
    "neg": lambda a, p: -a,
    # C99's pow, as ours: `t ** 0.5` would go through sqrt (-0.0 at -0.0, nan at -inf)
    "pow": lambda a, p: torch.pow(a, torch.tensor(p, dtype=torch.float64)),
    "powv": lambda a, b, p: a ** b,
    "exp": lambda a, p: torch.exp(a),
    "log": lambda a, p: torch.log(a),
    "sqrt": lambda a, p: torch.sqrt(a),
    "tanh": lambda a, p: torch.tanh(a),
    "sigmoid": lambda a, p: torch.sigmoid(a),
    "relu": lambda a, p: torch.relu(a),
    "abs": lambda a, p: torch.abs(a),
    "sin": lambda a, p: torch.sin(a),
    "cos": lambda a, p: torch.cos(a),
    "min": lambda a, b, p: torch.minimum(a, b),
    "max": lambda a, b, p: torch.maximum(a, b),
    "clip": lambda v, lo, hi, p: torch.clamp(v, lo, hi),
    "sg": lambda a, p: a.detach(),
}


def to_torch(root):
    """The torch twin of ``root``'s graph: ``(torch root, {our leaf: torch leaf})``."""
    order = topological_order(root)
    made, leaves = {}, {}
    for v in order:
        if not v.parents:
            t = torch.tensor(v.data, dtype=torch.float64, requires_grad=v.requires_grad)
            leaves[id(v)] = t
        else:
            t = TORCH_OPS[v.op](*(made[id(p)] for p in v.parents), v.param)
        made[id(v)] = t
    return made[id(root)], leaves, made


def close(a: float, b: float, scale: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12 * scale)


@settings(max_examples=examples(500, ci=200), deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.filter_too_much])
@given(expression_cases(low=-3.0, high=3.0))
def test_random_expressions_match_torch(case):
    source, variables, values = case
    root, ours = parse(source)._build(values)
    assume(not has_ties(root))
    order = topological_order(root)
    assume(all(math.isfinite(v.data) for v in order))
    root.backward()
    t_root, t_leaves, made = to_torch(root)
    if t_root.requires_grad:  # not when every path is cut by sg: then no gradient at all
        t_root.backward()
    # intermediate values can cancel: allow 1e-12 of the largest magnitude as absolute slack
    scale = max(1.0, max(abs(v.data) for v in order))
    for v in order:
        assert close(v.data, made[id(v)].item(), scale), (source, v)
    grad_scale = max([1.0] + [abs(l.grad) for l in ours.values() if math.isfinite(l.grad)])
    for name, leaf in ours.items():
        t = t_leaves[id(leaf)]
        expected = 0.0 if t.grad is None else t.grad.item()
        assert close(leaf.grad, expected, max(scale, grad_scale)), \
            f"{source} at {values}: d/d{name} ours {leaf.grad!r}, torch {expected!r}"
    check_fanout_rule(trace(root))


def test_mlp_matches_torch():
    root = mlp_loss(4, (8, 8), 2, seed=1)
    root.backward()
    t_root, t_leaves, _ = to_torch(root)
    t_root.backward()
    assert math.isclose(root.data, t_root.item(), rel_tol=1e-12)
    for v in topological_order(root):
        if not v.parents and v.requires_grad:
            assert math.isclose(v.grad, t_leaves[id(v)].grad.item(), rel_tol=1e-9, abs_tol=1e-14)


def test_translator_covers_every_op():
    from graphviz_core import OPS
    assert set(TORCH_OPS) == set(OPS)


# --- the numeric rule: IEEE 754 as PyTorch float64 does, at the edges ---------------------------
LAST_BITS = 1e-13  # torch's vectorised sqrt, tanh, sigmoid round differently in the last bit


def _tie(op: str, xs: tuple) -> bool:
    """Where PyTorch splits or drops a subgradient that we give to the input returned."""
    if op in ("min", "max"):
        return xs[0] == xs[1]
    return op == "clip" and (xs[0] == xs[1] or xs[0] == xs[2] or xs[1] == xs[2])


def test_every_op_follows_torch_float64_at_the_edges():
    """Forward values and gradients (local derivatives: the upstream gradient is 1) of every
    op on every combination of extreme inputs: signed zeros, inf and nan exactly."""
    checked = 0
    for name, op in OPS.items():
        # clip's 3 inputs: a smaller set (the cases clip tells apart), 2,197 combinations
        inputs = INPUTS if op.arity < 3 else INPUTS[:6] + INPUTS[-7:]
        for xs in itertools.product(inputs, repeat=op.arity):
            for p in (EXPONENTS if name == "pow" else (None,)):
                leaves = [Value(x) for x in xs]
                ours = Value._apply(name, tuple(leaves), p)
                ours.backward()
                t_leaves = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
                theirs = TORCH_OPS[name](*t_leaves, p)
                t_grads = (torch.autograd.grad(theirs, t_leaves, allow_unused=True)
                           if theirs.requires_grad else [None] * len(xs))
                assert same_float(ours.data, theirs.item(), LAST_BITS), (name, xs, p, ours.data)
                if not _tie(name, xs):
                    for leaf, g in zip(leaves, t_grads):
                        expected = 0.0 if g is None else g.item()
                        assert same_float(leaf.grad, expected, LAST_BITS), (name, xs, p, leaf.grad)
                checked += 1
    assert checked > 3_000


def test_the_issue_examples_follow_torch():
    for text, values, expected in [
            ("tanh(((u - u) * (-u))**-1) * u", {"u": 3.0}, -3.0),
            ("x**100", {"x": -1e5}, math.inf),
            ("log(min(u, 1e-3))**relu(min(w, u))", {"u": 700.0, "w": 700.0}, math.inf),
            ("(u*0)**-1", {"u": 1.0}, math.inf), ("(u*0)**-1", {"u": -1.0}, -math.inf)]:
        root, _ = parse(text)._build(values)
        t_root, _, _ = to_torch(root)
        assert root.data == t_root.item() == expected, text


def test_random_expressions_at_extreme_values_follow_torch():
    """2,000 random expressions with leaves from the extreme set: every value (signed zeros,
    inf, nan) and every leaf's gradient as torch float64 computes them. Sums may round in
    another order: 1e-9 relative, and 1e-12 of the largest value as absolute slack."""
    compared = 0
    for text, _, values, _ in extreme_cases(2000, seed=11):
        try:
            root, leaves = parse(text)._build(values)
        except ExpressionError:
            continue
        if has_ties(root):
            continue
        root.backward()
        t_root, t_leaves, made = to_torch(root)
        if t_root.requires_grad:
            t_root.backward()
        order = topological_order(root)
        scale = max([1.0] + [abs(v.data) for v in order if math.isfinite(v.data)])
        for v in order:
            assert _near(v.data, made[id(v)].item(), scale), (text, values, v)
        for name, leaf in leaves.items():
            t = t_leaves[id(leaf)]
            expected = 0.0 if t.grad is None else t.grad.item()
            assert _near(leaf.grad, expected, scale), (text, values, name, leaf.grad, expected)
        compared += 1
    assert compared > 1000


def _near(a: float, b: float, scale: float) -> bool:
    if same_float(a, b, 1e-9):
        return True
    if not (math.isfinite(a) and math.isfinite(b)):
        return False
    return abs(a - b) <= 1e-12 * scale
