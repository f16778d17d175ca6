"""``explore(...)``: one explorer per call, for text, a Value graph, a micrograd node or a
PyTorch function; the model of a graph without text rebuilds it when a slider is released."""

from __future__ import annotations

import doctest

import pytest

from components import explore
from components.explorer import Explorer
from graphviz_core import GraphProgram, Value, gradients


def test_explore_docstring_examples():
    from components import notebook
    assert doctest.testmod(notebook, optionflags=doctest.ELLIPSIS).failed == 0


def test_text_graph_and_two_explorers_keep_their_own_state():
    a = explore("(w*x + b - y)**2", w=2, x=1.5, b=0.5, y=1)
    b = explore("(w*x + b - y)**2")
    assert isinstance(a, Explorer) and a.model is not b.model
    a.model.set_values({"w": 3.0})
    assert b.model.values["w"] == 2.0  # the seed's value, untouched by the other explorer
    root = a.model.graph.graph["root"]
    assert a.model.graph.nodes[root]["value"] == gradients("(w*x + b - y)**2",
                                                           {"w": 3, "x": 1.5, "b": 0.5, "y": 1})[0]


def test_a_value_graph_is_rebuilt_on_release_and_has_no_expression_box():
    w, x = Value(0.5, "w"), Value(2.0, "x", kind="data")
    shared = w * x  # fan-out of an intermediate node: kept (text would repeat it)
    explorer = explore(shared.tanh() + shared * shared, x=1.0)
    model = explorer.model
    assert model.values == {"w": 0.5, "x": 1.0} and not explorer.editable
    model.set_values({"w": 2.0})
    graph = model.graph
    assert len(graph) == 6  # w, x, w*x, tanh, square, sum: the shared node is one node
    rebuilt = GraphProgram(shared.tanh() + shared * shared).build({"w": 2.0, "x": 1.0})
    assert graph.nodes[graph.graph["root"]]["value"] == rebuilt.data
    rebuilt.backward()
    w_node = next(n for n in graph if graph.nodes[n]["name"] == "w")
    assert graph.nodes[w_node]["grad"] == rebuilt.parents[0].parents[0].parents[0].grad
    assert "Expression" not in repr(explorer.sidebar())


def test_micrograd_and_torch_sources():
    micrograd = pytest.importorskip("micrograd.engine")
    a = micrograd.Value(2.0)
    # no names: every leaf is a variable, micrograd's own 1 too
    assert sorted(explore(a * a + 1).model.variables) == ["v1", "v2"]
    torch = pytest.importorskip("torch")
    explorer = explore(lambda w, x: torch.tanh(w * x) * x.detach(), w=0.5, x=2.0)
    assert explorer.model.values == {"w": 0.5, "x": 2.0}
    assert explorer.model.expression == "a PyTorch function"
    assert "sg" in {d["op"] for _, d in explorer.model.graph.nodes(data=True)}


def test_refusals_name_the_problem():
    with pytest.raises(ValueError, match="no variable 'z'"):
        explore("w*x", z=1)
    with pytest.raises(TypeError, match="explore"):
        explore(42)
    with pytest.raises(ValueError, match="at most"):
        v = Value(1.0, "v")
        for _ in range(2100):
            v = v * 1.0
        explore(v)
