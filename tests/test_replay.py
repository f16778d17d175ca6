"""graphviz_core.tape.Replay: a traced graph's numbers recomputed over its tape are, bit for bit,
the numbers of a fresh build and trace at the new values."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from expression_strategies import expression_cases, numbers_of
from extremes import LEAVES
from hypothesis_budget import examples
from graphviz_core import parse, trace
from graphviz_core.mlp import ScalarMLP
from graphviz_core.tape import Replay


def replayed(expression, before: dict, after: dict, **build):
    graph = trace(expression.build(before, **build))
    replay = Replay(graph, expression.variables)
    replay.write(replay.run(after))
    return graph


values_at_the_edges = st.sampled_from(LEAVES + (math.inf, -math.inf, math.nan))


@settings(max_examples=examples(300, ci=150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=expression_cases(max_depth=4, low=-3, high=3),
       moved=st.lists(st.one_of(st.floats(-3, 3), values_at_the_edges), min_size=4, max_size=4),
       switched_off=st.sets(st.sampled_from(("w", "x", "b", "y"))))
@example(case=("(w)**-1", ("w",), {"w": 1.0}), moved=[-0.0, 0.0, 0.0, 0.0], switched_off=set())
@example(case=("log(w) * sg(x) + x", ("w", "x"), {"w": 1.0, "x": 2.0}),
         moved=[0.0, math.inf, 0.0, 0.0], switched_off={"x"})
def test_a_replay_gives_the_numbers_of_a_fresh_trace(case, moved, switched_off):
    source, variables, values = case
    expression = parse(source)
    after = dict(zip(variables, moved))
    flags = {name: False for name in switched_off}
    graph = replayed(expression, values, after, requires_grad=flags)
    fresh = trace(expression.build(after, requires_grad=flags))
    assert numbers_of(graph) == numbers_of(fresh)


def test_a_replay_of_an_mlp_gives_the_numbers_of_a_fresh_trace():
    net = ScalarMLP(2, (6, 5), 2)
    graph = replayed(net, {"x0": 0.3, "x1": -0.2}, {"x0": -1.5, "x1": 2.5})
    assert numbers_of(graph) == numbers_of(trace(net.build({"x0": -1.5, "x1": 2.5})))


def test_leaves_that_are_no_variables_keep_their_values():
    expression = parse("w * 2 + 0.5")
    graph = replayed(expression, {"w": 1.0}, {"w": 3.0})
    assert [graph.nodes[n]["value"] for n in graph] == [3.0, 2.0, 6.0, 0.5, 6.5]


def test_the_pages_python_literal_is_reprs():
    """texts.mjs ``literal`` (the static page's PyTorch program) writes each float as
    graphviz_core.pytorch.literal does: the edges of repr's exponent form, signs, steps of
    the sliders, and floats of every magnitude."""
    import random

    from graphviz_core.pytorch import literal
    from node_calls import ROOT, call_js

    rng = random.Random(12)
    xs = [0.0, -0.0, 1.0, -1.37, 0.1 + 0.2, 1e-4, 9.99e-5, 1e-5, 1.5e-5, 1e15, 1e16, 1.2345e16,
          123456789012345.6, 5e-324, 1.7976931348623157e308, float("inf"), float("-inf"),
          float("nan"), *(round(i * 0.01 - 3, 10) for i in range(0, 601, 37)),
          *(rng.uniform(-1, 1) * 10.0 ** rng.randint(-30, 30) for _ in range(300))]
    shown = call_js(ROOT / "static/explorer/texts.mjs", [["literal", [x]] for x in xs],
                    numbers=False)
    assert shown == [literal(x) for x in xs]
