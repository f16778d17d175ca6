"""graphviz_core.expression: random expressions against finite differences, the parser under
fuzzing and known attacks, and the error messages."""

from __future__ import annotations

import builtins
import doctest
import math
import pathlib
import random
import time

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from expression_strategies import (LANGUAGE, VALID, check_fanout_rule, expression_cases,
                                   finite_difference_check)
from hypothesis_budget import examples
from graphviz_core import ExpressionError, gradients, parse, topological_order, trace
from graphviz_core.expression import LIMITS

# --- random expression trees against finite differences ---------------------------------------

_checked = {"usable": 0, "skipped": 0}


@settings(max_examples=examples(600, ci=300), deadline=None,
          suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(expression_cases())
def test_random_expressions_match_finite_differences(case):
    source, variables, values = case
    expression = parse(source)
    assert set(expression.variables) == set(variables)
    value, grads = gradients(source, values)
    assert list(grads) == list(expression.variables)
    root, leaves = expression._build(values)
    root.backward()
    assert value == root.data or (math.isnan(value) and math.isnan(root.data))
    usable, problems = finite_difference_check(root, leaves, grads)
    if not usable:
        _checked["skipped"] += 1
    assume(usable)
    _checked["usable"] += 1
    assert not problems, f"{source} at {values}: {problems}"
    check_fanout_rule(trace(root))


def test_random_expressions_were_mostly_usable():
    total = _checked["usable"] + _checked["skipped"]
    if total == 0:
        pytest.skip("run together with the random-expression test")
    print(f"finite-difference points: {_checked['usable']} used, {_checked['skipped']} skipped")
    assert _checked["usable"] >= 0.5 * total


@settings(max_examples=200, deadline=None)
@given(expression_cases())
def test_build_is_deterministic(case):
    source, _, values = case
    e = parse(source)
    a, b = e.build(values), e.build(values)
    ga, gb = trace(a), trace(b)
    assert [ga.nodes[n]["name"] for n in ga] == [gb.nodes[n]["name"] for n in gb]
    assert list(ga.edges(keys=True)) == list(gb.edges(keys=True))
    same = lambda x, y: x == y or (x != x and y != y)
    assert all(same(ga.nodes[n]["grad"], gb.nodes[n]["grad"]) for n in ga)
    assert e.variables == parse(source).variables


# --- the language ----------------------------------------------------------------------------

def test_variables_in_order_of_first_appearance():
    assert parse("(w*x + b - y)**2").variables == ("w", "x", "b", "y")
    assert parse("b + a*b + c").variables == ("b", "a", "c")
    assert parse("2 + 3").variables == ()
    assert parse("2 + 3").build({}).data == 5.0


@pytest.mark.parametrize("source, values, expected", [
    ("x + 2*y - 3/z", {"x": 1, "y": 2, "z": 4}, 1 + 4 - 0.75),
    ("-x + +y", {"x": 1, "y": 2}, 1.0),
    ("x**2**0.5", {"x": 4}, 4 ** 2 ** 0.5),
    ("-x**2", {"x": 3}, -9.0),
    ("2**x", {"x": 3}, 8.0),
    ("exp(log(x)) + sqrt(x) + tanh(0) + sigmoid(0) + relu(-x) + abs(-x)", {"x": 4}, 10.5),
    ("sin(x)**2 + cos(x)**2", {"x": 0.7}, 1.0),
    ("min(x, y) + max(x, y) + clip(x, 0, 1)", {"x": 3, "y": -1}, 3.0),
    ("sg(x) * x", {"x": 3}, 9.0),
    ("x \u00d7 y \u2212 x \u00f7 y", {"x": 3, "y": 2}, 4.5),  # look-alikes pasted from slides
    ("(\n x\n + y\n)", {"x": 1, "y": 2}, 3.0),
])
def test_language(source, values, expected):
    assert math.isclose(parse(source).build(values).data, expected, rel_tol=1e-12)


def test_constant_exponent_is_a_parameter():
    L = parse("x**(1 + 1)").build({"x": 3})
    assert L.op == "pow" and L.param == 2.0 and len(L.parents) == 1
    L = parse("x**y").build({"x": 3, "y": 2})
    assert L.op == "powv"


def test_variable_shared_by_all_uses():
    L = parse("x*x + x").build({"x": 3})
    leaves = [v for v in topological_order(L) if v.name == "x"]
    assert len(leaves) == 1
    L.backward()
    assert leaves[0].grad == 7.0


def test_gradients_has_an_entry_for_every_variable():
    value, grads = gradients("sg(x) * y + 0*z", {"x": 3, "y": 2, "z": 5})
    assert value == 6.0 and grads == {"x": 0.0, "y": 3.0, "z": 0.0}
    value, grads = gradients("sg(x*w) + w", {"x": 3, "w": 2})
    assert grads == {"x": 0.0, "w": 1.0}
    assert gradients("(w*x + b - y)**2", {"w": 2, "x": 1.5, "b": 0.5, "y": 1}) == \
        (6.25, {"w": 7.5, "x": 10.0, "b": 5.0, "y": -5.0})


def test_build_with_requires_grad_and_kinds():
    L = parse("w*x").build({"w": 2, "x": 3}, {"x": False}, {"w": "constant"})
    w, x = L.parents
    assert (w.kind, x.kind, w.requires_grad, x.requires_grad) == ("constant", "data", True, False)


# --- errors: messages and positions -----------------------------------------------------------

ERRORS = [
    # (source, a word the message must contain, the expected position or None for "any")
    ("w * foo(x)", "unknown function", 4),
    ("w * __x", "unknown name", 4),
    ("w + _x", "unknown name", 4),
    ("exp + 1", "function", 0),
    ("exp(x, y)", "argument", 0),
    ("min(x)", "2 arguments", 0),
    ("clip(x, 1)", "3 arguments", 0),
    ("sg()", "1 argument", 0),
    ("min(x, y=2)", "keyword", 9),
    ("x.real", "attribute", 0),
    ("x.__class__.__bases__", "attribute", 0),
    ("x[0]", "index", 0),
    ("x[1:2]", "index", 0),
    ("lambda: x", "lambda", 0),
    ("x < y", "comparison", 0),
    ("x and y", "'and'", 0),
    ("not x", "'not'", 0),
    ("x if y else z", "'if", 0),
    ("'abc'", "string", 0),
    ("x + 'abc'", "string", 4),
    ("b'abc'", "string", 0),
    ("f'{x}'", "string", 0),
    ("1j * x", "complex", 0),
    ("x // 2", "'//'", 0),
    ("x % 2", "'%'", 0),
    ("x @ y", "'@'", 0),
    ("x ^ 2", "'^'", 0),
    ("~x", "'~'", 0),
    ("x = 1", "assignment", 0),
    ("(x := 1)", "assignment", 1),
    ("x += 1", "assignment", 0),
    ("x; y", "single expression", 3),
    ("x\ny", "single expression", 2),
    ("import os", "statement", 0),
    ("", "empty", 0),
    ("   \n\t ", "empty", 0),
    ("# only a comment", "empty", 0),
    ("x" + " " * LIMITS["length"], "too long", LIMITS["length"]),
    ("x**101", "exponent", 3),
    ("x**-100.5", "exponent", 3),
    ("x**(50*3)", "exponent", 4),
    ("9**9**9", "exponent", 3),
    ("x**(1/0)", "division by zero", 4),
    ("x**((-8)**(1/3))", "fractional", 4),
    ("1e999 * x", "too large", 0),
    ("-" * 300 + "x", "nested", None),
    ("sin(" * 210 + "x" + ")" * 210, "nested", None),
    ("(" * 250 + "x" + ")" * 250, "nested", None),
    ("x +", "syntax", 3),
    ("(x + y", "never closed", 0),
    ("x + y)", "syntax", 5),
    ("x $ y", "unexpected character", 2),
    ("x\x00", "control character", 1),
    ("x + \u03b1", "unknown name", 4),
    ("True * x", "not a number", 0),
    ("None", "not a number", 0),
    ("x" * 40, "too long", 0),
    ("x\r+ foo(y)", "", None),  # a lone CR ends a line, as in Python
    ("\n\nfoo(x)", "unknown function", 2),
    ("(x +\n foo(y))", "unknown function", 6),
    ("x + \u00d7 foo(y)", "syntax", None),
    (" + ".join(f"v{i}" for i in range(LIMITS["variables"] + 1)), "too many variables", None),
    ("x" + "+x" * 1000, "too long", LIMITS["length"]),
]


def test_too_many_nodes(monkeypatch):
    # 2,000 characters make at most ~2,000 nodes: the node limit is a second line of defence
    monkeypatch.setitem(LIMITS, "nodes", 50)
    with pytest.raises(ExpressionError, match="too many nodes") as info:
        parse("+".join(["x"] * 30))
    assert 0 <= info.value.position < 60


@pytest.mark.parametrize("source, word, position", ERRORS, ids=[repr(e[0][:30]) for e in ERRORS])
def test_error_messages(source, word, position):
    with pytest.raises(ExpressionError) as info:
        parse(source)
    error = info.value
    assert isinstance(error, ValueError)
    assert word in error.message, error.message
    assert "(IndexError)" not in error.message and "cannot read" not in error.message
    if position is not None:
        assert error.position == position, (error.position, error.message)
    assert error.position is None or 0 <= error.position <= len(source)
    assert error.message in str(error)


def test_missing_and_bad_values():
    e = parse("w*x")
    with pytest.raises(ExpressionError, match="missing value for variable 'x'"):
        e.build({"w": 1})
    with pytest.raises(ExpressionError, match="not a number"):
        e.build({"w": 1, "x": "abc"})
    with pytest.raises(ExpressionError, match="not a number"):
        e.build({"w": 1, "x": None})
    with pytest.raises(ExpressionError, match="missing"):
        gradients("w*x", {"x": 1})


def test_non_text_input():
    for bad in (None, 3, b"x", ["x"]):
        with pytest.raises(ExpressionError, match="text"):
            parse(bad)


# --- fuzzing -------------------------------------------------------------------------------
# Here: text made of the language's own characters. Random text of any kind and mutations of
# valid expressions are fuzzed (and timed) in test_reliability.py.

# CPU time of the calling thread, not wall time: a loaded machine (a class's laptop, CI beside
# other jobs) stalls a call for as long as it likes, but cannot make it compute more
_clock = time.thread_time
_timings: list[float] = []
_slow: list[str] = []  # inputs that took over 0.1 s once: timed again in test_rejections_are_fast


def _record(elapsed: float, source) -> None:
    _timings.append(elapsed)
    if elapsed > 0.1:
        _slow.append(source)


def _parse_only_expression_errors(source) -> None:
    start = _clock()
    try:
        e = parse(source)
    except ExpressionError as error:
        assert isinstance(error.message, str) and error.message
        assert error.position is None or isinstance(error.position, int)
    else:
        # what parses must build, with no exception for any value
        values = {name: 0.5 for name in e.variables}
        try:
            root = e.build(values)
        except ExpressionError as error:  # too many nodes is the only build-time complaint
            assert "nodes" in error.message
        else:
            root.backward()
    _record(_clock() - start, source)


def fuzz(n: int) -> settings:
    return settings(max_examples=n, deadline=None, suppress_health_check=list(HealthCheck),
                    database=None)


@fuzz(examples(4000, ci=2000))
@given(st.text(alphabet=LANGUAGE, max_size=120))
def test_fuzz_language_characters(source):
    _parse_only_expression_errors(source)


def test_fuzz_deterministic_random_strings():
    rng = random.Random(1234)
    for _ in range(1000):
        n = rng.randint(0, 60)
        _parse_only_expression_errors("".join(rng.choice(LANGUAGE) for _ in range(n)))


ATTACKS = [
    "__import__('os').system('echo hacked')",
    "__import__('os')",
    "().__class__.__bases__[0].__subclasses__()",
    "x.__class__",
    "x.__dict__",
    "exp.__globals__",
    "(lambda: 1)()",
    "lambda x: x",
    "9**9**9",
    "9**9**9**9",
    "x**9**9**9",
    "(-9)**9**9",
    "2**2**2**2**2**2",
    "1" * 5000,
    "1" * 4300 + "*x",
    "1" * 1999,
    "1" * 1999 + "0.5",
    "1e308*10",
    "x**1e308",
    "(" * 10_000 + "x" + ")" * 10_000,
    "(" * 199 + "x" + ")" * 199,
    "-" * 10_000 + "x",
    "-" * 1999 + "x",
    "+" * 1999 + "x",
    "-" * 1999 + "1",
    "1**" * 600 + "x",
    "x**" + "1**" * 600 + "1",
    "-1**" * 499 + "x",
    "x**-" * 499 + "x",
    "x**(" + "-" * 1990 + "x)",
    "x**(" + "-" * 1990 + "1)",
    "x**(" + "1+" * 996 + "1)",
    "x**(1+" * 200 + "1" + ")" * 200,
    "x-(" * 300 + "x" + ")" * 300,
    "exp(" * 199 + "x" + ")" * 199,
    "min(" * 150 + "x" + ", x)" * 150,
    "x+" * 999 + "x",
    "x*" * 999 + "x",
    "(x+y)*" * 333 + "x",
    "[" * 1000,
    "{" * 1000 + "}" * 1000,
    "x\x00",
    "\x00" * 100,
    "x\x00 + __import__('os')",
    "x" * (1 << 20),
    "(" * (1 << 20),
    "x" + " " * (1 << 20),
    "\ufeffx",
    "x\r\ny",
    "x\ry",
    "x \\\n+ y",
    "\\",
    "x # comment",
    "#",
    "async def f(): pass",
    "yield x",
    "await x",
    "print(x)",
    "eval('1')",
    "exec('1')",
    "compile('1', '', 'eval')",
    "open('/etc/passwd')",
    "globals()",
    "exp(x, *y)",
    "exp(**y)",
    "f(x)(y)",
    "exp(x)(y)",
    "x()",
    "'\\N{LATIN SMALL LETTER A}'",
    "'\\N{nonexistent}'",
    "b'\\x' + x",
    "0x" + "f" * 1990,
    "0b" + "1" * 1990,
    "1_" * 900 + "1",
    "1e" + "9" * 1000,
    "0." + "0" * 1000 + "1",
    "x if x else x",
    "[i for i in x]",
    "{x: y}",
    "x, y",
    "*x, y = x",
    "del x",
    "x: int",
    "assert x",
    "raise x",
    "global x",
    "with x: pass",
    "match x:\n case 1: pass",
    "\u00d7" * 1000,
    "\ud800",
    "x\u2028y",
    "\U0001d465 + 1",
    "\uff58 * 2",
]


@pytest.mark.parametrize("source", ATTACKS, ids=[repr(a[:24]) + f"/{len(a)}" for a in ATTACKS])
def test_known_attacks(source):
    start = _clock()
    try:
        e = parse(source)
    except ExpressionError:
        pass
    else:  # a few are harmless and valid (a comment, a line continuation, NFKC letters)
        assert all(name in ("x", "y") for name in e.variables), e.variables
    _record(_clock() - start, source)


def test_no_eval_exec_or_compile_of_user_text(monkeypatch):
    import ast

    real_compile = builtins.compile
    calls = []

    def forbidden(*args, **kwargs):
        raise AssertionError("eval/exec called")

    def only_ast_compile(source, filename, mode, flags=0, *args, **kwargs):
        # ast.parse is compile(..., flags=PyCF_ONLY_AST): a syntax tree, never code
        if not flags & ast.PyCF_ONLY_AST:
            raise AssertionError("compile called to make code")
        calls.append(source)
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    monkeypatch.setattr(builtins, "compile", only_ast_compile)
    for source in VALID + ATTACKS[:20]:
        try:
            e = parse(source)
        except ExpressionError:
            continue
        e.build({n: 0.5 for n in e.variables}).backward()
    assert calls  # ast.parse went through the patched compile


def test_sources_have_no_eval_exec_or_sympify():
    import graphviz_core
    root = pathlib.Path(graphviz_core.__file__).parent
    for path in sorted(root.glob("*.py")):
        name, text = path.name, path.read_text()
        for word in ("eval(", "exec(", "sympify", "__import__"):
            assert word not in text, (name, word)


def test_rejections_are_fast():
    """Runs last in this module: reports the slowest call seen by the fuzzers and attacks, and
    times again (CPU time, best of 3) every input one of them saw over 100 ms and every known
    attack, so it checks something when it runs alone too."""
    if _timings:
        print(f"\nparse: {len(_timings)} calls, slowest {max(_timings) * 1000:.1f} ms CPU "
              f"(target < 100 ms), median {sorted(_timings)[len(_timings) // 2] * 1e6:.0f} us, "
              f"{len(_slow)} over 100 ms")
    for source in dict.fromkeys([*_slow, *ATTACKS]):
        best = math.inf
        for _ in range(3):
            start = _clock()
            try:
                parse(source)
            except ExpressionError:
                pass
            best = min(best, _clock() - start)
        assert best < 0.5, f"{best:.3f} s of CPU to handle {source[:40]!r}"


def test_expression_doctests():
    import graphviz_core.expression as module
    result = doctest.testmod(module)
    assert result.failed == 0 and result.attempted > 0
