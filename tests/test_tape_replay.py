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
from pathlib import Path

import pytest

from components.scene import to_json
from graphviz_core import ExpressionError, parse, to_tape, trace
from graphviz_core.engine import OPS, format_number

from extremes import INPUTS, KNOWN, decode, encode, extreme_cases, same_float
from node_calls import call_js, run_node

ROOT = Path(__file__).resolve().parent.parent
REPLAY = ROOT / "static/explorer/replay.mjs"
def _cases(count: int = 3000):
    cases, expected, ops_seen = [], [], set()
    known = [(text, first, second, {}) for text, first, second in KNOWN]
    for text, first, second, off in known + list(extreme_cases(count)):
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
    cases, expected, ops_seen = _cases()
    out = run_node([str(ROOT / "tests/js/replay_tapes.mjs"), str(REPLAY)], json.dumps(cases))
    return expected, json.loads(out), ops_seen


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


def test_unmoved_variables_named_like_object_properties_keep_their_values():
    """The page's overrides hold only the sliders moved. A variable named ``toString`` or
    ``constructor`` that was not moved keeps its value: the replay once asked each variable
    ``name in overrides``, which Object's own ``toString`` answered (its leaf became nan)."""
    expression = parse("toString * x + constructor")
    at = {"toString": 3.0, "x": 2.0, "constructor": 0.5}
    tape = json.loads(to_json(to_tape(trace(expression.build(at)))))
    out, = json.loads(run_node([str(ROOT / "tests/js/replay_tapes.mjs"), str(REPLAY)],
                               json.dumps([{"tape": tape, "overrides": {"x": 5.0}}])))
    reference = trace(expression.build({**at, "x": 5.0}))
    root = next(n for n in reference if reference.out_degree(n) == 0)
    assert decode(out["value"][tape["root"]]) == reference.nodes[root]["value"] == 15.5
    assert decode(out["value"][tape["variable"]["toString"]]) == 3.0
    assert decode(out["grad"][tape["variable"]["x"]]) == 3.0
