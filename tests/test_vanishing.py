"""The vanishing-gradient lesson: its numbers are the engine's, sigmoid vanishes by orders of
magnitude, a well-initialised relu network does not, a large scale explodes."""

from __future__ import annotations

import math

import pytest

from components.lessons.vanishing import DEFAULTS, VanishingLesson
from graphviz_core.levels import layer_norms
from graphviz_core.vanishing import ACTIVATIONS, DERIVATIVE_BOUND, DeepNet, layer_report


def direct_norms(net: DeepNet) -> dict[str, float]:
    """||dL/dh|| per layer straight from the Value graph after backward (no trace)."""
    groups: dict = {}
    root = net.build(net.defaults, groups=groups)
    root.backward()
    outputs: dict[str, list] = {}
    for value, neuron in groups.items():
        last = value.op == net.activation or neuron == "out[0]"
        if last and (neuron != "out[0]" or not any(v is not value and groups.get(v) == neuron
                                                   and value in v.parents for v in groups)):
            outputs.setdefault(neuron.split("[")[0], []).append(value)
    return {layer: math.sqrt(sum(v.grad ** 2 for v in vs)) for layer, vs in outputs.items()}


def ratio(net: DeepNet) -> float:
    """||dL/dh1|| / ||dL/dh_D||: what reaches the first layer of what reaches the last."""
    rows = layer_report(net)
    return rows[0]["grad"] / rows[net.depth - 1]["grad"]


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("depth", [1, 4, 8])
def test_the_report_is_the_engines_backward(activation, depth):
    net = DeepNet(depth, activation, 1.3)
    rows = layer_report(net)
    direct = direct_norms(net)
    for row in rows[:-1]:
        assert row["grad"] == pytest.approx(direct[row["layer"]], rel=1e-12)
        assert len(row["derivatives"]) == net.width
        assert all(0 <= d <= DERIVATIVE_BOUND[activation] for d in row["derivatives"])


def test_the_lesson_shows_the_report_and_draws_the_same_network_by_layers():
    lesson = VanishingLesson({}, "en", sync_url=False)
    lesson.page()
    rows = layer_report(DeepNet(DEFAULTS["depth"], DEFAULTS["act"], DEFAULTS["scale"]))
    assert lesson.source.data["grad"] == [r["grad"] for r in rows]
    assert lesson.source.data["layer"] == [f"h{k}" for k in range(1, 9)] + ["out"]
    assert lesson.model.drawn_level == "layer"
    norms = layer_norms(lesson.model.graph)
    assert [norms[r["layer"]][1] for r in rows] == [r["grad"] for r in rows]
    product = math.prod(r["mean_derivative"] for r in rows[:-1])
    assert f"<b>{lesson_number(product)}</b>" in lesson.bound.object
    lesson.activation.value = "relu"
    assert lesson.model.expression == "deep(relu, depth=8, scale=1)"
    assert lesson.source.data["grad"] == [r["grad"] for r in layer_report(DeepNet(8, "relu", 1.0))]


def lesson_number(x: float) -> str:
    from components.lessons.common import number
    return number(x)


@pytest.mark.parametrize("depth", [6, 8, 10, 12])
def test_sigmoid_vanishes_by_orders_of_magnitude(depth):
    assert ratio(DeepNet(depth, "sigmoid", 1.0)) < 10.0 ** -(depth // 3)


@pytest.mark.parametrize("depth", [2, 4, 6, 8, 10, 12])
def test_a_well_initialised_relu_network_keeps_the_gradient(depth):
    assert 0.1 < ratio(DeepNet(depth, "relu", math.sqrt(2))) < 10


@pytest.mark.parametrize("depth", [8, 10, 12])
def test_a_large_scale_explodes(depth):
    assert ratio(DeepNet(depth, "relu", 3.0)) > 10


def test_the_sigmoid_product_is_under_its_bound():
    rows = layer_report(DeepNet(8, "sigmoid", 1.0))
    factors = [r["mean_derivative"] for r in rows[:-1]]
    assert math.prod(factors) <= 0.25 ** 8


def test_the_lessons_numbers_are_the_reports_shared_and_read_only():
    """Two sessions with the same settings show the same report (computed once per
    process): the engine's for the network on screen, and no session can change it."""
    a = VanishingLesson({"depth": "5", "scale": "1.5", "act": "tanh"}, "en", sync_url=False)
    b = VanishingLesson({"depth": "5", "scale": "1.5", "act": "tanh"}, "zh", sync_url=False)
    fresh = layer_report(DeepNet(5, "tanh", 1.5))
    assert a.report() is b.report()
    assert [dict(r, derivatives=list(r["derivatives"])) for r in a.report()] == fresh
    with pytest.raises(TypeError):
        a.report()[0]["grad"] = 0.0
    a.depth.value = 7  # a new setting: its own report
    assert [r["layer"] for r in a.report()][-2:] == ["h7", "out"]
    assert len(b.report()) == 6


def test_query_arguments_restore_the_network_and_bad_ones_are_ignored():
    lesson = VanishingLesson({"depth": "3", "scale": "2", "act": "tanh"}, "zh", sync_url=False)
    assert (lesson.net.depth, lesson.net.scale, lesson.net.activation) == (3, 2.0, "tanh")
    lesson = VanishingLesson({"depth": "99", "scale": "nan", "act": "gelu"}, "en", sync_url=False)
    assert (lesson.net.activation, lesson.net.scale) == ("sigmoid", 1.0)
    assert lesson.net.depth == 12  # clamped to the slider's range
