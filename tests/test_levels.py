"""Levels of detail (graphviz_core/levels.py): a node per layer, per neuron, per op.

Every number is held to the engine: the Values the MLP is built from, after
``backward()``, never a copy of the drawing's own arithmetic.
"""

from __future__ import annotations

import doctest
import json
import re

import numpy as np
import pytest

from components.explorer import initial_state, level_query
from components.model import ExplorerModel, drawing_level
from components.scene import to_json
from graphviz_core import levels, trace
from graphviz_core.engine import topological_order
from graphviz_core.grouping import flow, group_graph, grouped_schedule
from graphviz_core.levels import (drawn_size, layer_matrix, layer_norms, layer_outputs,
                                  level_graph)
from graphviz_core.mlp import ScalarMLP
from graphviz_core.schedule import fill, graph_numbers
from node_calls import ROOT, call_js

NET = ScalarMLP(2, (5, 4), 1)
VALUES = {"x0": 0.8, "x1": -0.35}


def built():
    """The loss Value, its groups (Value -> neuron) and its trace."""
    groups = {}
    root = NET.build(VALUES, groups=groups)
    return root, groups, trace(root, groups=groups)


def engine_layers(root, groups) -> dict[str, list]:
    """Each layer's output Values, read off the engine's graph: a neuron's output is its
    last Value in topological order; the inputs are the x leaves; the loss is the root."""
    order = topological_order(root)
    last = {}
    for v in order:
        if v in groups:
            last[groups[v]] = v
    out = {"x": [v for v in order if v.name in NET.variables and not v.parents]}
    for neuron, v in last.items():
        out.setdefault(neuron.partition("[")[0], []).append(v)
    out["L"] = [root]
    return out


def test_the_layer_level_draws_a_node_per_layer_and_an_edge_per_pair():
    _, _, g = built()
    d = level_graph(g, "layer")
    assert [d.nodes[n]["name"] for n in d] == ["x", "h1", "h2", "out", "L"]
    assert [(d.nodes[u]["name"], d.nodes[v]["name"]) for u, v in d.edges()] == [
        ("x", "h1"), ("h1", "h2"), ("h2", "out"), ("out", "L")]
    # each layer edge stands for every traced edge between the layers: a weight's product each
    assert [len(d.edges[e]["via"]) for e in d.edges(keys=True)] == [2 * 5, 5 * 4, 4, 1]
    assert all(len(d.edges[e]["tails"]) == len(d.edges[e]["via"]) for e in d.edges(keys=True))
    assert sum(len(d.nodes[n]["members"]) for n in d) == len(g)


def test_layer_norms_are_the_engines():
    root, groups, g = built()
    engine = engine_layers(root, groups)
    norms = layer_norms(g)
    assert set(norms) == set(engine)
    for layer, values in engine.items():
        assert norms[layer][0] == pytest.approx(np.linalg.norm([v.data for v in values]), rel=1e-12)
        assert norms[layer][1] == pytest.approx(np.linalg.norm([v.grad for v in values]), rel=1e-12)
    d = level_graph(g, "layer")
    for n in d:  # the drawn layer shows the same numbers
        assert (d.nodes[n]["value"], d.nodes[n]["grad"]) == norms[d.nodes[n]["name"]]


def test_a_layer_edge_carries_the_norm_of_the_gradient_it_brings_back():
    root, groups, g = built()
    engine = engine_layers(root, groups)
    d = level_graph(g, "layer")
    names = [d.nodes[n]["name"] for n in d]
    for u, v, data in d.edges(data=True):
        parent = names[u]  # each layer feeds only the next: its whole gradient flows there
        assert data["flow"] == pytest.approx(np.linalg.norm([x.grad for x in engine[parent]]),
                                             rel=1e-12)
    assert flow([(0, 1.0), (0, -1.0), (1, 2.0)]) == 2.0


@pytest.mark.parametrize("opened", [[], ["h1"], ["h2", "h2[1]"], ["x", "L"], ["h1", "h2"]])
def test_every_level_keeps_a_step_per_drawn_node_with_the_engines_numbers(opened):
    root, groups, g = built()
    d = level_graph(g, "layer", opened)
    assert drawn_size(g, "layer", opened) == len(d)
    forward = grouped_schedule(g, d, "forward")
    backward = grouped_schedule(g, d, "backward")
    inputs = 1 if any(d.in_degree(n) == 0 for n in d) else 0
    assert len(forward) == inputs + sum(1 for n in d if d.in_degree(n))
    assert len(backward) == sum(1 for n in d if d.nodes[n]["active"])
    norms = layer_norms(g)
    for step in forward + backward:
        node = step["node"]
        if node is None or d.nodes[node]["kind"] != "layer":
            continue
        name = d.nodes[node]["name"]
        number = float(step["text"].rsplit(" = ", 1)[1])
        expected = norms[name][0 if step in forward else 1]
        assert number == pytest.approx(expected, rel=1e-3)


def test_the_neuron_level_is_the_grouped_drawing_of_before():
    _, _, g = built()
    a, b = level_graph(g, "neuron"), group_graph(g)
    assert [a.nodes[n]["name"] for n in a] == [b.nodes[n]["name"] for n in b]
    assert sorted(a.edges(keys=True)) == sorted(b.edges(keys=True))


def test_a_neuron_opens_only_inside_an_open_layer_and_the_oldest_close_first():
    _, _, g = built()
    assert len(level_graph(g, "layer", ["h1[0]"])) == 5
    opened = level_graph(g, "layer", ["h1", "h1[0]"])
    assert opened.graph["open"] == ["h1", "h1[0]"]
    capped = level_graph(g, "layer", ["h1", "h2", "h2[0]"], limit=drawn_size(g, "layer", ["h2", "h2[0]"]))
    assert capped.graph["open"] == ["h2", "h2[0]"]


def test_the_layer_matrix_is_the_engines_weights_and_gradients():
    root, groups, g = built()
    m = layer_matrix(g, "h2")
    assert m["rows"] == [f"h2[{j}]" for j in range(4)]
    assert m["columns"] == [f"h1[{i}]" for i in range(5)]
    weights = {v.name: v for v in topological_order(root) if v.name.startswith("w1_")}
    for j in range(4):
        for i in range(5):
            w = weights[f"w1_{j}_{i}"]
            assert m["weight"][j][i] == w.data and m["grad"][j][i] == w.grad
            a, product, slot = m["edge"][j][i]
            assert g.has_edge(a, product, slot)
    # the cell's edge is the one the weight multiplies: its input is neuron i's output
    outputs = layer_outputs(g)["h1"]
    assert [m["edge"][0][i][0] for i in range(5)] == outputs


def test_the_page_shows_the_cores_norms_and_flows():
    """The page replays the tape and shows a layer by its norms (static/explorer/reading.mjs):
    the same numbers as the core, formulas filled alike."""
    _, _, g = built()
    model = ExplorerModel(expression="mlp(2, 5, 4, 1)", level="layer", expanded=["h2"],
                          values=dict(VALUES))
    scene = json.loads(to_json(model.scene))
    shown, = call_js(ROOT / "tests/js/level_numbers.mjs", [["levelNumbers", [scene]]],
                     numbers=False)
    d = model.drawn
    for i, n in enumerate(d):
        assert shown["value"][i] == pytest.approx(d.nodes[n]["value"], rel=1e-12)
        assert shown["grad"][i] == pytest.approx(d.nodes[n]["grad"], rel=1e-12, abs=1e-300)
    edges = sorted(d.edges(keys=True, data=True), key=lambda e: (e[1], e[2]))
    assert shown["flow"] == pytest.approx([e[3]["flow"] for e in edges], rel=1e-12)
    numbers = graph_numbers(model.graph)
    for mode in ("forward", "backward"):
        assert shown[mode] == [fill(s["text_template"], *numbers) for s in scene["steps"][mode]]


def test_bundled_edges_are_drawn_as_one_line_per_style_keeping_every_edge():
    # the neuron level of a wide network: every neuron to every neuron, edges in bundles
    model = ExplorerModel(expression="mlp(2, 20, 20, 1)", level="neuron", mode="backward",
                          values=dict(VALUES))
    scene = json.loads(to_json(model.scene))
    shown, = call_js(ROOT / "tests/js/level_numbers.mjs", [["levelEdges", [scene]]],
                     numbers=False)
    rows, edges = shown["columns"], scene["edges"]
    assert len(rows["xs"]) < len(edges["u"]) / 10  # a few strokes, not one per edge
    styles = list(zip(rows["color"], rows["dash"], rows["width"], rows["alpha"]))
    assert len(set(styles)) == len(styles) and set(rows["width"]) == {1}
    # every edge is drawn once: the rows' polylines, split where they hold NaN (null in JSON)
    drawn, row_of = [], {}
    for b, (xs, ys) in enumerate(zip(rows["xs"], rows["ys"])):
        line = []
        for x, y in zip(xs + [None], ys + [None]):
            if x is None:
                drawn.append(tuple(line))
                row_of[tuple(line)] = b
                line = []
            else:
                line.append((x, y))
    edge_lines = [tuple(zip(xs, ys)) for xs, ys in zip(edges["xs"], edges["ys"])]
    assert sorted(drawn) == sorted(edge_lines)
    # opaque colours, the faintest row first: the strongest flow is drawn last, on top
    flows = shown["flow"]
    strongest = max(range(len(flows)), key=flows.__getitem__)
    assert set(rows["alpha"]) == {1} and row_of[edge_lines[strongest]] == len(rows["xs"]) - 1
    assert shown["again"]  # drawn again alike: the same columns, which the page does not rewrite


def _drawn_lines(rows) -> dict:
    """Each polyline the bundles draw (rows split where they hold NaN, null in JSON) -> its row."""
    row_of = {}
    for b, (xs, ys) in enumerate(zip(rows["xs"], rows["ys"])):
        line = []
        for x, y in zip(xs + [None], ys + [None]):
            if x is None:
                row_of[tuple(line)] = b
                line = []
            else:
                line.append((x, y))
    return row_of


def test_a_crowd_of_edges_is_a_band_under_its_strongest_edges():
    """Every neuron of h1 to every neuron of h2 (1,600 edges): in the backward mode the band
    stands for the weaker edges and the strongest are drawn on it, one threshold for all; the
    legend counts the band's edges and bounds their flow truly. A drag moves edges between
    band and lines; the graph mode draws every edge."""
    model = ExplorerModel(expression="mlp(2, 40, 40, 1)", level="neuron", mode="backward",
                          values=dict(VALUES))
    scene = json.loads(to_json(model.scene))
    graph_scene = json.loads(to_json(model.scene))
    graph_scene["mode"] = "graph"
    moved = {"x0": -0.6, "x1": 0.9}
    shown, dragged, plain = call_js(ROOT / "tests/js/level_numbers.mjs", [
        ["levelEdges", [scene]], ["levelEdges", [scene, moved]], ["levelEdges", [graph_scene]]],
        numbers=False)
    edges = scene["edges"]
    lines = [tuple(zip(xs, ys)) for xs, ys in zip(edges["xs"], edges["ys"])]
    crowd = [k for k, (u, v) in enumerate(zip(edges["u"], edges["v"]))
             if scene["nodes"]["name"][u].startswith("h1[") and scene["nodes"]["name"][v].startswith("h2[")]
    assert len(crowd) == 1600
    picked = []
    for case in (shown, dragged):
        drawn, flows = _drawn_lines(case["columns"]), case["flow"]
        hidden = [k for k in range(len(lines)) if lines[k] not in drawn]
        assert hidden and set(hidden) <= set(crowd)  # only a crowd's edges go into its band
        kept = [k for k in crowd if lines[k] in drawn]
        assert len(kept) == 600  # its strongest edges, one by one
        assert max(flows[k] for k in hidden) <= min(flows[k] for k in kept)
        # the legend: how many edges the band stands for, and a true bound on their flows
        assert case["band"]["count"] == len(hidden)
        item = case["legend"].split("bpx-flow-band")[1]
        count, bound = re.search(r"(\d+) more edges, each below ([0-9.e-]+)<", item).groups()
        assert int(count) == len(hidden) and all(flows[k] < float(bound) for k in hidden)
        # the band is the hull of its edges' ends: two columns, every end within
        band, = zip(case["bands"]["xs"], case["bands"]["ys"])
        bx, by = band
        for k in crowd:
            (x0, y0), (x1, y1) = lines[k][0], lines[k][-1]
            assert (x0, x1) == (bx[0], bx[2]) and by[0] <= y0 <= by[1] and by[3] <= y1 <= by[2]
        picked.append(set(kept))
    assert picked[0] != picked[1]  # the strongest edges follow the numbers
    # the graph mode: no flows, every edge drawn, no band, no legend
    assert len(_drawn_lines(plain["columns"])) == len(lines) and plain["bands"]["xs"] == []
    assert plain["legend"] == ""


def test_the_model_walks_layer_neuron_op_and_back():
    m = ExplorerModel(expression="mlp(2, 60, 60, 1)")
    assert m.drawn_level == "layer" and m.scene["nodes"]["name"] == ["x", "h1", "h2", "out", "L"]
    m.tap(m.scene["nodes"]["name"].index("h1"))
    assert m.expanded == ["h1"] and m.inspected == "h1"
    assert m.scene["nodes"]["name"].count("h1[7]") == 1
    m.tap(m.scene["nodes"]["name"].index("h1[7]"))
    assert m.expanded == ["h1", "h1[7]"]
    member = m.scene["nodes"]["group"].index("h1[7]")
    m.tap(member)  # an op: selected, nothing opens
    assert m.selected == m.scene["nodes"]["tape"][member] and m.expanded == ["h1", "h1[7]"]
    m.back()
    assert m.expanded == ["h1"] and "h1[7]" in m.scene["nodes"]["name"]
    m.tap(m.scene["nodes"]["name"].index("h1[3]"))
    m.collapse("h1")  # closing a layer closes the neurons open in it
    assert m.expanded == [] and len(m.scene["nodes"]["name"]) == 5
    m.set_level("neuron")
    assert m.drawn_level == "neuron" and len(m.scene["nodes"]["name"]) == 126


def test_level_and_open_travel_in_the_url():
    m = ExplorerModel(expression="mlp(2, 60, 60, 1)")
    m.tap(m.scene["nodes"]["name"].index("h2"))
    m.tap(m.scene["nodes"]["name"].index("h2[4]"))
    query = level_query(m)
    assert query == {"level": "layer", "open": "h2,h2[4]"}
    again = ExplorerModel(**initial_state({"expr": "mlp(2, 60, 60, 1)", **query}))
    assert again.scene["nodes"]["name"] == m.scene["nodes"]["name"]
    assert again.inspected == "h2[4]"
    # an old link (no level) opens at the level chosen for its size; junk is ignored
    old = ExplorerModel(**initial_state({"expr": "mlp(2, 60, 60, 1)", "level": "huge",
                                          "open": "nope,,h9[1]"}))
    assert old.drawn_level == "layer" and len(old.scene["nodes"]["id"]) == 5
    assert level_query(ExplorerModel(expression="w*x")) == {}
    assert level_query(ExplorerModel(expression="mlp(2, 4, 4, 1)")) == {"level": "op"}


def test_the_level_chosen_for_a_size():
    assert drawing_level("", 11586) == "layer" and drawing_level("neuron", 11586) == "neuron"
    assert drawing_level("", 107) == "op" and drawing_level("layer", 107) == "layer"


def test_levels_doctests():
    assert doctest.testmod(levels).failed == 0


def test_the_flow_legend_names_what_tells_the_flow_width_or_shade():
    # edges one pixel wide (bundled) differ by shade alone: the legend says so
    wide, thin = call_js(ROOT / "static/explorer/flow.mjs",
                         [["legendHtml", [2.0, 10]], ["legendHtml", [2.0, 1]]], numbers=False)
    assert "Edge width = gradient carried back" in wide and "Edge shade" not in wide
    assert "Edge shade = gradient carried back" in thin and "Edge width" not in thin


def test_the_band_cut_selects_the_kth_smallest_flow():
    """flow.mjs kth, which picks the crowds' cut without sorting: the k-th smallest, ties and
    zeros included, for every k of lists with ties, as sorting gives it."""
    rng = np.random.default_rng(14)
    lists = [[3.0, 1.0, 2.0], [5.0] * 6, [0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 2.0], [7.0],
             list(rng.integers(0, 4, 40).astype(float)), list(rng.random(101))]
    calls = [["kth", [xs, k]] for xs in lists for k in range(len(xs))]
    got = call_js(ROOT / "static/explorer/flow.mjs", calls)
    assert got == [sorted(xs)[k] for xs in lists for k in range(len(xs))]


def test_a_zoomed_out_view_draws_the_topmost_of_piled_arrowheads():
    """Zoomed out (nodes at their smallest), heads of one colour that point the same way from
    tips less than two heads apart are drawn on top of each other: the topmost (the last
    drawn) alone is kept (render.mjs topHeads). Zoomed in, every edge has its head."""
    five = 5.0
    heads = {  # tips in layout units; at 1 px per unit a cell is 10 units
        "x0": [0.0, 0.5, 0.0, 0.0, 40.0, 1.0],
        "y0": [0.0, 0.5, 0.0, 0.0, 0.0, 0.0],
        "x1": [1.0, 1.5, 1.0, 1.0, 41.0, 2.0],
        "y1": [0.0, 0.5, 1.0, 0.0, 0.0, 1.0],
        "color": ["a", "a", "a", "b", "a", "a"],
        "alpha": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
        "head": [five] * 6,
    }
    kept, = call_js(ROOT / "tests/js/level_numbers.mjs", [["topHeads", [heads, 1.0]]],
                    numbers=False)
    # 0 and 1 point right from one cell: 1 (drawn later) is kept; 2 points up-right (45
    # degrees off) and 5 too, from the same cell: 5 is kept; 3 has another colour; 4 is far
    assert kept["alpha"] == [0.2, 0.4, 0.5, 0.6]
    assert kept["x1"] == [1.5, 1.0, 41.0, 2.0]
    # the 982-node MLP op by op: the overview of a phone keeps a fraction of its 1,251 heads,
    # zoomed in (nodes over their smallest size) draws one per edge
    model = ExplorerModel(expression="mlp(2, 16, 16, 1)", mode="backward", values=dict(VALUES))
    scene = json.loads(to_json(model.scene))
    overview, zoomed = call_js(ROOT / "tests/js/level_numbers.mjs",
                               [["levelArrows", [scene, 0.66]], ["levelArrows", [scene, 40]]],
                               numbers=False)
    edges = len(scene["edges"]["u"])
    assert len(zoomed["x0"]) == edges
    assert 0 < len(overview["x0"]) < edges / 2


def test_formulas_are_typeset_ahead_while_still_and_the_next_alone_while_playing():
    """Still (before Play, or paused on a step), the page typesets the coming 64 steps'
    formulas in idle moments once it has been still 300 ms; playing, the next step's alone,
    at once (ahead.mjs typesetAhead): typesetting the 64 in the idle time of every frame made
    the frames of a Play pressed soon after the page opened late."""
    model = ExplorerModel(expression="mlp(2, 16, 16, 1)", mode="backward", values=dict(VALUES))
    scene = json.loads(to_json(model.scene))
    still, paused, playing = call_js(ROOT / "tests/js/level_numbers.mjs",
                                     [["aheadQueued", [scene, -1, False]],
                                      ["aheadQueued", [scene, 3, False]],
                                      ["aheadQueued", [scene, 3, True]]], numbers=False)
    assert (still["count"], still["settle"]) == (64, 300)
    assert (paused["count"], paused["settle"]) == (64, 300)
    assert (playing["count"], playing["settle"]) == (1, 0)
    for queued in (still, paused, playing):
        assert "$" in queued["first"] and queued["first"] == queued["next"]


@pytest.mark.parametrize("expression, level", [("mlp(2, 30, 30, 1)", "neuron"),
                                               ("mlp(2, 3, 3, 1)", "op")])
def test_playback_windows_draw_at_each_arrival_what_a_full_drawing_does(expression, level):
    """Playing, a full render leaves the next steps' edges off the lower canvas for the
    overlay (stepframes.mjs): at every arrival of the backward pass, the lower canvas drawn at
    the window's start and the overlay written at the arrival show each edge in the style a
    full drawing gives it, the same bands, legend count and arrowheads (zoomed out: the
    topmost of piled heads); bundled (a crowd's band appears between windows) and one by one.
    Nearly every step's arrival is inside a window."""
    model = ExplorerModel(expression=expression, level=level, mode="backward", values=dict(VALUES))
    scene = json.loads(to_json(model.scene))
    out, = call_js(ROOT / "tests/js/level_numbers.mjs", [["windowedPlayback", [scene]]],
                   numbers=False)
    assert out["differ"] == []
    assert sum(out["held"]) >= out["steps"] - 2 and max(out["held"]) > 1
    assert len(out["held"]) <= out["steps"] // 6
