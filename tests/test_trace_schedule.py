"""graphviz_core.trace and graphviz_core.schedule: the seed example by hand, graph attributes,
the fan-out rule on every traced graph, and the pass schedules."""

from __future__ import annotations

import doctest
import json
import math

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings

from expression_strategies import check_fanout_rule, expression_cases
from hypothesis_budget import examples
from graphviz_core import MODES, PASSES, Value, parse, schedule, stop_gradient, trace
from graphviz_core.examples import EXAMPLES
from graphviz_core.glyphs import logistic_loss
from graphviz_core.mlp import mlp_loss
from graphviz_core.ppo import ppo_clip_loss, reinforce_loss

SEED_VALUES = {"w": 2.0, "x": 1.5, "b": 0.5, "y": 1.0}


def seed_graph(**requires_grad) -> nx.MultiDiGraph:
    return trace(parse("(w*x + b - y)**2").build(SEED_VALUES, requires_grad))


# --- the seed example, by hand --------------------------------------------------------------

def test_seed_by_hand():
    w, x, b, y = 2.0, 1.5, 0.5, 1.0
    z1 = w * x            # 3
    z2 = z1 + b           # 3.5
    z3 = z2 - y           # 2.5
    L = z3 ** 2           # 6.25
    dL_dz3 = 2 * z3       # 5
    dL_dz2 = dL_dz3 * 1   # 5
    dL_dy = dL_dz3 * -1   # -5
    dL_dz1 = dL_dz2 * 1   # 5
    dL_db = dL_dz2 * 1    # 5
    dL_dw = dL_dz1 * x    # 7.5
    dL_dx = dL_dz1 * w    # 10

    g = seed_graph()
    check_fanout_rule(g)
    assert isinstance(g, nx.MultiDiGraph) and isinstance(g, nx.DiGraph)
    by_name = {g.nodes[n]["name"]: g.nodes[n] for n in g}
    assert [g.nodes[n]["name"] for n in g] == ["w", "x", "z1", "b", "z2", "y", "z3", "L"]
    expected = {"w": (w, dL_dw), "x": (x, dL_dx), "b": (b, dL_db), "y": (y, dL_dy),
                "z1": (z1, dL_dz1), "z2": (z2, dL_dz2), "z3": (z3, dL_dz3), "L": (L, 1.0)}
    for name, (value, grad) in expected.items():
        assert (by_name[name]["value"], by_name[name]["grad"]) == (value, grad), name
    assert (L, dL_dw, dL_dx, dL_db, dL_dy) == (6.25, 7.5, 10.0, 5.0, -5.0)
    assert [by_name[n]["text"] for n in ("z1", "z2", "z3", "L")] == \
        ["z1 = w * x", "z2 = z1 + b", "z3 = z2 - y", "L = z3**2"]
    assert [by_name[n]["op"] for n in ("z1", "z2", "z3", "L")] == ["mul", "add", "sub", "pow"]
    assert by_name["L"]["param"] == 2.0 and by_name["L"]["symbol"] == "^2"
    assert {n: by_name[n]["kind"] for n in "wxby"} == \
        {"w": "parameter", "x": "data", "b": "parameter", "y": "data"}
    assert g.graph["root"] == 7
    assert (g.graph["evaluated"], g.graph["skipped"], g.graph["blocked"]) == (7, 0, 0)
    # local derivatives and contributions on each edge
    edges = {(g.nodes[u]["name"], g.nodes[v]["name"]): (d["local"], d["contribution"])
             for u, v, d in g.edges(data=True)}
    assert edges == {("w", "z1"): (1.5, 7.5), ("x", "z1"): (2.0, 10.0), ("z1", "z2"): (1.0, 5.0),
                     ("b", "z2"): (1.0, 5.0), ("z2", "z3"): (1.0, 5.0), ("y", "z3"): (-1.0, -5.0),
                     ("z3", "L"): (5.0, 5.0)}
    assert all(d["slot"] == k for _, _, k, d in g.edges(keys=True, data=True))
    assert not any(d["blocked"] or d["pruned"] for _, _, d in g.edges(data=True))
    assert all(g.nodes[n]["fault"] is None and g.nodes[n]["active"] for n in g)


def test_seed_schedule_texts():
    g = seed_graph()
    forward = schedule(g, "forward")
    assert [s["text"] for s in forward] == [
        "w = 2, x = 1.5, b = 0.5, y = 1",
        "z1 = w * x = 2 * 1.5 = 3",
        "z2 = z1 + b = 3 + 0.5 = 3.5",
        "z3 = z2 - y = 3.5 - 1 = 2.5",
        "L = z3**2 = 2.5**2 = 6.25",
    ]
    assert [s["kind"] for s in forward] == ["inputs", "op", "op", "op", "op"]
    assert [s["node"] for s in forward] == [None, 2, 4, 6, 7]
    assert forward[0]["nodes"] == [0, 1, 3, 5]
    assert forward[1]["edges"] == [[0, 2, 0], [1, 2, 1]]
    assert [s["value"] for s in forward] == [None, 3.0, 3.5, 2.5, 6.25]

    backward = schedule(g, "backward")
    assert [s["text"] for s in backward] == [
        "dL/dL = 1",
        "dL/dz3 = dL/dL * 5 = 1 * 5 = 5",
        "dL/dy = dL/dz3 * (-1) = 5 * (-1) = -5",
        "dL/dz2 = dL/dz3 * 1 = 5 * 1 = 5",
        "dL/db = dL/dz2 * 1 = 5 * 1 = 5",
        "dL/dz1 = dL/dz2 * 1 = 5 * 1 = 5",
        "dL/dx = dL/dz1 * 2 = 5 * 2 = 10",
        "dL/dw = dL/dz1 * 1.5 = 5 * 1.5 = 7.5",
    ]
    assert [s["kind"] for s in backward] == ["seed"] + ["gradient"] * 7
    assert [s["value"] for s in backward] == [1.0, 5.0, -5.0, 5.0, 5.0, 5.0, 10.0, 7.5]
    assert backward[1]["terms"] == [{"edge": [6, 7, 0], "grad": 1.0, "local": 5.0,
                                     "contribution": 5.0, "blocked": False}]
    for steps in (forward, backward):
        assert [s["index"] for s in steps] == list(range(len(steps)))
        json.dumps(steps)  # plain data for the browser


def test_seed_schedule_with_pruning():
    g = seed_graph(x=False, y=False)
    check_fanout_rule(g)
    assert (g.graph["evaluated"], g.graph["skipped"]) == (5, 2)
    names = [g.nodes[n]["name"] for n in g]
    assert {names[n] for n in g if not g.nodes[n]["active"]} == {"x", "y"}
    backward = schedule(g, "backward")
    assert [s["text"] for s in backward] == [
        "dL/dL = 1",
        "dL/dz3 = dL/dL * 5 = 1 * 5 = 5",
        "dL/dz2 = dL/dz3 * 1 = 5 * 1 = 5",
        "dL/db = dL/dz2 * 1 = 5 * 1 = 5",
        "dL/dz1 = dL/dz2 * 1 = 5 * 1 = 5",
        "dL/dw = dL/dz1 * 1.5 = 5 * 1.5 = 7.5",
    ]
    assert g.nodes[names.index("x")]["grad"] == 0.0


def test_schedule_rejects_unknown_modes():
    assert PASSES == ("forward", "backward") and MODES == ("graph", *PASSES, "predict")
    with pytest.raises(ValueError):
        schedule(seed_graph(), "sideways")


# --- fan-out, reuse, stop-gradient -----------------------------------------------------------

def test_fan_out_graph_and_sum_step():
    u, v = Value(1.2, "u"), Value(0.8, "v")
    L = u * v + u.sin()
    g = trace(L)
    check_fanout_rule(g)
    (n_u,) = [n for n in g if g.nodes[n]["name"] == "u"]
    assert g.out_degree(n_u) == 2
    assert math.isclose(g.nodes[n_u]["grad"], 0.8 + math.cos(1.2), rel_tol=1e-15)
    steps = [s for s in schedule(g, "backward") if s["node"] == n_u]
    assert len(steps) == 1 and steps[0]["kind"] == "sum" and len(steps[0]["terms"]) == 2
    assert " + " in steps[0]["text"]


def test_a_times_a_parallel_edges_and_sum_step():
    g = trace(parse("a*a").build({"a": 3}))
    check_fanout_rule(g)
    assert sorted(g.edges(keys=True)) == [(0, 1, 0), (0, 1, 1)]
    assert g.nodes[0]["grad"] == 6.0
    (step,) = [s for s in schedule(g, "backward") if s["node"] == 0]
    assert step["kind"] == "sum" and [t["edge"] for t in step["terms"]] == [[0, 1, 0], [0, 1, 1]]
    assert step["text"] == "dL/da = dL/dL * 3 + dL/dL * 3 = 1 * 3 + 1 * 3 = 6"


@pytest.mark.parametrize("source, grad", [("b = a+a; c = b+b", 4.0), ("b = a+a; c = b*b", 24.0)])
def test_reuse_through_an_inner_node(source, grad):
    a = Value(3.0, "a")
    b = a + a
    c = b + b if "c = b+b" in source else b * b
    g = trace(c)
    check_fanout_rule(g)
    assert g.nodes[0]["grad"] == grad
    assert sorted(g.edges(keys=True)) == [(0, 1, 0), (0, 1, 1), (1, 2, 0), (1, 2, 1)]


def test_stop_gradient_in_trace_and_schedule():
    g = trace(parse("sg(u*u)*u").build({"u": 1.5}))
    check_fanout_rule(g)
    names = [g.nodes[n]["name"] for n in g]
    sg = next(n for n in g if g.nodes[n]["op"] == "sg")
    (u, _, key, edge), = g.in_edges(sg, keys=True, data=True)
    assert edge["blocked"] and edge["local"] == 0.0 and edge["contribution"] == 0.0
    assert g.nodes[sg]["value"] == 2.25 and g.nodes[sg]["grad"] == 1.5
    assert g.nodes[u]["grad"] == 0.0 and not g.nodes[u]["active"]  # u*u is cut off
    assert g.nodes[names.index("u")]["grad"] == 2.25
    assert g.graph["blocked"] == 1
    backward = schedule(g, "backward")
    kinds = [s["kind"] for s in backward]
    assert kinds == ["seed", "gradient", "blocked", "gradient"]
    blocked = backward[2]
    assert blocked["node"] == sg and blocked["value"] == 0.0 and "stop-gradient" in blocked["text"]
    assert blocked["terms"][0]["blocked"] and blocked["terms"][0]["contribution"] == 0.0
    # the cut-off node u*u has no step of its own
    assert u not in [s["node"] for s in backward]


def test_trace_without_backward_and_inactive_locals():
    w = Value(2.0, "w")
    x = Value(3.0, "x", requires_grad=False)
    L = w * x.exp()
    g = trace(L, backward=False)
    assert "evaluated" not in g.graph
    g = trace(L)
    check_fanout_rule(g)
    exp_node = next(n for n in g if g.nodes[n]["op"] == "exp")
    (edge,) = [d for _, _, d in g.in_edges(exp_node, data=True)]
    # not on the backward path, yet its local derivative is shown
    assert edge["pruned"] and edge["local"] == math.exp(3.0) and edge["contribution"] == 0.0
    assert not g.nodes[exp_node]["requires_grad"]


def test_faults_in_the_trace():
    g = trace(parse("log(x) + w*w").build({"x": -1.0, "w": 2.0}))
    check_fanout_rule(g)
    log = next(n for n in g if g.nodes[n]["op"] == "log")
    assert "negative" in g.nodes[log]["fault"] and "negative" in g.nodes[log]["value_fault"]
    assert g.nodes[next(n for n in g if g.nodes[n]["name"] == "w")]["grad"] == 4.0
    assert schedule(g, "forward")[1]["text"] == "z1 = log(x) = log((-1)) = nan"
    assert schedule(g, "backward")[-1]["text"] == "dL/dx = dL/dz1 * (-1) = 1 * (-1) = -1"
    g = trace(parse("sqrt(x)").build({"x": 0.0}))
    check_fanout_rule(g)
    assert "infinity" in g.nodes[0]["grad_fault"] and g.nodes[0]["fault"] == g.nodes[0]["grad_fault"]


# --- every traced graph obeys the fan-out rule ----------------------------------------------

@settings(max_examples=examples(300, ci=150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expression_cases(low=-3.0, high=3.0))
def test_fan_out_rule_on_random_graphs(case):
    source, _, values = case
    root = parse(source).build(values)
    g = trace(root)
    check_fanout_rule(g)
    assert list(g) == list(range(len(g)))
    assert all(u < v for u, v in g.edges())  # nodes in topological order
    for mode in PASSES:
        steps = schedule(g, mode)
        json.dumps(steps, allow_nan=True)
    backward = schedule(g, "backward")
    stepped = {s["node"] for s in backward if s["kind"] != "blocked"}
    assert stepped == {n for n in g if g.nodes[n]["active"]}


@settings(max_examples=100, deadline=None)
@given(expression_cases(low=-3.0, high=3.0))
def test_the_tape_inputs_trace_records_are_the_edges_slots(case):
    """to_tape reads each node's inputs as trace recorded them: the same as its in-edges in
    slot order (a*a: the same parent twice), as a graph without the record reads them."""
    from graphviz_core.tape import _slots, to_tape

    source, _, values = case
    for g in (trace(parse(source).build(values)), trace(parse("a*a + a").build({"a": 2.0})),
              trace(mlp_loss(2, (3, 2), 1))):
        from_edges = [[u for u, _ in slots] for slots in _slots(g)]
        assert to_tape(g)["inputs"] == from_edges
        g.graph.pop("_inputs")
        assert to_tape(g)["inputs"] == from_edges


@given(expression_cases(low=-3.0, high=3.0))
def test_random_graphs_with_data_leaves(case):
    source, variables, values = case
    frozen = {v: (i % 2 == 1) for i, v in enumerate(variables)}
    root = parse(source).build(values, {v: not f for v, f in frozen.items()})
    report = root.backward()
    g = trace(root)
    check_fanout_rule(g)
    assert (g.graph["evaluated"], g.graph["skipped"], g.graph["blocked"]) == tuple(report)
    for n in g:
        if g.nodes[n]["name"] in frozen and frozen[g.nodes[n]["name"]] and not g.nodes[n]["op"]:
            assert g.nodes[n]["grad"] == 0.0 and not g.nodes[n]["active"]


@pytest.mark.parametrize("make", [
    lambda: EXAMPLES["seed"].build(), lambda: EXAMPLES["chain-rule"].build(),
    lambda: EXAMPLES["fan-out"].build(), lambda: EXAMPLES["stop-gradient"].build(),
    lambda: EXAMPLES["loss-value"].build(),
    lambda: ppo_clip_loss(0.3, 0.0, 1.0, 0.2)[0], lambda: reinforce_loss(0.3, 0.0, -1.0, 0.2)[0],
    lambda: logistic_loss([0.1, -0.2, 0.3, 0.0], 0.1, [1.0, 0.0, 1.0, 1.0], 1)[0],
    lambda: mlp_loss(3, (4, 4), 1),
    lambda: stop_gradient(Value(1.0, "a")) * 2,
], ids=["seed", "chain-rule", "fan-out", "stop-gradient", "loss-value", "ppo", "reinforce",
        "logistic", "mlp", "sg-leaf"])
def test_fan_out_rule_on_lesson_graphs(make):
    g = trace(make())
    check_fanout_rule(g)
    for mode in PASSES:
        assert schedule(g, mode)


def test_trace_and_schedule_are_deterministic():
    a = trace(mlp_loss(3, (4, 4), 1))
    b = trace(mlp_loss(3, (4, 4), 1))
    assert list(a.nodes(data=True)) == list(b.nodes(data=True))
    assert list(a.edges(keys=True, data=True)) == list(b.edges(keys=True, data=True))
    for mode in PASSES:
        assert schedule(a, mode) == schedule(b, mode)


def test_root_leaf():
    g = trace(Value(2.0, "a"))
    assert len(g) == 1 and g.nodes[0]["grad"] == 1.0
    check_fanout_rule(g)
    assert [s["kind"] for s in schedule(g, "forward")] == ["inputs"]
    assert [s["kind"] for s in schedule(g, "backward")] == ["seed"]


def test_names_avoid_taken_ones():
    z1 = Value(1.0, "z1")
    L = (z1 * 2) + 1
    names = [L_["name"] for _, L_ in trace(L).nodes(data=True)]
    assert len(set(names)) == len(names) and names[-1] == "L"


def test_trace_and_schedule_doctests():
    import sys

    import graphviz_core
    # the package's names `trace` and `schedule` are the functions: take the modules
    for module in (sys.modules["graphviz_core.trace"], sys.modules["graphviz_core.schedule"],
                   graphviz_core):
        result = doctest.testmod(module)
        assert result.failed == 0, module.__name__
