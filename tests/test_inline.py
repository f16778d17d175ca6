"""graphviz_core/inline.py: a helper written once is put in place at each call, and the
rewritten function computes exactly what the plain one does (the backward pass's fan-out
rule is written once, in its helper ``pass_on``)."""

from __future__ import annotations

import doctest
import importlib.util
import math
import struct

import pytest

from extremes import KNOWN, extreme_cases
from graphviz_core import ExpressionError, Value, engine, inline, parse
from graphviz_core.inline import InlineError


def test_the_examples_of_the_module():
    result = doctest.testmod(inline)
    assert result.failed == 0 and result.attempted > 0


def test_the_backward_pass_runs_with_its_helper_in_place():
    code = engine.backward_pass.__code__
    assert "pass_on" not in code.co_varnames + code.co_names + code.co_cellvars
    assert not code.co_cellvars and not code.co_freevars  # the counters are plain locals
    assert engine.backward_pass.plain.__code__.co_cellvars  # the plain one has a closure
    assert engine.backward_pass.__doc__ == engine.backward_pass.plain.__doc__


def _bits(order) -> list[bytes]:
    return [struct.pack("<d", v.grad) for v in order]


def _graphs():
    for text, first, _second in KNOWN:
        expression = parse(text)
        yield expression.build({n: first.get(n, 1.0) for n in expression.variables})
    for text, first, _second, off in extreme_cases(400):
        try:
            expression = parse(text)
        except ExpressionError:  # a constant exponent beyond +-100: refused, as it should be
            continue
        yield expression.build({n: first.get(n, 1.0) for n in expression.variables}, off)
    # a small network: fan-out from every weight, leaves that need no gradient
    weights = [Value(math.sin(i), f"w{i}") for i in range(6)]
    loss = None
    for point in range(5):
        x = Value(point / 3, "x", requires_grad=False)
        out = ((weights[0] * x + weights[1]).tanh() * weights[2] + weights[3] * x).relu()
        term = (out - Value(1.0, "y", requires_grad=False)) ** 2 + weights[4] * 0.0
        loss = term if loss is None else loss + term
    yield loss


def test_the_rewritten_backward_pass_gives_the_plain_ones_gradients_bit_for_bit():
    count = 0
    for root in _graphs():
        rewritten, plain = [], []
        live = object()
        report = engine.backward_pass(root, rewritten, live)
        grads, marks = _bits(rewritten), [v._mark is live for v in rewritten]
        live = object()
        assert engine.backward_pass.plain(root, plain, live) == report
        assert list(map(id, plain)) == list(map(id, rewritten)) and _bits(plain) == grads
        assert [v._mark is live for v in plain] == marks
        count += 1
    assert count > 300


def _module(tmp_path, body: str):
    path = tmp_path / "helped.py"
    path.write_text("from graphviz_core.inline import inline, inlined\n\n\n@inlined\n"
                    "def f(xs, y=0):\n" + body, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("helped", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_helper_is_put_at_each_call_and_renamed(tmp_path):
    module = _module(tmp_path, (
        "    @inline\n"
        "    def add(x, w):\n"
        "        nonlocal s\n"
        "        t = x * w\n"
        "        s += t\n"
        "    s = 0\n"
        "    for x in xs:\n"
        "        two = 2\n"
        "        add(x, two)\n"
        "        add(y, two)\n"
        "    return s\n"))
    assert module.f([1, 2, 3], 10) == module.f.plain([1, 2, 3], 10) == 72
    assert "add" not in module.f.__code__.co_varnames


def test_the_rewritten_function_keeps_the_plain_ones_defaults_names_and_docstring(tmp_path):
    module = _module(tmp_path, (
        '    """Doubles."""\n'
        "    @inline\n"
        "    def add(x):\n"
        "        s.append(2 * x + y)\n"
        "    s = []\n"
        "    for x in xs:\n"
        "        add(x)\n"
        "    return s\n"))
    f = module.f
    assert f([1, 2]) == f.plain([1, 2]) == [2, 4] and f([1], 1) == [3]
    assert (f.__name__, f.__qualname__, f.__doc__, f.__defaults__, f.__module__) == (
        "f", "f", "Doubles.", (0,), "helped")
    assert f.__code__ is not f.plain.__code__


def test_a_function_reading_an_enclosing_functions_names_is_refused():
    def outer():
        k = 2

        def f(xs):
            @inline
            def add(x):
                s.append(k * x)
            s = []
            for x in xs:
                add(x)
            return s
        return f

    with pytest.raises(InlineError, match="enclosing function"):
        inline.inlined(outer())


@pytest.mark.parametrize("helper, call, message", [
    ("        return x\n", "add(x)", "return"),
    ("        while True:\n            break\n", "add(x)", "break"),
    ("        x = 1\n", "add(x)", "assigns its parameter"),
    ("        s.append(x)\n", "add(x + 1)", "plain name"),
    ("        s.append(x)\n", "s.append(add)", "other than as a call statement"),
    ("        total = x\n        s.append(total)\n", "total = add(x)", "uses its name"),
    ("        s.append(x)\n", "add(x=x)", "plain name"),
])
def test_what_cannot_be_put_in_place_unchanged_is_refused(tmp_path, helper, call, message):
    body = ("    @inline\n    def add(x):\n" + helper + "    s = []\n    for x in xs:\n"
            f"        {call}\n    return s\n")
    with pytest.raises(InlineError, match=message):
        _module(tmp_path, body)
