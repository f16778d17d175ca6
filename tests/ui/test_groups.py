"""A ~11,600-node MLP in the page: drawn a node per neuron, a neuron opens on a click.

Numbers are checked against :mod:`graphviz_core` (the traced graph the server builds),
never against copies of the browser's arithmetic.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from graphviz_core import trace
from graphviz_core.mlp import ScalarMLP

from .helpers import button, js, number, open_app, screenshot, set_slider, table

pytestmark = pytest.mark.browser

SOURCE = "mlp(2, 60, 60, 1)"


def core_value(name_of_group: str, values: dict) -> tuple[float, float]:
    """Value and gradient of a neuron's output, traced in Python."""
    groups = {}
    g = trace(ScalarMLP(2, (60, 60), 1).build(values, groups=groups), groups=groups)
    out = max(n for n in g if g.nodes[n].get("group") == name_of_group)
    return g.nodes[out]["value"], g.nodes[out]["grad"]


def click_node(page, name: str) -> None:
    x, y = js(page, "(() => { const i = t.scene().nodes.name.indexOf(arg);"
                    " const n = t.nodes().data; return t.toScreen(n.x[i], n.y[i]) })()", name)
    page.mouse.click(x, y)


def test_a_big_mlp_is_drawn_grouped_and_a_neuron_opens(page, app_url):
    open_app(page, app_url, f"expr={quote(SOURCE)}&mode=backward&level=neuron", timeout=120_000)
    # counted in the page: the scene (megabytes of JSON) stays there
    scene = js(page, "(() => { const s = t.scene(); return {ops: s.tape.op.length, nodes: s.nodes.id.length,"
                     " groups: s.nodes.kind.filter((k) => k === 'group').length} })()")
    assert scene == {"ops": 11586, "nodes": 126, "groups": 121}
    drawn = js(page, "t.nodes().data.marker")
    assert drawn.count("square_pin") == 121  # the group style, one per neuron
    assert "h2[7]" in table(page)
    screenshot(page, "groups-grouped", full_page=False)

    # a slider moves: the group's value in the table is its neuron's output, as the core has it
    set_slider(page, "x0", 0.8)
    page.wait_for_function("() => window.__bpxt.table().value[0] === '0.8'", timeout=20_000)
    x1 = js(page, "t.slider('x1').value")
    value, grad = core_value("h2[7]", {"x0": 0.8, "x1": x1})
    row = table(page)["h2[7]"]
    assert number(row["value"]) == pytest.approx(value, rel=2e-5)
    assert number(row["grad"]) == pytest.approx(grad, rel=2e-5, abs=1e-12)

    # a click on the neuron opens it: its members are drawn, and its tanh keeps its name
    click_node(page, "h2[7]")
    page.wait_for_function(
        "() => window.__bpxt.scene().nodes.group.filter((g) => g === 'h2[7]').length === 182",
        timeout=60_000)
    page.wait_for_function("() => window.__bpxt.nodes().data.x.length === 307", timeout=20_000)
    kind, group = js(page, "(() => { const n = t.scene().nodes, i = n.name.indexOf('h2[7]');"
                           " return [n.kind[i], n.group[i]] })()")
    assert kind == "op" and group == "h2[7]"
    assert button(page, "◀ Back: close h2[7]").is_visible()
    screenshot(page, "groups-expanded", full_page=False)
    # the open neuron's output still shows the slider's numbers (x0 = 0.8 stays in the page)
    row = table(page)["h2[7]"]
    assert number(row["value"]) == pytest.approx(value, rel=2e-5)

    button(page, "◀ Back: close h2[7]").click()
    page.wait_for_function("() => window.__bpxt.scene().nodes.id.length === 126", timeout=60_000)
    screenshot(page, "groups-collapsed", full_page=False)
