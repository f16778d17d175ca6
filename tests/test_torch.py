"""Our engine against PyTorch (float64) on random expressions. Skipped without torch.

The torch graph is made by walking our *built* graph in topological order and applying the
matching torch op to each node, never by evaluating the text.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, assume, given, settings

from expression_strategies import check_fanout_rule, expression_cases, has_ties
from graphviz_core import parse, topological_order, trace
from graphviz_core.scenarios import mlp_loss

torch = pytest.importorskip("torch")

TORCH_OPS = {
    "add": lambda a, b, p: a + b,
    "sub": lambda a, b, p: a - b,
    "mul": lambda a, b, p: a * b,
    "div": lambda a, b, p: a / b,
    "neg": lambda a, p: -a,
    "pow": lambda a, p: a ** p,
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
    "clip": lambda v, lo, hi, p: torch.minimum(torch.maximum(v, lo), hi),  # lo <= hi here
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


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow,
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
