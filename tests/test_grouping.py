"""Grouped drawings of big MLPs: the quotient graph, its schedules, scene and model."""

from __future__ import annotations

import doctest

import param
import pytest

from components.model import ExplorerModel
from components.scene import scene_data, to_json
from graphviz_core import ExpressionError, format_number, trace
from graphviz_core import grouping
from graphviz_core.grouping import group_graph, group_members, grouped_schedule
from graphviz_core.layout import layout
from graphviz_core.levels import drawn_size
from graphviz_core.limits import GROUP_ABOVE, MLP_MAX_DRAWN
from graphviz_core.mlp import ScalarMLP, builder_from_text, mlp_loss


def traced(n_in=2, hidden=(3, 2), n_out=1):
    groups = {}
    return trace(mlp_loss(n_in, hidden, n_out, groups=groups), groups=groups)


def test_members_are_whole_neurons():
    g = traced()
    members = group_members(g)
    assert list(members) == ["h1[0]", "h1[1]", "h1[2]", "h2[0]", "h2[1]", "out[0]"]
    # bias + (weight, product, sum) per input + tanh in hidden layers
    assert [len(m) for m in members.values()] == [8, 8, 8, 11, 11, 7]
    for gid, ms in members.items():
        assert g.nodes[ms[-1]]["op"] == ("tanh" if gid.startswith("h") else "add")
    ungrouped = [g.nodes[n]["name"] for n in g if not g.nodes[n]["group"]]
    assert ungrouped == ["x0", "x1", "y", "z34", "L"]


def test_quotient_edges_stand_for_the_crossing_traced_edges():
    g = traced()
    d = group_graph(g)
    name = {n: d.nodes[n]["name"] for n in d}
    assert sorted(name.values()) == sorted(["x0", "x1", "h1[0]", "h1[1]", "h1[2]", "h2[0]",
                                            "h2[1]", "out[0]", "y", "z34", "L"])
    assert list(d) == list(range(len(d)))
    # every traced edge that crosses groups is in exactly one drawn edge's via
    drawn_of = {}
    for n in d:
        for m in (d.nodes[n]["members"] or [d.nodes[n]["tape"]]):
            drawn_of[m] = n
    crossing = sorted((v, k) for u, v, k in g.edges(keys=True) if drawn_of[u] != drawn_of[v])
    vias = sorted(tuple(e) for _, _, data in d.edges(data=True) for e in data["via"])
    assert vias == crossing
    # one drawn edge per (source, group): parallel ones merged, their contributions summed
    pairs = [(name[u], name[v]) for u, v in d.edges()]
    assert len(pairs) == len(set(pairs))
    assert ("h1[1]", "h2[0]") in pairs and ("x0", "h1[2]") in pairs
    for u, v, k, data in d.edges(keys=True, data=True):
        expected = sum(g.edges[d.nodes[u]["tape"], tv, slot]["contribution"]
                       for tv, slot in data["via"])
        assert data["contribution"] == pytest.approx(expected)


def test_group_nodes_show_their_outputs_numbers():
    g = traced()
    d = group_graph(g)
    for n in d:
        node = d.nodes[n]
        out = g.nodes[node["tape"]]
        assert (node["value"], node["grad"], node["active"]) == (out["value"], out["grad"],
                                                                 out["active"])
        if node["kind"] == "group":
            assert node["tape"] == node["members"][-1] and node["op"] == "group"
    # a hidden neuron's gradient is the sum of what its drawn out-edges carry back
    h = next(n for n in d if d.nodes[n]["name"] == "h1[0]")
    assert sum(data["contribution"] for _, _, data in d.out_edges(h, data=True)) == \
        pytest.approx(d.nodes[h]["grad"])


def test_expanding_draws_the_members_and_collapsing_restores():
    g = traced()
    closed = group_graph(g)
    opened = group_graph(g, expanded=["h2[0]"])
    assert len(opened) == len(closed) - 1 + 11
    members = [n for n in opened if opened.nodes[n]["group"] == "h2[0]"]
    assert sorted(opened.nodes[n]["tape"] for n in members) == group_members(g)["h2[0]"]
    assert all(opened.nodes[n]["kind"] != "group" for n in members)
    # the open neuron's tanh is named after it; its consumers' formulas use that name
    out = next(n for n in members if opened.nodes[n]["op"] == "tanh")
    assert opened.nodes[out]["name"] == "h2[0]"
    again = group_graph(g, expanded=[])
    assert [again.nodes[n]["name"] for n in again] == [closed.nodes[n]["name"] for n in closed]


def test_grouping_is_deterministic():
    a, b = traced((3), (4, 3), 2), traced((3), (4, 3), 2)
    da, db = group_graph(a, ["h1[2]"]), group_graph(b, ["h1[2]"])
    assert list(da.nodes(data="name")) == list(db.nodes(data="name"))
    assert list(da.edges(keys=True)) == list(db.edges(keys=True))
    assert layout(da) == layout(db)
    for mode in ("forward", "backward"):
        assert grouped_schedule(a, da, mode) == grouped_schedule(b, db, mode)


def test_schedules_have_a_step_per_drawn_node():
    g = traced()
    for expanded in ([], ["h1[1]", "out[0]"]):
        d = group_graph(g, expanded)
        forward = grouped_schedule(g, d, "forward")
        assert forward[0]["kind"] == "inputs"
        assert [s["node"] for s in forward[1:]] == [n for n in d if d.in_degree(n)]
        backward = grouped_schedule(g, d, "backward")
        assert [s["node"] for s in backward] == list(reversed(list(d)))  # every node is active
        drawn_edges = set(d.edges(keys=True))
        for s in forward + backward:
            assert all(tuple(e) in drawn_edges for e in s["edges"])
            assert "\u27e8" not in s["text"] and s["text_template"]
            if s["node"] is not None:
                assert s["nodes"][0] == s["node"]
        sums = [s for s in backward if s["kind"] == "sum"]
        assert sums and all(len(s["terms"]) > 1 for s in sums)


def test_a_neuron_step_names_the_neuron():
    g = traced()
    d = group_graph(g)
    step = next(s for s in grouped_schedule(g, d, "forward")
                if s["node"] is not None and d.nodes[s["node"]]["name"] == "h2[1]")
    assert step["text"].startswith("h2[1] = tanh(b1_1 + w1_1_0*h1[0] + w1_1_1*h1[1] + "
                                   "w1_1_2*h1[2]) = tanh(")
    assert step["text"].endswith(f"= {format_number(g.nodes[d.nodes[step['node']]['tape']]['value'])}")


def test_a_cyclic_grouping_is_refused():
    g = traced((1,), (1,), 1)
    for n in g:  # x0 and the loss's sub in one group: x0 -> h1 -> out -> sub, and back
        if g.nodes[n]["name"] in ("x0", "z6"):
            g.nodes[n]["group"] = "bad"
    with pytest.raises(ValueError, match="cyclic"):
        group_graph(g)


def test_grouping_doctests():
    assert doctest.testmod(grouping).failed == 0


def test_scene_of_a_grouped_drawing():
    g = traced()
    d = group_graph(g, ["h1[0]"])
    steps = {m: grouped_schedule(g, d, m) for m in ("forward", "backward")}
    scene = scene_data(d, layout(d), steps, "backward", {}, traced=g)
    nodes, edges = scene["nodes"], scene["edges"]
    assert len(scene["tape"]["op"]) == len(g)  # the whole tape: the page replays it
    assert nodes["tape"] == [d.nodes[n]["tape"] for n in d]
    assert nodes["members"] == [len(d.nodes[n]["members"]) for n in d]
    assert [k for k in nodes["kind"] if k == "group"] == ["group"] * 5
    assert set(nodes["group"]) == {"", "h1[0]", "h1[1]", "h1[2]", "h2[0]", "h2[1]", "out[0]"}
    assert len(edges["via"]) == len(edges["u"]) and all(edges["via"])
    assert all(set(t) == {"edge", "blocked"} for s in scene["steps"]["backward"]
               for t in s.get("terms", []))
    to_json(scene)


# --- the model -----------------------------------------------------------------------------
def test_big_mlps_are_grouped_small_ones_not():
    small = ExplorerModel(expression="mlp(2, 16, 16, 1)")
    assert small.drawn is None and "tape" not in small.scene["nodes"]
    assert len(small.scene["nodes"]["id"]) == 982
    assert ScalarMLP(2, (22, 22), 1).node_count() > GROUP_ABOVE
    big = ExplorerModel(expression="mlp(2, 22, 22, 1)", level="neuron")
    assert big.drawn is not None and len(big.scene["nodes"]["id"]) == 50
    assert big.scene["nodes"]["kind"].count("group") == 45
    # without a level asked for, a big network's first picture is a node per layer
    assert ExplorerModel(expression="mlp(2, 22, 22, 1)").scene["nodes"]["name"] == [
        "x", "h1", "h2", "out", "L"]


def test_a_tap_on_a_group_opens_it_and_collapse_closes_it():
    m = ExplorerModel(expression="mlp(2, 22, 22, 1)", level="neuron")
    index = m.scene["nodes"]["name"].index("h2[3]")
    m.tap(index)
    assert m.expanded == ["h2[3]"] and m.selected is None
    names = m.scene["nodes"]["name"]
    assert len(names) == 50 - 1 + 3 * 22 + 2
    assert m.scene["nodes"]["group"].count("h2[3]") == 3 * 22 + 2
    # a tap on a member selects its traced node
    member = m.scene["nodes"]["group"].index("h2[3]")
    m.tap(member)
    assert m.selected == m.scene["nodes"]["tape"][member]
    assert m.graph.nodes[m.selected]["group"] == "h2[3]"
    m.collapse("h2[3]")
    assert m.expanded == [] and len(m.scene["nodes"]["name"]) == 50
    m.tap(m.scene["nodes"]["name"].index("h1[0]"))
    m.tap(m.scene["nodes"]["name"].index("h1[1]"))
    assert m.expanded == ["h1[0]", "h1[1]"]
    m.collapse()
    assert m.expanded == []
    m.set_expression("mlp(2, 22, 22, 2)")
    assert m.expanded == [] and m.drawn is not None


def test_opening_too_much_closes_the_oldest_groups():
    m = ExplorerModel(expression="mlp(2, 60, 60, 1)", level="neuron")
    # 126 nodes drawn and 181 more per open neuron: the 8th open passes MLP_MAX_DRAWN (1,500)
    # and closes the first, the 9th the second. Which groups close is decided from the traced
    # graph (drawn_size), before any drawing: the opens run in batches (the model's watchers,
    # and with them the re-derivation of the 11,586-node graph, run once at a batch's end), so
    # the graph is derived where the drawing is at its largest, before and after the closing
    # (test_levels.py: drawn_size is the size of the drawing level_graph makes)
    for batch in (range(7), range(7, 9)):
        with param.parameterized.batch_call_watchers(m):
            for j in batch:
                m.expand(f"h2[{j}]")
                assert m.expanded[-1] == f"h2[{j}]"
                assert drawn_size(m.graph, "neuron", m.expanded) <= MLP_MAX_DRAWN
                # the oldest close, and only as many as needed
                first = int(m.expanded[0][3:-1])
                assert m.expanded == [f"h2[{k}]" for k in range(first, j + 1)]
                if first:
                    assert drawn_size(m.graph, "neuron",
                                      [f"h2[{first - 1}]", *m.expanded]) > MLP_MAX_DRAWN
        assert len(m.drawn) == drawn_size(m.graph, "neuron", m.expanded) <= MLP_MAX_DRAWN
        assert m.drawn.graph["open"] == m.expanded
    assert MLP_MAX_DRAWN == 1500 and m.expanded == [f"h2[{k}]" for k in range(2, 9)]


def test_the_mlp_caps():
    assert builder_from_text("mlp(2, 60, 60, 1)").node_count() == 11586
    with pytest.raises(ExpressionError, match="at most 20,000"):
        builder_from_text("mlp(2, 100, 100, 1)")
    with pytest.raises(ExpressionError, match="even with a node per neuron"):
        builder_from_text("mlp(1, 1000)")  # 8,000 nodes, of which 4,000 in the loss
