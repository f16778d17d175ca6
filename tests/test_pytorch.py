"""graphviz_core.to_pytorch: the program it writes runs, and autograd agrees with our engine.

The program is run as a student would run it (its own namespace, its printed lines read
back); its last line, a JSON object {variable: gradient}, is compared with the engine's
gradients on random expressions. Skipped where torch is not installed.
"""

from __future__ import annotations

import contextlib
import io
import json
import math

import pytest
from hypothesis import HealthCheck, assume, example, given, settings

from expression_strategies import expression_cases
from hypothesis_budget import examples
from graphviz_core import gradients, parse, to_pytorch, topological_order
from graphviz_core.pytorch import TORCH


@pytest.fixture(autouse=True, scope="module")
def _torch():
    """Skipped where torch is not installed; imported when these tests run rather than when
    pytest collects them (its import costs ~2 s of CPU, in every worker otherwise)."""
    pytest.importorskip("torch")


def run(program: str) -> tuple[float, dict]:
    """Run ``program``; its loss (second-to-last line) and its gradients (last line)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(program, {"__name__": "__main__"})  # our own generated program, not user text
    *_, loss_line, last = out.getvalue().strip().splitlines()
    return float(loss_line.split("=")[1]), json.loads(last)


def ties(source: str, values: dict) -> bool:
    """A kink exactly hit (min/max/clip tie, relu/abs at 0): autograd's conventions differ."""
    root, _ = parse(source)._build(values)
    for v in topological_order(root):
        xs = [p.data for p in v.parents]
        if (v.op in ("min", "max") and xs[0] == xs[1]
                or v.op == "clip" and (xs[0] == xs[1] or xs[0] == xs[2])
                or v.op in ("relu", "abs") and xs[0] == 0.0):
            return True
    return False


def close(a, b, scale: float) -> bool:
    if a is None or b is None:
        return a is b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12 * scale)


def test_every_op_has_a_torch_form():
    from graphviz_core import OPS
    assert set(TORCH) == set(OPS)


def test_the_articles_example():
    program = to_pytorch("(w*x + b - y)**2", {"w": 2, "x": 1.5, "b": 0.5, "y": 1})
    assert "requires_grad=True" in program and "torch.float64" in program
    loss, grads = run(program)
    assert loss == 6.25
    assert grads == {"w": 7.5, "x": 10.0, "b": 5.0, "y": -5.0}


def test_detach_clamp_constants_and_names_torch_knows():
    source = "sg(u*u)*u + clip(torch, 0.5, 2) + exp(1)"
    program = to_pytorch(source, {"u": 1.5, "torch": 3.0})
    assert ".detach()" in program and "torch.clamp(" in program
    loss, grads = run(program)
    value, expected = gradients(source, {"u": 1.5, "torch": 3.0})
    assert math.isclose(loss, value, rel_tol=1e-12)
    assert grads == pytest.approx(expected)  # u**2 = 2.25 through the direct path only


def test_leaves_without_requires_grad_are_null_and_a_cut_graph_has_zero_gradients():
    _, grads = run(to_pytorch("w*x", {"w": 2, "x": 3}, requires_grad={"x": False}))
    assert grads == {"w": 3.0, "x": None}
    _, grads = run(to_pytorch("sg(w)*2", {"w": 2}))
    assert grads == {"w": 0.0}


@settings(max_examples=examples(300, ci=100), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(expression_cases(low=-3.0, high=3.0))
@example(("sqrt(exp(w)) * log((x)**2 + 1) + sg(b) - (y)**3", ("w", "x", "b", "y"),
          {"w": 0.5, "x": -1.25, "b": 2.0, "y": 0.75}))
def test_random_expressions_agree_with_the_engine(case):
    source, variables, values = case
    assume(not ties(source, values))
    value, expected = gradients(source, values)
    assume(math.isfinite(value))
    loss, grads = run(to_pytorch(source, values))
    scale = max([1.0, abs(value)] + [abs(g) for g in expected.values() if math.isfinite(g)])
    assert close(loss, value, scale), source
    assert set(grads) == set(expected)
    for name, g in expected.items():
        assert close(grads[name], g, scale), f"{source} at {values}: d/d{name}"
