"""Graphs brought from micrograd-style classes and from PyTorch: converted, recomputed by our
engine and compared gradient by gradient with the source library's own backward pass.

The source graphs are written the way a learner writes them: a micrograd-style class with
Python operators (a tiny one here, with its set of operands, for the ops micrograd 0.1.0
lacks; micrograd itself where it is installed), and PyTorch float64 functions with
constants, ``.detach()`` and ``clamp``. Each is made by walking the graph our parser built
for a random expression, node by node, never by evaluating text.
"""

from __future__ import annotations

import math
import warnings

import pytest
from hypothesis import HealthCheck, assume, example, given, settings

from expression_strategies import expression_cases, forms_without, has_ties
from hypothesis_budget import examples
from graphviz_core import (OPS, AdapterError, GradientMismatch, GraphProgram, Value,
                           from_micrograd, parse, topological_order, trace)
from graphviz_core.adapter_checks import close
from graphviz_core.rebuild import APPLY

RANDOM = settings(max_examples=examples(300, ci=150), deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


# --- a tiny micrograd-style class: operands in a set, the op as text -------------------------

class Mini:
    """micrograd's shape (``data grad _prev _op _backward``) with the ops micrograd 0.1.0 lacks;
    ``-`` and ``/`` are ops of their own here, so a set loses their operand order."""

    def __init__(self, data, children=(), op=""):
        self.data, self.grad, self._prev, self._op = float(data), 0.0, set(children), op
        self._backward = lambda: None

    @staticmethod
    def wrap(x):
        return x if isinstance(x, Mini) else Mini(x)

    def _binary(self, other, op, value, da, db):
        other = Mini.wrap(other)
        out = type(self)(value(self.data, other.data), (self, other), op)

        def backward():
            self.grad += da(self.data, other.data) * out.grad
            other.grad += db(self.data, other.data) * out.grad
        out._backward = backward
        return out

    def _unary(self, op, value, d):
        out = type(self)(value(self.data), (self,), op)

        def backward():
            self.grad += d(self.data, out.data) * out.grad
        out._backward = backward
        return out

    def __add__(self, o): return self._binary(o, "+", lambda a, b: a + b, lambda a, b: 1.0, lambda a, b: 1.0)
    def __mul__(self, o): return self._binary(o, "*", lambda a, b: a * b, lambda a, b: b, lambda a, b: a)
    def __sub__(self, o): return self._binary(o, "-", lambda a, b: a - b, lambda a, b: 1.0, lambda a, b: -1.0)
    def __truediv__(self, o): return self._binary(o, "/", lambda a, b: a / b, lambda a, b: 1 / b,
                                                  lambda a, b: -a / (b * b))
    def __radd__(self, o): return Mini.wrap(o) + self
    def __rmul__(self, o): return Mini.wrap(o) * self
    def __rsub__(self, o): return Mini.wrap(o) - self
    def __rtruediv__(self, o): return Mini.wrap(o) / self
    def __neg__(self): return self._unary("neg", lambda a: -a, lambda a, out: -1.0)

    def __pow__(self, k):
        return self._unary(f"**{k}", lambda a: a ** k,
                           lambda a, out: 0.0 if k == 0 else k * a ** (k - 1))

    def relu(self): return self._unary("ReLU", lambda a: max(a, 0.0), lambda a, out: float(a > 0))
    def tanh(self): return self._unary("tanh", math.tanh, lambda a, out: 1 - out * out)
    def exp(self): return self._unary("exp", math.exp, lambda a, out: out)
    def log(self): return self._unary("log", math.log, lambda a, out: 1 / a)
    def sqrt(self): return self._unary("sqrt", math.sqrt, lambda a, out: 0.5 / out)
    def sigmoid(self): return self._unary("sigmoid", lambda a: 1 / (1 + math.exp(-a)),
                                          lambda a, out: out * (1 - out))
    def sin(self): return self._unary("sin", math.sin, lambda a, out: math.cos(a))
    def cos(self): return self._unary("cos", math.cos, lambda a, out: -math.sin(a))
    def abs(self): return self._unary("abs", abs, lambda a, out: (a > 0) - (a < 0))

    def backward(self):
        order, seen = [], set()

        def visit(v):
            if v not in seen:
                seen.add(v)
                for child in v._prev:
                    visit(child)
                order.append(v)
        visit(self)
        self.grad = 1.0
        for v in reversed(order):
            v._backward()


# our op -> the same op written in a micrograd-style class (constants stay Python numbers)
MICRO = {
    "add": lambda a, b, p: a + b, "sub": lambda a, b, p: a - b, "mul": lambda a, b, p: a * b,
    "div": lambda a, b, p: a / b, "neg": lambda a, p: -a, "pow": lambda a, p: a ** p,
    **{name: (lambda name: lambda a, p: getattr(a, name)())(name)
       for name in ("exp", "log", "sqrt", "tanh", "sigmoid", "relu", "abs", "sin", "cos")},
}
MICRO_FORMS = forms_without("min(", "max(", "clip(", "sg(", "**tanh", "2**")
# micrograd 0.1.0 itself: + - * / **k relu (it makes - and / from + * and **-1)
MICROGRAD_FORMS = forms_without("min(", "max(", "clip(", "sg(", "**tanh", "2**", "exp(", "log(",
                                "sqrt(", "tanh(", "sigmoid(", "sin(", "cos(", "abs(")


def as_foreign(root: Value, make_leaf, ops: dict):
    """The graph of ``root`` written with another library: ``(foreign root, {name: leaf})``."""
    made, leaves = {}, {}
    for v in topological_order(root):
        if not v.parents:
            if v.kind == "constant":
                made[v] = v.data  # a literal number in the learner's code
            else:
                made[v] = leaves[v.name] = make_leaf(v.data)
        else:
            operands = [made[p] for p in v.parents]
            if v.op not in ("add", "sub", "mul", "div", "neg", "pow"):  # a method: needs a node
                operands = [make_leaf(x) if isinstance(x, float) else x for x in operands]
            made[v] = ops[v.op](*operands, v.param)
    return made[root], leaves


def usable(root: Value) -> bool:
    order = topological_order(root)
    return not has_ties(root) and all(math.isfinite(v.data) and abs(v.data) < 1e8 for v in order)


def ours_by_name(root: Value) -> dict[str, Value]:
    return {v.name: v for v in topological_order(root) if not v.parents and v.kind != "constant"}


def assert_same_gradients(root: Value, theirs: dict[str, float], library: str) -> None:
    ours = ours_by_name(root)
    scale = max([1.0] + [abs(g) for g in theirs.values() if math.isfinite(g)])
    for name, grad in theirs.items():
        assert close(ours[name].grad, grad, scale), f"d/d{name}: ours {ours[name].grad}, {library} {grad}"


@RANDOM
@given(expression_cases(forms=MICRO_FORMS))
@example(("(w) - (x)", ("w", "x"), {"w": 1.0, "x": 1.0}))  # a tie: the set's order is asked
@example(("(w) / ((x)**2 + 1)", ("w", "x"), {"w": 1.0, "x": 0.0}))
def test_micrograd_style_graphs_match_their_own_backward(case):
    source, variables, values = case
    built = parse(source).build(values)
    assume(usable(built))
    foreign, leaves = as_foreign(built, Mini, MICRO)
    root = from_micrograd(foreign, strict=True, **leaves)  # strict: any difference raises
    assert_same_gradients(root, {name: leaf.grad for name, leaf in leaves.items()}, "Mini")
    assert root.data == pytest.approx(foreign.data, rel=1e-12, abs=1e-12)


@RANDOM
@given(expression_cases(forms=MICROGRAD_FORMS))
def test_micrograd_graphs_match_micrograd(case):
    micrograd = pytest.importorskip("micrograd.engine")
    source, variables, values = case
    built = parse(source).build(values)
    assume(usable(built))
    ops = {k: MICRO[k] for k in ("add", "sub", "mul", "div", "neg", "pow", "relu")}
    try:
        foreign, leaves = as_foreign(built, micrograd.Value, ops)
        foreign.backward()  # micrograd raises where Python's float ops do (0.0 ** -1)
    except (ZeroDivisionError, OverflowError):
        assume(False)
    root = from_micrograd(foreign, strict=True, **leaves)
    assert_same_gradients(root, {name: leaf.grad for name, leaf in leaves.items()}, "micrograd")


def test_micrograd_a_times_a_keeps_both_slots_and_constant_exponents():
    micrograd = pytest.importorskip("micrograd.engine")
    a = micrograd.Value(3.0)
    out = (a * a) ** 2 - a / 2  # micrograd: a*a has one operand in its set; '**2'; 2**-1
    root = from_micrograd(out, strict=True, a=a)
    g = trace(root)
    square = next(n for n in g if g.nodes[n]["op"] == "mul" and g.in_degree(n) == 2
                  and len({u for u, _ in g.in_edges(n)}) == 1)
    assert g.nodes[square]["value"] == 9.0
    assert [g.nodes[n]["param"] for n in g if g.nodes[n]["op"] == "pow"] == [2.0]
    assert ours_by_name(root)["a"].grad == a.grad == 4 * 27 - 0.5


def test_micrograd_leaf_names_labels_and_constants():
    class Labelled(Mini):
        def __init__(self, data, children=(), op="", label=""):
            super().__init__(data, children, op)
            self.label = label
    a, b = Labelled(2.0, label="a"), Labelled(-3.0, label="b")
    root = from_micrograd((a * b + 1).relu() + a, strict=True)
    leaves = [(v.name, v.kind) for v in topological_order(root) if not v.parents]
    assert sorted(leaves) == [("1", "constant"), ("a", "parameter"), ("b", "parameter")]
    # nothing named: every leaf is a variable with a gradient
    c, d = Mini(2.0), Mini(0.5)
    root = from_micrograd(c * d + c, strict=True)
    leaves = [v for v in topological_order(root) if not v.parents]
    assert sorted(v.name for v in leaves) == ["v1", "v2"]
    assert {v.data: v.grad for v in leaves} == {2.0: 1.5, 0.5: 2.0}


def test_micrograd_mismatch_is_reported_not_hidden():
    class Buggy(Mini):
        def relu(self):  # a classic bug: the gradient passes even where relu is flat
            return self._unary("ReLU", lambda a: max(a, 0.0), lambda a, out: 1.0)
    w, x = Buggy(-2.0), Buggy(1.5)
    out = (w * x).relu() + w
    with pytest.warns(GradientMismatch) as caught:
        root = from_micrograd(out, w=w, x=x)
    differences = caught[0].message.differences
    assert {(d.node, d.what) for d in differences} >= {("w", "gradient"), ("x", "gradient")}
    assert ours_by_name(root)["w"].grad == 1.0 and w.grad == 2.5  # ours, theirs
    with pytest.raises(GradientMismatch):
        from_micrograd(out, strict=True, w=w, x=x)


def test_micrograd_op_it_lacks_is_refused_by_name():
    a = Mini(1.0)
    odd = Mini(2.0, (a,), "gelu")
    with pytest.raises(AdapterError, match="'gelu'"):
        from_micrograd(odd, a=a)


def test_micrograd_a_deep_chain_converts_without_recursion():
    v = x = Mini(0.5)
    for _ in range(5000):
        v = v * 1.0001
    root = from_micrograd(v, check=False, x=x)  # micrograd's own backward would recurse
    assert len(topological_order(root)) == 10001
    assert ours_by_name(root)["x"].grad == pytest.approx(1.0001 ** 5000)


# --- PyTorch ------------------------------------------------------------------------------------

def torch_ops(torch):
    """Our op -> the PyTorch a learner would write (constants stay Python numbers)."""
    def t(x):  # torch functions take tensors: a literal becomes one (a constant to us)
        return x if isinstance(x, torch.Tensor) else torch.tensor(x, dtype=torch.float64)
    return {
        "add": lambda a, b, p: a + b, "sub": lambda a, b, p: a - b, "mul": lambda a, b, p: a * b,
        "div": lambda a, b, p: a / b, "neg": lambda a, p: -a, "pow": lambda a, p: a ** p,
        "powv": lambda a, b, p: a ** b,
        "exp": lambda a, p: torch.exp(t(a)), "log": lambda a, p: t(a).log(),
        "sqrt": lambda a, p: torch.sqrt(t(a)), "tanh": lambda a, p: torch.tanh(t(a)),
        "sigmoid": lambda a, p: torch.sigmoid(t(a)),
        "relu": lambda a, p: torch.nn.functional.relu(t(a)), "abs": lambda a, p: abs(t(a)),
        "sin": lambda a, p: t(a).sin(), "cos": lambda a, p: torch.cos(t(a)),
        "min": lambda a, b, p: torch.minimum(t(a), t(b)),
        "max": lambda a, b, p: torch.maximum(t(a), t(b)),
        # constant bounds are numbers, as a learner writes clamp(x, -1, 1); torch takes
        # two numbers or two tensors
        "clip": lambda v, lo, hi, p: torch.clamp(t(v), lo, hi) if not any(
            isinstance(b, torch.Tensor) for b in (lo, hi)) else torch.clamp(t(v), t(lo), t(hi)),
        "sg": lambda a, p: a.detach() if isinstance(a, torch.Tensor) else a,
    }


def as_torch_function(root: Value, torch):
    ops = torch_ops(torch)

    def fn(**tensors):
        made = {}
        for v in topological_order(root):
            if not v.parents:
                made[v] = v.data if v.kind == "constant" else tensors[v.name]
            else:
                made[v] = ops[v.op](*(made[p] for p in v.parents), v.param)
        return made[root]
    return fn


@RANDOM
@given(expression_cases(low=-3.0, high=3.0))
@example(("clip(w, x, (x) + (b)**2 + 0.5)", ("w", "x", "b"), {"w": 0.3, "x": 1.0, "b": 2.0}))
@example(("sg((w) * (w)) * (w)", ("w",), {"w": 1.5}))
def test_torch_functions_match_torch_backward(case):
    torch = pytest.importorskip("torch")
    source, variables, values = case
    built = parse(source).build(values)
    assume(usable(built))
    fn = as_torch_function(built, torch)
    # clamp with tensor bounds: torch's clamp and our clip agree while lo <= hi
    root = from_torch(fn, strict=True, **values)
    leaves = {n: torch.tensor(x, dtype=torch.float64, requires_grad=True) for n, x in values.items()}
    out = fn(**leaves)
    if isinstance(out, torch.Tensor) and out.requires_grad:
        out.backward()
    theirs = {n: 0.0 if t.grad is None else t.grad.item() for n, t in leaves.items()}
    present = ours_by_name(root)
    assert_same_gradients(root, {n: g for n, g in theirs.items() if n in present}, "PyTorch")
    assert all(g == 0.0 for n, g in theirs.items() if n not in present)


def from_torch(fn, **kwargs):
    from graphviz_core import from_torch as convert
    return convert(fn, **kwargs)


def test_torch_detach_is_a_stop_gradient_carrying_its_value():
    torch = pytest.importorskip("torch")
    root = from_torch(lambda w, x: (w * x + 0.5 - x.detach()) ** 2, strict=True, w=2.0, x=1.5)
    order = topological_order(root)
    assert [v.op for v in order] == ["", "", "mul", "", "add", "sg", "sub", "pow"]
    sg = order[5]
    assert sg.data == 1.5 and sg.parents[0].name == "x"
    assert ours_by_name(root)["x"].grad == 2 * (2 * 1.5 + 0.5 - 1.5) * 2  # only through w*x
    assert order[3].kind == "constant" and order[3].data == 0.5


def test_torch_functional_clamp_no_grad_and_data():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional

    def fn(w, x, b):
        h = F.relu(w * x + b) + torch.clamp(x, min=-1.0) + x.clamp(max=0.5) + torch.clip(w, -1, 1)
        with torch.no_grad():
            scale = w * 3  # a constant for torch: a stop-gradient for us
        return h * scale + torch.square(b) + x.data * w + torch.tensor(0.1) * x + 2 ** x

    root = from_torch(fn, strict=True, w=2.0, x=1.5, b=-0.5)
    ops = [v.op for v in topological_order(root)]
    assert {"relu", "max", "min", "clip", "sg", "pow", "powv"} <= set(ops)


@pytest.mark.parametrize("fn, name", [
    (lambda x: x.floor() * x, "floor"),
    (lambda x: torch_where(x), "where"),
    (lambda x: (x > 0) * x, "gt"),
    (lambda x: x.float() * 2, "float"),
])
def test_torch_op_it_lacks_is_refused_by_name(fn, name):
    pytest.importorskip("torch")
    with pytest.raises(AdapterError, match=f"'{name}'"):
        from_torch(fn, x=1.0)


def torch_where(x):
    import torch
    return torch.where(torch.tensor(True), x, -x)


def test_torch_refuses_in_place_and_non_scalar_results():
    torch = pytest.importorskip("torch")

    def in_place(x):
        y = x * 2
        y += 1
        return y
    with pytest.raises(AdapterError, match="in-place"):
        from_torch(in_place, x=1.0)
    with pytest.raises(AdapterError, match="'stack'"):
        from_torch(lambda x: torch.stack([x, x]), x=1.0)
    with pytest.raises(AdapterError, match=r"shape \(2,\)"):
        from_torch(lambda x: x * torch.ones(2, dtype=torch.float64), x=1.0)
    with pytest.raises(AdapterError, match="depend"):
        from_torch(lambda x: torch.tensor(2.0, dtype=torch.float64), x=1.0)


def test_torch_mismatch_is_reported():
    torch = pytest.importorskip("torch")
    # a tie at maximum: torch halves the gradient, we give it to the first input
    with pytest.warns(GradientMismatch, match="gradient of w"):
        from_torch(lambda w, v: torch.maximum(w, v) * 2, w=1.0, v=1.0)


# --- a graph rebuilt for new leaf values --------------------------------------------------------

@settings(max_examples=examples(200, ci=100), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expression_cases(), expression_cases())
def test_graph_program_rebuilds_the_graph_for_new_values(case, other):
    source, variables, values = case
    new = {name: other[2].get(name, 0.25) for name in variables}
    program = GraphProgram(parse(source).build(values))
    assert set(program.variables) == set(variables) and program.defaults == values
    rebuilt, expected = trace(program.build(new)), trace(parse(source).build(new))
    assert list(rebuilt) == list(expected)
    for n in expected:
        a, b = rebuilt.nodes[n], expected.nodes[n]
        for key in ("name", "op", "param", "kind", "active"):
            assert a[key] == b[key]
        for key in ("value", "grad"):
            assert a[key] == b[key] or (a[key] != a[key] and b[key] != b[key])


def test_graph_program_names_every_slider_leaf_once():
    x1, x2, c = Value(1.0, "x"), Value(2.0, "x"), Value(3.0)
    k = Value(0.5, "k", requires_grad=False, kind="constant")
    program = GraphProgram(x1 * x2 + c * k + 2)
    assert program.variables == ("x", "x_2", "v1", "k")
    root = program.build({"x_2": 5.0, "k": 1.0})
    assert root.data == 1.0 * 5.0 + 3.0 * 1.0 + 2
    assert [v.kind for v in topological_order(root) if not v.parents] == \
        ["parameter", "parameter", "parameter", "constant", "constant"]


def test_apply_covers_every_op():
    assert set(APPLY) == set(OPS)


def test_conversion_warns_nothing_when_all_agree():
    a = Mini(2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from_micrograd((a * a).tanh() + a, a=a)


def test_adapter_doctests():
    import doctest

    from graphviz_core import adapter_checks, micrograd_adapter, rebuild, torch_adapter
    for module in (rebuild, adapter_checks, micrograd_adapter, torch_adapter):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, module.__name__
