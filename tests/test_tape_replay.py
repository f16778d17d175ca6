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

from graphviz_core import parse, to_tape, trace
from graphviz_core.engine import OPS
from components.scene import to_json

ROOT = Path(__file__).resolve().parent.parent
UNARY = ["exp", "log", "sqrt", "tanh", "sigmoid", "relu", "abs", "sin", "cos", "sg", "-"]
BINARY = ["+", "-", "*", "/", "**", "min", "max"]


def random_expression(rng: random.Random, names: list[str], depth: int = 0) -> str:
    if depth > 3 or rng.random() < 0.25:
        return rng.choice(names) if rng.random() < 0.8 else f"{rng.uniform(-2, 2):.3g}"
    roll = rng.random()
    a = random_expression(rng, names, depth + 1)
    if roll < 0.35:
        f = rng.choice(UNARY)
        return f"-({a})" if f == "-" else f"{f}({a})"
    b = random_expression(rng, names, depth + 1)
    if roll < 0.9:
        op = rng.choice(BINARY)
        if op == "**":
            return f"({a})**{rng.choice(['2', '3', '0.5', '-1', '(' + b + ')'])}"
        return f"{op}({a}, {b})" if op in ("min", "max") else f"({a}) {op} ({b})"
    c = random_expression(rng, names, depth + 1)
    return f"clip({a}, {b}, {c})"


def _cases(count: int = 500, seed: int = 7):
    rng = random.Random(seed)
    cases, expected = [], []
    ops_seen = set()
    while len(cases) < count:
        names = ["u", "v", "w"][: rng.randint(1, 3)]
        text = random_expression(rng, names)
        # reuse a variable on purpose: fan-out in most graphs
        text = f"({text}) * {rng.choice(names)} + {rng.choice(names)}"
        expression = parse(text)
        first = {n: rng.uniform(-2, 2) for n in expression.variables}
        switched_off = {n: False for n in expression.variables if rng.random() < 0.2}
        graph = trace(expression.build(first, switched_off))
        ops_seen.update(graph.nodes[n]["op"] for n in graph)
        # the browser replays the same structure with new slider values
        second = {n: rng.uniform(-2, 2) for n in expression.variables}
        reference = trace(expression.build(second, switched_off))
        cases.append({"tape": json.loads(to_json(to_tape(graph))), "overrides": second})
        expected.append(reference)
    return cases, expected, ops_seen


def _close(a, b) -> bool:
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= 1e-12 * max(1.0, abs(a), abs(b))


@pytest.fixture(scope="module")
def replayed():
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is needed to run the browser module's replay (apt-get install nodejs)")
    cases, expected, ops_seen = _cases()
    run = subprocess.run([node, str(ROOT / "tests/js/replay_tapes.mjs"),
                          str(ROOT / "static/explorer/replay.mjs")],
                         input=json.dumps(cases), capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return expected, json.loads(run.stdout), ops_seen


def test_every_op_is_exercised(replayed):
    _, _, ops_seen = replayed
    assert set(OPS) <= ops_seen, set(OPS) - ops_seen


def test_values_gradients_and_locals_agree(replayed):
    expected, results, _ = replayed
    for graph, result in zip(expected, results):
        for n in graph:
            node = graph.nodes[n]
            assert _close(node["value"], _decode(result["value"][n])), (n, node)
            if node["active"]:
                assert _close(node["grad"], _decode(result["grad"][n])), (n, node)
        for u, v, k, data in graph.edges(keys=True, data=True):
            if data["pruned"] or data["blocked"]:
                continue
            assert _close(data["local"], _decode(result["locals"][v][k])), (u, v, k)


def test_faults_are_named_alike(replayed):
    expected, results, _ = replayed
    named = 0
    for graph, result in zip(expected, results):
        for n in graph:
            assert (graph.nodes[n]["value_fault"] or "") == result["fault"][n], (n, graph.nodes[n])
            assert (graph.nodes[n]["grad_fault"] or "") == result["gradFault"][n], (n, graph.nodes[n])
            named += bool(result["fault"][n])
    assert named > 20  # random expressions do leave domains: log of negatives, 0/0, ...


def test_pruning_counts_agree(replayed):
    expected, results, _ = replayed
    for graph, result in zip(expected, results):
        assert (result["evaluated"], result["skipped"], result["blocked"]) == (
            graph.graph["evaluated"], graph.graph["skipped"], graph.graph["blocked"])


def _decode(x):
    return {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}.get(x, x)
