"""graphviz_core.engine: every op's gradient against finite differences, fan-out, deep
graphs, stop-gradient, requires_grad pruning and numeric faults."""

from __future__ import annotations

import doctest
import math
import sys

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from expression_strategies import check_fanout_rule
from graphviz_core import (OPS, BackwardReport, Value, clip, maximum, minimum, parse, stop_gradient,
                           topological_order, trace)

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.filter_too_much])


def floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def away_from_zero(lo: float = 0.05, hi: float = 5.0) -> st.SearchStrategy[float]:
    return st.one_of(floats(lo, hi), floats(-hi, -lo))


def fd_check(f, xs: list[float], h: float = 1e-6, rtol: float = 1e-6, atol: float = 1e-6):
    """``f(*Values)``: backward gradients against central differences of the forward value."""
    leaves = [Value(x, f"a{i}") for i, x in enumerate(xs)]
    out = f(*leaves)
    out.backward()
    for i, leaf in enumerate(leaves):
        step = h * max(1.0, abs(xs[i]))
        plus = [Value(x + (step if j == i else 0.0)) for j, x in enumerate(xs)]
        minus = [Value(x - (step if j == i else 0.0)) for j, x in enumerate(xs)]
        fd = (f(*plus).data - f(*minus).data) / (2 * step)
        assert math.isclose(leaf.grad, fd, rel_tol=rtol, abs_tol=atol), (i, xs, leaf.grad, fd)
    check_fanout_rule(trace(out))
    return out, leaves


# --- every op against finite differences -----------------------------------------------------

@SETTINGS
@given(floats(-10, 10), floats(-10, 10), floats(-10, 10))
def test_add_sub_mul_neg(a, b, c):
    fd_check(lambda x, y: x + y, [a, b])
    fd_check(lambda x, y: x - y, [a, b])
    fd_check(lambda x, y: x * y, [a, b])
    fd_check(lambda x: -x, [a])
    fd_check(lambda x: +x, [a])
    fd_check(lambda x: x + c, [a])
    fd_check(lambda x: c + x, [a])
    fd_check(lambda x: x - c, [a])
    fd_check(lambda x: c - x, [a])
    fd_check(lambda x: x * c, [a])
    fd_check(lambda x: c * x, [a])
    fd_check(lambda x: x * x, [a])


@SETTINGS
@given(floats(-10, 10), away_from_zero(0.1, 10))
def test_div(a, b):
    fd_check(lambda x, y: x / y, [a, b], rtol=1e-5)
    fd_check(lambda y: 3.0 / y, [b], rtol=1e-5)
    fd_check(lambda x: x / 4.0, [a])
    out = Value(a) / Value(b)
    assert out.data == a / b and out.op == "div"


@SETTINGS
@given(away_from_zero(0.2, 4), st.integers(-5, 6))
def test_pow_integer_constant_exponent(a, p):
    out, _ = fd_check(lambda x: x ** p, [a], rtol=1e-5)
    assert out.op == "pow" and out.param == float(p)
    assert math.isclose(out.data, float(a) ** p, rel_tol=1e-12)


@SETTINGS
@given(floats(0.1, 5), floats(-3.5, 3.5))
def test_pow_fractional_constant_exponent(a, p):
    out, _ = fd_check(lambda x: x ** p, [a], rtol=1e-5)
    assert math.isclose(out.data, a ** p, rel_tol=1e-12)


@SETTINGS
@given(floats(0.1, 5), floats(-3, 3))
def test_powv(a, b):
    out, _ = fd_check(lambda x, y: x ** y, [a, b], rtol=1e-5)
    assert out.op == "powv"
    fd_check(lambda y: 2.0 ** y, [b], rtol=1e-5)  # __rpow__: a constant base


@SETTINGS
@given(away_from_zero(0.2, 4), st.integers(-4, 5))
def test_powv_negative_base_integer_exponent(a, n):
    base, exponent = Value(-abs(a)), Value(float(n))
    out = base ** exponent
    out.backward()
    assert math.isclose(out.data, (-abs(a)) ** n, rel_tol=1e-12)
    expected = 0.0 if n == 0 else n * (-abs(a)) ** (n - 1)
    assert math.isclose(base.grad, expected, rel_tol=1e-12)
    assert isinstance(exponent.grad, float)  # d/db of a**b = a**b log a: nan for a < 0, never complex


@SETTINGS
@given(floats(-5, 5), floats(0.05, 20), floats(-10, 10))
def test_unary_functions(a, positive, any_):
    fd_check(lambda x: x.exp(), [a])
    fd_check(lambda x: x.log(), [positive], rtol=1e-5)
    fd_check(lambda x: x.sqrt(), [positive], rtol=1e-5)
    fd_check(lambda x: x.tanh(), [a])
    fd_check(lambda x: x.sigmoid(), [any_])
    fd_check(lambda x: x.sin(), [any_])
    fd_check(lambda x: x.cos(), [any_])
    assert math.isclose(Value(a).exp().data, math.exp(a))
    assert math.isclose(Value(positive).log().data, math.log(positive))
    assert math.isclose(Value(any_).sigmoid().data, 1 / (1 + math.exp(-any_)))


@SETTINGS
@given(away_from_zero(1e-3, 10))
def test_relu_and_abs_away_from_the_kink(a):
    fd_check(lambda x: x.relu(), [a])
    fd_check(lambda x: x.abs(), [a])
    fd_check(lambda x: abs(x), [a])
    assert Value(a).relu().data == max(a, 0.0)
    assert abs(Value(a)).data == abs(a)


def test_relu_and_abs_at_zero():
    for f in (Value.relu, Value.abs):
        a = Value(0.0)
        out = f(a)
        out.backward()
        assert out.data == 0.0 and a.grad == 0.0


@SETTINGS
@given(floats(-10, 10), floats(-10, 10))
def test_min_max_away_from_ties(a, b):
    assume(abs(a - b) > 1e-3)
    out, (x, y) = fd_check(minimum, [a, b])
    assert out.data == min(a, b) and (x.grad, y.grad) == ((1.0, 0.0) if a < b else (0.0, 1.0))
    out, (x, y) = fd_check(maximum, [a, b])
    assert out.data == max(a, b) and (x.grad, y.grad) == ((1.0, 0.0) if a > b else (0.0, 1.0))
    if abs(a - 0.5) > 1e-3:  # with a plain number on either side
        fd_check(lambda x: minimum(x, 0.5), [a])
        fd_check(lambda x: maximum(0.5, x), [a])


def test_min_max_tie_goes_to_the_first_argument():
    for f in (minimum, maximum):
        a, b = Value(1.0), Value(1.0)
        f(a, b).backward()
        assert (a.grad, b.grad) == (1.0, 0.0)


@SETTINGS
@given(floats(-5, 5), floats(-3, 3), floats(0.01, 3))
def test_clip_away_from_the_edges(v, lo, width):
    hi = lo + width
    assume(abs(v - lo) > 1e-3 and abs(v - hi) > 1e-3)
    out, (x, l, h) = fd_check(clip, [v, lo, hi])
    assert out.data == min(max(v, lo), hi)
    expected = (0.0, 1.0, 0.0) if v < lo else (0.0, 0.0, 1.0) if v > hi else (1.0, 0.0, 0.0)
    assert (x.grad, l.grad, h.grad) == expected


@SETTINGS
@given(floats(-5, 5), floats(-5, 5))
def test_stop_gradient(a, b):
    x, y = Value(a, "x"), Value(b, "y")
    s = stop_gradient(x * y)
    assert s.data == a * b and s.op == "sg" and s.parents[0].op == "mul"
    out = s * x + y
    out.backward()
    # sg(x*y) is a constant to the backward pass: d/dx = sg(x*y) = a*b, d/dy = 1
    assert x.grad == a * b and y.grad == 1.0
    assert s.grad == a and s.parents[0].grad == 0.0
    g = trace(out)
    check_fanout_rule(g)
    sg_nodes = [n for n in g if g.nodes[n]["op"] == "sg"]
    assert len(sg_nodes) == 1
    (edge,) = g.in_edges(sg_nodes[0], keys=True, data=True)
    assert edge[3]["blocked"] and edge[3]["contribution"] == 0.0 and edge[3]["local"] == 0.0


def test_every_op_is_tested():
    """The op table has no op the tests above do not reach."""
    assert set(OPS) == {"add", "sub", "mul", "div", "neg", "pow", "powv", "exp", "log", "sqrt",
                        "tanh", "sigmoid", "relu", "abs", "sin", "cos", "min", "max", "clip", "sg"}


def test_value_api():
    v = Value(2, "w")
    assert (v.data, v.grad, v.name, v.op, v.parents, v.requires_grad) == (2.0, 0.0, "w", "", (), True)
    assert Value(1.0, requires_grad=False).requires_grad is False
    out = v * 3
    assert out.parents[0] is v and out.parents[1].data == 3.0 and out.parents[1].requires_grad is False
    out = 3 * v
    assert out.parents[0].data == 3.0 and out.parents[1] is v  # slot order kept
    with pytest.raises(TypeError):
        v + "1"


# --- fan-out and reuse ------------------------------------------------------------------------

def test_a_times_a_keeps_both_slots():
    a = Value(3.0, "a")
    c = a * a
    assert c.parents == (a, a)
    c.backward()
    assert a.grad == 6.0
    g = trace(c)
    check_fanout_rule(g)
    edges = sorted(g.edges(keys=True))
    assert edges == [(0, 1, 0), (0, 1, 1)]
    assert [g.edges[e]["contribution"] for e in edges] == [3.0, 3.0]


def test_fan_out_sums():
    a = Value(3.0, "a")
    b = a + a
    c = b + b
    c.backward()
    assert (a.grad, b.grad) == (4.0, 2.0)
    check_fanout_rule(trace(c))

    a = Value(3.0, "a")
    b = a + a
    c = b * b  # 4a^2
    report = c.backward()
    assert (c.data, a.grad, b.grad) == (36.0, 24.0, 12.0)
    assert report == BackwardReport(4, 0, 0)
    check_fanout_rule(trace(c))


def test_deep_chain_has_no_recursion_error():
    limit = sys.getrecursionlimit()
    a = Value(0.5, "a")
    v = a
    for i in range(10_000):
        v = v * 1.0 + 0.0 if i % 2 else (v + 1.0) - 1.0
    report = v.backward()
    assert sys.getrecursionlimit() == limit
    assert a.grad == 1.0 and v.data == 0.5
    assert report == BackwardReport(evaluated=20_000, skipped=20_000, blocked=0)
    assert len(topological_order(v)) == 1 + 10_000 * 4  # two ops and a constant leaf each


def test_deep_unary_chain_and_trace():
    a = Value(0.1, "a")
    v = a
    for _ in range(10_000):
        v = -v
    v.backward()
    assert a.grad == 1.0
    g = trace(v)
    assert len(g) == 10_001
    check_fanout_rule(g)


def test_backward_twice_gives_the_same_result():
    w, x, b, y = Value(2.0, "w"), Value(1.5, "x"), Value(0.5, "b"), Value(1.0, "y")
    z = w * x + b
    L = (z - y) ** 2 + z.tanh() * w
    first = L.backward()
    grads = [v.grad for v in topological_order(L)]
    second = L.backward()
    assert first == second
    assert [v.grad for v in topological_order(L)] == grads


def test_backward_zeroes_gradients_left_by_another_root():
    a = Value(2.0, "a")
    b = a * 3
    c = b * b
    c.backward()
    b.backward()  # b's graph: its inner gradients start from zero again
    assert (a.grad, b.grad) == (3.0, 1.0)


# --- requires_grad pruning ---------------------------------------------------------------------

def test_pruning_on_the_seed():
    L = parse("(w*x + b - y)**2").build({"w": 2, "x": 1.5, "b": 0.5, "y": 1},
                                       {"x": False, "y": False})
    report = L.backward()
    # evaluated: L->z3, z3->z2, z2->z1, z2->b, z1->w; skipped: z1->x, z3->y
    assert report == BackwardReport(evaluated=5, skipped=2, blocked=0)
    order = topological_order(L)
    grads = {v.name: v.grad for v in order if v.name}
    assert grads == {"w": 7.5, "x": 0.0, "b": 5.0, "y": 0.0}
    g = trace(L)
    check_fanout_rule(g)
    assert (g.graph["evaluated"], g.graph["skipped"]) == (5, 2)
    pruned = {(g.nodes[u]["name"], g.nodes[v]["name"]) for u, v, d in g.edges(data=True)
              if d["pruned"]}
    assert pruned == {("x", "z1"), ("y", "z3")}


def test_pruning_skips_nodes_fed_only_by_non_grad_leaves():
    w = Value(2.0, "w")
    x = Value(3.0, "x", requires_grad=False)
    y = Value(4.0, "y", requires_grad=False)
    xy = x * y
    L = w * xy
    assert L.backward() == BackwardReport(evaluated=1, skipped=3, blocked=0)
    assert (w.grad, xy.grad, x.grad, y.grad) == (12.0, 0.0, 0.0, 0.0)
    g = trace(L)
    check_fanout_rule(g)
    assert [g.nodes[n]["active"] for n in g] == [True, False, False, False, True]


def test_stop_gradient_report_and_pruning():
    u = Value(1.5, "u")
    L = stop_gradient(u * u) * u
    assert L.data == 1.5 ** 3
    report = L.backward()
    assert report == BackwardReport(evaluated=2, skipped=2, blocked=1)
    assert u.grad == 1.5 ** 2  # u^2, not 3u^2
    check_fanout_rule(trace(L))


def test_nothing_requires_grad():
    x = Value(1.0, "x", requires_grad=False)
    L = (x * 2).exp()
    report = L.backward()
    assert report == BackwardReport(0, 3, 0) and x.grad == 0.0
    assert L.grad == 1.0


# --- numeric faults ------------------------------------------------------------------------------

def _all_real(root: Value) -> None:
    for v in topological_order(root):
        assert type(v.data) is float and type(v.grad) is float, v
        assert v.fault is None or isinstance(v.fault, str)
        assert v.grad_fault is None or isinstance(v.grad_fault, str)


FAULTS = [
    # (name, build(a, other) -> node where the fault starts, value check, word in the fault)
    ("overflow", lambda a: a.exp(), 1000.0, lambda r: r == math.inf, "overflow"),
    ("log of a negative", lambda a: a.log(), -1.0, math.isnan, "negative"),
    ("log of zero", lambda a: a.log(), 0.0, lambda r: r == -math.inf, "zero"),
    ("sqrt of a negative", lambda a: a.sqrt(), -4.0, math.isnan, "square root"),
    ("division by zero", lambda a: a / 0.0, 1.0, lambda r: r == math.inf, "division by zero"),
    ("zero by zero", lambda a: a / 0, 0.0, math.isnan, "division by zero"),
    ("inf - inf", lambda a: a.exp() - a.exp(), 1000.0, math.isnan, "undefined"),
    ("0 * inf", lambda a: 0.0 * a.exp(), 1000.0, math.isnan, "undefined"),
    ("negative base, fractional power", lambda a: a ** 0.5, -2.0, math.isnan, "fractional"),
    ("negative base, fractional powv", lambda a: a ** Value(1.5), -2.0, math.isnan, "fractional"),
    ("zero to a negative power", lambda a: a ** -1, 0.0, lambda r: r == math.inf, "zero"),
    ("pow overflow", lambda a: a ** 99, -1e10, lambda r: r == -math.inf, "overflow"),
    ("powv overflow, negative base", lambda a: a ** Value(101.0), -1e10,
     lambda r: r == -math.inf, "overflow"),
]


@pytest.mark.parametrize("name, make, a, check_value, word", FAULTS, ids=[f[0] for f in FAULTS])
def test_numeric_faults(name, make, a, check_value, word):
    leaf = Value(a, "a")
    other = Value(3.0, "q")
    node = make(leaf)
    L = node + other * other  # the other branch's gradient stays right
    report = L.backward()
    assert check_value(node.data), node.data
    assert node.fault is not None and word in node.fault, node.fault
    assert L.fault is not None  # non-finite input travels on, and says so
    assert other.grad == 6.0 and other.fault is None and other.grad_fault is None
    assert report.evaluated >= 3
    _all_real(L)
    g = trace(L)
    check_fanout_rule(g)
    faulted = [g.nodes[n]["fault"] for n in g if g.nodes[n]["value_fault"]]
    assert any(word in f for f in faulted)


def test_gradient_faults_are_recorded():
    a = Value(1000.0, "a")
    L = a.exp()
    L.backward()
    assert a.grad == math.inf and "infinity" in a.grad_fault
    a = Value(-1.0, "a")
    L = a.sqrt()
    L.backward()
    assert math.isnan(a.grad) and "nan" in a.grad_fault
    L.backward()  # faults of the previous pass are cleared, then found again
    assert "nan" in a.grad_fault


def test_non_finite_leaves_and_huge_numbers_do_not_raise():
    assert Value(float("nan")).fault and Value(float("inf")).fault
    big = 10 ** 400
    v = Value(big, "big")
    assert v.data == math.inf and v.fault
    assert Value(-big).data == -math.inf
    assert (Value(2.0) + big).data == math.inf
    assert (Value(2.0) ** big).fault is not None or (Value(2.0) ** big).data == math.inf
    L = parse("x * 2").build({"x": big})
    assert L.data == math.inf and L.parents[0].fault


def test_faults_never_leak_into_complex_numbers():
    for base in (-8.0, -0.5, -1e-300):
        for p in (1 / 3, 0.5, 2.5, -0.5):
            x = Value(base, "x")
            L = x ** p + x ** Value(p)
            L.backward()
            _all_real(L)
            assert math.isnan(L.data)


def test_engine_doctests():
    import graphviz_core.engine as engine
    result = doctest.testmod(engine, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def test_ieee_primitives_doctests():
    import graphviz_core.ieee as ieee
    result = doctest.testmod(ieee)
    assert result.failed == 0 and result.attempted > 0


# --- one op table: the language, the methods and the page read it ---------------------------

def test_the_language_and_the_value_methods_come_from_the_op_table():
    from graphviz_core.expression import FUNCTIONS
    functions = {op.function: op for op in OPS.values() if op.function}
    assert set(FUNCTIONS) == set(functions)
    for name, (arity, apply) in FUNCTIONS.items():
        op = functions[name]
        assert arity == op.arity
        assert apply(*[Value(0.5)] * arity).op == op.name
        if arity == 1 and not op.blocks_gradient:
            assert getattr(Value(0.5), name)().op == op.name
    assert [name for name, op in OPS.items() if op.blocks_gradient] == ["sg"]
    assert abs(Value(-2.0)).data == 2.0


# --- the numeric rule: IEEE 754 as PyTorch float64 computes it --------------------------------

def _sign(x: float) -> float:
    return math.copysign(1.0, x)


def test_signed_zeros_follow_ieee():
    u = Value(3.0, "u")
    z = (u - u) * -u                          # -0.0
    assert z.data == 0.0 and _sign(z.data) < 0
    assert (z ** -1).data == -math.inf and (z ** -2).data == math.inf
    assert (z ** -1).fault == "zero to a negative power"
    assert _sign((Value(0.0) * -1).data) < 0
    assert _sign(Value(-0.0).relu().data) < 0 and Value(-0.0).sqrt().data == 0.0
    assert (1 / z).data == -math.inf and (1 / z).fault == "division by zero"
    assert ((z ** -1).tanh() * u).data == -3.0  # issue 10: torch float64 says -3


def test_overflow_is_named_overflow():
    x = Value(-1e5, "x")
    assert (x ** 100).data == math.inf and (x ** 100).fault == "overflow"
    assert (x ** 99).data == -math.inf and (x ** 99).fault == "overflow"
    assert (x ** 0.5).fault == "negative base to a fractional power"
    u, w = Value(700.0), Value(700.0)
    L = minimum(u, 1e-3).log() ** minimum(w, u).relu()
    assert L.data == math.inf and L.fault == "overflow"


def test_gradients_sum_from_negative_zero_and_unused_inputs_get_plus_zero():
    a = Value(1.0, "a")
    (a * -0.0).backward()
    assert a.grad == 0.0 and _sign(a.grad) < 0          # as torch: 1 * -0.0, not 0.0 + -0.0
    b, c = Value(1.0, "b"), Value(2.0, "c")
    L = maximum(b, c) * Value(-1.0).log()               # the gradient reaching max is nan
    L.backward()
    assert math.isnan(c.grad) and b.grad == 0.0 and _sign(b.grad) > 0  # as torch's where()
    assert b.fault is None and c.grad_fault == "gradient is nan" and b.grad_fault is None


def test_clip_is_torch_clamp():
    v, lo, hi = Value(1.5), Value(2.0), Value(1.0)      # lo > hi: hi wins
    L = clip(v, lo, hi)
    L.backward()
    assert L.data == 1.0 and (v.grad, lo.grad, hi.grad) == (0.0, 0.0, 1.0)
    assert math.isnan(clip(Value(0.5), Value(math.nan), Value(1.0)).data)
