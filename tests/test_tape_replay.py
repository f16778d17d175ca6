"""The browser's tape replay (static/explorer/replay.mjs) agrees with the Python engine.

500 random expressions - every op, fan-out, stop-gradients, requires_grad
pruning - are traced in Python, exported with ``to_tape`` and replayed in Node
with new leaf values; values, gradients and local derivatives must agree within
1e-12 relative, and the skipped-work counts exactly.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from components.scene import to_json
from graphviz_core import ExpressionError, parse, to_tape, trace
from graphviz_core.engine import OPS, format_number

from extremes import INPUTS, LEAVES, decode, encode, same_float
from node_calls import call_js

ROOT = Path(__file__).resolve().parent.parent
REPLAY = ROOT / "static/explorer/replay.mjs"
UNARY = ["exp", "log", "sqrt", "tanh", "sigmoid", "relu", "abs", "sin", "cos", "sg", "-"]
BINARY = ["+", "-", "*", "/", "**", "min", "max"]
EXPONENTS = ["2", "3", "0.5", "-1", "-2", "1.5", "100", "-100", "99"]

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
            return f"({a})**{rng.choice(EXPONENTS + ['(' + b + ')'])}"
        return f"{op}({a}, {b})" if op in ("min", "max") else f"({a}) {op} ({b})"
    c = random_expression(rng, names, depth + 1)
    return f"clip({a}, {b}, {c})"


def _leaf(rng: random.Random) -> float:
    return rng.choice(LEAVES) if rng.random() < 0.5 else rng.uniform(-2, 2)


def _random_cases(count: int, seed: int = 7):
    rng = random.Random(seed)
    while count:
        names = ["u", "v", "w"][: rng.randint(1, 3)]
        text = random_expression(rng, names)
        # reuse a variable on purpose: fan-out in most graphs
        text = f"({text}) * {rng.choice(names)} + {rng.choice(names)}"
        first = {n: _leaf(rng) for n in names}
        second = {n: _leaf(rng) for n in names}
        off = {n: False for n in names if rng.random() < 0.2}
        yield text, first, second, off
        count -= 1


def _cases(count: int = 3000):
    cases, expected, ops_seen = [], [], set()
    known = [(text, first, second, {}) for text, first, second in KNOWN]
    for text, first, second, off in known + list(_random_cases(count)):
        try:
            expression = parse(text)
        except ExpressionError:  # a constant exponent beyond +-100: refused, as it should be
            continue
        first = {n: first.get(n, 1.0) for n in expression.variables}
        second = {n: second.get(n, 1.0) for n in expression.variables}
        graph = trace(expression.build(first, off))
        ops_seen.update(graph.nodes[n]["op"] for n in graph)
        # the browser replays the same structure with new slider values
        reference = trace(expression.build(second, off))
        cases.append({"tape": json.loads(to_json(to_tape(graph))),
                      "overrides": {k: encode(v) for k, v in second.items()}})
        expected.append((text, second, reference))
    return cases, expected, ops_seen


def _close(a, b) -> bool:
    """Same sign (zeros too), inf and nan exactly, 1e-12 relative (absolute below 1)."""
    a, b = float(a), float(b)
    if same_float(a, b):
        return True
    if a != a or b != b or math.isinf(a) or math.isinf(b):
        return False
    return (a > 0) == (b > 0) and abs(a - b) <= 1e-12 * max(1.0, abs(a), abs(b))


@pytest.fixture(scope="module")
def replayed():
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is needed to run the browser module's replay (apt-get install nodejs)")
    cases, expected, ops_seen = _cases()
    run = subprocess.run([node, str(ROOT / "tests/js/replay_tapes.mjs"), str(REPLAY)],
                         input=json.dumps(cases), capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return expected, json.loads(run.stdout), ops_seen


def test_every_op_is_exercised(replayed):
    _, _, ops_seen = replayed
    assert set(OPS) <= ops_seen, set(OPS) - ops_seen


def test_values_gradients_and_locals_agree(replayed):
    expected, results, _ = replayed
    for (text, values, graph), result in zip(expected, results):
        for n in graph:
            node = graph.nodes[n]
            assert _close(node["value"], decode(result["value"][n])), (text, values, n, node)
            if node["active"]:
                assert _close(node["grad"], decode(result["grad"][n])), (text, values, n, node)
        for u, v, k, data in graph.edges(keys=True, data=True):
            if data["pruned"] or data["blocked"]:
                continue
            assert _close(data["local"], decode(result["locals"][v][k])), (text, values, u, v, k)


def test_the_known_disagreements_agree_now(replayed):
    expected, results, _ = replayed
    roots = {text: (graph.nodes[graph.graph["root"]]["value"],
                    decode(result["value"][graph.graph["root"]]))
             for (text, _, graph), result in zip(expected[:len(KNOWN)], results)}
    assert roots["tanh(((u - u) * (-u))**-1) * u"] == (-3.0, -3.0)  # as torch float64 says
    assert roots["x**100"] == (math.inf, math.inf)


def test_faults_are_named_alike(replayed):
    expected, results, _ = replayed
    named = set()
    for (text, values, graph), result in zip(expected, results):
        for n in graph:
            node = graph.nodes[n]
            assert (node["value_fault"] or "") == result["fault"][n], (text, values, n, node)
            assert (node["grad_fault"] or "") == result["gradFault"][n], (text, values, n, node)
            named.add(result["fault"][n].split(":")[0])
            named.add(result["gradFault"][n])
    # random expressions at extreme values reach every fault
    assert {"overflow", "log of zero", "log of a negative number", "division by zero",
            "square root of a negative number", "zero to a negative power",
            "negative base to a fractional power", "non-finite input", "undefined",
            "gradient is nan", "gradient overflows to infinity"} - named == set()


def test_pruning_counts_agree(replayed):
    expected, results, _ = replayed
    for (text, _, graph), result in zip(expected, results):
        assert (result["evaluated"], result["skipped"], result["blocked"]) == (
            graph.graph["evaluated"], graph.graph["skipped"], graph.graph["blocked"]), text


def test_numbers_read_alike():
    rng = random.Random(3)
    # ties in binary (1234.5, 0.125) round to even in Python, up in toPrecision
    numbers = list(INPUTS) + [9999.6, 99995.0, 0.00012345, 1.5e-5, 123456.0, -0.5e-4, 1e15,
                              2.5, 0.125, 1234.5, -1234.5, 1235.5, 123456.5, 0.03125, 1e22]
    numbers += [rng.choice([-1, 1]) * 10 ** rng.uniform(-12, 12) for _ in range(2000)]
    numbers += [round(rng.uniform(-100, 100), rng.randint(0, 4)) for _ in range(500)]
    numbers += [rng.randint(-10**7, 10**7) / 2 ** rng.randint(0, 12) for _ in range(2000)]
    calls = [("fmt", [x, digits]) for x in numbers for digits in (4, 6)]
    got = call_js(REPLAY, calls, numbers=False)
    for (_, (x, digits)), text in zip(calls, got):
        assert text == format_number(x, digits), (x, digits)
